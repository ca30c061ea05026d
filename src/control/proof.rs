//! The lock proof (docs/design.md §3, "one identity for proof and signal"): which process
//! holds the PID file's lock, read in `/proc` without trusting a number.
//!
//! How it works, and its limits:
//! - the PID named in the locked PID file (a number in our PID namespace) gets a pidfd first.
//!   `/proc` may belong to another namespace (a container that bind-mounts the host's
//!   `/proc`, `unshare -p` without a new mount, a chroot's stale `/proc`), so the number to look
//!   at comes from the pidfd itself: the `Pid:` line of `/proc/self/fdinfo/<pidfd>` is its
//!   number in the `/proc` mount's namespace (`-1` once it is reaped, `0` when that namespace
//!   cannot see it). `/proc/<that number>` is opened as a directory and everything is read
//!   through it;
//! - one of that process's descriptors must carry the lock: `fdinfo/<fd>` shows a `lock:`
//!   line for every `flock` its open file description holds, with the device and inode of
//!   the locked file. The device is the file system's superblock device (not `st_dev` on
//!   btrfs), so the PID file's is read the same way, from `/proc/self/mountinfo` for our own
//!   descriptor's mount. The line's pid field names whoever called `flock`, not the holder:
//!   it is ignored;
//! - reading fdinfo never touches the descriptor's file system (a `stat` through `fd/<n>`
//!   hangs on a dead FUSE or NFS mount), and descriptors whose link names a socket, a pipe,
//!   an anonymous inode or a device are skipped unread (some drivers' fdinfo takes kernel
//!   locks);
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
use super::procfs::{
    for_each_line, mount_device, open_proc, own_fdinfo, proc_path, read_field, FIELD,
};
use crate::error::{Error, Message, Result, Subject};
use crate::pidfile;
use crate::text::parse_decimal;
use core::ffi::CStr;
use core::mem::MaybeUninit;
use rustix::fd::{AsFd, AsRawFd, BorrowedFd};
use rustix::fs::{Mode, OFlags, RawDir};
use rustix::io::Errno;
use rustix::process::{Pid, PidfdFlags};

/// The lock as `/proc/<pid>/fdinfo` shows it: the superblock's device and the inode.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct LockId {
    major: u32,
    minor: u32,
    inode: u64,
}

/// What the lock proof can say about a process.
pub(super) enum Holding {
    /// One of its descriptors carries the lock.
    Yes,
    /// None does (or the process is gone, or a zombie, which has no descriptors).
    No,
}

/// The [`LockId`] of the PID file open on `fd` with inode `inode`; `None` when no procfs is
/// mounted on `/proc` (the lock alone vouches then). A procfs that does not show us (the
/// `/proc` of another PID namespace) is an error: nothing read there could be trusted.
pub(super) fn lock_of(fd: BorrowedFd<'_>, inode: u64) -> Result<Option<LockId>> {
    let number = fd.as_raw_fd() as u32;
    let own_error =
        |errno| Error::system(Message::ReadOwnFdinfo, Subject::None, errno).with(1, number);
    let mut path = [0u8; 40];
    let mut value = [0u8; FIELD];
    let mount = match read_field(own_fdinfo(&mut path, number), b"mnt_id:", &mut value) {
        Ok(Some(mount)) => parse_decimal(mount, u64::MAX).ok_or(own_error(Errno::NODATA))?,
        Ok(None) => return Err(own_error(Errno::NODATA)),
        Err(Errno::NOENT) => return no_proc(),
        Err(errno) => return Err(own_error(errno)),
    };
    let mountinfo_error = |errno| Error::system(Message::ReadMountinfo, Subject::None, errno);
    match mount_device(mount) {
        Ok(Some((major, minor))) => Ok(Some(LockId {
            major,
            minor,
            inode,
        })),
        Ok(None) => Err(mountinfo_error(Errno::NODATA)),
        Err(errno) => Err(mountinfo_error(errno)),
    }
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
/// the lock, and that the pidfd's process is still alive after that look. Without `/proc`
/// (`lock` is `None`) the lock vouches.
pub(super) fn prove(pid: Pid, lock: Option<&LockId>) -> Result<Proof> {
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
    };
    let holding = match lock {
        None => Holding::Yes,
        Some(lock) => {
            let seen = match target.pidfd() {
                Some(pidfd) => match translate(pidfd)? {
                    Some(seen) => seen,
                    None => return Ok(Proof::Gone(None)),
                },
                // No pidfd to translate through: only our own /proc is read by number.
                None if proc_is_ours()? => number,
                None => return Err(foreign_proc()),
            };
            let mut path = [0u8; 40];
            match open_proc(proc_path(&mut path, b"", seen, b""), OFlags::DIRECTORY) {
                Ok(process) => {
                    let holding = holds(process.as_fd(), seen, lock)?;
                    target.process = Some((process, seen));
                    holding
                }
                // Reaped since the translation.
                Err(Errno::NOENT) | Err(Errno::SRCH) => return Ok(Proof::Gone(Some(seen))),
                Err(errno) => return Err(process_error(seen, errno)),
            }
        }
    };
    Ok(match (holding, target.is_alive()?) {
        (_, false) => Proof::Gone(target.process.map(|(_, seen)| seen)),
        (Holding::Yes, true) => Proof::Holder(target),
        (Holding::No, true) => Proof::NotHolding,
    })
}

