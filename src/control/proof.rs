//! The lock proof (docs/design.md §3, "one identity for proof and signal"): which process
//! holds the PID file's lock, read in `/proc` without trusting a number.
//!
//! How it works, and its limits:
//! - the PID named in the locked PID file (a number in our PID namespace) gets a pidfd first.
//!   `/proc` may belong to another namespace (a container that bind-mounts the host's
//!   `/proc`, `unshare -p` without a new mount, a chroot's stale `/proc`), so the number to look
//!   at comes from the pidfd itself: the `Pid:` line of `/proc/self/fdinfo/<pidfd>` is its
//!   number in the `/proc` mount's namespace (`-1` once it is reaped, `0` when that namespace
//!   cannot see it). `/proc/<that number>/fdinfo` is opened as a directory and everything is
//!   read through it (`holders.rs`);
//! - one of that process's descriptors must carry the lock: `fdinfo/<fd>` shows a `lock:`
//!   line for every `flock` its open file description holds, with the device and inode of
//!   the locked file. The device is the file system's superblock device (not `st_dev` on
//!   btrfs), so the PID file's is asked the same way: `statx(STATX_MNT_ID_UNIQUE)` on our own
//!   descriptor names its mount and `statmount` that mount's superblock (Linux 6.8; before,
//!   or where it is refused, our descriptor's `mnt_id` in `/proc/self/fdinfo` and its line
//!   in `/proc/self/mountinfo`). The line's pid field names whoever called `flock`, not the
//!   holder: it is ignored;
//! - the pidfd's process must still be alive after that look, so the look saw that very
//!   process, not a recycled PID;
//! - a `/proc` that is a procfs in which we cannot see ourselves (`/proc/self` does not
//!   resolve) shows another namespace: refused. Only without a procfs at `/proc` does the
//!   lock alone vouch for the named PID; where `pidfd_open` is unavailable (ENOSYS, or EPERM
//!   from a seccomp filter) `/proc` must be provably ours, and the PID could in theory be
//!   recycled between the look and the signal.
//!
//! This file owns the proof. It must never call a process a holder without having seen the
//! lock among its descriptors (or, without `/proc`, without the lock naming it), never turn a
//! number read in `/proc` into a number for `kill` or `pidfd_open`, and never read anything
//! through a descriptor of the process it inspects.

use super::deliver::{Reach, Target};
use super::holders::{holds, process_error, Holding};
use super::procfs::{mount_device, open_proc, own_fdinfo, proc_path, read_field, FIELD};
use crate::error::{Error, Message, Result, Subject};
use crate::pidfile;
use crate::sys;
use crate::text::parse_decimal;
use core::ffi::CStr;
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use rustix::fs::OFlags;
use rustix::io::Errno;
use rustix::process::{Pid, PidfdFlags};

/// The lock as `/proc/<pid>/fdinfo` shows it: the superblock's device and the inode.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct LockId {
    pub(super) major: u32,
    pub(super) minor: u32,
    pub(super) inode: u64,
}

/// The PID file open on `fd` as the proof needs it.
pub(super) struct LockedFile {
    /// Its lock's identity; `None` when no procfs is mounted on `/proc` (the lock alone
    /// vouches then) and that was found out on the way.
    pub(super) lock: Option<LockId>,
    /// Its file system's magic, when the call that gave the device told it too (`None`:
    /// `fstatfs` knows).
    pub(super) magic: Option<u32>,
}

