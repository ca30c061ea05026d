//! Command-line parsing for the tools: a GNU `getopt_long`-compatible scanner of long options
//! driven by a per-tool option table ([`Scanner`]), and the complete parse of
//! `ucw-daemon-control`'s command line ([`parse_control`]).
//!
//! This module owns the syntax of the tools' command lines: long options only, `--name=value`
//! and `--name value`, unambiguous prefixes (an exact match wins), argument permutation as
//! GNU `getopt_long` does it (operands may come before options until `--`), and the usage
//! errors with their wording. It must never allocate, make a system call or print: it works
//! on arguments it is handed (any [`Argument`], e.g. `&CStr` in tests or the kernel's `argv`
//! in the tools), reorders them in place, and returns values borrowed from them, so that it
//! can be fuzzed and unit-tested as plain code.
//!
//! # `ucw-daemon-control` compatibility
//! The accepted command lines are LibUCW's, plus these extensions:
//! - `--timeout SECONDS` (decimal, fractions allowed: `0.5`) bounds every wait of the
//!   action (DESIGN.md §3 "one deadline");
//! - `--kill-after-timeout` (with `--stop` and `--timeout`): when the deadline expires,
//!   send SIGKILL and wait once more instead of failing (like timeout(1)'s `--kill-after`);
//! - `--help` and `--version` (exit 0), acted upon as soon as they are seen;
//! - `--signal` also takes numbers and names without `SIG` ([`Signal::parse`]).
//!
//! Where we differ:
//! - two *different* actions (`--start --stop`) are a usage error; LibUCW silently keeps the
//!   last one. Repeating the same action is accepted.
//! - an empty `--pid-file`/`--guard-file` is a usage error (LibUCW would pass it on).
//! - errors name the problem (`unknown signal`, `--start needs the daemon's command`) instead
//!   of printing the whole usage text.
//!
//! Like LibUCW, a repeated `--pid-file`, `--guard-file` or `--signal` keeps the last value,
//! and `--signal` is accepted (and ignored) with `--check` and `--start`. Like glibc,
//! permutation stops when the environment has `POSIXLY_CORRECT` (the tool decides that and
//! passes [`Scanner::new`]'s `permute`).

use crate::control::Action;
use crate::error::{Error, ERROR_CAPACITY};
use crate::signal::Signal;
use crate::text::Message;
use core::ffi::CStr;
use core::time::Duration;

/// One command-line argument as the parser sees it: a NUL-terminated string that lives as
/// long as `'a`. Implemented for `&CStr`; the tools implement it for the kernel's `argv`
/// entries, so that option values reach system calls without being copied.
pub trait Argument<'a>: Copy {
    /// The argument's text.
    fn text(self) -> &'a CStr;
}

impl<'a> Argument<'a> for &'a CStr {
    fn text(self) -> &'a CStr {
        self
    }
}

/// One entry of a tool's option table: the name without `--`, and whether it takes a value
/// (GNU `required_argument`; optional values are not supported).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LongOption {
    /// The name, without the leading `--`.
    pub name: &'static str,
    /// Whether the option requires a value (`--name=value` or `--name value`).
    pub takes_value: bool,
}

