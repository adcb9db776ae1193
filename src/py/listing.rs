//! `rftplib.Entry` and the Rust half of `FTP.scandir`: the whole listing is
//! read from the data connection and parsed with the GIL released, then
//! turned into `Entry` objects in one pass. The FTP dialogue around it
//! (TYPE, the transfer command, the final reply) stays in Python, in
//! `rftplib/_listing.py`, so it goes through the same overridable methods
//! and debug output as ftplib's `retrlines`.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::pyclass::CompareOp;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use crate::client::wait::Poll;
use std::ops::Range;

use crate::proto::listing::{
    parse_listing_lean, parse_listing_text_lean, parse_mlst_entry, split_facts, Entry, EntryKind, LeanEntry,
    ListingParser, UnixSpans,
};

use super::errors::to_pyerr;
use super::ftp::unwrap_if_tls;
use super::socket::{bytes_of, Socket};
use super::text::Codec;
use super::wait::block_on;

/// How much one read from the data connection asks for.
const READ_CHUNK: usize = 256 * 1024;

static FROMTIMESTAMP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static EPOCH: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static TIMEDELTA: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static UTC: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn utc(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    Ok(UTC
        .get_or_try_init(py, || Ok::<_, PyErr>(py.import("datetime")?.getattr("timezone")?.getattr("utc")?.unbind()))?
        .bind(py))
}

/// An aware UTC datetime for Unix seconds; None when Python's datetime
/// cannot hold it (before year 1 or after 9999).
fn datetime_from_unix(py: Python<'_>, secs: i64) -> PyResult<Option<Bound<'_, PyAny>>> {
    let fromtimestamp = FROMTIMESTAMP.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import("datetime")?.getattr("datetime")?.getattr("fromtimestamp")?.unbind())
    })?;
    if let Ok(dt) = fromtimestamp.bind(py).call1((secs, utc(py)?)) {
        return Ok(Some(dt));
    }
    // Platforms whose C library refuses some times (negative ones on
    // Windows): the epoch plus a timedelta reaches every datetime.
    let epoch = EPOCH.get_or_try_init(py, || {
        let dt = py.import("datetime")?.getattr("datetime")?;
        Ok::<_, PyErr>(dt.call1((1970, 1, 1, 0, 0, 0, 0, utc(py)?))?.unbind())
    })?;
    let delta = TIMEDELTA
        .get_or_try_init(py, || Ok::<_, PyErr>(py.import("datetime")?.getattr("timedelta")?.unbind()))?
        .bind(py);
    let kwargs = PyDict::new(py);
    kwargs.set_item("seconds", secs)?;
    let Ok(delta) = delta.call((), Some(&kwargs)) else { return Ok(None) };
    Ok(epoch.bind(py).add(delta).ok())
}

/// Unix seconds from what `Entry(modified=...)` accepts: an aware datetime
/// (a naive one is taken as UTC), a number of seconds, or None.
fn unix_from_py(value: &Bound<'_, PyAny>) -> PyResult<Option<i64>> {
    let py = value.py();
    if value.is_none() {
        return Ok(None);
    }
    if let Ok(secs) = value.extract::<i64>() {
        return Ok(Some(secs));
    }
    if let Ok(secs) = value.extract::<f64>() {
        return Ok(Some(secs.floor() as i64));
    }
    if value.hasattr(intern!(py, "tzinfo"))? {
        let aware = if value.getattr(intern!(py, "tzinfo"))?.is_none() {
            let kwargs = PyDict::new(py);
            kwargs.set_item("tzinfo", utc(py)?)?;
            value.call_method("replace", (), Some(&kwargs))?
        } else {
            value.clone()
        };
        let secs: f64 = aware.call_method0(intern!(py, "timestamp"))?.extract()?;
        return Ok(Some(secs.floor() as i64));
    }
    Err(PyValueError::new_err("modified must be a datetime, a number of seconds or None"))
}

