//! The smallest useful daemon on this library: `#![no_std]`, `#![no_main]`, no libc calls,
//! no allocation. `tiny_daemon /run/tiny.pid` locks the PID file, forks the daemon and
//! returns; the daemon waits for SIGTERM, empties its PID file and exits 0.
//!
//! Its runtime is the tools' (tools/src/rt, included below with `#[path]`, as the multi-call
//! binary does): `_start` hands the kernel's command line to `main` and its return value to
//! `exit_group`; the panic handler; the memory functions the compiler calls.
//!
//! # Two ways to link it
//!
//! Cargo's build-script link flags can target every example (`rustc-link-arg-examples`) but
//! not one of them, and the std examples next to this one need libc's startup files. So this
//! program links either way, without any special flag from `build.rs`:
//!
//! - **The tiny static path**: no startup files, no libc, static, no PIE:
//!
//!   ```text
//!   cargo rustc --release --example tiny_daemon -- @examples/tiny_daemon.rustc-args
//!   cargo rustc --release --example tiny_daemon --no-default-features -- @examples/tiny_daemon.rustc-args
//!   ```
//!
//!   That argument file (one rustc argument a line) gives `--cfg ucw_static`, a static
//!   relocation model, `-nostartfiles -nostdlib -static -no-pie --gc-sections`, and the
//!   tools' own size flags: no build id, no RELRO, no separate code pages, no
//!   `.eh_frame_hdr`, and `examples/tiny_daemon.ld`, which drops the unwind tables (the
//!   program aborts on panic). The runtime's `_start` is then the only one. The second
//!   command leaves out the library's `messages` feature: errors still say what failed, on
//!   which path and the errno's name (`open PID file /run/x.pid: EACCES`), without the
//!   sentences. `size-report/build-tiny-daemon [--no-messages]` runs these and prints the
//!   stripped file's path; `tests/run-all` builds it this way and runs it.
//! - **Ordinarily** (`cargo build --examples`, and cargo test's example build): libc's
//!   startup code is linked as usual and calls the C `main` below; the runtime's weak
//!   `_start` loses to libc's strong one. Apart from that start-up, the program makes no
//!   libc call. (The library's `std` feature is for std programs, not for this one.)

// rustc refuses `no_std` with unwinding panics, and `cargo test` builds examples with its
// test profile, which always unwinds: there (only) std is linked so that the example still
// compiles and links; the code is the same and calls nothing from std.
#![cfg_attr(panic = "abort", no_std)]
#![no_main]

#[path = "../tools/src/rt/mod.rs"]
mod rt;

#[path = "../tools/src/rt/entry.rs"]
mod entry;

use rt::Startup;
use ucw_daemon::credentials::Credentials;
use ucw_daemon::daemon::{self, Params, Running};
use ucw_daemon::signal::{Signal, SignalSet, Signals};

/// The only signal the daemon acts on.
const STOP: SignalSet = SignalSet::EMPTY.with(Signal::TERM);

/// The daemon: wait for SIGTERM (blocked since before the fork, read from a signalfd), then
/// empty the PID file and exit.
fn body(running: Running) -> i32 {
    if let Ok(signals) = Signals::new(STOP) {
        while signals.wait().is_err() {}
    }
    match running.exit() {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// The program, called by the runtime's `_start` (or by the C `main` below).
fn main(mut startup: Startup) -> i32 {
    let &mut [pid_file] = startup.arguments() else {
        rt::write_all(2, b"Usage: tiny_daemon PID_FILE (an absolute path)\n");
        return 1;
    };
    let pid_file = pid_file.text();
    let params = Params {
        pid_file: Some(pid_file),
        ..Params::default()
    };
    // Blocked before the fork, so a SIGTERM during start-up waits for the body.
    if ucw_daemon::signal::block(STOP).is_err() {
        return ucw_daemon::control::ERROR_EXIT_CODE;
    }
    // No user or group here: room for the one group a `--group` alone would need, so the
    // value is about 4.4 KB and lives on the stack. (The runtime's `.bss` storage, with room
    // for every group the kernel allows, is for `ucw-daemonize`: here it would add a writable
    // segment and its headers, 152 bytes of this file.)
    let mut groups = [rustix::process::Gid::ROOT; 1];
    let mut credentials = Credentials::new(&mut groups);
    let launched = match daemon::init(&params, &mut credentials) {
        Ok(daemon) => daemon.run(rt::HOST, body),
        Err(error) => Err(error),
    };
    match launched {
        Ok(_) => 0,
        Err(error) => {
            // The whole line in one write: `tiny_daemon: <message>\n`.
            let mut line = [0u8; 256];
            let prefix = b"tiny_daemon: ";
            line[..prefix.len()].copy_from_slice(prefix);
            let end = prefix.len() + error.render(&params, &mut line[prefix.len()..255]);
            line[end] = b'\n';
            rt::write_all(2, &line[..=end]);
            102
        }
    }
}

/// The ordinary link's entry: libc's startup code calls this.
#[cfg(not(ucw_static))]
#[export_name = "main"]
extern "C" fn c_main(
    argc: core::ffi::c_int,
    argv: *mut *const core::ffi::c_char,
    envp: *const *const core::ffi::c_char,
) -> core::ffi::c_int {
    // SAFETY: libc passes the kernel's vectors, alive for the whole process; this is the
    // only `Startup` made from them.
    main(unsafe { Startup::from_vectors(argc as usize, argv, envp) })
}

// libc's startup code calls `__libc_start_main` in libc: ask for libc, which the ordinary link
// then takes from libc.so. The static link (`--cfg ucw_static`) does not ask for it at all:
// a `-lc` there would resolve to libc.so and leave an empty dynamic section behind.
#[cfg_attr(not(ucw_static), link(name = "c"))]
extern "C" {}
