//! What STOP's escalation (`--kill-after-timeout`) ends besides the named daemon's process
//! group, so that an escalated stop leaves nothing of the daemon: the processes of the
//! daemon's session, the lock's other holders, and the cgroup a `ucw-daemonize --cgroup`
//! supervisor recorded in its status file (`status.rs`); and the one case the action table
//! cannot otherwise leave: a PID file that stays BUSY because a supervisor was SIGKILLed after
//! it emptied the file and before it unlocked it, its program's processes still holding the
//! lock (docs/design.md §3, §5).
//!
//! This file owns those decisions. Everything it signals is found under the identity rule
//! (docs/design.md §3): the named daemon through its pidfd, processes of a session through
//! the `/proc/<n>` directory the scan read (never a number), holders only once the lock was
//! seen among their descriptors. A session is the daemon's only when the daemon leads it
//! (its number is the session's; a session's number cannot be reused while a process is in
//! it) and, for a supervisor that is gone, when a proven holder of the lock is in it. It must
//! never kill the cgroup of a status file it does not trust.

use super::deliver::{self, Delivered, ToHolders};
use super::procfs::start_time;
use super::proof::{proc_is_ours, prove, LockId, Proof};
use super::status::{kill_cgroup, StatusFile};
use super::Params;
use crate::error::Result;
use crate::signal::Signal;
use rustix::fd::AsFd;
use rustix::process::Pid;

/// The status file, when it describes the daemon the escalation is about to kill: its
/// supervisor is the named process (same PID, same start time while it can still be looked
/// at). Read before the kill, while the supervisor lives.
pub(super) fn trusted_status(
    params: &Params<'_>,
    delivered: &Delivered,
    pid: Pid,
) -> Option<StatusFile> {
    let status = StatusFile::read(params.pid_file)?;
    let (supervisor, started) = status.supervisor()?;
    if supervisor != pid.as_raw_nonzero().get() as u32 {
        return None;
    }
    match delivered {
        Delivered::Named(target) => {
            let (process, _) = target.process.as_ref()?;
            (start_time(process.as_fd(), target.stat_path()) == Some(started)).then_some(status)
        }
        // Gone: the lock's holders in its session are what the file is about.
        Delivered::Others(_) => Some(status),
        Delivered::Exited => None,
    }
}

/// After the named daemon's group (and its holders' groups) got SIGKILL: the rest of the
/// daemon's session, and the cgroup of a trusted status file.
pub(super) fn kill_the_rest(delivered: &Delivered, status: Option<&StatusFile>) -> Result<()> {
    let session = match delivered {
        Delivered::Named(target) => target.proc_number(),
        Delivered::Others(session) => Some(*session),
        Delivered::Exited => None,
    };
    if let Some(session) = session {
        deliver::kill_session(session)?;
    }
    if let Some(cgroup) = status.and_then(StatusFile::cgroup) {
        kill_cgroup(cgroup);
    }
    Ok(())
}

/// STOP's escalation on a PID file that stayed BUSY: its holders. The status file names the
/// supervisor: alive and the proven holder, it is stopping slowly (its group and session are
/// killed); gone, its session's holders are its leftovers (their groups and the session are
/// killed). Then every proven holder of the lock left, in any session, is killed (itself
/// only): a leftover that called `setsid`, or any holder when there is no usable status file.
/// Returns whether any holder was found; `lock` is `None` without `/proc`, where nothing can
/// be proven.
pub(super) fn kill_busy(params: &Params<'_>, lock: Option<&LockId>) -> Result<bool> {
    let Some(lock) = lock else {
        return Ok(false);
    };
    let status = StatusFile::read(params.pid_file);
    let mut session = None;
    let mut trusted = false;
    if let Some((supervisor, started)) = status.as_ref().and_then(StatusFile::supervisor) {
        if let Some(pid) = Pid::from_raw(supervisor as i32) {
            match prove(pid, Some(lock), params.pid_file)? {
                Proof::Holder(target) => {
                    let (process, number) =
                        target.process.as_ref().map(|(dir, n)| (dir, *n)).unzip();
                    let path = target.stat_path();
                    if process.and_then(|dir| start_time(dir.as_fd(), path)) == Some(started) {
                        target.send_group(Signal::KILL)?;
                        session = number;
                        trusted = true;
                    }
                }
                Proof::Gone(number) => {
                    session = match number {
                        Some(number) => Some(number),
                        None if proc_is_ours()? == Some(true) => Some(supervisor),
                        None => None,
                    };
                }
                // Someone else has that number now: the file is not about this lock.
                Proof::NotHolding => {}
            }
        }
    }
    let mut found = u32::from(trusted);
    if let Some(session) = session {
        let holders =
            deliver::signal_others(Some(session), lock, params.pid_file, ToHolders::KillGroup)?;
        trusted |= holders > 0;
        found += holders;
        if trusted {
            deliver::kill_session(session)?;
        }
    }
    // Then any session (a leftover that called `setsid`, or no status file at all): each
    // holder alone, never its group (which may be anyone's, the caller's own included).
    found += deliver::signal_others(
        None,
        lock,
        params.pid_file,
        ToHolders::Signal(Signal::KILL, false),
    )?;
    if let (true, Some(cgroup)) = (trusted, status.as_ref().and_then(StatusFile::cgroup)) {
        kill_cgroup(cgroup);
    }
    Ok(found > 0)
}
