//! STOP (docs/design.md §3): signal (and SIGCONT), wait for the lock, empty the file; past the
//! deadline fail or escalate to SIGKILL.
//!
//! This file owns STOP's waits; what it needs after the signal is opened before it. It must never
//! empty a file other than the one it locked, write on a pseudo file system, or wait past the
//! deadline (plus one last look).

use super::deadline::{lock_within, wait_readable, Deadline, FIRST_PAUSE};
use super::deliver::{self, Delivered};
use super::leftovers;
use super::proof::{self, LockId};
use super::{Held, Params, Status};
use crate::error::{Error, ErrorKind, Message, Result, Subject};
use crate::pidfile::{self, FileId, Inspected, Inspection, PidState};
use crate::signal::Signal;
use core::ffi::CStr;
use core::time::Duration;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};

/// One last look past the deadline, so `--timeout 0` does not fail a daemon that exits at once.
const LAST_LOOK: Duration = Duration::from_millis(100);
/// The least time a SIGKILLed daemon gets for the kernel to close its files.
const KILL_GRACE: Duration = Duration::from_secs(1);
/// How long the escalation waits for the lock before it looks for holders again (a tenth of a
/// second: the grace is counted in these).
const KILL_PASS: Duration = Duration::from_millis(100);

/// STOP on RUNNING or BUSY; `inspected`, the proof's descriptors and the final lock go to `held`.
pub(crate) fn stop(
    params: &Params<'_>,
    deadline: &Deadline,
    inspection: Inspection,
    inspected: Option<Inspected>,
    held: &mut Held,
) -> Result<Status> {
    let (inspection, inspected) = match inspection.state {
        PidState::Busy => match wait_while_busy(params, deadline) {
            Err(error) if params.escalate && error.kind() == ErrorKind::Timeout => {
                return stop_busy(params);
            }
            settled => settled?,
        },
        _ => (inspection, inspected),
    };
    let (PidState::Running(pid), Some(inspected)) = (inspection.state, inspected) else {
        // The lock went while we waited: the daemon is gone.
        return Ok(Status::Ok);
    };
    let (file, lock) = StoppedFile::new(inspected, inspection.file, params.pid_file)?;
    let signal = params.signal.unwrap_or(Signal::TERM);
    let delivered = deliver::deliver(params, pid, inspection.file, lock.as_ref(), signal, true)?;
    crate::failpoint::hit("control-stop-signalled");
    let pidfd = match &delivered {
        Delivered::Named(target) => target.pidfd(),
        _ => None,
    };
    let stopped = file.wait_for_release(deadline, pidfd)?;
    if !stopped && params.escalate {
        let pid_number = pid.as_raw_nonzero().get() as u32;
        let status = leftovers::trusted_status(params, &delivered, pid);
        kill_group(&delivered, lock.as_ref(), params.pid_file)?;
        leftovers::kill_the_rest(&delivered, status.as_ref())?;
        if !file.wait_killing_holders(params, lock.as_ref())? {
            return Err(timeout(params, pid_number, Message::StopTimeoutAfterKill));
        }
    } else if !stopped {
        let expired = match delivered {
            Delivered::Named(_) => Message::StopTimeout,
            _ => Message::HeldByOthersWithin,
        };
        return Err(timeout(params, pid.as_raw_nonzero().get() as u32, expired));
    }
    held.keep(file.fd);
    if let Delivered::Named(target) = delivered {
        target.keep_in(held);
    }
    Ok(Status::Ok)
}

/// STOP's error when the daemon did not go within the deadline.
fn timeout(params: &Params<'_>, pid_number: u32, message: Message) -> Error {
    Error::new(message, Subject::PidFile)
        .with(1, pid_number)
        .with_duration(params.timeout)
}

/// BUSY past the deadline (docs/design.md §3): kill the holders (`leftovers.rs`), wait again.
fn stop_busy(params: &Params<'_>) -> Result<Status> {
    let (inspection, inspected) = pidfile::inspect_with(params.pid_file, true)?;
    let (PidState::Busy | PidState::Running(_), Some(inspected)) = (inspection.state, inspected)
    else {
        // The lock went meanwhile.
        return Ok(Status::Ok);
    };
    let (file, lock) = StoppedFile::new(inspected, inspection.file, params.pid_file)?;
    leftovers::kill_busy(params, lock.as_ref())?;
    if file.wait_killing_holders(params, lock.as_ref())? {
        return Ok(Status::Ok);
    }
    Err(Error::new(Message::BusyTimeoutAfterKill, Subject::PidFile).with_duration(params.timeout))
}

