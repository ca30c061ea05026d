//! The PID file and the guard file: opening, locking, reading, writing and classifying them
//! (docs/design.md §2).
//!
//! This module owns every `open`, `flock`, `read` and `write` of those files and §2's checks. It
//! must never unlink either file, change a file it refuses, block on a FIFO, hold the PID file
//! across a launch, or decide what an action does with a classification.

use crate::error::{Error, Message, Result, Subject};
use crate::text::{parse_decimal, Writer};
use core::ffi::CStr;
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use rustix::fs::{FileType, FlockOperation, Mode, OFlags, Stat};
use rustix::io::Errno;
use rustix::process::Pid;

/// The largest PID Linux can hand out (`PID_MAX_LIMIT` on 64-bit kernels).
pub const PID_MAX: u64 = 4_194_304;

/// What the daemon writes while it starts, before its PID is known.
pub const STARTING: &[u8] = b"(starting)\n";

/// Bytes a controller reads from a PID file (a valid one is at most 8).
pub const READ_LIMIT: usize = 32;

/// Identity of a file: device and inode, as `fstat` reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileId {
    /// `st_dev`.
    pub device: u64,
    /// `st_ino`.
    pub inode: u64,
}

impl FileId {
    /// The identity recorded in `stat`.
    pub fn of(stat: &Stat) -> Self {
        Self {
            device: stat.st_dev,
            inode: stat.st_ino,
        }
    }
}

/// Who may own a protocol file we open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    /// Only our effective uid (the daemon's own PID file).
    Us,
    /// Root or our effective uid (what a controller accepts).
    RootOrUs,
}

/// Flags of every protocol-file open.
const SAFE_FLAGS: OFlags = OFlags::NOFOLLOW
    .union(OFlags::CLOEXEC)
    .union(OFlags::NOCTTY)
    .union(OFlags::NONBLOCK);

/// `open(path, flags | SAFE_FLAGS, 0600)` on a descriptor above 2 (never on a standard stream).
pub(crate) fn open_file(path: &CStr, flags: OFlags) -> core::result::Result<OwnedFd, Errno> {
    let fd = rustix::fs::open(path, flags | SAFE_FLAGS, Mode::RUSR | Mode::WUSR)?;
    above_standard_streams(fd)
}

/// `fd` itself when it is above 2, else a duplicate that is (and `fd` is closed).
pub(crate) fn above_standard_streams(fd: OwnedFd) -> core::result::Result<OwnedFd, Errno> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    rustix::io::fcntl_dupfd_cloexec(&fd, 3)
}

/// An `open` failure of `subject`; ELOOP under `O_NOFOLLOW` is said as a symbolic link.
pub(crate) fn open_error(subject: Subject, errno: Errno) -> Error {
    let message = if errno == Errno::LOOP {
        Message::RefuseSymlink
    } else {
        Message::Open
    };
    Error::system(message, subject, errno)
}

/// Opens, `fstat`s and checks `path` ([`check_file`], [`tighten`]).
pub(crate) fn open_checked(
    path: &CStr,
    flags: OFlags,
    subject: Subject,
    owner: Owner,
) -> Result<(OwnedFd, Stat)> {
    let fd = open_file(path, flags).map_err(|errno| open_error(subject, errno))?;
    let stat = check_opened(fd.as_fd(), subject, owner)?;
    Ok((fd, stat))
}

/// `fstat`s and checks a file just opened, like [`open_checked`]; returns its `stat`.
pub(crate) fn check_opened(fd: BorrowedFd<'_>, subject: Subject, owner: Owner) -> Result<Stat> {
    let stat =
        rustix::fs::fstat(fd).map_err(|errno| Error::system(Message::Stat, subject, errno))?;
    check_file(&stat, subject, owner)?;
    tighten(fd, &stat);
    Ok(stat)
}

/// Verifies `stat` is a regular file with one link (docs/design.md §2), owned as `owner` says, not
/// writable by group or others; `subject` names it.
pub(crate) fn check_file(stat: &Stat, subject: Subject, owner: Owner) -> Result<()> {
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(Error::new(Message::RefuseNotRegular, subject));
    }
    if stat.st_nlink != 1 {
        return Err(Error::new(Message::RefuseHardLinks, subject).with(1, stat.st_nlink as u32));
    }
    // Root-owned and root acceptable: no geteuid needed.
    let uid = stat.st_uid;
    if !(owner == Owner::RootOrUs && uid == 0) {
        let us = rustix::process::geteuid().as_raw();
        if uid != us {
            let message = match owner {
                Owner::Us => Message::RefuseOwnerNotUs,
                Owner::RootOrUs => Message::RefuseOwner,
            };
            return Err(Error::new(message, subject).with(1, uid).with(2, us));
        }
    }
    if stat.st_mode & 0o022 != 0 {
        return Err(Error::new(Message::RefuseWritable, subject).with(1, stat.st_mode & 0o7777));
    }
    Ok(())
}

