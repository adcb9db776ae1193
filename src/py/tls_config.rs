//! Reading a Python `ssl.SSLContext` into the engine's [`TlsConfig`].
//!
//! Carried over: `verify_mode`, `check_hostname`, the CA certificates the
//! context holds, `minimum_version`/`maximum_version` and the enabled
//! ciphers. Everything else a context may hold (a client certificate loaded
//! with `load_cert_chain`, ALPN, SNI callbacks, verify flags, CRLs, a lazily
//! read `capath`, key logging) cannot be read back from Python and is not.

use std::path::PathBuf;

use openssl::ssl::SslVersion;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::client::tls::TlsConfig;

fn version(v: i64) -> Option<SslVersion> {
    match v {
        0x0300 => Some(SslVersion::SSL3),
        0x0301 => Some(SslVersion::TLS1),
        0x0302 => Some(SslVersion::TLS1_1),
        0x0303 => Some(SslVersion::TLS1_2),
        0x0304 => Some(SslVersion::TLS1_3),
        // MINIMUM_SUPPORTED / MAXIMUM_SUPPORTED
        _ => None,
    }
}

pub fn from_context(
    ctx: &Bound<'_, PyAny>,
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
) -> PyResult<TlsConfig> {
    let py = ctx.py();
    let ssl = py.import("ssl")?;
    let verify = ctx.getattr("verify_mode")?.ne(ssl.getattr("CERT_NONE")?)?;
    let check_hostname = ctx.getattr("check_hostname")?.is_truthy()?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("binary_form", true)?;
    let mut ca_der = Vec::new();
    for der in ctx.call_method("get_ca_certs", (), Some(&kwargs))?.try_iter()? {
        ca_der.push(der?.cast::<PyBytes>()?.as_bytes().to_vec());
    }
    let min_version = ctx.getattr("minimum_version").and_then(|v| v.extract::<i64>()).ok().and_then(version);
    let max_version = ctx.getattr("maximum_version").and_then(|v| v.extract::<i64>()).ok().and_then(version);
    let mut tls12 = Vec::new();
    let mut tls13 = Vec::new();
    for cipher in ctx.call_method0("get_ciphers")?.try_iter()? {
        let cipher = cipher?;
        let name: String = cipher.get_item("name")?.extract()?;
        let protocol: String = cipher.get_item("protocol")?.extract()?;
        if protocol == "TLSv1.3" {
            tls13.push(name);
        } else {
            tls12.push(name);
        }
    }
    Ok(TlsConfig {
        verify,
        check_hostname,
        ca_der,
        default_paths: false,
        min_version,
        max_version,
        cipher_list: (!tls12.is_empty()).then(|| tls12.join(":")),
        ciphersuites: (!tls13.is_empty()).then(|| tls13.join(":")),
        cert_file,
        key_file,
    })
}
