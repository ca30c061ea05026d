//! The PID file and the guard file: opening them safely, locking them, reading and writing
//! the PID, and classifying what a controller sees (docs/design.md §2).
//!
//! This module owns every `open`, `flock`, `read` and `write` of those two files and the
//! checks that make them safe to trust: no symlinks, regular files with exactly one link,
//! the right owner, not writable by others, never on a pseudo file system (procfs, sysfs, …)
//! when written, never on descriptors 0–2, and tightened to `0600` when readable by others
//! (anyone who can read a file can hold its lock). It must never unlink either file, never
//! change a file it refuses, never block on a FIFO, never hold the PID file across a launch,
//! and never decide what an action does with a classification (that is
//! [`crate::control`]'s job).

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

/// Bytes a controller reads from a PID file; a valid one is at most 8 (`4194304\n`).
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

/// Who may own a protocol file that we open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    /// Only our effective uid (the daemon's own PID file).
    Us,
    /// Root or our effective uid (what a controller accepts).
    RootOrUs,
}

/// Flags of every open of a protocol file: no symlink in the last component, close-on-exec,
/// never a controlling terminal, never blocking on a FIFO.
const SAFE_FLAGS: OFlags = OFlags::NOFOLLOW
    .union(OFlags::CLOEXEC)
    .union(OFlags::NOCTTY)
    .union(OFlags::NONBLOCK);

/// `open(path, flags | SAFE_FLAGS, 0600)` on a descriptor above 2: a file of ours on 0, 1 or
/// 2 would receive what the program writes to its standard streams (a closed stderr is not
/// rare in init scripts), so such a descriptor is moved up with `F_DUPFD_CLOEXEC` (the low
/// one is closed again; writes to it then fail harmlessly with EBADF).
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

/// Words an `open` failure of `subject`; ELOOP on an `O_NOFOLLOW` open means the last
/// component is a symbolic link, which we say plainly.
pub(crate) fn open_error(subject: Subject, errno: Errno) -> Error {
    let message = if errno == Errno::LOOP {
        Message::RefuseSymlink
    } else {
        Message::Open
    };
    Error::system(message, subject, errno)
}

/// Opens `path` with `flags`, `fstat`s it and checks it ([`check_file`]); a file readable by
/// others that we own is tightened to owner-only access on the way.
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

/// `fstat`s a file just opened and checks it ([`check_file`]); a file readable by others
/// that we own is tightened to owner-only access on the way. Returns its `stat`.
pub(crate) fn check_opened(fd: BorrowedFd<'_>, subject: Subject, owner: Owner) -> Result<Stat> {
    let stat =
        rustix::fs::fstat(fd).map_err(|errno| Error::system(Message::Stat, subject, errno))?;
    check_file(&stat, subject, owner)?;
    tighten(fd, &stat);
    Ok(stat)
}

/// Verifies that `stat` describes a regular file with exactly one link, owned as `owner`
/// says and not writable by group or others; `subject` names the file in the error.
///
/// One link (docs/design.md §2): a second name of the file is another file's contents,
/// mode and owner (a hard link to a root-owned `0640` file would have its mode tightened,
/// its contents replaced by a PID, and be emptied by STOP), so such a file is refused before
/// anything could change it.
pub(crate) fn check_file(stat: &Stat, subject: Subject, owner: Owner) -> Result<()> {
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(Error::new(Message::RefuseNotRegular, subject));
    }
    if stat.st_nlink != 1 {
        return Err(Error::new(Message::RefuseHardLinks, subject).with(1, stat.st_nlink as u32));
    }
    // A root-owned file needs no geteuid when root is acceptable (one syscall saved on the
    // controller's path, which opens two such files).
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

/// `fchmod` a file that group or others may read down to its owner's bits, when we own it:
/// anyone who can open a file can hold its `flock` and deny service (CHECK would say
/// "running", START would start nothing). A failure (EROFS, EPERM) changes nothing: LibUCW's
/// daemons create `0644` files, and refusing them would break them. Tightening cannot revoke
/// a descriptor someone opened before.
fn tighten(fd: BorrowedFd<'_>, stat: &Stat) {
    if stat.st_mode & 0o044 != 0 && stat.st_uid == rustix::process::geteuid().as_raw() {
        let _ = rustix::fs::fchmod(fd, Mode::from_raw_mode(stat.st_mode & 0o700));
    }
}

/// The `f_type` magic numbers of pseudo file systems: a "PID file" there is a kernel
/// interface (`/proc/sys/kernel/hostname` would take the PID as the host name). tmpfs
/// (`/run`, `/dev/shm`), ramfs (initramfs), overlay and fuse are real places for files.
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

/// Whether the file system magic `magic` (`statfs`'s `f_type`, a superblock's `s_magic`) is
/// a pseudo file system's.
pub(crate) fn is_pseudo_file_system(magic: u32) -> bool {
    PSEUDO_FILE_SYSTEMS.contains(&magic)
}

/// `flock(fd, operation)`, retried on EINTR. Returns `Ok(false)` when a non-blocking request
/// would block.
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

