//! The credentials of the last successful `login()`, kept in Rust memory
//! only: an opaque object in the instance dict with no Python accessors, so
//! that whole-file transfers can log sibling sessions in (and log in again
//! after a reconnect) without the password being readable from Python.

use pyo3::intern;
use pyo3::prelude::*;

use crate::jobs::session::Credentials;

const ATTR: &str = "_rftplib_login";

#[pyclass(module = "rftplib._rftplib", name = "_Login", frozen)]
pub struct Login {
    creds: Credentials,
}

#[pymethods]
impl Login {
    fn __repr__(&self) -> String {
        "<rftplib login>".to_owned()
    }
}

/// Stores the credentials of a successful login on the instance.
pub fn remember(this: &Bound<'_, PyAny>, user: String, passwd: String, acct: String) -> PyResult<()> {
    let py = this.py();
    let login = Bound::new(py, Login { creds: Credentials { user, passwd, acct } })?;
    this.setattr(intern!(py, ATTR), login)
}

/// The credentials stored by the last login, if any.
pub fn recall(this: &Bound<'_, PyAny>) -> Option<Credentials> {
    let attr = this.getattr(ATTR).ok()?;
    let login = attr.cast::<Login>().ok()?;
    Some(login.get().creds.clone())
}
