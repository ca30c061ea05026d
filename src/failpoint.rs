//! Fail points for the fault-injection tests: named places where a process `SIGSTOP`s itself so a
//! test can kill it exactly there.
//!
//! Active only with `--cfg ucw_failpoints` (then public for the tests' programs; never a cargo
//! feature, so never in production); elsewhere [`hit`] is nothing. It must never allocate or act at
//! an unarmed point. The name is held in atomic bytes: a racing hit sees a mixture, never missing
//! memory.

#[cfg(ucw_failpoints)]
use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

/// Longest armable name (a longer one arms a prefix no point matches).
#[cfg(ucw_failpoints)]
const CAPACITY: usize = 64;

#[cfg(ucw_failpoints)]
static ARMED: [AtomicU8; CAPACITY] = [const { AtomicU8::new(0) }; CAPACITY];
/// Bytes of the armed name; 0 when none is armed.
#[cfg(ucw_failpoints)]
static ARMED_LENGTH: AtomicUsize = AtomicUsize::new(0);

/// Arms the point `name` (the tools read `UCW_FAILPOINT`), one at a time; over 64 bytes arms
/// nothing.
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

/// `SIGSTOP`s the process if `name` is armed; the test kills or continues it.
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
