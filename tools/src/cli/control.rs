//! `ucw-daemon-control`'s command line: LibUCW's options plus our extensions, parsed into a
//! complete, checked [`ControlRequest`].
//!
//! This file owns what the control tool accepts. The accepted command lines are LibUCW's,
//! plus these extensions:
//! - `--restart`: STOP then START under one hold of the guard;
//! - `--timeout SECONDS` (decimal, fractions allowed: `0.5`) bounds every wait of the
//!   action (for `--restart`, of each of its two phases);
//! - `--kill-after-timeout` (with `--stop` or `--restart`, and `--timeout`): when the
//!   deadline expires, SIGKILL the daemon's process group and wait once more;
//! - `--verbose`: one line on stdout saying what was seen or done;
//! - `--json` (with `--check`): one JSON object on stdout saying what CHECK sees in full;
//!   `--lsb` (with `--check`): LSB's exit codes (0 running, 1 stale, 3 not running, 4
//!   error); together, the object and LSB's codes. `--json` excludes `--verbose`. There is no
//!   `--status` alias: it would make `--sta` ambiguous, as `--restart` made LibUCW's `--re`;
//! - `--help` and `--version` (exit 0), acted upon as soon as they are seen;
//! - `--signal` also takes numbers and names without `SIG` ([`Signal::parse`]).
//!
//! Where we differ:
//! - two *different* actions (`--start --stop`) are a usage error; LibUCW silently keeps the
//!   last one. Repeating the same action is accepted.
//! - an empty `--pid-file`/`--guard-file` is a usage error (LibUCW would pass it on).
//! - `--signal STOP` is refused: a `ucw-daemonize` supervisor cannot forward it, it would
//!   stop the supervisor instead of its program.
//! - errors name the problem (`unknown signal`, `--start needs the daemon's command`) instead
//!   of printing the whole usage text.
//!
//! Like LibUCW, a repeated `--pid-file`, `--guard-file` or `--signal` keeps the last value,
//! and `--signal` is accepted (and ignored) with `--check` and `--start`. Like glibc,
//! permutation stops when the environment has `POSIXLY_CORRECT` (the tool decides that and
//! passes `permute`).

use super::options::{parse_seconds, Argument, Options, Scanner, UsageError};
use core::ffi::CStr;
use core::time::Duration;
use ucw_daemon::control::{default_guard_file, Action};
use ucw_daemon::signal::Signal;

/// Capacity of a derived guard-file name, NUL included (Linux's `PATH_MAX`).
pub const PATH_CAPACITY: usize = 4096;

/// `ucw-daemon-control`'s option table; [`parse_control`] relies on its order.
pub const CONTROL_OPTIONS: Options = crate::options![
    "start",
    "stop",
    "restart",
    "check",
    "reload",
    "pid-file" = value,
    "guard-file" = value,
    "signal" = value,
    "timeout" = value,
    "kill-after-timeout",
    "verbose",
    "help",
    "version",
    "json",
    "lsb",
];

/// The action entries of [`CONTROL_OPTIONS`], by index.
const ACTIONS: [Action; 5] = [
    Action::Start,
    Action::Stop,
    Action::Restart,
    Action::Check,
    Action::Signal,
];

/// What `ucw-daemon-control`'s command line asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlInvocation<'a> {
    /// `--help`: print the usage text, exit 0.
    Help,
    /// `--version`: print the version, exit 0.
    Version,
    /// Perform an action.
    Run(ControlRequest<'a>),
}

/// A complete, checked request for [`control`](ucw_daemon::control::control).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlRequest<'a> {
    /// `--start`, `--stop`, `--restart`, `--check` or `--reload` (SIGNAL).
    pub action: Action,
    /// `--pid-file`.
    pub pid_file: &'a CStr,
    /// `--guard-file`, or the PID file's name with `.pid` replaced by `.lock`.
    pub guard_file: &'a CStr,
    /// `--signal`.
    pub signal: Option<Signal>,
    /// `--timeout`.
    pub timeout: Option<Duration>,
    /// `--kill-after-timeout`.
    pub escalate: bool,
    /// `--verbose`.
    pub verbose: bool,
    /// `--json` (CHECK only).
    pub json: bool,
    /// `--lsb` (CHECK only).
    pub lsb: bool,
    /// START, RESTART: the number of words of the daemon's command, which the parse left at
    /// the front of the arguments.
    pub command: usize,
}

