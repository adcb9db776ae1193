//! `rftplib.FTP_TLS`: ftplib's `FTP_TLS` (RFC 4217), plus what ftplib lacks:
//! every data connection resumes the control connection's TLS session, and
//! implicit FTPS (`implicit=True`, TLS from the first byte, port 990).

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple};

use crate::client::tls::TlsSession;

use super::args::Arg;
use super::errors::to_pyerr;
use super::ftp::{abort_reply, open_control, open_file, read_welcome, Ftp};
use super::socket::Socket;
use super::tls_config;

/// The methods `FTP_TLS` overrides: calls to them always go through Python.
pub const OVERRIDES: &[&str] =
    &["__init__", "connect", "login", "ntransfercmd", "abort", "auth", "ccc", "prot_p", "prot_c"];

/// Python 3.12 removed `keyfile`/`certfile` from `FTP_TLS` and made every
/// argument after `acct` keyword-only; rftplib follows the running Python.
fn legacy_signature(py: Python<'_>) -> PyResult<bool> {
    let info = py.import("sys")?.getattr("version_info")?;
    let version: (i32, i32) = (info.get_item(0)?.extract()?, info.get_item(1)?.extract()?);
    Ok(version < (3, 12))
}

/// Binds `FTP_TLS.__init__`'s arguments the way the running Python's ftplib
/// declares them.
struct InitArgs<'py> {
    values: Vec<(&'static str, Option<Bound<'py, PyAny>>)>,
}

impl<'py> InitArgs<'py> {
    fn bind(py: Python<'py>, args: &Bound<'py, PyTuple>, kwargs: Option<&Bound<'py, PyDict>>) -> PyResult<Self> {
        let legacy = legacy_signature(py)?;
        let positional: &[&'static str] = if legacy {
            &["host", "user", "passwd", "acct", "keyfile", "certfile", "context", "timeout", "source_address"]
        } else {
            &["host", "user", "passwd", "acct"]
        };
        let keyword_only: &[&'static str] = if legacy {
            &["encoding", "implicit", "client_certfile", "client_keyfile"]
        } else {
            &["context", "timeout", "source_address", "encoding", "implicit", "client_certfile", "client_keyfile"]
        };
        if args.len() > positional.len() {
            return Err(PyTypeError::new_err(format!(
                "FTP_TLS.__init__() takes from 1 to {} positional arguments but {} were given",
                positional.len() + 1,
                args.len() + 1
            )));
        }
        let mut values: Vec<(&'static str, Option<Bound<'py, PyAny>>)> =
            positional.iter().chain(keyword_only).map(|n| (*n, None)).collect();
        for (i, arg) in args.iter().enumerate() {
            values[i].1 = Some(arg);
        }
        if let Some(kwargs) = kwargs {
            for (key, value) in kwargs.iter() {
                let key: String = key.extract()?;
                let slot = values.iter_mut().find(|(n, _)| *n == key).ok_or_else(|| {
                    PyTypeError::new_err(format!("FTP_TLS.__init__() got an unexpected keyword argument '{key}'"))
                })?;
                if slot.1.is_some() {
                    return Err(PyTypeError::new_err(format!(
                        "FTP_TLS.__init__() got multiple values for argument '{key}'"
                    )));
                }
                slot.1 = Some(value);
            }
        }
        Ok(InitArgs { values })
    }

    fn get(&self, name: &str) -> Option<Bound<'py, PyAny>> {
        self.values.iter().find(|(n, _)| *n == name).and_then(|(_, v)| v.clone())
    }

    fn get_not_none(&self, name: &str) -> Option<Bound<'py, PyAny>> {
        self.get(name).filter(|v| !v.is_none())
    }
}

/// Is the control connection already under TLS (as ftplib asks with
/// `isinstance(self.sock, ssl.SSLSocket)`)?
fn sock_is_tls(sock: &Bound<'_, PyAny>) -> PyResult<bool> {
    match sock.cast::<Socket>() {
        Ok(s) => Ok(s.get().was_tls()),
        Err(_) => sock.is_instance(&sock.py().import("ssl")?.getattr("SSLSocket")?),
    }
}

fn path_of(obj: Option<Bound<'_, PyAny>>) -> PyResult<Option<PathBuf>> {
    match obj {
        Some(o) if !o.is_none() => {
            let fspath = o.py().import("os")?.call_method1("fspath", (o,))?;
            Ok(Some(PathBuf::from(fspath.extract::<String>()?)))
        }
        _ => Ok(None),
    }
}

