//! The Rust half of `FTP.mirror()` (python/rftplib/_mirror.py): the run
//! happens on its own thread over a pool of sessions, while the calling
//! thread waits with the GIL released in slices of at most 100 ms, checks
//! for signals, and calls the progress callback.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::jobs::cancel::Cancel;
use crate::jobs::mirror::ftp::{job_error, Features, FtpConnector, FtpRemote};
use crate::jobs::mirror::glob::Filter;
use crate::jobs::mirror::remote::JobError;
use crate::jobs::mirror::run::{rjoin, run, Control, Job, MirrorError, Outcome};
use crate::jobs::pool::{Config, Pool};
use crate::jobs::session::Session;
use crate::proto::reply::{classify, ReplyClass};

use super::errors::{error, error_perm, error_reply, error_temp};
use super::jobs::spec_of;
pub use super::mirror_result::MirrorResult;

/// How often the calling thread wakes to check signals and report progress.
const TICK: Duration = Duration::from_millis(100);

/// A failure that ends the run, as the exception ftplib code expects:
/// error_perm/error_temp for a server reply (its text first, then the
/// path), `rftplib.Error` otherwise.
fn mirror_error(py: Python<'_>, path: &str, e: &JobError) -> PyErr {
    let text = if path.is_empty() { e.message.clone() } else { format!("{} ({path})", e.message) };
    let s = PyString::new(py, &text).into_any();
    if let Some(errno) = e.errno {
        return PyOSError::new_err((errno, text));
    }
    let has_code = e.message.len() >= 3 && e.message.as_bytes()[..3].iter().all(u8::is_ascii_digit);
    if !has_code {
        return error(py, text);
    }
    match classify(&e.message) {
        ReplyClass::TransientNegative => error_temp(py, &s),
        ReplyClass::PermanentNegative => error_perm(py, &s),
        _ => error_reply(py, &s),
    }
}

fn result_of(o: Outcome) -> MirrorResult {
    MirrorResult {
        transferred: o.transferred,
        skipped: o.skipped,
        deleted: o.deleted,
        failed: o.failed,
        bytes: o.bytes,
        seconds: o.seconds,
    }
}

#[pyfunction]
#[pyo3(signature = (ftp, source, target, upload, connections, delete, newer_only, include, exclude, dry_run, verify, progress, retries, fail_fast, features))]
#[allow(clippy::too_many_arguments)]
pub fn _mirror_run(
    py: Python<'_>,
    ftp: &Bound<'_, PyAny>,
    source: String,
    target: String,
    upload: bool,
    connections: usize,
    delete: bool,
    newer_only: bool,
    include: Vec<String>,
    exclude: Vec<String>,
    dry_run: bool,
    verify: bool,
    progress: Option<Bound<'_, PyAny>>,
    retries: u32,
    fail_fast: bool,
    features: Vec<(String, String)>,
) -> PyResult<MirrorResult> {
    let filter = Filter::new(&include, &exclude).map_err(|e| PyValueError::new_err(e.to_string()))?;
    let (mut spec, conn, prot_p) = spec_of(ftp)?;
    let job = Job {
        source,
        target,
        upload,
        connections: connections.max(1),
        delete,
        newer_only,
        filter,
        dry_run,
        retries,
        fail_fast,
    };
    // The greeting tells whether the server queues commands behind a transfer.
    let welcome: Option<String> = ftp.getattr("welcome").ok().and_then(|w| w.extract().ok());
    let features = Features::from_feat(&features, verify).with_greeting(welcome.as_deref().unwrap_or(""));
    let cancel = Cancel::new();
    let stop = Arc::new(AtomicBool::new(false));
    let ctl = Arc::new(Control::new(stop.clone()));
    let (tx, rx) = mpsc::channel::<Result<Outcome, MirrorError>>();
    let rx = Mutex::new(rx);
    let handle = {
        let cancel = cancel.clone();
        let ctl = ctl.clone();
        std::thread::Builder::new()
            .name("rftplib-mirror".into())
            .spawn(move || {
                let first = Session::wrap(conn, prot_p, &spec, &cancel);
                // Relative paths are made absolute from the user's current
                // directory, so sibling sessions need no CWD.
                let cwd = match first.pwd() {
                    Ok(cwd) => cwd,
                    Err(e) => {
                        let error = job_error(e);
                        let _ = tx.send(Err(MirrorError::Failed { path: String::new(), error }));
                        first.settle();
                        return;
                    }
                };
                let mut job = job;
                let remote = if job.upload { &mut job.target } else { &mut job.source };
                if cwd.starts_with('/') {
                    if !remote.starts_with('/') {
                        *remote = rjoin(&cwd, remote);
                    }
                } else if spec.credentials.is_some() {
                    spec.cwd = Some(cwd);
                }
                let connector = FtpConnector { spec, cancel, features: features.clone(), verify };
                let config = Config { max: job.connections, ..Config::default() };
                let pool = Pool::new(connector, config, ctl.stop.clone());
                pool.add_idle(FtpRemote::new(first, features, verify));
                let result = run(&job, &pool, &ctl);
                drop(pool);
                let _ = tx.send(result);
            })
            .map_err(|e| PyOSError::new_err(e.to_string()))?
    };
    let mut failure: Option<PyErr> = None;
    let call = |cb: &Bound<'_, PyAny>| {
        let s = ctl.snapshot();
        cb.call1((s.path, s.bytes_done, s.bytes_total, s.files_done, s.files_total)).map(drop)
    };
    let result = loop {
        match py.detach(|| rx.lock().unwrap().recv_timeout(TICK)) {
            Ok(r) => break Some(r),
            Err(mpsc::RecvTimeoutError::Disconnected) => break None,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if failure.is_none() {
            if let Err(e) = py.check_signals() {
                failure = Some(e);
            } else if let Some(cb) = &progress {
                if let Err(e) = call(cb) {
                    failure = Some(e);
                }
            }
            if failure.is_some() {
                stop.store(true, Ordering::SeqCst);
                cancel.cancel();
            }
        }
    };
    let _ = py.detach(|| handle.join());
    if let Some(e) = failure {
        return Err(e);
    }
    match result {
        Some(Ok(outcome)) => {
            if let Some(cb) = &progress {
                call(cb)?;
            }
            Ok(result_of(outcome))
        }
        Some(Err(MirrorError::Failed { path, error: e })) => Err(mirror_error(py, &path, &e)),
        Some(Err(MirrorError::Stopped)) | None => Err(error(py, "the mirror was stopped".into())),
    }
}

/// Registers `_mirror_run` and `MirrorResult` on the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<MirrorResult>()?;
    m.add_function(wrap_pyfunction!(_mirror_run, m)?)?;
    Ok(())
}