/// The PID file as the daemon holds it: locked exclusively, owned by us, never on a pseudo
/// file system.
///
/// It is two open file descriptions of the same file: a read-write one, private to the
/// daemon, through which the PID is written; and a read-only one that carries the lock
/// (`flock` needs only read access). A program the daemon runs may inherit the lock
/// ([`PidFile::lock_fd`]) but never a way to write the file; and `PidFile::release`'s
/// `LOCK_UN` ends the lock for every process that inherited it (a leftover child cannot keep
/// the daemon "running").
pub struct PidFile {
    write: OwnedFd,
    lock: OwnedFd,
}

impl PidFile {
    /// Opens (creating, mode 0600) and checks the PID file, refuses one on a pseudo file
    /// system, locks it without waiting (`already running` when another process holds it),
    /// empties it and writes `(starting)\n`.
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
        // The lock's own description, opened by path: it must be the very file just checked.
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
        // `(starting)\n` over what the file held: a PID line (at most 8 bytes) or nothing
        // needs no `ftruncate` first; only longer content is cut after the write.
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

    /// Empties the file, then unlocks it for every process holding its lock description
    /// (`flock(LOCK_UN)`): the daemon has ended, whatever its children still hold.
    pub(crate) fn release(&self) -> Result<()> {
        let cleared = self.clear();
        let _ = rustix::fs::flock(&self.lock, FlockOperation::Unlock);
        cleared
    }

    fn write(&self, content: &[u8]) -> Result<()> {
        replace_content(self.write.as_fd(), content)
            .map_err(|errno| Error::system(Message::Write, Subject::PidFile, errno))
    }

    /// Both descriptors, to be closed by the caller: the lock goes when both (and every copy
    /// in other processes) are closed.
    pub(crate) fn into_fds(self) -> [OwnedFd; 2] {
        [self.write, self.lock]
    }

    /// The private read-write descriptor (close-on-exec).
    pub(crate) fn write_fd(&self) -> BorrowedFd<'_> {
        self.write.as_fd()
    }

    /// The read-only descriptor that holds the lock (close-on-exec; a program that is to
    /// inherit the lock gets a copy without that flag, see `ucw-daemonize`).
    pub fn lock_fd(&self) -> BorrowedFd<'_> {
        self.lock.as_fd()
    }
}

/// What a controller finds at the PID-file path (docs/design.md §2, without the ERROR row, which is
/// the `Err` of [`inspect`]).
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
    /// Device and inode of the file (zero for [`PidState::Absent`]).
    pub file: FileId,
}

/// Classifies the content of a PID file according to docs/design.md §2. `locked` says whether
/// another process holds the lock; `content` is at most [`READ_LIMIT`] bytes as read.
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
        // The daemon is between ftruncate and the end of its write.
        return Ok(PidState::Busy);
    }
    Err(Error::new(Message::InvalidPidContent, Subject::PidFile))
}

/// Opens the PID file read-only (no symlinks, no FIFO hang), checks it (tightening a file
/// readable by others), probes its lock with `LOCK_SH|LOCK_NB`, reads at most
/// [`READ_LIMIT`] bytes, closes it, and classifies it. Errors name the subject
/// [`Subject::PidFile`].
pub fn inspect(path: &CStr) -> Result<Inspection> {
    inspect_with(path, false).map(|(inspection, _)| inspection)
}

/// The PID file's descriptor an action goes on with after [`inspect_with`]: the file was
/// locked by another process, so the probe left no lock of ours on it.
pub(crate) struct Inspected {
    /// The descriptor (close-on-exec, above the standard streams).
    pub(crate) fd: OwnedFd,
    /// Whether it was opened for writing.
    pub(crate) writable: bool,
}

/// [`inspect`], through a descriptor opened for writing when `for_writing` says so and the
/// file allows it (STOP waits for the lock on it and empties the file through it; a read-only
/// mount or a file we may not write gives a read-only one), which is handed back when the
/// file was locked by another process: the probe's `LOCK_SH` failed, so no lock of ours rides
/// on it, and the caller may wait on it or keep it open (CHECK leaves it to the exit: one
/// `close` fewer). A file found unlocked is closed here, or our shared lock would stay.
pub(crate) fn inspect_with(
    path: &CStr,
    for_writing: bool,
) -> Result<(Inspection, Option<Inspected>)> {
    let subject = Subject::PidFile;
    // Read-write first when asked; read-only when that is all the place allows (a read-only
    // mount, a file we may not write) or to let the checks name what it is (a directory).
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
        // A regular file delivers everything available in one read; stop early when the
        // kernel gave us less than asked (saves a second read in the common case).
        if filled > 0 && filled < buffer.len() {
            break;
        }
    }
    Ok(filled)
}

/// The suffix that makes a status file's path from its PID file's (`X.pid.status`,
/// docs/design.md §5).
pub(crate) const STATUS_SUFFIX: &[u8] = b".status";

/// `path` with `suffix` appended, NUL-terminated in `buffer`; `None` when it does not fit in
/// `PATH_MAX`.
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