/// The TLS settings of an FTP_TLS instance: its context and client certificate.
pub(crate) fn tls_config_of(this: &Bound<'_, PyAny>) -> PyResult<crate::client::tls::TlsConfig> {
    let py = this.py();
    let ctx = this.getattr(intern!(py, "context"))?;
    let (cert, key) = match this.getattr(intern!(py, "_client_cert")) {
        Ok(pair) if !pair.is_none() => (path_of(Some(pair.get_item(0)?))?, path_of(Some(pair.get_item(1)?))?),
        _ => (None, None),
    };
    tls_config::from_context(&ctx, cert, key)
}

/// A new FTPS session from the instance's context and client certificate.
fn new_session(this: &Bound<'_, PyAny>) -> PyResult<Arc<TlsSession>> {
    let py = this.py();
    let cfg = tls_config_of(this)?;
    let host: String = this.getattr(intern!(py, "host"))?.str()?.extract()?;
    let session = TlsSession::new(&cfg, &host).map_err(|e| to_pyerr(py, crate::client::Error::Tls(e)))?;
    Ok(Arc::new(session))
}

/// Puts TLS on `sock`, ours or a Python socket, as `context.wrap_socket`
/// would; returns the object that replaces it.
fn wrap<'py>(
    this: &Bound<'py, PyAny>,
    sock: &Bound<'py, PyAny>,
    session: Option<Arc<TlsSession>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = this.py();
    let ctx = this.getattr(intern!(py, "context"))?;
    match sock.cast::<Socket>() {
        Ok(s) => {
            let resume = session.is_some();
            let session = match session {
                Some(s) => s,
                None => new_session(this)?,
            };
            s.get().start_tls(py, session, resume)?;
            sock.setattr(intern!(py, "context"), &ctx)?;
            sock.setattr(intern!(py, "server_hostname"), this.getattr(intern!(py, "host"))?)?;
            Ok(sock.clone())
        }
        Err(_) => {
            let kwargs = PyDict::new(py);
            kwargs.set_item("server_hostname", this.getattr(intern!(py, "host"))?)?;
            ctx.call_method("wrap_socket", (sock,), Some(&kwargs))
        }
    }
}

/// TLS on a data connection, resuming the control connection's session (as
/// servers that require reuse demand); `conn` is closed if it fails.
fn secure_data<'py>(this: &Bound<'py, PyAny>, conn: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = this.py();
    let control = this.getattr(intern!(py, "sock"))?;
    let session = match control.cast::<Socket>() {
        Ok(s) => s.get().conn.tls_session(),
        Err(_) => None,
    };
    match wrap(this, conn, session) {
        Ok(wrapped) => Ok(wrapped),
        Err(e) => {
            conn.call_method0(intern!(py, "close"))?;
            Err(e)
        }
    }
}

/// A FTP subclass which adds TLS support to FTP as described
/// in RFC-4217.
///
/// Connect as usual to port 21 implicitly securing the FTP control
/// connection before authenticating.
///
/// Securing the data connection requires user to explicitly ask
/// for it by calling prot_p() method.
///
/// Every data connection resumes the control connection's TLS session, as
/// servers that demand session reuse require. With implicit=True, TLS starts
/// with the connection (implicit FTPS, port 990 by default).
#[pyclass(extends = Ftp, subclass, frozen, module = "rftplib", name = "FTP_TLS")]
pub struct FtpTls {}

#[pymethods]
impl FtpTls {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn py_new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> PyClassInitializer<Self> {
        PyClassInitializer::from(Ftp {}).add_subclass(FtpTls {})
    }

