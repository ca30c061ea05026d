//! The daemon-control protocol (docs/design.md §3): CHECK, START, STOP and SIGNAL on a
//! daemon identified by its PID file, serialised by a guard file.
//!
//! This module owns the action table's decisions; `guard`, `deadline`, `launch`, `deliver`
//! (the lock proof and the signal) and `stop` each do one step. It must never write the PID
//! file except to empty it after a confirmed stop, never hold it open while launching, never
//! signal a process not proven to hold the lock, and never change the caller's signal
//! dispositions.

mod deadline;
mod deliver;
mod guard;
mod holders;
mod launch;
mod leftovers;
mod procfs;
mod proof;
mod report;
mod status;
mod stop;

pub use crate::exec::StringList;

use crate::error::{Context, Error, Result, Subject};
use crate::pidfile::{Inspected, Inspection, PidState};
use crate::signal::Signal;
use core::ffi::CStr;
use core::time::Duration;
use deadline::Deadline;
use guard::Guard;
use rustix::fd::OwnedFd;
use rustix::process::Pid;

/// What to do to the daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Launch it unless it runs.
    Start,
    /// Signal it (SIGTERM by default) and wait until it has released its PID file.
    Stop,
    /// Report whether it runs.
    Check,
    /// Send it a signal (SIGHUP by default).
    Signal,
    /// STOP (when it runs) then START, under one hold of the guard: no other controller can
    /// act in between. The deadline bounds each of the two phases.
    Restart,
}

/// The outcome of an action that did not fail (failure is [`control`]'s `Err`, exit code
/// [`ERROR_EXIT_CODE`]); the values are LibUCW's statuses, the tools' exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    /// The action was performed (CHECK: the daemon runs).
    Ok = 0,
    /// The daemon was already in the requested state.
    AlreadyDone = 100,
    /// The daemon does not run, so the action could not be performed.
    NotRunning = 101,
    /// The PID file was stale (the daemon died without cleaning up); for START this means
    /// the daemon was started.
    Stale = 103,
}

/// LibUCW's `DAEMON_STATUS_ERROR`: the exit code of an action that failed.
pub const ERROR_EXIT_CODE: i32 = 102;

/// Everything an action needs; its errors render against it (`error.display(&params)`).
#[derive(Clone, Copy)]
pub struct Params<'a> {
    /// The daemon's PID file.
    pub pid_file: &'a CStr,
    /// The guard file that serialises controllers (created if missing).
    pub guard_file: &'a CStr,
    /// What to do.
    pub action: Action,
    /// START, RESTART: the program and its arguments (`program[0]` is searched in `PATH`).
    pub program: StringList<'a>,
    /// START: the program's environment (and its `PATH`); pass yours to inherit it, as
    /// LibUCW's `execvp` does.
    pub environment: StringList<'a>,
    /// STOP/SIGNAL: the signal to send instead of SIGTERM/SIGHUP.
    pub signal: Option<Signal>,
    /// One deadline for every wait of the action; `None` waits as long as it takes.
    pub timeout: Option<Duration>,
    /// STOP: when the deadline expires, SIGKILL the daemon's process group and wait again
    /// (bounded by another `timeout`, at least a second) instead of failing.
    pub escalate: bool,
    /// START, RESTART: called at most once while the action waits, with a hint rendered like
    /// an error (`hint.display(params)`): the launcher has run for two seconds without a lock
    /// on the PID file, so it looks like a foreground program (the tools print it on stderr).
    /// It runs with the guard held and the deadline running: it must return quickly, never
    /// panic and never call [`control`]. `None`: no hints, as LibUCW.
    // (A type alias would be one more public name for one field.)
    #[allow(clippy::type_complexity)]
    pub on_hint: Option<&'a dyn Fn(&Error, &Params<'_>)>,
}

impl<'a> Params<'a> {
    /// Parameters for `action` with everything else at its default (no program, default
    /// signal, no deadline, no escalation, no hints). START also needs `program` and
    /// `environment`: `Params { program, environment, ..Params::new(pid, guard, Action::Start) }`.
    pub const fn new(pid_file: &'a CStr, guard_file: &'a CStr, action: Action) -> Self {
        Self {
            pid_file,
            guard_file,
            action,
            program: StringList::EMPTY,
            environment: StringList::EMPTY,
            signal: None,
            timeout: None,
            escalate: false,
            on_hint: None,
        }
    }
}