/// `dirpath` and `name` joined with one `/`; just `name` for the current directory.
fn join(dirpath: &str, name: &str) -> String {
    if dirpath.is_empty() {
        name.to_owned()
    } else if dirpath.ends_with('/') {
        format!("{dirpath}{name}")
    } else {
        format!("{dirpath}/{name}")
    }
}

/// One directory entry from `FTP.scandir` or `FTP.stat`.
// `rftplib._rftplib`, not `rftplib`: CPython's check__all__ (run by its own
// test_ftplib against rftplib) wants every class of module `rftplib` in
// `__all__`, which must stay ftplib's.
#[pyclass(frozen, module = "rftplib._rftplib", name = "Entry")]
pub struct PyEntry {
    /// An `Entry`, or (bulk listings) a Unix LIST line kept whole, or an
    /// entry without `facts` with its MLSD facts text, split only when asked for.
    data: LeanEntry,
    at: Location,
}

/// Where an entry is: a path of its own (stat), or the directory it was
/// listed in, shared by the whole listing and joined with the name when
/// `path` is read.
enum Location {
    Path(String),
    Dir(Arc<str>),
}

impl PyEntry {
    fn new(entry: Entry, path: String) -> Self {
        PyEntry { data: LeanEntry::Full(Box::new(entry), None), at: Location::Path(path) }
    }

    fn path_str(&self) -> std::borrow::Cow<'_, str> {
        match &self.at {
            Location::Path(p) => p.as_str().into(),
            Location::Dir(d) => join(d, self.name()).into(),
        }
    }

    fn all_facts(&self) -> std::borrow::Cow<'_, [(String, String)]> {
        match &self.data {
            LeanEntry::Full(_, Some(text)) => split_facts(text).into(),
            LeanEntry::Full(entry, None) => (&entry.facts[..]).into(),
            LeanEntry::Unix(..) => (&[][..]).into(),
        }
    }

    /// A Unix line's field, or an entry's.
    fn field<'a>(
        &'a self,
        unix: impl Fn(&UnixSpans) -> Option<Range<usize>>,
        full: impl Fn(&'a Entry) -> Option<&'a str>,
    ) -> Option<&'a str> {
        match &self.data {
            LeanEntry::Unix(line, spans) => unix(spans).map(|r| &line[r]),
            LeanEntry::Full(entry, _) => full(entry),
        }
    }

    fn name(&self) -> &str {
        self.field(|s| Some(s.name.clone()), |e| Some(&e.name)).unwrap_or_default()
    }

    fn kind(&self) -> EntryKind {
        match &self.data {
            LeanEntry::Unix(_, spans) => spans.kind,
            LeanEntry::Full(entry, _) => entry.kind,
        }
    }

    fn size_(&self) -> Option<u64> {
        match &self.data {
            LeanEntry::Unix(_, spans) => spans.size,
            LeanEntry::Full(entry, _) => entry.size,
        }
    }

    fn modified_(&self) -> Option<i64> {
        match &self.data {
            LeanEntry::Unix(_, spans) => spans.modified,
            LeanEntry::Full(entry, _) => entry.modified,
        }
    }
}

