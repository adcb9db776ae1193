//! TLS over OpenSSL: the client context of one FTPS session, shared by the
//! control connection and its data connections so that every data connection
//! resumes the control connection's TLS session (RFC 4217 §10.2; required by
//! vsftpd's `require_ssl_reuse`, FileZilla Server and ProFTPD).

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use openssl::error::ErrorStack;
use openssl::ex_data::Index;
use openssl::ssl::{
    ErrorCode, Ssl, SslContext, SslContextBuilder, SslFiletype, SslMethod, SslOptions, SslSession, SslSessionCacheMode,
    SslVerifyMode, SslVersion,
};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509CheckFlags;
use openssl::x509::{X509VerifyResult, X509};

/// What rftplib takes over from a Python `ssl.SSLContext`.
#[derive(Clone, Debug, Default)]
pub struct TlsConfig {
    /// `verify_mode != CERT_NONE`.
    pub verify: bool,
    pub check_hostname: bool,
    /// Trusted certificates, DER-encoded (`get_ca_certs(binary_form=True)`).
    pub ca_der: Vec<Vec<u8>>,
    /// Also trust OpenSSL's default verify paths.
    pub default_paths: bool,
    pub min_version: Option<SslVersion>,
    pub max_version: Option<SslVersion>,
    /// TLS 1.2 and older cipher list (OpenSSL names joined by `:`).
    pub cipher_list: Option<String>,
    /// TLS 1.3 cipher suites.
    pub ciphersuites: Option<String>,
    /// Client certificate chain and key, as PEM files.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

/// Why a TLS operation failed, detailed enough for Python's `ssl` exceptions.
#[derive(Debug, Clone)]
pub enum TlsError {
    /// The peer's certificate was rejected.
    CertVerify { code: i64, message: String },
    /// The peer closed the TCP connection in the middle of the TLS protocol.
    Eof,
    /// Any other OpenSSL failure, with Python's names for OpenSSL's library
    /// and reason codes (`"SSL"`, `"WRONG_VERSION_NUMBER"`) where known.
    Ssl { message: String, library: Option<String>, reason: Option<String> },
}

impl TlsError {
    pub fn other(message: impl Into<String>) -> Self {
        TlsError::Ssl { message: message.into(), library: None, reason: None }
    }
}

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsError::CertVerify { message, .. } => {
                write!(f, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {message}")
            }
            TlsError::Eof => write!(f, "EOF occurred in violation of protocol"),
            TlsError::Ssl { message, .. } => write!(f, "{message}"),
        }
    }
}

/// Python's short name for an OpenSSL library ("SSL routines" is "SSL").
fn library_name(lib: &str) -> String {
    match lib {
        "SSL routines" => "SSL".into(),
        "X509 certificate routines" | "X.509 certificate routines" => "X509".into(),
        "PEM routines" => "PEM".into(),
        "system library" => "SYS".into(),
        "asn1 encoding routines" => "ASN1".into(),
        "BIO routines" => "BIO".into(),
        "digital envelope routines" => "EVP".into(),
        other => other.split_whitespace().next().unwrap_or(other).to_uppercase(),
    }
}

impl TlsError {
    pub fn from_stack(e: &ErrorStack) -> Self {
        match e.errors().first() {
            Some(err) => {
                let reason_text = err.reason().unwrap_or("unknown error");
                let reason = reason_text.to_uppercase().replace(' ', "_");
                let library = err.library().map(library_name);
                let tag = library.as_deref().unwrap_or("SSL");
                TlsError::Ssl { message: format!("[{tag}: {reason}] {reason_text}"), library, reason: Some(reason) }
            }
            None => TlsError::other("[SSL] unknown error"),
        }
    }

    /// Classifies an error from a handshake, read, write or shutdown.
    pub fn from_ssl(e: &openssl::ssl::Error, verify: X509VerifyResult) -> Self {
        if verify != X509VerifyResult::OK {
            return TlsError::CertVerify { code: verify.as_raw() as i64, message: verify.error_string().to_owned() };
        }
        match (e.code(), e.ssl_error()) {
            (ErrorCode::SYSCALL, None) if e.io_error().is_none() => TlsError::Eof,
            (_, Some(stack)) => {
                let unexpected_eof =
                    stack.errors().iter().any(|err| err.reason().is_some_and(|r| r.contains("unexpected eof")));
                if unexpected_eof {
                    TlsError::Eof
                } else {
                    TlsError::from_stack(stack)
                }
            }
            _ => TlsError::other(e.to_string()),
        }
    }
}