/// The guard file of `pid_file` when none is given: `X.pid` → `X.lock`, as LibUCW's tool and
/// `ucw-daemon-control` name it, built in `buffer` (the PID file's length plus two bytes).
/// `None` when the name does not end in `.pid` or `buffer` is too short.
///
/// ```
/// use ucw_daemon::control::default_guard_file;
///
/// let mut buffer = [0; 64];
/// let guard = default_guard_file(c"/run/web.pid", &mut buffer);
/// assert_eq!(guard, Some(c"/run/web.lock"));
/// assert_eq!(default_guard_file(c"/run/web.state", &mut [0; 64]), None);
/// ```
pub fn default_guard_file<'b>(pid_file: &CStr, buffer: &'b mut [u8]) -> Option<&'b CStr> {
    let stem = pid_file.to_bytes().strip_suffix(b".pid")?;
    let length = stem.len() + b".lock\0".len();
    let name = buffer.get_mut(..length)?;
    name[..stem.len()].copy_from_slice(stem);
    name[stem.len()..].copy_from_slice(b".lock\0");
    // The first NUL is the one just written (`stem` comes from a `CStr`).
    CStr::from_bytes_until_nul(name).ok()
}

impl Context for Params<'_> {
    /// The PID file's and the guard file's paths, and the program's name.
    fn name(&self, subject: Subject) -> Option<&[u8]> {
        match subject {
            Subject::PidFile => Some(self.pid_file.to_bytes()),
            Subject::GuardFile => Some(self.guard_file.to_bytes()),
            Subject::Program => self.program.get(0).map(CStr::to_bytes),
            _ => None,
        }
    }
}

/// Performs `params.action` by the action table (docs/design.md §3): takes the guard
/// (within `params.timeout`), classifies the PID file, acts on the class.
///
/// The [`Outcome`] holds the guard until dropped, so what it says stays true meanwhile;
/// every failure (status ERROR) is an `Err` (`error.display(params)` renders it).
///
/// START waits for its launcher by PID: fine in a multi-threaded process, but a thread that
/// reaps any child (`wait(-1)`) meanwhile loses its status, and START then judges by the
/// PID file alone.
pub fn control(params: &Params<'_>) -> Result<Outcome> {
    let guard = Guard::take(params)?;
    let mut held = Held::default();
    let (status, pid) = guard.act(&mut held)?;
    Ok(Outcome {
        status,
        pid,
        snapshot: guard.is_snapshot(),
        since: None,
        program_pid: None,
        restarts: None,
        last_exit_code: None,
        last_exit_signal: None,
        ready: None,
        _guard: guard.into_fd(),
        _held: held,
    })
}

/// CHECK told in full (`--check --json`): [`control`] with [`Action::Check`], then, under
/// its guard, the [`Outcome`]'s `since` and a supervisor's status-file fields
/// (docs/design.md §5); what cannot be known stays `None`. A function of its own, so
/// programs that never call it do not carry it.
pub fn report(params: &Params<'_>) -> Result<Outcome> {
    let check = Params {
        action: Action::Check,
        ..*params
    };
    let mut outcome = control(&check)?;
    report::gather(params, &mut outcome);
    Ok(outcome)
}

/// Descriptors an action is done with, closed with the guard when the [`Outcome`] drops (a
/// program that forgets its outcome and exits spends no `close`). Only STOP's PID file
/// carries a lock, which says "stopped" while the outcome lives.
#[derive(Debug, Default)]
pub(crate) struct Held([Option<OwnedFd>; 4]);

impl Held {
    /// Keeps `fd` until the outcome drops (closes it now when every place is taken).
    pub(crate) fn keep(&mut self, fd: OwnedFd) {
        if let Some(place) = self.0.iter_mut().find(|place| place.is_none()) {
            *place = Some(fd);
        }
    }

    /// Keeps the descriptor of a look at a daemon that stays as it was.
    pub(crate) fn keep_inspected(&mut self, inspected: Option<Inspected>) {
        if let Some(inspected) = inspected {
            self.keep(inspected.fd);
        }
    }
}

