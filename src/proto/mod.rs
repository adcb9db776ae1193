//! Sans-IO FTP protocol pieces: bytes and strings in, lines, replies and
//! commands out. No sockets, no clock, no Python.

pub mod address;
pub mod command;
pub mod feat;
pub mod lines;
pub mod listing;
pub mod reply;
pub mod timeval;

#[cfg(test)]
mod fuzz_tests;
