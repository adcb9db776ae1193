//! The socket-like objects rftplib hands out: `FTP.sock` and the data
//! connections from `transfercmd` ([`Socket`]), `FTP.file` ([`ControlFile`]),
//! and the listening socket from `makeport` ([`ListeningSocket`]).

use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::sync::Arc;

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString, PyTuple};

use crate::client::conn::Conn;
use crate::client::connect::Connecting;
use crate::client::listener::Listener;
use crate::client::tls::TlsSession;
use crate::client::wait::Deadline;
use crate::client::Error as EngineError;

use super::args::{family_of, resolve_timeout, sockaddr_to_py, timeout_to_py, timeout_value};
use super::errors::{os_error, to_pyerr};
use super::text::Codec;
use super::wait::{block_on, block_on_io, Direction};

/// A connected TCP socket owned by the Rust engine: the control connection
/// (`FTP.sock`) or a data connection (`transfercmd`). It answers the parts of
/// the `socket.socket` API that FTP code uses, and releases the GIL whenever
/// it waits.
#[pyclass(module = "rftplib._rftplib", dict, weakref, frozen)]
pub struct Socket {
    pub(crate) conn: Arc<Conn>,
    io_refs: AtomicIsize,
    closed: AtomicBool,
    /// TLS was started on this socket at some point. Like a Python
    /// `SSLSocket`, it stays one after `unwrap()`.
    was_tls: AtomicBool,
}

impl Socket {
    pub fn new(conn: Conn) -> Self {
        Socket {
            conn: Arc::new(conn),
            io_refs: AtomicIsize::new(0),
            closed: AtomicBool::new(false),
            was_tls: AtomicBool::new(false),
        }
    }

    pub fn was_tls(&self) -> bool {
        self.was_tls.load(Ordering::SeqCst)
    }

    /// Starts TLS and completes the handshake, with the GIL released.
    pub fn start_tls(&self, py: Python<'_>, session: Arc<TlsSession>, resume: bool) -> PyResult<()> {
        self.conn.start_tls(session, resume).map_err(|e| to_pyerr(py, e))?;
        let deadline = self.conn.deadline();
        let conn = &self.conn;
        match block_on_io(py, conn, Direction::Handshake, || conn.handshake(deadline)) {
            Ok(()) => {
                self.was_tls.store(true, Ordering::SeqCst);
                Ok(())
            }
            Err(e) => {
                // As with ssl.wrap_socket, a failed handshake leaves no usable socket.
                self.conn.close();
                Err(e)
            }
        }
    }

    /// Sends all of `data` with the GIL released.
    pub fn send_all(&self, py: Python<'_>, data: &[u8]) -> PyResult<()> {
        let mut sent = 0;
        let deadline = self.conn.deadline();
        while sent < data.len() {
            let conn = &self.conn;
            let rest = &data[sent..];
            sent += block_on_io(py, conn, Direction::Write, || conn.send(rest, deadline))?;
        }
        Ok(())
    }

    /// Receives up to `buf.len()` bytes with the GIL released.
    pub fn recv_some(&self, py: Python<'_>, buf: &mut [u8]) -> PyResult<usize> {
        let deadline = self.conn.deadline();
        let conn = &self.conn;
        block_on_io(py, conn, Direction::Read, || conn.recv(buf, deadline))
    }

    fn real_close(&self) {
        self.conn.close();
    }
}

/// Calls `f` with the contents of a bytes-like object: `bytes` in place (it
/// is immutable and `data` keeps it alive, so it may be read with the GIL
/// released), anything else through a copy.
pub fn with_bytes<R>(data: &Bound<'_, PyAny>, f: impl FnOnce(&[u8]) -> PyResult<R>) -> PyResult<R> {
    match data.cast::<PyBytes>() {
        Ok(b) => f(b.as_bytes()),
        Err(_) => f(&bytes_of(data)?),
    }
}

/// The bytes of a bytes-like object (bytes, bytearray, or anything `bytes()` takes).
pub fn bytes_of(data: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = data.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(b) = data.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    if data.is_instance_of::<PyString>() {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "a bytes-like object is required, not '{}'",
            data.get_type().name()?
        )));
    }
    let b = data.py().get_type::<PyBytes>().call1((data,))?;
    Ok(b.cast::<PyBytes>()?.as_bytes().to_vec())
}

