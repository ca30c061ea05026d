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
//! `main` runs.

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
    rt::exit(ucw_daemon::control::ERROR_EXIT_CODE)
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
