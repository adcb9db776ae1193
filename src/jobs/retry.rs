//! When to try again: exponential backoff between attempts.

use std::time::Duration;

#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub initial: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { initial: Duration::from_secs(1), cap: Duration::from_secs(30) }
    }
}

impl Backoff {
    /// The wait before retry number `attempt` (1 for the first retry):
    /// `initial`, doubling each time, never more than `cap`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_then_caps() {
        let b = Backoff::default();
        let d: Vec<u64> = (1..=7).map(|a| b.delay(a).as_secs()).collect();
        assert_eq!(d, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(b.delay(100).as_secs(), 30);
        assert_eq!(b.delay(0).as_secs(), 1);
    }
}
