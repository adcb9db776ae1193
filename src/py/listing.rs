//! `rftplib.Entry` and the Rust half of `FTP.scandir`: the whole listing is
//! read from the data connection and parsed with the GIL released, then
//! turned into `Entry` objects in one pass. The FTP dialogue around it
//! (TYPE, the transfer command, the final reply) stays in Python, in
//! `rftplib/_listing.py`, so it goes through the same overridable methods
//! and debug output as ftplib's `retrlines`.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::pyclass::CompareOp;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};

use crate::proto::listing::{
    parse_listing_lean, parse_listing_text_lean, parse_mlsd_entry, parse_mlst_entry, split_facts, Entry, EntryKind,
};

use super::ftp::unwrap_if_tls;
use super::socket::{bytes_of, Socket};
use super::text::Codec;
use super::wait::block_on;

/// How much one read from the data connection asks for.
const READ_CHUNK: usize = 256 * 1024;

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
    /// Without `facts` when `facts_text` holds them (bulk listings).
    entry: Entry,
    path: String,
    /// An MLSD line's facts, split only when asked for.
    facts_text: Option<String>,
}

impl PyEntry {
    fn new(entry: Entry, path: String) -> Self {
        PyEntry { entry, path, facts_text: None }
    }

    fn all_facts(&self) -> std::borrow::Cow<'_, [(String, String)]> {
        match &self.facts_text {
            Some(text) => split_facts(text).into(),
            None => (&self.entry.facts[..]).into(),
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
    fn name(&self) -> &str {
        &self.entry.name
    }

    /// The directory given to scandir joined with the name (for stat, the
    /// path asked for).
    #[getter]
    fn path(&self) -> &str {
        &self.path
    }

    /// "file", "dir", "link" or "other".
    #[getter]
    fn r#type(&self) -> &'static str {
        self.entry.kind.as_str()
    }

    #[getter]
    fn size(&self) -> Option<u64> {
        self.entry.size
    }

    /// The modification time as an aware UTC datetime, or None.
    #[getter]
    fn modified<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self.entry.modified {
            Some(secs) => datetime_from_unix(py, secs),
            None => Ok(None),
        }
    }

    #[getter]
    fn permissions(&self) -> Option<&str> {
        self.entry.permissions.as_deref()
    }

    #[getter]
    fn owner(&self) -> Option<&str> {
        self.entry.owner.as_deref()
    }

    #[getter]
    fn group(&self) -> Option<&str> {
        self.entry.group.as_deref()
    }

    #[getter]
    fn target(&self) -> Option<&str> {
        self.entry.target.as_deref()
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
        self.entry.raw.as_deref()
    }

    /// The same entry under another path (used by `stat`).
    fn _with_path(&self, path: String) -> Self {
        PyEntry { entry: self.entry.clone(), path, facts_text: self.facts_text.clone() }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let quote = |s: &str| -> PyResult<String> { Ok(PyString::new(py, s).repr()?.to_string()) };
        let mut out = format!("Entry({}, type={}", quote(&self.path)?, quote(self.entry.kind.as_str())?);
        if let Some(size) = self.entry.size {
            out.push_str(&format!(", size={size}"));
        }
        if let Some(m) = self.modified(py)? {
            out.push_str(&format!(", modified={}", quote(&m.call_method0("isoformat")?.to_string())?));
        }
        if let Some(target) = &self.entry.target {
            out.push_str(&format!(", target={}", quote(target)?));
        }
        out.push(')');
        Ok(out)
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> Py<PyAny> {
        let py = other.py();
        let Ok(other) = other.cast::<PyEntry>() else { return py.NotImplemented() };
        let other = other.get();
        let equal = self.path == other.path
            && Entry { facts: Vec::new(), ..self.entry.clone() } == Entry { facts: Vec::new(), ..other.entry.clone() }
            && self.all_facts() == other.all_facts();
        match op {
            CompareOp::Eq => equal.into_pyobject(py).map(|b| b.to_owned().into_any().unbind()).unwrap_or(py.None()),
            CompareOp::Ne => (!equal).into_pyobject(py).map(|b| b.to_owned().into_any().unbind()).unwrap_or(py.None()),
            _ => py.NotImplemented(),
        }
    }

    fn __hash__(&self) -> u64 {
        let mut h = DefaultHasher::new();
        (&self.path, &self.entry.name, self.entry.kind, self.entry.size, self.entry.modified).hash(&mut h);
        h.finish()
    }
}

fn now_unix() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// Parses a whole reply, decoded with the connection's encoding (bytes it
/// cannot decode become U+FFFD rather than failing the whole listing).
type Parsed = Vec<(Entry, Option<String>)>;

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
    let items = entries
        .into_iter()
        .map(|(entry, facts_text)| {
            let path = join(dirpath, &entry.name);
            Bound::new(py, PyEntry { entry, path, facts_text })
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
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
    let mut data = Vec::new();
    match conn.cast::<Socket>() {
        Ok(sock) => {
            let c = &sock.get().conn;
            let mut chunk = vec![0u8; READ_CHUNK];
            let mut deadline = c.deadline();
            block_on(py, || loop {
                match c.recv(&mut chunk, deadline)? {
                    crate::client::wait::Poll::Ready(0) => return Ok(crate::client::wait::Poll::Ready(())),
                    crate::client::wait::Poll::Ready(n) => {
                        data.extend_from_slice(&chunk[..n]);
                        deadline = c.deadline();
                    }
                    crate::client::wait::Poll::Pending => return Ok(crate::client::wait::Poll::Pending),
                }
            })?;
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
    let entries = parse_bytes(py, &data, mlsd, &codec, now.unwrap_or_else(now_unix))?;
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

/// A line of a multi-line MLSD reply is not an MLST line; kept for symmetry
/// with `_mlst_entry` in tests.
#[pyfunction]
fn _mlsd_entry(line: &str, dirpath: &str) -> Option<PyEntry> {
    parse_mlsd_entry(line).map(|entry| {
        let path = join(dirpath, &entry.name);
        PyEntry::new(entry, path)
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyEntry>()?;
    m.add_function(wrap_pyfunction!(_read_listing, m)?)?;
    m.add_function(wrap_pyfunction!(_parse_listing, m)?)?;
    m.add_function(wrap_pyfunction!(_mlst_entry, m)?)?;
    m.add_function(wrap_pyfunction!(_mlsd_entry, m)?)?;
    Ok(())
}
