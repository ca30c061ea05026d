//! The smallest useful daemon on this library: `#![no_std]`, `#![no_main]`, no libc calls,
//! no allocation. `tiny_daemon /run/tiny.pid` locks the PID file, forks the daemon and
//! returns; the daemon waits for SIGTERM, empties its PID file and exits 0.
//!
//! # Two ways to link it
//!
//! Cargo's build-script link flags can target every example (`rustc-link-arg-examples`) but
//! not one of them, and the std examples next to this one need libc's startup files. So this
//! program links either way, without any special flag from `build.rs`:
//!
//! - **Ordinarily** (`cargo build --examples`, and cargo test's example build): libc's
//!   startup code is linked as usual and calls our C-ABI `main`; the weak `_start` below
//!   loses to libc's strong one. Apart from that start-up, the program makes no libc call.
//! - **The tiny static path**: no startup files, no libc, static, no PIE:
//!
//!   ```text
//!   cargo rustc --release --example tiny_daemon -- @examples/tiny_daemon.rustc-args
//!   ```
//!
//!   That argument file (one rustc argument a line) gives `--cfg ucw_static`, a static
//!   relocation model, `-nostartfiles -nostdlib -static -no-pie --gc-sections`, and the
//!   tools' own size flags: no build id, no RELRO, no separate code pages, no
//!   `.eh_frame_hdr`, and `examples/tiny_daemon.ld`, which drops the unwind tables (the
//!   program aborts on panic; 4.5 KB of the file).
//!
//!   Then our weak `_start` is the only one: it passes the kernel's `argc`/`argv`/`envp` to
//!   `main` and hands its return value to `exit_group`; the memory functions the compiler
//!   calls (`memcpy`, ...) are defined at the end of this file. `tests/run-all` builds it
//!   this way and runs it.

// rustc refuses `no_std` with unwinding panics, and `cargo test` builds examples with its
// test profile, which always unwinds: there (only) std is linked so that the example still
// compiles and links; the code is the same and calls nothing from std. (With the library's
// `std` feature, std's panic handler and unwinder symbols replace ours, below.)
#![cfg_attr(panic = "abort", no_std)]
#![no_main]

use core::ffi::{c_char, c_int, CStr};
use ucw_daemon::credentials::Credentials;
use ucw_daemon::daemon::{self, Fork, Params, Running};
use ucw_daemon::signal::{Signal, SignalSet, Signals};

/// The only signal the daemon acts on.
const STOP: SignalSet = SignalSet::EMPTY.with(Signal::TERM);

/// Writes `bytes` to stderr, ignoring errors (there is nowhere to report them).
fn complain(bytes: &[u8]) {
    // SAFETY: descriptor 2 is only borrowed for this write; nothing here closes it.
    let _ = rustix::io::write(unsafe { rustix::stdio::stderr() }, bytes);
}

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

/// The program; called by libc's startup code or by our `_start`.
#[no_mangle]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    if argc != 2 {
        complain(b"Usage: tiny_daemon PID_FILE (an absolute path)\n");
        return 1;
    }
    // SAFETY: argv holds `argc` valid NUL-terminated strings that live as long as the process.
    let pid_file = unsafe { CStr::from_ptr(*argv.add(1)) };
    let params = Params {
        pid_file: Some(pid_file),
        ..Params::default()
    };
    // Blocked before the fork, so a SIGTERM during start-up waits for the body.
    if ucw_daemon::signal::block(STOP).is_err() {
        return 102;
    }
    // No user or group here: room for the one group a `--group` alone would need.
    let mut groups = [rustix::process::Gid::ROOT; 1];
    let mut credentials = Credentials::new(&mut groups);
    // SAFETY: this program has no C library (see the module docs) and no threads.
    let fork = unsafe { Fork::raw_clone() };
    let launched = match daemon::init(&params, &mut credentials) {
        Ok(daemon) => daemon.run(fork, body),
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
            complain(&line[..=end]);
            102
        }
    }
}

/// Called by `_start` with the initial stack pointer (static, libc-free link only).
///
/// # Safety
/// `stack` must be the stack pointer the kernel passed to the process entry point.
unsafe extern "C" fn start(stack: *const usize) -> ! {
    // SAFETY: the process-entry layout: argc, then argv[argc] and its terminating null.
    let code = unsafe { main(*stack as c_int, stack.add(1) as *const *const c_char) };
    daemon::exit_group(code)
}

// Weak, so that libc's `_start` wins when libc's startup files are linked.
#[cfg(target_arch = "x86_64")]
core::arch::global_asm!(
    ".weak _start",
    ".type _start,@function",
    "_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {start}",
    "ud2",
    start = sym start,
);

#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".weak _start",
    ".type _start,%function",
    "_start:",
    "mov x29, xzr",
    "mov x30, xzr",
    "mov x0, sp",
    "and sp, x0, #-16",
    "bl {start}",
    "brk #0x1",
    start = sym start,
);

// libc's startup code calls `__libc_start_main` in libc: ask for libc, which the ordinary link
// then takes from libc.so. The static link (`--cfg ucw_static`) does not ask for it at all:
// a `-lc` there would resolve to libc.so and leave an empty dynamic section behind.
#[cfg_attr(not(ucw_static), link(name = "c"))]
extern "C" {}

// The memory functions the compiler emits calls to: the tools' own (src/rt/memory.rs). In the
// ordinary link they replace libc's for this program; in the static link they are the only
// ones.
#[path = "../src/rt/memory.rs"]
mod memory;

#[cfg(all(panic = "abort", not(feature = "std")))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    complain(b"tiny_daemon: internal error (panic)\n");
    daemon::exit_group(102)
}

// The precompiled core of an unoptimised build still refers to the unwinder; every panic
// aborts above, so these are never called.
#[cfg(all(panic = "abort", not(feature = "std")))]
#[no_mangle]
extern "C" fn rust_eh_personality() {}

#[cfg(all(panic = "abort", not(feature = "std")))]
#[allow(non_snake_case)]
#[no_mangle]
extern "C" fn _Unwind_Resume() -> ! {
    daemon::exit_group(102)
}
