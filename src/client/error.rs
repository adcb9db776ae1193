use std::io;

/// Errors of the engine. The Python layer maps each to the exception ftplib
/// users expect (`OSError` subclasses by errno, `TimeoutError`, `ssl.SSLError`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The socket's timeout elapsed.
    #[error("timed out")]
    Timeout,
    /// The socket was closed (by `close()`, possibly from another thread).
    #[error("Bad file descriptor")]
    Closed,
    /// A TLS handshake, read or write failed.
    #[error("{0}")]
    Tls(String),
}

impl Error {
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout)
    }
}

pub type Result<T> = std::result::Result<T, Error>;
