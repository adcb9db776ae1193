//! `rftplib.FTP`: ftplib's `FTP` class, method for method.
//!
//! All of ftplib's state lives in ordinary Python attributes (class defaults
//! plus the instance `__dict__`), so subclasses and scripts that read or set
//! them, on the instance or on the class (`FTP.port = 2121`), work as with
//! ftplib. Methods call each other through Python attribute lookup, so a
//! subclass that overrides `makepasv`, `ntransfercmd`, `getline`, ... is
//! honoured exactly where ftplib would call it. The sockets are the engine's
//! [`Socket`]s; when `sock`, `file` or a data connection is one of them, the
//! work happens in Rust with the GIL released, otherwise the Python object's
//! own methods are called as ftplib would.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use crate::proto::reply::{classify, head, ReplyAssembler, ReplyClass};
use crate::proto::{command, reply};

use super::args::{default_timeout_sentinel, is_default_timeout, Arg};
use super::dispatch::hot;
use super::errors::{self, error, error_perm, error_proto, error_reply, error_temp};
use super::functions::{parse150_impl, parse227_impl, parse229_impl, parse257_impl};
use super::socket::{bytes_of, create_connection, with_bytes, ControlFile, ListeningSocket, Socket};
use super::text::{encode, Codec};
use super::transfer::{recv_all_native, retr_lines_loop, RECV_BUFFER};
use super::wait::{block_on_io, Direction};

static AUDIT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static PRINT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn audit<'py, A: pyo3::call::PyCallArgs<'py>>(py: Python<'py>, args: A) -> PyResult<()> {
    let f = AUDIT.get_or_try_init(py, || Ok::<_, PyErr>(py.import("sys")?.getattr("audit")?.unbind()))?;
    f.bind(py).call1(args)?;
    Ok(())
}

pub(crate) fn print<'py, A: pyo3::call::PyCallArgs<'py>>(py: Python<'py>, args: A) -> PyResult<()> {
    let f = PRINT.get_or_try_init(py, || Ok::<_, PyErr>(py.import("builtins")?.getattr("print")?.unbind()))?;
    f.bind(py).call1(args)?;
    Ok(())
}

fn af_inet(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    py.import("socket")?.getattr("AF_INET")
}

fn af_inet6(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    py.import("socket")?.getattr("AF_INET6")
}

/// `prefix + arg`, computed by Python as ftplib computes its command lines,
/// so that any object ftplib accepts is accepted (and anything else fails
/// with the same `TypeError`), and so that text the encoding cannot encode
/// is only found when `putline` encodes the whole line.
fn cmd_line<'py>(py: Python<'py>, prefix: &str, arg: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    PyString::new(py, prefix).add(arg)
}

/// `s[0]` of a reply, `""` when empty.
fn first_char(s: &str) -> &str {
    reply::char_at(s, 0)
}

/// `with obj:` around `body`, for objects that may not be ours.
fn with_closing<'py, T>(obj: &Bound<'py, PyAny>, body: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    let py = obj.py();
    obj.call_method0(intern!(py, "__enter__"))?;
    let result = body();
    let exit = obj.call_method1(intern!(py, "__exit__"), (py.None(), py.None(), py.None()));
    let value = result?;
    exit?;
    Ok(value)
}

/// An FTP client: ftplib's `FTP`, with the Rust engine underneath.
#[pyclass(subclass, dict, weakref, frozen, module = "rftplib", name = "FTP")]
pub struct Ftp {}