/// The lock identity of the PID file open on `fd` with inode `inode`: one `statx` and one
/// `statmount` where the kernel has them (Linux 6.8), else our descriptor's `mnt_id` in
/// `/proc/self/fdinfo` and that mount's line in `/proc/self/mountinfo`. A procfs that does not
/// show us (the `/proc` of another PID namespace) is an error: nothing read there could be
/// trusted.
pub(super) fn lock_of(fd: BorrowedFd<'_>, inode: u64) -> Result<LockedFile> {
    if let Some(superblock) = superblock(fd) {
        return Ok(LockedFile {
            lock: Some(LockId {
                major: superblock.major,
                minor: superblock.minor,
                inode,
            }),
            magic: u32::try_from(superblock.magic).ok(),
        });
    }
    let number = fd.as_raw_fd() as u32;
    let own_error =
        |errno| Error::system(Message::ReadOwnFdinfo, Subject::None, errno).with(1, number);
    let mut path = [0u8; 40];
    let mut value = [0u8; FIELD];
    let mount = match read_field(own_fdinfo(&mut path, number), b"mnt_id:", &mut value) {
        Ok(Some(mount)) => parse_decimal(mount, u64::MAX).ok_or(own_error(Errno::NODATA))?,
        Ok(None) => return Err(own_error(Errno::NODATA)),
        Err(Errno::NOENT) => {
            return no_proc().map(|_| LockedFile {
                lock: None,
                magic: None,
            })
        }
        Err(errno) => return Err(own_error(errno)),
    };
    let mountinfo_error = |errno| Error::system(Message::ReadMountinfo, Subject::None, errno);
    match mount_device(mount) {
        Ok(Some((major, minor))) => Ok(LockedFile {
            lock: Some(LockId {
                major,
                minor,
                inode,
            }),
            magic: None,
        }),
        Ok(None) => Err(mountinfo_error(Errno::NODATA)),
        Err(errno) => Err(mountinfo_error(errno)),
    }
}

/// The superblock of the file open on `fd` in two calls, `statx` for its mount's unique id and
/// `statmount` for that mount; `None` where either is missing or refused (before Linux 6.8, a
/// seccomp filter, a mount outside our root without CAP_SYS_ADMIN).
fn superblock(fd: BorrowedFd<'_>) -> Option<sys::Superblock> {
    sys::statmount_superblock(sys::unique_mount_id(fd)?).ok()
}

/// `/proc/self` did not resolve: `Ok(None)` when `/proc` is no procfs (not mounted: the lock
/// alone vouches), the "another PID namespace" error when it is one.
pub(super) fn no_proc() -> Result<Option<LockId>> {
    match rustix::fs::statfs(c"/proc") {
        Ok(info) if info.f_type as u32 == PROC_MAGIC => Err(foreign_proc()),
        _ => Ok(None),
    }
}

/// `statfs` magic of procfs.
pub(super) const PROC_MAGIC: u32 = 0x9fa0;

/// The refusal for a `/proc` of a PID namespace that is not ours.
pub(super) fn foreign_proc() -> Error {
    Error::new(Message::ForeignProc, Subject::None)
}

/// What the look at a named process found.
pub(super) enum Proof {
    /// It holds the lock and is alive.
    Holder(Target),
    /// It has exited (or is a zombie); its number in `/proc`'s namespace when it was read.
    Gone(Option<u32>),
    /// It lives and does not hold the lock.
    NotHolding,
}

/// Opens a pidfd for `pid`, finds its number in `/proc`'s namespace, checks that it holds
/// the lock (the PID file's path, `pid_file`, decides which descriptors are read first), and
/// that the pidfd's process is still alive after that look. Without `/proc` (`lock` is
/// `None`, or the translation finds no procfs) the lock vouches.
pub(super) fn prove(pid: Pid, lock: Option<&LockId>, pid_file: &CStr) -> Result<Proof> {
    let number = pid.as_raw_nonzero().get() as u32;
    let reach = match rustix::process::pidfd_open(pid, PidfdFlags::empty()) {
        Ok(pidfd) => Reach::Pidfd(pidfd),
        Err(Errno::NOSYS) | Err(Errno::PERM) => Reach::Kill,
        Err(Errno::SRCH) => return Ok(Proof::Gone(None)),
        Err(errno) => {
            return Err(Error::system(Message::OpenPidfd, Subject::None, errno).with(1, number))
        }
    };
    let mut target = Target {
        number,
        reach,
        process: None,
        translation: None,
    };
    let holding = match lock {
        None => Holding::Yes,
        Some(lock) => {
            let seen = match target.pidfd() {
                Some(pidfd) => match translate(pidfd)? {
                    Translation::Seen(seen, fdinfo) => {
                        target.translation = Some(fdinfo);
                        Some(seen)
                    }
                    Translation::Reaped => return Ok(Proof::Gone(None)),
                    Translation::NoProc => None,
                },
                // No pidfd to translate through: only our own /proc is read by number.
                None => match proc_is_ours()? {
                    Some(true) => Some(number),
                    Some(false) => return Err(foreign_proc()),
                    None => None,
                },
            };
            match seen {
                // No procfs at /proc: the lock alone vouches.
                None => Holding::Yes,
                Some(seen) => {
                    let mut path = [0u8; 40];
                    match open_proc(
                        proc_path(&mut path, b"", seen, b"/fdinfo"),
                        OFlags::DIRECTORY,
                    ) {
                        Ok(infos) => {
                            let holding = holds(infos.as_fd(), seen, lock, pid_file)?;
                            target.process = Some((infos, seen));
                            holding
                        }
                        // Reaped since the translation.
                        Err(Errno::NOENT) | Err(Errno::SRCH) => return Ok(Proof::Gone(Some(seen))),
                        Err(errno) => return Err(process_error(seen, errno)),
                    }
                }
            }
        }
    };
    Ok(match (holding, target.is_alive()?) {
        (_, false) => Proof::Gone(target.process.map(|(_, seen)| seen)),
        (Holding::Yes, true) => Proof::Holder(target),
        (Holding::No, true) => Proof::NotHolding,
    })
}