/// The client side of one FTPS session: the OpenSSL context built from the
/// user's settings, the server's name, and the newest TLS session the server
/// issued on the control connection, which every data connection resumes.
///
/// Why the control connection's session, offered as a fresh copy each time,
/// and never a session a data connection received:
///
/// - Servers that require reuse check the data connection against the
///   control connection: vsftpd (`require_ssl_reuse`) only wants a resumed
///   handshake, but ProFTPD's mod_tls also compares the resumed session with
///   the control connection's (TLS 1.2: `SSL_has_matching_session_id`;
///   TLS 1.3: application data it stores in every ticket of that session).
/// - Under TLS 1.3 a ticket arrives after the handshake, and OpenSSL's client
///   marks a ticket not resumable as soon as a handshake has used it
///   (tickets are meant for one use, RFC 8446 C.4). A data connection only
///   sees its own replacement ticket if something reads from it: a listing
///   or a download does, but an upload only writes (and the ticket sent on
///   it does not come out of its shutdown either); an aborted transfer or a
///   socket closed without `unwrap()` reads nothing either. Keeping "the newest session
///   from any connection" (as this type once did) therefore left, after any
///   upload, the ticket the upload had just spent: the next data connection
///   offered no ticket at all, made a full handshake, and ProFTPD answered
///   `425 Unable to build data connection: Operation not permitted`.
/// - So the control connection's newest session is kept untouched and each
///   data connection gets a copy made through its DER form (as CPython's
///   `SSLSocket.session` does), which OpenSSL has never marked. Servers
///   accept one control ticket for many data connections (ProFTPD, vsftpd
///   and pure-ftpd on TLS 1.2 and 1.3), as they must for ftplib code that
///   passes `session=self.sock.session`.
pub struct TlsSession {
    ctx: SslContext,
    hostname: String,
    check_hostname: bool,
    control: Arc<Mutex<Option<SslSession>>>,
}

/// Marks the `Ssl` of a control connection, whose new sessions are kept.
static CONTROL_MARKER: OnceLock<Index<Ssl, ()>> = OnceLock::new();

fn control_marker() -> Result<Index<Ssl, ()>, ErrorStack> {
    if let Some(index) = CONTROL_MARKER.get() {
        return Ok(*index);
    }
    let index = Ssl::new_ex_index()?;
    Ok(*CONTROL_MARKER.get_or_init(|| index))
}

impl TlsSession {
    pub fn new(cfg: &TlsConfig, hostname: &str) -> Result<Self, TlsError> {
        let control = Arc::new(Mutex::new(None));
        let ctx = build_context(cfg, control.clone()).map_err(|e| TlsError::from_stack(&e))?;
        Ok(TlsSession { ctx, hostname: hostname.to_owned(), check_hostname: cfg.check_hostname, control })
    }

    /// A client `Ssl` for a new connection: with `resume`, a data connection
    /// offering a copy of the control connection's session; without, the
    /// control connection itself.
    pub fn new_ssl(&self, resume: bool) -> Result<Ssl, TlsError> {
        let build = || -> Result<Ssl, ErrorStack> {
            let mut ssl = Ssl::new(&self.ctx)?;
            ssl.set_connect_state();
            let ip = self.hostname.parse::<IpAddr>().ok();
            if ip.is_none() && !self.hostname.is_empty() {
                // SNI, as Python sends it: for names only.
                ssl.set_hostname(&self.hostname)?;
            }
            if self.check_hostname {
                let param = ssl.param_mut();
                param.set_hostflags(X509CheckFlags::NO_PARTIAL_WILDCARDS);
                match ip {
                    Some(ip) => param.set_ip(ip)?,
                    None => param.set_host(&self.hostname)?,
                }
            }
            if resume {
                let copy = match self.control.lock().unwrap().as_ref() {
                    Some(session) => Some(SslSession::from_der(&session.to_der()?)?),
                    None => None,
                };
                if let Some(session) = copy {
                    // SAFETY: the session comes from this very context.
                    unsafe { ssl.set_session(&session)? };
                }
            } else {
                ssl.set_ex_data(control_marker()?, ());
            }
            Ok(ssl)
        };
        build().map_err(|e| TlsError::from_stack(&e))
    }
}

fn build_context(cfg: &TlsConfig, control: Arc<Mutex<Option<SslSession>>>) -> Result<SslContext, ErrorStack> {
    let mut b = SslContextBuilder::new(SslMethod::tls_client())?;
    // A TCP close without close_notify reads as EOF, as with Python's
    // suppress_ragged_eofs=True.
    b.set_options(SslOptions::IGNORE_UNEXPECTED_EOF);
    // Read whole socket buffers rather than one TLS record header and body
    // at a time: fewer system calls per GiB.
    b.set_read_ahead(true);
    b.set_verify(if cfg.verify { SslVerifyMode::PEER } else { SslVerifyMode::NONE });
    let mut store = X509StoreBuilder::new()?;
    for der in &cfg.ca_der {
        store.add_cert(X509::from_der(der)?)?;
    }
    if cfg.default_paths {
        store.set_default_paths()?;
    }
    b.set_cert_store(store.build());
    b.set_min_proto_version(cfg.min_version)?;
    b.set_max_proto_version(cfg.max_version)?;
    if let Some(list) = &cfg.cipher_list {
        b.set_cipher_list(list)?;
    }
    if let Some(suites) = &cfg.ciphersuites {
        b.set_ciphersuites(suites)?;
    }
    if let Some(cert) = &cfg.cert_file {
        b.set_certificate_chain_file(cert)?;
        b.set_private_key_file(cfg.key_file.as_ref().unwrap_or(cert), SslFiletype::PEM)?;
        b.check_private_key()?;
    }
    b.set_session_cache_mode(SslSessionCacheMode::CLIENT | SslSessionCacheMode::NO_INTERNAL);
    // Every session the server issues on the control connection (TLS 1.3:
    // each ticket, as it is read) replaces the last; those issued on data
    // connections are not kept (see TlsSession).
    b.set_new_session_callback(move |ssl, session| {
        if CONTROL_MARKER.get().is_some_and(|&index| ssl.ex_data(index).is_some()) {
            *control.lock().unwrap() = Some(session);
        }
    });
    Ok(b.build())
}
