//! `FTP.download()` / `FTP.upload()`'s engine calls: the job runs on its own
//! threads with no Python, while the calling thread waits with the GIL
//! released in slices of at most 100 ms, checks for signals, calls the
//! progress callback (at most ~10 times a second, and once at the end), and
//! moves blocks to or from a Python file object when one is used.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyOSError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::client::conn::Conn;
use crate::jobs::cancel::Cancel;
use crate::jobs::download::{download, DownloadOptions, Outcome, Sink};
use crate::jobs::job::Job;
use crate::jobs::local::{mtime_of, part_path};
use crate::jobs::progress::Progress;
use crate::jobs::rate::RateLimiter;
use crate::jobs::retry::Backoff;
use crate::jobs::session::{Encoding, Session, Spec, TlsSpec};
use crate::jobs::upload::{upload, Source, UploadOptions};
use crate::jobs::Error as JobError;
use crate::proto::reply::{classify, ReplyClass};

use super::errors::{self, error, error_perm, error_proto, error_reply, error_temp, os_error, to_pyerr};
use super::ftp_tls::{tls_config_of, FtpTls};
use super::socket::{bytes_of, Socket};
use super::text::Codec;

/// How often the calling thread wakes up to check signals and progress.
const TICK: Duration = Duration::from_millis(100);
const DEFAULT_BLOCK: usize = 1 << 20;
const MIN_RANGE: u64 = 256 * 1024;

/// The one mapping from job errors to Python exceptions.
pub fn job_error(py: Python<'_>, e: JobError) -> PyErr {
    match e {
        JobError::Net(e) => to_pyerr(py, e),
        JobError::Reply(text) => {
            let s = PyString::new(py, &text).into_any();
            match classify(&text) {
                ReplyClass::TransientNegative => error_temp(py, &s),
                ReplyClass::PermanentNegative => error_perm(py, &s),
                ReplyClass::Positive(_) => error_reply(py, &s),
                ReplyClass::Invalid => error_proto(py, &s),
            }
        }
        JobError::Eof => errors::eof(),
        JobError::Proto(text) => error_proto(py, PyString::new(py, &text).as_any()),
        JobError::Verify(msg) => errors::verification_error(py, msg),
        JobError::Local(io) => match io.raw_os_error() {
            Some(errno) => os_error(errno),
            None => PyOSError::new_err(io.to_string()),
        },
        JobError::Cancelled => error(py, "the transfer was cancelled".into()),
        JobError::Unsupported(msg) => error(py, msg),
    }
}

/// What the calling thread does while it waits.
enum Feed<'py> {
    Nothing,
    /// Blocks received, to write to a Python file object.
    Sink(Mutex<Receiver<Vec<u8>>>, Bound<'py, PyAny>),
    /// Blocks read from a Python file object, to send.
    Source {
        tx: Option<SyncSender<Vec<u8>>>,
        fp: Bound<'py, PyAny>,
        blocksize: usize,
        pending: Option<Vec<u8>>,
    },
}

