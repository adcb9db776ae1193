//! The listening socket of an active-mode (PORT/EPRT) data connection.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Mutex;
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::error::{Error, Result};
use super::wait::{is_would_block, poll_fd, Deadline, Poll};

pub struct Listener {
    sock: Mutex<Option<Socket>>,
    timeout: Mutex<Option<Duration>>,
    fd: i32,
    local: SocketAddr,
}

impl Listener {
    /// Like `socket.create_server(("", 0), family=..., backlog=1)`.
    pub fn bind_any(ipv6: bool, timeout: Option<Duration>) -> Result<Self> {
        let (domain, addr): (Domain, SocketAddr) = if ipv6 {
            (Domain::IPV6, (Ipv6Addr::UNSPECIFIED, 0).into())
        } else {
            (Domain::IPV4, (Ipv4Addr::UNSPECIFIED, 0).into())
        };
        let sock = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
        sock.set_reuse_address(true)?;
        if ipv6 {
            sock.set_only_v6(true)?;
        }
        sock.bind(&SockAddr::from(addr))?;
        sock.listen(1)?;
        sock.set_nonblocking(true)?;
        let local = sock.local_addr()?.as_socket().ok_or(Error::Closed)?;
        let fd = sock.as_raw_fd();
        Ok(Listener { sock: Mutex::new(Some(sock)), timeout: Mutex::new(timeout), fd, local })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    pub fn fileno(&self) -> i32 {
        if self.sock.lock().unwrap().is_some() {
            self.fd
        } else {
            -1
        }
    }

    pub fn timeout(&self) -> Option<Duration> {
        *self.timeout.lock().unwrap()
    }

    pub fn set_timeout(&self, t: Option<Duration>) {
        *self.timeout.lock().unwrap() = t;
    }

    /// Waits one slice for a connection.
    pub fn accept(&self, deadline: Deadline) -> Result<Poll<(TcpStream, SocketAddr)>> {
        let slice = deadline.slice()?;
        let fd = {
            let guard = self.sock.lock().unwrap();
            guard.as_ref().ok_or(Error::Closed)?.as_raw_fd()
        };
        if !poll_fd(fd, libc::POLLIN, slice)? {
            return Ok(Poll::Pending);
        }
        let guard = self.sock.lock().unwrap();
        let sock = guard.as_ref().ok_or(Error::Closed)?;
        match sock.accept() {
            Ok((conn, addr)) => {
                conn.set_nonblocking(false)?;
                let addr = addr.as_socket().ok_or(Error::Closed)?;
                Ok(Poll::Ready((conn.into(), addr)))
            }
            Err(e) if is_would_block(&e) => Ok(Poll::Pending),
            Err(e) => Err(e.into()),
        }
    }

    pub fn close(&self) {
        self.sock.lock().unwrap().take();
    }
}