#[pymethods]
impl Socket {
    #[pyo3(signature = (bufsize, flags=0))]
    fn recv<'py>(&self, py: Python<'py>, bufsize: isize, flags: i32) -> PyResult<Bound<'py, PyBytes>> {
        let _ = flags;
        if bufsize < 0 {
            return Err(PyValueError::new_err("negative buffersize in recv"));
        }
        let mut buf = vec![0u8; bufsize as usize];
        let n = self.recv_some(py, &mut buf)?;
        Ok(PyBytes::new(py, &buf[..n]))
    }

    #[pyo3(signature = (buffer, nbytes=0, flags=0))]
    fn recv_into(&self, py: Python<'_>, buffer: &Bound<'_, PyAny>, nbytes: isize, flags: i32) -> PyResult<usize> {
        let _ = flags;
        if nbytes < 0 {
            return Err(PyValueError::new_err("negative buffersize in recv_into"));
        }
        let len = buffer.len()?;
        let want = if nbytes == 0 { len } else { nbytes as usize };
        if want > len {
            return Err(PyValueError::new_err("buffer too small for requested bytes"));
        }
        let mut buf = vec![0u8; want];
        let n = self.recv_some(py, &mut buf)?;
        if n > 0 {
            let view = py.import("builtins")?.getattr("memoryview")?.call1((buffer,))?;
            let slice = pyo3::types::PySlice::new(py, 0, n as isize, 1);
            view.set_item(slice, PyBytes::new(py, &buf[..n]))?;
        }
        Ok(n)
    }

    #[pyo3(signature = (data, flags=0))]
    fn send(&self, py: Python<'_>, data: &Bound<'_, PyAny>, flags: i32) -> PyResult<usize> {
        with_bytes(data, |bytes| {
            if flags & libc::MSG_OOB != 0 {
                return self.conn.send_oob(bytes).map_err(|e| to_pyerr(py, e));
            }
            let deadline = self.conn.deadline();
            let conn = &self.conn;
            block_on_io(py, conn, Direction::Write, || conn.send(bytes, deadline))
        })
    }

    #[pyo3(signature = (data, flags=0))]
    fn sendall(&self, py: Python<'_>, data: &Bound<'_, PyAny>, flags: i32) -> PyResult<()> {
        with_bytes(data, |bytes| {
            if flags & libc::MSG_OOB != 0 {
                let mut sent = 0;
                while sent < bytes.len() {
                    sent += self.conn.send_oob(&bytes[sent..]).map_err(|e| to_pyerr(py, e))?;
                }
                return Ok(());
            }
            self.send_all(py, bytes)
        })
    }

    /// Like `socket.makefile`: a buffered binary or text file over the socket.
    #[pyo3(signature = (mode="r", buffering=None, *, encoding=None, errors=None, newline=None))]
    fn makefile<'py>(
        slf: &Bound<'py, Self>,
        mode: &str,
        buffering: Option<Bound<'py, PyAny>>,
        encoding: Option<Bound<'py, PyAny>>,
        errors: Option<Bound<'py, PyAny>>,
        newline: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let kwargs = pyo3::types::PyDict::new(py);
        kwargs.set_item("encoding", encoding)?;
        kwargs.set_item("errors", errors)?;
        kwargs.set_item("newline", newline)?;
        py.import("rftplib._sockfile")?.getattr("makefile")?.call((slf, mode, buffering), Some(&kwargs))
    }

    #[getter(_io_refs)]
    fn get_io_refs(&self) -> isize {
        self.io_refs.load(Ordering::SeqCst)
    }

    #[setter(_io_refs)]
    fn set_io_refs(&self, v: isize) {
        self.io_refs.store(v, Ordering::SeqCst);
    }

    fn _decref_socketios(&self) {
        let left = self.io_refs.fetch_sub(1, Ordering::SeqCst) - 1;
        if left <= 0 && self.closed.load(Ordering::SeqCst) {
            self.real_close();
        }
    }

    /// Closes the socket once no file made by `makefile()` is open any more.
    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        if self.io_refs.load(Ordering::SeqCst) <= 0 {
            self.real_close();
        }
    }

    fn shutdown(&self, py: Python<'_>, how: i32) -> PyResult<()> {
        let how = match how {
            libc::SHUT_RD => Shutdown::Read,
            libc::SHUT_WR => Shutdown::Write,
            libc::SHUT_RDWR => Shutdown::Both,
            _ => return Err(os_error(libc::EINVAL)),
        };
        self.conn.shutdown(how).map_err(|e| to_pyerr(py, e))
    }

    fn fileno(&self) -> i32 {
        self.conn.fileno()
    }

    /// Closes the socket object without closing its descriptor, which is
    /// returned (as `socket.detach()` does).
    fn detach(&self, py: Python<'_>) -> PyResult<i32> {
        self.closed.store(true, Ordering::SeqCst);
        self.conn.detach().map_err(|e| to_pyerr(py, e))
    }

    /// `getsockopt(level, optname)` for integer options.
    #[pyo3(signature = (level, optname, buflen=None))]
    fn getsockopt(&self, level: i32, optname: i32, buflen: Option<usize>) -> PyResult<i32> {
        if buflen.is_some() {
            return Err(pyo3::exceptions::PyNotImplementedError::new_err("getsockopt with buflen"));
        }
        let mut value: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: value and len point to valid memory of the sizes given.
        let rc = unsafe {
            libc::getsockopt(self.conn.fileno(), level, optname, (&mut value as *mut libc::c_int).cast(), &mut len)
        };
        if rc != 0 {
            return Err(os_error(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EBADF)));
        }
        Ok(value)
    }

    fn getsockname<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        self.check_open()?;
        sockaddr_to_py(py, &self.conn.local_addr())
    }

    fn getpeername<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        self.check_open()?;
        sockaddr_to_py(py, &self.conn.peer_addr())
    }

    fn gettimeout(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        timeout_to_py(py, self.conn.timeout())
    }

    fn settimeout(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.conn.set_timeout(timeout_value(value)?);
        Ok(())
    }

    fn setblocking(&self, flag: bool) {
        self.conn.set_timeout(if flag { None } else { Some(std::time::Duration::ZERO) });
    }

    #[getter]
    fn family<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        family_of(py, &self.conn.local_addr())
    }

    #[getter(r#type)]
    fn sock_type<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py.import("socket")?.getattr("SOCK_STREAM")
    }

    #[getter]
    fn proto(&self) -> i32 {
        libc::IPPROTO_TCP
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) {
        self.close();
    }

    /// Shuts TLS down (close_notify both ways) and returns the socket, now
    /// plain, as `ssl.SSLSocket.unwrap()` does.
    fn unwrap(slf: &Bound<'_, Self>) -> PyResult<Py<Self>> {
        let py = slf.py();
        let this = slf.get();
        if !this.conn.is_tls() {
            return Err(PyValueError::new_err(format!("No SSL wrapper around {}", this.__repr__())));
        }
        let deadline = this.conn.deadline();
        let conn = &this.conn;
        // Waiting for the peer's close_notify: a read, as for Python's unwrap().
        block_on_io(py, conn, Direction::Read, || conn.tls_shutdown(deadline))?;
        Ok(slf.clone().unbind())
    }

    /// The TLS protocol version in use ("TLSv1.3"), or None.
    fn version(&self) -> Option<&'static str> {
        self.conn.tls_info().map(|i| i.version)
    }

    /// `(name, protocol, secret_bits)` of the cipher in use, or None.
    fn cipher(&self) -> Option<(String, String, i32)> {
        self.conn.tls_info().and_then(|i| i.cipher)
    }

    /// Whether this connection's TLS handshake resumed an earlier session
    /// (for a data connection: the control connection's).
    #[getter]
    fn session_reused(&self) -> Option<bool> {
        self.conn.tls_info().map(|i| i.session_reused)
    }

    /// `ssl.SSLSocket` once TLS was started, so that `isinstance(sock,
    /// ssl.SSLSocket)` checks written for ftplib keep working.
    #[getter(__class__)]
    fn class<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        if slf.get().was_tls() {
            slf.py().import("ssl")?.getattr("SSLSocket")
        } else {
            Ok(slf.get_type().into_any())
        }
    }

    fn __repr__(&self) -> String {
        if self.conn.is_closed() {
            "<rftplib.Socket [closed]>".to_owned()
        } else {
            format!(
                "<rftplib.Socket fd={}, laddr={}, raddr={}>",
                self.conn.fileno(),
                self.conn.local_addr(),
                self.conn.peer_addr()
            )
        }
    }
}