#[pymethods]
impl PyEntry {
    #[new]
    #[pyo3(signature = (name, r#type="file", *, path=None, size=None, modified=None, permissions=None,
                        owner=None, group=None, target=None, facts=None, raw=None))]
    #[allow(clippy::too_many_arguments)]
    fn py_new(
        name: String,
        r#type: &str,
        path: Option<String>,
        size: Option<u64>,
        modified: Option<&Bound<'_, PyAny>>,
        permissions: Option<String>,
        owner: Option<String>,
        group: Option<String>,
        target: Option<String>,
        facts: Option<&Bound<'_, PyAny>>,
        raw: Option<String>,
    ) -> PyResult<Self> {
        let kind = EntryKind::from_name(r#type).ok_or_else(|| {
            PyValueError::new_err(format!("type must be 'file', 'dir', 'link' or 'other', not {type:?}"))
        })?;
        let mut entry = Entry::new(name, kind);
        entry.size = size;
        entry.modified = match modified {
            Some(m) => unix_from_py(m)?,
            None => None,
        };
        entry.permissions = permissions;
        entry.owner = owner;
        entry.group = group;
        entry.target = target;
        if let Some(facts) = facts {
            let facts = facts.cast::<PyDict>()?;
            for (k, v) in facts.iter() {
                entry.facts.push((k.extract()?, v.extract()?));
            }
        }
        entry.raw = raw;
        let path = path.unwrap_or_else(|| entry.name.clone());
        Ok(PyEntry::new(entry, path))
    }

    /// The entry's name within its directory.
    #[getter]
    #[pyo3(name = "name")]
    fn py_name(&self) -> &str {
        self.name()
    }

    /// The directory given to scandir joined with the name (for stat, the
    /// path asked for).
    #[getter]
    fn path(&self) -> std::borrow::Cow<'_, str> {
        self.path_str()
    }

    /// "file", "dir", "link" or "other".
    #[getter]
    fn r#type(&self) -> &'static str {
        self.kind().as_str()
    }

    #[getter]
    fn size(&self) -> Option<u64> {
        self.size_()
    }

    /// The modification time as an aware UTC datetime, or None.
    #[getter]
    fn modified<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self.modified_() {
            Some(secs) => datetime_from_unix(py, secs),
            None => Ok(None),
        }
    }

    #[getter]
    fn permissions(&self) -> Option<&str> {
        self.field(|_| Some(0..10), |e| e.permissions.as_deref())
    }

    #[getter]
    fn owner(&self) -> Option<&str> {
        self.field(|s| s.owner.clone(), |e| e.owner.as_deref())
    }

    #[getter]
    fn group(&self) -> Option<&str> {
        self.field(|s| s.group.clone(), |e| e.group.as_deref())
    }

    #[getter]
    fn target(&self) -> Option<&str> {
        self.field(|s| s.target.clone(), |e| e.target.as_deref())
    }

    /// The MLSD/MLST facts (names lowercased) as a new dict; empty for LIST.
    #[getter]
    fn facts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in self.all_facts().iter() {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// The LIST line this entry was read from, or None.
    #[getter]
    fn raw(&self) -> Option<&str> {
        match &self.data {
            LeanEntry::Unix(line, _) => Some(line),
            LeanEntry::Full(entry, _) => entry.raw.as_deref(),
        }
    }

    /// The same entry under another path (used by `stat`).
    fn _with_path(&self, path: String) -> Self {
        PyEntry { data: self.data.clone(), at: Location::Path(path) }
    }

    /// For pickle and copy: the constructor's arguments.
    fn __getnewargs_ex__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyTuple>, Bound<'py, PyDict>)> {
        let args = PyTuple::new(py, [self.name(), self.kind().as_str()])?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("path", self.path_str())?;
        kwargs.set_item("size", self.size_())?;
        kwargs.set_item("modified", self.modified_())?;
        kwargs.set_item("permissions", self.permissions())?;
        kwargs.set_item("owner", self.owner())?;
        kwargs.set_item("group", self.group())?;
        kwargs.set_item("target", self.target())?;
        kwargs.set_item("facts", self.facts(py)?)?;
        kwargs.set_item("raw", self.raw())?;
        Ok((args, kwargs))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let quote = |s: &str| -> PyResult<String> { Ok(PyString::new(py, s).repr()?.to_string()) };
        let mut out = format!("Entry({}, type={}", quote(&self.path_str())?, quote(self.kind().as_str())?);
        if let Some(size) = self.size_() {
            out.push_str(&format!(", size={size}"));
        }
        if let Some(m) = self.modified(py)? {
            out.push_str(&format!(", modified={}", quote(&m.call_method0("isoformat")?.to_string())?));
        }
        if let Some(target) = self.target() {
            out.push_str(&format!(", target={}", quote(target)?));
        }
        out.push(')');
        Ok(out)
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> Py<PyAny> {
        let py = other.py();
        let Ok(other) = other.cast::<PyEntry>() else { return py.NotImplemented() };
        let other = other.get();
        let equal = self.path_str() == other.path_str() && self.data.to_entry() == other.data.to_entry();
        match op {
            CompareOp::Eq => equal.into_pyobject(py).map(|b| b.to_owned().into_any().unbind()).unwrap_or(py.None()),
            CompareOp::Ne => (!equal).into_pyobject(py).map(|b| b.to_owned().into_any().unbind()).unwrap_or(py.None()),
            _ => py.NotImplemented(),
        }
    }

    fn __hash__(&self) -> u64 {
        let mut h = DefaultHasher::new();
        (&self.path_str(), self.name(), self.kind(), self.size_(), self.modified_()).hash(&mut h);
        h.finish()
    }
}

