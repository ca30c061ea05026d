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

/// The respawn policy's state.
pub(super) struct Respawner {
    when: Respawn,
    backoff: Backoff,
    /// The next wait.
    delay: Duration,
    /// Deaths since the start or the last reset.
    deaths: u32,
    /// When the running incarnation started (monotonic).
    started: Duration,
}

impl Respawner {
    /// The policy of `--respawn`; `None` without it (or without the feature).
    pub(super) fn new(when: Respawn, backoff: Backoff) -> Option<Self> {
        if !cfg!(feature = "respawn") || when == Respawn::Never {
            return None;
        }
        Some(Self {
            when,
            backoff,
            delay: backoff.delay.min(backoff.max_delay),
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
    pub(super) fn after(&mut self, ended: Ended, stop: bool) -> Option<Duration> {
        if stop || (self.when == Respawn::OnFailure && matches!(ended, Ended::Exited(0))) {
            return None;
        }
        if now().saturating_sub(self.started) >= self.backoff.reset {
            self.deaths = 0;
            self.delay = self.backoff.delay.min(self.backoff.max_delay);
        }
        self.deaths += 1;
        if self.backoff.max != 0 && self.deaths >= self.backoff.max {
            return None;
        }
        let pause = self.delay;
        self.delay = (self.delay * 2).min(self.backoff.max_delay);
        Some(pause)
    }
}

/// Waits `pause` between incarnations, reading the signals (a stop signal ends the wait and
/// the service: `false`) and the log's pipe (what the ended incarnation's leftovers wrote).
pub(super) fn wait(signals: &Signals, mut log: Option<&mut Log<'_>>, pause: Duration) -> bool {
    let end = now() + pause;
    loop {
        let left = end.saturating_sub(now());
        if left.is_zero() {
            return true;
        }
        let timeout = Timespec {
            tv_sec: left.as_secs() as i64,
            tv_nsec: i64::from(left.subsec_nanos()),
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
            log.pump();
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

/// Monotonic time (zero if the clock cannot be read, which a real system call never refuses).
fn now() -> Duration {
    ucw_daemon::monotonic_time().unwrap_or(Duration::ZERO)
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
            program.pid = None;
            program.ready = false;
            program.last_exit = Some(match ended {
                Ended::Killed(signal) => (true, signal as u8),
                Ended::Exited(code) => (false, code as u8),
            });
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
                let child = self.fork_program(running, self.foreground, output, notify)?;
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
