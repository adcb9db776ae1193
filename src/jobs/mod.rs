//! Whole jobs above one connection: sessions opened from what a logged-in
//! client knows, whole-file downloads and uploads with resume, verification,
//! retries, rate limits and parallel ranges, the session pool, and mirror.
//! No Python here: progress and cancellation are shared atomics the caller
//! polls and sets.

pub mod cancel;
pub mod data;
pub mod download;
pub mod error;
pub mod fetch;
pub mod hash;
pub mod job;
pub mod local;
pub mod mirror;
pub mod parallel;
pub mod pool;
pub mod progress;
pub mod ranges;
pub mod rate;
pub mod retry;
pub mod session;
pub mod splice;
pub mod upload;

pub use error::{Error, Result};

#[cfg(test)]
mod session_tests;
