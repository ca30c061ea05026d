//! Raw kernel entry shared by the library and the tools' runtime (`tools/src/rt/sys.rs`
//! includes this file): the checked system call, and the two process calls a libc-free program
//! needs whoever it is, `clone` as fork and `exit_group`, and the monotonic clock. The including module provides `arch`
//! (`x86_64.rs` or `aarch64.rs`).
//!
//! Like the rest of `sys`, it names each system call, converts `-errno` into [`Errno`] and keeps
//! no state.

use super::arch;
use linux_raw_sys::general as kernel;
use rustix::io::Errno;
use rustix::process::Pid;

/// Converts a raw kernel return value into `Ok(value)` or the `Errno` it encodes.
#[inline]
fn check(ret: isize) -> Result<usize, Errno> {
    if (-4095..0).contains(&ret) {
        Err(Errno::from_raw_os_error(-ret as i32))
    } else {
        Ok(ret as usize)
    }
}

/// `syscall(nr, a0, a1, a2, a3, a4, a5)` with the result checked.
///
/// # Safety
/// The arguments must be valid for the system call `nr`.
#[inline]
pub(super) unsafe fn call(nr: u32, args: [usize; 6]) -> Result<usize, Errno> {
    // SAFETY: forwarded from the caller's guarantee.
    check(unsafe {
        arch::syscall6(
            nr as usize,
            args[0],
            args[1],
            args[2],
            args[3],
            args[4],
            args[5],
        )
    })
}

/// `clone(SIGCHLD, 0, 0, 0, 0)`: a plain `fork` without libc's bookkeeping.
///
/// Returns `Ok(None)` in the child and `Ok(Some(child))` in the parent.
///
/// # Safety
/// The process must be single-threaded, or the child must only make async-signal-safe system
/// calls until it execs or exits: locks held by other threads (including libc's, in a program
/// that has a libc) stay locked forever in the child, and libc's `atfork` handlers do not run.
///
/// # References
/// [clone(2)](https://man7.org/linux/man-pages/man2/clone.2.html),
/// [fork(2)](https://man7.org/linux/man-pages/man2/fork.2.html)
pub unsafe fn fork() -> Result<Option<Pid>, Errno> {
    // SAFETY: with a null stack and no CLONE_VM the child gets a copy-on-write copy of our
    // address space and continues here, exactly like fork(2).
    let ret = unsafe {
        call(
            kernel::__NR_clone,
            [kernel::SIGCHLD as usize, 0, 0, 0, 0, 0],
        )?
    };
    Ok(Pid::from_raw(ret as i32))
}

/// `exit_group(code)`: ends every thread of the process at once, running no destructors.
///
/// # References
/// [exit_group(2)](https://man7.org/linux/man-pages/man2/exit_group.2.html)
pub fn exit_group(code: i32) -> ! {
    // SAFETY: exit_group takes a plain integer and never returns.
    unsafe { arch::syscall1_noreturn(kernel::__NR_exit_group as usize, code as usize) }
}

/// `clock_gettime(CLOCK_MONOTONIC)` as a real system call: time since an arbitrary point,
/// never going backwards.
///
/// rustix's `clock_gettime` goes through the vDSO, which it finds in the auxiliary vector
/// (read from `/proc/self/auxv` without libc); deadlines only need elapsed time, so the plain
/// system call (a few hundred nanoseconds more) is the safer choice.
///
/// # References
/// [clock_gettime(2)](https://man7.org/linux/man-pages/man2/clock_gettime.2.html)
pub fn monotonic_time() -> Result<core::time::Duration, Errno> {
    let mut now = kernel::__kernel_timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: the pointer references a live `__kernel_timespec`, what the kernel writes.
    unsafe {
        call(
            kernel::__NR_clock_gettime,
            [
                kernel::CLOCK_MONOTONIC as usize,
                &mut now as *mut kernel::__kernel_timespec as usize,
                0,
                0,
                0,
                0,
            ],
        )?;
    }
    Ok(core::time::Duration::new(
        now.tv_sec as u64,
        now.tv_nsec as u32,
    ))
}