/// The pidfd's process's number in `/proc`'s namespace (the `Pid:` line of its fdinfo):
/// `None` once it has been reaped (`-1`); `0` (a namespace that cannot see it) is refused.
pub(super) fn translate(pidfd: BorrowedFd<'_>) -> Result<Option<u32>> {
    let descriptor = pidfd.as_raw_fd() as u32;
    let error =
        |errno| Error::system(Message::ReadOwnFdinfo, Subject::None, errno).with(1, descriptor);
    let mut path = [0u8; 40];
    let mut value = [0u8; FIELD];
    match read_field(own_fdinfo(&mut path, descriptor), b"Pid:", &mut value) {
        Ok(Some(b"-1")) => Ok(None),
        Ok(Some(text)) => match parse_decimal(text, pidfile::PID_MAX) {
            Some(0) => Err(foreign_proc()),
            Some(seen) => Ok(Some(seen as u32)),
            None => Err(error(Errno::NODATA)),
        },
        Ok(None) => Err(error(Errno::NODATA)),
        Err(errno) => Err(error(errno)),
    }
}

/// Whether `/proc` is our own PID namespace: our `NSpid:` there has one number (the line
/// lists our number in every namespace from `/proc`'s down to ours).
pub(super) fn proc_is_ours() -> Result<bool> {
    let mut value = [0u8; FIELD];
    match read_field(c"/proc/self/status", b"NSpid:", &mut value) {
        Ok(Some(numbers)) => Ok(!numbers.iter().any(|byte| byte.is_ascii_whitespace())),
        // A kernel without PID namespaces has only ours.
        Ok(None) => Ok(true),
        Err(Errno::NOENT) => no_proc().map(|_| true),
        Err(errno) => Err(Error::system(Message::ReadThreads, Subject::None, errno)),
    }
}

/// The error for a failed read of `/proc/<number>`'s fdinfo.
pub(super) fn process_error(number: u32, errno: Errno) -> Error {
    Error::system(Message::ReadProcess, Subject::None, errno).with(1, number)
}

/// Bytes of a `fd/<n>` link we look at: enough for the prefixes we skip.
pub(super) const LINK_PREFIX: usize = 16;

/// Whether one of the descriptors of the process whose `/proc/<number>` directory is
/// `process` carries `lock` (see the module docs).
pub(super) fn holds(process: BorrowedFd<'_>, number: u32, lock: &LockId) -> Result<Holding> {
    let infos = match rustix::fs::openat(
        process,
        c"fdinfo",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(infos) => infos,
        // The process is gone (or its /proc entry is, in a zombie's last moments).
        Err(Errno::NOENT) | Err(Errno::SRCH) => return Ok(Holding::No),
        Err(errno) => return Err(process_error(number, errno)),
    };
    crate::failpoint::hit("control-proving-holder");
    let mut buffer = [MaybeUninit::<u8>::uninit(); 1024];
    let mut entries = RawDir::new(infos.as_fd(), &mut buffer);
    while let Some(entry) = entries.next() {
        let entry = match entry {
            Ok(entry) => entry,
            // The process exited while we read its descriptor table: it holds nothing.
            Err(Errno::NOENT) | Err(Errno::SRCH) => return Ok(Holding::No),
            Err(errno) => return Err(process_error(number, errno)),
        };
        let name = entry.file_name();
        if name.to_bytes().first() == Some(&b'.') {
            continue;
        }
        // `fd/<n>`: the descriptor's link, beside its fdinfo entry.
        let mut link_path = [0u8; 24];
        let digits = name.to_bytes();
        let end = 3 + digits.len().min(link_path.len() - 4);
        link_path[..3].copy_from_slice(b"fd/");
        link_path[3..end].copy_from_slice(&digits[..end - 3]);
        let link_path = CStr::from_bytes_until_nul(&link_path).unwrap_or(c"fd");
        let mut link = [0u8; LINK_PREFIX];
        let closed = |errno| matches!(errno, Errno::NOENT | Errno::SRCH);
        let length = match rustix::fs::readlinkat_raw(process, link_path, &mut link[..]) {
            Ok(length) => length,
            Err(errno) if closed(errno) => continue,
            Err(errno) => return Err(process_error(number, errno)),
        };
        let link = &link[..length];
        if [&b"socket:"[..], b"pipe:", b"anon_inode:", b"/dev/"]
            .iter()
            .any(|prefix| link.starts_with(prefix))
        {
            continue;
        }
        let info = match rustix::fs::openat(
            infos.as_fd(),
            name,
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(info) => info,
            Err(errno) if closed(errno) => continue,
            Err(errno) => return Err(process_error(number, errno)),
        };
        if carries(info.as_fd(), lock) {
            return Ok(Holding::Yes);
        }
    }
    Ok(Holding::No)
}

