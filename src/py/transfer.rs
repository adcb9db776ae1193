//! The inner loops of the transfers on rftplib's own sockets.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use super::errors::error;
use super::ftp::{debugging, print};
use super::socket::Socket;

/// How much a download reads from the socket at once; the callback still
/// gets chunks of at most `blocksize` bytes.
pub(crate) const RECV_BUFFER: usize = 256 * 1024;

/// The body of `retrlines`, whatever reads the lines.
pub(crate) fn retr_lines_loop<'py>(
    this: &Bound<'py, PyAny>,
    maxline: &Bound<'py, PyAny>,
    callback: &Bound<'py, PyAny>,
    mut read: impl FnMut() -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<()> {
    let py = this.py();
    loop {
        let line = read()?;
        if maxline.lt(line.len()?)? {
            return Err(error(py, format!("got more than {} bytes", maxline.str()?)));
        }
        if debugging(this)?.gt(2)? {
            print(py, ("*retr*", line.repr()?))?;
        }
        if !line.is_truthy()? {
            return Ok(());
        }
        let text = line.cast::<PyString>()?.to_cow()?;
        let stripped = text.strip_suffix("\r\n").or_else(|| text.strip_suffix('\n')).unwrap_or(&text);
        if stripped.len() == text.len() {
            callback.call1((line,))?;
        } else {
            callback.call1((PyString::new(py, stripped),))?;
        }
        py.check_signals()?;
    }
}

/// `retrbinary`'s loop on an engine socket: large reads with the GIL
/// released, handed to the callback in chunks of at most `blocksize`.
pub(crate) fn recv_all_native(
    py: Python<'_>,
    sock: &Socket,
    callback: &Bound<'_, PyAny>,
    blocksize: isize,
) -> PyResult<()> {
    if blocksize < 0 {
        return Err(PyValueError::new_err("negative buffersize in recv"));
    }
    if blocksize == 0 {
        // ftplib's recv(0) returns b'' at once, which ends the loop.
        return Ok(());
    }
    let blocksize = blocksize as usize;
    let size = blocksize.max(RECV_BUFFER);
    // One receive buffer per thread, kept between transfers: a fresh large
    // allocation per file would cost mmap, munmap and page faults every time.
    // A callback that starts another download on the same thread gets its own.
    let mut buf = RECV_BUFFERS.with(|cell| cell.take()).filter(|b: &Vec<u8>| b.len() >= size).unwrap_or_default();
    if buf.len() < size {
        buf = vec![0u8; size];
    }
    let result = (|| loop {
        let n = sock.recv_some(py, &mut buf[..size])?;
        if n == 0 {
            return Ok(());
        }
        for chunk in buf[..n].chunks(blocksize) {
            callback.call1((PyBytes::new(py, chunk),))?;
        }
        py.check_signals()?;
    })();
    RECV_BUFFERS.with(|cell| cell.replace(Some(buf)));
    result
}

thread_local! {
    static RECV_BUFFERS: std::cell::Cell<Option<Vec<u8>>> = const { std::cell::Cell::new(None) };
}
