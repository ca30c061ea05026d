//! START's launch (docs/design.md §3 "Launch"): fork, exec the command with a `PATH` search,
//! wait for the launcher (hinting at a foreground program), judge what it left behind.
//!
//! This file owns the launcher child and the judgement. The child makes only
//! async-signal-safe system calls before its exec, so a raw `clone` is right under a C
//! library too. It must never leave a zombie, never wait past the deadline, and never trust
//! the launcher's exit status alone: "started" means a locked PID file with a PID.

use super::deadline::{poll_readable, wait_readable, Deadline, FIRST_PAUSE};
use super::status::StatusFile;
use super::{Held, Params};
use crate::error::{Error, Message, Result, Subject};
use crate::exec::MAX_LIST_ENTRIES;
use crate::pidfile::{self, PidState};
use crate::sys;
use crate::text::{parse_decimal, Writer};
use core::ffi::CStr;
use core::time::Duration;
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use rustix::io::Errno;
use rustix::pipe::PipeFlags;
use rustix::process::{Pid, PidfdFlags, WaitId, WaitIdOptions, WaitIdStatus, WaitOptions};

/// Launches `params.program` and returns the PID of the daemon it left running. A launcher
/// still running at the deadline is killed and reaped (its daemon never gets its release).
pub(crate) fn launch(params: &Params<'_>, deadline: &Deadline, held: &mut Held) -> Result<Pid> {
    if params.program.is_empty() {
        return Err(Error::new(Message::NoProgramGiven, Subject::None));
    }
    if params.program.too_long() || params.environment.too_long() {
        return Err(
            Error::new(Message::TooManyEntries, Subject::Program).with(1, MAX_LIST_ENTRIES as u32)
        );
    }
    let (launcher, outcome, controller) = run_launcher(params, deadline, held)?;
    // Judged while the launcher is a zombie (docs/design.md §3, launch).
    let verdict = judge(params, outcome, &controller, held);
    held.keep(controller);
    collect(launcher);
    verdict
}

/// The start as the launcher's outcome, then the PID file, tell it; `controller` is this
/// START's end of the controller's pipe (see [`ended_at_once`]).
fn judge(
    params: &Params<'_>,
    outcome: Outcome,
    controller: &OwnedFd,
    held: &mut Held,
) -> Result<Pid> {
    let program_error = |message| Error::new(message, Subject::Program);
    match outcome {
        // Exit 0, or a lost status (ECHILD): the PID file decides.
        Outcome::Exited(0) | Outcome::Unknown => {}
        Outcome::Exited(super::ERROR_EXIT_CODE) => {
            return Err(program_error(Message::LauncherFailed))
        }
        Outcome::Exited(code) => {
            return Err(program_error(Message::LauncherExited).with(1, code as u32))
        }
        Outcome::Killed(signal) => {
            return Err(program_error(Message::LauncherKilled).with(1, signal as u32))
        }
    }
    let (inspection, inspected) = pidfile::inspect_with(params.pid_file, false)?;
    held.keep_inspected(inspected);
    if let PidState::Running(pid) = inspection.state {
        return Ok(pid);
    }
    if let Some(error) = ended_at_once(params, controller) {
        return Err(error);
    }
    match inspection.state {
        PidState::Busy => Err(Error::new(Message::DidNotWritePid, Subject::PidFile)),
        _ => Err(Error::new(Message::DidNotLock, Subject::PidFile)),
    }
}