/// Whether the fdinfo read from `info` has a `FLOCK` line for `lock`.
pub(super) fn carries(info: BorrowedFd<'_>, lock: &LockId) -> bool {
    let mut found = false;
    let _ = for_each_line(info, &mut |line| {
        if let Some(rest) = line.strip_prefix(b"lock:") {
            found |= flock_line_matches(rest, lock);
        }
        !found
    });
    found
}

/// Whether a `lock:` line's rest (`\t1: FLOCK  ADVISORY  WRITE 1082 fe:00:10117578 0 EOF`)
/// is a held `flock` on `lock`'s device and inode (a `->` waiter line is not).
pub(super) fn flock_line_matches(rest: &[u8], lock: &LockId) -> bool {
    let mut words = rest
        .split(|&byte| byte == b' ' || byte == b'\t')
        .filter(|word| !word.is_empty());
    let (Some(_index), Some(kind), Some(_advisory), Some(_mode), Some(_pid), Some(identity)) = (
        words.next(),
        words.next(),
        words.next(),
        words.next(),
        words.next(),
        words.next(),
    ) else {
        return false;
    };
    if kind != b"FLOCK" {
        return false;
    }
    let mut parts = identity.split(|&byte| byte == b':');
    let (Some(major), Some(minor), Some(inode), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    parse_hex(major) == Some(lock.major)
        && parse_hex(minor) == Some(lock.minor)
        && parse_decimal(inode, u64::MAX) == Some(lock.inode)
}

/// A lowercase or uppercase hexadecimal `u32`.
pub(super) fn parse_hex(text: &[u8]) -> Option<u32> {
    if text.is_empty() || text.len() > 8 {
        return None;
    }
    let mut value = 0u32;
    for &byte in text {
        let digit = (byte as char).to_digit(16)?;
        value = value << 4 | digit;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_lines() {
        let lock = LockId {
            major: 0xfe,
            minor: 0,
            inode: 10_117_578,
        };
        assert!(flock_line_matches(
            b"\t1: FLOCK  ADVISORY  WRITE 1082 fe:00:10117578 0 EOF",
            &lock
        ));
        assert!(flock_line_matches(
            b"\t1: FLOCK  ADVISORY  READ 9 FE:0:10117578 0 EOF",
            &lock
        ));
        assert!(!flock_line_matches(
            b"\t1: POSIX  ADVISORY  WRITE 1082 fe:00:10117578 0 EOF",
            &lock
        ));
        assert!(!flock_line_matches(
            b"\t1: FLOCK  ADVISORY  WRITE 1082 fe:01:10117578 0 EOF",
            &lock
        ));
        assert!(!flock_line_matches(
            b"\t1: FLOCK  ADVISORY  WRITE 1082 fe:00:10117579 0 EOF",
            &lock
        ));
        assert!(!flock_line_matches(
            b"\t1: -> FLOCK  ADVISORY  WRITE 1082 fe:00:10117578 0 EOF",
            &lock
        ));
        assert!(!flock_line_matches(b"", &lock));
        assert!(!flock_line_matches(
            b"\t1: FLOCK ADVISORY WRITE 1 fe:00:10117578:1 0 EOF",
            &lock
        ));
    }
}
