//! The supervisor's status file (docs/design.md §5): `X.pid.status` beside PID file `X.pid`,
//! a few `key=value` lines that tell a controller what the PID file cannot (LibUCW's tools read
//! the PID file, so its format never changes): the supervisor's PID and start time, which
//! prove that the file still describes a living supervisor, the cgroup of its program's
//! tree (`--cgroup`), which STOP's escalation kills after it SIGKILLed the supervisor, and the
//! program's life for `--check --json`: its PID, how often it was started again
//! (`--respawn`), how its last incarnation ended (`last_exit=code:N` or `signal:N`) and
//! whether it has said it is ready (`ready=1` or `0`); and, when the program ended before the
//! START that launched it had looked (its launcher not yet collected), the inode of that
//! START's controller pipe and its change time (`controller_pipe=`, `controller_pipe_time=`),
//! which START matches to report the end.
//!
//! This file owns the opening and the writing. The launcher opens the file before the
//! credential switch (the PID file's rules); the supervisor keeps the descriptor and
//! rewrites the file in place (`pwrite` + `ftruncate`) under `flock(LOCK_EX)` on it, so a
//! reader, which takes `LOCK_SH`, never sees half a rewrite (a reader reads at most 4,352
//! bytes: a path of up to 4,095 and short lines). A line is one entry of
//! [`LINES`]. It must never block on anything but that lock, never allocate, and never write a
//! line it cannot write whole.

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::FlockOperation;
use rustix::io::Errno;
#[cfg(feature = "tree")]
use {
    super::messages::Failure,
    crate::rt,
    core::ffi::CStr,
    rustix::fd::BorrowedFd,
    rustix::fs::{FileType, Mode, OFlags},
    ucw_daemon::{Error, Subject},
};

/// The suffix that makes the status file's path from the PID file's.
#[cfg(feature = "tree")]
const SUFFIX: &[u8] = b".status";

/// How many bytes of short lines [`StatusFile::write`] gathers for one `pwrite` (every line
/// but a cgroup path takes at most 140 together).
const GATHER_CAPACITY: usize = 160;

/// The longest path the kernel takes, NUL included (`PATH_MAX`).
#[cfg(feature = "tree")]
const PATH_CAPACITY: usize = 4096;

/// What the status file says.
pub(super) struct Status<'a> {
    /// The supervisor's PID.
    pub(super) supervisor: u32,
    /// Its start time (field 22 of `/proc/<pid>/stat`).
    pub(super) start_time: u64,
    /// The cgroup directory of the program's tree (`--cgroup`), as an absolute path.
    pub(super) cgroup: Option<&'a [u8]>,
    /// The program's life.
    pub(super) program: &'a Program,
    /// The inode and change time (nanoseconds since the epoch) of the controller's pipe of
    /// the START still to judge a program that ended at once
    /// (`Supervisor::record_ended_at_once`).
    pub(super) controller_pipe: Option<(u64, u64)>,
}

/// What the status file tells about the program (the incarnation that runs, or the last).
#[derive(Clone, Copy, Default)]
pub(super) struct Program {
    /// Its PID, while it runs.
    pub(super) pid: Option<u32>,
    /// How many times it has been started again.
    pub(super) restarts: u32,
    /// How the last incarnation ended: killed by a signal (`true`) or exited, and the number.
    pub(super) last_exit: Option<(bool, u8)>,
    /// Whether it has said it is ready.
    pub(super) ready: bool,
}

impl Program {
    /// The incarnation that ran has ended so.
    pub(super) fn ended(&mut self, ended: super::supervisor::Ended) {
        self.pid = None;
        self.ready = false;
        self.last_exit = Some(match ended {
            super::supervisor::Ended::Killed(signal) => (true, signal as u8),
            super::supervisor::Ended::Exited(code) => (false, code as u8),
        });
    }
}

