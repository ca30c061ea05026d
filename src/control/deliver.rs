//! Signal delivery for STOP and SIGNAL (DESIGN.md §3): a signal goes only to a process proven
//! to hold the PID file's lock, through a pidfd.
//!
//! How the proof works, and its limits:
//! - the PID named in the locked PID file gets a pidfd first; then one of that process's
//!   descriptors must carry the lock: `/proc/<pid>/fdinfo/<fd>` shows a `lock:` line for
//!   every `flock` its open file description holds, with the device and inode of the locked
//!   file. The device is the file system's superblock device (not `st_dev` on btrfs), so the
//!   PID file's is read the same way, from `/proc/self/mountinfo` for our own descriptor's
//!   mount. The line's pid field names whoever called `flock`, not the holder: it is ignored;
//! - reading fdinfo never touches the descriptor's file system (a `stat` through
//!   `/proc/<pid>/fd` hangs on a dead FUSE or NFS mount), and descriptors whose link names a
//!   socket, a pipe, an anonymous inode or a device are skipped unread (some drivers' fdinfo
//!   takes kernel locks);
//! - the pidfd's process must still be alive after that look, so the look saw that very
//!   process, not a recycled PID; the signal then goes through the pidfd;
//! - a named process that has exited while the lock is still held leaves "other processes of
//!   the daemon" (a supervisor killed with SIGKILL leaves its program, a daemon its forked
//!   workers): those in its session that are proven holders get the signal;
//! - without `/proc` (ENOENT on `/proc/self`) the lock alone vouches for the named PID;
//!   where `pidfd_open` is unavailable (ENOSYS, or EPERM from a seccomp filter) plain `kill`
//!   is used, and the PID could in theory be recycled between the look and the signal.
//!
//! This file owns the proof and the sending. It must never signal a process that it has not
//! proven to hold the lock (or, without `/proc`, that the locked file does not name), and
//! never read anything through a descriptor of the process it inspects.

use super::Params;
use super::Status;
use crate::error::{Error, Message, Result, Subject};
use crate::pidfile::{self, FileId, PidState};
use crate::signal::Signal;
use crate::sys;
use crate::text::{parse_decimal, Writer};
use core::ffi::CStr;
use core::mem::MaybeUninit;
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
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
enum Holding {
    /// One of its descriptors carries the lock.
    Yes,
    /// None does (or the process is gone, or a zombie, which has no descriptors).
    No,
}

/// A process proven to hold the lock; `pidfd` is `None` only where `pidfd_open` is
/// unavailable and plain `kill` is used.
pub(crate) struct Target {
    pid: Pid,
    pidfd: Option<OwnedFd>,
}

/// Who got the signal.
pub(crate) enum Delivered {
    /// The process the PID file names.
    Named(Target),
    /// That process has exited; other processes of the daemon (holders of the lock in its
    /// session) got the signal.
    Others,
    /// The daemon has exited meanwhile: the PID file is no longer locked.
    Exited,
}

/// SIGNAL on RUNNING(pid): deliver, and say what happened.
pub(crate) fn signal_daemon(
    params: &Params<'_>,
    pid: Pid,
    file: FileId,
    signal: Signal,
) -> Result<Status> {
    let lock = lock_of(params.pid_file, None)?;
    match deliver(params, pid, file, lock.as_ref(), signal, false)? {
        Delivered::Exited => Ok(Status::NotRunning),
        _ => Ok(Status::Ok),
    }
}

