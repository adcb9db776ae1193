//! Calls between `FTP`'s own methods. ftplib calls them through `self`, so a
//! subclass's override is used; rftplib does the same, but skips Python's
//! method lookup when nothing can have overridden the method.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyString;

use super::ftp::Ftp;

/// `self` when the method `name` is rftplib's own for this object (its class
/// is `FTP` or `FTP_TLS` and the instance does not shadow the method), so
/// that the call can skip Python's method lookup; `None` when a subclass or
/// the instance may override it and the call must go through Python.
fn native<'a, 'py>(this: &'a Bound<'py, PyAny>, name: &Bound<'py, PyString>) -> Option<&'a Bound<'py, Ftp>> {
    let py = this.py();
    let ty = this.get_type();
    let ours = if ty.is(py.get_type::<Ftp>()) {
        true
    } else if ty.is(py.get_type::<super::ftp_tls::FtpTls>()) {
        // FTP_TLS's own overrides must run.
        !super::ftp_tls::OVERRIDES.contains(&name.to_cow().ok()?.as_ref())
    } else {
        false
    };
    if !ours {
        return None;
    }
    let shadowed = match this.getattr(intern!(py, "__dict__")) {
        Ok(d) => d.cast::<pyo3::types::PyDict>().map(|d| d.contains(name).unwrap_or(true)).unwrap_or(true),
        Err(_) => true,
    };
    if shadowed {
        None
    } else {
        this.cast::<Ftp>().ok()
    }
}

fn arg<'py, A: IntoPyObject<'py>>(py: Python<'py>, a: A) -> PyResult<Bound<'py, PyAny>> {
    use pyo3::BoundObject;
    a.into_pyobject(py).map(|b| b.into_any().into_bound()).map_err(Into::into)
}

/// `self.<name>(arg)` for the methods on the hot path of every command.
macro_rules! hot_call {
    ($fn_name:ident, $method:literal, one) => {
        pub(crate) fn $fn_name<'py, A: IntoPyObject<'py>>(
            this: &Bound<'py, PyAny>,
            a: A,
        ) -> PyResult<Bound<'py, PyAny>> {
            let py = this.py();
            let a = arg(py, a)?;
            match native(this, intern!(py, $method)) {
                Some(f) => Ftp::$fn_name(f, &a).map(|r| r.into_any()),
                None => this.call_method1(intern!(py, $method), (a,)),
            }
        }
    };
    ($fn_name:ident, $method:literal, unit) => {
        pub(crate) fn $fn_name<'py, A: IntoPyObject<'py>>(this: &Bound<'py, PyAny>, a: A) -> PyResult<()> {
            let py = this.py();
            let a = arg(py, a)?;
            match native(this, intern!(py, $method)) {
                Some(f) => Ftp::$fn_name(f, &a),
                None => this.call_method1(intern!(py, $method), (a,)).map(drop),
            }
        }
    };
    ($fn_name:ident, $method:literal, none) => {
        pub(crate) fn $fn_name<'py>(this: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
            let py = this.py();
            match native(this, intern!(py, $method)) {
                Some(f) => Ftp::$fn_name(f).map(|r| r.into_any()),
                None => this.call_method0(intern!(py, $method)),
            }
        }
    };
}

pub(crate) mod hot {
    use super::*;
    hot_call!(putline, "putline", unit);
    hot_call!(putcmd, "putcmd", unit);
    hot_call!(sendcmd, "sendcmd", one);
    hot_call!(voidcmd, "voidcmd", one);
    hot_call!(getline, "getline", none);
    hot_call!(getmultiline, "getmultiline", none);
    hot_call!(getresp, "getresp", none);
    hot_call!(voidresp, "voidresp", none);
    hot_call!(makepasv, "makepasv", none);

    /// `self.transfercmd(cmd, rest)`.
    pub(crate) fn transfercmd<'py>(
        this: &Bound<'py, PyAny>,
        cmd: &Bound<'py, PyAny>,
        rest: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = this.py();
        match native(this, intern!(py, "transfercmd")) {
            Some(f) => match native(this, intern!(py, "ntransfercmd")) {
                Some(f) => Ftp::ntransfercmd(f, cmd, rest)?.get_item(0),
                None => Ftp::transfercmd(f, cmd, rest),
            },
            None => this.call_method1(intern!(py, "transfercmd"), (cmd, rest)),
        }
    }
}
