//! The guard file (docs/design.md §3): the lock every controller takes before looking at the PID
//! file.
//!
//! This file owns opening, checking and locking the guard, the rule that it is never the PID file,
//! and CHECK's read-only way. It must never write the guard file, wait past the action's deadline,
//! or let an action other than CHECK go on without the guard held exclusively.

use super::deadline::{flock_within, Deadline};
use super::{Action, Held, Params, Status};
use crate::error::{Error, Message, Result, Subject};
use crate::pidfile::{self, FileId, Owner, PidState};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{FlockOperation, OFlags};
use rustix::io::Errno;
use rustix::process::Pid;

/// The guard file, locked for its params' action. Dropping releases it; [`Guard::into_fd`] hands
/// the lock on (to an [`Outcome`](super::Outcome)).
#[must_use = "the guard serialises controllers only while it is held"]
pub(crate) struct Guard<'p> {
    /// The locked guard; `None` for CHECK's snapshot (no guard could be opened).
    fd: Option<OwnedFd>,
    file: FileId,
    params: &'p Params<'p>,
    deadline: Deadline,
}

impl<'p> Guard<'p> {
    /// Opens (creating, `0600`), checks and locks the guard file within `params.timeout`, which
    /// starts the action's deadline. A guard that is the PID file's inode is refused (checked
    /// before any wait).
    ///
    /// CHECK, when the guard cannot be opened read-write (EROFS, EACCES, EPERM), locks an existing
    /// one shared through a read-only descriptor; with no guard at all, it goes on without one
    /// (docs/design.md §3, [`Guard::is_snapshot`]).
    pub(crate) fn take(params: &'p Params<'p>) -> Result<Self> {
        let deadline = Deadline::start(params.timeout);
        let read_only = OFlags::RDONLY;
        let mut flags = OFlags::RDWR | OFlags::CREATE;
        let mut guard = Guard {
            fd: None,
            file: FileId::default(),
            params,
            deadline,
        };
        loop {
            match pidfile::open_file(params.guard_file, flags) {
                Ok(fd) => {
                    guard.file = FileId::of(&pidfile::check_opened(
                        fd.as_fd(),
                        Subject::GuardFile,
                        Owner::RootOrUs,
                    )?);
                    guard.fd = Some(fd);
                    break;
                }
                Err(Errno::ROFS | Errno::ACCESS | Errno::PERM)
                    if params.action == Action::Check && flags != read_only =>
                {
                    flags = read_only
                }
                // No guard can be opened at all: CHECK's snapshot.
                Err(Errno::NOENT | Errno::ACCESS | Errno::PERM) if flags == read_only => {
                    return Ok(guard)
                }
                Err(errno) => return Err(pidfile::open_error(Subject::GuardFile, errno)),
            }
        }
        guard.lock(flags == read_only)?;
        Ok(guard)
    }

    /// Takes the lock, shared (CHECK's read-only descriptor) or exclusive, within the deadline.
    fn lock(&self, shared: bool) -> Result<()> {
        let Some(fd) = self.fd.as_ref().map(AsFd::as_fd) else {
            return Ok(());
        };
        let (blocking, once) = if shared {
            (
                FlockOperation::LockShared,
                FlockOperation::NonBlockingLockShared,
            )
        } else {
            (
                FlockOperation::LockExclusive,
                FlockOperation::NonBlockingLockExclusive,
            )
        };
        let lock_error = |errno| Error::system(Message::Lock, Subject::GuardFile, errno);
        if pidfile::lock(fd, once).map_err(lock_error)? {
            return Ok(());
        }
        if let Ok(pid_stat) = rustix::fs::lstat(self.params.pid_file) {
            self.refuse_if_pid_file(FileId::of(&pid_stat))?;
        }
        if flock_within(fd, &self.deadline, blocking, once).map_err(lock_error)? {
            return Ok(());
        }
        Err(Error::new(Message::GuardTimeout, Subject::GuardFile)
            .with_duration(self.params.timeout))
    }

    /// Whether this CHECK has no guard: its look is a snapshot.
    pub(crate) fn is_snapshot(&self) -> bool {
        self.fd.is_none()
    }

    /// Performs the params' action: its status and the PID seen; what it used goes to `held`.
    pub(crate) fn act(&self, held: &mut Held) -> Result<(Status, Option<Pid>)> {
        crate::failpoint::hit("control-guard-held");
        // STOP waits on and empties the file through this look's descriptor.
        let for_writing = matches!(self.params.action, Action::Stop | Action::Restart);
        let (inspection, inspected) = pidfile::inspect_with(self.params.pid_file, for_writing)?;
        if inspection.state != PidState::Absent {
            self.refuse_if_pid_file(inspection.file)?;
        }
        super::act(self.params, &self.deadline, inspection, inspected, held)
    }

    /// The locked descriptor (`None` for a snapshot); the lock lasts while it is open.
    pub(crate) fn into_fd(self) -> Option<OwnedFd> {
        self.fd
    }

    fn refuse_if_pid_file(&self, pid_file: FileId) -> Result<()> {
        if self.fd.is_some() && pid_file == self.file {
            return Err(Error::new(
                Message::RefuseGuardIsPidFile,
                Subject::GuardFile,
            ));
        }
        Ok(())
    }
}
