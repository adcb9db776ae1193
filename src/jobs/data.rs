//! A data connection of a job session: reads, writes, zero-copy moves, and
//! the clean end (TLS close_notify) that ftplib's `unwrap()` does.

use std::time::Duration;

use crate::client::conn::Conn;
use crate::client::wait::Deadline;

use super::cancel::Cancel;
use super::error::Result;

/// A data connection opened by [`Session::open_data`].
pub struct Data {
    pub(super) conn: Conn,
    pub(super) cancel: Cancel,
    pub(super) timeout: Option<Duration>,
}

impl Data {
    /// Reads up to `buf.len()` bytes; 0 at the end of the data.
    pub fn read(&self, buf: &mut [u8]) -> Result<usize> {
        let deadline = Deadline::after(self.timeout);
        self.cancel.block(|| self.conn.recv(buf, deadline))
    }

    /// Moves up to `len` bytes into `pipe_w` without a copy through user
    /// space; None when this connection cannot (TLS).
    pub fn splice_to_pipe(&self, pipe_w: i32, len: usize) -> Result<Option<usize>> {
        let deadline = Deadline::after(self.timeout);
        self.cancel.block(|| self.conn.splice_to_pipe(pipe_w, len, deadline))
    }

    /// Sends up to `len` bytes of `file` from `offset` without a copy
    /// through user space; None when this connection cannot (TLS).
    pub fn send_file(&self, file: &std::fs::File, offset: u64, len: usize) -> Result<Option<usize>> {
        use std::os::fd::AsRawFd;
        let deadline = Deadline::after(self.timeout);
        self.cancel.block(|| self.conn.sendfile_from(file.as_raw_fd(), offset, len, deadline))
    }

    /// Whether the other end is on this host (loopback, or our own address):
    /// there both ends' TCP work lands on the same machine.
    pub fn peer_is_this_host(&self) -> bool {
        use std::os::fd::BorrowedFd;
        // SAFETY: the descriptor belongs to `self.conn`, open while `self` is.
        let fd = unsafe { BorrowedFd::borrow_raw(self.conn.fileno()) };
        let sock = socket2::SockRef::from(&fd);
        let ip =
            |a: std::io::Result<socket2::SockAddr>| a.ok().and_then(|a| a.as_socket()).map(|a| a.ip().to_canonical());
        match (ip(sock.peer_addr()), ip(sock.local_addr())) {
            (Some(peer), Some(local)) => peer.is_loopback() || peer == local,
            _ => false,
        }
    }

    pub fn write_all(&self, mut buf: &[u8]) -> Result<()> {
        let deadline = Deadline::after(self.timeout);
        while !buf.is_empty() {
            let n = self.cancel.block(|| self.conn.send(buf, deadline))?;
            buf = &buf[n..];
        }
        Ok(())
    }

    pub fn is_tls(&self) -> bool {
        self.conn.is_tls()
    }

    /// The socket's descriptor, for zero-copy transfers on plain connections.
    pub fn fileno(&self) -> i32 {
        self.conn.fileno()
    }

    /// Ends the data connection cleanly (TLS close_notify, as ftplib's
    /// `unwrap()`), then closes it.
    pub(super) fn shutdown(self) -> Result<()> {
        if self.conn.is_tls() {
            let deadline = Deadline::after(self.timeout);
            let r = self.cancel.block(|| self.conn.tls_shutdown(deadline));
            self.conn.close();
            r?;
        }
        self.conn.close();
        Ok(())
    }
}
