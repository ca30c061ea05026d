//! The supervisor's status file `X.pid.status` as a controller reads it (docs/design.md §5):
//! `key=value` lines from `ucw-daemonize`. STOP's escalation reads the cgroup and session a
//! SIGKILLed supervisor leaves; START the record of a program that ended at once.
//!
//! This file owns that reading and `cgroup.kill`. The file is a hint, never an authority:
//! opened like a PID file, read under a briefly awaited shared lock, and believed only for the
//! supervisor the lock proof found (PID and start time). It must never write the file, and
//! never write `cgroup.kill` outside a cgroup2 directory.

use super::deadline::{Deadline, FIRST_PAUSE};
use crate::exec::PATH_MAX;
use crate::pidfile::{self, Owner};
use crate::text::parse_decimal;
use core::ffi::CStr;
use core::time::Duration;
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{FlockOperation, Mode, OFlags};

/// How long a reader waits for the writer's exclusive lock (it holds it for one rewrite).
const LOCK_WAIT: Duration = Duration::from_millis(500);

/// `statfs` magic of cgroup2.
const CGROUP2_MAGIC: u32 = 0x6367_7270;

/// The lines of a status file, kept as read (one `key=value` a line).
pub(super) struct StatusFile {
    text: [u8; PATH_MAX + 256],
    length: usize,
}

impl StatusFile {
    /// Reads the status file of `pid_file`; `None` when there is none, or it cannot be read
    /// or trusted as a file (it is only ever a hint).
    pub(super) fn read(pid_file: &CStr) -> Option<Self> {
        let mut path = [0u8; PATH_MAX];
        let path = pidfile::with_suffix(&mut path, pid_file, pidfile::STATUS_SUFFIX)?;
        let fd = pidfile::open_file(path, OFlags::RDONLY).ok()?;
        let stat = rustix::fs::fstat(&fd).ok()?;
        // Never tightened or otherwise changed here: a reader only reads.
        pidfile::check_file(&stat, crate::Subject::None, Owner::RootOrUs).ok()?;
        let deadline = Deadline::start(Some(LOCK_WAIT));
        let mut step = FIRST_PAUSE;
        while !pidfile::lock(fd.as_fd(), FlockOperation::NonBlockingLockShared).ok()? {
            if !deadline.pause(&mut step) {
                return None;
            }
        }
        let mut status = Self {
            text: [0; PATH_MAX + 256],
            length: 0,
        };
        status.length = crate::io::read_full(fd.as_fd(), &mut status.text, true).ok()?;
        Some(status)
    }

    /// The value of the line `key=value`, if there is one.
    pub(super) fn value(&self, key: &[u8]) -> Option<&[u8]> {
        self.text[..self.length]
            .split(|&byte| byte == b'\n')
            .find_map(|line| {
                line.strip_prefix(key)
                    .and_then(|rest| rest.strip_prefix(b"="))
            })
    }

    /// The supervisor's PID and start time, when both are there.
    pub(super) fn supervisor(&self) -> Option<(u32, u64)> {
        let pid = parse_decimal(self.value(b"supervisor")?, pidfile::PID_MAX)?;
        let start = parse_decimal(self.value(b"start_time")?, u64::MAX)?;
        Some((pid as u32, start))
    }

    /// The decimal value of the line `key=N`, if there is one and it fits in 32 bits.
    pub(super) fn number(&self, key: &[u8]) -> Option<u32> {
        parse_decimal(self.value(key)?, u64::from(u32::MAX)).map(|number| number as u32)
    }

    /// How the program last ended: `last_exit=code:N` (`Ok`) or `last_exit=signal:N` (`Err`).
    pub(super) fn last_exit(&self) -> Option<Result<u8, crate::signal::Signal>> {
        let value = self.value(b"last_exit")?;
        if let Some(code) = value.strip_prefix(b"code:") {
            return parse_decimal(code, 255).map(|code| Ok(code as u8));
        }
        let number = parse_decimal(value.strip_prefix(b"signal:")?, 64)?;
        crate::signal::Signal::from_number(number as u32).map(Err)
    }

    /// The cgroup directory that holds the program's tree (`--cgroup`), if any.
    pub(super) fn cgroup(&self) -> Option<&[u8]> {
        self.value(b"cgroup")
            .filter(|path| path.first() == Some(&b'/'))
    }
}

/// Writes `1` to `cgroup.kill` of the cgroup2 directory `path` (Linux 5.14): every process
/// in it and its descendants is SIGKILLed at once, whatever its uid, session or parent.
/// Returns whether the kill was written; a directory that is not on cgroup2 (or gone) is left
/// alone.
pub(super) fn kill_cgroup(path: &[u8]) -> bool {
    let mut buffer = [0u8; PATH_MAX];
    if path.len() >= PATH_MAX || path.contains(&0) {
        return false;
    }
    buffer[..path.len()].copy_from_slice(path);
    let Ok(path) = CStr::from_bytes_until_nul(&buffer) else {
        return false;
    };
    let directory: OwnedFd = match rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(directory) => directory,
        Err(_) => return false,
    };
    if !matches!(rustix::fs::fstatfs(&directory), Ok(info) if info.f_type as u32 == CGROUP2_MAGIC) {
        return false;
    }
    match rustix::fs::openat(
        &directory,
        c"cgroup.kill",
        OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(kill) => rustix::io::write(&kill, b"1").is_ok(),
        Err(_) => false,
    }
}