fn now_unix() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

type Parsed = Vec<LeanEntry>;

/// Parses a whole reply, decoded with the connection's encoding (bytes it
/// cannot decode become U+FFFD rather than failing the whole listing).
fn parse_bytes(py: Python<'_>, data: &[u8], mlsd: bool, codec: &Codec, now: i64) -> PyResult<Parsed> {
    match codec {
        Codec::Utf8 => Ok(py.detach(|| parse_listing_lean(data, mlsd, now))),
        Codec::Latin1 => Ok(py.detach(|| {
            let text: String = data.iter().map(|&b| b as char).collect();
            parse_listing_text_lean(&text, mlsd, now)
        })),
        Codec::Other(name) => {
            let text = PyBytes::new(py, data).call_method1("decode", (name.as_str(), "replace"))?;
            let text = text.cast::<PyString>()?.to_cow()?.into_owned();
            Ok(py.detach(|| parse_listing_text_lean(&text, mlsd, now)))
        }
    }
}

fn to_list<'py>(py: Python<'py>, entries: Parsed, dirpath: &str) -> PyResult<Bound<'py, PyList>> {
    let mut items = Vec::with_capacity(entries.len());
    make_entries(py, entries, &dirpath.into(), &mut items)?;
    PyList::new(py, items)
}

/// Appends the Python `Entry` objects of `entries` to `out`.
fn make_entries<'py>(
    py: Python<'py>,
    entries: Parsed,
    dir: &Arc<str>,
    out: &mut Vec<Bound<'py, PyEntry>>,
) -> PyResult<()> {
    make_each(py, entries, dir, |e| out.push(e))
}

fn make_each<'py>(
    py: Python<'py>,
    entries: Parsed,
    dir: &Arc<str>,
    mut each: impl FnMut(Bound<'py, PyEntry>),
) -> PyResult<()> {
    // The entries hold no references to Python objects, but are tracked by
    // the cycle collector, which would otherwise run (and walk every tracked
    // object) hundreds of times while 100,000 of them are made.
    let gc = py.import(intern!(py, "gc"))?;
    let was_enabled = gc.call_method0(intern!(py, "isenabled"))?.is_truthy()?;
    if was_enabled {
        gc.call_method0(intern!(py, "disable"))?;
    }
    let made = entries.into_iter().try_for_each(|data| {
        let entry = Bound::new(py, PyEntry { data, at: Location::Dir(dir.clone()) })?;
        // An Entry refers to no Python object, so it can never be part of a
        // cycle: untracked, the next collection (often in the voidresp()
        // right after the listing) does not walk 100,000 of them (~20 ms).
        // SAFETY: a live object; IsTracked is false for types without GC.
        unsafe {
            if pyo3::ffi::PyObject_GC_IsTracked(entry.as_ptr()) == 1 {
                pyo3::ffi::PyObject_GC_UnTrack(entry.as_ptr().cast());
            }
        }
        each(entry);
        Ok(())
    });
    if was_enabled {
        gc.call_method0(intern!(py, "enable"))?;
    }
    made
}

