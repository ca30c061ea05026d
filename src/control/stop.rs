//! STOP (docs/design.md §3): deliver the signal (and SIGCONT, for a stopped daemon), wait until
//! the PID file's lock is free, empty the file; on deadline expiry fail, or escalate to
//! SIGKILL of the daemon's process group and wait again.
//!
//! This file owns STOP's waits. Everything the stop needs after the signal — a descriptor
//! of the PID file, writable if it can be — is opened before the signal, so that a failure
//! to open it can never follow a daemon that did stop. It must never empty a file that is
//! no longer the one it locked (same inode as the path names), never write a file on a
//! pseudo file system, and never wait past the deadline (plus one short last look).

use super::deadline::{lock_within, wait_readable, Deadline, FIRST_PAUSE};
use super::deliver::{self, Delivered};
use super::proof::{self, LockId};
use super::{Params, Status};
use crate::error::{Error, Message, Result, Subject};
use crate::pidfile::{self, FileId, Inspection, PidState};
use crate::signal::Signal;
use core::time::Duration;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::OFlags;
use rustix::io::Errno;

/// How long a signalled daemon still has to be seen gone once the deadline has passed (one
/// last look, so that `--timeout 0` does not fail a daemon that exits at once).
const LAST_LOOK: Duration = Duration::from_millis(100);
/// The least time a SIGKILLed daemon gets to release its lock (it cannot refuse to die, but
/// the kernel needs a moment to close its files).
const KILL_GRACE: Duration = Duration::from_secs(1);

/// STOP on RUNNING or BUSY.
pub(crate) fn stop(
    params: &Params<'_>,
    deadline: &Deadline,
    inspection: Inspection,
) -> Result<Status> {
    let inspection = match inspection.state {
        PidState::Busy => wait_while_busy(params, deadline)?,
        _ => inspection,
    };
    let PidState::Running(pid) = inspection.state else {
        // The lock went while we waited: the daemon is gone.
        return Ok(Status::Ok);
    };
    let Some((file, inode)) = StoppedFile::open(params)? else {
        return Ok(Status::Ok);
    };
    let lock = proof::lock_of(file.fd.as_fd(), inode)?;
    let signal = params.signal.unwrap_or(Signal::TERM);
    let delivered = deliver::deliver(params, pid, inspection.file, lock.as_ref(), signal, true)?;
    crate::failpoint::hit("control-stop-signalled");
    let pidfd = match &delivered {
        Delivered::Named(target) => target.pidfd(),
        _ => None,
    };
    if file.wait_for_release(deadline, pidfd)? {
        return Ok(Status::Ok);
    }
    let pid_number = pid.as_raw_nonzero().get() as u32;
    let timeout = |message| {
        Error::new(message, Subject::PidFile)
            .with(1, pid_number)
            .with_duration(params.timeout)
    };
    let expired = match delivered {
        Delivered::Named(_) => Message::StopTimeout,
        _ => Message::HeldByOthersWithin,
    };
    if !params.escalate {
        return Err(timeout(expired));
    }
    kill_group(&delivered, lock.as_ref())?;
    let grace = params
        .timeout
        .map_or(KILL_GRACE, |limit| limit.max(KILL_GRACE));
    if file.wait_for_release(&Deadline::start(Some(grace)), pidfd)? {
        return Ok(Status::Ok);
    }
    Err(timeout(Message::StopTimeoutAfterKill))
}

/// SIGKILL for the daemon's whole process group: the named process's, or each remaining
/// holder's when it has exited (a supervisor's program, a daemon's workers), found in its
/// session as `/proc` numbers it.
fn kill_group(delivered: &Delivered, lock: Option<&LockId>) -> Result<()> {
    let session = match delivered {
        Delivered::Named(target) => {
            // Not the end: a supervised program leads a group of its own, and one that changed
            // its uid outlives its supervisor (no PDEATHSIG) holding the lock.
            target.send_group(Signal::KILL)?;
            target.proc_number()
        }
        Delivered::Others(session) => Some(*session),
        Delivered::Exited => None,
    };
    if let (Some(lock), Some(session)) = (lock, session) {
        deliver::signal_others(session, lock, deliver::ToHolders::KillGroup)?;
    }
    Ok(())
}

