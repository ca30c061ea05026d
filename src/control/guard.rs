//! The guard file (DESIGN.md §3): the lock every controller takes before it looks at the PID
//! file, so that no two controllers act on the daemon at once.
//!
//! This file owns opening, checking and locking the guard, and the rule that it must never
//! be the PID file itself (locking that would look like a running daemon to everyone). It
//! must never write the guard file, and never wait for its lock longer than the action's
//! deadline.

use super::deadline::{lock_within, Deadline};
use super::{Action, Held, Params, Status};
use crate::error::{Error, Message, Result, Subject};
use crate::pidfile::{self, FileId, Owner, PidState};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{FlockOperation, OFlags};
use rustix::process::Pid;

/// The guard file, locked for the action of the params it was taken for: while it is held
/// no other controller acts on the daemon. Dropping it releases it; [`Guard::into_fd`] hands
/// the locked descriptor on (to an [`Outcome`](super::Outcome)).
#[must_use = "the guard serialises controllers only while it is held"]
pub(crate) struct Guard<'p> {
    fd: OwnedFd,
    file: FileId,
    params: &'p Params<'p>,
    deadline: Deadline,
}

impl<'p> Guard<'p> {
    /// Opens (creating it `0600`), checks and locks the guard file, waiting at most
    /// `params.timeout`, which starts the action's one deadline.
    ///
    /// A guard that is the PID file's inode is refused. When the lock is free (the common
    /// case) that is checked after the PID file has been inspected, from the identity
    /// `inspect` returns anyway; before any wait for the lock it is checked with an extra
    /// `lstat`, so a misconfigured guard never blocks on a running daemon's lock.
    pub(crate) fn take(params: &'p Params<'p>) -> Result<Self> {
        let deadline = Deadline::start(params.timeout);
        let (fd, stat) = pidfile::open_checked(
            params.guard_file,
            OFlags::RDWR | OFlags::CREATE,
            Subject::GuardFile,
            Owner::RootOrUs,
        )?;
        let guard = Guard {
            fd,
            file: FileId::of(&stat),
            params,
            deadline,
        };
        let lock_error = |errno| Error::system(Message::Lock, Subject::GuardFile, errno);
        if pidfile::lock(guard.fd.as_fd(), FlockOperation::NonBlockingLockExclusive)
            .map_err(lock_error)?
        {
            return Ok(guard);
        }
        if let Ok(pid_stat) = rustix::fs::lstat(params.pid_file) {
            guard.refuse_if_pid_file(FileId::of(&pid_stat))?;
        }
        if lock_within(guard.fd.as_fd(), &guard.deadline).map_err(lock_error)? {
            return Ok(guard);
        }
        Err(Error::new(Message::GuardTimeout, Subject::GuardFile).with_duration(params.timeout))
    }

    /// Performs the action of the params the guard was taken for (see
    /// [`control`](super::control)): its status, and the daemon's PID as it saw it.
    /// What the action is done with goes to `held`.
    pub(crate) fn act(&self, held: &mut Held) -> Result<(Status, Option<Pid>)> {
        crate::failpoint::hit("control-guard-held");
        // STOP waits on and empties the file through the descriptor of this look.
        let for_writing = matches!(self.params.action, Action::Stop | Action::Restart);
        let (inspection, inspected) = pidfile::inspect_with(self.params.pid_file, for_writing)?;
        if inspection.state != PidState::Absent {
            self.refuse_if_pid_file(inspection.file)?;
        }
        super::act(self.params, &self.deadline, inspection, inspected, held)
    }

    /// The locked descriptor: the lock lasts as long as it is open.
    pub(crate) fn into_fd(self) -> OwnedFd {
        self.fd
    }

    fn refuse_if_pid_file(&self, pid_file: FileId) -> Result<()> {
        if pid_file == self.file {
            return Err(Error::new(
                Message::RefuseGuardIsPidFile,
                Subject::GuardFile,
            ));
        }
        Ok(())
    }
}
