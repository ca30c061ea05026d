//! The few system calls rustix does not expose publicly: process creation (`clone` as fork),
//! `execve`, `exit_group`, the signal mask and dispositions, `signalfd4`, `close_range`
//! and a vDSO-free `clock_gettime`.
//!
//! This module owns raw kernel entry and nothing else: every function names its system call,
//! converts `-errno` into [`Errno`], and keeps no state. It must never allocate, format text
//! or make policy decisions; everything above it is safe Rust. The per-architecture
//! instruction sequences live in `x86_64.rs` and `aarch64.rs`.

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
use aarch64 as arch;
#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
use x86_64 as arch;

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("ucw-daemon supports x86_64 and aarch64 Linux only");

use core::ffi::{c_char, CStr};
use linux_raw_sys::general as kernel;
use rustix::fd::{FromRawFd, OwnedFd};
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
unsafe fn call(nr: u32, args: [usize; 6]) -> Result<usize, Errno> {
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

/// A set of signals as the kernel sees it (one bit per signal, 64 signals).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignalSet(u64);

impl SignalSet {
    /// The empty set.
    pub const EMPTY: Self = Self(0);
    /// Every signal the kernel lets a process block or catch (all but SIGKILL and SIGSTOP).
    pub const ALL_CATCHABLE: Self =
        Self(!((1u64 << (kernel::SIGKILL - 1)) | (1u64 << (kernel::SIGSTOP - 1))));

    /// Adds `signal` (1–64) to the set; other numbers are ignored.
    pub const fn with(self, signal: u32) -> Self {
        if signal >= 1 && signal <= 64 {
            Self(self.0 | (1u64 << (signal - 1)))
        } else {
            self
        }
    }

    /// Removes `signal` (1–64) from the set; other numbers are ignored.
    pub const fn without(self, signal: u32) -> Self {
        if signal >= 1 && signal <= 64 {
            Self(self.0 & !(1u64 << (signal - 1)))
        } else {
            self
        }
    }

    /// Whether `signal` is in the set.
    pub const fn contains(self, signal: u32) -> bool {
        signal >= 1 && signal <= 64 && self.0 & (1u64 << (signal - 1)) != 0
    }
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

/// `execve(path, argv, envp)`: replaces the process image; returns only on failure.
///
/// # Safety
/// `argv` and `envp` must point to null-terminated arrays of pointers to NUL-terminated
/// strings that stay valid for the call.
///
/// # References
/// [execve(2)](https://man7.org/linux/man-pages/man2/execve.2.html)
pub unsafe fn execve(path: &CStr, argv: *const *const c_char, envp: *const *const c_char) -> Errno {
    // SAFETY: the caller guarantees argv and envp; `path` is NUL-terminated.
    let result = unsafe {
        call(
            kernel::__NR_execve,
            [
                path.as_ptr() as usize,
                argv as usize,
                envp as usize,
                0,
                0,
                0,
            ],
        )
    };
    match result {
        Err(errno) => errno,
        Ok(_) => Errno::NOEXEC,
    }
}

/// `exit_group(code)`: ends every thread of the process at once, running no destructors.
///
/// # References
/// [exit_group(2)](https://man7.org/linux/man-pages/man2/exit_group.2.html)
pub fn exit_group(code: i32) -> ! {
    // SAFETY: exit_group takes a plain integer and never returns.
    unsafe { arch::syscall1_noreturn(kernel::__NR_exit_group as usize, code as usize) }
}

/// `rt_sigprocmask(SIG_SETMASK, set, old)`: replaces the calling thread's signal mask and
/// returns the previous one.
///
/// # References
/// [sigprocmask(2)](https://man7.org/linux/man-pages/man2/sigprocmask.2.html)
pub fn set_signal_mask(set: SignalSet) -> Result<SignalSet, Errno> {
    let mut old = SignalSet::EMPTY;
    // SAFETY: both pointers reference live 8-byte sets, the size the kernel expects.
    unsafe {
        call(
            kernel::__NR_rt_sigprocmask,
            [
                kernel::SIG_SETMASK as usize,
                &set as *const SignalSet as usize,
                &mut old as *mut SignalSet as usize,
                8,
                0,
                0,
            ],
        )?;
    }
    Ok(old)
}

/// The kernel's `struct sigaction` for `rt_sigaction` on x86_64 and aarch64.
#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: u64,
}

/// `rt_sigaction(signal, {SIG_DFL})` for every signal 1–64 except SIGKILL and SIGSTOP: undoes
/// the "ignored" dispositions that survive `execve` (and any handler of an in-process body).
///
/// Errors for individual signals are ignored: the only possible one is EINVAL for a signal
/// the kernel does not let us change.
///
/// # References
/// [sigaction(2)](https://man7.org/linux/man-pages/man2/sigaction.2.html)
pub fn reset_signal_dispositions() {
    let default = KernelSigaction {
        handler: 0,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    for signal in 1..=64usize {
        if signal == kernel::SIGKILL as usize || signal == kernel::SIGSTOP as usize {
            continue;
        }
        // SAFETY: `default` is a valid kernel sigaction; no old action is requested.
        let _ = unsafe {
            call(
                kernel::__NR_rt_sigaction,
                [
                    signal,
                    &default as *const KernelSigaction as usize,
                    0,
                    8,
                    0,
                    0,
                ],
            )
        };
    }
}

/// `signalfd4(-1, set, SFD_CLOEXEC | SFD_NONBLOCK?)`: a descriptor from which the signals of
/// `set` (which the caller must block) are read as 128-byte `signalfd_siginfo` records.
///
/// # References
/// [signalfd(2)](https://man7.org/linux/man-pages/man2/signalfd.2.html)
pub fn signalfd(set: SignalSet, nonblocking: bool) -> Result<OwnedFd, Errno> {
    let mut flags = kernel::O_CLOEXEC as usize;
    if nonblocking {
        flags |= kernel::O_NONBLOCK as usize;
    }
    // SAFETY: the set pointer references a live 8-byte set.
    let fd = unsafe {
        call(
            kernel::__NR_signalfd4,
            [
                usize::MAX,
                &set as *const SignalSet as usize,
                8,
                flags,
                0,
                0,
            ],
        )?
    };
    // SAFETY: the kernel just returned this new descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// `close_range(first, u32::MAX, 0)`: closes every descriptor numbered `first` or above.
///
/// # Safety
/// No live `OwnedFd`/`BorrowedFd` in the program may refer to a descriptor in that range
/// afterwards (it would double-close or use a recycled number).
///
/// # References
/// [close_range(2)](https://man7.org/linux/man-pages/man2/close_range.2.html)
pub unsafe fn close_from(first: u32) -> Result<(), Errno> {
    // SAFETY: close_range takes plain integers; the caller guarantees no owner remains.
    unsafe {
        call(
            kernel::__NR_close_range,
            [first as usize, u32::MAX as usize, 0, 0, 0, 0],
        )
        .map(|_| ())
    }
}
