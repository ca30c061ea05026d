//! What STOP's escalation (`--kill-after-timeout`) ends besides the named daemon's group
//! (docs/design.md §3 "Escalation on BUSY", §5 "The limit"): its session, the lock's other holders,
//! a trusted `ucw-daemonize --cgroup` status file's cgroup, and the holders of a PID file left BUSY
//! by a SIGKILLed supervisor.
//!
//! This file owns those decisions, under the identity rule (docs/design.md §3). A session is the
//! daemon's only when the daemon leads it or a proven holder is in it. It must never kill the
//! cgroup of an untrusted status file.

use super::deliver::{self, Delivered, ToHolders};
use super::procfs::start_time;
use super::proof::{proc_is_ours, prove, LockId, Proof};
use super::status::{kill_cgroup, StatusFile};
use super::Params;
use crate::error::Result;
use crate::signal::Signal;
use rustix::fd::AsFd;
use rustix::process::Pid;

/// The status file, when its supervisor is the named process (same PID and start time). Read before
/// the kill.
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

/// After the named groups' SIGKILL: the rest of the session, and a trusted status file's cgroup.
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

/// STOP's escalation on a BUSY PID file: a live supervisor holding it is killed with its group and
/// session; a gone one's session holders with theirs; then every remaining proven holder alone.
/// Returns whether any was found; `lock` is `None` without `/proc`.
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
                // Someone else has that number: the file is not about this lock.
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
    // Any session: each holder alone, never its group (which may be anyone's).
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
