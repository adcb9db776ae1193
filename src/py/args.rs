//! Argument conventions shared by the classes: "not given" versus `None`, and
//! Python socket timeouts.

use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyTuple;

/// An optional argument whose absence differs from an explicit `None`
/// (ftplib's `timeout=_GLOBAL_DEFAULT_TIMEOUT`, `connect(timeout=-999)`).
pub enum Arg {
    Missing,
    Given(Py<PyAny>),
}

impl<'a, 'py> FromPyObject<'a, 'py> for Arg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        Ok(Arg::Given(obj.to_owned().unbind()))
    }
}

static DEFAULT_TIMEOUT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `socket._GLOBAL_DEFAULT_TIMEOUT`, the very object ftplib compares with `is`.
pub fn default_timeout_sentinel(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    DEFAULT_TIMEOUT
        .get_or_try_init(py, || Ok::<_, PyErr>(py.import("socket")?.getattr("_GLOBAL_DEFAULT_TIMEOUT")?.unbind()))
        .map(|o| o.bind(py))
}

pub fn is_default_timeout(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(obj.is(default_timeout_sentinel(obj.py())?))
}

/// A timeout as `socket.settimeout` takes it: `None` blocks, a number waits.
pub fn timeout_value(obj: &Bound<'_, PyAny>) -> PyResult<Option<Duration>> {
    if obj.is_none() {
        return Ok(None);
    }
    let secs: f64 = obj.extract()?;
    if secs.is_nan() {
        return Err(PyValueError::new_err("Invalid value NaN (not a number)"));
    }
    if secs < 0.0 {
        return Err(PyValueError::new_err("Timeout value out of range"));
    }
    // Python keeps timeouts as 64-bit nanoseconds and refuses larger ones.
    if secs * 1e9 >= i64::MAX as f64 {
        return Err(pyo3::exceptions::PyOverflowError::new_err("timestamp out of range for platform time_t"));
    }
    Ok(Some(Duration::from_secs_f64(secs)))
}

/// The timeout a new socket gets from an ftplib `timeout` attribute: the
/// global default (`socket.getdefaulttimeout()`) for the sentinel.
pub fn resolve_timeout(obj: &Bound<'_, PyAny>) -> PyResult<Option<Duration>> {
    if is_default_timeout(obj)? {
        let d = obj.py().import("socket")?.call_method0("getdefaulttimeout")?;
        timeout_value(&d)
    } else {
        timeout_value(obj)
    }
}

pub fn timeout_to_py(py: Python<'_>, t: Option<Duration>) -> PyResult<Py<PyAny>> {
    Ok(match t {
        None => py.None(),
        Some(d) => d.as_secs_f64().into_pyobject(py)?.into_any().unbind(),
    })
}

/// A socket address as Python's socket module gives it: `(host, port)` for
/// IPv4, `(host, port, flowinfo, scope_id)` for IPv6.
pub fn sockaddr_to_py<'py>(py: Python<'py>, addr: &std::net::SocketAddr) -> PyResult<Bound<'py, PyTuple>> {
    match addr {
        std::net::SocketAddr::V4(a) => {
            PyTuple::new(py, [a.ip().to_string().into_pyobject(py)?.into_any(), a.port().into_pyobject(py)?.into_any()])
        }
        std::net::SocketAddr::V6(a) => PyTuple::new(
            py,
            [
                a.ip().to_string().into_pyobject(py)?.into_any(),
                a.port().into_pyobject(py)?.into_any(),
                a.flowinfo().into_pyobject(py)?.into_any(),
                a.scope_id().into_pyobject(py)?.into_any(),
            ],
        ),
    }
}

/// `socket.AddressFamily` member for an address.
pub fn family_of<'py>(py: Python<'py>, addr: &std::net::SocketAddr) -> PyResult<Bound<'py, PyAny>> {
    let name = if addr.is_ipv4() { "AF_INET" } else { "AF_INET6" };
    py.import("socket")?.getattr(name)
}
