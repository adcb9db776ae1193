//! The only code that knows about Python: the `rftplib._rftplib` module.

mod args;
mod credentials;
mod dispatch;
mod errors;
mod feat;
mod fetch;
mod ftp;
mod ftp_tls;
mod functions;
mod jobs;
mod listing;
mod mirror;
mod mirror_result;
mod socket;
mod text;
mod tls_config;
mod transfer;
mod wait;

use pyo3::prelude::*;

#[pymodule]
fn _rftplib(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("FTP_PORT", 21)?;
    m.add("MAXLINE", 8192)?;
    m.add("MSG_OOB", 0x1)?;
    m.add("CRLF", "\r\n")?;
    m.add("B_CRLF", pyo3::types::PyBytes::new(py, b"\r\n"))?;
    errors::register(m)?;
    functions::register(m)?;
    listing::register(m)?;
    feat::register(m)?;
    jobs::register(m)?;
    mirror::register(m)?;
    fetch::register(m)?;
    m.add_class::<ftp::Ftp>()?;
    ftp::finish_class(py)?;
    m.add_class::<ftp_tls::FtpTls>()?;
    ftp_tls::finish_class(py)?;
    m.add_class::<socket::Socket>()?;
    m.add_class::<socket::ControlFile>()?;
    m.add_class::<socket::ListeningSocket>()?;
    Ok(())
}
