//! # ucw-daemon
//!
//! LibUCW's daemonization helper and its race-free daemon-control protocol, `#![no_std]`, with
//! no heap and without libc: every system call goes through rustix's `linux_raw` backend or a
//! few raw ones of our own.
//!
//! ## Quick start
//!
//! A std program depends on the crate with its `std` feature (for `Fork::std()`, the C
//! library's fork) and on rustix (for the group ids):
//!
//! ```toml
//! [dependencies]
//! ucw-daemon = { version = "0.1", features = ["std"] }
//! rustix = "1"
//! ```
//!
//! This program (`examples/quick_start.rs`; as root: `cargo run --features std --example
//! quick_start /tmp/q.pid`) locks a PID file, forks a daemon that runs as `nobody` until
//! SIGTERM, then, as any other process could, checks it and stops it through
//! [`control::control`], serialised by the guard file [`control::default_guard_file`] names:
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
//! The tools (`ucw-daemon-control`, `ucw-daemonize`) are the crate `ucw-daemon-tools`; C
//! programs link `ucw-daemon-capi`, LibUCW's `<ucw/daemon.h>`.
//!
//! ## Daemonization (LibUCW's `daemon_init` / `daemon_run` / `daemon_exit`)
//!
//! - [`daemon`]: [`daemon::init`] → [`daemon::Daemon`] (`run`, `run_until_ready`,
//!   `close_inherited_fds`, `credentials`, `lock_fd`) → in the body [`daemon::Running`]
//!   (`ready`, `report_failure`, `exit`, `launcher`, `lock_fd`); [`daemon::Params`],
//!   [`daemon::Flags`], [`daemon::Launched`], and [`daemon::Fork`], how the program creates
//!   processes and ends (`raw_clone`, `hosted`, `std`).
//! - [`credentials`]: [`credentials::Identity`] (a name or `#id`) and
//!   [`credentials::Credentials`] (resolve, switch).
//! - [`account`]: the passwd and group lookups ([`account::AccountFiles`]).
//! - [`control`]: [`control::control`] (→ [`control::Outcome`]: the [`control::Status`], the
//!   PID seen, the guard held until it is dropped), [`control::report`] (CHECK in full: since
//!   when the holder runs, and what a supervisor's status file says) with [`control::Params`] and
//!   [`control::Action`] (and [`control::ERROR_EXIT_CODE`]); [`control::StringList`], an
//!   argument or environment list, which also execs a program the way START does (`exec`).
//! - [`signal`]: [`signal::Signal`] (names and numbers), [`signal::SignalSet`],
//!   [`signal::block`], [`signal::reset_for_exec`], [`signal::set_default_action`], and
//!   [`signal::Signals`], a signalfd.
//! - Errors, at the root: [`Error`] (`kind`, `subject`, `errno`, `render`, `display`,
//!   `custom`, `with`, `body_failed`), [`ErrorKind`], [`Subject`], [`Context`] (names and a
//!   program's own words).
//!
//! That is the whole public face: 103 nameable items, counted from rustdoc's JSON by
//! `size-report/public-items` (tests/run-all's style stage runs it). The design allows 100;
//! docs/design.md §8 says why three more, and the script reports them as a recorded miss.
//!
//! Data flows one way (docs/design.md §8): the tools (`tools/`) and the C ABI (`capi/`) use
//! this public face only → [`control`] / [`daemon`] → the private `pidfile` (open, lock,
//! classify), [`credentials`] → [`account`], `exec` (argument lists, `PATH` search) → the
//! private `error` and `text` (the one error type and its words) → `sys` (the few raw system
//! calls rustix lacks, the only home of `unsafe`). No module reaches upward. The tools'
//! runtime (`_start`, panic handler, `memcpy` & co.) is theirs: linking this crate into an
//! ordinary program adds no entry point and no memory functions.
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

// Fault injection for the tests' programs: public only in `--cfg ucw_failpoints` builds.
#[cfg(ucw_failpoints)]
#[doc(hidden)]
pub mod failpoint;
#[cfg(not(ucw_failpoints))]
mod failpoint;

pub use error::{Context, Error, ErrorKind, Subject};

// The repository README's Rust examples compile as doc tests (with the `std` feature: they
// are std programs that fork with `Fork::std()`; tests/run-all runs them). The published
// crate has no README.md (its page is docs/library.md): build.rs sets `ucw_readme` only
// where it is.
#[cfg(all(doctest, feature = "std", ucw_readme))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
