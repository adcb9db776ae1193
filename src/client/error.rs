use std::io;

use super::tls::TlsError;

/// Errors of the engine. The Python layer maps each to the exception ftplib
/// users expect (`OSError` subclasses by errno, `TimeoutError`, `ssl.SSLError`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Io(io::Error),
    /// The socket's timeout elapsed.
    #[error("timed out")]
    Timeout,
    /// The socket was closed (by `close()`, possibly from another thread).
    #[error("Bad file descriptor")]
    Closed,
    /// A TLS handshake, read, write or shutdown failed.
    #[error("{0}")]
    Tls(TlsError),
    /// A TLS operation on a connection that does not use TLS.
    #[error("not using TLS")]
    NotTls,
}

impl From<io::Error> for Error {
    /// Recovers the OpenSSL error that `SslStream`'s `Read`/`Write` wrap in
    /// an `io::Error`.
    fn from(e: io::Error) -> Self {
        let ssl_err = e.get_ref().and_then(|inner| inner.downcast_ref::<openssl::ssl::Error>());
        match ssl_err {
            Some(s) => Error::Tls(TlsError::from_ssl(s, openssl::x509::X509VerifyResult::OK)),
            None => Error::Io(e),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