/// The [`LockId`] of the PID file, read through `fd` (or a new read-only descriptor);
/// `None` when `/proc` is not mounted (the lock alone vouches then), or when the file is
/// gone.
pub(crate) fn lock_of(path: &CStr, fd: Option<BorrowedFd<'_>>) -> Result<Option<LockId>> {
    let opened;
    let fd = match fd {
        Some(fd) => fd,
        None => match pidfile::open_file(path, OFlags::RDONLY) {
            Ok(new) => {
                opened = new;
                opened.as_fd()
            }
            Err(Errno::NOENT) => return Ok(None),
            Err(errno) => return Err(Error::system(Message::Open, Subject::PidFile, errno)),
        },
    };
    let inode = rustix::fs::fstat(fd)
        .map_err(|errno| Error::system(Message::Stat, Subject::PidFile, errno))?
        .st_ino;
    let proc_error = |errno| Error::system(Message::ReadProcess, Subject::None, errno);
    let mut path = [0u8; 40];
    let mut writer = Writer::new(&mut path);
    writer.push(b"/proc/self/fdinfo/");
    writer.push_decimal(fd.as_raw_fd() as u64);
    writer.push(b"\0");
    let mount = match read_field(
        proc_path(&path).ok_or(proc_error(Errno::INVAL))?,
        b"mnt_id:",
    ) {
        Ok(Some(mount)) => mount,
        Ok(None) => return Err(proc_error(Errno::NODATA)),
        Err(Errno::NOENT) => return Ok(None),
        Err(errno) => return Err(proc_error(errno)),
    };
    match mount_device(mount) {
        Ok(Some((major, minor))) => Ok(Some(LockId {
            major,
            minor,
            inode,
        })),
        Ok(None) => Err(proc_error(Errno::NODATA)),
        Err(errno) => Err(proc_error(errno)),
    }
}

/// `bytes` (NUL-terminated, as built) as a `CStr`.
fn proc_path(bytes: &[u8]) -> Option<&CStr> {
    CStr::from_bytes_until_nul(bytes).ok()
}

/// Proves that `pid` (or, when it has exited, other processes of the daemon) holds the lock
/// and sends `signal`, followed by SIGCONT when `then_continue` (STOP: a stopped daemon must
/// be able to act on it); a PID file no longer locked means the daemon has exited.
pub(crate) fn deliver(
    params: &Params<'_>,
    pid: Pid,
    file: FileId,
    lock: Option<&LockId>,
    signal: Signal,
    then_continue: bool,
) -> Result<Delivered> {
    let pid_number = pid.as_raw_nonzero().get() as u32;
    let gone = match prove(pid, lock)? {
        Proof::Holder(target) => {
            if target.send(signal)? {
                if then_continue {
                    let _ = target.send(Signal::CONT);
                }
                return Ok(Delivered::Named(target));
            }
            true
        }
        Proof::Gone => true,
        Proof::NotHolding => false,
    };
    // Gone, or not holding the lock: the lock, looked at again, tells an exit from an
    // impostor.
    let inspection = pidfile::inspect(params.pid_file)?;
    match inspection.state {
        PidState::Running(_) | PidState::Busy if inspection.file == file => {}
        _ => return Ok(Delivered::Exited),
    }
    if !gone {
        return Err(Error::new(Message::NotHolding, Subject::PidFile).with(1, pid_number));
    }
    match lock {
        Some(lock) => match signal_others(pid, lock, ToHolders::Signal(signal, then_continue))? {
            0 => Err(Error::new(Message::HeldByOthers, Subject::PidFile).with(1, pid_number)),
            _ => Ok(Delivered::Others),
        },
        // Without /proc nobody else can be proven: the lock is all we know.
        None => Err(Error::new(Message::HeldByOthers, Subject::PidFile).with(1, pid_number)),
    }
}

/// What the look at a named process found.
enum Proof {
    /// It holds the lock and is alive.
    Holder(Target),
    /// It has exited (or is a zombie).
    Gone,
    /// It lives and does not hold the lock.
    NotHolding,
}

/// Opens a pidfd for `pid`, checks that it holds the lock, and that the pidfd's process is
/// still alive after that look. Without `/proc` (`lock` is `None`) the lock vouches.
fn prove(pid: Pid, lock: Option<&LockId>) -> Result<Proof> {
    let pidfd = match rustix::process::pidfd_open(pid, PidfdFlags::empty()) {
        Ok(pidfd) => Some(pidfd),
        Err(Errno::NOSYS) | Err(Errno::PERM) => None,
        Err(Errno::SRCH) => return Ok(Proof::Gone),
        Err(errno) => {
            return Err(Error::system(Message::OpenPidfd, Subject::None, errno)
                .with(1, pid.as_raw_nonzero().get() as u32))
        }
    };
    let holding = match lock {
        Some(lock) => holds(pid, lock)?,
        None => Holding::Yes,
    };
    let target = Target { pid, pidfd };
    let alive = target.is_alive()?;
    Ok(match (holding, alive) {
        (_, false) => Proof::Gone,
        (Holding::Yes, true) => Proof::Holder(target),
        (Holding::No, true) => Proof::NotHolding,
    })
}

