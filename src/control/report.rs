//! CHECK with everything a program may want to know about the daemon
//! ([`report`](super::report): `ucw-daemon-control --check --json`): the state, the PID, since
//! when the holder runs, and what its supervisor publishes in its status file.
//!
//! `since` is read through the identity rule (docs/design.md §3): the PID file's number gets
//! a pidfd, the lock proof finds that process in `/proc` and sees it hold the lock, and its
//! start time is read through the `/proc/<n>` directory the proof opened, so it is never a
//! recycled number's. The status file (`status.rs`) is believed only when its supervisor PID
//! and start time are those of that proven holder.
//!
//! This file owns that gathering. It must never fail over what it cannot know (that is
//! `None`), never signal or write anything, and never report a status file it has not matched
//! to the proven holder.

use super::procfs::{read_field, start_time, FIELD};
use super::proof::{lock_of, prove, Proof};
use super::status::StatusFile;
use super::{Outcome, Params, Status};
use crate::pidfile;
use crate::signal::Signal;
use crate::text::parse_decimal;
use rustix::fd::AsFd;
use rustix::fs::OFlags;
use rustix::process::Pid;

/// The daemon's state as a report names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DaemonState {
    /// The PID file is locked and names a PID (CHECK: 0).
    Running,
    /// The PID file is locked and names no PID yet, or no longer (starting or stopping;
    /// CHECK: 0).
    Starting,
    /// No PID file, or an empty unlocked one (CHECK: 101).
    NotRunning,
    /// An unlocked PID file with content: the daemon died without cleaning up (CHECK: 103).
    Stale,
}

/// How the supervisor's program last ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LastExit {
    /// It exited with this status.
    Code(u8),
    /// A signal killed it.
    Signal(Signal),
}

/// What [`report`](super::report) found. Everything that could not be known is `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report {
    /// The state.
    pub state: DaemonState,
    /// The PID the PID file names (running only).
    pub pid: Option<Pid>,
    /// When that process started, in seconds since the Unix epoch (`/proc/<n>/stat`'s start
    /// time over the boot time of `/proc/stat`), once the lock proof has shown it holds the
    /// lock.
    pub since: Option<u64>,
    /// From the supervisor's status file (`ucw-daemonize`), when it matches the holder: the
    /// program's PID.
    pub program_pid: Option<u32>,
    /// How many times the program has been started again (`--respawn`).
    pub restarts: Option<u32>,
    /// How the program last ended (after a respawn).
    pub last_exit: Option<LastExit>,
    /// Whether the program has said it is ready (always, without a readiness protocol).
    pub ready: Option<bool>,
}

/// `USER_HZ`: the unit of `/proc`'s clock-tick fields on Linux (100 on every architecture
/// we build for; the kernel scales to it whatever its own tick rate).
const TICKS_PER_SECOND: u64 = 100;

/// The report on the daemon of `params.pid_file`, whose CHECK gave `outcome` (its guard
/// still held).
pub(super) fn gather(params: &Params<'_>, outcome: &Outcome) -> Report {
    let mut report = Report {
        state: match (outcome.status, outcome.pid) {
            (Status::Ok, Some(_)) => DaemonState::Running,
            (Status::Ok, None) => DaemonState::Starting,
            (Status::Stale, _) => DaemonState::Stale,
            _ => DaemonState::NotRunning,
        },
        pid: None,
        since: None,
        program_pid: None,
        restarts: None,
        last_exit: None,
        ready: None,
    };
    let Some(pid) = outcome.pid else {
        return report;
    };
    report.pid = Some(pid);
    let Some(started) = holder_start_time(params, pid) else {
        return report;
    };
    report.since = boot_time().map(|boot| boot + started / TICKS_PER_SECOND);
    let status = StatusFile::read(params.pid_file)
        .filter(|status| status.supervisor() == Some((pid.as_raw_nonzero().get() as u32, started)));
    if let Some(status) = status {
        report.program_pid = status.number(b"program_pid");
        report.restarts = status.number(b"restarts");
        report.last_exit = status.last_exit();
        report.ready = status.number(b"ready").map(|ready| ready != 0);
    }
    report
}

/// The start time (clock ticks after boot) of `pid`, once the lock proof has shown that this
/// very process holds the PID file's lock; `None` when that cannot be shown.
fn holder_start_time(params: &Params<'_>, pid: Pid) -> Option<u64> {
    let fd = pidfile::open_file(params.pid_file, OFlags::RDONLY).ok()?;
    let stat = rustix::fs::fstat(&fd).ok()?;
    let lock = lock_of(fd.as_fd(), stat.st_ino).ok()??;
    match prove(pid, Some(&lock)).ok()? {
        Proof::Holder(target) => {
            let (process, _) = target.process.as_ref()?;
            start_time(process.as_fd())
        }
        _ => None,
    }
}

/// The boot time (`btime` of `/proc/stat`), in seconds since the Unix epoch.
fn boot_time() -> Option<u64> {
    let mut value = [0u8; FIELD];
    let btime = read_field(c"/proc/stat", b"btime ", &mut value).ok()??;
    parse_decimal(btime, u64::MAX)
}