/// `fchmod` our own file readable by group or others to owner-only (a reader can hold its `flock`);
/// failures (EROFS, EPERM) are ignored (docs/design.md §2).
fn tighten(fd: BorrowedFd<'_>, stat: &Stat) {
    if stat.st_mode & 0o044 != 0 && stat.st_uid == rustix::process::geteuid().as_raw() {
        let _ = rustix::fs::fchmod(fd, Mode::from_raw_mode(stat.st_mode & 0o700));
    }
}

/// `f_type` magics of pseudo file systems (tmpfs, ramfs, overlay and fuse are real).
const PSEUDO_FILE_SYSTEMS: [u32; 17] = [
    0x9fa0,      // proc
    0x6265_6572, // sysfs
    0x0027_e0eb, // cgroup
    0x6367_7270, // cgroup2
    0x6462_6720, // debugfs
    0x7472_6163, // tracefs
    0x7363_6673, // securityfs
    0xcafe_4a11, // bpf
    0x4249_4e4d, // binfmt_misc
    0x6165_676c, // pstore
    0x6573_5543, // fusectl
    0x9584_58f6, // hugetlbfs
    0x1980_0202, // mqueue
    0x1cd1,      // devpts
    0xde5e_81e4, // efivarfs
    0x6265_6570, // configfs
    0xf97c_ff8c, // selinuxfs
];

/// `fstatfs(fd)`: `Ok(Some(magic))` when the file lies on a pseudo file system.
pub(crate) fn pseudo_file_system(fd: BorrowedFd<'_>) -> core::result::Result<Option<u32>, Errno> {
    let magic = rustix::fs::fstatfs(fd)?.f_type as u32;
    Ok(is_pseudo_file_system(magic).then_some(magic))
}

/// Whether `magic` (`statfs`'s `f_type`) is a pseudo file system's.
pub(crate) fn is_pseudo_file_system(magic: u32) -> bool {
    PSEUDO_FILE_SYSTEMS.contains(&magic)
}

/// `flock(fd, operation)`, retried on EINTR; `Ok(false)` when a non-blocking request would block.
pub(crate) fn lock(
    fd: BorrowedFd<'_>,
    operation: FlockOperation,
) -> core::result::Result<bool, Errno> {
    loop {
        match rustix::fs::flock(fd, operation) {
            Ok(()) => return Ok(true),
            Err(Errno::WOULDBLOCK) => return Ok(false),
            Err(Errno::INTR) => continue,
            Err(errno) => return Err(errno),
        }
    }
}

/// Empties the file and writes `content` at offset 0 (`ftruncate` + `pwrite`).
pub(crate) fn replace_content(
    fd: BorrowedFd<'_>,
    content: &[u8],
) -> core::result::Result<(), Errno> {
    rustix::fs::ftruncate(fd, 0)?;
    write_at_start(fd, content)
}

/// Writes `content` at offset 0 (`pwrite` until all is written).
fn write_at_start(fd: BorrowedFd<'_>, content: &[u8]) -> core::result::Result<(), Errno> {
    let mut written = 0;
    while written < content.len() {
        match rustix::io::pwrite(fd, &content[written..], written as u64) {
            Ok(0) => return Err(Errno::IO),
            Ok(count) => written += count,
            Err(Errno::INTR) => {}
            Err(errno) => return Err(errno),
        }
    }
    Ok(())
}

/// The PID file as the daemon holds it: a private read-write description for the PID, and a
/// read-only one carrying the lock ([`PidFile::lock_fd`], inheritable without write access;
/// `release`'s `LOCK_UN` ends it for every inheritor).
pub struct PidFile {
    write: OwnedFd,
    lock: OwnedFd,
}