impl Socket {
    fn check_open(&self) -> PyResult<()> {
        if self.conn.is_closed() {
            Err(os_error(libc::EBADF))
        } else {
            Ok(())
        }
    }
}

/// Converts a Python socket address tuple into a Rust one.
pub fn sockaddr_from_py(addr: &Bound<'_, PyAny>) -> PyResult<SocketAddr> {
    let host: String = addr.get_item(0)?.extract()?;
    let port: u16 = addr.get_item(1)?.extract()?;
    let host_only = host.split('%').next().unwrap_or(&host);
    let ip: std::net::IpAddr =
        host_only.parse().map_err(|_| PyValueError::new_err(format!("not a numeric address: {host}")))?;
    let mut sa = SocketAddr::new(ip, port);
    if let (SocketAddr::V6(v6), Ok(scope)) = (&mut sa, addr.get_item(3).and_then(|s| s.extract::<u32>())) {
        v6.set_scope_id(scope);
    }
    Ok(sa)
}

/// `socket.create_connection((host, port), timeout, source_address)`: every
/// address `getaddrinfo` gives is tried in turn and the last error raised.
pub fn create_connection(
    py: Python<'_>,
    host: &Bound<'_, PyAny>,
    port: &Bound<'_, PyAny>,
    timeout: &Bound<'_, PyAny>,
    source_address: &Bound<'_, PyAny>,
) -> PyResult<Socket> {
    let sock_timeout = resolve_timeout(timeout)?;
    let socket_mod = py.import("socket")?;
    let stream_type = socket_mod.getattr("SOCK_STREAM")?;
    // A numeric address (every PASV/EPSV data connection) needs no resolver.
    let numeric = match (host.extract::<String>(), port.extract::<u16>()) {
        (Ok(h), Ok(p)) if !h.contains('%') => h.parse::<std::net::IpAddr>().ok().map(|ip| SocketAddr::new(ip, p)),
        _ => None,
    };
    let candidates: Vec<(Bound<'_, PyAny>, SocketAddr)> = match numeric {
        Some(addr) => vec![(family_of(py, &addr)?, addr)],
        None => {
            // CPython's getaddrinfo releases the GIL while it resolves.
            let infos = socket_mod.call_method1("getaddrinfo", (host, port, 0, &stream_type))?;
            let mut v = Vec::new();
            for info in infos.try_iter()? {
                let info = info?;
                v.push((info.get_item(0)?, sockaddr_from_py(&info.get_item(4)?)?));
            }
            v
        }
    };
    let mut last_err: Option<PyErr> = None;
    for (family, addr) in candidates {
        let source = if source_address.is_none() {
            None
        } else {
            let src = socket_mod.call_method1(
                "getaddrinfo",
                (source_address.get_item(0)?, source_address.get_item(1)?, &family, &stream_type),
            )?;
            Some(sockaddr_from_py(&src.get_item(0)?.get_item(4)?)?)
        };
        let attempt = (|| -> PyResult<Socket> {
            let mut connecting = Connecting::start(addr, source).map_err(|e| to_pyerr(py, e))?;
            let deadline = Deadline::after(sock_timeout);
            block_on(py, || connecting.poll(deadline))?;
            let stream = connecting.into_stream().map_err(|e| to_pyerr(py, e))?;
            let conn = Conn::new(stream, sock_timeout).map_err(|e| to_pyerr(py, e))?;
            Ok(Socket::new(conn))
        })();
        match attempt {
            Ok(s) => return Ok(s),
            Err(e) => {
                if e.is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py) {
                    return Err(e);
                }
                last_err = Some(e)
            }
        }
    }
    Err(last_err.unwrap_or_else(|| pyo3::exceptions::PyOSError::new_err("getaddrinfo returns an empty list")))
}

