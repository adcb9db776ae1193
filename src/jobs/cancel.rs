//! Cancellation shared by a job's threads, and the loop that runs one
//! engine operation slice by slice until it is ready or the job is cancelled.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::wait::Poll;

use super::error::{Error, Result};

/// A cancel flag; a child also sees its parent's (a job's), so a part of
/// the job can be stopped alone.
#[derive(Clone, Debug, Default)]
pub struct Cancel {
    own: Arc<AtomicBool>,
    parent: Option<Arc<AtomicBool>>,
}

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }

    /// A flag of its own that is also set whenever this one is.
    pub fn child(&self) -> Cancel {
        Cancel { own: Arc::new(AtomicBool::new(false)), parent: Some(self.own.clone()) }
    }

    pub fn cancel(&self) {
        self.own.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.own.load(Ordering::Relaxed) || self.parent.as_ref().is_some_and(|p| p.load(Ordering::Relaxed))
    }

    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Runs `step` (one slice of at most `client::wait::SLICE`) until ready,
    /// returning `Cancelled` between slices once cancelled.
    pub fn block<T>(&self, mut step: impl FnMut() -> crate::client::error::Result<Poll<T>>) -> Result<T> {
        loop {
            self.check()?;
            match step()? {
                Poll::Ready(v) => return Ok(v),
                Poll::Pending => continue,
            }
        }
    }

    /// Sleeps `d` in slices of at most 50 ms, returning early when cancelled.
    pub fn sleep(&self, d: Duration) -> Result<()> {
        let until = Instant::now() + d;
        loop {
            self.check()?;
            let now = Instant::now();
            if now >= until {
                return Ok(());
            }
            std::thread::sleep((until - now).min(Duration::from_millis(50)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_sees_parent_not_the_reverse() {
        let parent = Cancel::new();
        let child = parent.child();
        child.cancel();
        assert!(child.is_cancelled() && !parent.is_cancelled());
        let other = parent.child();
        parent.cancel();
        assert!(other.is_cancelled());
    }
}
