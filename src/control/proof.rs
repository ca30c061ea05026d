//! The lock proof (docs/design.md §3, "one identity for proof and signal", "the proof's cost"):
//! which process holds the PID file's lock, read in `/proc` without trusting a number.
//!
//! This file owns the proof. It must never call a process a holder without seeing the lock among
//! its descriptors (or, without a procfs, the lock naming it), never turn a `/proc` number into one
//! for `kill` or `pidfd_open`, and never read through a descriptor of the inspected process.

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
    /// Its lock's identity; `None` when no procfs is at `/proc` (the lock alone vouches).
    pub(super) lock: Option<LockId>,
    /// Its file system's magic, when known on the way (`None`: ask `fstatfs`).
    pub(super) magic: Option<u32>,
}

/// The lock identity of the PID file on `fd`: `statx` and `statmount`, else `/proc/self/fdinfo` and
/// `mountinfo`. A procfs that does not show us is an error.
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

/// `fd`'s superblock; `None` where refused or before Linux 6.8.
fn superblock(fd: BorrowedFd<'_>) -> Option<sys::Superblock> {
    sys::statmount_superblock(sys::unique_mount_id(fd)?).ok()
}

/// `/proc/self` did not resolve: `Ok(None)` without a procfs, else the "another PID namespace"
/// error.
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
    /// It has exited (or is a zombie); its `/proc` number when read.
    Gone(Option<u32>),
    /// It lives and does not hold the lock.
    NotHolding,
}

/// Opens a pidfd for `pid`, translates it to `/proc`'s number, checks it holds the lock and still
/// lives. Without `/proc` the lock vouches.
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

/// The pidfd's number in `/proc`'s namespace, per its fdinfo.
enum Translation {
    /// Its number there, and the fdinfo descriptor (closed with the rest).
    Seen(u32, OwnedFd),
    /// It has been reaped (`-1`).
    Reaped,
    /// No procfs is mounted at `/proc`.
    NoProc,
}

/// The `Pid:` line of the pidfd's fdinfo; `0` is refused, as is a procfs not showing `/proc/self`.
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

/// Whether `/proc` is our PID namespace (our `NSpid:` has one number); `None` without a procfs.
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
