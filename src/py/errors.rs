//! rftplib's exception classes, and the one mapping from engine errors to
//! Python exceptions.
//!
//! `Error`, `error_reply`, `error_temp`, `error_perm` and `error_proto` are
//! rftplib's own classes (`__module__ == "rftplib"`) that also derive from the
//! matching `ftplib` classes, so `except ftplib.error_perm` catches them.

use pyo3::exceptions::{PyEOFError, PyOSError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

use crate::client::tls::TlsError;
use crate::client::Error as EngineError;
use crate::proto::address::ParseError;

struct Classes {
    error: Py<PyType>,
    reply: Py<PyType>,
    temp: Py<PyType>,
    perm: Py<PyType>,
    proto: Py<PyType>,
    timeout: Py<PyType>,
    verification: Py<PyType>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

fn classes(py: Python<'_>) -> &Classes {
    CLASSES.get(py).expect("rftplib exceptions are created at import")
}

fn make_class<'py>(
    py: Python<'py>,
    name: &str,
    bases: Vec<Bound<'py, PyAny>>,
    doc: &str,
) -> PyResult<Bound<'py, PyType>> {
    make_class_in(py, "rftplib", name, bases, doc)
}

fn make_class_in<'py>(
    py: Python<'py>,
    module: &str,
    name: &str,
    bases: Vec<Bound<'py, PyAny>>,
    doc: &str,
) -> PyResult<Bound<'py, PyType>> {
    let dict = PyDict::new(py);
    dict.set_item("__module__", module)?;
    dict.set_item("__doc__", doc)?;
    let ty = py.get_type::<PyType>();
    Ok(ty.call1((name, PyTuple::new(py, bases)?, dict))?.cast_into::<PyType>()?)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let ftplib = py.import("ftplib")?;
    let base = |n: &str| ftplib.getattr(n);
    let error = make_class(py, "Error", vec![base("Error")?], "Base class of rftplib's FTP errors.")?;
    let sub = |name: &str, doc: &str| -> PyResult<Bound<'_, PyType>> {
        make_class(py, name, vec![error.clone().into_any(), base(name)?], doc)
    };
    let reply = sub("error_reply", "An unexpected reply was received from the server.")?;
    let temp = sub("error_temp", "A transient (4xx) error reply was received.")?;
    let perm = sub("error_perm", "A permanent (5xx) error reply was received.")?;
    let proto = sub("error_proto", "A reply that does not fit the FTP reply format.")?;
    for (name, class) in [
        ("Error", &error),
        ("error_reply", &reply),
        ("error_temp", &temp),
        ("error_perm", &perm),
        ("error_proto", &proto),
    ] {
        m.add(name, class)?;
    }
    // Not an ftplib name: its module is the extension's, so that rftplib's
    // namespace keeps ftplib's __all__ (test.support.check__all__).
    let verification = make_class_in(
        py,
        "rftplib._rftplib",
        "VerificationError",
        vec![error.clone().into_any()],
        "A whole-file transfer completed, but its size or checksum is not what the server said.",
    )?;
    m.add("VerificationError", &verification)?;
    let timeout = py.import("socket")?.getattr("timeout")?.cast_into::<PyType>()?;
    let _ = CLASSES.set(
        py,
        Classes {
            error: error.unbind(),
            reply: reply.unbind(),
            temp: temp.unbind(),
            perm: perm.unbind(),
            proto: proto.unbind(),
            timeout: timeout.unbind(),
            verification: verification.unbind(),
        },
    );
    Ok(())
}

pub fn error(py: Python<'_>, msg: String) -> PyErr {
    PyErr::from_type(classes(py).error.bind(py).clone(), (msg,))
}

pub fn verification_error(py: Python<'_>, msg: String) -> PyErr {
    PyErr::from_type(classes(py).verification.bind(py).clone(), (msg,))
}

pub fn error_reply(py: Python<'_>, resp: &Bound<'_, PyAny>) -> PyErr {
    PyErr::from_type(classes(py).reply.bind(py).clone(), (resp.clone().unbind(),))
}

pub fn error_temp(py: Python<'_>, resp: &Bound<'_, PyAny>) -> PyErr {
    PyErr::from_type(classes(py).temp.bind(py).clone(), (resp.clone().unbind(),))
}

pub fn error_perm(py: Python<'_>, resp: &Bound<'_, PyAny>) -> PyErr {
    PyErr::from_type(classes(py).perm.bind(py).clone(), (resp.clone().unbind(),))
}

pub fn error_proto(py: Python<'_>, resp: &Bound<'_, PyAny>) -> PyErr {
    PyErr::from_type(classes(py).proto.bind(py).clone(), (resp.clone().unbind(),))
}

/// The exception for a reply that failed to parse.
pub fn parse_error(py: Python<'_>, e: ParseError, resp: &Bound<'_, PyAny>) -> PyErr {
    match e {
        ParseError::Reply => error_reply(py, resp),
        ParseError::Proto => error_proto(py, resp),
    }
}

pub fn eof() -> PyErr {
    PyEOFError::new_err(())
}

/// `OSError(errno, strerror)`: Python picks the subclass for the errno
/// (`ConnectionRefusedError`, `ConnectionResetError`, ...).
pub fn os_error(errno: i32) -> PyErr {
    let msg = std::io::Error::from_raw_os_error(errno).to_string();
    let msg = match msg.rfind(" (os error ") {
        Some(i) => msg[..i].to_owned(),
        None => msg,
    };
    PyOSError::new_err((errno, msg))
}

/// The `ssl` module's exception for a TLS failure.
fn ssl_error(py: Python<'_>, e: &TlsError) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let ssl = py.import("ssl")?;
        let (class, errno) = match e {
            TlsError::CertVerify { .. } => ("SSLCertVerificationError", 1),
            TlsError::Eof => ("SSLEOFError", 8),
            TlsError::Ssl { .. } => ("SSLError", 1),
        };
        let exc = ssl.getattr(class)?.call1((errno, e.to_string()))?;
        match e {
            TlsError::CertVerify { code, message } => {
                exc.setattr("verify_code", code)?;
                exc.setattr("verify_message", message)?;
                exc.setattr("reason", "CERTIFICATE_VERIFY_FAILED")?;
                exc.setattr("library", "SSL")?;
            }
            TlsError::Ssl { library, reason, .. } => {
                exc.setattr("library", library)?;
                exc.setattr("reason", reason)?;
            }
            TlsError::Eof => {
                exc.setattr("library", "SSL")?;
                exc.setattr("reason", "UNEXPECTED_EOF_WHILE_READING")?;
            }
        }
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|err| err)
}

/// The one mapping from engine errors to Python exceptions.
pub fn to_pyerr(py: Python<'_>, e: EngineError) -> PyErr {
    match e {
        EngineError::Timeout => PyErr::from_type(classes(py).timeout.bind(py).clone(), ("timed out",)),
        EngineError::Closed => os_error(libc::EBADF),
        EngineError::Io(io) => match io.raw_os_error() {
            Some(errno) => os_error(errno),
            None => PyOSError::new_err(io.to_string()),
        },
        EngineError::Tls(tls) => ssl_error(py, &tls),
        EngineError::NotTls => pyo3::exceptions::PyValueError::new_err("not using TLS"),
    }
}
