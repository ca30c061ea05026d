//! The system calls rustix does not expose publicly (`clone` as fork, `execve`, `exit_group`,
//! signal mask and dispositions, `signalfd4`, `close_range`, `pidfd_send_signal` with flags,
//! `statx`/`statmount`, a vDSO-free `clock_gettime`) and, in [`bytes`], the account scanner's
//! sixteen-at-once byte comparisons.
//!
//! This module owns raw kernel entry and nothing else: each function names its system call,
//! turns `-errno` into [`Errno`] and keeps no state. It must never allocate, format text or
//! decide policy. It is private; the tools' runtime (`tools/src/rt/sys.rs`) shares its
//! per-architecture sequences.

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
use aarch64 as arch;
#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
use x86_64 as arch;

pub(crate) mod bytes;
mod raw;

use raw::call;
pub use raw::{exit_group, fork, monotonic_time};

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("ucw-daemon supports x86_64 and aarch64 Linux only");

use core::ffi::{c_char, CStr};
use linux_raw_sys::general as kernel;
use rustix::fd::{FromRawFd, OwnedFd};
use rustix::io::Errno;

/// `clone(SIGCHLD | CLONE_PIDFD)`: [`fork`] that also returns the child's pidfd
/// (close-on-exec) in the parent: `Ok(Some((child, pidfd)))`; `Ok(None)` in the child. No
/// pidfd before Linux 5.2 (the flag is ignored); EINVAL (an emulator) falls back to [`fork`].
///
/// # Safety
/// As for [`fork`]: the child may only make async-signal-safe system calls until it execs or
/// exits.
///
/// # References
/// [clone(2)](https://man7.org/linux/man-pages/man2/clone.2.html) (`CLONE_PIDFD`)
pub unsafe fn fork_with_pidfd() -> Result<Option<(rustix::process::Pid, Option<OwnedFd>)>, Errno> {
    let mut pidfd: i32 = -1;
    // The pidfd goes where `parent_tid` points: the third argument on x86_64 and on aarch64.
    let flags = (kernel::SIGCHLD | kernel::CLONE_PIDFD) as usize;
    // SAFETY: as `fork` (a null stack and no CLONE_VM: a copy-on-write child that continues
    // here); the kernel writes one `int` through the pointer, which references a live `i32`.
    let ret = unsafe {
        call(
            kernel::__NR_clone,
            [flags, 0, &mut pidfd as *mut i32 as usize, 0, 0, 0],
        )
    };
    let child = match ret {
        // SAFETY: forwarded from the caller's guarantee.
        Err(Errno::INVAL) => return unsafe { fork() }.map(|child| child.map(|pid| (pid, None))),
        Err(errno) => return Err(errno),
        Ok(0) => return Ok(None),
        Ok(child) => child,
    };
    // SAFETY: a non-negative value is a descriptor the kernel has just installed for us.
    let pidfd = (pidfd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(pidfd) });
    Ok(rustix::process::Pid::from_raw(child as i32).map(|pid| (pid, pidfd)))
}

/// A set of signals as the kernel's `sigset_t` holds it: bit `n - 1` for signal `n` (1–64).
/// [`crate::signal::SignalSet`] is the typed face of it.
pub type SignalMask = u64;

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

/// How [`signal_mask`] changes the calling thread's signal mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum MaskChange {
    /// Add the set (`SIG_BLOCK`).
    Block = kernel::SIG_BLOCK,
    /// Replace the mask with the set (`SIG_SETMASK`).
    Replace = kernel::SIG_SETMASK,
}

