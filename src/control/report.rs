//! CHECK in full (`Params::report`, `--check --json`): besides status and PID, since when the
//! holder runs and what its supervisor's status file says.
//!
//! `since` follows the identity rule (docs/design.md §3); the status file (`status.rs`) is believed
//! only when its supervisor PID and start time are the proven holder's.
//!
//! This file owns that gathering. It must never fail over what it cannot know (`None`), signal or
//! write anything, or report an unmatched status file.

use super::procfs::{read_field, start_time, FIELD};
use super::proof::{lock_of, prove, Proof};
use super::status::StatusFile;
use super::{Outcome, Params};
use crate::pidfile;
use crate::text::parse_decimal;
use rustix::fd::AsFd;
use rustix::fs::OFlags;
use rustix::process::Pid;

/// `USER_HZ`, the unit of `/proc`'s tick fields (100 on every architecture we build for).
const TICKS_PER_SECOND: u64 = 100;

/// Fills `outcome`'s report fields (CHECK's, guard still held).
pub(super) fn gather(params: &Params<'_>, outcome: &mut Outcome) {
    let Some(pid) = outcome.pid else {
        return;
    };
    let Some(started) = holder_start_time(params, pid) else {
        return;
    };
    outcome.since = boot_time().map(|boot| boot + started / TICKS_PER_SECOND);
    let status = StatusFile::read(params.pid_file)
        .filter(|status| status.supervisor() == Some((pid.as_raw_nonzero().get() as u32, started)));
    if let Some(status) = status {
        outcome.program_pid = status.number(b"program_pid");
        outcome.restarts = status.number(b"restarts");
        match status.last_exit() {
            Some(Ok(code)) => outcome.last_exit_code = Some(code),
            Some(Err(signal)) => outcome.last_exit_signal = Some(signal),
            None => {}
        }
        outcome.ready = status.number(b"ready").map(|ready| ready != 0);
    }
}

/// `pid`'s start time (ticks after boot), once the proof shows it holds the lock; else `None`.
fn holder_start_time(params: &Params<'_>, pid: Pid) -> Option<u64> {
    let fd = pidfile::open_file(params.pid_file, OFlags::RDONLY).ok()?;
    let stat = rustix::fs::fstat(&fd).ok()?;
    let lock = lock_of(fd.as_fd(), stat.st_ino).ok()?.lock?;
    match prove(pid, Some(&lock), params.pid_file).ok()? {
        Proof::Holder(target) => {
            let (process, _) = target.process.as_ref()?;
            start_time(process.as_fd(), target.stat_path())
        }
        _ => None,
    }
}

/// `btime` of `/proc/stat`: boot time in seconds since the epoch.
fn boot_time() -> Option<u64> {
    let mut value = [0u8; FIELD];
    let btime = read_field(c"/proc/stat", b"btime ", &mut value).ok()??;
    parse_decimal(btime, u64::MAX)
}
