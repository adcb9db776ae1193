//! A connected socket (control or data connection) with Python socket
//! semantics: a timeout that bounds each call, close from any thread, and a
//! read buffer for line-oriented reading.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openssl::ssl::{ErrorCode, ShutdownResult, ShutdownState, SslStream};

use crate::proto::lines::{CharWidth, LineBuffer};

use super::error::{Error, Result};
use super::stream::{Stream, TimedStream};
use super::tls::{TlsError, TlsSession};
use super::wait::{is_would_block, Deadline, Poll};

/// How much to read from the socket at once when filling the line buffer.
const LINE_READ: usize = 64 * 1024;

struct Io {
    stream: TimedStream,
    rbuf: LineBuffer,
    eof: bool,
    /// The FTPS session this connection belongs to, once TLS was started.
    tls: Option<Arc<TlsSession>>,
}

/// What Python's `SSLSocket` tells about an established TLS connection.
pub struct TlsInfo {
    pub version: &'static str,
    pub cipher: Option<(String, String, i32)>,
    pub session_reused: bool,
}

pub struct Conn {
    io: Mutex<Option<Io>>,
    timeout: Mutex<Option<Duration>>,
    local: SocketAddr,
    peer: SocketAddr,
}

impl Conn {
    pub fn new(tcp: TcpStream, timeout: Option<Duration>) -> Result<Self> {
        let local = tcp.local_addr()?;
        let peer = tcp.peer_addr()?;
        Ok(Conn {
            io: Mutex::new(Some(Io {
                stream: TimedStream::new(Stream::Plain(tcp)),
                rbuf: LineBuffer::new(),
                eof: false,
                tls: None,
            })),
            timeout: Mutex::new(timeout),
            local,
            peer,
        })
    }

    pub fn timeout(&self) -> Option<Duration> {
        *self.timeout.lock().unwrap()
    }

    pub fn set_timeout(&self, t: Option<Duration>) {
        *self.timeout.lock().unwrap() = t;
    }

    /// The deadline of one call made now.
    pub fn deadline(&self) -> Deadline {
        Deadline::after(self.timeout())
    }

