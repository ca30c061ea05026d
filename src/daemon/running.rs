//! What the daemon's body holds while it runs ([`Running`]): the locked PID file, and for
//! [`Daemon::run_until_ready`](super::Daemon::run_until_ready)(super::Daemon::run_until_ready) the channel on which the
//! launcher waits to hear that the daemon is ready.
//!
//! This file owns the body's side of the protocol: readiness, a failed start, and the end
//! (LibUCW's `daemon_exit`). It must never unlink the PID file (a second starter would lock a
//! fresh inode while the daemon still runs), and never release the lock from a process the
//! daemon forked (only the daemon itself empties and unlocks it).

use super::channel::{send_byte, send_failure, REPORT_OK};
use crate::error::{Error, Result};
use crate::pidfile::PidFile;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::process::Pid;

/// What the body receives: the PID file (locked, containing the daemon's PID) and, for
/// [`Daemon::run_until_ready`](super::Daemon::run_until_ready), the channel on which the launcher awaits [`Running::ready`].
///
/// End with [`Running::exit`]. Dropping it in the daemon process does the same (empties the
/// PID file and releases its lock); a copy dropped in a process the daemon forked does
/// nothing.
#[must_use = "the daemon's PID file stays locked while Running lives"]
pub struct Running {
    pub(super) pid_file: Option<PidFile>,
    pub(super) channel: Option<OwnedFd>,
    /// The daemon's PID, in the daemon; `None` when simulated.
    pub(super) daemon: Option<Pid>,
}

impl Running {
    /// The read-only descriptor that holds the PID file's lock (none without a PID file or
    /// when simulated); close-on-exec. A program this process forks or execs may be given it
    /// (clear close-on-exec for one that replaces this process, `fcntl_setfd`): it can never
    /// write the file through it, and it is "running" for as long as a process holds it.
    pub fn lock_fd(&self) -> Option<BorrowedFd<'_>> {
        self.pid_file.as_ref().map(PidFile::lock_fd)
    }

    /// The channel to a launcher in [`Daemon::run_until_ready`](super::Daemon::run_until_ready) that still waits for
    /// [`Running::ready`]: it becomes readable (end of file) if the launcher dies or gives
    /// up, which a daemon may watch for.
    pub fn launcher(&self) -> Option<BorrowedFd<'_>> {
        self.channel.as_ref().map(AsFd::as_fd)
    }

    /// Tells a launcher in [`Daemon::run_until_ready`](super::Daemon::run_until_ready) that the daemon is ready (a positive
    /// byte, then the channel is closed). Does nothing otherwise, or a second time.
    pub fn ready(&mut self) {
        if let Some(channel) = self.channel.take() {
            let _ = send_byte(channel.as_fd(), REPORT_OK);
        }
    }

    /// The daemon could not start: empties the PID file and releases its lock, then sends
    /// `error` to a launcher in [`Daemon::run_until_ready`](super::Daemon::run_until_ready), which returns it. The body
    /// should exit next.
    pub fn report_failure(mut self, error: &Error) {
        if let Some(pid_file) = self.pid_file.take() {
            let _ = pid_file.release();
        }
        if let Some(channel) = self.channel.take() {
            let _ = send_failure(channel.as_fd(), error);
        }
    }

    /// The daemon's work is over, but it is not gone yet (it still ends the processes it
    /// started): empties the PID file and keeps its lock, so that controllers see a daemon
    /// stopping (BUSY: a START waits, a STOP waits for the lock), neither a running one nor
    /// a stopped one. [`Running::exit`] then unlocks it. Does nothing without a PID file.
    pub fn stopping(&self) -> Result<()> {
        match &self.pid_file {
            Some(pid_file) => pid_file.clear(),
            None => Ok(()),
        }
    }

    /// Releases the PID file as the daemon ends (LibUCW's `daemon_exit`): empties it, then
    /// unlocks it (`LOCK_UN`, so processes the daemon forked that still hold the descriptor
    /// do not keep it "running"). The file is never unlinked: a second starter could
    /// otherwise lock a new inode while this daemon still runs.
    pub fn exit(mut self) -> Result<()> {
        match self.pid_file.take() {
            Some(pid_file) => pid_file.release(),
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    /// In the daemon itself, as [`Running::exit`]; in any other process, nothing.
    fn drop(&mut self) {
        if let (Some(pid_file), Some(daemon)) = (self.pid_file.take(), self.daemon) {
            if rustix::process::getpid() == daemon {
                let _ = pid_file.release();
            } else {
                // A forked copy: the descriptors close, the lock and content stay.
                drop(pid_file);
            }
        }
    }
}