/// Parses `ucw-daemon-control`'s arguments (program name excluded), leaving the daemon's
/// command (START, RESTART) in `arguments[..request.command]`. A derived guard-file name is
/// built in `guard_buffer`.
pub fn parse_control<'a: 'g, 'g, A: Argument<'a>>(
    arguments: &mut [A],
    permute: bool,
    guard_buffer: &'g mut [u8; PATH_CAPACITY],
) -> Result<ControlInvocation<'g>, UsageError<'g>> {
    let mut scanner = Scanner::new(CONTROL_OPTIONS, arguments, permute);
    let mut action = None;
    let mut pid_file: Option<&CStr> = None;
    let mut guard_file: Option<&CStr> = None;
    let mut signal = None;
    let mut timeout = None;
    let mut escalate = false;
    #[cfg_attr(not(feature = "verbose"), allow(unused_mut))]
    let mut verbose = false;
    #[cfg_attr(not(feature = "status"), allow(unused_mut))]
    let (mut json, mut lsb) = (false, false);
    while let Some(found) = scanner.next_option()? {
        let value = found.value.unwrap_or(c"");
        if found.value.is_some() && value.is_empty() && matches!(found.index, 5 | 6) {
            return Err(UsageError::EmptyValue(CONTROL_OPTIONS.name(found.index)));
        }
        match found.index {
            #[cfg(not(feature = "restart"))]
            2 => return Err(UsageError::NotBuilt(b"restart", b"restart")),
            0..=4 => {
                let chosen = ACTIONS[found.index];
                if action.is_some_and(|previous| previous != chosen) {
                    return Err(UsageError::ConflictingActions);
                }
                action = Some(chosen);
            }
            5 => pid_file = Some(value),
            6 => guard_file = Some(value),
            7 => {
                let parsed =
                    Signal::parse(value.to_bytes()).ok_or(UsageError::UnknownSignal(value))?;
                if parsed == Signal::STOP {
                    return Err(UsageError::UncatchableSignal);
                }
                signal = Some(parsed);
            }
            8 => {
                timeout =
                    Some(parse_seconds(value.to_bytes()).ok_or(UsageError::BadTimeout(value))?)
            }
            9 => escalate = true,
            #[cfg(feature = "verbose")]
            10 => verbose = true,
            #[cfg(not(feature = "verbose"))]
            10 => return Err(UsageError::NotBuilt(b"verbose", b"verbose")),
            11 => return Ok(ControlInvocation::Help),
            12 => return Ok(ControlInvocation::Version),
            #[cfg(feature = "status")]
            13 => json = true,
            #[cfg(feature = "status")]
            _ => lsb = true,
            #[cfg(not(feature = "status"))]
            _ => {
                return Err(UsageError::NotBuilt(
                    CONTROL_OPTIONS.name(found.index),
                    b"status",
                ))
            }
        }
    }
    let command = scanner.operands();
    let action = action.ok_or(UsageError::MissingAction)?;
    let pid_file = pid_file.ok_or(UsageError::MissingPidFile)?;
    let launches = matches!(action, Action::Start | Action::Restart);
    if launches && command == 0 {
        let name: &[u8] = if action == Action::Restart {
            b"restart"
        } else {
            b"start"
        };
        return Err(UsageError::MissingCommand(name));
    }
    if let (false, Some(operand)) = (launches, scanner.operand(0)) {
        return Err(UsageError::UnexpectedOperand(operand));
    }
    for (set, name) in [(json, &b"json"[..]), (lsb, b"lsb")] {
        if set && action != Action::Check {
            return Err(UsageError::OnlyWithCheck(name));
        }
    }
    if json && verbose {
        return Err(UsageError::Exclusive(b"json", b"verbose"));
    }
    if escalate && (!matches!(action, Action::Stop | Action::Restart) || timeout.is_none()) {
        return Err(UsageError::EscalateNeedsStopAndTimeout);
    }
    let guard_file = match guard_file {
        Some(given) => given,
        None => derive_guard_file(pid_file, guard_buffer)?,
    };
    Ok(ControlInvocation::Run(ControlRequest {
        action,
        pid_file,
        guard_file,
        signal,
        timeout,
        escalate,
        verbose,
        json,
        lsb,
        command,
    }))
}

/// `X.pid` → `X.lock`, built in `buffer` (LibUCW's rule, the library's
/// [`default_guard_file`]); a usage error names why there is none.
pub fn derive_guard_file<'a>(
    pid_file: &CStr,
    buffer: &'a mut [u8; PATH_CAPACITY],
) -> Result<&'a CStr, UsageError<'static>> {
    default_guard_file(pid_file, buffer).ok_or(if pid_file.to_bytes().ends_with(b".pid") {
        UsageError::PathTooLong
    } else {
        UsageError::CannotDeriveGuard
    })
}
