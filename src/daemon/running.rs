//! What the daemon's body holds ([`Running`]): the locked PID file and the launcher's readiness
//! channel.
//!
//! This file owns the body's side of the protocol: readiness, a failed start, and the end (LibUCW's
//! `daemon_exit`). It must never unlink the PID file, nor release the lock from a process the
//! daemon forked.

use super::channel::{send_byte, send_failure, REPORT_OK};
use crate::error::{Error, Result};
use crate::pidfile::PidFile;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::process::Pid;

/// What the body receives: the locked PID file holding the daemon's PID and, for
/// [`Daemon::run_until_ready`](super::Daemon::run_until_ready), the launcher's channel. End with
/// [`Running::exit`] (dropping it in the daemon does the same; elsewhere, nothing).
#[must_use = "the daemon's PID file stays locked while Running lives"]
pub struct Running {
    pub(super) pid_file: Option<PidFile>,
    pub(super) channel: Option<OwnedFd>,
    /// The daemon's PID, in the daemon; `None` when simulated.
    pub(super) daemon: Option<Pid>,
}

impl Running {
    /// The read-only, close-on-exec descriptor holding the PID file's lock (none without a PID file
    /// or when simulated). A program given it cannot write the file, and keeps the daemon "running"
    /// while it holds it.
    pub fn lock_fd(&self) -> Option<BorrowedFd<'_>> {
        self.pid_file.as_ref().map(PidFile::lock_fd)
    }

    /// The channel to a launcher still waiting for [`Running::ready`]: end of file if it dies or
    /// gives up.
    pub fn launcher(&self) -> Option<BorrowedFd<'_>> {
        self.channel.as_ref().map(AsFd::as_fd)
    }

    /// Tells a launcher in [`Daemon::run_until_ready`](super::Daemon::run_until_ready) the daemon
    /// is ready; otherwise, or again, nothing.
    pub fn ready(&mut self) {
        if let Some(channel) = self.channel.take() {
            let _ = send_byte(channel.as_fd(), REPORT_OK);
        }
    }

    /// The daemon could not start: empties and unlocks the PID file, and sends `error` to a
    /// launcher in [`Daemon::run_until_ready`](super::Daemon::run_until_ready). The body should
    /// exit next.
    pub fn report_failure(mut self, error: &Error) {
        if let Some(pid_file) = self.pid_file.take() {
            let _ = pid_file.release();
        }
        if let Some(channel) = self.channel.take() {
            let _ = send_failure(channel.as_fd(), error);
        }
    }

    /// The daemon is ending its processes: empties the PID file but keeps the lock (BUSY) until
    /// [`Running::exit`].
    pub fn stopping(&self) -> Result<()> {
        match &self.pid_file {
            Some(pid_file) => pid_file.clear(),
            None => Ok(()),
        }
    }

    /// Releases the PID file as the daemon ends (LibUCW's `daemon_exit`): empties it, then
    /// `LOCK_UN` for every process holding it. Never unlinked.
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
