//! Fail points for the fault-injection tests: named places where a process stops itself
//! (`SIGSTOP`) so that a test can kill it exactly there, instead of hoping to hit a window.
//!
//! Compiled to nothing unless the `failpoints` feature is on. This module owns the one armed
//! name and the check; it must never be enabled in production builds, never allocate, and
//! never do anything at a point whose name is not armed.

#[cfg(feature = "failpoints")]
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

#[cfg(feature = "failpoints")]
static ARMED: AtomicPtr<u8> = AtomicPtr::new(core::ptr::null_mut());
#[cfg(feature = "failpoints")]
static ARMED_LENGTH: AtomicUsize = AtomicUsize::new(0);

/// Arms the fail point called `name` (the tools take it from `UCW_FAILPOINT`; std programs
/// call this themselves). Only one point is armed at a time.
#[cfg(feature = "failpoints")]
pub fn arm(name: &'static [u8]) {
    ARMED_LENGTH.store(name.len(), Ordering::Relaxed);
    ARMED.store(name.as_ptr() as *mut u8, Ordering::Release);
}

/// Stops the calling process with `SIGSTOP` if `name` is the armed point; the test then
/// kills or continues it.
#[inline]
pub fn hit(name: &str) {
    #[cfg(feature = "failpoints")]
    {
        let pointer = ARMED.load(Ordering::Acquire);
        if pointer.is_null() {
            return;
        }
        // SAFETY: `arm` stored a pointer and length of a `'static` byte string.
        let armed =
            unsafe { core::slice::from_raw_parts(pointer, ARMED_LENGTH.load(Ordering::Relaxed)) };
        if armed == name.as_bytes() {
            let _ = rustix::process::kill_process(
                rustix::process::getpid(),
                rustix::process::Signal::STOP,
            );
        }
    }
    #[cfg(not(feature = "failpoints"))]
    let _ = name;
}
