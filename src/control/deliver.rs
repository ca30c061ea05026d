//! Signal delivery for STOP and SIGNAL (docs/design.md §3): a signal goes only to a process
//! proven to hold the PID file's lock, through a pidfd.
//!
//! How the proof works, and its limits:
//! - one identity for proof and signal: the PID named in the locked PID file (a number in our
//!   PID namespace) gets a pidfd first. `/proc` may belong to another namespace (a container
//!   that bind-mounts the host's `/proc`, `unshare -p` without a new mount, a chroot's stale
//!   `/proc`), so the number to look at comes from the pidfd itself: the `Pid:` line of
//!   `/proc/self/fdinfo/<pidfd>` is its number in the `/proc` mount's namespace (`-1` once it
//!   is reaped, `0` when that namespace cannot see it). `/proc/<that number>` is opened as a
//!   directory and everything is read through it;
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
//!   process, not a recycled PID; the signal then goes through the pidfd;
//! - a named process that has exited while the lock is still held leaves "other processes of
//!   the daemon" (a supervisor killed with SIGKILL leaves its program, a daemon its forked
//!   workers): those in its session (the session's number in `/proc`'s namespace: the named
//!   process's, translated while it could be, or its own number when `/proc` is provably our
//!   namespace) that are proven holders get the signal through the `/proc/<n>` directory
//!   descriptor the proof read (`pidfd_send_signal` accepts one), never through a number;
//! - a `/proc` that is a procfs in which we cannot see ourselves (`/proc/self` does not
//!   resolve) shows another namespace: refused. Only without a procfs at `/proc` does the
//!   lock alone vouch for the named PID; where `pidfd_open` is unavailable (ENOSYS, or EPERM
//!   from a seccomp filter) `/proc` must be provably ours and plain `kill` is used, and the
//!   PID could in theory be recycled between the look and the signal.
//!
//! This file owns the proof and the sending. It must never signal a process that it has not
//! proven to hold the lock (or, without `/proc`, that the locked file does not name), never
//! turn a number read in `/proc` into a number for `kill` or `pidfd_open`, and never read
//! anything through a descriptor of the process it inspects.

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

/// A process proven to hold the lock, and how to reach it.
pub(crate) struct Target {
    /// The number messages name: ours for the named process, `/proc`'s for a holder found
    /// by scanning `/proc`.
    number: u32,
    /// How a signal reaches it.
    reach: Reach,
    /// Its `/proc/<n>` directory and `n`, `/proc`'s number for it (not without `/proc`).
    process: Option<(OwnedFd, u32)>,
}

/// How a signal reaches a [`Target`].
enum Reach {
    /// Its pidfd (the named process).
    Pidfd(OwnedFd),
    /// Its `/proc/<n>` directory (a holder found by scanning `/proc`).
    Directory,
    /// `kill(number)`: the named process where `pidfd_open` is unavailable.
    Kill,
}

/// Who got the signal.
pub(crate) enum Delivered {
    /// The process the PID file names.
    Named(Target),
    /// That process has exited; other processes of the daemon (holders of the lock in its
    /// session, numbered as `/proc` numbers it) got the signal.
    Others(u32),
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
    let lock = match pidfile::open_file(params.pid_file, OFlags::RDONLY) {
        Ok(fd) => {
            let stat = rustix::fs::fstat(&fd)
                .map_err(|errno| Error::system(Message::Stat, Subject::PidFile, errno))?;
            lock_of(fd.as_fd(), stat.st_ino)?
        }
        // Gone since the inspection: the look at the lock below says what happened.
        Err(Errno::NOENT) => None,
        Err(errno) => return Err(Error::system(Message::Open, Subject::PidFile, errno)),
    };
    match deliver(params, pid, file, lock.as_ref(), signal, false)? {
        Delivered::Exited => Ok(Status::NotRunning),
        _ => Ok(Status::Ok),
    }
}