/// The end of a program that ended before this START looked, as its `ucw-daemonize`
/// supervisor recorded it in the status file with the inode and change time of our
/// controller pipe (open until judged, so they name this START alone; docs/design.md §3).
fn ended_at_once(params: &Params<'_>, controller: &OwnedFd) -> Option<Error> {
    let status = StatusFile::read(params.pid_file)?;
    let pipe = rustix::fs::fstat(controller).ok()?;
    let time = (pipe.st_ctime as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(pipe.st_ctime_nsec as u64);
    let recorded = |key| parse_decimal(status.value(key)?, u64::MAX);
    if recorded(b"controller_pipe")? != pipe.st_ino || recorded(b"controller_pipe_time")? != time {
        return None;
    }
    let error = |message| Error::new(message, Subject::Program);
    Some(match status.last_exit()? {
        Ok(code) => error(Message::ExitedRightAfterStart).with(1, u32::from(code)),
        Err(signal) => error(Message::KilledRightAfterStart).with(1, signal.number()),
    })
}

/// How the launcher ended.
enum Outcome {
    /// It exited with this status.
    Exited(i32),
    /// It died of this signal.
    Killed(i32),
    /// Its status is lost (ECHILD).
    Unknown,
}

/// Forks and execs the launcher and waits for its exit; returns it uncollected, its outcome
/// and our end of the controller's pipe. The exec report's pipe and the pidfd go to `held`.
fn run_launcher(
    params: &Params<'_>,
    deadline: &Deadline,
    held: &mut Held,
) -> Result<(Pid, Outcome, OwnedFd)> {
    let system = |message, errno| Error::system(message, Subject::Program, errno);
    let (reader, writer) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC)
        .map_err(|errno| Error::system(Message::CreatePipe, Subject::None, errno))?;
    // Held until the launcher is judged: its end sees the pipe close if we die first.
    let (controller_end, held_end) = controller_pipe()?;
    // SAFETY: the child makes only async-signal-safe system calls on memory it owns and
    // takes no lock, so a raw clone is right with or without a C library.
    let (launcher, pidfd) = match unsafe { sys::fork_with_pidfd() } {
        Ok(Some(forked)) => forked,
        Ok(None) => launcher_child(params, writer.as_fd(), controller_end.as_fd()),
        Err(errno) => return Err(system(Message::ForkFor, errno)),
    };
    drop(writer);
    drop(controller_end);
    crate::failpoint::hit("control-launcher-forked");
    let exec_errno = match read_exec_report(reader.as_fd(), deadline) {
        Ok(report) => report,
        Err(errno) => {
            let locked = errno == Errno::TIMEDOUT && lock_appeared(params);
            abandon(launcher);
            return Err(if errno == Errno::TIMEDOUT {
                timeout(params, locked)
            } else {
                system(Message::ReadExecReport, errno)
            });
        }
    };
    held.keep(reader);
    if let Some(errno) = exec_errno {
        collect(launcher);
        return Err(system(Message::Execute, errno));
    }
    let waited = wait_child(params, launcher, pidfd.as_ref().map(AsFd::as_fd), deadline);
    if let Some(pidfd) = pidfd {
        held.keep(pidfd);
    }
    let status = match waited {
        Ok(Some(status)) => status,
        Ok(None) => {
            let locked = lock_appeared(params);
            abandon(launcher);
            return Err(timeout(params, locked));
        }
        Err(Errno::CHILD) => return Ok((launcher, Outcome::Unknown, held_end)),
        Err(errno) => {
            collect(launcher);
            return Err(system(Message::WaitFor, errno));
        }
    };
    crate::failpoint::hit("control-launcher-exited");
    let outcome = match (status.terminating_signal(), status.exit_status()) {
        (Some(signal), _) => Outcome::Killed(signal),
        (None, code) => Outcome::Exited(code.unwrap_or(-1)),
    };
    Ok((launcher, outcome, held_end))
}

/// How long a launcher may run without a lock on the PID file before [`Params::on_hint`]
/// hears that it looks like a foreground program (docs/design.md §3, "Launch").
pub(crate) const FOREGROUND_HINT_AFTER: Duration = Duration::from_secs(2);

/// Gives the foreground hint, unless the PID file is locked by now.
fn hint_foreground(params: &Params<'_>) {
    if let Some(on_hint) = params.on_hint {
        if !lock_appeared(params) {
            let hint = Error::new(Message::LooksForeground, Subject::Program)
                .with_duration(Some(FOREGROUND_HINT_AFTER));
            on_hint(&hint, params);
        }
    }
}

/// How long START waits, after giving up on a launcher, for its start to let go of the PID
/// file.
const SETTLE: Duration = Duration::from_secs(1);

/// Whether the PID file is locked (RUNNING or BUSY); one that cannot be inspected counts as
/// locked, so the foreground wording is only used when certain.
fn lock_appeared(params: &Params<'_>) -> bool {
    pidfile::inspect(params.pid_file).map_or(true, |inspection| {
        matches!(inspection.state, PidState::Running(_) | PidState::Busy)
    })
}