/// Bytes of a `/proc/<pid>/fd/<n>` link we look at: enough for the prefixes we skip.
const LINK_PREFIX: usize = 16;

/// Whether one of `pid`'s descriptors carries `lock` (see the module docs).
fn holds(pid: Pid, lock: &LockId) -> Result<Holding> {
    let number = pid.as_raw_nonzero().get() as u32;
    let proc_error =
        |errno| Error::system(Message::ReadProcess, Subject::None, errno).with(1, number);
    let mut path = [0u8; 32];
    let directory = |leaf: &[u8], path: &mut [u8; 32]| {
        let mut writer = Writer::new(path);
        writer.push(b"/proc/");
        writer.push_decimal(u64::from(number));
        writer.push(leaf);
        writer.push(b"\0");
        match proc_path(&path[..]) {
            Some(path) => open_proc(path, OFlags::DIRECTORY),
            None => Err(Errno::INVAL),
        }
    };
    let (links, infos) = match (
        directory(b"/fd", &mut path),
        directory(b"/fdinfo", &mut path),
    ) {
        (Ok(links), Ok(infos)) => (links, infos),
        // The process is gone (or its /proc entry is, in a zombie's last moments).
        (Err(Errno::NOENT), _) | (_, Err(Errno::NOENT)) | (Err(Errno::SRCH), _) => {
            return Ok(Holding::No)
        }
        (Err(errno), _) | (_, Err(errno)) => return Err(proc_error(errno)),
    };
    crate::failpoint::hit("control-proving-holder");
    let mut buffer = [MaybeUninit::<u8>::uninit(); 1024];
    let mut entries = RawDir::new(links.as_fd(), &mut buffer);
    while let Some(entry) = entries.next() {
        let entry = match entry {
            Ok(entry) => entry,
            // The process exited while we read its descriptor table: it holds nothing.
            Err(Errno::NOENT) | Err(Errno::SRCH) => return Ok(Holding::No),
            Err(errno) => return Err(proc_error(errno)),
        };
        let name = entry.file_name();
        if name.to_bytes().first() == Some(&b'.') {
            continue;
        }
        let mut link = [0u8; LINK_PREFIX];
        let length = match rustix::fs::readlinkat_raw(links.as_fd(), name, &mut link[..]) {
            Ok(length) => length,
            // Closed meanwhile.
            Err(_) => continue,
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
            Err(_) => continue,
        };
        if carries(info.as_fd(), lock) {
            return Ok(Holding::Yes);
        }
    }
    Ok(Holding::No)
}

