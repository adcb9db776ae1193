//! rftplib: a drop-in replacement for Python's `ftplib`, with a Rust engine.
//!
//! `proto` is the sans-IO protocol core, `client` the blocking engine that moves
//! bytes, and `py` the only layer that knows about Python.

pub mod client;
pub mod jobs;
pub mod proto;
mod py;