/// The error for a launcher killed at the deadline, after a short wait until nothing of this
/// start holds the PID file; `locked`: whether it was locked before the kill.
fn timeout(params: &Params<'_>, locked: bool) -> Error {
    let settle = Deadline::start(Some(SETTLE));
    let mut step = FIRST_PAUSE;
    while let Ok(inspection) = pidfile::inspect(params.pid_file) {
        if !matches!(inspection.state, PidState::Running(_) | PidState::Busy)
            || !settle.pause(&mut step)
        {
            break;
        }
    }
    let message = match locked {
        true => Message::LaunchTimeout,
        false => Message::LaunchTimeoutUnlocked,
    };
    Error::new(message, Subject::Program).with_duration(params.timeout)
}

/// The launcher child: default signals, the controller's pipe end passed on, the exec; on
/// failure the errno through `report` and exit [`EXIT_EXEC_FAILED`].
fn launcher_child(params: &Params<'_>, report: BorrowedFd<'_>, controller: BorrowedFd<'_>) -> ! {
    crate::signal::reset_for_exec();
    let mut variable = [0u8; CONTROLLER_VARIABLE.len() + 12];
    let passed = rustix::io::fcntl_setfd(controller, rustix::io::FdFlags::empty()).is_ok();
    let extra = passed.then(|| controller_variable(&mut variable, controller));
    let errno = params.program.exec_with(&params.environment, extra);
    let _ = rustix::io::write(report, &errno.raw_os_error().to_ne_bytes());
    sys::exit_group(EXIT_EXEC_FAILED)
}

/// The variable that names the launcher's end of the controller's pipe (docs/design.md §3,
/// "Launch"); `ucw-daemonize` reads the same name.
const CONTROLLER_VARIABLE: &[u8] = b"UCW_DAEMON_CONTROLLER_FD=";

/// The controller's pipe (docs/design.md §3, "Launch"): the launcher inherits the reading
/// end (`UCW_DAEMON_CONTROLLER_FD=N`), we keep the writing end, never written, until the
/// launcher is judged; its close tells `ucw-daemonize` to give the start up. (Not
/// `PR_SET_PDEATHSIG`, which follows the forking thread.)
fn controller_pipe() -> Result<(OwnedFd, OwnedFd)> {
    let create = |errno| Error::system(Message::CreatePipe, Subject::None, errno);
    let (reader, writer) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC).map_err(create)?;
    // Never 0–2 in the launcher: those are its standard streams.
    Ok((
        pidfile::above_standard_streams(reader).map_err(create)?,
        writer,
    ))
}

/// `UCW_DAEMON_CONTROLLER_FD=<fd>` in `buffer`.
fn controller_variable<'b>(buffer: &'b mut [u8], fd: BorrowedFd<'_>) -> &'b CStr {
    let mut writer = Writer::new(&mut *buffer);
    writer.push(CONTROLLER_VARIABLE);
    writer.push_decimal(fd.as_raw_fd() as u64);
    let length = writer.len();
    // The buffer holds the variable, ten digits at most, and a zero byte from its start.
    CStr::from_bytes_until_nul(&buffer[..=length]).unwrap_or(c"")
}

/// The launcher's exit code when its `execve` failed (a shell's "command not found").
const EXIT_EXEC_FAILED: i32 = 127;

/// Reads the launcher's exec report: `None` at EOF (the exec succeeded and closed the pipe),
/// `Some(errno)` when it failed. Bounded by the deadline (ETIMEDOUT then).
fn read_exec_report(reader: BorrowedFd<'_>, deadline: &Deadline) -> Result<Option<Errno>, Errno> {
    let mut bytes = [0u8; 4];
    let mut filled = 0;
    loop {
        // Without a deadline the read itself waits (no `ppoll` first).
        if deadline.is_limited() && !wait_readable(reader, deadline)? {
            return Err(Errno::TIMEDOUT);
        }
        match rustix::io::read(reader, &mut bytes[filled..]) {
            Ok(0) => break,
            Ok(count) => filled += count,
            Err(Errno::INTR) => continue,
            Err(errno) => return Err(errno),
        }
        if filled == bytes.len() {
            break;
        }
    }
    Ok((filled == bytes.len()).then(|| Errno::from_raw_os_error(i32::from_ne_bytes(bytes))))
}

