//! The few system calls only the tools make, which neither rustix nor the library's public face
//! offers: the runtime's `exit_group` and `clone` as fork, `write` to a standard stream by
//! number, another process's group or session (which may be 0), `dup3` onto a number the user
//! chose, the notification socket's `SO_PASSPIDFD` and `recvmsg` with
//! `SCM_CREDENTIALS`/`SCM_PIDFD`, the launcher's pidfd from its channel (`SO_PEERPIDFD`), a
//! terminal's foreground group, and the monotonic clock without the vDSO.
//!
//! This file owns raw kernel entry for the tools and nothing else: every function names its
//! system call, converts `-errno` into [`Errno`] and keeps no state. The per-architecture
//! instruction sequences are the library's own (`src/sys/x86_64.rs`, `src/sys/aarch64.rs`), and
//! so are its checked call, fork and exit (`src/sys/raw.rs`): included here, not copied. It
//! must never allocate, format text or decide anything.

// `kernel/` holds symbolic links to those library files: one source, and the published
// crate (which cargo packs from its own directory, following the links) carries them.
#[cfg(target_arch = "aarch64")]
#[path = "kernel/aarch64.rs"]
mod arch;
#[cfg(target_arch = "x86_64")]
#[path = "kernel/x86_64.rs"]
mod arch;
#[path = "kernel/raw.rs"]
mod raw;

use raw::call;
pub use raw::{exit_group, fork, monotonic_time};

use linux_raw_sys::general as kernel;
use linux_raw_sys::net;
use rustix::fd::{FromRawFd, OwnedFd};
use rustix::io::Errno;

/// `write(fd, bytes)` on a descriptor given by number (a standard stream, which may be
/// closed: then EBADF, and no `BorrowedFd` to a closed descriptor is ever made).
///
/// # References
/// [write(2)](https://man7.org/linux/man-pages/man2/write.2.html)
pub fn write(fd: u32, bytes: &[u8]) -> Result<usize, Errno> {
    // SAFETY: the pointer and length describe a live byte slice; `fd` is a plain integer.
    unsafe {
        call(
            kernel::__NR_write,
            [fd as usize, bytes.as_ptr() as usize, bytes.len(), 0, 0, 0],
        )
    }
}

/// `writev(fd, parts)` on a descriptor given by number: the parts in one system call (one
/// line of output, however long, without a buffer to build it in); returns the bytes written.
///
/// # References
/// [writev(2)](https://man7.org/linux/man-pages/man2/writev.2.html)
pub fn write_vectored(fd: u32, parts: &[&[u8]]) -> Result<usize, Errno> {
    const MOST: usize = 8;
    let mut vectors = [kernel::iovec {
        iov_base: core::ptr::null_mut(),
        iov_len: 0,
    }; MOST];
    let count = parts.len().min(MOST);
    for (vector, part) in vectors.iter_mut().zip(&parts[..count]) {
        vector.iov_base = part.as_ptr() as *mut _;
        vector.iov_len = part.len() as _;
    }
    // SAFETY: the vectors describe `count` live byte slices, which the kernel only reads.
    unsafe {
        call(
            kernel::__NR_writev,
            [fd as usize, vectors.as_ptr() as usize, count, 0, 0, 0],
        )
    }
}

/// `getpgid(pid)` or `getsid(pid)` of any process, as the raw number: 0 when the group or
/// session began outside our PID namespace (its leader has no number here). rustix's wrappers
/// turn that 0 into a `Pid`, which must never be zero.
///
/// # References
/// [getpgid(2)](https://man7.org/linux/man-pages/man2/getpgid.2.html),
/// [getsid(2)](https://man7.org/linux/man-pages/man2/getsid.2.html)
pub fn group_or_session(pid: rustix::process::Pid, session: bool) -> Result<u32, Errno> {
    let number = if session {
        kernel::__NR_getsid
    } else {
        kernel::__NR_getpgid
    };
    // SAFETY: one plain integer argument.
    unsafe {
        call(number, [pid.as_raw_nonzero().get() as usize, 0, 0, 0, 0, 0]).map(|value| value as u32)
    }
}

/// `dup3(fd, target, 0)`: makes descriptor number `target` a copy of `fd`, without
/// close-on-exec, closing whatever `target` was. For the child of a fork just before
/// `execve`, which hands the program a descriptor at a number the user chose.
///
/// # Safety
/// No live `OwnedFd`/`BorrowedFd` of this process may refer to `target` afterwards (the
/// process is about to exec or exit).
///
/// # References
/// [dup3(2)](https://man7.org/linux/man-pages/man2/dup.2.html)
pub unsafe fn dup_to(fd: rustix::fd::BorrowedFd<'_>, target: u32) -> Result<(), Errno> {
    use rustix::fd::AsRawFd;
    if fd.as_raw_fd() as u32 == target {
        // dup3 refuses equal numbers: clear close-on-exec instead.
        return rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty());
    }
    // SAFETY: plain integers; the caller guarantees nothing else owns `target`.
    unsafe {
        call(
            kernel::__NR_dup3,
            [fd.as_raw_fd() as usize, target as usize, 0, 0, 0, 0],
        )
        .map(|_| ())
    }
}