    /// The socket's descriptor, -1 once closed. Starting or ending TLS moves
    /// the connection to a duplicate descriptor, so it is read live.
    pub fn fileno(&self) -> i32 {
        match self.io.lock().unwrap().as_ref() {
            Some(io) => io.stream.stream.tcp().as_raw_fd(),
            None => -1,
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    pub fn is_closed(&self) -> bool {
        self.io.lock().unwrap().is_none()
    }

    fn with_io<T>(&self, f: impl FnOnce(&mut Io) -> Result<T>) -> Result<T> {
        let mut guard = self.io.lock().unwrap();
        let io = guard.as_mut().ok_or(Error::Closed)?;
        f(io)
    }

    /// Reads one line with universal newlines (see [`LineBuffer::take_line`]).
    /// An empty result means EOF.
    pub fn read_line(&self, limit: Option<usize>, width: CharWidth, deadline: Deadline) -> Result<Poll<Vec<u8>>> {
        self.with_io(|io| loop {
            if let Some(line) = io.rbuf.take_line(limit, width, io.eof) {
                return Ok(Poll::Ready(line.bytes));
            }
            match fill(io, deadline)? {
                Poll::Ready(()) => continue,
                Poll::Pending => return Ok(Poll::Pending),
            }
        })
    }

    /// Like `socket.recv`: up to `buf.len()` bytes, 0 at EOF.
    pub fn recv(&self, buf: &mut [u8], deadline: Deadline) -> Result<Poll<usize>> {
        if buf.is_empty() {
            return Ok(Poll::Ready(0));
        }
        self.with_io(|io| {
            if !io.rbuf.is_empty() {
                let got = io.rbuf.take_raw(buf.len());
                buf[..got.len()].copy_from_slice(got);
                return Ok(Poll::Ready(got.len()));
            }
            if io.eof {
                return Ok(Poll::Ready(0));
            }
            io.stream.set_read_slice(deadline.slice()?)?;
            match io.stream.stream.read(buf) {
                Ok(0) => {
                    io.eof = true;
                    Ok(Poll::Ready(0))
                }
                Ok(n) => Ok(Poll::Ready(n + drain_tls(io, &mut buf[n..]))),
                Err(e) if is_would_block(&e) => Ok(Poll::Pending),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(Poll::Pending),
                Err(e) => Err(e.into()),
            }
        })
    }

    /// Moves up to `len` bytes from this socket into the pipe `pipe_w` with
    /// `splice(2)`, without copying them through user space. `Ready(None)`
    /// when this connection cannot (TLS, or bytes already buffered here);
    /// `Ready(Some(0))` at EOF.
    pub fn splice_to_pipe(&self, pipe_w: i32, len: usize, deadline: Deadline) -> Result<Poll<Option<usize>>> {
        self.with_io(|io| {
            if !io.rbuf.is_empty() || !matches!(io.stream.stream, Stream::Plain(_)) {
                return Ok(Poll::Ready(None));
            }
            if io.eof {
                return Ok(Poll::Ready(Some(0)));
            }
            // splice honours the socket's receive timeout (SO_RCVTIMEO).
            io.stream.set_read_slice(deadline.slice()?)?;
            let fd = io.stream.stream.tcp().as_raw_fd();
            // SAFETY: two valid descriptors; null offsets (a socket and a pipe).
            let n = unsafe {
                libc::splice(fd, std::ptr::null_mut(), pipe_w, std::ptr::null_mut(), len, libc::SPLICE_F_MOVE)
            };
            if n >= 0 {
                if n == 0 {
                    io.eof = true;
                }
                return Ok(Poll::Ready(Some(n as usize)));
            }
            let e = std::io::Error::last_os_error();
            if is_would_block(&e) || e.kind() == std::io::ErrorKind::Interrupted {
                Ok(Poll::Pending)
            } else {
                Err(e.into())
            }
        })
    }

    /// Sends up to `len` bytes of the file `file_fd` from `offset` with
    /// `sendfile(2)`. `Ready(None)` when this connection cannot (TLS).
    pub fn sendfile_from(
        &self,
        file_fd: i32,
        offset: u64,
        len: usize,
        deadline: Deadline,
    ) -> Result<Poll<Option<usize>>> {
        self.with_io(|io| {
            if !matches!(io.stream.stream, Stream::Plain(_)) {
                return Ok(Poll::Ready(None));
            }
            // sendfile honours the socket's send timeout (SO_SNDTIMEO).
            io.stream.set_write_slice(deadline.slice()?)?;
            let fd = io.stream.stream.tcp().as_raw_fd();
            let mut off = offset as libc::off_t;
            // SAFETY: valid descriptors and a valid offset pointer.
            let n = unsafe { libc::sendfile(fd, file_fd, &mut off, len) };
            if n >= 0 {
                return Ok(Poll::Ready(Some(n as usize)));
            }
            let e = std::io::Error::last_os_error();
            if is_would_block(&e) || e.kind() == std::io::ErrorKind::Interrupted {
                Ok(Poll::Pending)
            } else {
                Err(e.into())
            }
        })
    }

    /// Like `socket.send`: writes some of `data`.
    pub fn send(&self, data: &[u8], deadline: Deadline) -> Result<Poll<usize>> {
        self.with_io(|io| {
            io.stream.set_write_slice(deadline.slice()?)?;
            match io.stream.stream.write(data) {
                Ok(n) => Ok(Poll::Ready(n)),
                Err(e) if is_would_block(&e) => Ok(Poll::Pending),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(Poll::Pending),
                Err(e) => Err(e.into()),
            }
        })
    }

    /// Sends `data` as TCP urgent (out-of-band) data, as ftplib's `abort` does.
    pub fn send_oob(&self, data: &[u8]) -> Result<usize> {
        self.with_io(|io| {
            let sock = socket2::SockRef::from(io.stream.stream.tcp());
            Ok(sock.send_out_of_band(data)?)
        })
    }

    pub fn shutdown(&self, how: Shutdown) -> Result<()> {
        self.with_io(|io| Ok(io.stream.stream.tcp().shutdown(how)?))
    }

    /// Starts TLS as a client on this connection; drive the handshake with
    /// [`handshake`](Self::handshake). Bytes received before are dropped: they
    /// were sent in the clear and must not be mistaken for protected data.
    pub fn start_tls(&self, session: Arc<TlsSession>, resume: bool) -> Result<()> {
        self.with_io(|io| {
            let Stream::Plain(tcp) = &io.stream.stream else {
                return Err(Error::Tls(TlsError::other("Already using TLS")));
            };
            let ssl = session.new_ssl(resume).map_err(Error::Tls)?;
            let dup = tcp.try_clone()?;
            let raw = tcp.try_clone()?;
            io.stream.stream = Stream::Tls {
                ssl: Box::new(SslStream::new(ssl, dup).map_err(|e| Error::Tls(TlsError::from_stack(&e)))?),
                raw,
            };
            io.rbuf = LineBuffer::new();
            io.eof = false;
            io.tls = Some(session);
            Ok(())
        })
    }

    /// One slice of the TLS handshake.
    pub fn handshake(&self, deadline: Deadline) -> Result<Poll<()>> {
        self.with_io(|io| {
            let slice = deadline.slice()?;
            io.stream.set_read_slice(slice)?;
            io.stream.set_write_slice(slice)?;
            let Stream::Tls { ssl, .. } = &mut io.stream.stream else {
                return Err(Error::NotTls);
            };
            match ssl.do_handshake() {
                Ok(()) => Ok(Poll::Ready(())),
                Err(e) if is_retry(&e) => Ok(Poll::Pending),
                Err(e) => Err(Error::Tls(TlsError::from_ssl(&e, ssl.ssl().verify_result()))),
            }
        })
    }

    /// One slice of a TLS shutdown (`unwrap()`): sends close_notify and waits
    /// for the peer's, then goes back to the plain socket. A peer that closes
    /// the connection instead of answering ends the wait too.
    pub fn tls_shutdown(&self, deadline: Deadline) -> Result<Poll<()>> {
        self.with_io(|io| {
            let slice = deadline.slice()?;
            io.stream.set_read_slice(slice)?;
            io.stream.set_write_slice(slice)?;
            let Stream::Tls { ssl, .. } = &mut io.stream.stream else {
                return Err(Error::NotTls);
            };
            // The first call sends close_notify; the next waits for the peer's.
            let mut done = false;
            for _ in 0..2 {
                match ssl.shutdown() {
                    Ok(ShutdownResult::Received) => {
                        done = true;
                        break;
                    }
                    Ok(ShutdownResult::Sent) => done = true,
                    Err(e) if is_retry(&e) => {
                        done = false;
                        break;
                    }
                    Err(_) => {
                        done = true;
                        break;
                    }
                }
            }
            if !done {
                return Ok(Poll::Pending);
            }
            let Stream::Tls { raw, .. } = &io.stream.stream else { unreachable!("checked above") };
            let plain = raw.try_clone()?;
            io.stream.stream = Stream::Plain(plain);
            io.rbuf = LineBuffer::new();
            Ok(Poll::Ready(()))
        })
    }

    pub fn is_tls(&self) -> bool {
        matches!(self.io.lock().unwrap().as_ref().map(|io| &io.stream.stream), Some(Stream::Tls { .. }))
    }

    /// The FTPS session of this connection, if TLS was ever started on it.
    pub fn tls_session(&self) -> Option<Arc<TlsSession>> {
        self.io.lock().unwrap().as_ref().and_then(|io| io.tls.clone())
    }

    pub fn tls_info(&self) -> Option<TlsInfo> {
        let guard = self.io.lock().unwrap();
        let Some(Io { stream: TimedStream { stream: Stream::Tls { ssl, .. }, .. }, .. }) = guard.as_ref() else {
            return None;
        };
        let s = ssl.ssl();
        Some(TlsInfo {
            version: s.version_str(),
            cipher: s.current_cipher().map(|c| (c.name().to_owned(), c.version().to_owned(), c.bits().secret)),
            session_reused: s.session_reused(),
        })
    }

    /// Gives up the descriptor without closing it (`socket.detach()`), for
    /// code that hands the socket to Python's `ssl.wrap_socket`.
    pub fn detach(&self) -> Result<i32> {
        let io = self.io.lock().unwrap().take().ok_or(Error::Closed)?;
        match io.stream.stream {
            Stream::Plain(tcp) => Ok(std::os::fd::IntoRawFd::into_raw_fd(tcp)),
            Stream::Tls { .. } => Err(Error::Tls(TlsError::other("cannot detach a TLS socket"))),
        }
    }

    /// Closes the socket; later calls fail with `Error::Closed`.
    pub fn close(&self) {
        if let Some(mut io) = self.io.lock().unwrap().take() {
            keep_session_resumable(&mut io);
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Ok(mut guard) = self.io.lock() {
            if let Some(io) = guard.as_mut() {
                keep_session_resumable(io);
            }
        }
    }
}

/// OpenSSL makes a session unresumable when a connection that used it is
/// freed without a TLS shutdown, which would make the next data connection's
/// handshake a full one (and servers that require reuse refuse it). A data
/// socket closed without `unwrap()` is normal FTP practice, so the connection
/// is marked as shut down before it goes, as CPython's ssl module does.
fn keep_session_resumable(io: &mut Io) {
    if let Stream::Tls { ssl, .. } = &mut io.stream.stream {
        let state = ssl.get_shutdown();
        ssl.set_shutdown(state | ShutdownState::SENT);
    }
}

extern "C" {
    // In libssl since OpenSSL 1.1.0; openssl-sys does not declare it.
    fn SSL_has_pending(ssl: *const openssl_sys::SSL) -> libc::c_int;
}

/// After a TLS read: also takes what OpenSSL already holds (records read
/// ahead from the socket), without waiting, so that one call returns up to
/// the whole buffer instead of a single record of at most 16 KiB.
fn drain_tls(io: &mut Io, buf: &mut [u8]) -> usize {
    let Stream::Tls { ssl, .. } = &mut io.stream.stream else {
        return 0;
    };
    let mut n = 0;
    while n < buf.len() {
        // SAFETY: a valid SSL pointer for the duration of the call.
        if unsafe { SSL_has_pending(foreign_types::ForeignTypeRef::as_ptr(ssl.ssl())) } != 1 {
            break;
        }
        match ssl.ssl_read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => {
                if e.code() == ErrorCode::ZERO_RETURN {
                    io.eof = true;
                }
                break;
            }
        }
    }
    n
}

/// An OpenSSL error that only means "not yet": the socket's slice ended.
fn is_retry(e: &openssl::ssl::Error) -> bool {
    matches!(e.code(), ErrorCode::WANT_READ | ErrorCode::WANT_WRITE)
}

/// Reads more data into the line buffer: `Ready` once some arrived or EOF was
/// seen, `Pending` when the slice ended first.
fn fill(io: &mut Io, deadline: Deadline) -> Result<Poll<()>> {
    if io.eof {
        return Ok(Poll::Ready(()));
    }
    io.stream.set_read_slice(deadline.slice()?)?;
    let spare = io.rbuf.spare(LINE_READ);
    match io.stream.stream.read(spare) {
        Ok(0) => {
            io.eof = true;
            Ok(Poll::Ready(()))
        }
        Ok(n) => {
            io.rbuf.commit(n);
            Ok(Poll::Ready(()))
        }
        Err(e) if is_would_block(&e) || e.kind() == std::io::ErrorKind::Interrupted => Ok(Poll::Pending),
        Err(e) => Err(e.into()),
    }
}
