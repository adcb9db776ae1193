//! Python access to the FEAT and hash-reply parsers (`FTP.feat`, `FTP.checksum`).

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::proto::feat::{choose_hash, parse_feat, parse_hash_reply, HashAlgorithm, HashMethod};

/// The features of a FEAT reply: `[(NAME, params), ...]` in the server's order.
#[pyfunction]
fn _parse_feat(reply: &str) -> Vec<(String, String)> {
    parse_feat(reply)
}

fn algorithm(name: &str) -> PyResult<HashAlgorithm> {
    HashAlgorithm::from_name(name).ok_or_else(|| {
        PyValueError::new_err(format!("unknown hash algorithm {name:?} (use SHA-256, SHA-1, MD5 or CRC32)"))
    })
}

/// How to ask the server for a hash: `(command, algorithm, opts)` where
/// `command` is "HASH" or an X command, `algorithm` the canonical name and
/// `opts` the `OPTS HASH` argument to send first (None for X commands);
/// None when the server offers no way.
#[pyfunction]
#[pyo3(signature = (features, wanted=None))]
fn _choose_hash(
    features: Vec<(String, String)>,
    wanted: Option<&str>,
) -> PyResult<Option<(&'static str, &'static str, Option<String>)>> {
    let wanted = wanted.map(algorithm).transpose()?;
    Ok(choose_hash(&features, wanted).map(|m| match m {
        // OPTS HASH every time: FEAT's mark may be stale (a download or an
        // earlier checksum() may have selected another algorithm).
        HashMethod::Hash { algorithm, name, .. } => ("HASH", algorithm.name(), Some(name)),
        HashMethod::XCommand(a) => (a.x_command(), a.name(), None),
    }))
}

/// The hex digest in a HASH or X-command reply, None if there is none.
#[pyfunction]
fn _parse_hash_reply(reply: &str, algorithm_name: &str) -> PyResult<Option<String>> {
    Ok(parse_hash_reply(reply, algorithm(algorithm_name)?))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_parse_feat, m)?)?;
    m.add_function(wrap_pyfunction!(_choose_hash, m)?)?;
    m.add_function(wrap_pyfunction!(_parse_hash_reply, m)?)?;
    Ok(())
}
