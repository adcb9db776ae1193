//! Socket to file without a copy through user space (Linux `splice`): the
//! bytes go socket -> pipe -> file, for plain (non-TLS) downloads that need
//! no hashing.

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::error::{Error, Result};

pub struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
}

/// How much one splice moves at most: the pipe's capacity.
pub const PIPE_SIZE: usize = 1 << 20;

impl Pipe {
    pub fn new() -> Result<Pipe> {
        let mut fds = [0i32; 2];
        // SAFETY: fds has room for the two descriptors pipe2 writes.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(Error::Local(std::io::Error::last_os_error()));
        }
        // SAFETY: pipe2 just returned these descriptors, owned by nobody else.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // A larger pipe means fewer system calls; the default (64 KiB) still works.
        // SAFETY: a valid pipe descriptor.
        unsafe { libc::fcntl(write.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_SIZE as libc::c_int) };
        Ok(Pipe { read, write })
    }

    pub fn write_fd(&self) -> i32 {
        self.write.as_raw_fd()
    }

    /// Moves exactly `n` bytes from the pipe into `file` at its position.
    pub fn drain_to(&self, file: &File, n: usize) -> Result<()> {
        let mut left = n;
        while left > 0 {
            // SAFETY: valid descriptors; null offsets use the file position.
            let k = unsafe {
                libc::splice(
                    self.read.as_raw_fd(),
                    std::ptr::null_mut(),
                    file.as_raw_fd(),
                    std::ptr::null_mut(),
                    left,
                    libc::SPLICE_F_MOVE,
                )
            };
            if k < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(Error::Local(e));
            }
            if k == 0 {
                return Err(Error::Local(std::io::Error::new(std::io::ErrorKind::WriteZero, "splice wrote nothing")));
            }
            left -= k as usize;
        }
        Ok(())
    }
}