/// Runs `work` on a thread and waits for it as described above.
fn drive<'py>(
    py: Python<'py>,
    cancel: &Cancel,
    progress: &Progress,
    callback: Option<Bound<'py, PyAny>>,
    mut feed: Feed<'py>,
    work: impl FnOnce() -> crate::jobs::Result<Outcome> + Send + 'static,
) -> PyResult<Outcome> {
    let (tx, rx) = mpsc::channel();
    let rx = Mutex::new(rx);
    let handle = std::thread::Builder::new()
        .name("rftplib-transfer".into())
        .spawn(move || {
            let _ = tx.send(work());
        })
        .map_err(|e| PyOSError::new_err(e.to_string()))?;
    let mut failure: Option<PyErr> = None;
    let mut last_report = Instant::now();
    let result = loop {
        let done: Option<crate::jobs::Result<Outcome>> = match &mut feed {
            Feed::Nothing => match py.detach(|| rx.lock().unwrap().recv_timeout(TICK)) {
                Ok(r) => Some(r),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => Some(Err(JobError::Cancelled)),
            },
            Feed::Sink(blocks, fp) => match py.detach(|| blocks.get_mut().unwrap().recv_timeout(TICK)) {
                Ok(block) => {
                    if let Err(e) = fp.call_method1(intern!(py, "write"), (PyBytes::new(py, &block),)) {
                        failure = Some(e);
                    }
                    None
                }
                Err(RecvTimeoutError::Timeout) => None,
                // The job dropped its sender: it has finished.
                Err(RecvTimeoutError::Disconnected) => {
                    Some(py.detach(|| rx.lock().unwrap().recv()).unwrap_or(Err(JobError::Cancelled)))
                }
            },
            Feed::Source { tx: sender, fp, blocksize, pending } => {
                if pending.is_none() && sender.is_some() {
                    match fp.call_method1(intern!(py, "read"), (*blocksize,)).and_then(|b| bytes_of(&b)) {
                        Ok(b) => *pending = Some(b),
                        Err(e) => failure = Some(e),
                    }
                }
                if let (Some(block), Some(s)) = (pending.take(), sender.as_ref()) {
                    let last = block.is_empty();
                    match py.detach(|| send_for(s, block, TICK)) {
                        Ok(()) => {
                            if last {
                                *sender = None;
                            }
                        }
                        Err(TrySendError::Full(b)) => *pending = Some(b),
                        Err(TrySendError::Disconnected(_)) => *sender = None,
                    }
                    rx.lock().unwrap().try_recv().ok()
                } else {
                    match py.detach(|| rx.lock().unwrap().recv_timeout(TICK)) {
                        Ok(r) => Some(r),
                        Err(RecvTimeoutError::Timeout) => None,
                        Err(RecvTimeoutError::Disconnected) => Some(Err(JobError::Cancelled)),
                    }
                }
            }
        };
        if let Some(r) = done {
            break r;
        }
        if failure.is_none() {
            if let Err(e) = py.check_signals() {
                failure = Some(e);
            }
        }
        if failure.is_none() && last_report.elapsed() >= TICK {
            if let Some(cb) = &callback {
                last_report = Instant::now();
                if let Err(e) = cb.call1((progress.done(), progress.total())) {
                    failure = Some(e);
                }
            }
        }
        if failure.is_some() && !cancel.is_cancelled() {
            cancel.cancel();
            // Dropping our end of the block channel unblocks the job.
            feed = Feed::Nothing;
        }
    };
    let _ = py.detach(|| handle.join());
    if let Some(e) = failure {
        return Err(e);
    }
    let outcome = result.map_err(|e| job_error(py, e))?;
    if let Some(cb) = &callback {
        cb.call1((progress.done(), progress.total()))?;
    }
    Ok(outcome)
}

/// Sends `block`, waiting up to `limit` for room.
fn send_for(tx: &SyncSender<Vec<u8>>, mut block: Vec<u8>, limit: Duration) -> Result<(), TrySendError<Vec<u8>>> {
    let until = Instant::now() + limit;
    loop {
        match tx.try_send(block) {
            Err(TrySendError::Full(b)) if Instant::now() < until => {
                block = b;
                std::thread::sleep(Duration::from_millis(1));
            }
            other => return other,
        }
    }
}

