//! # ucw-daemon
//!
//! LibUCW's daemonization helper and its race-free daemon-control protocol: `#![no_std]`, no heap,
//! no libc; every system call goes through rustix's `linux_raw` backend or a few raw ones of our
//! own.
//!
//! ## Quick start
//!
//! A std program depends on the crate with its `std` feature (`Fork::std()`) and on rustix (group
//! ids):
//!
//! ```toml
//! [dependencies]
//! ucw-daemon = { version = "0.1", features = ["std"] }
//! rustix = "1"
//! ```
//!
//! This program (`examples/quick_start.rs`; as root: `cargo run --features std --example
//! quick_start /tmp/q.pid`) forks a daemon that runs as `nobody` until SIGTERM, then checks and
//! stops it as any process could, through [`control::control`] and the guard file
//! [`control::default_guard_file`] names:
//!
#![cfg_attr(
    feature = "std",
    doc = concat!("```no_run\n", include_str!("../examples/quick_start.rs"), "```")
)]
#![cfg_attr(
    not(feature = "std"),
    doc = concat!("```text\n", include_str!("../examples/quick_start.rs"), "```")
)]
//!
//! The tools are the crate `ucw-daemon-tools`; C programs link `ucw-daemon-capi`
//! (`<ucw/daemon.h>`).
//!
//! ## Daemonization (LibUCW's `daemon_init` / `daemon_run` / `daemon_exit`)
//!
//! - [`daemon`]: [`daemon::init`] → [`daemon::Daemon`] → in the body [`daemon::Running`];
//!   [`daemon::Params`], [`daemon::Flags`], [`daemon::Launched`], [`daemon::Fork`].
//! - [`credentials`]: [`credentials::Identity`], [`credentials::Credentials`].
//! - [`account`]: passwd and group lookups.
//! - [`control`]: [`control::control`] → [`control::Outcome`]; [`control::report`] (CHECK in full),
//!   [`control::Params`], [`control::Action`]; [`control::StringList`].
//! - [`signal`]: [`signal::Signal`], [`signal::SignalSet`], [`signal::Signals`] (a signalfd).
//! - Errors, at the root: [`Error`], [`ErrorKind`], [`Subject`], [`Context`].
//!
//! The public face has 103 nameable items (`size-report/public-items`); docs/design.md §8 allows
//! 100 and records the miss.
//!
//! Data flows one way (docs/design.md §8): tools and C ABI → [`control`] / [`daemon`] → `pidfile`,
//! [`credentials`] → [`account`], `exec` → `error`, `text` → `sys` (the few raw system calls, the
//! only `unsafe`). Linking this crate adds no entry point or memory functions.
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod account;
pub mod control;
pub mod credentials;
pub mod daemon;
pub mod signal;

mod error;
mod exec;
mod io;
mod sys;
mod text;

// The PID file's classification is the fuzz targets' (tests/fuzz) business too.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod pidfile;
#[cfg(not(fuzzing))]
mod pidfile;

// Fault injection for the tests' programs: public only with `--cfg ucw_failpoints`.
#[cfg(ucw_failpoints)]
#[doc(hidden)]
pub mod failpoint;
#[cfg(not(ucw_failpoints))]
mod failpoint;

pub use error::{Context, Error, ErrorKind, Subject};

// The repository README's Rust examples as doc tests (build.rs sets `ucw_readme` where README.md
// is).
#[cfg(all(doctest, feature = "std", ucw_readme))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
