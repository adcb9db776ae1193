//! Deadlines cut into short slices.

use std::io;
use std::time::{Duration, Instant};

use super::error::{Error, Result};

/// The longest a single blocking system call waits before control returns to
/// the caller (to check for signals, e.g. Ctrl-C).
pub const SLICE: Duration = Duration::from_millis(100);

/// The outcome of one slice of a blocking operation.
#[derive(Debug)]
pub enum Poll<T> {
    Ready(T),
    /// The slice ended without a result; try again.
    Pending,
}

/// When a blocking operation gives up, from a socket timeout (`None`: never).
#[derive(Clone, Copy, Debug)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    pub fn after(timeout: Option<Duration>) -> Self {
        // A timeout too large to add to the clock never expires.
        Deadline(timeout.and_then(|t| Instant::now().checked_add(t)))
    }

    /// How long the next slice may wait; `Err(Timeout)` once the deadline passed.
    pub fn slice(&self) -> Result<Duration> {
        match self.0 {
            None => Ok(SLICE),
            Some(at) => {
                let left = at.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    Err(Error::Timeout)
                } else {
                    Ok(left.min(SLICE))
                }
            }
        }
    }
}

/// True for the errors a socket timeout produces (`SO_RCVTIMEO`/`SO_SNDTIMEO`).
pub fn is_would_block(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

/// Waits up to `slice` for `fd` to become readable (`POLLIN`) or writable.
/// Returns whether it is ready.
pub fn poll_fd(fd: i32, events: i16, slice: Duration) -> Result<bool> {
    let mut pfd = libc::pollfd { fd, events, revents: 0 };
    let ms = slice.as_millis().clamp(1, i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd for the duration of the call.
    let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
    if rc >= 0 {
        return Ok(rc > 0);
    }
    let err = io::Error::last_os_error();
    if err.kind() == io::ErrorKind::Interrupted {
        // A signal: report "not ready" so the caller checks for it.
        return Ok(false);
    }
    Err(err.into())
}
