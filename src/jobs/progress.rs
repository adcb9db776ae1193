//! Bytes done so far, shared between a job's threads and the caller that
//! reports them.

use std::sync::atomic::{AtomicU64, Ordering};

const UNKNOWN: u64 = u64::MAX;

#[derive(Debug)]
pub struct Progress {
    done: AtomicU64,
    total: AtomicU64,
}

impl Default for Progress {
    fn default() -> Self {
        Progress { done: AtomicU64::new(0), total: AtomicU64::new(UNKNOWN) }
    }
}

impl Progress {
    pub fn add(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }

    pub fn set_done(&self, n: u64) {
        self.done.store(n, Ordering::Relaxed);
    }

    pub fn set_total(&self, total: Option<u64>) {
        self.total.store(total.unwrap_or(UNKNOWN), Ordering::Relaxed);
    }

    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    pub fn total(&self) -> Option<u64> {
        Some(self.total.load(Ordering::Relaxed)).filter(|t| *t != UNKNOWN)
    }
}