/// The [`LockId`] of the PID file open on `fd` with inode `inode`; `None` when no procfs is
/// mounted on `/proc` (the lock alone vouches then). A procfs that does not show us (the
/// `/proc` of another PID namespace) is an error: nothing read there could be trusted.
pub(crate) fn lock_of(fd: BorrowedFd<'_>, inode: u64) -> Result<Option<LockId>> {
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
fn no_proc() -> Result<Option<LockId>> {
    match rustix::fs::statfs(c"/proc") {
        Ok(info) if info.f_type as u32 == PROC_MAGIC => Err(foreign_proc()),
        _ => Ok(None),
    }
}

/// `statfs` magic of procfs.
const PROC_MAGIC: u32 = 0x9fa0;

/// The refusal for a `/proc` of a PID namespace that is not ours.
fn foreign_proc() -> Error {
    Error::new(Message::ForeignProc, Subject::None)
}

/// `/proc/self/fdinfo/<number>` in `buffer`.
fn own_fdinfo(buffer: &mut [u8; 40], number: u32) -> &CStr {
    proc_path(buffer, b"self/fdinfo/", number, b"")
}

/// `/proc/<middle><number><suffix>` in `buffer` (which is long enough for every use here).
fn proc_path<'b>(buffer: &'b mut [u8; 40], middle: &[u8], number: u32, suffix: &[u8]) -> &'b CStr {
    let mut writer = Writer::new(&mut buffer[..]);
    writer.push(b"/proc/");
    writer.push(middle);
    writer.push_decimal(u64::from(number));
    writer.push(suffix);
    writer.push(b"\0");
    CStr::from_bytes_until_nul(&buffer[..]).unwrap_or(c"/proc")
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
    let (gone, session) = match prove(pid, lock)? {
        Proof::Holder(target) => {
            if target.send(signal)? {
                if then_continue {
                    let _ = target.send(Signal::CONT);
                }
                return Ok(Delivered::Named(target));
            }
            (true, target.process.map(|(_, number)| number))
        }
        Proof::Gone(number) => (true, number),
        Proof::NotHolding => (false, None),
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
    let held_by_others = Error::new(Message::HeldByOthers, Subject::PidFile).with(1, pid_number);
    // Without /proc nobody else can be proven: the lock is all we know.
    let Some(lock) = lock else {
        return Err(held_by_others);
    };
    // The session is the named process's number in /proc's namespace: translated while it
    // lived, or its own number where /proc is ours.
    let session = match session {
        Some(number) => number,
        None if proc_is_ours()? => pid_number,
        None => return Err(foreign_proc()),
    };
    match signal_others(session, lock, ToHolders::Signal(signal, then_continue))? {
        0 => Err(held_by_others),
        _ => Ok(Delivered::Others(session)),
    }
}

