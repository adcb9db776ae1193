//! The blocking engine: sockets, timeouts and byte movement. Every operation
//! that can block does so for at most one [`wait::SLICE`] and then reports
//! [`wait::Poll::Pending`], so the caller can release the GIL for the wait and
//! check for signals between slices.

pub mod conn;
pub mod connect;
pub mod error;
pub mod listener;
pub mod stream;
pub mod tls;
pub mod wait;

pub use error::Error;
