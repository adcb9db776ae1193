//! ftplib's module-level parse functions.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

use crate::proto::{address, listing};

use super::errors::parse_error;

fn text_of(resp: &Bound<'_, PyAny>) -> PyResult<String> {
    resp.extract()
}

fn int_of<'py>(py: Python<'py>, digits: &str) -> PyResult<Bound<'py, PyAny>> {
    py.get_type::<pyo3::types::PyInt>().call1((digits,))
}

pub fn parse150_impl<'py>(resp: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = resp.py();
    let text = text_of(resp)?;
    match address::parse150(&text).map_err(|e| parse_error(py, e, resp))? {
        Some(digits) => int_of(py, digits),
        None => Ok(py.None().into_bound(py)),
    }
}

pub fn parse227_impl<'py>(resp: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
    let py = resp.py();
    let text = text_of(resp)?;
    let (host, p1, p2) = address::parse227(&text).map_err(|e| parse_error(py, e, resp))?;
    let port = int_of(py, p1)?.lshift(8)?.add(int_of(py, p2)?)?;
    PyTuple::new(py, [PyString::new(py, &host).into_any(), port])
}

pub fn parse229_impl<'py>(resp: &Bound<'py, PyAny>, peer: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
    let py = resp.py();
    let text = text_of(resp)?;
    let port = address::parse229(&text).map_err(|e| parse_error(py, e, resp))?;
    let port = int_of(py, port)?;
    PyTuple::new(py, [peer.get_item(0)?, port])
}

pub fn parse257_impl<'py>(resp: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = resp.py();
    let text = text_of(resp)?;
    let name = address::parse257(&text).map_err(|e| parse_error(py, e, resp))?;
    Ok(PyString::new(py, &name).into_any())
}

/// Parse the '150' response for a RETR request.
/// Returns the expected transfer size or None; size is not guaranteed to
/// be present in the 150 message.
#[pyfunction]
fn parse150<'py>(resp: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    parse150_impl(resp)
}

/// Parse the '227' response for a PASV request.
/// Raises error_proto if it does not contain '(h1,h2,h3,h4,p1,p2)'
/// Return ('host.addr.as.numbers', port#) tuple.
#[pyfunction]
fn parse227<'py>(resp: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
    parse227_impl(resp)
}

/// Parse the '229' response for an EPSV request.
/// Raises error_proto if it does not contain '(|||port|)'
/// Return ('host.addr.as.numbers', port#) tuple.
#[pyfunction]
fn parse229<'py>(resp: &Bound<'py, PyAny>, peer: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
    parse229_impl(resp, peer)
}

/// Parse the '257' response for a MKD or PWD request.
/// This is a response to a MKD or PWD request: a directory name.
/// Returns the directoryname in the 257 reply.
#[pyfunction]
fn parse257<'py>(resp: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    parse257_impl(resp)
}

/// One MLSD line as `(name, facts)`, split exactly as ftplib's `mlsd` does.
/// Fact names are lowercased with the running Python's `str.lower`, as in
/// ftplib: Rust's Unicode tables are newer than some Pythons' (U+A7CB has a
/// lowercase form from Unicode 16 on), so only ASCII is lowered in Rust.
#[pyfunction]
fn _parse_mlsd_line<'py>(py: Python<'py>, line: &str) -> PyResult<Bound<'py, PyTuple>> {
    let (name, facts) = listing::split_mlsd_line(line);
    let entry = PyDict::new(py);
    for (key, value) in facts {
        let key = if key.is_ascii() {
            PyString::new(py, &key.to_ascii_lowercase()).into_any()
        } else {
            PyString::new(py, key).call_method0(pyo3::intern!(py, "lower"))?
        };
        entry.set_item(key, value)?;
    }
    PyTuple::new(py, [PyString::new(py, name).into_any(), entry.into_any()])
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(parse150, m)?)?;
    m.add_function(wrap_pyfunction!(parse227, m)?)?;
    m.add_function(wrap_pyfunction!(parse229, m)?)?;
    m.add_function(wrap_pyfunction!(parse257, m)?)?;
    m.add_function(wrap_pyfunction!(_parse_mlsd_line, m)?)?;
    Ok(())
}