impl PidFile {
    /// Opens (creating, 0600), checks and locks (without waiting) the PID file, and writes
    /// `(starting)\n`.
    pub(crate) fn create_locked(path: &CStr) -> Result<Self> {
        let subject = Subject::PidFile;
        let (write, stat) = open_checked(path, OFlags::RDWR | OFlags::CREATE, subject, Owner::Us)?;
        match pseudo_file_system(write.as_fd()) {
            Ok(None) => {}
            Ok(Some(magic)) => {
                return Err(Error::new(Message::RefusePseudo, subject).with(1, magic))
            }
            Err(errno) => return Err(Error::system(Message::StatFileSystem, subject, errno)),
        }
        // Opened by path: must be the very file just checked.
        let lock = open_file(path, OFlags::RDONLY).map_err(|errno| open_error(subject, errno))?;
        match rustix::fs::fstat(&lock) {
            Ok(again) if FileId::of(&again) == FileId::of(&stat) => {}
            Ok(_) => return Err(Error::system(Message::Open, subject, Errno::STALE)),
            Err(errno) => return Err(Error::system(Message::Stat, subject, errno)),
        }
        match self::lock(lock.as_fd(), FlockOperation::NonBlockingLockExclusive) {
            Ok(true) => {}
            Ok(false) => return Err(Error::new(Message::AlreadyRunningLocked, subject)),
            Err(errno) => return Err(Error::system(Message::Lock, subject, errno)),
        }
        let file = Self { write, lock };
        // Over a PID line or nothing, no `ftruncate`; longer content is cut after.
        write_at_start(file.write.as_fd(), STARTING)
            .and_then(|()| match stat.st_size as u64 > STARTING.len() as u64 {
                true => rustix::fs::ftruncate(&file.write, STARTING.len() as u64),
                false => Ok(()),
            })
            .map_err(|errno| Error::system(Message::Write, Subject::PidFile, errno))?;
        Ok(file)
    }

    /// Replaces the content with `<pid>\n`.
    pub(crate) fn write_pid(&self, pid: Pid) -> Result<()> {
        let mut line = [0u8; 12];
        let mut writer = Writer::new(&mut line);
        writer.push_decimal(pid.as_raw_nonzero().get() as u64);
        writer.push(b"\n");
        let length = writer.len();
        self.write(&line[..length])
    }

    /// Empties the file (the lock stays).
    pub(crate) fn clear(&self) -> Result<()> {
        self.write(b"")
    }

    /// Empties the file, then `LOCK_UN` for every holder of the description.
    pub(crate) fn release(&self) -> Result<()> {
        let cleared = self.clear();
        let _ = rustix::fs::flock(&self.lock, FlockOperation::Unlock);
        cleared
    }

    fn write(&self, content: &[u8]) -> Result<()> {
        replace_content(self.write.as_fd(), content)
            .map_err(|errno| Error::system(Message::Write, Subject::PidFile, errno))
    }

    /// Both descriptors; the lock goes when both and every copy are closed.
    pub(crate) fn into_fds(self) -> [OwnedFd; 2] {
        [self.write, self.lock]
    }

    /// The private read-write descriptor (close-on-exec).
    pub(crate) fn write_fd(&self) -> BorrowedFd<'_> {
        self.write.as_fd()
    }

    /// The read-only, close-on-exec descriptor holding the lock.
    pub fn lock_fd(&self) -> BorrowedFd<'_> {
        self.lock.as_fd()
    }
}

/// What a controller finds at the PID-file path (docs/design.md §2; ERROR is [`inspect`]'s `Err`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PidState {
    /// No file.
    Absent,
    /// Unlocked and empty: cleanly stopped.
    NotRunning,
    /// Unlocked with content: the daemon died without cleaning up.
    Stale,
    /// Locked, with a valid PID.
    Running(Pid),
    /// Locked, PID not written yet (starting) or already removed (exiting).
    Busy,
}

/// A classification together with the identity of the file it was made from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inspection {
    /// The class.
    pub state: PidState,
    /// Device and inode (zero for [`PidState::Absent`]).
    pub file: FileId,
}

/// Classifies PID-file content (docs/design.md §2): `locked` by another process, `content` at most
/// [`READ_LIMIT`] bytes.
pub fn classify(locked: bool, content: &[u8]) -> Result<PidState> {
    if !locked {
        return Ok(if content.is_empty() {
            PidState::NotRunning
        } else {
            PidState::Stale
        });
    }
    if content.is_empty() || content == STARTING {
        return Ok(PidState::Busy);
    }
    if let Some((&b'\n', digits)) = content.split_last() {
        if digits.first() != Some(&b'0') {
            if let Some(pid) =
                parse_decimal(digits, PID_MAX).and_then(|value| Pid::from_raw(value as i32))
            {
                return Ok(PidState::Running(pid));
            }
        }
    } else if content.len() < 8
        && content.first() != Some(&b'0')
        && parse_decimal(content, PID_MAX).is_some()
    {
        // Between the daemon's ftruncate and write.
        return Ok(PidState::Busy);
    }
    Err(Error::new(Message::InvalidPidContent, Subject::PidFile))
}