    #[pyo3(signature = (*args, **kwargs))]
    fn __init__(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        let py = slf.py();
        let this = slf.as_any();
        let a = InitArgs::bind(py, args, kwargs)?;
        let ssl = py.import("ssl")?;
        let mut context = a.get_not_none("context");
        let mut client_cert = (a.get_not_none("client_certfile"), a.get_not_none("client_keyfile"));
        if legacy_signature(py)? {
            let keyfile = a.get("keyfile").unwrap_or_else(|| py.None().into_bound(py));
            let certfile = a.get("certfile").unwrap_or_else(|| py.None().into_bound(py));
            if context.is_some() && !keyfile.is_none() {
                return Err(PyValueError::new_err("context and keyfile arguments are mutually exclusive"));
            }
            if context.is_some() && !certfile.is_none() {
                return Err(PyValueError::new_err("context and certfile arguments are mutually exclusive"));
            }
            if !keyfile.is_none() || !certfile.is_none() {
                py.import("warnings")?.call_method1(
                    "warn",
                    (
                        "keyfile and certfile are deprecated, use a custom context instead",
                        py.get_type::<pyo3::exceptions::PyDeprecationWarning>(),
                        2,
                    ),
                )?;
            }
            this.setattr("keyfile", &keyfile)?;
            this.setattr("certfile", &certfile)?;
            if !certfile.is_none() && client_cert.0.is_none() {
                client_cert = (Some(certfile.clone()), (!keyfile.is_none()).then_some(keyfile.clone()));
            }
            if context.is_none() {
                let kwargs = PyDict::new(py);
                kwargs.set_item("certfile", &certfile)?;
                kwargs.set_item("keyfile", &keyfile)?;
                let version = this.getattr("ssl_version")?;
                context = Some(ssl.call_method("_create_stdlib_context", (version,), Some(&kwargs))?);
            }
        }
        let context = match context {
            Some(c) => c,
            None => ssl.call_method0("_create_stdlib_context")?,
        };
        this.setattr("context", context)?;
        this.setattr("_prot_p", false)?;
        let implicit = match a.get("implicit") {
            Some(v) => v.is_truthy()?,
            None => false,
        };
        this.setattr("_implicit", implicit)?;
        let cert_pair = match client_cert {
            (Some(c), k) => PyTuple::new(py, [c, k.unwrap_or_else(|| py.None().into_bound(py))])?.into_any(),
            (None, _) => py.None().into_bound(py),
        };
        this.setattr("_client_cert", cert_pair)?;
        if implicit {
            this.setattr("port", 990)?;
        }
        let kwargs = PyDict::new(py);
        if let Some(enc) = a.get("encoding") {
            kwargs.set_item("encoding", enc)?;
        }
        let none = || py.None().into_bound(py);
        let empty = || PyString::new(py, "").into_any();
        let ftp_init = py.get_type::<Ftp>().getattr("__init__")?;
        let mut positional = vec![
            this.clone(),
            a.get("host").unwrap_or_else(empty),
            a.get("user").unwrap_or_else(empty),
            a.get("passwd").unwrap_or_else(empty),
            a.get("acct").unwrap_or_else(empty),
        ];
        match a.get("timeout") {
            Some(t) => positional.push(t),
            None => positional.push(super::args::default_timeout_sentinel(py)?.clone()),
        }
        positional.push(a.get("source_address").unwrap_or_else(none));
        ftp_init.call(PyTuple::new(py, positional)?, Some(&kwargs))?;
        Ok(())
    }

