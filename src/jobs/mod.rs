//! Whole jobs above one connection: the session pool and mirror. No pyo3.

pub mod mirror;
pub mod pool;