/// `setsockopt(fd, SOL_SOCKET, SO_PASSPIDFD, 1)` (Linux 6.5): every datagram received on
/// `fd` then comes with a pidfd of its sender (`SCM_PIDFD`). Older kernels refuse it
/// (ENOPROTOOPT or EINVAL).
///
/// # References
/// [setsockopt(2)](https://man7.org/linux/man-pages/man2/setsockopt.2.html),
/// [unix(7)](https://man7.org/linux/man-pages/man7/unix.7.html) (`SO_PASSPIDFD`)
pub fn set_pass_pidfd(fd: rustix::fd::BorrowedFd<'_>) -> Result<(), Errno> {
    use rustix::fd::AsRawFd;
    let on: i32 = 1;
    // SAFETY: the value pointer references a live `int` of the length given.
    unsafe {
        call(
            kernel::__NR_setsockopt,
            [
                fd.as_raw_fd() as usize,
                net::SOL_SOCKET as usize,
                net::SO_PASSPIDFD as usize,
                &on as *const i32 as usize,
                core::mem::size_of::<i32>(),
                0,
            ],
        )
        .map(|_| ())
    }
}

/// `getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD)` (Linux 6.5): a pidfd (close-on-exec) of the
/// process that created the socket pair `fd` belongs to (or connected its peer), taken by the
/// kernel when it did, so it names that process even if its number has been reused since.
/// Older kernels refuse it (ENOPROTOOPT); ESRCH when that process has been reaped.
///
/// # References
/// [getsockopt(2)](https://man7.org/linux/man-pages/man2/getsockopt.2.html),
/// [unix(7)](https://man7.org/linux/man-pages/man7/unix.7.html) (`SO_PEERPIDFD`)
pub fn peer_pidfd(fd: rustix::fd::BorrowedFd<'_>) -> Result<OwnedFd, Errno> {
    use rustix::fd::AsRawFd;
    let mut pidfd: i32 = -1;
    let mut length = core::mem::size_of::<i32>() as u32;
    // SAFETY: the value and length pointers reference a live `int` and its length.
    unsafe {
        call(
            kernel::__NR_getsockopt,
            [
                fd.as_raw_fd() as usize,
                net::SOL_SOCKET as usize,
                net::SO_PEERPIDFD as usize,
                &mut pidfd as *mut i32 as usize,
                &mut length as *mut u32 as usize,
                0,
            ],
        )?;
    }
    if pidfd < 0 || length as usize != core::mem::size_of::<i32>() {
        return Err(Errno::INVAL);
    }
    // SAFETY: the kernel just installed this new descriptor for us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(pidfd) })
}

/// Who sent a datagram, as the kernel vouches for it (`SCM_CREDENTIALS` and `SCM_PIDFD`).
pub struct Sender {
    /// The sender's process id in our PID namespace (0 when it has none there).
    pub pid: i32,
    /// The sender's user id.
    pub uid: u32,
    /// A pidfd of the sender, where the socket asked for one ([`set_pass_pidfd`]).
    pub pidfd: Option<OwnedFd>,
    /// The kernel sent an error instead of a pidfd (the sender already exited, or our
    /// descriptor table is full): the sender's number cannot be vouched for.
    pub pidfd_failed: bool,
}

/// `SCM_PIDFD`: a pidfd of the sender in a datagram's ancillary data (the option's number).
const SCM_PIDFD: i32 = net::SO_PASSPIDFD as i32;

