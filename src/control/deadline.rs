//! The one deadline of an action (docs/design.md §3) and the waits it bounds: a descriptor
//! becoming readable (a pidfd, a pipe), a lock becoming free, a backoff pause.
//!
//! This file owns how time is measured and slept: the monotonic clock through a real system
//! call ([`sys::monotonic_time`]; rustix's goes through the vDSO, which it finds in the auxv)
//! and relative timeouts only (`ppoll`, `nanosleep`). It must never wait past the deadline,
//! and never wait at all for a zero one beyond one last look.

use crate::pidfile;
use crate::sys;
use core::time::Duration;
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fd::BorrowedFd;
use rustix::fs::FlockOperation;
use rustix::io::Errno;

/// A time limit measured from the start of an action; no limit waits as long as it takes.
pub(crate) struct Deadline {
    limit: Option<Duration>,
    start: Duration,
}

/// First pause of a backoff loop; each pause doubles up to [`LONGEST_PAUSE`].
pub(crate) const FIRST_PAUSE: Duration = Duration::from_millis(1);
/// Longest pause of a backoff loop (how late a poller may notice a released lock).
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

    /// A deadline that has already passed (for one look without waiting).
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
            // One look without waiting ([`Deadline::now`]): no clock needed.
            return Some(Duration::ZERO);
        }
        let now = sys::monotonic_time().unwrap_or(self.start);
        Some(limit.saturating_sub(now.saturating_sub(self.start)))
    }

    /// Sleeps for the next backoff step (never past the deadline); `false` when the
    /// deadline has already passed.
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

/// Waits until `fd` is readable (a pidfd: the process has exited; a pipe or socket: data or
/// end of file); `Ok(false)` when the deadline passes first.
pub(crate) fn wait_readable(fd: BorrowedFd<'_>, deadline: &Deadline) -> Result<bool, Errno> {
    loop {
        let timeout = deadline.remaining().map(timespec);
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        match rustix::event::poll(&mut fds, timeout.as_ref()) {
            Ok(0) => return Ok(false),
            Ok(_) => return Ok(true),
            Err(Errno::INTR) => {}
            Err(errno) => return Err(errno),
        }
    }
}

/// Waits until `fd` is readable for at most `limit` (one `ppoll`, again after EINTR);
/// `Ok(false)` when it passes first.
pub(crate) fn wait_readable_for(fd: BorrowedFd<'_>, limit: Duration) -> Result<bool, Errno> {
    let timeout = timespec(limit);
    loop {
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(0) => return Ok(false),
            Ok(_) => return Ok(true),
            Err(Errno::INTR) => {}
            Err(errno) => return Err(errno),
        }
    }
}

/// `flock(LOCK_EX)`: blocking without a deadline, else `LOCK_EX|LOCK_NB` with backoff until
/// the deadline, with one last try after it (`Ok(false)` then).
pub(crate) fn lock_within(fd: BorrowedFd<'_>, deadline: &Deadline) -> Result<bool, Errno> {
    use FlockOperation::{LockExclusive, NonBlockingLockExclusive};
    flock_within(fd, deadline, LockExclusive, NonBlockingLockExclusive)
}

/// [`lock_within`] for any lock: `blocking` without a deadline, else `once` (its
/// non-blocking form, such as `LOCK_SH|LOCK_NB` for the shared lock a reader may take on a
/// descriptor opened read-only) with backoff.
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