/// One line's value.
enum Value<'a> {
    Number(u64),
    Text(&'a [u8]),
    /// A word and a number after it (`signal:15`).
    Tagged(&'static [u8], u8),
    /// No line.
    Absent,
}

/// A line: its key, and how its value comes from the [`Status`].
type Line = (&'static [u8], for<'s> fn(&Status<'s>) -> Value<'s>);

/// The lines, in order: adding one is adding an entry here (and a field to [`Status`]).
const LINES: &[Line] = &[
    (b"supervisor", |status| {
        Value::Number(u64::from(status.supervisor))
    }),
    (b"start_time", |status| Value::Number(status.start_time)),
    (b"cgroup", |status| {
        status.cgroup.map_or(Value::Absent, Value::Text)
    }),
    (b"program_pid", |status| {
        status
            .program
            .pid
            .map_or(Value::Absent, |pid| Value::Number(u64::from(pid)))
    }),
    (b"restarts", |status| {
        Value::Number(u64::from(status.program.restarts))
    }),
    (b"last_exit", |status| match status.program.last_exit {
        None => Value::Absent,
        Some((true, signal)) => Value::Tagged(b"signal:", signal),
        Some((false, code)) => Value::Tagged(b"code:", code),
    }),
    (b"ready", |status| {
        Value::Number(u64::from(status.program.ready))
    }),
    (b"controller_pipe", |status| {
        status
            .controller_pipe
            .map_or(Value::Absent, |(inode, _)| Value::Number(inode))
    }),
    (b"controller_pipe_time", |status| {
        status
            .controller_pipe
            .map_or(Value::Absent, |(_, time)| Value::Number(time))
    }),
];

/// The status file, open for the supervisor.
pub(super) struct StatusFile {
    fd: OwnedFd,
    /// Without the `tree` feature no status file is ever opened: the type has no values, so
    /// the supervisor's paths that write one are compiled out.
    #[cfg(not(feature = "tree"))]
    never: core::convert::Infallible,
}

impl StatusFile {
    /// Opens (creating, mode 0600) `X.pid.status` beside PID file `pid_file`, whose lock
    /// `lock` holds, with the PID file's rules: no symbolic link (`O_NOFOLLOW`), a regular
    /// file with one link, owned by root or us, not writable by group or others (one readable
    /// by them and ours is tightened to 0600), and on the PID file's own file system (which
    /// `daemon::init` refused to be a pseudo one). Called by the launcher before the
    /// credential switch; never inlined, so its path buffer stays out of the launcher's frame.
    #[cfg(feature = "tree")]
    #[inline(never)]
    pub(super) fn open(pid_file: &CStr, lock: BorrowedFd<'_>) -> Result<Self, Error> {
        let failed = |errno| Failure::OpenStatusFile.system(Subject::PidFile, errno);
        let refused = || Failure::RefuseStatusFile.about(Subject::PidFile);
        let name = pid_file.to_bytes();
        let mut path = [0u8; PATH_CAPACITY];
        let end = name.len() + SUFFIX.len();
        if end >= path.len() {
            return Err(failed(Errno::NAMETOOLONG));
        }
        path[..name.len()].copy_from_slice(name);
        path[name.len()..end].copy_from_slice(SUFFIX);
        let path = CStr::from_bytes_until_nul(&path).map_err(|_| failed(Errno::INVAL))?;
        let flags = OFlags::RDWR
            | OFlags::CREATE
            | OFlags::NOFOLLOW
            | OFlags::CLOEXEC
            | OFlags::NOCTTY
            | OFlags::NONBLOCK;
        let fd = rustix::fs::open(path, flags, Mode::RUSR | Mode::WUSR)
            .and_then(rt::above_standard_streams)
            .map_err(|errno| match errno {
                Errno::LOOP => refused(),
                errno => failed(errno),
            })?;
        let stat = rustix::fs::fstat(&fd).map_err(failed)?;
        let pid_file_stat = rustix::fs::fstat(lock).map_err(failed)?;
        // Our uid is asked only where the answer matters: a root-owned `0600` file (what root
        // creates) needs no geteuid, like the PID file's check.
        let ours = || stat.st_uid == rustix::process::geteuid().as_raw();
        let acceptable = FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile
            && stat.st_nlink == 1
            && stat.st_mode & 0o022 == 0
            && stat.st_dev == pid_file_stat.st_dev
            && (stat.st_uid == 0 || ours());
        if !acceptable {
            return Err(refused());
        }
        if stat.st_mode & 0o044 != 0 && ours() {
            let _ = rustix::fs::fchmod(&fd, Mode::RUSR | Mode::WUSR);
        }
        Ok(Self { fd })
    }

    /// Rewrites the file with `status`: the lines gathered in a small buffer and written in
    /// one `pwrite` (a long value, a path, in its parts after what is gathered), then the file
    /// cut to what was written; a value with a newline leaves its line out. No buffer of the
    /// whole file: the supervisor's stack stays small.
    pub(super) fn write(&self, status: &Status<'_>) -> Result<(), Errno> {
        self.locked(|fd| {
            let mut gathered = [0u8; GATHER_CAPACITY];
            let mut length = 0;
            let mut offset = 0;
            for (key, value) in LINES {
                let mut digits = [0u8; 20];
                let mut tagged = [0u8; 16];
                let value = match value(status) {
                    Value::Absent => continue,
                    Value::Text(text) => text,
                    Value::Number(number) => crate::rt::decimal(number, &mut digits),
                    Value::Tagged(word, number) => {
                        let number = crate::rt::decimal(u64::from(number), &mut digits);
                        tagged[..word.len()].copy_from_slice(word);
                        tagged[word.len()..word.len() + number.len()].copy_from_slice(number);
                        &tagged[..word.len() + number.len()]
                    }
                };
                if value.contains(&b'\n') {
                    continue;
                }
                let parts = [*key, b"=", value, b"\n"];
                let line: usize = parts.iter().map(|part| part.len()).sum();
                if length + line > gathered.len() {
                    write_at(fd, &gathered[..length], offset)?;
                    offset += length as u64;
                    length = 0;
                }
                if line > gathered.len() {
                    for part in parts {
                        write_at(fd, part, offset)?;
                        offset += part.len() as u64;
                    }
                    continue;
                }
                for part in parts {
                    gathered[length..length + part.len()].copy_from_slice(part);
                    length += part.len();
                }
            }
            write_at(fd, &gathered[..length], offset)?;
            rustix::fs::ftruncate(fd, offset + length as u64)
        })
    }

    /// Empties the file: nothing it said holds any more.
    pub(super) fn clear(&self) {
        let _ = self.locked(|fd| rustix::fs::ftruncate(fd, 0));
    }

    /// Runs `change` on the file under `LOCK_EX`.
    #[cfg_attr(not(feature = "tree"), allow(unreachable_code, unused_variables))]
    fn locked(&self, change: impl FnOnce(&OwnedFd) -> Result<(), Errno>) -> Result<(), Errno> {
        #[cfg(not(feature = "tree"))]
        match self.never {}
        loop {
            match rustix::fs::flock(&self.fd, FlockOperation::LockExclusive) {
                Ok(()) => break,
                Err(Errno::INTR) => {}
                Err(errno) => return Err(errno),
            }
        }
        let changed = change(&self.fd);
        let _ = rustix::fs::flock(&self.fd, FlockOperation::Unlock);
        changed
    }
}

/// `pwrite`s all of `content` at `offset`.
fn write_at(fd: &OwnedFd, content: &[u8], offset: u64) -> Result<(), Errno> {
    let mut written = 0;
    while written < content.len() {
        match rustix::io::pwrite(fd.as_fd(), &content[written..], offset + written as u64) {
            Ok(0) => return Err(Errno::IO),
            Ok(count) => written += count,
            Err(Errno::INTR) => {}
            Err(errno) => return Err(errno),
        }
    }
    Ok(())
}
