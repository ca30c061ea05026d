//! # ucw-daemon-capi
//!
//! LibUCW's `<ucw/daemon.h>` for C programs, as a static library (`libucw_daemon_capi.a`):
//! the six functions `daemon_init`, `daemon_run`, `daemon_exit`, `daemon_resolve_ugid`,
//! `daemon_switch_ugid` and `daemon_control`, with LibUCW's signatures and structures
//! (`capi/include/ucw/daemon.h`, whose comments are the contract), implemented by the
//! `ucw_daemon` library.
//!
//! This crate owns the C ABI and nothing else: the structures' layout, the order the calls may
//! come in, the process-wide state between them, fatal errors and `error_msg`. It must never
//! make decisions of the protocol (those are the library's), never take from the program's C
//! library more than [`host`] lists, never bring a Rust runtime (no std, no unwinder, no
//! allocator, no `memcpy` of its own: the program's libc provides those), and never let a
//! panic unwind into C.
//!
//! ## Module map
//!
//! - [`abi`] mirrors `struct daemon_params`, `struct daemon_control_params` and the header's
//!   numbers, with compile-time checks of LibUCW's LP64 layout;
//! - [`daemon`] holds the daemonization helper (five functions) and its process-wide state:
//!   one daemonization per process;
//! - [`control`] is `daemon_control()`;
//! - [`fatal`] prints the fatal line (`message\n` on descriptor 2 in one `write`, then
//!   `exit(1)`), with the bounded writer of [`text`], which `error_msg` uses too;
//! - [`host`] declares the program's `fork`, `exit`, `environ` and `__errno_location`;
//! - `panic` is the panic handler (and the weak `rust_eh_personality` stub).
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod abi;
pub mod control;
pub mod daemon;
pub mod fatal;
pub mod host;
mod panic;
pub mod text;