/// The control connection and what sibling sessions need, from an FTP object.
pub(crate) fn spec_of(ftp: &Bound<'_, PyAny>) -> PyResult<(Spec, Arc<Conn>, bool)> {
    let py = ftp.py();
    let sock = ftp.getattr(intern!(py, "sock"))?;
    if sock.is_none() {
        return Err(error(py, "not connected: call connect() and login() first".into()));
    }
    let sock = sock.cast::<Socket>().map_err(|_| {
        PyTypeError::new_err("whole-file transfers need rftplib's own control connection (FTP.sock was replaced)")
    })?;
    let conn = sock.get().conn.clone();
    let host: String = ftp.getattr(intern!(py, "host"))?.str()?.extract()?;
    let source = match ftp.getattr(intern!(py, "source_address")) {
        Ok(s) if !s.is_none() => {
            let h: String = s.get_item(0)?.extract()?;
            h.parse().ok().map(|ip| std::net::SocketAddr::new(ip, 0))
        }
        _ => None,
    };
    let is_tls = ftp.is_instance_of::<FtpTls>() && sock.get().was_tls();
    let prot_p = ftp.is_instance_of::<FtpTls>() && ftp.getattr(intern!(py, "_prot_p"))?.is_truthy()?;
    let tls = if is_tls {
        Some(TlsSpec {
            config: tls_config_of(ftp)?,
            implicit: ftp.getattr(intern!(py, "_implicit"))?.is_truthy()?,
            prot_p,
        })
    } else {
        None
    };
    let spec = Spec {
        addr: conn.peer_addr(),
        host,
        source,
        credentials: super::credentials::recall(ftp),
        tls,
        passive: ftp.getattr(intern!(py, "passiveserver"))?.is_truthy()?,
        trust_pasv_ipv4: ftp.getattr(intern!(py, "trust_server_pasv_ipv4_address"))?.is_truthy()?,
        cwd: None,
        timeout: conn.timeout(),
        encoding: match Codec::lookup(&ftp.getattr(intern!(py, "encoding"))?)? {
            Codec::Utf8 => Encoding::Utf8,
            Codec::Latin1 => Encoding::Latin1,
            Codec::Other(name) => {
                return Err(PyValueError::new_err(format!(
                    "whole-file transfers support the utf-8 and latin-1 encodings, not {name}"
                )))
            }
        },
    };
    Ok((spec, conn, prot_p))
}

/// The job's shared parts; the current directory is learnt on the user's
/// session first, so that sibling sessions start where it is.
#[allow(clippy::too_many_arguments)]
fn start(
    spec: Spec,
    conn: Arc<Conn>,
    prot_p: bool,
    cancel: &Cancel,
    progress: &Arc<Progress>,
    retries: u32,
    rate_limit: Option<u64>,
    features: Vec<(String, String)>,
    learn_cwd: bool,
) -> crate::jobs::Result<(Job, Session)> {
    let mut spec = spec;
    let first = Session::wrap(conn, prot_p, &spec, cancel);
    if learn_cwd && spec.credentials.is_some() {
        spec.cwd = Some(first.pwd()?);
    }
    let job = Job {
        spec,
        cancel: cancel.clone(),
        progress: progress.clone(),
        rate: rate_limit.map(RateLimiter::new),
        retries,
        backoff: Backoff::default(),
        features,
    };
    Ok((job, first))
}

type Reported = (u64, u64, u64, usize, Option<(String, String)>, Option<i64>);

fn report(o: Outcome) -> Reported {
    (o.bytes, o.size, o.resumed_from, o.connections, o.checksum, o.mtime)
}

/// What `_download` returns: as `_upload`, then FEAT when it was asked.
type Downloaded = (u64, u64, u64, usize, Option<(String, String)>, Option<i64>, Option<Vec<(String, String)>>);

fn check_args(retries: i64, rate_limit: Option<f64>, blocksize: i64) -> PyResult<(u32, Option<u64>, usize)> {
    if retries < 0 {
        return Err(PyValueError::new_err("retries must be >= 0"));
    }
    let rate = match rate_limit {
        Some(r) if r.is_nan() || r <= 0.0 => return Err(PyValueError::new_err("rate_limit must be > 0 bytes/s")),
        Some(r) => Some(r.min(u64::MAX as f64) as u64),
        None => None,
    };
    if blocksize < 0 {
        return Err(PyValueError::new_err("blocksize must be > 0"));
    }
    let blocksize = if blocksize == 0 { DEFAULT_BLOCK } else { blocksize as usize };
    Ok((u32::try_from(retries).unwrap_or(u32::MAX), rate, blocksize))
}

