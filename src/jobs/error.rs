//! Why a job failed, with enough detail for the Python layer to raise what
//! ftplib users expect (error_temp/error_perm/..., OSError, EOFError).

use crate::client;
use crate::proto::reply::{classify, ReplyClass};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A socket or TLS failure on a control or data connection.
    #[error(transparent)]
    Net(#[from] client::Error),
    /// The server answered with an unexpected reply (the whole text).
    #[error("{0}")]
    Reply(String),
    /// The control connection was closed by the server.
    #[error("connection closed by the server")]
    Eof,
    /// A reply that cannot be parsed as the command needs.
    #[error("{0}")]
    Proto(String),
    /// The transfer completed but the bytes are not what the server said.
    #[error("{0}")]
    Verify(String),
    /// A local file could not be read or written.
    #[error("{0}")]
    Local(std::io::Error),
    /// The caller asked to stop (Ctrl-C, or an exception in a callback).
    #[error("cancelled")]
    Cancelled,
    /// Something the job needs and does not have (credentials, SIZE, ...).
    #[error("{0}")]
    Unsupported(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// The reply code of a `Reply` error.
    pub fn code(&self) -> Option<u16> {
        match self {
            Error::Reply(text) => text.get(..3).and_then(|c| c.parse().ok()),
            _ => None,
        }
    }

    /// Worth another attempt after reconnecting: network failures, EOF and
    /// 4xx replies. 5xx replies, verification and local errors are final.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Net(client::Error::Tls(client::tls::TlsError::CertVerify { .. })) => false,
            Error::Net(client::Error::Closed) => false,
            Error::Net(_) | Error::Eof => true,
            Error::Reply(text) => classify(text) == ReplyClass::TransientNegative,
            _ => false,
        }
    }

    /// A refused login: too many connections (421) or 530 at login time.
    pub fn is_refusal(&self) -> bool {
        matches!(self.code(), Some(421 | 530))
    }
}