#[pymethods]
impl Ftp {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn py_new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, pyo3::types::PyDict>>) -> Self {
        Ftp {}
    }

    #[classattr]
    fn debugging() -> i32 {
        0
    }
    #[classattr]
    fn host() -> &'static str {
        ""
    }
    #[classattr]
    fn port() -> i32 {
        21
    }
    #[classattr]
    fn maxline() -> i32 {
        8192
    }
    #[classattr]
    fn sock(py: Python<'_>) -> Py<PyAny> {
        py.None()
    }
    #[classattr]
    fn file(py: Python<'_>) -> Py<PyAny> {
        py.None()
    }
    #[classattr]
    fn welcome(py: Python<'_>) -> Py<PyAny> {
        py.None()
    }
    #[classattr]
    fn passiveserver() -> bool {
        true
    }
    #[classattr]
    fn trust_server_pasv_ipv4_address() -> bool {
        false
    }

    /// Initialization method (called by class instantiation).
    /// Initialize host to localhost, port to standard ftp port.
    /// Optional arguments are host (for connect()),
    /// and user, passwd, acct (for login()).
    #[pyo3(signature = (host=None, user=None, passwd=None, acct=None, timeout=Arg::Missing, source_address=None, *, encoding=Arg::Missing))]
    #[allow(clippy::too_many_arguments)]
    fn __init__(
        slf: &Bound<'_, Self>,
        host: Option<Bound<'_, PyAny>>,
        user: Option<Bound<'_, PyAny>>,
        passwd: Option<Bound<'_, PyAny>>,
        acct: Option<Bound<'_, PyAny>>,
        timeout: Arg,
        source_address: Option<Bound<'_, PyAny>>,
        encoding: Arg,
    ) -> PyResult<()> {
        let py = slf.py();
        let this = slf.as_any();
        let encoding = match encoding {
            Arg::Missing => PyString::new(py, "utf-8").into_any(),
            Arg::Given(e) => e.into_bound(py),
        };
        this.setattr(intern!(py, "encoding"), encoding)?;
        this.setattr(intern!(py, "source_address"), source_address)?;
        let timeout = match timeout {
            Arg::Missing => default_timeout_sentinel(py)?.clone(),
            Arg::Given(t) => t.into_bound(py),
        };
        this.setattr(intern!(py, "timeout"), timeout)?;
        if let Some(host) = host.filter(|h| h.is_truthy().unwrap_or(false)) {
            this.call_method1(intern!(py, "connect"), (host,))?;
            if let Some(user) = user.filter(|u| u.is_truthy().unwrap_or(false)) {
                let s = |o: Option<Bound<'_, PyAny>>| {
                    o.map(|o| o.unbind()).unwrap_or_else(|| PyString::new(py, "").into_any().unbind())
                };
                this.call_method1(intern!(py, "login"), (user, s(passwd), s(acct)))?;
            }
        }
        Ok(())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Context management protocol: try to quit() if active.
    #[pyo3(signature = (*_args))]
    fn __exit__(slf: &Bound<'_, Self>, _args: &Bound<'_, PyTuple>) -> PyResult<()> {
        let py = slf.py();
        let this = slf.as_any();
        if this.getattr(intern!(py, "sock"))?.is_none() {
            return Ok(());
        }
        let result = match this.call_method0(intern!(py, "quit")) {
            Ok(_) => Ok(()),
            Err(e)
                if e.is_instance_of::<pyo3::exceptions::PyOSError>(py)
                    || e.is_instance_of::<pyo3::exceptions::PyEOFError>(py) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        };
        if !this.getattr(intern!(py, "sock"))?.is_none() {
            this.call_method0(intern!(py, "close"))?;
        }
        result
    }

    /// Connect to host. Arguments are:
    ///  - host: hostname to connect to (string, default previous host)
    ///  - port: port to connect to (integer, default previous port)
    ///  - timeout: the timeout to set against the ftp socket(s)
    ///  - source_address: a 2-tuple (host, port) for the socket to bind
    ///    to as its source address before connecting.
    #[pyo3(signature = (host=None, port=None, timeout=Arg::Missing, source_address=None),
           text_signature = "($self, host='', port=0, timeout=-999, source_address=None)")]
    pub(crate) fn connect<'py>(
        slf: &Bound<'py, Self>,
        host: Option<Bound<'py, PyAny>>,
        port: Option<Bound<'py, PyAny>>,
        timeout: Arg,
        source_address: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        open_control(slf.as_any(), host, port, timeout, source_address)?;
        read_welcome(slf.as_any())
    }

    /// Get the welcome message from the server.
    /// (this is read and squirreled away by connect())
    fn getwelcome<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.as_any();
        let welcome = this.getattr(intern!(py, "welcome"))?;
        if debugging(this)?.is_truthy()? {
            print(py, ("*welcome*", this.call_method1(intern!(py, "sanitize"), (&welcome,))?))?;
        }
        Ok(welcome)
    }

    /// Set the debugging level.
    /// The required argument level means:
    /// 0: no debugging output (default)
    /// 1: print commands and responses but not body text etc.
    /// 2: also print raw lines read and sent before stripping CR/LF
    fn set_debuglevel(slf: &Bound<'_, Self>, level: &Bound<'_, PyAny>) -> PyResult<()> {
        slf.as_any().setattr(intern!(slf.py(), "debugging"), level)
    }

    /// Use passive or active mode for data transfers.
    /// With a false argument, use the normal PORT mode,
    /// With a true argument, use the PASV command.
    fn set_pasv(slf: &Bound<'_, Self>, val: &Bound<'_, PyAny>) -> PyResult<()> {
        slf.as_any().setattr(intern!(slf.py(), "passiveserver"), val)
    }

    /// Internal: "sanitize" a string for printing (masks a password).
    fn sanitize<'py>(&self, s: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyString>> {
        if let Ok(text) = s.cast::<PyString>() {
            match text.to_cow() {
                Ok(t) => return PyString::new(s.py(), &command::mask_password(&t)).repr(),
                // Lone surrogates: not UTF-8, so masked with Python's operations.
                Err(_) => return sanitize_py(text),
            }
        }
        s.repr()
    }

    /// Internal: send one line to the server, appending CRLF.
    pub(crate) fn putline(slf: &Bound<'_, Self>, line: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        let this = slf.as_any();
        let text = line.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!(
                "'in <string>' requires string as left operand, not {}",
                line.get_type().name().map(|n| n.to_string()).unwrap_or_default()
            ))
        })?;
        match text.to_cow() {
            Ok(t) => command::check_line(&t).map_err(PyValueError::new_err)?,
            // Lone surrogates (not UTF-8): ftplib still checks, then fails to encode.
            Err(_) => {
                if text.contains("\r")? || text.contains("\n")? {
                    return Err(PyValueError::new_err(command::ILLEGAL_NEWLINE));
                }
            }
        }
        audit(py, ("ftplib.sendcmd", this, line))?;
        // The whole line is encoded, as in ftplib: an error names the
        // connection's codec and counts from the start of the line.
        let full = text.add("\r\n")?;
        if debugging(this)?.gt(1)? {
            print(py, ("*put*", this.call_method1(intern!(py, "sanitize"), (&full,))?))?;
        }
        let data = encode(&full, &this.getattr(intern!(py, "encoding"))?)?;
        let sock = this.getattr(intern!(py, "sock"))?;
        match sock.cast::<Socket>() {
            Ok(s) => s.get().send_all(py, &data),
            Err(_) => sock.call_method1(intern!(py, "sendall"), (PyBytes::new(py, &data),)).map(drop),
        }
    }

    /// Internal: send one command to the server (through putline()).
    pub(crate) fn putcmd(slf: &Bound<'_, Self>, line: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        let this = slf.as_any();
        if debugging(this)?.is_truthy()? {
            print(py, ("*cmd*", this.call_method1(intern!(py, "sanitize"), (line,))?))?;
        }
        hot::putline(this, line)?;
        Ok(())
    }

    /// Internal: return one line from the server, stripping CRLF.
    /// Raise EOFError if the connection is closed.
    pub(crate) fn getline<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.as_any();
        let maxline = this.getattr(intern!(py, "maxline"))?;
        let file = this.getattr(intern!(py, "file"))?;
        let line: Bound<'py, PyAny> = match (file.cast::<ControlFile>(), maxline.extract::<i64>()) {
            (Ok(f), Ok(m)) => f.get().read_line(py, usize::try_from(m + 1).ok())?.into_any(),
            _ => file.call_method1(intern!(py, "readline"), (maxline.add(1)?,))?,
        };
        if maxline.lt(line.len()?)? {
            return Err(error(py, format!("got more than {} bytes", maxline.str()?)));
        }
        if debugging(this)?.gt(1)? {
            print(py, ("*get*", this.call_method1(intern!(py, "sanitize"), (&line,))?))?;
        }
        if !line.is_truthy()? {
            return Err(errors::eof());
        }
        if let Ok(s) = line.cast::<PyString>() {
            if let Ok(text) = s.to_cow() {
                let stripped = reply::strip_eol(&text);
                if stripped.len() != text.len() {
                    return Ok(PyString::new(py, stripped).into_any());
                }
                return Ok(line);
            }
        }
        strip_eol_py(&line)
    }

    /// Internal: get a response from the server, which may possibly
    /// consist of multiple lines. Return a single string with no
    /// trailing CRLF. If the response consists of multiple lines,
    /// these are separated by '\n' characters in the string.
    pub(crate) fn getmultiline<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.as_any();
        let mut assembler = ReplyAssembler::new();
        loop {
            let line = hot::getline(this)?;
            let text: String = line.extract()?;
            if let Some(resp) = assembler.push(&text) {
                return Ok(PyString::new(py, &resp).into_any());
            }
        }
    }

    /// Internal: get a response from the server.
    /// Raise various errors if the response indicates an error.
    pub(crate) fn getresp<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.as_any();
        let resp = hot::getmultiline(this)?;
        if debugging(this)?.is_truthy()? {
            print(py, ("*resp*", this.call_method1(intern!(py, "sanitize"), (&resp,))?))?;
        }
        let text: String = resp.extract()?;
        this.setattr(intern!(py, "lastresp"), head(&text, 3))?;
        match classify(&text) {
            ReplyClass::Positive(_) => Ok(resp),
            ReplyClass::TransientNegative => Err(error_temp(py, &resp)),
            ReplyClass::PermanentNegative => Err(error_perm(py, &resp)),
            ReplyClass::Invalid => Err(error_proto(py, &resp)),
        }
    }

    /// Expect a response beginning with '2'.
    pub(crate) fn voidresp<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let resp = hot::getresp(slf.as_any())?;
        expect_2xx(&resp)?;
        Ok(resp)
    }

    /// Abort a file transfer. Uses out-of-band data.
    /// This does not follow the procedure from the RFC to send Telnet
    /// IP and Synch; that doesn't seem to work with the servers I've
    /// tried. Instead, just send the ABOR command as OOB data.
    fn abort<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.as_any();
        let line = PyBytes::new(py, b"ABOR\r\n");
        if debugging(this)?.gt(1)? {
            print(py, ("*put urgent*", this.call_method1(intern!(py, "sanitize"), (&line,))?))?;
        }
        this.getattr(intern!(py, "sock"))?.call_method1(intern!(py, "sendall"), (&line, libc::MSG_OOB))?;
        abort_reply(this)
    }

    /// Send a command and return the response.
    pub(crate) fn sendcmd<'py>(slf: &Bound<'py, Self>, cmd: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        hot::putcmd(slf.as_any(), cmd)?;
        hot::getresp(slf.as_any())
    }

    /// Send a command and expect a response beginning with '2'.
    pub(crate) fn voidcmd<'py>(slf: &Bound<'py, Self>, cmd: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        hot::putcmd(slf.as_any(), cmd)?;
        hot::voidresp(slf.as_any())
    }

    /// Send a PORT command with the current host and the given
    /// port number.
    fn sendport<'py>(slf: &Bound<'py, Self>, host: &str, port: i64) -> PyResult<Bound<'py, PyAny>> {
        let cmd = command::port_command(host, port);
        hot::voidcmd(slf.as_any(), cmd)
    }

    /// Send an EPRT command with the current host and the given port number.
    fn sendeprt<'py>(slf: &Bound<'py, Self>, host: &str, port: i64) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let af = slf.as_any().getattr(intern!(py, "af"))?;
        let code = if af.eq(af_inet(py)?)? {
            1
        } else if af.eq(af_inet6(py)?)? {
            2
        } else {
            return Err(error_proto(py, PyString::new(py, "unsupported address family").as_any()));
        };
        let cmd = command::eprt_command(code, host, port);
        hot::voidcmd(slf.as_any(), cmd)
    }

    /// Create a new socket and send a PORT command for it.
    fn makeport<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.as_any();
        let af = this.getattr(intern!(py, "af"))?;
        let ipv4 = af.eq(af_inet(py)?)?;
        let sock = Bound::new(py, ListeningSocket::bind(py, !ipv4)?)?.into_any();
        let port: i64 = sock.call_method0(intern!(py, "getsockname"))?.get_item(1)?.extract()?;
        let host = this.getattr(intern!(py, "sock"))?.call_method0(intern!(py, "getsockname"))?.get_item(0)?;
        if ipv4 {
            this.call_method1(intern!(py, "sendport"), (host, port))?;
        } else {
            this.call_method1(intern!(py, "sendeprt"), (host, port))?;
        }
        let timeout = this.getattr(intern!(py, "timeout"))?;
        if !is_default_timeout(&timeout)? {
            sock.call_method1(intern!(py, "settimeout"), (timeout,))?;
        }
        Ok(sock)
    }

    /// Internal: Does the PASV or EPSV handshake -> (address, port)
    pub(crate) fn makepasv<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let this = slf.as_any();
        let af = this.getattr(intern!(py, "af"))?;
        if af.eq(af_inet(py)?)? {
            let resp = hot::sendcmd(this, "PASV")?;
            let parsed = parse227_impl(&resp)?;
            let (untrusted_host, port) = (parsed.get_item(0)?, parsed.get_item(1)?);
            let host = if this.getattr(intern!(py, "trust_server_pasv_ipv4_address"))?.is_truthy()? {
                untrusted_host
            } else {
                this.getattr(intern!(py, "sock"))?.call_method0(intern!(py, "getpeername"))?.get_item(0)?
            };
            PyTuple::new(py, [host, port])
        } else {
            let resp = hot::sendcmd(this, "EPSV")?;
            let peer = this.getattr(intern!(py, "sock"))?.call_method0(intern!(py, "getpeername"))?;
            parse229_impl(&resp, &peer)
        }
    }

    /// Initiate a transfer over the data connection.
    ///
    /// If the transfer is active, send a port command and the
    /// transfer command, and accept the connection. If the server is
    /// passive, send a pasv command, connect to it, and start the
    /// transfer command. Either way, return the socket for the
    /// connection and the expected size of the transfer. The
    /// expected size may be None if it could not be determined.
    ///
    /// Optional `rest' argument can be a string that is sent as the
    /// argument to a REST command. This is essentially a server
    /// marker used to tell the server to skip over any data up to the
    /// given marker.
    #[pyo3(signature = (cmd, rest=None))]
    pub(crate) fn ntransfercmd<'py>(
        slf: &Bound<'py, Self>,
        cmd: &Bound<'py, PyAny>,
        rest: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let this = slf.as_any();
        let send_transfer = || -> PyResult<String> {
            if let Some(rest) = &rest {
                hot::sendcmd(this, PyString::new(py, "REST %s").rem(rest)?)?;
            }
            let mut resp: String = hot::sendcmd(this, cmd)?.extract()?;
            // Some servers send a 200 reply to LIST or STOR before the 150:
            // discard it.
            if first_char(&resp) == "2" {
                resp = hot::getresp(this)?.extract()?;
            }
            if first_char(&resp) != "1" {
                return Err(error_reply(py, PyString::new(py, &resp).as_any()));
            }
            Ok(resp)
        };
        let timeout = this.getattr(intern!(py, "timeout"))?;
        let (conn, resp) = if this.getattr(intern!(py, "passiveserver"))?.is_truthy()? {
            let addr = hot::makepasv(this)?;
            let (host, port) = (addr.get_item(0)?, addr.get_item(1)?);
            let source = this.getattr(intern!(py, "source_address"))?;
            let conn = Bound::new(py, create_connection(py, &host, &port, &timeout, &source)?)?.into_any();
            match send_transfer() {
                Ok(resp) => (conn, resp),
                Err(e) => {
                    conn.call_method0(intern!(py, "close"))?;
                    return Err(e);
                }
            }
        } else {
            let sock = this.call_method0(intern!(py, "makeport"))?;
            with_closing(&sock, || {
                let resp = send_transfer()?;
                let accepted = sock.call_method0(intern!(py, "accept"))?;
                let conn = accepted.get_item(0)?;
                if !is_default_timeout(&timeout)? {
                    conn.call_method1(intern!(py, "settimeout"), (&timeout,))?;
                }
                Ok((conn, resp))
            })?
        };
        let size = if head(&resp, 3) == "150" {
            parse150_impl(&PyString::new(py, &resp).into_any())?
        } else {
            py.None().into_bound(py)
        };
        PyTuple::new(py, [conn, size])
    }

    /// Internal (rftplib.fsspec): a data connection to `host`:`port` from a
    /// passive reply, opened as ntransfercmd opens one (the instance's
    /// timeout and source address) but before any transfer command, so that
    /// a later RETR finds it ready.
    fn _open_data(slf: &Bound<'_, Self>, host: &Bound<'_, PyAny>, port: &Bound<'_, PyAny>) -> PyResult<Socket> {
        let py = slf.py();
        let this = slf.as_any();
        let timeout = this.getattr(intern!(py, "timeout"))?;
        let source = this.getattr(intern!(py, "source_address"))?;
        create_connection(py, host, port, &timeout, &source)
    }

    /// Like ntransfercmd() but returns only the socket.
    #[pyo3(signature = (cmd, rest=None))]
    pub(crate) fn transfercmd<'py>(
        slf: &Bound<'py, Self>,
        cmd: &Bound<'py, PyAny>,
        rest: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        slf.as_any().call_method1(intern!(py, "ntransfercmd"), (cmd, rest))?.get_item(0)
    }

    /// Login, default anonymous.
    #[pyo3(signature = (user=None, passwd=None, acct=None), text_signature = "($self, user='', passwd='', acct='')")]
    pub(crate) fn login<'py>(
        slf: &Bound<'py, Self>,
        user: Option<Bound<'py, PyAny>>,
        passwd: Option<Bound<'py, PyAny>>,
        acct: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.as_any();
        let or_default = |o: Option<Bound<'py, PyAny>>, default: &str| -> PyResult<Bound<'py, PyAny>> {
            match o {
                Some(v) if v.is_truthy()? => Ok(v),
                _ => Ok(PyString::new(py, default).into_any()),
            }
        };
        let user = or_default(user, "anonymous")?;
        let mut passwd = or_default(passwd, "")?;
        let acct = or_default(acct, "")?;
        if user.eq("anonymous")? && pyo3::types::PySet::new(py, ["", "-"])?.contains(&passwd)? {
            // Stay anonymous: no user, host or country in the password.
            passwd = passwd.add("anonymous@")?;
        }
        let mut resp: String = hot::sendcmd(this, cmd_line(py, "USER ", &user)?)?.extract()?;
        if first_char(&resp) == "3" {
            resp = hot::sendcmd(this, cmd_line(py, "PASS ", &passwd)?)?.extract()?;
        }
        if first_char(&resp) == "3" {
            resp = hot::sendcmd(this, cmd_line(py, "ACCT ", &acct)?)?.extract()?;
        }
        let resp = PyString::new(py, &resp).into_any();
        expect_2xx(&resp)?;
        // Kept for the sibling sessions of whole-file transfers (see jobs).
        // Credentials that are not plain text (lone surrogates) are not kept:
        // sibling sessions then cannot log in, and the jobs say so.
        if let (Ok(u), Ok(p), Ok(a)) = (user.extract::<String>(), passwd.extract::<String>(), acct.extract::<String>())
        {
            super::credentials::remember(this, u, p, a)?;
        }
        Ok(resp)
    }

    /// Retrieve data in binary mode. A new port is created for you.
    ///
    /// Args:
    ///   cmd: A RETR command.
    ///   callback: A single parameter callable to be called on each
    ///             block of data read.
    ///   blocksize: The maximum number of bytes to read from the
    ///              socket at one time. [default: 8192]
    ///   rest: Passed to transfercmd(). [default: None]
    ///
    /// Returns:
    ///   The response code.
    #[pyo3(signature = (cmd, callback, blocksize=None, rest=None), text_signature = "($self, cmd, callback, blocksize=8192, rest=None)")]
    fn retrbinary<'py>(
        slf: &Bound<'py, Self>,
        cmd: &Bound<'py, PyAny>,
        callback: &Bound<'py, PyAny>,
        blocksize: Option<Bound<'py, PyAny>>,
        rest: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.as_any();
        let blocksize = &default_blocksize(py, blocksize)?;
        hot::voidcmd(this, "TYPE I")?;
        let conn = hot::transfercmd(this, cmd, rest)?;
        with_closing(&conn, || {
            match (conn.cast::<Socket>(), blocksize.extract::<isize>()) {
                (Ok(sock), Ok(bs)) => recv_all_native(py, sock.get(), callback, bs)?,
                _ => loop {
                    let data = conn.call_method1(intern!(py, "recv"), (blocksize,))?;
                    if !data.is_truthy()? {
                        break;
                    }
                    callback.call1((data,))?;
                },
            }
            unwrap_if_tls(&conn)
        })?;
        hot::voidresp(this)
    }

    /// Retrieve data in line mode. A new port is created for you.
    ///
    /// Args:
    ///   cmd: A RETR, LIST, or NLST command.
    ///   callback: An optional single parameter callable that is called
    ///             for each line with the trailing CRLF stripped.
    ///             [default: print_line()]
    ///
    /// Returns:
    ///   The response code.
    #[pyo3(signature = (cmd, callback=None))]
    fn retrlines<'py>(
        slf: &Bound<'py, Self>,
        cmd: &Bound<'py, PyAny>,
        callback: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.as_any();
        let callback = match callback.filter(|c| !c.is_none()) {
            Some(c) => c,
            None => py.import("rftplib._helpers")?.getattr("print_line")?,
        };
        hot::sendcmd(this, "TYPE A")?;
        let conn = hot::transfercmd(this, cmd, None)?;
        let encoding = this.getattr(intern!(py, "encoding"))?;
        with_closing(&conn, || {
            let maxline = this.getattr(intern!(py, "maxline"))?;
            match (conn.cast::<Socket>(), maxline.extract::<i64>()) {
                (Ok(sock), Ok(m)) => {
                    let codec = Codec::lookup(&encoding)?;
                    let limit = usize::try_from(m + 1).ok();
                    let sock = sock.get();
                    let read = || -> PyResult<Bound<'py, PyAny>> {
                        let deadline = sock.conn.deadline();
                        let width = codec.width();
                        let c = &sock.conn;
                        let bytes = block_on_io(py, c, Direction::Read, || c.read_line(limit, width, deadline))?;
                        Ok(codec.decode(py, &bytes)?.into_any())
                    };
                    retr_lines_loop(this, &maxline, &callback, read)
                }
                _ => {
                    let kwargs = pyo3::types::PyDict::new(py);
                    kwargs.set_item("encoding", &encoding)?;
                    let fp = conn.call_method(intern!(py, "makefile"), ("r",), Some(&kwargs))?;
                    with_closing(&fp, || {
                        let read = || fp.call_method1(intern!(py, "readline"), (maxline.add(1)?,));
                        retr_lines_loop(this, &maxline, &callback, read)
                    })
                }
            }?;
            unwrap_if_tls(&conn)
        })?;
        hot::voidresp(this)
    }

    /// Store a file in binary mode. A new port is created for you.
    ///
    /// Args:
    ///   cmd: A STOR command.
    ///   fp: A file-like object with a read(num_bytes) method.
    ///   blocksize: The maximum data size to read from fp and send over
    ///              the connection at once. [default: 8192]
    ///   callback: An optional single parameter callable that is called on
    ///             each block of data after it is sent. [default: None]
    ///   rest: Passed to transfercmd(). [default: None]
    ///
    /// Returns:
    ///   The response code.
    #[pyo3(signature = (cmd, fp, blocksize=None, callback=None, rest=None),
           text_signature = "($self, cmd, fp, blocksize=8192, callback=None, rest=None)")]
    fn storbinary<'py>(
        slf: &Bound<'py, Self>,
        cmd: &Bound<'py, PyAny>,
        fp: &Bound<'py, PyAny>,
        blocksize: Option<Bound<'py, PyAny>>,
        callback: Option<Bound<'py, PyAny>>,
        rest: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.as_any();
        let blocksize = &default_blocksize(py, blocksize)?;
        hot::voidcmd(this, "TYPE I")?;
        let conn = hot::transfercmd(this, cmd, rest)?;
        let callback = match callback {
            Some(c) if c.is_truthy()? => Some(c),
            _ => None,
        };
        with_closing(&conn, || {
            let native = conn.cast::<Socket>().ok();
            // Without a callback, consecutive blocks are sent together.
            let mut pending: Vec<u8> = Vec::new();
            let flush = |pending: &mut Vec<u8>| -> PyResult<()> {
                if let Some(sock) = native {
                    sock.get().send_all(py, pending)?;
                }
                pending.clear();
                Ok(())
            };
            loop {
                let buf = match fp.call_method1(intern!(py, "read"), (blocksize,)) {
                    Ok(b) => b,
                    Err(e) => {
                        flush(&mut pending)?;
                        return Err(e);
                    }
                };
                if !buf.is_truthy()? {
                    break;
                }
                match (native, &callback) {
                    (Some(_), None) => {
                        with_bytes(&buf, |b| {
                            pending.extend_from_slice(b);
                            Ok(())
                        })?;
                        if pending.len() >= RECV_BUFFER {
                            flush(&mut pending)?;
                        }
                    }
                    (Some(sock), Some(cb)) => {
                        with_bytes(&buf, |b| sock.get().send_all(py, b))?;
                        cb.call1((&buf,))?;
                    }
                    (None, _) => {
                        conn.call_method1(intern!(py, "sendall"), (&buf,))?;
                        if let Some(cb) = &callback {
                            cb.call1((&buf,))?;
                        }
                    }
                }
            }
            flush(&mut pending)?;
            unwrap_if_tls(&conn)
        })?;
        hot::voidresp(this)
    }

    /// Store a file in line mode. A new port is created for you.
    ///
    /// Args:
    ///   cmd: A STOR command.
    ///   fp: A file-like object with a readline() method.
    ///   callback: An optional single parameter callable that is called on
    ///             each line after it is sent. [default: None]
    ///
    /// Returns:
    ///   The response code.
    #[pyo3(signature = (cmd, fp, callback=None))]
    fn storlines<'py>(
        slf: &Bound<'py, Self>,
        cmd: &Bound<'py, PyAny>,
        fp: &Bound<'py, PyAny>,
        callback: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.as_any();
        hot::voidcmd(this, "TYPE A")?;
        let conn = hot::transfercmd(this, cmd, None)?;
        with_closing(&conn, || {
            let maxline = this.getattr(intern!(py, "maxline"))?;
            loop {
                let buf = fp.call_method1(intern!(py, "readline"), (maxline.add(1)?,))?;
                if maxline.lt(buf.len()?)? {
                    return Err(error(py, format!("got more than {} bytes", maxline.str()?)));
                }
                if !buf.is_truthy()? {
                    return unwrap_if_tls(&conn);
                }
                let mut line = bytes_of(&buf)?;
                if !line.ends_with(b"\r\n") {
                    if matches!(line.last(), Some(b'\r' | b'\n')) {
                        line.pop();
                    }
                    line.extend_from_slice(b"\r\n");
                }
                let line = PyBytes::new(py, &line);
                match conn.cast::<Socket>() {
                    Ok(sock) => sock.get().send_all(py, line.as_bytes())?,
                    Err(_) => drop(conn.call_method1(intern!(py, "sendall"), (&line,))?),
                }
                if let Some(cb) = &callback {
                    if cb.is_truthy()? {
                        cb.call1((&line,))?;
                    }
                }
            }
        })?;
        hot::voidresp(this)
    }

    /// Send new account name.
    fn acct<'py>(slf: &Bound<'py, Self>, password: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        hot::voidcmd(slf.as_any(), cmd_line(slf.py(), "ACCT ", password)?)
    }

    /// Return a list of files in a given directory (default the current).
    #[pyo3(signature = (*args))]
    fn nlst<'py>(slf: &Bound<'py, Self>, args: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyList>> {
        let py = slf.py();
        let mut cmd = PyString::new(py, "NLST").into_any();
        for arg in args.iter() {
            cmd = cmd.add(cmd_line(py, " ", &arg)?)?;
        }
        let files = PyList::empty(py);
        slf.as_any().call_method1(intern!(py, "retrlines"), (cmd, files.getattr("append")?))?;
        Ok(files)
    }

    /// List a directory in long form.
    /// By default list current directory to stdout.
    /// Optional last argument is callback function; all
    /// non-empty arguments before it are concatenated to the
    /// LIST command. (This *should* only be used for a pathname.)
    #[pyo3(signature = (*args))]
    fn dir(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        let py = slf.py();
        let mut cmd = PyString::new(py, "LIST").into_any();
        let mut items: Vec<Bound<'_, PyAny>> = args.iter().collect();
        let mut func = py.None().into_bound(py);
        if let Some(last) = items.last() {
            if !last.is_instance_of::<PyString>() {
                func = items.pop().expect("checked non-empty");
            }
        }
        for arg in items {
            if arg.is_truthy()? {
                cmd = cmd.add(cmd_line(py, " ", &arg)?)?;
            }
        }
        slf.as_any().call_method1(intern!(py, "retrlines"), (cmd, func))?;
        Ok(())
    }

    /// List a directory in a standardized format by using MLSD
    /// command (RFC-3659). If path is omitted the current directory
    /// is assumed. "facts" is a list of strings representing the type
    /// of information desired (e.g. ["type", "size", "perm"]).
    ///
    /// Return a generator object yielding a tuple of two elements
    /// for every file found in path.
    /// First element is the file name, the second one is a dictionary
    /// including a variable number of "facts" depending on the server
    /// and whether "facts" argument has been provided.
    #[pyo3(signature = (path=None, facts=None), text_signature = "($self, path='', facts=[])")]
    fn mlsd<'py>(
        slf: &Bound<'py, Self>,
        path: Option<Bound<'py, PyAny>>,
        facts: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let path = path.unwrap_or_else(|| PyString::new(py, "").into_any());
        let facts = facts.unwrap_or_else(|| PyList::empty(py).into_any());
        py.import("rftplib._listing")?.call_method1("mlsd", (slf, path, facts))
    }

    /// Rename a file.
    fn rename<'py>(
        slf: &Bound<'py, Self>,
        fromname: &Bound<'py, PyAny>,
        toname: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.as_any();
        let resp = hot::sendcmd(this, cmd_line(py, "RNFR ", fromname)?)?;
        if first_char(&resp.extract::<String>()?) != "3" {
            return Err(error_reply(py, &resp));
        }
        hot::voidcmd(this, cmd_line(py, "RNTO ", toname)?)
    }

    /// Delete a file.
    fn delete<'py>(slf: &Bound<'py, Self>, filename: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let resp = hot::sendcmd(slf.as_any(), cmd_line(py, "DELE ", filename)?)?;
        if matches!(head(&resp.extract::<String>()?, 3), "250" | "200") {
            Ok(resp)
        } else {
            Err(error_reply(py, &resp))
        }
    }

    /// Change to a directory.
    fn cwd<'py>(slf: &Bound<'py, Self>, dirname: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.as_any();
        let mut dirname = dirname.clone();
        if dirname.eq("..")? {
            match hot::voidcmd(this, "CDUP") {
                Ok(resp) => return Ok(resp),
                Err(e) => {
                    let perm = py.import("ftplib")?.getattr("error_perm")?;
                    if !e.matches(py, perm)? {
                        return Err(e);
                    }
                    let text: String = e.value(py).getattr("args")?.get_item(0)?.str()?.extract()?;
                    if head(&text, 3) != "500" {
                        return Err(e);
                    }
                }
            }
        } else if dirname.eq("")? {
            // Does nothing, but could return an error.
            dirname = PyString::new(py, ".").into_any();
        }
        hot::voidcmd(this, cmd_line(py, "CWD ", &dirname)?)
    }

    /// Retrieve the size of a file.
    fn size<'py>(slf: &Bound<'py, Self>, filename: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let resp: String = hot::sendcmd(slf.as_any(), cmd_line(py, "SIZE ", filename)?)?.extract()?;
        if head(&resp, 3) == "213" {
            let digits: String = resp.chars().skip(3).collect();
            let s = PyString::new(py, &digits).call_method0("strip")?;
            return py.get_type::<pyo3::types::PyInt>().call1((s,));
        }
        Ok(py.None().into_bound(py))
    }

    /// Make a directory, return its full pathname.
    fn mkd<'py>(slf: &Bound<'py, Self>, dirname: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let resp = hot::voidcmd(slf.as_any(), cmd_line(slf.py(), "MKD ", dirname)?)?;
        dirname_of(&resp)
    }

    /// Remove a directory.
    fn rmd<'py>(slf: &Bound<'py, Self>, dirname: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        hot::voidcmd(slf.as_any(), cmd_line(slf.py(), "RMD ", dirname)?)
    }

    /// Return current working directory.
    fn pwd<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let resp = hot::voidcmd(slf.as_any(), "PWD")?;
        dirname_of(&resp)
    }

    /// Quit, and close the connection.
    fn quit<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let resp = hot::voidcmd(slf.as_any(), "QUIT")?;
        slf.as_any().call_method0(intern!(py, "close"))?;
        Ok(resp)
    }

    /// Close the connection without assuming anything about it.
    fn close(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let this = slf.as_any();
        let file = this.getattr(intern!(py, "file"))?;
        this.setattr(intern!(py, "file"), py.None())?;
        let file_result = if file.is_none() { Ok(()) } else { file.call_method0(intern!(py, "close")).map(drop) };
        let sock = this.getattr(intern!(py, "sock"))?;
        this.setattr(intern!(py, "sock"), py.None())?;
        if !sock.is_none() {
            sock.call_method0(intern!(py, "close"))?;
        }
        file_result
    }
}