/// The engine of `FTP.download()`: returns `(bytes, size, resumed_from,
/// connections, checksum, mtime)`.
#[pyfunction]
#[pyo3(signature = (ftp, remote, target, fileobj, resume, connections, verify, progress, retries, rate_limit, preserve_mtime, blocksize, features))]
#[allow(clippy::too_many_arguments)]
fn _download(
    py: Python<'_>,
    ftp: &Bound<'_, PyAny>,
    remote: String,
    target: Option<PathBuf>,
    fileobj: Option<Bound<'_, PyAny>>,
    resume: bool,
    connections: i64,
    verify: bool,
    progress: Option<Bound<'_, PyAny>>,
    retries: i64,
    rate_limit: Option<f64>,
    preserve_mtime: bool,
    blocksize: i64,
    features: Option<Vec<(String, String)>>,
) -> PyResult<Downloaded> {
    if connections < 1 {
        return Err(PyValueError::new_err("connections must be >= 1"));
    }
    let (retries, rate_limit, blocksize) = check_args(retries, rate_limit, blocksize)?;
    let (spec, conn, prot_p) = spec_of(ftp)?;
    let cancel = Cancel::new();
    let counter = Arc::new(Progress::default());
    let (sink, feed) = match (target, fileobj) {
        (Some(target), None) => {
            let part = part_path(&target);
            (Sink::Path { target, part }, Feed::Nothing)
        }
        (None, Some(fp)) => {
            let (tx, rx) = mpsc::sync_channel(8);
            (Sink::Stream(tx), Feed::Sink(Mutex::new(rx), fp))
        }
        _ => return Err(PyValueError::new_err("give exactly one of a target path and a file object")),
    };
    let opts = DownloadOptions {
        remote,
        connections: connections as usize,
        resume,
        verify,
        preserve_mtime,
        blocksize,
        min_range: MIN_RANGE,
        ask_feat: features.is_none(),
    };
    let (c, p) = (cancel.clone(), counter.clone());
    let outcome = drive(py, &cancel, &counter, progress, feed, move || {
        // download() asks the directory itself, together with its first commands.
        let features = features.unwrap_or_default();
        let (mut job, first) = start(spec, conn, prot_p, &c, &p, retries, rate_limit, features, false)?;
        download(&mut job, first, &opts, sink)
    })?;
    let features = outcome.features.clone();
    let (bytes, size, resumed, connections, checksum, mtime) = report(outcome);
    Ok((bytes, size, resumed, connections, checksum, mtime, features))
}

/// The engine of `FTP.upload()`: returns what `_download` does.
#[pyfunction]
#[pyo3(signature = (ftp, remote, path, fileobj, resume, atomic, verify, progress, retries, rate_limit, preserve_mtime, blocksize, features))]
#[allow(clippy::too_many_arguments)]
fn _upload(
    py: Python<'_>,
    ftp: &Bound<'_, PyAny>,
    remote: String,
    path: Option<PathBuf>,
    fileobj: Option<Bound<'_, PyAny>>,
    resume: bool,
    atomic: bool,
    verify: bool,
    progress: Option<Bound<'_, PyAny>>,
    retries: i64,
    rate_limit: Option<f64>,
    preserve_mtime: bool,
    blocksize: i64,
    features: Vec<(String, String)>,
) -> PyResult<Reported> {
    let (retries, rate_limit, blocksize) = check_args(retries, rate_limit, blocksize)?;
    let (spec, conn, prot_p) = spec_of(ftp)?;
    let cancel = Cancel::new();
    let counter = Arc::new(Progress::default());
    let mut mtime = None;
    let (source, feed) = match (path, fileobj) {
        (Some(path), None) => {
            let file = std::fs::File::open(&path).map_err(|e| job_error(py, JobError::Local(e)))?;
            if preserve_mtime {
                mtime = mtime_of(&file);
            }
            (Source::File(file), Feed::Nothing)
        }
        (None, Some(fp)) => {
            if resume {
                return Err(PyValueError::new_err("resume=True needs a local path, not a file object"));
            }
            let (tx, rx) = mpsc::sync_channel(4);
            (Source::Stream(rx), Feed::Source { tx: Some(tx), fp, blocksize, pending: None })
        }
        _ => return Err(PyValueError::new_err("give exactly one of a local path and a file object")),
    };
    let opts = UploadOptions { remote, resume, atomic, verify, mtime, blocksize, sendfile: None };
    let (c, p) = (cancel.clone(), counter.clone());
    let outcome = drive(py, &cancel, &counter, progress, feed, move || {
        let (job, first) = start(spec, conn, prot_p, &c, &p, retries, rate_limit, features, true)?;
        upload(&job, first, &opts, source)
    })?;
    Ok(report(outcome))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_download, m)?)?;
    m.add_function(wrap_pyfunction!(_upload, m)?)?;
    m.add_class::<super::credentials::Login>()?;
    Ok(())
}
