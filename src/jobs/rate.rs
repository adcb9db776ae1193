//! A rate limit shared by all the connections of one transfer: each block
//! waits until the total so far is due at the asked rate.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::cancel::Cancel;
use super::error::Result;

pub struct RateLimiter {
    rate: u64,
    state: Mutex<(Option<Instant>, u64)>,
}

impl RateLimiter {
    pub fn new(bytes_per_second: u64) -> Self {
        RateLimiter { rate: bytes_per_second.max(1), state: Mutex::new((None, 0)) }
    }

    /// How much to move at once: about a twentieth of a second's worth.
    pub fn chunk(&self) -> usize {
        (self.rate / 20).clamp(1024, 1 << 20) as usize
    }

    /// Accounts for `n` bytes and sleeps until they are due.
    pub fn consume(&self, n: u64, cancel: &Cancel) -> Result<()> {
        let due = {
            let mut s = self.state.lock().unwrap();
            let start = *s.0.get_or_insert_with(Instant::now);
            s.1 += n;
            start + due_after(s.1, self.rate)
        };
        let now = Instant::now();
        if due > now {
            cancel.sleep(due - now)?;
        }
        Ok(())
    }
}

/// When `bytes` are due at `rate` bytes per second, from the start.
pub fn due_after(bytes: u64, rate: u64) -> Duration {
    Duration::from_secs_f64(bytes as f64 / rate.max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing() {
        assert_eq!(due_after(1000, 1000), Duration::from_secs(1));
        assert_eq!(due_after(0, 1000), Duration::ZERO);
        let r = RateLimiter::new(200_000);
        assert_eq!(r.chunk(), 10_000);
        let c = Cancel::new();
        let t = Instant::now();
        for _ in 0..5 {
            r.consume(10_000, &c).unwrap();
        }
        // 50 kB at 200 kB/s: 0.25 s.
        assert!(t.elapsed() >= Duration::from_millis(240));
    }
}
