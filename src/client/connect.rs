//! Opening TCP connections in slices (non-blocking connect, then poll).

use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::error::Result;
use super::wait::{poll_fd, Deadline, Poll};

/// A connection attempt under way.
pub struct Connecting {
    sock: Socket,
}

impl Connecting {
    /// Starts connecting to `addr`, bound first to `source` if given.
    pub fn start(addr: SocketAddr, source: Option<SocketAddr>) -> Result<Self> {
        let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        if let Some(src) = source {
            sock.bind(&SockAddr::from(src))?;
        }
        sock.set_nonblocking(true)?;
        match sock.connect(&SockAddr::from(addr)) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(Connecting { sock })
    }

    /// Waits one slice for the connection to complete.
    pub fn poll(&mut self, deadline: Deadline) -> Result<Poll<()>> {
        let slice = deadline.slice()?;
        if !poll_fd(self.sock.as_raw_fd(), libc::POLLOUT, slice)? {
            return Ok(Poll::Pending);
        }
        if let Some(err) = self.sock.take_error()? {
            return Err(err.into());
        }
        Ok(Poll::Ready(()))
    }

    /// The connected stream, in blocking mode.
    pub fn into_stream(self) -> Result<TcpStream> {
        self.sock.set_nonblocking(false)?;
        Ok(self.sock.into())
    }
}