/// What the pidfd's fdinfo says about its process's number in `/proc`'s namespace.
enum Translation {
    /// Its number there, and the fdinfo's descriptor (kept to be closed with the rest).
    Seen(u32, OwnedFd),
    /// It has been reaped (`-1`).
    Reaped,
    /// No procfs is mounted at `/proc`.
    NoProc,
}

/// The pidfd's process's number in `/proc`'s namespace (the `Pid:` line of its fdinfo); `0`
/// (a namespace that cannot see it) is refused, as is a procfs in which `/proc/self` does not
/// resolve.
fn translate(pidfd: BorrowedFd<'_>) -> Result<Translation> {
    let descriptor = pidfd.as_raw_fd() as u32;
    let error =
        |errno| Error::system(Message::ReadOwnFdinfo, Subject::None, errno).with(1, descriptor);
    let mut path = [0u8; 40];
    let fdinfo = match open_proc(own_fdinfo(&mut path, descriptor), OFlags::empty()) {
        Ok(fdinfo) => fdinfo,
        Err(Errno::NOENT) => return no_proc().map(|_| Translation::NoProc),
        Err(errno) => return Err(error(errno)),
    };
    let mut value = [0u8; FIELD];
    let mut length = None;
    crate::io::for_each_line(fdinfo.as_fd(), true, &mut |line| {
        let Some(rest) = line.strip_prefix(b"Pid:") else {
            return true;
        };
        let rest = rest.trim_ascii();
        let kept = rest.len().min(FIELD);
        value[..kept].copy_from_slice(&rest[..kept]);
        length = Some(kept);
        false
    })
    .map_err(error)?;
    match length.map(|length| &value[..length]) {
        Some(b"-1") => Ok(Translation::Reaped),
        Some(text) => match parse_decimal(text, pidfile::PID_MAX) {
            Some(0) => Err(foreign_proc()),
            Some(seen) => Ok(Translation::Seen(seen as u32, fdinfo)),
            None => Err(error(Errno::NODATA)),
        },
        None => Err(error(Errno::NODATA)),
    }
}

/// Whether `/proc` is our own PID namespace: our `NSpid:` there has one number (the line
/// lists our number in every namespace from `/proc`'s down to ours). `None` when no procfs is
/// mounted at `/proc`; a procfs that cannot see us is the "another PID namespace" error.
pub(super) fn proc_is_ours() -> Result<Option<bool>> {
    let mut value = [0u8; FIELD];
    match read_field(c"/proc/self/status", b"NSpid:", &mut value) {
        Ok(Some(numbers)) => Ok(Some(!numbers.iter().any(|byte| byte.is_ascii_whitespace()))),
        // A kernel without PID namespaces has only ours.
        Ok(None) => Ok(Some(true)),
        Err(Errno::NOENT) => no_proc().map(|_| None),
        Err(errno) => Err(Error::system(Message::ReadThreads, Subject::None, errno)),
    }
}
