//! Mirror a directory tree between a server and the local disk: a plan made
//! from the two trees' listings, run over a pool of sessions.

pub mod control;
pub mod ftp;
mod ftp_download;
pub mod glob;
pub mod local;
pub mod plan;
pub mod remote;
pub mod run;
pub mod walk;

#[cfg(test)]
mod fake_tests;