    /// Connect to host; with implicit FTPS, TLS starts before the greeting.
    #[pyo3(signature = (host=None, port=None, timeout=Arg::Missing, source_address=None),
           text_signature = "($self, host='', port=0, timeout=-999, source_address=None)")]
    fn connect<'py>(
        slf: &Bound<'py, Self>,
        host: Option<Bound<'py, PyAny>>,
        port: Option<Bound<'py, PyAny>>,
        timeout: Arg,
        source_address: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.as_any();
        let sock = open_control(this, host, port, timeout, source_address)?;
        if this.getattr(intern!(py, "_implicit"))?.is_truthy()? {
            if let Err(e) = wrap(this, sock.as_any(), None) {
                this.call_method0(intern!(py, "close"))?;
                return Err(e);
            }
        }
        read_welcome(this)
    }

    #[pyo3(signature = (user=None, passwd=None, acct=None, secure=true),
           text_signature = "($self, user='', passwd='', acct='', secure=True)")]
    fn login<'py>(
        slf: &Bound<'py, Self>,
        user: Option<Bound<'py, PyAny>>,
        passwd: Option<Bound<'py, PyAny>>,
        acct: Option<Bound<'py, PyAny>>,
        secure: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.as_any();
        if secure && !sock_is_tls(&this.getattr(intern!(py, "sock"))?)? {
            this.call_method0(intern!(py, "auth"))?;
        }
        Ftp::login(slf.as_super(), user, passwd, acct)
    }

    /// Set up secure control connection by using TLS/SSL.
    fn auth<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.as_any();
        if sock_is_tls(&this.getattr(intern!(py, "sock"))?)? {
            return Err(PyValueError::new_err("Already using TLS"));
        }
        let ssl = py.import("ssl")?;
        let protocol = if legacy_signature(py)? {
            this.getattr("ssl_version")?
        } else {
            this.getattr(intern!(py, "context"))?.getattr("protocol")?
        };
        let cmd = if protocol.ge(ssl.getattr("PROTOCOL_TLS")?)? { "AUTH TLS" } else { "AUTH SSL" };
        let resp = this.call_method1(intern!(py, "voidcmd"), (cmd,))?;
        let sock = this.getattr(intern!(py, "sock"))?;
        let wrapped = wrap(this, &sock, None)?;
        this.setattr(intern!(py, "sock"), wrapped)?;
        open_file(this)?;
        Ok(resp)
    }

    /// Switch back to a clear-text control connection.
    fn ccc<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.as_any();
        if !sock_is_tls(&this.getattr(intern!(py, "sock"))?)? {
            return Err(PyValueError::new_err("not using TLS"));
        }
        let resp = this.call_method1(intern!(py, "voidcmd"), ("CCC",))?;
        let plain = this.getattr(intern!(py, "sock"))?.call_method0(intern!(py, "unwrap"))?;
        this.setattr(intern!(py, "sock"), plain)?;
        Ok(resp)
    }

    /// Set up secure data connection.
    fn prot_p<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        // PROT defines whether or not the data channel is to be protected.
        // Though RFC-2228 defines four possible protection levels,
        // RFC-4217 only recommends two, Clear and Private.
        // Clear (PROT C) means that no security is to be used on the
        // data-channel, Private (PROT P) means that the data-channel
        // should be protected by TLS.
        // PBSZ command MUST still be issued, but must have a parameter of
        // '0' to indicate that no buffering is taking place and the data
        // connection should not be encapsulated.
        let py = slf.py();
        let this = slf.as_any();
        this.call_method1(intern!(py, "voidcmd"), ("PBSZ 0",))?;
        let resp = this.call_method1(intern!(py, "voidcmd"), ("PROT P",))?;
        this.setattr(intern!(py, "_prot_p"), true)?;
        Ok(resp)
    }

    /// Set up clear text data connection.
    fn prot_c<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.as_any();
        let resp = this.call_method1(intern!(py, "voidcmd"), ("PROT C",))?;
        this.setattr(intern!(py, "_prot_p"), false)?;
        Ok(resp)
    }

    /// Overridden FTP methods: the data connection is wrapped in TLS after the
    /// server's 1xx reply, resuming the control connection's session.
    #[pyo3(signature = (cmd, rest=None))]
    fn ntransfercmd<'py>(
        slf: &Bound<'py, Self>,
        cmd: &Bound<'py, PyAny>,
        rest: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let this = slf.as_any();
        let result = Ftp::ntransfercmd(slf.as_super(), cmd, rest)?;
        if !this.getattr(intern!(py, "_prot_p"))?.is_truthy()? {
            return Ok(result);
        }
        let (conn, size) = (result.get_item(0)?, result.get_item(1)?);
        PyTuple::new(py, [secure_data(this, &conn)?, size])
    }

    /// Internal (rftplib.fsspec): TLS on a data connection opened by
    /// `_open_data`, once the server's 1xx reply came, resuming the control
    /// connection's session as ntransfercmd does; `conn` itself under PROT C.
    fn _secure_data<'py>(slf: &Bound<'py, Self>, conn: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.as_any();
        if !this.getattr(intern!(py, "_prot_p"))?.is_truthy()? {
            return Ok(conn.clone());
        }
        secure_data(this, conn)
    }

    /// Abort a file transfer (no out-of-band data: it cannot go through TLS).
    fn abort<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.as_any();
        this.getattr(intern!(py, "sock"))?.call_method1(intern!(py, "sendall"), (PyBytes::new(py, b"ABOR\r\n"),))?;
        abort_reply(this)
    }
}

/// Class attributes that depend on the running Python.
pub fn finish_class(py: Python<'_>) -> PyResult<()> {
    if legacy_signature(py)? {
        let ty = py.get_type::<FtpTls>();
        ty.setattr("ssl_version", py.import("ssl")?.getattr("PROTOCOL_TLS_CLIENT")?)?;
    }
    Ok(())
}
