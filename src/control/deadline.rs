//! An action's one deadline (docs/design.md §3) and the waits it bounds.
//!
//! This file owns time: the monotonic clock through a real system call ([`sys::monotonic_time`],
//! not rustix's vDSO, which needs the auxv) and relative timeouts only. It must never wait past the
//! deadline, nor for a zero one beyond one last look.

use crate::pidfile;
use crate::sys;
use core::time::Duration;
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fd::BorrowedFd;
use rustix::fs::FlockOperation;
use rustix::io::Errno;

/// A time limit from an action's start; no limit waits as long as it takes.
pub(crate) struct Deadline {
    limit: Option<Duration>,
    start: Duration,
}

/// First pause of a backoff loop; each pause doubles up to [`LONGEST_PAUSE`].
pub(crate) const FIRST_PAUSE: Duration = Duration::from_millis(1);
/// Longest backoff pause (how late a poller may see a released lock).
const LONGEST_PAUSE: Duration = Duration::from_millis(50);

impl Deadline {
    /// A deadline `limit` from now (`None`: none).
    pub(crate) fn start(limit: Option<Duration>) -> Self {
        let start = match limit {
            Some(_) => sys::monotonic_time().unwrap_or(Duration::ZERO),
            None => Duration::ZERO,
        };
        Self { limit, start }
    }

    /// An already passed deadline (one look, no wait).
    pub(crate) fn now() -> Self {
        Self {
            limit: Some(Duration::ZERO),
            start: Duration::ZERO,
        }
    }

    /// Whether there is a limit at all.
    pub(crate) fn is_limited(&self) -> bool {
        self.limit.is_some()
    }

    /// Time left; `None` when there is no deadline.
    pub(crate) fn remaining(&self) -> Option<Duration> {
        let limit = self.limit?;
        if limit.is_zero() {
            // One look ([`Deadline::now`]): no clock needed.
            return Some(Duration::ZERO);
        }
        let now = sys::monotonic_time().unwrap_or(self.start);
        Some(limit.saturating_sub(now.saturating_sub(self.start)))
    }

    /// Sleeps the next backoff step (never past the deadline); `false` once it has passed.
    pub(crate) fn pause(&self, step: &mut Duration) -> bool {
        let mut sleep = *step;
        if let Some(remaining) = self.remaining() {
            if remaining.is_zero() {
                return false;
            }
            sleep = sleep.min(remaining);
        }
        let _ = rustix::thread::nanosleep(&timespec(sleep));
        *step = (*step * 2).min(LONGEST_PAUSE);
        true
    }
}

fn timespec(duration: Duration) -> Timespec {
    Timespec {
        tv_sec: duration.as_secs() as i64,
        tv_nsec: duration.subsec_nanos() as i64,
    }
}

/// Waits until `fd` is readable; `Ok(false)` past the deadline.
pub(crate) fn wait_readable(fd: BorrowedFd<'_>, deadline: &Deadline) -> Result<bool, Errno> {
    loop {
        if let Some(readable) = poll_readable(fd, deadline.remaining())? {
            return Ok(readable);
        }
    }
}

/// One `ppoll` for `fd` to become readable within `timeout` (`None`: no limit); `None` after
/// EINTR.
pub(crate) fn poll_readable(
    fd: BorrowedFd<'_>,
    timeout: Option<Duration>,
) -> Result<Option<bool>, Errno> {
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    match rustix::event::poll(&mut fds, timeout.map(timespec).as_ref()) {
        Ok(count) => Ok(Some(count != 0)),
        Err(Errno::INTR) => Ok(None),
        Err(errno) => Err(errno),
    }
}

/// `flock(LOCK_EX)` within the deadline ([`flock_within`]).
pub(crate) fn lock_within(fd: BorrowedFd<'_>, deadline: &Deadline) -> Result<bool, Errno> {
    use FlockOperation::{LockExclusive, NonBlockingLockExclusive};
    flock_within(fd, deadline, LockExclusive, NonBlockingLockExclusive)
}

/// `blocking` without a deadline, else `once` (non-blocking) with backoff and one last try;
/// `Ok(false)` past it.
pub(crate) fn flock_within(
    fd: BorrowedFd<'_>,
    deadline: &Deadline,
    blocking: FlockOperation,
    once: FlockOperation,
) -> Result<bool, Errno> {
    if !deadline.is_limited() {
        return pidfile::lock(fd, blocking);
    }
    let mut step = FIRST_PAUSE;
    loop {
        if pidfile::lock(fd, once)? {
            return Ok(true);
        }
        if !deadline.pause(&mut step) {
            return pidfile::lock(fd, once);
        }
    }
}
