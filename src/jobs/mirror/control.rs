//! What a mirror run shares with whoever watches it (progress, the stop
//! flag, the first failure under fail-fast), and the retry loop every
//! remote operation of the run goes through.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::remote::{Fault, JobError, Remote};
use crate::jobs::pool::{Connector, Lease, Pool, PoolError};

/// Progress counters, read by the calling thread while workers run.
#[derive(Default)]
pub struct Progress {
    pub bytes_done: AtomicU64,
    pub bytes_total: AtomicU64,
    pub files_done: AtomicUsize,
    pub files_total: AtomicUsize,
    pub current: Mutex<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub path: String,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub files_done: usize,
    pub files_total: usize,
}

/// Shared between the run and whoever watches it.
#[derive(Default)]
pub struct Control {
    /// Raised to stop (Ctrl-C), and by a `fail_fast` failure; the pool
    /// watches the same flag.
    pub stop: Arc<AtomicBool>,
    pub progress: Progress,
    pub(super) first_failure: Mutex<Option<(String, JobError)>>,
}

impl Control {
    pub fn new(stop: Arc<AtomicBool>) -> Self {
        Control { stop, ..Control::default() }
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    pub fn snapshot(&self) -> Snapshot {
        let p = &self.progress;
        Snapshot {
            path: p.current.lock().unwrap().clone(),
            bytes_done: p.bytes_done.load(Ordering::Relaxed),
            bytes_total: p.bytes_total.load(Ordering::Relaxed),
            files_done: p.files_done.load(Ordering::Relaxed),
            files_total: p.files_total.load(Ordering::Relaxed),
        }
    }

    pub(super) fn fail_fast(&self, path: &str, e: &JobError) {
        let mut first = self.first_failure.lock().unwrap();
        if first.is_none() {
            *first = Some((path.to_owned(), e.clone()));
        }
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// A remote root joined with a relative path.
pub fn rjoin(root: &str, rel: &str) -> String {
    match (root, rel) {
        (r, "") => r.to_owned(),
        ("", r) => r.to_owned(),
        (root, rel) if root.ends_with('/') => format!("{root}{rel}"),
        (root, rel) => format!("{root}/{rel}"),
    }
}

/// Waits `d`, or less if the stop flag rises.
fn pause(d: Duration, ctl: &Control) {
    let until = Instant::now() + d;
    while !ctl.stopped() {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(Duration::from_millis(20)));
    }
}

/// Runs `op` on the leased session (taking one if there is none), again on
/// a fresh session after a transient failure, up to `retries` more times
/// with a growing pause. A session whose state is unknown after a failure
/// is closed, never handed back.
pub fn with_retries<'p, C, T>(
    pool: &'p Pool<C>,
    lease: &mut Option<Lease<'p, C>>,
    retries: u32,
    ctl: &Control,
    mut op: impl FnMut(&mut C::Session) -> Result<T, JobError>,
) -> Result<T, JobError>
where
    C: Connector,
    C::Session: Remote,
{
    let mut attempt = 0;
    loop {
        if ctl.stopped() {
            return Err(JobError::stopped());
        }
        let result = match lease {
            Some(l) => op(l),
            None => match pool.get() {
                Ok(l) => op(lease.insert(l)),
                Err(PoolError::Stopped) => return Err(JobError::stopped()),
                Err(PoolError::Open(e)) => Err(JobError::transient(e.to_string())),
            },
        };
        match result {
            Ok(v) => return Ok(v),
            Err(e) => {
                if e.fault != Fault::Permanent {
                    if let Some(l) = lease.take() {
                        l.discard();
                    }
                }
                if e.fault != Fault::Transient || attempt >= retries || ctl.stopped() {
                    return Err(e);
                }
                pause(Duration::from_millis(100 << attempt.min(4)), ctl);
                attempt += 1;
            }
        }
    }
}