/// `FTP.file`: the control connection read as text, line by line, with
/// universal newlines, like `sock.makefile('r', encoding=...)`.
#[pyclass(module = "rftplib._rftplib", frozen)]
pub struct ControlFile {
    conn: Arc<Conn>,
    codec: Codec,
    closed: AtomicBool,
    /// A read timed out. Like `socket.SocketIO`, the file then refuses every
    /// further read: the reply that arrives late belongs to the command that
    /// timed out, and must not be taken for the next command's.
    timed_out: AtomicBool,
}

impl ControlFile {
    pub fn new(sock: &Socket, codec: Codec) -> Self {
        ControlFile {
            conn: sock.conn.clone(),
            codec,
            closed: AtomicBool::new(false),
            timed_out: AtomicBool::new(false),
        }
    }

    /// One line of at most `limit` characters, newline included.
    pub fn read_line<'py>(&self, py: Python<'py>, limit: Option<usize>) -> PyResult<Bound<'py, PyString>> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(PyValueError::new_err("I/O operation on closed file."));
        }
        if self.timed_out.load(Ordering::SeqCst) {
            return Err(PyOSError::new_err("cannot read from timed out object"));
        }
        let deadline = self.conn.deadline();
        let width = self.codec.width();
        let conn = &self.conn;
        let timed_out = &self.timed_out;
        let result = block_on_io(py, conn, Direction::Read, || {
            let r = conn.read_line(limit, width, deadline);
            if matches!(r, Err(EngineError::Timeout)) {
                timed_out.store(true, Ordering::SeqCst);
            }
            r
        });
        match result {
            Ok(bytes) => self.codec.decode(py, &bytes),
            Err(e) => {
                // The part of a line received before the failure is lost, as
                // in Python's text file, whose failed readline consumed it.
                self.conn.discard_buffered();
                Err(e)
            }
        }
    }
}