/// The longest the reading loop goes without checking for signals (Ctrl-C).
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// How many parsed entries the reading loop hands on at a time to be made
/// into Python objects while it reads and parses the next ones.
const BATCH: usize = 4096;

/// The objects a [`Maker`] made, in order.
type Made = PyResult<Vec<Py<PyEntry>>>;

/// Makes the Python objects of parsed batches on a thread of its own (taking
/// the GIL while the reading thread has it released), so that a listing
/// that arrives in one burst (vsftpd sorts it and sends it at the end) is
/// parsed on one core while its objects are made on the other. Started at
/// the first full batch: small listings never start it.
struct Maker {
    dir: Arc<str>,
    running: Option<(SyncSender<Parsed>, JoinHandle<Made>)>,
}

impl Maker {
    fn new(dir: &Arc<str>) -> Self {
        Maker { dir: dir.clone(), running: None }
    }

    /// Hands a batch on (called with the GIL released: the thread needs it).
    fn send(&mut self, batch: Parsed) {
        let (tx, _) = self.running.get_or_insert_with(|| {
            let (tx, rx) = sync_channel::<Parsed>(4);
            let dir = self.dir.clone();
            let handle = std::thread::spawn(move || {
                let mut out = Vec::new();
                for batch in rx {
                    Python::attach(|py| make_each(py, batch, &dir, |e| out.push(e.unbind())))?;
                }
                Ok(out)
            });
            (tx, handle)
        });
        // A send fails only when the thread has stopped on an error, which
        // `finish` reports.
        let _ = tx.send(batch);
    }

    /// The objects made so far, in order, once the thread has ended.
    fn finish(self, py: Python<'_>) -> Made {
        let Some((tx, handle)) = self.running else { return Ok(Vec::new()) };
        drop(tx);
        // Joined with the GIL released: the thread may be waiting for it.
        match py.detach(|| handle.join()) {
            Ok(made) => made,
            Err(_) => Err(PyRuntimeError::new_err("scandir: the thread making Entry objects panicked")),
        }
    }
}

/// The UTF-8 reply on one of rftplib's own sockets: lines parsed as they
/// arrive with the GIL released, and every [`BATCH`] entries made into
/// Python objects on another thread, so that little is left to do when the
/// last byte lands.
fn read_native<'py>(
    py: Python<'py>,
    sock: &Socket,
    mut parser: ListingParser,
    dir: &Arc<str>,
) -> PyResult<Vec<Bound<'py, PyEntry>>> {
    let c = &sock.conn;
    let mut chunk = vec![0u8; READ_CHUNK];
    let mut deadline = c.deadline();
    let mut maker = Maker::new(dir);
    let read = loop {
        let started = Instant::now();
        let step = py.detach(|| loop {
            match c.recv(&mut chunk, deadline)? {
                Poll::Ready(0) => return Ok(Poll::Ready(true)),
                Poll::Ready(n) => {
                    parser.feed(&chunk[..n]);
                    deadline = c.deadline();
                    if parser.ready() >= BATCH {
                        maker.send(parser.take_ready());
                    }
                    // Back for signals even when data trickles in without pause.
                    if started.elapsed() >= SIGNAL_CHECK {
                        return Ok(Poll::Ready(false));
                    }
                }
                Poll::Pending => return Ok(Poll::Pending),
            }
        });
        match step {
            Ok(Poll::Ready(true)) => break Ok(()),
            Ok(_) => {}
            Err(e) => break Err(to_pyerr(py, e)),
        }
        if let Err(e) = py.check_signals() {
            break Err(e);
        }
    };
    // The thread is always joined, also when reading failed.
    let made = maker.finish(py);
    read?;
    let mut items: Vec<Bound<'py, PyEntry>> = made?.into_iter().map(|e| e.into_bound(py)).collect();
    parser.end();
    make_entries(py, parser.take_ready(), dir, &mut items)?;
    Ok(items)
}

