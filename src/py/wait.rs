//! Running engine operations with the GIL released, one slice at a time,
//! checking for signals (Ctrl-C) between slices.

use pyo3::prelude::*;

use crate::client::error::Result;
use crate::client::wait::Poll;

use super::errors::to_pyerr;

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