/// SIGKILL for the named process's group (or each remaining holder's), then every other proven
/// holder alone.
fn kill_group(delivered: &Delivered, lock: Option<&LockId>, pid_file: &CStr) -> Result<()> {
    let session = match delivered {
        Delivered::Named(target) => {
            // A supervised program leads its own group and may outlive its supervisor.
            target.send_group(Signal::KILL)?;
            target.proc_number()
        }
        Delivered::Others(session) => Some(*session),
        Delivered::Exited => None,
    };
    if let (Some(lock), Some(session)) = (lock, session) {
        deliver::signal_others(Some(session), lock, pid_file, deliver::ToHolders::KillGroup)?;
    }
    if let (Some(lock), false) = (lock, matches!(delivered, Delivered::Exited)) {
        // Holders outside that session, each alone: their group may be anyone's.
        deliver::signal_others(
            None,
            lock,
            pid_file,
            deliver::ToHolders::Signal(Signal::KILL, false),
        )?;
    }
    Ok(())
}

/// The PID file as STOP holds it, from the look's descriptor on (open before the signal).
struct StoppedFile<'a> {
    fd: OwnedFd,
    /// The file it is open on (device and inode).
    file: FileId,
    /// Whether STOP may empty it (writable, not a pseudo file system).
    writable: bool,
    path: &'a CStr,
}

impl<'a> StoppedFile<'a> {
    /// The file of `inspected` at `path`, with its lock identity.
    fn new(inspected: Inspected, file: FileId, path: &'a CStr) -> Result<(Self, Option<LockId>)> {
        let locked = proof::lock_of(inspected.fd.as_fd(), file.inode)?;
        // Never write a kernel interface, whatever a PID file path names.
        let pseudo = match locked.magic {
            Some(magic) => pidfile::is_pseudo_file_system(magic),
            None => !matches!(pidfile::pseudo_file_system(inspected.fd.as_fd()), Ok(None)),
        };
        let stopped = Self {
            fd: inspected.fd,
            file,
            writable: inspected.writable && !pseudo,
            path,
        };
        Ok((stopped, locked.lock))
    }

    /// Waits for the lock, takes it, and empties the file if the path still names our inode with
    /// one link; `Ok(false)` past the deadline.
    fn wait_for_release(&self, deadline: &Deadline, pidfd: Option<BorrowedFd<'_>>) -> Result<bool> {
        let poll_error = |errno| Error::system(Message::PollPidfd, Subject::None, errno);
        if let (Some(pidfd), true) = (pidfd, deadline.is_limited()) {
            // Sleep until the process exits rather than polling the lock.
            if !wait_readable(pidfd, deadline).map_err(poll_error)? {
                wait_readable(pidfd, &Deadline::start(Some(LAST_LOOK))).map_err(poll_error)?;
            }
        }
        let locked = lock_within(self.fd.as_fd(), deadline)
            .map_err(|errno| Error::system(Message::Lock, Subject::PidFile, errno))?;
        if !locked {
            return Ok(false);
        }
        // The path still names our inode, with one link.
        if let Ok(named) = rustix::fs::lstat(self.path) {
            if self.writable && named.st_nlink == 1 && FileId::of(&named) == self.file {
                // The daemon is gone; a failed truncate does not undo that.
                let _ = rustix::fs::ftruncate(&self.fd, 0);
            }
        }
        Ok(true)
    }

    /// After the escalation's SIGKILLs: waits for the lock for the grace (the timeout, at least
    /// [`KILL_GRACE`]) in passes of [`KILL_PASS`], SIGKILLing every proven holder again after
    /// each. A holder that forked just before its SIGKILL leaves a child holding the lock
    /// description, which no earlier pass could see. Later passes reach holders one by one,
    /// never a group or session: those of the first pass may be gone and their numbers reused.
    fn wait_killing_holders(&self, params: &Params<'_>, lock: Option<&LockId>) -> Result<bool> {
        let grace = params.timeout.unwrap_or(KILL_GRACE).max(KILL_GRACE);
        let mut passes =
            grace.as_secs().saturating_mul(10) + u64::from(grace.subsec_millis() / 100);
        loop {
            if self.wait_for_release(&Deadline::start(Some(KILL_PASS)), None)? {
                return Ok(true);
            }
            passes -= 1;
            if passes == 0 {
                return Ok(false);
            }
            if let Some(lock) = lock {
                let again = deliver::ToHolders::Signal(Signal::KILL, false);
                deliver::signal_others(None, lock, params.pid_file, again)?;
            }
        }
    }
}

/// On BUSY: waits within the deadline for the PID or the release; returns the new classification.
pub(super) fn wait_while_busy(
    params: &Params<'_>,
    deadline: &Deadline,
) -> Result<(Inspection, Option<Inspected>)> {
    let mut step = FIRST_PAUSE;
    loop {
        let (inspection, inspected) = pidfile::inspect_with(params.pid_file, true)?;
        if inspection.state != PidState::Busy {
            return Ok((inspection, inspected));
        }
        if !deadline.pause(&mut step) {
            return Err(
                Error::new(Message::BusyTimeout, Subject::PidFile).with_duration(params.timeout)
            );
        }
    }
}