/// The first half of `connect`: settings, audit event, socket and `af`.
pub(crate) fn open_control<'py>(
    this: &Bound<'py, PyAny>,
    host: Option<Bound<'py, PyAny>>,
    port: Option<Bound<'py, PyAny>>,
    timeout: Arg,
    source_address: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, Socket>> {
    let py = this.py();
    if let Some(host) = host {
        if host.ne("")? {
            this.setattr(intern!(py, "host"), host)?;
        }
    }
    if let Some(port) = port {
        if port.gt(0)? {
            this.setattr(intern!(py, "port"), port)?;
        }
    }
    if let Arg::Given(t) = timeout {
        let t = t.into_bound(py);
        if t.ne(-999)? {
            this.setattr(intern!(py, "timeout"), t)?;
        }
    }
    let timeout = this.getattr(intern!(py, "timeout"))?;
    if !timeout.is_none() && !timeout.is_truthy()? {
        return Err(PyValueError::new_err("Non-blocking socket (timeout=0) is not supported"));
    }
    if let Some(src) = source_address.filter(|s| !s.is_none()) {
        this.setattr(intern!(py, "source_address"), src)?;
    }
    let host = this.getattr(intern!(py, "host"))?;
    let port = this.getattr(intern!(py, "port"))?;
    audit(py, ("ftplib.connect", this, &host, &port))?;
    let source = this.getattr(intern!(py, "source_address"))?;
    let sock = Bound::new(py, create_connection(py, &host, &port, &timeout, &source)?)?;
    this.setattr(intern!(py, "sock"), &sock)?;
    this.setattr(intern!(py, "af"), sock.getattr(intern!(py, "family"))?)?;
    Ok(sock)
}