/// Reads the data connection `conn` to its end (with the GIL released on
/// rftplib's own sockets), shuts its TLS down as `retrlines` does, and
/// returns the parsed entries with paths under `dirpath`.
#[pyfunction]
#[pyo3(signature = (conn, mlsd, dirpath, encoding, now=None))]
fn _read_listing<'py>(
    conn: &Bound<'py, PyAny>,
    mlsd: bool,
    dirpath: &str,
    encoding: &Bound<'py, PyAny>,
    now: Option<i64>,
) -> PyResult<Bound<'py, PyList>> {
    let py = conn.py();
    let codec = Codec::lookup(encoding)?;
    let now = now.unwrap_or_else(now_unix);
    let dir: Arc<str> = dirpath.into();
    if let (Ok(sock), Codec::Utf8) = (conn.cast::<Socket>(), &codec) {
        let items = read_native(py, sock.get(), ListingParser::new(mlsd, now), &dir)?;
        unwrap_if_tls(conn)?;
        return PyList::new(py, items);
    }
    // A socket object of another kind, or an encoding other than UTF-8:
    // the whole reply, then decoded and parsed.
    let mut data = Vec::new();
    match conn.cast::<Socket>() {
        Ok(sock) => {
            let c = &sock.get().conn;
            let mut chunk = vec![0u8; READ_CHUNK];
            let mut deadline = c.deadline();
            let mut at_end = false;
            while !at_end {
                let started = Instant::now();
                at_end = block_on(py, || loop {
                    match c.recv(&mut chunk, deadline)? {
                        Poll::Ready(0) => return Ok(Poll::Ready(true)),
                        Poll::Ready(n) => {
                            data.extend_from_slice(&chunk[..n]);
                            deadline = c.deadline();
                            if started.elapsed() >= SIGNAL_CHECK {
                                return Ok(Poll::Ready(false));
                            }
                        }
                        Poll::Pending => return Ok(Poll::Pending),
                    }
                })?;
                py.check_signals()?;
            }
        }
        Err(_) => loop {
            let block = conn.call_method1(intern!(py, "recv"), (READ_CHUNK,))?;
            if !block.is_truthy()? {
                break;
            }
            data.extend_from_slice(&bytes_of(&block)?);
        },
    }
    unwrap_if_tls(conn)?;
    let entries = parse_bytes(py, &data, mlsd, &codec, now)?;
    to_list(py, entries, dirpath)
}

/// Parses a listing already in hand (bytes or text): for tests and for
/// callers that fetched it themselves.
#[pyfunction]
#[pyo3(signature = (data, mlsd=false, dirpath="", now=None))]
fn _parse_listing<'py>(
    data: &Bound<'py, PyAny>,
    mlsd: bool,
    dirpath: &str,
    now: Option<i64>,
) -> PyResult<Bound<'py, PyList>> {
    let py = data.py();
    let now = now.unwrap_or_else(now_unix);
    let entries = match data.cast::<PyString>() {
        Ok(s) => {
            let text = s.to_cow()?;
            parse_listing_text_lean(&text, mlsd, now)
        }
        Err(_) => parse_listing_lean(&bytes_of(data)?, mlsd, now),
    };
    to_list(py, entries, dirpath)
}

/// The entry of one MLST fact line (without its leading space), under
/// `path`; None if the line says nothing.
#[pyfunction]
fn _mlst_entry(line: &str, path: String) -> Option<PyEntry> {
    parse_mlst_entry(line).map(|entry| PyEntry::new(entry, path))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyEntry>()?;
    m.add_function(wrap_pyfunction!(_read_listing, m)?)?;
    m.add_function(wrap_pyfunction!(_parse_listing, m)?)?;
    m.add_function(wrap_pyfunction!(_mlst_entry, m)?)?;
    Ok(())
}