/// Whether the fdinfo read from `info` has a `FLOCK` line for `lock`.
fn carries(info: BorrowedFd<'_>, lock: &LockId) -> bool {
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
fn flock_line_matches(rest: &[u8], lock: &LockId) -> bool {
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
fn parse_hex(text: &[u8]) -> Option<u32> {
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

/// Calls `line` for every line read from `fd`, cut to its first 128 bytes (every line we
/// look for is shorter, or has what we want in its start: mountinfo's device); stops when
/// it returns `false`.
fn for_each_line(fd: BorrowedFd<'_>, line: &mut dyn FnMut(&[u8]) -> bool) -> Result<(), Errno> {
    let mut buffer = [0u8; 512];
    let mut current = [0u8; 128];
    let mut length = 0;
    loop {
        let count = match rustix::io::read(fd, &mut buffer) {
            Ok(0) => {
                if length > 0 {
                    line(&current[..length]);
                }
                return Ok(());
            }
            Ok(count) => count,
            Err(Errno::INTR) => continue,
            Err(errno) => return Err(errno),
        };
        for &byte in &buffer[..count] {
            if byte == b'\n' {
                if !line(&current[..length]) {
                    return Ok(());
                }
                length = 0;
            } else if length < current.len() {
                current[length] = byte;
                length += 1;
            }
        }
    }
}

/// Opens `path` (a `/proc` file) read-only.
fn open_proc(path: &CStr, flags: OFlags) -> Result<OwnedFd, Errno> {
    rustix::fs::open(
        path,
        flags | OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )
}

/// The value of the first line of `path` starting with `key` (`mnt_id:\t27` → 27).
fn read_field(path: &CStr, key: &[u8]) -> Result<Option<u64>, Errno> {
    let fd = open_proc(path, OFlags::empty())?;
    let mut value = None;
    for_each_line(fd.as_fd(), &mut |line| match line.strip_prefix(key) {
        Some(rest) => {
            value = parse_decimal(rest.trim_ascii(), u64::MAX);
            false
        }
        None => true,
    })?;
    Ok(value)
}

/// The `MAJ:MIN` of mount `mount` in `/proc/self/mountinfo` (`27 1 0:43 / /srv …`): the
/// superblock's device, as `fdinfo` lock lines show it.
fn mount_device(mount: u64) -> Result<Option<(u32, u32)>, Errno> {
    let fd = open_proc(c"/proc/self/mountinfo", OFlags::empty())?;
    let mut device = None;
    for_each_line(fd.as_fd(), &mut |line| {
        let mut fields = line.split(|&byte| byte == b' ');
        if fields.next().and_then(|id| parse_decimal(id, u64::MAX)) != Some(mount) {
            return true;
        }
        let mut numbers = fields.nth(1).unwrap_or(b"").split(|&byte| byte == b':');
        device = numbers
            .next()
            .and_then(|major| parse_decimal(major, u64::from(u32::MAX)))
            .zip(
                numbers
                    .next()
                    .and_then(|minor| parse_decimal(minor, u64::from(u32::MAX))),
            )
            .map(|(major, minor)| (major as u32, minor as u32));
        false
    })?;
    Ok(device)
}

/// What [`signal_others`] sends to each holder.
#[derive(Clone, Copy)]
pub(crate) enum ToHolders {
    /// The signal, followed by SIGCONT when the flag says so (STOP).
    Signal(Signal, bool),
    /// SIGKILL to the holder's whole process group (STOP's escalation).
    KillGroup,
}

/// Sends `what` to every live process of the session `session` (the named daemon's, which
/// has exited) that holds `lock`. Returns how many holders it found.
pub(crate) fn signal_others(session: Pid, lock: &LockId, what: ToHolders) -> Result<u32> {
    let session = session.as_raw_nonzero().get() as u64;
    let proc_error = |errno| Error::system(Message::ReadProcess, Subject::None, errno);
    let root = open_proc(c"/proc", OFlags::DIRECTORY).map_err(proc_error)?;
    let mut buffer = [MaybeUninit::<u8>::uninit(); 2048];
    let mut entries = RawDir::new(root.as_fd(), &mut buffer);
    let mut found = 0;
    while let Some(entry) = entries.next() {
        let entry = entry.map_err(proc_error)?;
        let Some(pid) = parse_decimal(entry.file_name().to_bytes(), u64::from(u32::MAX))
            .and_then(|number| Pid::from_raw(number as i32))
        else {
            continue;
        };
        if group_and_session(pid).map(|(_, of)| of) != Some(session) {
            continue;
        }
        if let Proof::Holder(target) = prove(pid, Some(lock))? {
            found += 1;
            match what {
                ToHolders::KillGroup => {
                    target.send_group(Signal::KILL)?;
                }
                ToHolders::Signal(signal, then_continue) => {
                    if target.send(signal)? && then_continue {
                        let _ = target.send(Signal::CONT);
                    }
                }
            }
        }
    }
    Ok(found)
}

/// The process group and session ids in `/proc/<pid>/stat` (the fifth and sixth fields,
/// after the name in parentheses).
fn group_and_session(pid: Pid) -> Option<(u64, u64)> {
    let mut path = [0u8; 32];
    let mut writer = Writer::new(&mut path);
    writer.push(b"/proc/");
    writer.push_decimal(pid.as_raw_nonzero().get() as u64);
    writer.push(b"/stat\0");
    let fd = open_proc(proc_path(&path)?, OFlags::empty()).ok()?;
    let mut stat = [0u8; 512];
    let length = rustix::io::read(&fd, &mut stat).ok()?;
    let stat = &stat[..length];
    // `pid (name) state ppid pgrp session ...`: the name may hold anything, even `)`.
    let after_name = stat.iter().rposition(|&byte| byte == b')')?;
    let mut fields = stat[after_name + 1..]
        .split(|&byte| byte == b' ')
        .filter(|field| !field.is_empty());
    // state, ppid, pgrp, session.
    let group = parse_decimal(fields.nth(2)?, u64::MAX)?;
    let session = parse_decimal(fields.next()?, u64::MAX)?;
    Some((group, session))
}

impl Target {
    /// Whether the process still lives (its pidfd is not readable yet); without a pidfd it
    /// is taken to live.
    fn is_alive(&self) -> Result<bool> {
        let Some(pidfd) = &self.pidfd else {
            return Ok(true);
        };
        super::deadline::wait_readable(pidfd.as_fd(), &super::deadline::Deadline::now())
            .map(|exited| !exited)
            .map_err(|errno| Error::system(Message::PollPidfd, Subject::None, errno))
    }

    /// The pidfd, when there is one.
    pub(crate) fn pidfd(&self) -> Option<BorrowedFd<'_>> {
        self.pidfd.as_ref().map(AsFd::as_fd)
    }

    /// Sends `signal`; `Ok(false)` when the process has already exited.
    pub(crate) fn send(&self, signal: Signal) -> Result<bool> {
        self.send_with(signal, 0)
    }

    /// Sends `signal` to the process's whole process group: `PIDFD_SIGNAL_PROCESS_GROUP`
    /// when the process leads its group (Linux 6.9); else (EINVAL from an older kernel,
    /// ESRCH for a member that is not the leader) to the group `/proc/<pid>/stat` names,
    /// while the process is alive, and to the process itself. `Ok(false)` when it is gone.
    pub(crate) fn send_group(&self, signal: Signal) -> Result<bool> {
        match self.send_with(signal, sys::PIDFD_SIGNAL_PROCESS_GROUP) {
            Ok(true) => return Ok(true),
            Ok(false) => {}
            Err(error) if error.errno() == Some(Errno::INVAL) => {}
            Err(error) => return Err(error),
        }
        if let (Some((group, _)), true) = (group_and_session(self.pid), self.is_alive()?) {
            if let Some(group) = Pid::from_raw(group as i32) {
                // SAFETY: `Signal` holds 1–64, all valid Linux signal numbers.
                let kernel =
                    unsafe { rustix::process::Signal::from_raw_unchecked(signal.number() as i32) };
                let _ = rustix::process::kill_process_group(group, kernel);
            }
        }
        self.send(signal)
    }

    fn send_with(&self, signal: Signal, flags: u32) -> Result<bool> {
        let number = signal.number();
        let result = match &self.pidfd {
            Some(pidfd) => sys::pidfd_send_signal(pidfd.as_fd(), number, flags),
            None => {
                // SAFETY: `Signal` holds 1–64, all valid Linux signal numbers; they are only
                // sent to another process here, never blocked or handled.
                let kernel = unsafe { rustix::process::Signal::from_raw_unchecked(number as i32) };
                if flags == 0 {
                    rustix::process::kill_process(self.pid, kernel)
                } else {
                    rustix::process::kill_process_group(self.pid, kernel)
                }
            }
        };
        match result {
            Ok(()) => Ok(true),
            Err(Errno::SRCH) => Ok(false),
            Err(errno) => Err(Error::system(Message::SendSignal, Subject::None, errno)
                .with(1, number)
                .with(2, self.pid.as_raw_nonzero().get() as u32)),
        }
    }
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