#[pymethods]
impl ControlFile {
    #[pyo3(signature = (size=-1))]
    fn readline<'py>(&self, py: Python<'py>, size: isize) -> PyResult<Bound<'py, PyString>> {
        self.read_line(py, usize::try_from(size).ok())
    }

    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

/// The listening socket of an active-mode transfer (`FTP.makeport()`).
#[pyclass(module = "rftplib._rftplib", dict, weakref, frozen)]
pub struct ListeningSocket {
    listener: Arc<Listener>,
}

impl ListeningSocket {
    pub fn bind(py: Python<'_>, ipv6: bool) -> PyResult<Self> {
        let default = py.import("socket")?.call_method0("getdefaulttimeout")?;
        let listener = Listener::bind_any(ipv6, timeout_value(&default)?).map_err(|e| to_pyerr(py, e))?;
        Ok(ListeningSocket { listener: Arc::new(listener) })
    }
}

#[pymethods]
impl ListeningSocket {
    /// Waits for the server's data connection; returns `(socket, address)`.
    fn accept<'py>(&self, py: Python<'py>) -> PyResult<(Socket, Bound<'py, PyTuple>)> {
        let deadline = Deadline::after(self.listener.timeout());
        let listener = &self.listener;
        let (stream, addr) = block_on(py, || listener.accept(deadline))?;
        let default = py.import("socket")?.call_method0("getdefaulttimeout")?;
        let conn = Conn::new(stream, timeout_value(&default)?).map_err(|e| to_pyerr(py, e))?;
        Ok((Socket::new(conn), sockaddr_to_py(py, &addr)?))
    }

    fn getsockname<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        sockaddr_to_py(py, &self.listener.local_addr())
    }

    fn gettimeout(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        timeout_to_py(py, self.listener.timeout())
    }

    fn settimeout(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.listener.set_timeout(timeout_value(value)?);
        Ok(())
    }

    fn fileno(&self) -> i32 {
        self.listener.fileno()
    }

    #[getter]
    fn family<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        family_of(py, &self.listener.local_addr())
    }

    fn close(&self) {
        self.listener.close();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) {
        self.close();
    }
}
