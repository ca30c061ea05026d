//! Fail points for the fault-injection tests: named places where a process stops itself
//! (`SIGSTOP`) so that a test can kill it exactly there, instead of hoping to hit a window.
//!
//! The points do something only in builds with `--cfg ucw_failpoints` (`tests/run-all` sets it
//! for the fault-injection tests, in a target directory of its own), where this module is also
//! public for the tests' programs; elsewhere [`hit`] compiles to nothing and the module is
//! private. It is never a cargo feature, so no feature unification can build it into a
//! production binary. It owns the one armed name and the check; it must never allocate, and
//! never do anything at a point whose name is not armed.
//!
//! The name is copied into atomic bytes: a point hit while another thread arms one sees a
//! mixture of names and compares it like any other, so no interleaving can read memory that
//! is not there.

#[cfg(ucw_failpoints)]
use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

/// Longest name that can be armed (longer names arm a prefix that no point matches).
#[cfg(ucw_failpoints)]
const CAPACITY: usize = 64;

#[cfg(ucw_failpoints)]
static ARMED: [AtomicU8; CAPACITY] = [const { AtomicU8::new(0) }; CAPACITY];
/// Bytes of the armed name; 0 when none is armed.
#[cfg(ucw_failpoints)]
static ARMED_LENGTH: AtomicUsize = AtomicUsize::new(0);

/// Arms the fail point called `name` (the tools take it from `UCW_FAILPOINT`; std programs
/// call this themselves). Only one point is armed at a time. A name longer than 64 bytes
/// arms nothing.
#[cfg(ucw_failpoints)]
pub fn arm(name: &[u8]) {
    ARMED_LENGTH.store(0, Ordering::Relaxed);
    if name.len() > CAPACITY {
        return;
    }
    for (slot, &byte) in ARMED.iter().zip(name) {
        slot.store(byte, Ordering::Relaxed);
    }
    ARMED_LENGTH.store(name.len(), Ordering::Release);
}

/// Stops the calling process with `SIGSTOP` if `name` is the armed point; the test then
/// kills or continues it.
#[cfg(ucw_failpoints)]
pub fn hit(name: &str) {
    let length = ARMED_LENGTH.load(Ordering::Acquire);
    if length == 0 || length != name.len() {
        return;
    }
    let same = ARMED
        .iter()
        .zip(name.as_bytes())
        .all(|(slot, &byte)| slot.load(Ordering::Relaxed) == byte);
    if same {
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::STOP);
    }
}

/// Without `--cfg ucw_failpoints`: nothing.
#[cfg(not(ucw_failpoints))]
#[inline(always)]
pub(crate) fn hit(_name: &str) {}
