//! Running engine operations with the GIL released, one slice at a time,
//! checking for signals (Ctrl-C) between slices.

use pyo3::prelude::*;

use crate::client::conn::Conn;
use crate::client::error::{Error, Result};
use crate::client::wait::Poll;

use super::errors::{handshake_timeout, timeout, to_pyerr};

/// Which way data moves in [`block_on_io`].
#[derive(Clone, Copy)]
pub enum Direction {
    Read,
    Write,
    /// The TLS handshake.
    Handshake,
}

/// Repeats `step` with the GIL released until it is ready, raising
/// `KeyboardInterrupt` (or whatever a signal handler raises) in between.
pub fn block_on<T, F>(py: Python<'_>, mut step: F) -> PyResult<T>
where
    T: Send,
    F: FnMut() -> Result<Poll<T>> + Send,
{
    loop {
        match py.detach(&mut step) {
            Ok(Poll::Ready(v)) => return Ok(v),
            Ok(Poll::Pending) => py.check_signals()?,
            Err(e) => return Err(to_pyerr(py, e)),
        }
    }
}

/// [`block_on`] for a read or a write on `conn`. A timeout on a TLS
/// connection raises what Python's `ssl` module raises there ("The read
/// operation timed out"), a plain socket's timeout says "timed out".
pub fn block_on_io<T, F>(py: Python<'_>, conn: &Conn, direction: Direction, mut step: F) -> PyResult<T>
where
    T: Send,
    F: FnMut() -> Result<Poll<T>> + Send,
{
    let mut timed_out = false;
    let result = block_on(py, || {
        let r = step();
        timed_out = matches!(r, Err(Error::Timeout));
        r
    });
    if timed_out && conn.is_tls() {
        return Err(match direction {
            Direction::Read => timeout(py, "The read operation timed out"),
            Direction::Write => timeout(py, "The write operation timed out"),
            Direction::Handshake => handshake_timeout(py),
        });
    }
    result
}