/// `rt_sigprocmask(how, set, old)`: changes the calling thread's signal mask and returns the
/// previous one.
///
/// # References
/// [sigprocmask(2)](https://man7.org/linux/man-pages/man2/sigprocmask.2.html)
pub fn signal_mask(how: MaskChange, set: SignalMask) -> Result<SignalMask, Errno> {
    let mut old: SignalMask = 0;
    // SAFETY: both pointers reference live 8-byte sets, the size the kernel expects.
    unsafe {
        call(
            kernel::__NR_rt_sigprocmask,
            [
                how as usize,
                &set as *const SignalMask as usize,
                &mut old as *mut SignalMask as usize,
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

/// `rt_sigaction(signal, {SIG_DFL})`: the default action for one signal.
///
/// # References
/// [sigaction(2)](https://man7.org/linux/man-pages/man2/sigaction.2.html)
pub fn set_default_disposition(signal: u32) -> Result<(), Errno> {
    let default = KernelSigaction {
        handler: 0,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // SAFETY: `default` is a valid kernel sigaction; no old action is requested.
    unsafe {
        call(
            kernel::__NR_rt_sigaction,
            [
                signal as usize,
                &default as *const KernelSigaction as usize,
                0,
                8,
                0,
                0,
            ],
        )
        .map(|_| ())
    }
}

/// [`set_default_disposition`] for every signal of `set` (bit `n - 1` for signal `n`) but
/// SIGKILL and SIGSTOP: undoes ignored dispositions (they survive `execve`) and handlers
/// before an exec. A signal's EINVAL (one the kernel does not let us change) is ignored.
///
/// # References
/// [sigaction(2)](https://man7.org/linux/man-pages/man2/sigaction.2.html)
pub fn reset_signal_dispositions(set: SignalMask) {
    let unchangeable = 1 << (kernel::SIGKILL - 1) | 1 << (kernel::SIGSTOP - 1);
    let mut left = set & !unchangeable;
    while left != 0 {
        let signal = left.trailing_zeros() + 1;
        left &= left - 1;
        let _ = set_default_disposition(signal);
    }
}

/// `signalfd4(-1, set, SFD_CLOEXEC | SFD_NONBLOCK?)`: a descriptor from which the signals of
/// `set` (which the caller must block) are read as 128-byte `signalfd_siginfo` records.
///
/// # References
/// [signalfd(2)](https://man7.org/linux/man-pages/man2/signalfd.2.html)
pub fn signalfd(set: SignalMask, nonblocking: bool) -> Result<OwnedFd, Errno> {
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
                &set as *const SignalMask as usize,
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

/// `close_range(first, last, 0)`: closes every descriptor numbered `first` to `last`.
///
/// # Safety
/// No live `OwnedFd`/`BorrowedFd` in the program may refer to a descriptor in that range
/// afterwards (it would double-close or use a recycled number).
///
/// # References
/// [close_range(2)](https://man7.org/linux/man-pages/man2/close_range.2.html)
pub unsafe fn close_range(first: u32, last: u32) -> Result<(), Errno> {
    // SAFETY: close_range takes plain integers; the caller guarantees no owner remains.
    unsafe {
        call(
            kernel::__NR_close_range,
            [first as usize, last as usize, 0, 0, 0, 0],
        )
        .map(|_| ())
    }
}

/// Closes three descriptors (`None` is none): one `close_range` when they are all there and
/// their numbers follow each other, else one `close` each.
///
/// # References
/// [close_range(2)](https://man7.org/linux/man-pages/man2/close_range.2.html),
/// [close(2)](https://man7.org/linux/man-pages/man2/close.2.html)
pub fn close_together(fds: [Option<OwnedFd>; 3]) {
    use rustix::fd::{AsRawFd, IntoRawFd};
    if let [Some(a), Some(b), Some(c)] = &fds {
        let (a, b, c) = (a.as_raw_fd(), b.as_raw_fd(), c.as_raw_fd());
        let first = a.min(b).min(c);
        // Three distinct numbers two apart at most: consecutive.
        if a.max(b).max(c) - first == 2 {
            let owned = fds.map(|fd| fd.map(IntoRawFd::into_raw_fd));
            // SAFETY: the range holds exactly the three descriptors we owned, given up just
            // above: nothing else owns one of them.
            if unsafe { close_range(first as u32, first as u32 + 2) }.is_err() {
                // Before Linux 5.9: one close each.
                for fd in owned.into_iter().flatten() {
                    // SAFETY: still ours: close_range failed before closing any of them.
                    drop(unsafe { OwnedFd::from_raw_fd(fd) });
                }
            }
            return;
        }
    }
    drop(fds);
}

/// `PIDFD_SIGNAL_PROCESS_GROUP` (Linux 6.9): signal the pidfd process's whole process group.
pub const PIDFD_SIGNAL_PROCESS_GROUP: u32 = 1 << 2;

/// `pidfd_send_signal(pidfd, signal, NULL, flags)`: rustix's version has no flags. Kernels
/// older than 6.9 refuse [`PIDFD_SIGNAL_PROCESS_GROUP`] with EINVAL.
///
/// # References
/// [pidfd_send_signal(2)](https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html)
pub fn pidfd_send_signal(
    pidfd: rustix::fd::BorrowedFd<'_>,
    signal: u32,
    flags: u32,
) -> Result<(), Errno> {
    use rustix::fd::AsRawFd;
    // SAFETY: plain integers and a null siginfo pointer (the kernel fills in a SI_USER one).
    unsafe {
        call(
            kernel::__NR_pidfd_send_signal,
            [
                pidfd.as_raw_fd() as usize,
                signal as usize,
                0,
                flags as usize,
                0,
                0,
            ],
        )
        .map(|_| ())
    }
}

/// `statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID_UNIQUE)` (Linux 6.8): the unique id of the
/// mount of `fd`'s file, for [`statmount_superblock`]; `None` when the kernel does not give
/// it or refuses the call.
///
/// # References
/// [statx(2)](https://man7.org/linux/man-pages/man2/statx.2.html)
pub fn unique_mount_id(fd: rustix::fd::BorrowedFd<'_>) -> Option<u64> {
    use rustix::fd::AsRawFd;
    let mut answer = core::mem::MaybeUninit::<kernel::statx>::zeroed();
    // SAFETY: an empty NUL-terminated path with AT_EMPTY_PATH names `fd` itself; the kernel
    // writes at most one `struct statx` into `answer`.
    unsafe {
        call(
            kernel::__NR_statx,
            [
                fd.as_raw_fd() as usize,
                c"".as_ptr() as usize,
                kernel::AT_EMPTY_PATH as usize,
                kernel::STATX_MNT_ID_UNIQUE as usize,
                answer.as_mut_ptr() as usize,
                0,
            ],
        )
        .ok()?;
    }
    // SAFETY: zero-initialised, then partly written by the kernel: integers only.
    let answer = unsafe { answer.assume_init() };
    (answer.stx_mask & kernel::STATX_MNT_ID_UNIQUE != 0).then_some(answer.stx_mnt_id)
}

/// A mount's superblock as `statmount` shows it.
pub struct Superblock {
    /// The device's major number (the `MAJ` of `MAJ:MIN` in `/proc/self/mountinfo` and in
    /// fdinfo lock lines).
    pub major: u32,
    /// The device's minor number.
    pub minor: u32,
    /// The file system's magic (what `statfs` reports as `f_type`).
    pub magic: u64,
}

/// `statmount(&{mnt_id: mount, param: STATMOUNT_SB_BASIC}, buffer, size, 0)` (Linux 6.8): the
/// superblock of mount `mount`, the unique mount id that `statx(STATX_MNT_ID_UNIQUE)` gives.
/// ENOSYS before 6.8; EPERM for a mount outside our root without CAP_SYS_ADMIN; ENOENT for a
/// mount not in our mount namespace.
///
/// # References
/// [statmount(2)](https://man7.org/linux/man-pages/man2/statmount.2.html)
pub fn statmount_superblock(mount: u64) -> Result<Superblock, Errno> {
    let request = kernel::mnt_id_req {
        size: kernel::MNT_ID_REQ_SIZE_VER0,
        spare: 0,
        mnt_id: mount,
        param: u64::from(kernel::STATMOUNT_SB_BASIC),
        mnt_ns_id: 0,
    };
    let mut answer = core::mem::MaybeUninit::<kernel::statmount>::zeroed();
    // SAFETY: the request is a valid `mnt_id_req` of the size it states; the kernel writes at
    // most `size_of::<statmount>()` bytes into `answer`, which is that big.
    unsafe {
        call(
            kernel::__NR_statmount,
            [
                &request as *const kernel::mnt_id_req as usize,
                answer.as_mut_ptr() as usize,
                core::mem::size_of::<kernel::statmount>(),
                0,
                0,
                0,
            ],
        )?;
    }
    // SAFETY: zero-initialised, then partly written by the kernel: every bit pattern is a
    // valid `statmount` (integers only).
    let answer = unsafe { answer.assume_init() };
    if answer.mask & u64::from(kernel::STATMOUNT_SB_BASIC) == 0 {
        return Err(Errno::NODATA);
    }
    Ok(Superblock {
        major: answer.sb_dev_major,
        minor: answer.sb_dev_minor,
        magic: answer.sb_magic,
    })
}