/// Opens and checks the PID file, probes its lock (`LOCK_SH|LOCK_NB`), reads at most [`READ_LIMIT`]
/// bytes and classifies it. Errors name [`Subject::PidFile`].
pub fn inspect(path: &CStr) -> Result<Inspection> {
    inspect_with(path, false).map(|(inspection, _)| inspection)
}

/// The descriptor an action keeps after [`inspect_with`] (locked elsewhere: no lock of ours on it).
pub(crate) struct Inspected {
    /// The descriptor (close-on-exec, above the standard streams).
    pub(crate) fd: OwnedFd,
    /// Whether it was opened for writing.
    pub(crate) writable: bool,
}

/// [`inspect`], read-write when `for_writing` and allowed (for STOP). The descriptor is handed back when another process held the lock; an unlocked file is closed here, or our shared lock would stay.
pub(crate) fn inspect_with(
    path: &CStr,
    for_writing: bool,
) -> Result<(Inspection, Option<Inspected>)> {
    let subject = Subject::PidFile;
    // Read-only when that is all that is allowed, or so the checks can name it (a directory).
    let mut writable = for_writing;
    let (fd, stat) = loop {
        let flags = if writable {
            OFlags::RDWR
        } else {
            OFlags::RDONLY
        };
        match open_checked(path, flags, subject, Owner::RootOrUs) {
            Ok(opened) => break opened,
            Err(error) if error.errno() == Some(Errno::NOENT) => {
                let inspection = Inspection {
                    state: PidState::Absent,
                    file: FileId::default(),
                };
                return Ok((inspection, None));
            }
            Err(error) if writable && error.errno().is_some_and(|errno| errno != Errno::LOOP) => {
                writable = false
            }
            Err(error) => return Err(error),
        }
    };
    let system = |message, errno| Error::system(message, subject, errno);
    let unlocked = lock(fd.as_fd(), FlockOperation::NonBlockingLockShared)
        .map_err(|errno| system(Message::Lock, errno))?;
    let mut buffer = [0u8; READ_LIMIT];
    let length =
        read_prefix(fd.as_fd(), &mut buffer).map_err(|errno| system(Message::Read, errno))?;
    let inspection = Inspection {
        state: classify(!unlocked, &buffer[..length])?,
        file: FileId::of(&stat),
    };
    let kept = (!unlocked).then_some(Inspected { fd, writable });
    Ok((inspection, kept))
}

/// Reads from offset 0 until `buffer` is full or end of file; returns the byte count.
fn read_prefix(fd: BorrowedFd<'_>, buffer: &mut [u8]) -> core::result::Result<usize, Errno> {
    let mut filled = 0;
    while filled < buffer.len() {
        match rustix::io::read(fd, &mut buffer[filled..]) {
            Ok(0) => break,
            Ok(count) => filled += count,
            Err(Errno::INTR) => {}
            Err(errno) => return Err(errno),
        }
        // A regular file gives all it has in one read: a short read ends it.
        if filled > 0 && filled < buffer.len() {
            break;
        }
    }
    Ok(filled)
}

/// The suffix making a status file's path from its PID file's (docs/design.md §5).
pub(crate) const STATUS_SUFFIX: &[u8] = b".status";

/// `path` + `suffix`, NUL-terminated in `buffer`; `None` past `PATH_MAX`.
pub(crate) fn with_suffix<'b>(
    buffer: &'b mut [u8; crate::exec::PATH_MAX],
    path: &CStr,
    suffix: &[u8],
) -> Option<&'b CStr> {
    let name = path.to_bytes();
    let end = name.len() + suffix.len();
    if end >= buffer.len() {
        return None;
    }
    buffer[..name.len()].copy_from_slice(name);
    buffer[name.len()..end].copy_from_slice(suffix);
    buffer[end] = 0;
    CStr::from_bytes_until_nul(&buffer[..=end]).ok()
}

#[cfg(test)]
mod tests;
