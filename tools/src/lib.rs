//! # ucw-daemon-tools
//!
//! The multi-call binary `ucw-daemon`: one static, libc-free, `no_std` + `no_main` program that
//! is `ucw-daemon-control` (LibUCW's daemon-control tool, a drop-in replacement) and
//! `ucw-daemonize` (any foreground program under the protocol) by the name it is started as,
//! and answers `ucw-daemon control ...` / `ucw-daemon daemonize ...` (docs/design.md §1, §8).
//!
//! This library part holds everything but the process entry: the binaries' roots
//! (`src/bin/*.rs`) include `src/main.rs` (the dispatch on `argv[0]`) and `src/rt/entry.rs`
//! (`_start`, the panic handler, the memory functions), so that tests and fuzz targets can link
//! the command lines and applets as ordinary code.
//!
//! ## Module map
//!
//! Data flows one way: `main.rs` → the applets ([`control`] with `status`, [`daemonize`]) → [`cli`] (the
//! command lines) and [`output`] (the lines they print) → the library `ucw_daemon` → [`rt`]
//! (the runtime: the kernel's command line and environment, exit, the standard streams).
//! Nothing here is part of the library's API.
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod cli;
pub mod control;
pub mod daemonize;
pub mod output;
pub mod rt;
#[cfg(feature = "status")]
pub mod status;
