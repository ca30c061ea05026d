//! `--respawn[=always|on-failure]` (the `respawn` feature): when the program ends, the
//! supervisor — still holding the PID file's lock, so no second copy can start, and still
//! named by the PID file, so CHECK answers 0 and START 100 — ends what is left of that
//! incarnation's tree (the tree rules, docs/design.md §5), waits, and starts the program
//! again.
//!
//! The wait doubles after each death, from `--respawn-delay` up to `--respawn-max-delay`; a
//! program that ran for `--respawn-reset` starts the count and the delay afresh; after
//! `--respawn-max` deaths without such a reset the service ends with the program's last
//! status (the PID file emptied and unlocked: CHECK then answers 101). Once the supervisor has
//! received SIGTERM, SIGINT or SIGQUIT (forwarded or not) it starts nothing again: the
//! program's next end ends the service, and a stop during the wait ends it at once. Other
//! signals are forwarded to the program as always, and a death they cause is respawned; during
//! the wait there is no program to forward them to, and they are dropped (SIGUSR2 still
//! reopens `--log`'s file).
//!
//! This file owns the policy (when, how long) and the wait. It must never release the lock
//! or empty the PID file between incarnations, never start an incarnation before the last
//! one's tree has ended, and never wait on anything but the signals and the log's pipe.

use super::log::Log;
use super::readiness::Readiness;
use super::status_file::Program;
use super::supervisor::{Ended, Job, EXIT_CHILD_FAILED};
use super::tree::{self, Tree};
use crate::cli::daemonize::{Backoff, Respawn};
use core::time::Duration;
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fd::AsFd;
use rustix::process::Pid;
use ucw_daemon::daemon::Running;
use ucw_daemon::signal::{Signal, Signals};

/// The respawn policy's state; times in nanoseconds (plain integers: `Duration`'s checked
/// arithmetic costs its panics' code).
pub(super) struct Respawner {
    when: Respawn,
    /// `--respawn-delay`, `--respawn-max-delay`, `--respawn-reset`.
    first_delay: u64,
    max_delay: u64,
    reset: u64,
    /// `--respawn-max`.
    max: u32,
    /// The next wait.
    delay: u64,
    /// Deaths since the start or the last reset.
    deaths: u32,
    /// When the running incarnation started (monotonic).
    started: u64,
}

impl Respawner {
    /// The policy of `--respawn`; `None` without it (or without the feature).
    pub(super) fn new(when: Respawn, backoff: Backoff) -> Option<Self> {
        if !cfg!(feature = "respawn") || when == Respawn::Never {
            return None;
        }
        let nanoseconds = |duration: Duration| {
            duration
                .as_secs()
                .saturating_mul(NANOSECONDS)
                .saturating_add(u64::from(duration.subsec_nanos()))
        };
        let max_delay = nanoseconds(backoff.max_delay);
        let first_delay = nanoseconds(backoff.delay).min(max_delay);
        Some(Self {
            when,
            first_delay,
            max_delay,
            reset: nanoseconds(backoff.reset),
            max: backoff.max,
            delay: first_delay,
            deaths: 0,
            started: now(),
        })
    }

    /// An incarnation has started.
    pub(super) fn started(&mut self) {
        self.started = now();
    }

    /// The program ended as `ended`; `stop` says whether a stop signal has arrived. Returns
    /// how long to wait before the next incarnation, or `None` when the service ends.
    pub(super) fn after(&mut self, ended: Ended, stop: bool) -> Option<u64> {
        if stop || (self.when == Respawn::OnFailure && matches!(ended, Ended::Exited(0))) {
            return None;
        }
        if now().saturating_sub(self.started) >= self.reset {
            self.deaths = 0;
            self.delay = self.first_delay;
        }
        self.deaths = self.deaths.saturating_add(1);
        if self.max != 0 && self.deaths >= self.max {
            return None;
        }
        let pause = self.delay;
        self.delay = self.delay.saturating_mul(2).min(self.max_delay);
        Some(pause)
    }
}

/// Waits `pause` nanoseconds between incarnations, reading the signals (a stop signal ends
/// the wait and the service: `false`) and the log's pipe (what the ended incarnation's
/// leftovers wrote).
pub(super) fn wait(signals: &Signals, mut log: Option<&mut Log<'_>>, pause: u64) -> bool {
    let end = now().saturating_add(pause);
    loop {
        let left = end.saturating_sub(now());
        if left == 0 {
            return true;
        }
        let timeout = Timespec {
            tv_sec: (left / NANOSECONDS) as i64,
            tv_nsec: (left % NANOSECONDS) as i64,
        };
        let mut fds = [
            PollFd::new(signals, PollFlags::IN),
            PollFd::from_borrowed_fd(
                log.as_ref().map_or(signals.as_fd(), |log| log.reader()),
                PollFlags::IN,
            ),
        ];
        let count = if log.is_some() { 2 } else { 1 };
        if rustix::event::poll(&mut fds[..count], Some(&timeout)).is_err() {
            continue;
        }
        let (signalled, logged) = (
            !fds[0].revents().is_empty(),
            count == 2 && !fds[1].revents().is_empty(),
        );
        if let (true, Some(log)) = (logged, log.as_mut()) {
            let _ = log.pump();
        }
        if !signalled {
            continue;
        }
        match signals.read() {
            Ok(Some((signal, _))) if tree::is_stop(signal) => return false,
            Ok(Some((signal, _))) if signal == Signal::CHLD => {
                let _ = tree::reap_all();
            }
            Ok(Some((signal, _))) if signal.number() == linux_raw_sys::general::SIGUSR2 => {
                if let Some(log) = log.as_mut() {
                    log.reopen();
                }
            }
            _ => {}
        }
    }
}

