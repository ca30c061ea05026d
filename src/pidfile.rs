//! The PID file and the guard file: opening them safely, locking them, reading and writing
//! the PID, and classifying what a controller sees (DESIGN.md §2).
//!
//! This module owns every `open`, `flock`, `read` and `write` of those two files and the
//! checks that make them safe to trust (no symlinks, regular files, right owner, not writable
//! by others). It must never unlink either file, never block on a FIFO, never hold the PID
//! file across a launch, and never decide what an action does with a classification (that is
//! [`crate::control`]'s job).

use crate::error::{Error, Result};
use crate::text::{parse_decimal, Message};
use core::ffi::CStr;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
pub enum Owner {
    /// Only our effective uid (the daemon's own PID file).
    Us,
    /// Root or our effective uid (what a controller accepts).
    RootOrUs,
}

/// `Refusing <what> <path>`, the start of every refusal of a file (one copy of the chain).
#[cold]
#[inline(never)]
fn refusing(what: &str, path: &[u8]) -> Error {
    Error::new("Refusing ").push(what).push(" ").push(path)
}

/// Verifies that `stat` describes a regular file owned as `owner` says and not writable by
/// group or others; `what` names the file in the message (`PID file`, `guard file`).
pub fn check_file(stat: &Stat, what: &str, path: &CStr, owner: Owner) -> Result<()> {
    let path = path.to_bytes();
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(refusing(what, path).push(": not a regular file"));
    }
    // A root-owned file needs no geteuid when root is acceptable (one syscall saved on the
    // controller's path, which opens two such files).
    let uid = stat.st_uid;
    let owner_ok =
        (owner == Owner::RootOrUs && uid == 0) || uid == rustix::process::geteuid().as_raw();
    if !owner_ok {
        return Err(refusing(what, path)
            .push(": owned by uid ")
            .push_number(uid as u64)
            .push(if owner == Owner::Us {
                ", not by us (uid "
            } else {
                ", neither root nor us (uid "
            })
            .push_number(rustix::process::geteuid().as_raw() as u64)
            .push(")"));
    }
    if stat.st_mode & 0o022 != 0 {
        let mut mode = Message::<8>::new();
        mode.push_bytes(b"0");
        for shift in [6u32, 3, 0] {
            mode.push_bytes(&[b'0' + ((stat.st_mode >> shift) & 7) as u8]);
        }
        return Err(refusing(what, path)
            .push(": writable by group or others (mode ")
            .push(mode.as_bytes())
            .push(")"));
    }
    Ok(())
}

/// `open(path, O_RDWR|O_CREAT|O_NOFOLLOW|O_CLOEXEC|O_NOCTTY, 0600)` then `fstat` and
/// [`check_file`]: the way both the daemon (PID file) and controllers (guard file) open a
/// file they may create.
pub fn open_for_writing(path: &CStr, what: &str, owner: Owner) -> Result<(OwnedFd, Stat)> {
    let flags = OFlags::RDWR
        | OFlags::CREATE
        | OFlags::NOFOLLOW
        | OFlags::CLOEXEC
        | OFlags::NOCTTY
        | OFlags::NONBLOCK;
    let fd = rustix::fs::open(path, flags, Mode::RUSR | Mode::WUSR)
        .map_err(|errno| open_error(what, path, errno))?;
    let stat =
        rustix::fs::fstat(&fd).map_err(|errno| Error::system_on("stat", what, path, errno))?;
    check_file(&stat, what, path, owner)?;
    Ok((fd, stat))
}

/// Words an `open` failure; ELOOP on an `O_NOFOLLOW` open means the last component is a
/// symbolic link, which we say plainly.
fn open_error(what: &str, path: &CStr, errno: Errno) -> Error {
    if errno == Errno::LOOP {
        refusing(what, path.to_bytes())
            .push(": it is a symbolic link")
            .with_errno(errno)
    } else {
        Error::system_on("open", what, path, errno)
    }
}

impl Error {
    /// `Cannot <verb> <what> <path>: <ERRNO> (<text>)`.
    pub(crate) fn system_on(verb: &str, what: &str, path: &CStr, errno: Errno) -> Self {
        Error::new("Cannot ")
            .push(verb)
            .push(" ")
            .push(what)
            .push(" ")
            .push(path.to_bytes())
            .with_errno(errno)
    }
}

