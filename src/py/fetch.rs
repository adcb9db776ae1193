//! `_fetch_files`: many small whole files over one of the fsspec pool's
//! sessions in one call (src/jobs/fetch.rs), the GIL released for the whole
//! batch; the calling thread wakes every 100 ms to check for signals and
//! for the batch's `_FetchCancel`.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use pyo3::prelude::*;

use crate::jobs::cancel::Cancel;
use crate::jobs::fetch::{fetch_files, Fetched};
use crate::jobs::session::Session;

use super::jobs::{job_error, spec_of};

const TICK: Duration = Duration::from_millis(100);

/// A cancel flag shared by the batches of one `get`: set, every batch stops
/// at its next step.
#[pyclass(module = "rftplib._rftplib", name = "_FetchCancel", frozen)]
pub struct FetchCancel {
    cancel: Cancel,
}

#[pymethods]
impl FetchCancel {
    #[new]
    fn new() -> Self {
        FetchCancel { cancel: Cancel::new() }
    }

    fn cancel(&self) {
        self.cancel.cancel();
    }
}

/// Fetches `jobs` ((remote, local) pairs) in turn on `ftp`'s control
/// connection (logged in, TYPE I, passive, not TLS). Returns `(done, error,
/// in_step)`: how many files from the first were fetched whole, the
/// exception of the one that failed (None if none did), whether the
/// session is still in step after it, and whether the server refused PASV
/// sent together with RETR (the plain way was taken then).
#[pyfunction]
#[pyo3(signature = (ftp, jobs, cancel=None))]
fn _fetch_files(
    py: Python<'_>,
    ftp: &Bound<'_, PyAny>,
    jobs: Vec<(String, PathBuf)>,
    cancel: Option<Py<FetchCancel>>,
) -> PyResult<(usize, Option<Py<PyAny>>, bool, bool)> {
    let (spec, conn, prot_p) = spec_of(ftp)?;
    let cancel = match &cancel {
        Some(c) => c.get().cancel.child(),
        None => Cancel::new(),
    };
    let c = cancel.clone();
    let (fetched, refused): (Fetched, bool) = run_checked(py, &cancel, move || {
        let session = Session::wrap(conn, prot_p, &spec, &c);
        let fetched = fetch_files(&session, &jobs);
        (fetched, session.together_refused())
    })?;
    Ok(match fetched.failure {
        None => (fetched.done, None, true, refused),
        Some((e, in_step)) => (fetched.done, Some(job_error(py, e).into_value(py).into_any()), in_step, refused),
    })
}

/// Runs `work` on a thread of its own, the calling thread waiting with the
/// GIL released and checking for signals every 100 ms; a signal cancels
/// `cancel` and waits for `work` to stop.
fn run_checked<T: Send + 'static>(
    py: Python<'_>,
    cancel: &Cancel,
    work: impl FnOnce() -> T + Send + 'static,
) -> PyResult<T> {
    let (tx, rx) = mpsc::channel::<T>();
    let rx = std::sync::Mutex::new(rx);
    let handle = std::thread::Builder::new()
        .name("rftplib-fetch".into())
        .spawn(move || {
            let _ = tx.send(work());
        })
        .map_err(|e| pyo3::exceptions::PyOSError::new_err(e.to_string()))?;
    let result = loop {
        match py.detach(|| rx.lock().unwrap().recv_timeout(TICK)) {
            Ok(r) => break r,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Err(e) = py.check_signals() {
                    cancel.cancel();
                    let _ = py.detach(|| handle.join());
                    return Err(e);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let _ = py.detach(|| handle.join());
                return Err(pyo3::exceptions::PyRuntimeError::new_err("the fetch thread ended without a result"));
            }
        }
    };
    let _ = py.detach(|| handle.join());
    Ok(result)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<FetchCancel>()?;
    m.add_function(wrap_pyfunction!(_fetch_files, m)?)?;
    Ok(())
}
