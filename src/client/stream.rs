//! The byte stream under a connection: plain TCP, or TLS over TCP.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use openssl::ssl::SslStream;

/// A connected stream. Control and data connections share all the code
/// above this type, whether or not TLS is in use.
pub enum Stream {
    Plain(TcpStream),
    /// TLS over a duplicate of `raw`'s descriptor, so that the plain socket
    /// can be taken back after a TLS shutdown (`unwrap`, `CCC`).
    Tls {
        ssl: Box<SslStream<TcpStream>>,
        raw: TcpStream,
    },
}

impl Stream {
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls { raw, .. } => raw,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls { ssl, .. } => ssl.read(buf),
        }
    }

    fn read_vectored(&mut self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read_vectored(bufs),
            Stream::Tls { ssl, .. } => ssl.read_vectored(bufs),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls { ssl, .. } => ssl.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls { ssl, .. } => ssl.flush(),
        }
    }
}

/// A stream plus the socket timeouts last set on it, so that a timeout is
/// only changed with a system call when the slice actually differs.
pub struct TimedStream {
    pub stream: Stream,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
}

impl TimedStream {
    pub fn new(stream: Stream) -> Self {
        TimedStream { stream, read_timeout: None, write_timeout: None }
    }

    pub fn set_read_slice(&mut self, slice: Duration) -> io::Result<()> {
        if self.read_timeout != Some(slice) {
            self.stream.tcp().set_read_timeout(Some(slice))?;
            self.read_timeout = Some(slice);
        }
        Ok(())
    }

    pub fn set_write_slice(&mut self, slice: Duration) -> io::Result<()> {
        if self.write_timeout != Some(slice) {
            self.stream.tcp().set_write_timeout(Some(slice))?;
            self.write_timeout = Some(slice);
        }
        Ok(())
    }
}
