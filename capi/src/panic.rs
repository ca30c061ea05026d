//! The static library's panic handler: a C program has no Rust runtime, so a panic (an
//! internal error of the library) ends the process here, LibUCW's fatal-error way.
//!
//! This module owns what a panic does: one line on standard error naming where it happened,
//! then the program's `exit(1)`. It must never unwind into C (the release profile is
//! `panic = "abort"`; this handler never returns), never use `core::fmt` (the location is
//! written by hand), and never recurse: a panic while exiting (in an `atexit` handler that
//! calls us) ends the process at once (SIGKILL to itself).

use crate::fatal;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, Ordering};

/// Set by the first panic.
static PANICKED: AtomicBool = AtomicBool::new(false);

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    if PANICKED.swap(true, Ordering::Relaxed) {
        // Ends the process at once without the C library (no `atexit` handler runs again, and
        // no symbol beyond the ones the archive already takes from it): SIGKILL to ourselves.
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
        loop {
            core::hint::spin_loop();
        }
    }
    fatal::die(|line| {
        line.push(b"ucw-daemon: internal error (panic");
        if let Some(location) = info.location() {
            line.push(b" at ")
                .push(location.file().as_bytes())
                .push(b":")
                .push_decimal(i64::from(location.line()));
        }
        line.push(b")");
    })
}

// The precompiled compiler_builtins objects that every Rust staticlib bundles were built
// for unwinding: their unwind tables name `rust_eh_personality` (through
// `DW.ref.rust_eh_personality`). A C program that pulls one of them from this archive — by
// dividing an `__int128` (`__divti3`), or calling `fmod` with `-lm` after the archive —
// would otherwise fail to link with "undefined reference to `rust_eh_personality'". This
// WEAK definition satisfies them (a Rust library linked alongside that has the real one
// wins). It is never called: nothing unwinds through those functions (`panic = "abort"`;
// they call nothing), so it traps if it ever is.
#[cfg(target_arch = "x86_64")]
core::arch::global_asm!(
    ".pushsection .text.rust_eh_personality,\"ax\",@progbits",
    ".weak rust_eh_personality",
    ".type rust_eh_personality,@function",
    "rust_eh_personality:",
    "ud2",
    ".size rust_eh_personality, . - rust_eh_personality",
    ".popsection",
);

#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".pushsection .text.rust_eh_personality,\"ax\",%progbits",
    ".weak rust_eh_personality",
    ".type rust_eh_personality,%function",
    "rust_eh_personality:",
    "brk #0x1",
    ".size rust_eh_personality, . - rust_eh_personality",
    ".popsection",
);
