//! # ucw-daemon
//!
//! LibUCW's daemonization helper and its race-free daemon-control protocol, `#![no_std]` and
//! without libc: every system call goes through rustix's `linux_raw` backend or our own
//! minimal [`sys`] layer.
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
// Errors are complete sentences in a fixed buffer (no heap by design), so `Result<_, Error>`
// is large on purpose; callers move it rarely (only on failure paths).
#![allow(clippy::result_large_err)]

#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod account;
pub mod cli;
pub mod control;
pub mod credentials;
pub mod daemon;
pub mod error;
pub mod failpoint;
pub mod pidfile;
pub mod signal;
pub mod sys;
pub mod text;

pub use error::{Error, Result};
