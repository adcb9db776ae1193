//! The inner loops of the transfers on rftplib's own sockets.

use pyo3::exceptions::PyValueError;
use std::io::IoSliceMut;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use super::errors::error;
use super::ftp::{debugging, print};
use super::socket::Socket;
use super::wait::block_on;

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
    if (SCATTER_MIN..=RECV_BUFFER / 2).contains(&blocksize) && !sock.conn.is_tls() {
        return recv_all_scattered(py, sock, callback, blocksize);
    }
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

/// The smallest blocksize read straight into the callback's bytes objects;
/// below it, many tiny buffers per system call would cost more than a copy.
const SCATTER_MIN: usize = 4096;

/// `retrbinary`'s loop on a plain socket: each `readv` fills up to
/// `RECV_BUFFER` bytes directly into fresh bytes objects of `blocksize`
/// bytes, which go to the callback as they are. That saves copying every byte
/// a second time (from a receive buffer into the bytes objects), which on a
/// fast link is about a tenth of the client's CPU, and matters most when the
/// client and the server share one core. Only a chunk that came short is
/// copied, into a bytes object of its length.
fn recv_all_scattered(py: Python<'_>, sock: &Socket, callback: &Bound<'_, PyAny>, blocksize: usize) -> PyResult<()> {
    let count = RECV_BUFFER / blocksize;
    let mut blanks: Vec<Blank<'_>> = Vec::with_capacity(count);
    loop {
        while blanks.len() < count {
            blanks.push(Blank::new(py, blocksize)?);
        }
        let ptrs: Vec<RawBuf> = blanks.iter().map(|b| RawBuf(b.ptr)).collect();
        let deadline = sock.conn.deadline();
        let conn = &sock.conn;
        let n = block_on(py, || {
            // SAFETY: every pointer is the start of `blocksize` writable bytes
            // in a bytes object that `blanks` keeps alive and nobody else sees.
            let mut slices: Vec<IoSliceMut<'_>> = ptrs
                .iter()
                .map(|p| IoSliceMut::new(unsafe { std::slice::from_raw_parts_mut(p.0, blocksize) }))
                .collect();
            conn.recv_vectored(&mut slices, deadline)
        })?;
        if n == 0 {
            return Ok(());
        }
        for blank in blanks.drain(..n / blocksize) {
            callback.call1((blank.obj,))?;
        }
        let rest = n % blocksize;
        if rest > 0 {
            // SAFETY: the first `rest` bytes of the next blank were just written.
            let short = unsafe { std::slice::from_raw_parts(blanks[0].ptr, rest) };
            callback.call1((PyBytes::new(py, short),))?;
        }
        py.check_signals()?;
    }
}

/// A bytes object of a given length whose contents are not yet written: a
/// read fills it before Python code ever sees it.
struct Blank<'py> {
    obj: Bound<'py, PyBytes>,
    ptr: *mut u8,
}

impl<'py> Blank<'py> {
    fn new(py: Python<'py>, len: usize) -> PyResult<Self> {
        let len = ffi::Py_ssize_t::try_from(len).map_err(|_| PyValueError::new_err("blocksize too large"))?;
        // SAFETY: PyBytes_FromStringAndSize(NULL, len) returns a new reference
        // to an uninitialised bytes object (or NULL with an exception set);
        // PyBytes_AsString gives its buffer, valid while the object lives.
        unsafe {
            let raw = ffi::PyBytes_FromStringAndSize(std::ptr::null(), len);
            let obj = Bound::from_owned_ptr_or_err(py, raw)?.cast_into_unchecked::<PyBytes>();
            let ptr = ffi::PyBytes_AsString(raw).cast::<u8>();
            Ok(Blank { obj, ptr })
        }
    }
}

/// A buffer pointer taken across `py.detach`: the bytes objects it points
/// into stay alive (and untouched by Python) until the read has returned.
struct RawBuf(*mut u8);
// SAFETY: see above; only the one thread that reads writes through it.
unsafe impl Send for RawBuf {}
unsafe impl Sync for RawBuf {}

thread_local! {
    static RECV_BUFFERS: std::cell::Cell<Option<Vec<u8>>> = const { std::cell::Cell::new(None) };
}