/// `self.file = self.sock.makefile('r', encoding=self.encoding)`.
pub(crate) fn open_file(this: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = this.py();
    let sock = this.getattr(intern!(py, "sock"))?;
    let encoding = this.getattr(intern!(py, "encoding"))?;
    let file = match sock.cast::<Socket>() {
        Ok(s) => Bound::new(py, ControlFile::new(s.get(), Codec::lookup(&encoding)?))?.into_any(),
        Err(_) => {
            let kwargs = pyo3::types::PyDict::new(py);
            kwargs.set_item("mode", "r")?;
            kwargs.set_item("encoding", &encoding)?;
            sock.call_method("makefile", (), Some(&kwargs))?
        }
    };
    this.setattr(intern!(py, "file"), file)
}

/// The second half of `connect`: the file, and the greeting.
pub(crate) fn read_welcome<'py>(this: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = this.py();
    open_file(this)?;
    let welcome = hot::getresp(this)?;
    this.setattr(intern!(py, "welcome"), &welcome)?;
    Ok(welcome)
}

/// After a transfer: shut TLS down on the data connection (close_notify), as
/// ftplib does for an `ssl.SSLSocket`; `unwrap` is looked up on the object.
pub(crate) fn unwrap_if_tls(conn: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = conn.py();
    let is_tls = match conn.cast::<Socket>() {
        Ok(s) => s.get().was_tls(),
        Err(_) => conn.is_instance(&py.import("ssl")?.getattr("SSLSocket")?)?,
    };
    if is_tls {
        conn.call_method0(intern!(py, "unwrap"))?;
    }
    Ok(())
}