/// `recvmsg(fd, bytes, MSG_DONTWAIT | MSG_CMSG_CLOEXEC)` for one datagram: returns its
/// length and its sender (`None` when the kernel attached no credentials); descriptors sent
/// along (`SCM_RIGHTS`) are closed at once.
///
/// # References
/// [recvmsg(2)](https://man7.org/linux/man-pages/man2/recvmsg.2.html),
/// [unix(7)](https://man7.org/linux/man-pages/man7/unix.7.html),
/// [cmsg(3)](https://man7.org/linux/man-pages/man3/cmsg.3.html)
pub fn receive_datagram(
    fd: rustix::fd::BorrowedFd<'_>,
    bytes: &mut [u8],
) -> Result<(usize, Option<Sender>), Errno> {
    use rustix::fd::AsRawFd;
    // Room for the credentials, a pidfd and a few descriptors; what does not fit is
    // discarded by the kernel (MSG_CTRUNC).
    let mut control = [0u64; 16];
    let mut iov = kernel::iovec {
        iov_base: bytes.as_mut_ptr().cast(),
        iov_len: bytes.len() as _,
    };
    let mut message = net::msghdr {
        msg_name: core::ptr::null_mut(),
        msg_namelen: 0,
        msg_iov: (&mut iov as *mut kernel::iovec).cast(),
        msg_iovlen: 1,
        msg_control: control.as_mut_ptr().cast(),
        msg_controllen: core::mem::size_of_val(&control),
        msg_flags: 0,
    };
    // SAFETY: the message header points to live buffers of the lengths it gives; the kernel
    // writes at most that much.
    let length = unsafe {
        call(
            kernel::__NR_recvmsg,
            [
                fd.as_raw_fd() as usize,
                &mut message as *mut net::msghdr as usize,
                (net::MSG_DONTWAIT | net::MSG_CMSG_CLOEXEC) as usize,
                0,
                0,
                0,
            ],
        )?
    };
    let header = core::mem::size_of::<net::cmsghdr>();
    let used = message.msg_controllen.min(core::mem::size_of_val(&control));
    // SAFETY: `control` is plain bytes; `used` is within it.
    let control = unsafe { core::slice::from_raw_parts(control.as_ptr().cast::<u8>(), used) };
    let mut sender = None;
    let mut pidfd = None;
    let mut pidfd_failed = false;
    let mut offset = 0;
    while offset + header <= control.len() {
        // SAFETY: `header` bytes are within `control`; the read is unaligned-safe.
        let item =
            unsafe { core::ptr::read_unaligned(control[offset..].as_ptr().cast::<net::cmsghdr>()) };
        if item.cmsg_len < header || item.cmsg_len > control.len() - offset {
            break;
        }
        let end = offset + item.cmsg_len;
        let data = &control[offset + header..end];
        let word = |index: usize| {
            data.get(4 * index..4 * index + 4)
                .map(|bytes| i32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
        };
        // SAFETY: the kernel has just installed the descriptors of SCM_RIGHTS and SCM_PIDFD
        // in our table for this message; nothing else owns them.
        let owned = |received: i32| unsafe { OwnedFd::from_raw_fd(received) };
        if item.cmsg_level == net::SOL_SOCKET as i32 {
            match item.cmsg_type {
                t if t == net::SCM_RIGHTS as i32 => {
                    let mut index = 0;
                    while let Some(received) = word(index) {
                        if received >= 0 {
                            drop(owned(received));
                        }
                        index += 1;
                    }
                }
                // A negative number is the errno of a pidfd the kernel could not make.
                t if t == SCM_PIDFD => match word(0) {
                    Some(received) if received >= 0 => pidfd = Some(owned(received)),
                    _ => pidfd_failed = true,
                },
                t if t == net::SCM_CREDENTIALS as i32 => {
                    if let (Some(pid), Some(uid)) = (word(0), word(1)) {
                        sender = Some((pid, uid as u32));
                    }
                }
                _ => {}
            }
        }
        // Within `control` (checked above), so no overflow.
        offset = (end + 7) & !7;
    }
    Ok((
        length,
        sender.map(|(pid, uid)| Sender {
            pid,
            uid,
            pidfd,
            pidfd_failed,
        }),
    ))
}

/// `ioctl(fd, TIOCSPGRP, &group)` (what `tcsetpgrp` does): makes `group` the foreground process
/// group of the terminal on descriptor `fd`; ENOTTY when it is no terminal.
///
/// # References
/// [ioctl_tty(2)](https://man7.org/linux/man-pages/man2/ioctl_tty.2.html),
/// [tcsetpgrp(3)](https://man7.org/linux/man-pages/man3/tcsetpgrp.3.html)
pub fn set_foreground_group(fd: u32, group: rustix::process::Pid) -> Result<(), Errno> {
    /// `TIOCSPGRP` (the asm-generic number, which x86_64 and aarch64 share).
    const TIOCSPGRP: usize = 0x5410;
    let group: i32 = group.as_raw_nonzero().get();
    // SAFETY: the pointer references a live `i32` that the kernel only reads; `fd` is a plain
    // integer (a closed or non-terminal descriptor only makes the call fail).
    unsafe {
        call(
            kernel::__NR_ioctl,
            [
                fd as usize,
                TIOCSPGRP,
                &group as *const i32 as usize,
                0,
                0,
                0,
            ],
        )
        .map(|_| ())
    }
}

/// `pidfd_send_signal(pidfd, 0, NULL, 0)`: whether the process still exists, running or a
/// zombie not yet collected by its parent (`Ok`, or EPERM), or has been collected (ESRCH).
/// Unlike the pidfd's POLLHUP (Linux 6.9), this tells the two apart since Linux 5.1.
///
/// # References
/// [pidfd_send_signal(2)](https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html)
pub fn pidfd_exists(pidfd: rustix::fd::BorrowedFd<'_>) -> bool {
    use rustix::fd::AsRawFd;
    // SAFETY: plain integers and a null siginfo pointer; signal 0 only checks the process.
    let answer = unsafe {
        call(
            kernel::__NR_pidfd_send_signal,
            [pidfd.as_raw_fd() as usize, 0, 0, 0, 0, 0],
        )
    };
    answer != Err(Errno::SRCH)
}