/// A syntax error found by the [`Scanner`] or a semantic error found by [`parse_control`];
/// [`UsageError::to_error`] words it. The tools exit with
/// [`EXIT_USAGE`](crate::control::EXIT_USAGE) after printing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsageError<'a> {
    /// `--name` matches no option (the whole argument, `=value` included).
    Unrecognized(&'a CStr),
    /// `--name` is a prefix of several options: the argument and the table indices of the
    /// candidates, as a bit set (bit `i` = table entry `i`).
    Ambiguous(&'a CStr, &'static [LongOption], u64),
    /// `-x`: the tools have no short options; the first letter.
    ShortOption(u8),
    /// `--name` needs a value and the command line ended.
    MissingValue(&'static str),
    /// `--name=value` for an option that takes none.
    UnexpectedValue(&'static str),
    /// No action among `--start`, `--stop`, `--check`, `--reload`.
    MissingAction,
    /// Two different actions.
    ConflictingActions,
    /// No `--pid-file`.
    MissingPidFile,
    /// `--pid-file=` or `--guard-file=` with nothing.
    EmptyPath,
    /// No `--guard-file`, and the PID file's name does not end in `.pid`.
    CannotDeriveGuard,
    /// The derived guard file name does not fit in [`PATH_CAPACITY`] bytes.
    PathTooLong,
    /// `--start` without the daemon's command.
    MissingCommand,
    /// An operand with an action other than `--start`.
    UnexpectedOperand(&'a CStr),
    /// `--signal` with something that is no signal.
    UnknownSignal(&'a CStr),
    /// `--timeout` with something that is no duration.
    BadTimeout(&'a CStr),
    /// `--kill-after-timeout` without `--stop` and `--timeout`.
    EscalateNeedsStopAndTimeout,
}

impl UsageError<'_> {
    /// Appends the message, without the program name (`Unknown signal 'FOO'`), to `out`.
    #[inline(never)]
    pub fn describe(&self, out: &mut Message<ERROR_CAPACITY>) {
        let letter;
        // Every message is `<head><argument><tail>` except the list of candidates.
        let (head, argument, tail): (&str, &[u8], &str) = match *self {
            UsageError::Unrecognized(argument) => {
                ("unrecognized option '", argument.to_bytes(), "'")
            }
            UsageError::Ambiguous(argument, table, candidates) => {
                out.push_str("option '")
                    .push_bytes(argument.to_bytes())
                    .push_str("' is ambiguous; possibilities:");
                for (index, option) in table.iter().enumerate() {
                    if index < 64 && candidates & (1 << index) != 0 {
                        out.push_str(" '--").push_str(option.name).push_str("'");
                    }
                }
                return;
            }
            UsageError::ShortOption(byte) => {
                letter = [byte];
                ("invalid option -- '", &letter, "'")
            }
            UsageError::MissingValue(name) => {
                ("option '--", name.as_bytes(), "' requires an argument")
            }
            UsageError::UnexpectedValue(name) => {
                ("option '--", name.as_bytes(), "' doesn't allow an argument")
            }
            UsageError::MissingAction => (
                "one of --start --stop --check --reload is required",
                b"",
                "",
            ),
            UsageError::ConflictingActions => ("only one action may be given", b"", ""),
            UsageError::MissingPidFile => ("--pid-file is required", b"", ""),
            UsageError::EmptyPath => ("empty file name", b"", ""),
            UsageError::CannotDeriveGuard => (
                "For automatic choice of --guard-file, the --pid-file must end with `.pid'",
                b"",
                "",
            ),
            UsageError::PathTooLong => ("--pid-file name too long", b"", ""),
            UsageError::MissingCommand => ("--start needs the daemon's command", b"", ""),
            UsageError::UnexpectedOperand(argument) => {
                ("unexpected argument '", argument.to_bytes(), "'")
            }
            UsageError::UnknownSignal(argument) => ("Unknown signal '", argument.to_bytes(), "'"),
            UsageError::BadTimeout(argument) => ("invalid --timeout '", argument.to_bytes(), "'"),
            UsageError::EscalateNeedsStopAndTimeout => {
                ("--kill-after-timeout needs --stop and --timeout", b"", "")
            }
        };
        out.push_str(head).push_bytes(argument).push_str(tail);
    }

    /// The message as an [`Error`] (what [`UsageError::describe`] writes).
    pub fn to_error(&self) -> Error {
        let mut text = Message::new();
        self.describe(&mut text);
        Error::new("").push(text.as_bytes())
    }
}

/// An option the [`Scanner`] recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found<'a> {
    /// Its index in the option table.
    pub index: usize,
    /// Its value, for options that take one.
    pub value: Option<&'a CStr>,
}

/// Walks a command line like GNU `getopt_long` with an empty short-option string: yields
/// each long option with its value and moves operands (non-option arguments) behind the
/// options, so that when it is done every operand sits, in its original order, in
/// `arguments[`[`Scanner::operands`]`..]`.
///
/// `--` ends the options (it is consumed, the rest are operands); `-` and the empty string
/// are operands; `-x` is an error (no short options). With `permute == false`
/// (`POSIXLY_CORRECT`, or a tool whose operands are a command line of their own) the first
/// operand ends the options.
pub struct Scanner<'s, 'a, A: Argument<'a>> {
    table: &'static [LongOption],
    arguments: &'s mut [A],
    /// The next argument to look at.
    next: usize,
    /// Where the operands skipped so far begin (they occupy `first_operand..next`).
    first_operand: usize,
    permute: bool,
    finished: bool,
    _lifetime: core::marker::PhantomData<&'a CStr>,
}

impl<'s, 'a, A: Argument<'a>> Scanner<'s, 'a, A> {
    /// A scanner of `arguments` (the program name excluded) for the options of `table`
    /// (at most 64 entries).
    pub fn new(table: &'static [LongOption], arguments: &'s mut [A], permute: bool) -> Self {
        debug_assert!(table.len() <= 64, "candidate sets are 64-bit masks");
        Self {
            table,
            arguments,
            next: 0,
            first_operand: 0,
            permute,
            finished: false,
            _lifetime: core::marker::PhantomData,
        }
    }

    /// The index of the first operand once [`Scanner::next_option`] has returned `None`.
    pub fn operands(&self) -> usize {
        self.first_operand
    }

    /// The next option, `Ok(None)` when the options are over, or the first syntax error.
    pub fn next_option(&mut self) -> Result<Option<Found<'a>>, UsageError<'a>> {
        loop {
            if self.finished || self.next >= self.arguments.len() {
                self.finished = true;
                return Ok(None);
            }
            let argument = self.arguments[self.next].text();
            let bytes = argument.to_bytes();
            if bytes.len() < 2 || bytes[0] != b'-' {
                // An operand: skip it (permuting) or stop here.
                if !self.permute {
                    self.first_operand = self.next;
                    self.finished = true;
                    return Ok(None);
                }
                self.next += 1;
                continue;
            }
            if bytes[1] != b'-' {
                return Err(UsageError::ShortOption(bytes[1]));
            }
            if bytes.len() == 2 {
                // `--`: consume it, everything after it is an operand.
                self.take(1);
                self.finished = true;
                return Ok(None);
            }
            let body = &bytes[2..];
            let (name, inline_value) = match body.iter().position(|&byte| byte == b'=') {
                // The value is the rest of the argument, still NUL-terminated.
                Some(equals) => (&body[..equals], Some(suffix(argument, 2 + equals + 1))),
                None => (body, None),
            };
            let index = self.lookup(argument, name)?;
            let option = self.table[index];
            let value = match (option.takes_value, inline_value) {
                (false, Some(_)) => return Err(UsageError::UnexpectedValue(option.name)),
                (false, None) => {
                    self.take(1);
                    None
                }
                (true, Some(value)) => {
                    self.take(1);
                    Some(value)
                }
                (true, None) => {
                    let Some(&value) = self.arguments.get(self.next + 1) else {
                        return Err(UsageError::MissingValue(option.name));
                    };
                    self.take(2);
                    Some(value.text())
                }
            };
            return Ok(Some(Found { index, value }));
        }
    }

    /// The table index of option `name` (exact, else unique prefix).
    fn lookup(&self, argument: &'a CStr, name: &[u8]) -> Result<usize, UsageError<'a>> {
        let mut candidates: u64 = 0;
        let mut first = None;
        for (index, option) in self.table.iter().enumerate() {
            let known = option.name.as_bytes();
            if known == name {
                return Ok(index);
            }
            if !name.is_empty() && known.starts_with(name) {
                candidates |= 1 << index;
                first.get_or_insert(index);
            }
        }
        match first {
            None => Err(UsageError::Unrecognized(argument)),
            Some(index) if candidates.count_ones() == 1 => Ok(index),
            Some(_) => Err(UsageError::Ambiguous(argument, self.table, candidates)),
        }
    }

    /// Consumes `count` arguments at `next`, moving them in front of the operands skipped
    /// so far (GNU's permutation).
    fn take(&mut self, count: usize) {
        let end = self.next + count;
        for _ in 0..count {
            // Rotate `first_operand..end` right by one: the last taken argument goes first.
            let mut index = end - 1;
            let moved = self.arguments[index];
            while index > self.first_operand {
                self.arguments[index] = self.arguments[index - 1];
                index -= 1;
            }
            self.arguments[self.first_operand] = moved;
        }
        self.first_operand += count;
        self.next = end;
    }
}

/// `text[start..]` as a `CStr` (`start` ≤ its length).
fn suffix(text: &CStr, start: usize) -> &CStr {
    let bytes = text.to_bytes_with_nul();
    // SAFETY: the tail of a NUL-terminated string without interior NULs is one too (and
    // `start` ≤ the length keeps the NUL in it).
    unsafe { CStr::from_bytes_with_nul_unchecked(&bytes[start..]) }
}

/// Parses a duration in decimal seconds: `5`, `0.5`, `2.125` (digits, optionally a point and
/// one to nine more digits); at most `u32::MAX` seconds.
pub fn parse_seconds(text: &[u8]) -> Option<Duration> {
    let (whole, fraction) = match text.iter().position(|&byte| byte == b'.') {
        Some(point) => (&text[..point], Some(&text[point + 1..])),
        None => (text, None),
    };
    let seconds = crate::text::parse_decimal(whole, u32::MAX as u64)?;
    let mut nanoseconds = 0u32;
    if let Some(digits) = fraction {
        if digits.len() > 9 {
            return None;
        }
        let mut scale = 100_000_000;
        for &digit in digits {
            if !digit.is_ascii_digit() {
                return None;
            }
            nanoseconds += (digit - b'0') as u32 * scale;
            scale /= 10;
        }
        if digits.is_empty() {
            return None;
        }
    }
    Some(Duration::new(seconds, nanoseconds))
}

/// Capacity of a derived guard-file name, NUL included (Linux's `PATH_MAX`).
pub const PATH_CAPACITY: usize = 4096;

/// `ucw-daemon-control`'s option table; [`parse_control`] relies on its order.
pub const CONTROL_OPTIONS: &[LongOption] = &[
    option("start", false),
    option("stop", false),
    option("check", false),
    option("reload", false),
    option("pid-file", true),
    option("guard-file", true),
    option("signal", true),
    option("timeout", true),
    option("kill-after-timeout", false),
    option("help", false),
    option("version", false),
];

const fn option(name: &'static str, takes_value: bool) -> LongOption {
    LongOption { name, takes_value }
}

/// The action entries of [`CONTROL_OPTIONS`], by index.
const ACTIONS: [Action; 4] = [Action::Start, Action::Stop, Action::Check, Action::Signal];

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

/// A complete, checked request for [`control`](crate::control::control).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlRequest<'a> {
    /// `--start`, `--stop`, `--check` or `--reload` (SIGNAL).
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
    /// START: index of the daemon's program in the (permuted) arguments; its arguments
    /// follow up to the end.
    pub command: usize,
}

/// Parses `ucw-daemon-control`'s arguments (program name excluded), leaving the daemon's
/// command (START) in `arguments[request.command..]`. A derived guard-file name is built in
/// `guard_buffer`.
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
    while let Some(found) = scanner.next_option()? {
        let value = found.value.unwrap_or(c"");
        match found.index {
            0..=3 => {
                let chosen = ACTIONS[found.index];
                if action.is_some_and(|previous| previous != chosen) {
                    return Err(UsageError::ConflictingActions);
                }
                action = Some(chosen);
            }
            4 => pid_file = Some(value),
            5 => guard_file = Some(value),
            6 => {
                signal =
                    Some(Signal::parse(value.to_bytes()).ok_or(UsageError::UnknownSignal(value))?)
            }
            7 => {
                timeout =
                    Some(parse_seconds(value.to_bytes()).ok_or(UsageError::BadTimeout(value))?)
            }
            8 => escalate = true,
            9 => return Ok(ControlInvocation::Help),
            _ => return Ok(ControlInvocation::Version),
        }
    }
    let command = scanner.operands();
    let has_operands = command < scanner.arguments.len();
    let action = action.ok_or(UsageError::MissingAction)?;
    let pid_file = pid_file.ok_or(UsageError::MissingPidFile)?;
    if action == Action::Start {
        if !has_operands {
            return Err(UsageError::MissingCommand);
        }
    } else if has_operands {
        return Err(UsageError::UnexpectedOperand(
            scanner.arguments[command].text(),
        ));
    }
    if escalate && (action != Action::Stop || timeout.is_none()) {
        return Err(UsageError::EscalateNeedsStopAndTimeout);
    }
    if pid_file.is_empty() || guard_file.is_some_and(CStr::is_empty) {
        return Err(UsageError::EmptyPath);
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
        command,
    }))
}

/// `X.pid` → `X.lock`, built in `buffer` (LibUCW's rule).
pub fn derive_guard_file<'a>(
    pid_file: &CStr,
    buffer: &'a mut [u8; PATH_CAPACITY],
) -> Result<&'a CStr, UsageError<'static>> {
    let stem = pid_file
        .to_bytes()
        .strip_suffix(b".pid")
        .ok_or(UsageError::CannotDeriveGuard)?;
    let length = stem.len() + b".lock\0".len();
    if length > PATH_CAPACITY {
        return Err(UsageError::PathTooLong);
    }
    buffer[..stem.len()].copy_from_slice(stem);
    buffer[stem.len()..length].copy_from_slice(b".lock\0");
    // SAFETY: `stem` comes from a `CStr`, so it has no NUL; `.lock\0` ends with the only one.
    Ok(unsafe { CStr::from_bytes_with_nul_unchecked(&buffer[..length]) })
}