fn default_blocksize<'py>(py: Python<'py>, blocksize: Option<Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
    match blocksize {
        Some(b) => Ok(b),
        None => Ok(8192i64.into_pyobject(py)?.into_any()),
    }
}

pub(crate) fn debugging<'py>(this: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    this.getattr(intern!(this.py(), "debugging"))
}

/// The reply to ABOR, which must be 426, 225 or 226.
pub(crate) fn abort_reply<'py>(this: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let resp = hot::getmultiline(this)?;
    let text: String = resp.extract()?;
    if !matches!(head(&text, 3), "426" | "225" | "226") {
        return Err(error_proto(this.py(), &resp));
    }
    Ok(resp)
}

fn expect_2xx(resp: &Bound<'_, PyAny>) -> PyResult<()> {
    let text: String = resp.extract()?;
    if first_char(&text) != "2" {
        return Err(error_reply(resp.py(), resp));
    }
    Ok(())
}

/// `mkd`/`pwd`: the name from a 257 reply, `''` for servers that answer with
/// another 2xx (IIS).
fn dirname_of<'py>(resp: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let text: String = resp.extract()?;
    if !text.starts_with("257") {
        return Ok(PyString::new(resp.py(), "").into_any());
    }
    parse257_impl(resp)
}

/// ftplib's `sanitize` in Python's own operations, for text that is not
/// UTF-8 (lone surrogates).
fn sanitize_py<'py>(s: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyString>> {
    let py = s.py();
    let mut s = s.clone().into_any();
    let prefix = s.get_item(pyo3::types::PySlice::new(py, 0, 5, 1))?;
    if prefix.eq("pass ")? || prefix.eq("PASS ")? {
        let i = s.call_method1("rstrip", ("\r\n",))?.len()? as isize;
        let stars = PyString::new(py, &"*".repeat((i - 5).max(0) as usize));
        let tail = s.get_item(pyo3::types::PySlice::new(py, i, isize::MAX, 1))?;
        s = prefix.add(stars)?.add(tail)?;
    }
    s.repr()
}

/// ftplib's `getline` stripping, in Python's own operations: a trailing
/// CRLF, or else one trailing CR or LF.
fn strip_eol_py<'py>(line: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = line.py();
    let slice = |a: isize, b: isize| line.get_item(pyo3::types::PySlice::new(py, a, b, 1));
    if slice(-2, isize::MAX)?.eq("\r\n")? {
        return slice(0, -2);
    }
    if PyString::new(py, "\r\n").contains(slice(-1, isize::MAX)?)? {
        return slice(0, -1);
    }
    Ok(line.clone())
}

/// Makes `FTP.debug` the same object as `FTP.set_debuglevel`, as in ftplib.
pub fn finish_class(py: Python<'_>) -> PyResult<()> {
    let ty = py.get_type::<Ftp>();
    ty.setattr("debug", ty.getattr("set_debuglevel")?)?;
    Ok(())
}