/// Nanoseconds in a second.
const NANOSECONDS: u64 = 1_000_000_000;

/// Monotonic time in nanoseconds (zero if the clock cannot be read, which a real system call
/// never refuses).
fn now() -> u64 {
    let time = crate::rt::monotonic_time();
    time.as_secs()
        .saturating_mul(NANOSECONDS)
        .saturating_add(u64::from(time.subsec_nanos()))
}

/// What follows a death under `--respawn`.
pub(super) enum Next {
    /// A new incarnation runs: its readiness channel and its PID.
    Run(Readiness, Pid),
    /// The service ends, with this last status.
    End(Ended),
}

impl Job<'_> {
    /// The program ended as `ended` (`stop`: a stop signal has arrived): records it, and
    /// unless the policy or a stop says the service ends, ends that incarnation's tree, waits
    /// and starts the next one (a start that fails counts as a death, status 127).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn again(
        &self,
        respawner: &mut Respawner,
        mut ended: Ended,
        mut stop: bool,
        tree: &mut Tree<'_>,
        signals: &Signals,
        running: &Running,
        mut log: Option<&mut Log<'_>>,
        program: &mut Program,
    ) -> Next {
        loop {
            program.ended(ended);
            let Some(pause) = respawner.after(ended, stop) else {
                self.write_status(tree, program);
                return Next::End(ended);
            };
            // The tree rules for this incarnation; the lock stays, the PID file names us.
            stop |= tree.end_keeping_cgroup(signals, self.kill_tree_after);
            self.write_status(tree, program);
            if stop || !wait(signals, log.as_deref_mut(), pause) {
                return Next::End(ended);
            }
            program.restarts = program.restarts.saturating_add(1);
            let started = self.readiness().and_then(|(readiness, notify)| {
                let output = log.as_ref().map(|log| log.writer());
                let child =
                    self.fork_program(running, self.foreground, output, notify, tree.supervisor())?;
                Ok((readiness, child))
            });
            match started {
                Ok((readiness, child)) => {
                    respawner.started();
                    program.pid = Some(child.as_raw_nonzero().get() as u32);
                    program.ready = readiness.fd().is_none();
                    self.write_status(tree, program);
                    return Next::Run(readiness, child);
                }
                Err(_) => ended = Ended::Exited(EXIT_CHILD_FAILED),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoff(max: u32) -> Backoff {
        Backoff {
            delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(800),
            reset: Duration::from_secs(60),
            max,
        }
    }

    const MS: u64 = 1_000_000;

    #[test]
    fn the_wait_doubles_up_to_the_cap_and_gives_up_after_max_deaths() {
        let mut respawner = Respawner::new(Respawn::Always, backoff(7)).unwrap();
        let waits: Vec<_> = (0..7)
            .map(|_| respawner.after(Ended::Exited(3), false))
            .collect();
        let expected = [100, 200, 400, 800, 800, 800].map(|ms| Some(ms * MS));
        assert_eq!(&waits[..6], &expected);
        assert_eq!(waits[6], None, "the seventh death ends the service");
    }

    #[test]
    fn a_long_run_resets_the_count_and_the_delay() {
        let mut respawner = Respawner::new(Respawn::Always, backoff(3)).unwrap();
        assert_eq!(respawner.after(Ended::Killed(9), false), Some(100 * MS));
        assert_eq!(respawner.after(Ended::Killed(9), false), Some(200 * MS));
        // The next incarnation ran for longer than --respawn-reset.
        respawner.started = now().saturating_sub(61 * 1000 * MS);
        assert_eq!(respawner.after(Ended::Killed(9), false), Some(100 * MS));
        // The following ones die at once again.
        respawner.started();
        assert_eq!(respawner.after(Ended::Killed(9), false), Some(200 * MS));
        respawner.started();
        assert_eq!(respawner.after(Ended::Killed(9), false), None);
    }

    #[test]
    fn a_stop_a_clean_exit_on_failure_and_never_end_it() {
        let mut always = Respawner::new(Respawn::Always, backoff(0)).unwrap();
        assert_eq!(always.after(Ended::Exited(0), true), None);
        let mut on_failure = Respawner::new(Respawn::OnFailure, backoff(0)).unwrap();
        assert_eq!(on_failure.after(Ended::Exited(0), false), None);
        assert_eq!(on_failure.after(Ended::Exited(1), false), Some(100 * MS));
        assert!(Respawner::new(Respawn::Never, backoff(0)).is_none());
        // --respawn-max 0: never gives up.
        for _ in 0..1000 {
            assert!(always.after(Ended::Killed(6), false).is_some());
        }
    }

    #[test]
    fn a_first_delay_above_the_cap_is_the_cap() {
        let mut respawner = Respawner::new(
            Respawn::Always,
            Backoff {
                delay: Duration::from_secs(5),
                ..backoff(0)
            },
        )
        .unwrap();
        assert_eq!(respawner.after(Ended::Exited(1), false), Some(800 * MS));
    }
}