/// `waitid(child, WEXITED | WNOWAIT)` within the deadline (`Ok(None)` past it), with the
/// foreground hint after [`FOREGROUND_HINT_AFTER`]; the child is left to [`collect`].
fn wait_child(
    params: &Params<'_>,
    child: Pid,
    pidfd: Option<BorrowedFd<'_>>,
    deadline: &Deadline,
) -> Result<Option<WaitIdStatus>, Errno> {
    let opened;
    let pidfd = match pidfd {
        Some(pidfd) => Some(pidfd),
        // CLONE_PIDFD refused (an emulator): pidfd_open (Linux 5.3) may still work.
        None if deadline.is_limited() || params.on_hint.is_some() => {
            opened = rustix::process::pidfd_open(child, PidfdFlags::empty()).ok();
            opened.as_ref().map(AsFd::as_fd)
        }
        None => None,
    };
    if params.on_hint.is_some() {
        match wait_exit(child, pidfd, deadline, Some(FOREGROUND_HINT_AFTER))? {
            Waited::Exited(status) => return Ok(Some(status)),
            Waited::Deadline => return Ok(None),
            Waited::Limit => hint_foreground(params),
        }
    }
    match wait_exit(child, pidfd, deadline, None)? {
        Waited::Exited(status) => Ok(Some(status)),
        _ => Ok(None),
    }
}

/// How a bounded wait for the launcher ended.
enum Waited {
    /// It exited (not yet collected).
    Exited(WaitIdStatus),
    /// The action's deadline passed first.
    Deadline,
    /// The wait's own limit passed first.
    Limit,
}

/// Waits until `child` exits, the deadline or `limit` passes: a pidfd polled, else
/// `waitid(WNOHANG)` with backoff; unbounded, a blocking `waitid` (docs/design.md §3).
fn wait_exit(
    child: Pid,
    mut pidfd: Option<BorrowedFd<'_>>,
    deadline: &Deadline,
    limit: Option<Duration>,
) -> Result<Waited, Errno> {
    let exited = WaitIdOptions::EXITED | WaitIdOptions::NOWAIT;
    let mut limit_clock: Option<Deadline> = None;
    loop {
        let limit_left = match &limit_clock {
            Some(clock) => clock.remaining(),
            None => limit,
        };
        // Which bound comes first: the deadline's (`true`) or the limit's.
        let (wait, is_deadline) = match (deadline.remaining(), limit_left) {
            (Some(remaining), Some(limit)) if limit < remaining => (limit, false),
            (Some(remaining), _) => (remaining, true),
            (None, Some(limit)) => (limit, false),
            (None, None) => break,
        };
        let passed = match is_deadline {
            true => Waited::Deadline,
            false => Waited::Limit,
        };
        let Some(fd) = pidfd else {
            let mut step = FIRST_PAUSE;
            let until = Deadline::start(Some(wait));
            loop {
                let status =
                    rustix::process::waitid(WaitId::Pid(child), exited | WaitIdOptions::NOHANG)?;
                if let Some(status) = status {
                    return Ok(Waited::Exited(status));
                }
                if !until.pause(&mut step) {
                    return Ok(passed);
                }
            }
        };
        match poll_readable(fd, Some(wait))? {
            Some(true) => {
                match rustix::process::waitid(WaitId::Pid(child), exited | WaitIdOptions::NOHANG)? {
                    Some(status) => return Ok(Waited::Exited(status)),
                    // Readable before the exit: a pidfd without poll support (Linux 5.2's
                    // CLONE_PIDFD); the backoff loop waits instead.
                    None => pidfd = None,
                }
            }
            Some(false) => return Ok(passed),
            None => {
                if limit_clock.is_none() {
                    limit_clock = limit.map(|limit| Deadline::start(Some(limit)));
                }
            }
        }
    }
    loop {
        match rustix::process::waitid(WaitId::Pid(child), exited) {
            Ok(Some(status)) => return Ok(Waited::Exited(status)),
            Ok(None) | Err(Errno::INTR) => {}
            Err(errno) => return Err(errno),
        }
    }
}

/// Collects a child that has exited (or will at once), retrying on EINTR; a child already
/// collected elsewhere (ECHILD) is fine.
fn collect(child: Pid) {
    while let Err(Errno::INTR) = rustix::process::waitpid(Some(child), WaitOptions::empty()) {}
}

/// Kills and reaps a launcher we give up on, so that it leaves no zombie behind.
fn abandon(launcher: Pid) {
    let _ = rustix::process::kill_process(launcher, rustix::process::Signal::KILL);
    collect(launcher);
}