/// What the look at a named process found.
enum Proof {
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
fn prove(pid: Pid, lock: Option<&LockId>) -> Result<Proof> {
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
fn translate(pidfd: BorrowedFd<'_>) -> Result<Option<u32>> {
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
fn proc_is_ours() -> Result<bool> {
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
fn process_error(number: u32, errno: Errno) -> Error {
    Error::system(Message::ReadProcess, Subject::None, errno).with(1, number)
}

/// Bytes of a `fd/<n>` link we look at: enough for the prefixes we skip.
const LINK_PREFIX: usize = 16;

/// Whether one of the descriptors of the process whose `/proc/<number>` directory is
/// `process` carries `lock` (see the module docs).
fn holds(process: BorrowedFd<'_>, number: u32, lock: &LockId) -> Result<Holding> {
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

/// Bytes of a field's value that [`read_field`] keeps (a number, or a few of them).
const FIELD: usize = 32;

/// The value of the first line of `path` starting with `key`, trimmed and cut to [`FIELD`]
/// bytes (`mnt_id:\t27` → `27`); `None` when no line starts with it.
fn read_field<'v>(
    path: &CStr,
    key: &[u8],
    value: &'v mut [u8; FIELD],
) -> Result<Option<&'v [u8]>, Errno> {
    let fd = open_proc(path, OFlags::empty())?;
    let mut length = None;
    for_each_line(fd.as_fd(), &mut |line| match line.strip_prefix(key) {
        Some(rest) => {
            let rest = rest.trim_ascii();
            let kept = rest.len().min(FIELD);
            value[..kept].copy_from_slice(&rest[..kept]);
            length = Some(kept);
            false
        }
        None => true,
    })?;
    Ok(length.map(|length| &value[..length]))
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

/// Sends `what` to every live process of the session numbered `session` in `/proc`'s
/// namespace (the named daemon's, which has exited) that holds `lock`, each through its
/// `/proc/<n>` directory. Returns how many holders it found.
pub(crate) fn signal_others(session: u32, lock: &LockId, what: ToHolders) -> Result<u32> {
    let mut found = 0;
    for_each_process(&mut |process, number, (_, of)| {
        if of != session {
            return Ok(());
        }
        if let Holding::Yes = holds(process.as_fd(), number, lock)? {
            found += 1;
            let target = Target {
                number,
                reach: Reach::Directory,
                process: Some((process, number)),
            };
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
        Ok(())
    })?;
    Ok(found)
}

/// Calls `visit` with the `/proc/<n>` directory, `n` and the process group and session
/// (`/proc`'s numbers) of every process in `/proc`; processes that exit meanwhile are
/// skipped.
fn for_each_process(visit: &mut dyn FnMut(OwnedFd, u32, (u32, u32)) -> Result<()>) -> Result<()> {
    let root_error = |errno| Error::system(Message::ReadProcDirectory, Subject::None, errno);
    let root = open_proc(c"/proc", OFlags::DIRECTORY).map_err(root_error)?;
    let mut buffer = [MaybeUninit::<u8>::uninit(); 2048];
    let mut entries = RawDir::new(root.as_fd(), &mut buffer);
    while let Some(entry) = entries.next() {
        let entry = entry.map_err(root_error)?;
        let name = entry.file_name();
        let Some(number) = parse_decimal(name.to_bytes(), pidfile::PID_MAX) else {
            continue;
        };
        let number = number as u32;
        let process = match rustix::fs::openat(
            root.as_fd(),
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(process) => process,
            Err(Errno::NOENT) | Err(Errno::SRCH) => continue,
            Err(errno) => return Err(process_error(number, errno)),
        };
        let Some(ids) = group_and_session(process.as_fd()) else {
            continue;
        };
        visit(process, number, ids)?;
    }
    Ok(())
}

/// The process group and session in the `stat` file of the `/proc/<n>` directory `process`
/// (the fifth and sixth fields, after the name in parentheses), as `/proc` numbers them.
fn group_and_session(process: BorrowedFd<'_>) -> Option<(u32, u32)> {
    let fd = rustix::fs::openat(
        process,
        c"stat",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let mut stat = [0u8; 512];
    let length = rustix::io::read(&fd, &mut stat).ok()?;
    let stat = &stat[..length];
    // `pid (name) state ppid pgrp session ...`: the name may hold anything, even `)`.
    let after_name = stat.iter().rposition(|&byte| byte == b')')?;
    let mut fields = stat[after_name + 1..]
        .split(|&byte| byte == b' ')
        .filter(|field| !field.is_empty());
    // state, ppid, pgrp, session.
    let group = parse_decimal(fields.nth(2)?, pidfile::PID_MAX)?;
    let session = parse_decimal(fields.next()?, pidfile::PID_MAX)?;
    Some((group as u32, session as u32))
}

impl Target {
    /// Whether the process still lives (its pidfd is not readable yet); without a pidfd it
    /// is taken to live.
    fn is_alive(&self) -> Result<bool> {
        let Some(pidfd) = self.pidfd() else {
            return Ok(true);
        };
        super::deadline::wait_readable(pidfd, &super::deadline::Deadline::now())
            .map(|exited| !exited)
            .map_err(|errno| Error::system(Message::PollPidfd, Subject::None, errno))
    }

    /// The pidfd, when there is one.
    pub(crate) fn pidfd(&self) -> Option<BorrowedFd<'_>> {
        match &self.reach {
            Reach::Pidfd(pidfd) => Some(pidfd.as_fd()),
            _ => None,
        }
    }

    /// `/proc`'s number for the process (the session it leads, for a daemon), when known.
    pub(crate) fn proc_number(&self) -> Option<u32> {
        self.process.as_ref().map(|(_, number)| *number)
    }

    /// Sends `signal`; `Ok(false)` when the process has already exited.
    pub(crate) fn send(&self, signal: Signal) -> Result<bool> {
        self.send_with(signal, 0)
    }

    /// Sends `signal` to the process's whole process group: `PIDFD_SIGNAL_PROCESS_GROUP`
    /// when the process leads its group (Linux 6.9); else (EINVAL from an older kernel,
    /// ESRCH for a member that is not the leader) to each member of its group that `/proc`
    /// lists, through its `/proc/<n>` directory, and to the process itself. `Ok(false)`
    /// when it is gone.
    pub(crate) fn send_group(&self, signal: Signal) -> Result<bool> {
        match self.send_with(signal, sys::PIDFD_SIGNAL_PROCESS_GROUP) {
            Ok(true) => return Ok(true),
            Ok(false) => {}
            Err(error) if error.errno() == Some(Errno::INVAL) => {}
            Err(error) => return Err(error),
        }
        if let (Some((process, _)), true) = (&self.process, self.is_alive()?) {
            if let Some((group, _)) = group_and_session(process.as_fd()) {
                for_each_process(&mut |member, _, (of, _)| {
                    if of == group {
                        let _ = sys::pidfd_send_signal(member.as_fd(), signal.number(), 0);
                    }
                    Ok(())
                })?;
            }
        }
        self.send(signal)
    }

    /// Sends through the pidfd, the `/proc/<n>` directory, or `kill` (a number in our
    /// namespace: the one the PID file gives).
    fn send_with(&self, signal: Signal, flags: u32) -> Result<bool> {
        let number = signal.number();
        let result = match (&self.reach, &self.process) {
            (Reach::Pidfd(handle), _) | (Reach::Directory, Some((handle, _))) => {
                sys::pidfd_send_signal(handle.as_fd(), number, flags)
            }
            _ => {
                let pid = Pid::from_raw(self.number as i32).ok_or(Errno::SRCH);
                // SAFETY: `Signal` holds 1–64, all valid Linux signal numbers; they are only
                // sent to another process here, never blocked or handled.
                let kernel = unsafe { rustix::process::Signal::from_raw_unchecked(number as i32) };
                pid.and_then(|pid| {
                    if flags == 0 {
                        rustix::process::kill_process(pid, kernel)
                    } else {
                        rustix::process::kill_process_group(pid, kernel)
                    }
                })
            }
        };
        match result {
            Ok(()) => Ok(true),
            Err(Errno::SRCH) => Ok(false),
            Err(errno) => Err(Error::system(Message::SendSignal, Subject::None, errno)
                .with(1, number)
                .with(2, self.number)),
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