/// What [`control`] did. Dropping it releases the guard and closes what the action is done
/// with. A program that exits right after may `core::mem::forget` it instead (no `close`);
/// never in a process that goes on: its next action would wait for this guard forever.
#[derive(Debug)]
pub struct Outcome {
    /// The action's status.
    pub status: Status,
    /// The daemon's PID as the action last saw it in the PID file: the running daemon for
    /// CHECK and SIGNAL (and START when it already runs), the new one after START or
    /// RESTART; `None` after STOP, and when no daemon (or one still starting, with no PID
    /// yet) was seen.
    pub pid: Option<Pid>,
    /// CHECK only: no guard file could be opened (docs/design.md §3, CHECK where it cannot
    /// write), so the status is an unserialised snapshot of the PID file: a START about to
    /// fail may look running, a daemon just dead stale. `false` whenever a guard was held.
    pub snapshot: bool,
    /// [`report`], RUNNING: when the proven lock holder started, in seconds since the Unix
    /// epoch (docs/design.md §3's identity rule: never a recycled number's).
    pub since: Option<u64>,
    /// [`report`], when that process is a `ucw-daemonize` supervisor whose
    /// status file names it (same PID and start time): its program's PID, while it runs.
    pub program_pid: Option<u32>,
    /// ... how many times `--respawn` started the program again.
    pub restarts: Option<u32>,
    /// ... the exit code of the program's last end (after a respawn), when it exited.
    pub last_exit_code: Option<u8>,
    /// ... the signal of the program's last end, when a signal killed it.
    pub last_exit_signal: Option<Signal>,
    /// ... whether the program has said it is ready (always, without a readiness protocol).
    pub ready: Option<bool>,
    /// The locked guard (`None` for a snapshot); closing it (the drop) releases the lock.
    _guard: Option<OwnedFd>,
    /// What the action is done with, closed with the guard.
    _held: Held,
}
/// The action table on a classified PID file: the status, and the daemon's PID when the
/// action saw or started one. `inspected`: the PID file's descriptor when it was locked.
fn act(
    params: &Params<'_>,
    deadline: &Deadline,
    inspection: Inspection,
    inspected: Option<Inspected>,
    held: &mut Held,
) -> Result<(Status, Option<Pid>)> {
    let state = inspection.state;
    let seen = match state {
        PidState::Running(pid) => Some(pid),
        _ => None,
    };
    let started = |status| move |pid| (status, Some(pid));
    match params.action {
        Action::Check => {
            held.keep_inspected(inspected);
            Ok(match state {
                PidState::Absent | PidState::NotRunning => (Status::NotRunning, None),
                PidState::Stale => (Status::Stale, None),
                PidState::Running(_) | PidState::Busy => (Status::Ok, seen),
            })
        }
        Action::Start => match state {
            PidState::Absent | PidState::NotRunning => {
                launch::launch(params, deadline, held).map(started(Status::Ok))
            }
            PidState::Stale => launch::launch(params, deadline, held).map(started(Status::Stale)),
            PidState::Running(_) => {
                held.keep_inspected(inspected);
                Ok((Status::AlreadyDone, seen))
            }
            PidState::Busy => start_when_settled(params, deadline, held),
        },
        Action::Stop => match state {
            PidState::Absent | PidState::NotRunning => Ok((Status::AlreadyDone, None)),
            PidState::Stale => Ok((Status::Stale, None)),
            PidState::Running(_) | PidState::Busy => {
                stop::stop(params, deadline, inspection, inspected, held)
                    .map(|status| (status, None))
            }
        },
        Action::Restart => {
            // Never stop a daemon that could not be started again.
            if params.program.is_empty() {
                return launch::launch(params, deadline, held).map(started(Status::Ok));
            }
            if let PidState::Running(_) | PidState::Busy = state {
                // The stop's PID file (and its lock) must be closed before the launch.
                stop::stop(
                    params,
                    deadline,
                    inspection,
                    inspected,
                    &mut Held::default(),
                )?;
            }
            // The start gets a deadline of its own.
            launch::launch(params, &Deadline::start(params.timeout), held).map(started(Status::Ok))
        }
        Action::Signal => match state {
            PidState::Running(pid) => {
                let signal = params.signal.unwrap_or(Signal::HUP);
                deliver::signal_daemon(pid, inspection.file, inspected, signal, params, held)
                    .map(|status| (status, (status == Status::Ok).then_some(pid)))
            }
            _ => {
                held.keep_inspected(inspected);
                Ok((Status::NotRunning, None))
            }
        },
    }
}

/// START on BUSY (docs/design.md §3): waits, within the deadline, for a PID (100) or for the
/// lock to go (launch), never answering "already running" for a daemon on its way out.
fn start_when_settled(
    params: &Params<'_>,
    deadline: &Deadline,
    held: &mut Held,
) -> Result<(Status, Option<Pid>)> {
    let (settled, _) = stop::wait_while_busy(params, deadline)?;
    match settled.state {
        PidState::Running(pid) => Ok((Status::AlreadyDone, Some(pid))),
        PidState::Stale => {
            launch::launch(params, deadline, held).map(|pid| (Status::Stale, Some(pid)))
        }
        _ => launch::launch(params, deadline, held).map(|pid| (Status::Ok, Some(pid))),
    }
}
