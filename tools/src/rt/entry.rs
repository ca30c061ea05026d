//! The process entry of the multi-call binary: `_start`, which hands the kernel's initial
//! stack to the dispatcher (`main.rs`) and ends the process with its exit code; the panic
//! handler; and the memory functions the compiler calls (`memory.rs`).
//!
//! Only programs include this file, with `#[path]`: the multi-call binary (through `main.rs`)
//! and examples/tiny_daemon.rs. The crate's library part links into ordinary test programs,
//! which must keep their C library's `_start` and `memcpy`. The including module provides
//! `rt` (tools/src/rt/mod.rs, as a module or imported) and `fn main(startup: rt::Startup) ->
//! i32`.
//!
//! `_start` is weak, so that a program which is also linked the ordinary way (the tiny
//! example, when cargo builds every example) gets the C library's instead; the panic handler
//! is there only when panics abort (a test build, which unwinds, has std's). It must never
//! allocate or read the auxiliary vector; with `--cfg ucw_failpoints` (test builds only)
//! `_start` arms the fail point named by the environment variable `UCW_FAILPOINT` before
//! `main` runs, and notes `UCW_PANIC_LOG`, a file every panic is also appended to (a test
//! sees the panic of a daemon whose stderr is gone).

use super::rt::{self, Startup};

/// Called by `_start` with the initial stack pointer; runs `main` and exits.
///
/// # Safety
/// `stack` must be the stack pointer the kernel passed to the process entry point.
unsafe extern "C" fn start_rust(stack: *const usize) -> ! {
    // SAFETY: forwarded from `_start`, which calls this once with the entry stack pointer.
    let startup = unsafe { Startup::from_stack(stack) };
    #[cfg(ucw_failpoints)]
    if let Some(name) = startup.environment().variable(b"UCW_FAILPOINT") {
        ucw_daemon::failpoint::arm(name.to_bytes());
    }
    #[cfg(ucw_failpoints)]
    if let Some(path) = startup.environment().variable(b"UCW_PANIC_LOG") {
        PANIC_LOG.store(
            path.as_ptr().cast_mut(),
            core::sync::atomic::Ordering::Relaxed,
        );
    }
    rt::exit(super::main(startup))
}

#[cfg(target_arch = "x86_64")]
core::arch::global_asm!(
    ".weak _start",
    ".type _start,@function",
    "_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {entry}",
    "ud2",
    entry = sym start_rust,
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
    "bl {entry}",
    "brk #0x1",
    entry = sym start_rust,
);

/// A panic is a bug: say so and exit 102 (LibUCW's "error"), never 101 ("not running").
#[cfg(panic = "abort")]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    rt::write_all(2, b"internal error (panic)\n");
    #[cfg(ucw_failpoints)]
    log_panic(_info);
    rt::exit(ucw_daemon::control::ERROR_EXIT_CODE)
}

/// `UCW_PANIC_LOG`'s value, a string of the kernel's environment block (null: not set).
#[cfg(ucw_failpoints)]
static PANIC_LOG: core::sync::atomic::AtomicPtr<core::ffi::c_char> =
    core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());

/// Appends `internal error (panic) in process PID at FILE:LINE` to `UCW_PANIC_LOG`, if set.
#[cfg(all(ucw_failpoints, panic = "abort"))]
fn log_panic(info: &core::panic::PanicInfo<'_>) {
    use rustix::fd::AsRawFd;
    let path = PANIC_LOG.load(core::sync::atomic::Ordering::Relaxed);
    if path.is_null() {
        return;
    }
    // SAFETY: a string of the kernel's environment block, NUL-terminated, alive and unchanged
    // for the whole process.
    let path = unsafe { core::ffi::CStr::from_ptr(path) };
    let flags = rustix::fs::OFlags::WRONLY
        | rustix::fs::OFlags::APPEND
        | rustix::fs::OFlags::CREATE
        | rustix::fs::OFlags::CLOEXEC;
    let Ok(file) = rustix::fs::open(path, flags, rustix::fs::Mode::from_raw_mode(0o600)) else {
        return;
    };
    let (place, line) = info
        .location()
        .map_or((&b"?"[..], 0), |at| (at.file().as_bytes(), at.line()));
    let (mut pid_digits, mut line_digits) = ([0u8; 20], [0u8; 20]);
    let pid = rustix::process::getpid().as_raw_nonzero().get() as u64;
    rt::write_parts(
        file.as_raw_fd() as u32,
        &[
            b"internal error (panic) in process ",
            rt::decimal(pid, &mut pid_digits),
            b" at ",
            place,
            b":",
            rt::decimal(u64::from(line), &mut line_digits),
            b"\n",
        ],
    );
}

// Symbols an unwinding core may still reference in unoptimised builds; never called
// because every panic aborts above.
#[cfg(panic = "abort")]
#[no_mangle]
extern "C" fn rust_eh_personality() {}

#[cfg(panic = "abort")]
#[allow(non_snake_case)]
#[no_mangle]
extern "C" fn _Unwind_Resume() -> ! {
    rt::exit(ucw_daemon::control::ERROR_EXIT_CODE)
}

#[path = "memory.rs"]
mod memory;
