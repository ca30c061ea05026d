//! CHECK with everything a program may want to know about the daemon (`Params::report`:
//! `ucw-daemon-control --check --json`): besides the status and the PID, since when the
//! holder runs, and what its supervisor publishes in its status file.
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
use super::{Outcome, Params};
use crate::pidfile;
use crate::text::parse_decimal;
use rustix::fd::AsFd;
use rustix::fs::OFlags;
use rustix::process::Pid;

/// `USER_HZ`: the unit of `/proc`'s clock-tick fields on Linux (100 on every architecture
/// we build for; the kernel scales to it whatever its own tick rate).
const TICKS_PER_SECOND: u64 = 100;

/// Fills the report fields of `outcome`, CHECK's on the daemon of `params.pid_file` (its
/// guard still held).
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

/// The start time (clock ticks after boot) of `pid`, once the lock proof has shown that this
/// very process holds the PID file's lock; `None` when that cannot be shown.
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

/// The boot time (`btime` of `/proc/stat`), in seconds since the Unix epoch.
fn boot_time() -> Option<u64> {
    let mut value = [0u8; FIELD];
    let btime = read_field(c"/proc/stat", b"btime ", &mut value).ok()??;
    parse_decimal(btime, u64::MAX)
}
