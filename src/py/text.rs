//! Encoding and decoding with the connection's `encoding`, with fast paths
//! for UTF-8 and latin-1 and Python's codecs for everything else. Decoding is
//! strict, as in ftplib: invalid bytes raise `UnicodeDecodeError`.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::proto::lines::CharWidth;

#[derive(Clone, Debug)]
pub enum Codec {
    Utf8,
    Latin1,
    /// Any other Python codec, by name. Lines are split on `\r`/`\n` bytes,
    /// so the codec must be ASCII-compatible (every FTP server's is).
    Other(String),
}

impl Codec {
    pub fn lookup(encoding: &Bound<'_, PyAny>) -> PyResult<Codec> {
        if let Ok(s) = encoding.cast::<PyString>() {
            if s.to_cow()? == "utf-8" {
                return Ok(Codec::Utf8);
            }
        }
        let py = encoding.py();
        let info = py.import("codecs")?.call_method1("lookup", (encoding,))?;
        let name: String = info.getattr("name")?.extract()?;
        Ok(match name.as_str() {
            "utf-8" => Codec::Utf8,
            "iso8859-1" => Codec::Latin1,
            _ => Codec::Other(name),
        })
    }

    pub fn width(&self) -> CharWidth {
        match self {
            Codec::Utf8 => CharWidth::Utf8,
            _ => CharWidth::SingleByte,
        }
    }

    pub fn decode<'py>(&self, py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyString>> {
        match self {
            Codec::Utf8 => match std::str::from_utf8(bytes) {
                Ok(s) => Ok(PyString::new(py, s)),
                // Let Python raise the exact UnicodeDecodeError.
                Err(_) => Ok(PyBytes::new(py, bytes).call_method1("decode", ("utf-8",))?.cast_into()?),
            },
            Codec::Latin1 => {
                if bytes.is_ascii() {
                    // SAFETY-free fast path: ASCII is valid UTF-8.
                    Ok(PyString::new(py, std::str::from_utf8(bytes).unwrap_or_default()))
                } else {
                    let s: String = bytes.iter().map(|&b| b as char).collect();
                    Ok(PyString::new(py, &s))
                }
            }
            Codec::Other(name) => Ok(PyBytes::new(py, bytes).call_method1("decode", (name.as_str(),))?.cast_into()?),
        }
    }
}

/// `s.encode(encoding)`, strict.
pub fn encode(s: &Bound<'_, PyAny>, encoding: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let (Ok(text), Ok(enc)) = (s.cast::<PyString>(), encoding.cast::<PyString>()) {
        if enc.to_cow()? == "utf-8" {
            // to_cow raises UnicodeEncodeError for lone surrogates, as encode does.
            if let Ok(v) = text.to_cow() {
                return Ok(v.as_bytes().to_vec());
            }
        }
    }
    let b = s.call_method1("encode", (encoding,))?;
    Ok(b.cast::<PyBytes>()?.as_bytes().to_vec())
}