/// The PID file as STOP holds it from before the signal to the end.
struct StoppedFile<'a> {
    fd: OwnedFd,
    /// Whether the stop may empty it (opened for writing, not on a pseudo file system).
    writable: bool,
    path: &'a core::ffi::CStr,
}

impl<'a> StoppedFile<'a> {
    /// Opens the PID file for writing, or read-only when that is all the path allows (a
    /// read-only mount, a file we may not write): waiting for the lock needs only that, and
    /// the daemon empties its own file. Returns it with its inode, `None` when it is gone; a
    /// file with more than one link is refused before anything is done to it.
    fn open(params: &Params<'a>) -> Result<Option<(Self, u64)>> {
        let path = params.pid_file;
        let (fd, mut writable) = match pidfile::open_file(path, OFlags::RDWR) {
            Ok(fd) => (fd, true),
            Err(Errno::ACCESS) | Err(Errno::ROFS) | Err(Errno::PERM) => {
                match pidfile::open_file(path, OFlags::RDONLY) {
                    Ok(fd) => (fd, false),
                    Err(Errno::NOENT) => return Ok(None),
                    Err(errno) => {
                        return Err(Error::system(Message::Open, Subject::PidFile, errno))
                    }
                }
            }
            Err(Errno::NOENT) => return Ok(None),
            Err(errno) => return Err(Error::system(Message::Open, Subject::PidFile, errno)),
        };
        let stat = rustix::fs::fstat(&fd)
            .map_err(|errno| Error::system(Message::Stat, Subject::PidFile, errno))?;
        if stat.st_nlink != 1 {
            return Err(Error::new(Message::RefuseHardLinks, Subject::PidFile)
                .with(1, stat.st_nlink as u32));
        }
        // Never write a kernel interface, whatever a PID file path names.
        writable &= matches!(pidfile::pseudo_file_system(fd.as_fd()), Ok(None));
        Ok(Some((Self { fd, writable, path }, stat.st_ino)))
    }

    /// Waits until the lock is free, takes it, and empties the file if the path still names
    /// the inode we locked. `Ok(false)` when the deadline (and the last look) passes first.
    fn wait_for_release(&self, deadline: &Deadline, pidfd: Option<BorrowedFd<'_>>) -> Result<bool> {
        let poll_error = |errno| Error::system(Message::PollPidfd, Subject::None, errno);
        if let (Some(pidfd), true) = (pidfd, deadline.is_limited()) {
            // Sleep until the process exits instead of polling the lock meanwhile.
            if !wait_readable(pidfd, deadline).map_err(poll_error)? {
                wait_readable(pidfd, &Deadline::start(Some(LAST_LOOK))).map_err(poll_error)?;
            }
        }
        let locked = lock_within(self.fd.as_fd(), deadline)
            .map_err(|errno| Error::system(Message::Lock, Subject::PidFile, errno))?;
        if !locked {
            return Ok(false);
        }
        if let (Ok(locked), Ok(named)) = (rustix::fs::fstat(&self.fd), rustix::fs::lstat(self.path))
        {
            // Still the one file it was: one link, the inode the path names.
            if self.writable && locked.st_nlink == 1 && FileId::of(&locked) == FileId::of(&named) {
                // The daemon is gone; a failure to empty the file does not undo that.
                let _ = rustix::fs::ftruncate(&self.fd, 0);
            }
        }
        Ok(true)
    }
}

/// STOP for BUSY: waits (bounded by the deadline) until the daemon has written its PID or
/// released the lock, and returns the new classification.
fn wait_while_busy(params: &Params<'_>, deadline: &Deadline) -> Result<Inspection> {
    let mut step = FIRST_PAUSE;
    loop {
        let inspection = pidfile::inspect(params.pid_file)?;
        if inspection.state != PidState::Busy {
            return Ok(inspection);
        }
        if !deadline.pause(&mut step) {
            return Err(
                Error::new(Message::BusyTimeout, Subject::PidFile).with_duration(params.timeout)
            );
        }
    }
}