/// `flock(fd, operation)`, retried on EINTR. Returns `Ok(false)` when a non-blocking request
/// would block.
pub fn lock(fd: BorrowedFd<'_>, operation: FlockOperation) -> core::result::Result<bool, Errno> {
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
pub fn replace_content(fd: BorrowedFd<'_>, content: &[u8]) -> core::result::Result<(), Errno> {
    rustix::fs::ftruncate(fd, 0)?;
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

/// The PID file as the daemon holds it: open, locked exclusively, ours.
pub struct PidFile<'a> {
    fd: OwnedFd,
    path: &'a CStr,
}

impl<'a> PidFile<'a> {
    /// Opens (creating, mode 0600) and checks the PID file, locks it without waiting
    /// (`already running` when another process holds it), empties it and writes
    /// `(starting)\n`.
    pub fn create_locked(path: &'a CStr) -> Result<Self> {
        let (fd, _stat) = open_for_writing(path, "PID file", Owner::Us)?;
        match lock(fd.as_fd(), FlockOperation::NonBlockingLockExclusive) {
            Ok(true) => {}
            Ok(false) => {
                return Err(Error::new("Daemon is already running (PID file ")
                    .push(path.to_bytes())
                    .push(" is locked)"))
            }
            Err(errno) => return Err(Error::system_on("lock", "PID file", path, errno)),
        }
        let file = Self { fd, path };
        file.write(STARTING)?;
        Ok(file)
    }

    /// Replaces the content with `<pid>\n`.
    pub fn write_pid(&self, pid: Pid) -> Result<()> {
        let mut line = Message::<12>::new();
        line.push_u64(pid.as_raw_nonzero().get() as u64)
            .push_bytes(b"\n");
        self.write(line.as_bytes())
    }

    /// Empties the file (the lock stays until the descriptor is closed).
    pub fn clear(&self) -> Result<()> {
        self.write(b"")
    }

    fn write(&self, content: &[u8]) -> Result<()> {
        replace_content(self.fd.as_fd(), content)
            .map_err(|errno| Error::system_on("write", "PID file", self.path, errno))
    }

    /// The path it was opened with.
    pub fn path(&self) -> &'a CStr {
        self.path
    }

    /// The locked descriptor (close-on-exec).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Gives up the wrapper and returns the locked descriptor.
    pub fn into_fd(self) -> OwnedFd {
        self.fd
    }

    /// Rebuilds the wrapper around a descriptor obtained from [`PidFile::into_fd`].
    pub fn from_fd(fd: OwnedFd, path: &'a CStr) -> Self {
        Self { fd, path }
    }
}

/// What a controller finds at the PID-file path (DESIGN.md §2, without the ERROR row, which is
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

/// Classifies the content of a PID file according to DESIGN.md §2. `locked` says whether
/// another process holds the lock; `content` is at most [`READ_LIMIT`] bytes as read.
pub fn classify(locked: bool, content: &[u8], path: &CStr) -> Result<PidState> {
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
    Err(Error::new("PID file ")
        .push(path.to_bytes())
        .push(" does not contain a valid PID"))
}

/// Opens the PID file read-only (`O_NOFOLLOW|O_NONBLOCK|O_NOCTTY`: no symlinks, no FIFO
/// hang), checks it, probes its lock with `LOCK_SH|LOCK_NB`, reads at most [`READ_LIMIT`]
/// bytes, closes it, and classifies it.
pub fn inspect(path: &CStr) -> Result<Inspection> {
    let flags =
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY;
    let fd = match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => {
            return Ok(Inspection {
                state: PidState::Absent,
                file: FileId {
                    device: 0,
                    inode: 0,
                },
            })
        }
        Err(errno) => return Err(open_error("PID file", path, errno)),
    };
    let stat = rustix::fs::fstat(&fd)
        .map_err(|errno| Error::system_on("stat", "PID file", path, errno))?;
    check_file(&stat, "PID file", path, Owner::RootOrUs)?;
    let unlocked = lock(fd.as_fd(), FlockOperation::NonBlockingLockShared)
        .map_err(|errno| Error::system_on("lock", "PID file", path, errno))?;
    let mut buffer = [0u8; READ_LIMIT];
    let length = read_prefix(fd.as_fd(), &mut buffer)
        .map_err(|errno| Error::system_on("read", "PID file", path, errno))?;
    drop(fd);
    let state = classify(!unlocked, &buffer[..length], path)?;
    Ok(Inspection {
        state,
        file: FileId::of(&stat),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn state(locked: bool, content: &[u8]) -> core::result::Result<PidState, std::string::String> {
        classify(locked, content, c"/run/x.pid")
            .map_err(|error| std::string::String::from(error.message()))
    }

    #[test]
    fn classification_table() {
        assert_eq!(state(false, b""), Ok(PidState::NotRunning));
        assert_eq!(state(false, b"123\n"), Ok(PidState::Stale));
        assert_eq!(state(false, b"garbage"), Ok(PidState::Stale));
        assert_eq!(state(false, &[b'9'; 32]), Ok(PidState::Stale));
        assert_eq!(
            state(true, b"123\n"),
            Ok(PidState::Running(Pid::from_raw(123).unwrap()))
        );
        assert_eq!(
            state(true, b"4194304\n"),
            Ok(PidState::Running(Pid::from_raw(4_194_304).unwrap()))
        );
        assert_eq!(state(true, b""), Ok(PidState::Busy));
        assert_eq!(state(true, b"(starting)\n"), Ok(PidState::Busy));
        assert_eq!(state(true, b"12"), Ok(PidState::Busy));
        for bad in [
            &b"-1\n"[..],
            b"0\n",
            b"garbage",
            b"4194305\n",
            b"012\n",
            b"12\n\n",
            b"1 \n",
            b"\n",
            &[b'9'; 32],
        ] {
            assert_eq!(
                state(true, bad),
                Err("PID file /run/x.pid does not contain a valid PID".into()),
                "{bad:?}"
            );
        }
    }
}
