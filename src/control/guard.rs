//! The guard file (docs/design.md §3): the lock every controller takes before it looks at the
//! PID file, so that no two controllers act on the daemon at once.
//!
//! This file owns opening, checking and locking the guard, the rule that it must never be
//! the PID file itself (locking that would look like a running daemon to everyone), and
//! CHECK's read-only way: where the guard cannot be opened for writing for a reason the
//! caller cannot fix (a read-only mount, a directory or file of another user), CHECK takes
//! an existing guard's lock shared through a read-only descriptor, and only when no guard
//! can be opened at all does it look at the PID file without one (a snapshot). It must
//! never write the guard file, never wait for its lock longer than the action's deadline,
//! and never let an action other than CHECK go on without the guard held exclusively.

use super::deadline::{flock_within, Deadline};
use super::{Action, Held, Params, Status};
use crate::error::{Error, Message, Result, Subject};
use crate::pidfile::{self, FileId, Owner, PidState};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{FlockOperation, OFlags};
use rustix::io::Errno;
use rustix::process::Pid;

/// The guard file, locked for the action of the params it was taken for: while it is held
/// no other controller acts on the daemon. Dropping it releases it; [`Guard::into_fd`] hands
/// the locked descriptor on (to an [`Outcome`](super::Outcome)).
#[must_use = "the guard serialises controllers only while it is held"]
pub(crate) struct Guard<'p> {
    /// The locked guard; `None` for CHECK's snapshot (no guard could be opened).
    fd: Option<OwnedFd>,
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
    ///
    /// CHECK, where the guard cannot be opened read-write for a reason the caller cannot fix
    /// (EROFS: a read-only mount; EACCES: a directory or guard of another user; EPERM: a
    /// security module; never ELOOP, a symbolic link, nor ENOENT, a missing directory), opens
    /// an existing guard read-only (with the same checks) and takes its lock shared: it still
    /// waits for a START or STOP in progress, and many CHECKs may look at once. When no guard
    /// can be opened at all (missing, unreadable), CHECK goes on without one: its look at the
    /// PID file is a snapshot ([`Guard::is_snapshot`]).
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

    /// Takes the guard's lock, shared (a CHECK's read-only descriptor) or exclusive, within
    /// the deadline.
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

    /// Whether this CHECK goes on without a guard (none could be opened): its look at the PID
    /// file is a snapshot, which can see a START about to fail as running, or a daemon that
    /// has just died as stale before its STOP empties the file.
    pub(crate) fn is_snapshot(&self) -> bool {
        self.fd.is_none()
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

    /// The locked descriptor (`None` for a snapshot): the lock lasts as long as it is open.
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
