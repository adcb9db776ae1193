//! A connected socket (control or data connection) with Python socket
//! semantics: a timeout that bounds each call, close from any thread, and a
//! read buffer for line-oriented reading.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Mutex;
use std::time::Duration;

use crate::proto::lines::{CharWidth, LineBuffer};

use super::error::{Error, Result};
use super::stream::{Stream, TimedStream};
use super::wait::{is_would_block, Deadline, Poll};

/// How much to read from the socket at once when filling the line buffer.
const LINE_READ: usize = 64 * 1024;

struct Io {
    stream: TimedStream,
    rbuf: LineBuffer,
    eof: bool,
}

pub struct Conn {
    io: Mutex<Option<Io>>,
    timeout: Mutex<Option<Duration>>,
    fd: i32,
    local: SocketAddr,
    peer: SocketAddr,
}

impl Conn {
    pub fn new(tcp: TcpStream, timeout: Option<Duration>) -> Result<Self> {
        let local = tcp.local_addr()?;
        let peer = tcp.peer_addr()?;
        let fd = tcp.as_raw_fd();
        Ok(Conn {
            io: Mutex::new(Some(Io {
                stream: TimedStream::new(Stream::Plain(tcp)),
                rbuf: LineBuffer::new(),
                eof: false,
            })),
            timeout: Mutex::new(timeout),
            fd,
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

    pub fn fileno(&self) -> i32 {
        if self.is_closed() {
            -1
        } else {
            self.fd
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
    pub fn read_line(
        &self,
        limit: Option<usize>,
        width: CharWidth,
        deadline: Deadline,
    ) -> Result<Poll<Vec<u8>>> {
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
                Ok(n) => Ok(Poll::Ready(n)),
                Err(e) if is_would_block(&e) => Ok(Poll::Pending),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(Poll::Pending),
                Err(e) => Err(e.into()),
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

    /// Closes the socket; later calls fail with `Error::Closed`.
    pub fn close(&self) {
        self.io.lock().unwrap().take();
    }
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
        Err(e) if is_would_block(&e) || e.kind() == std::io::ErrorKind::Interrupted => {
            Ok(Poll::Pending)
        }
        Err(e) => Err(e.into()),
    }
}
