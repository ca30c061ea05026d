//! GNU `getopt_long`-compatible scanning of long options, driven by a per-tool option table
//! ([`Scanner`]), and the usage errors of both tools ([`UsageError`]).
//!
//! This file owns the syntax of the tools' command lines: long options only, `--name=value`
//! and `--name value`, unambiguous prefixes (an exact match wins), argument permutation as
//! GNU `getopt_long` does it (operands may come before options until `--`), and the usage
//! errors with their wording. It must never allocate, make a system call or print: it works
//! on arguments it is handed (any [`Argument`], e.g. `&CStr` in tests or the kernel's `argv`
//! in the tools), compacts the operands in place in one pass (linear in the arguments, never
//! a rotation per option), and returns values borrowed from them, so that it can be fuzzed and
//! unit-tested as plain code.

use crate::output::Line;
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

/// A syntax error found by the [`Scanner`] or a semantic error found by a tool's parser;
/// [`UsageError::describe`] words it. The tools exit with [`EXIT_USAGE`](crate::output::EXIT_USAGE)
/// after printing it.
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
    /// `--name=` (an empty value) for an option whose value must not be empty.
    EmptyValue(&'static str),
    /// No action among the tool's actions.
    MissingAction,
    /// Two different actions.
    ConflictingActions,
    /// No `--pid-file`.
    MissingPidFile,
    /// No `--guard-file`, and the PID file's name does not end in `.pid`.
    CannotDeriveGuard,
    /// The derived guard file name does not fit in `PATH_MAX` bytes.
    PathTooLong,
    /// `--start` or `--restart` (the name) without the daemon's command.
    MissingCommand(&'static str),
    /// `ucw-daemonize` without a program.
    MissingProgram,
    /// An operand with an action other than `--start` or `--restart`.
    UnexpectedOperand(&'a CStr),
    /// `--signal` with something that is no signal.
    UnknownSignal(&'a CStr),
    /// `--signal STOP`: no supervisor can forward it (it would stop the supervisor itself).
    UncatchableSignal,
    /// `--timeout` with something that is no duration.
    BadTimeout(&'a CStr),
    /// `--kill-after-timeout` without `--stop` (or `--restart`) and `--timeout`.
    EscalateNeedsStopAndTimeout,
    /// Two options that exclude each other.
    Exclusive(&'static str, &'static str),
    /// An option of a feature this binary was built without: the option and the feature.
    NotBuilt(&'static str, &'static str),
    /// An option's value that is not what it needs: the option, the value, what it needs.
    #[cfg(any(feature = "readiness", feature = "environment"))]
    Invalid(&'static str, &'a CStr, &'static str),
    /// The first option needs the second.
    #[cfg(feature = "environment")]
    Requires(&'static str, &'static str),
    /// `--keep-caps` with a capability it refuses: the capability as given, and why.
    #[cfg(feature = "environment")]
    Capability(&'a [u8], &'static str),
    /// More `--env`, `--unset` and `--env-file` options than the parser holds (the number).
    #[cfg(feature = "environment")]
    TooManyVariableOptions(usize),
}

impl UsageError<'_> {
    /// Writes the message, without the program name (`Unknown signal 'FOO'`), into `out`
    /// and returns its length.
    pub fn describe(&self, out: &mut [u8]) -> usize {
        let mut writer = Line::new(out);
        self.describe_into(&mut writer);
        writer.len()
    }

    #[inline(never)]
    /// Writes the message into `out` (a line being built).
    pub fn describe_into(&self, out: &mut Line<'_>) {
        let letter;
        // Every message is `<head><argument><tail>` except the list of candidates.
        let (head, argument, tail): (&str, &[u8], &str) = match *self {
            UsageError::Unrecognized(argument) => {
                ("unrecognized option '", argument.to_bytes(), "'")
            }
            UsageError::Ambiguous(argument, table, candidates) => {
                out.push(b"option '");
                out.push(argument.to_bytes());
                out.push(b"' is ambiguous; possibilities:");
                for (index, option) in table.iter().enumerate() {
                    if index < 64 && candidates & (1 << index) != 0 {
                        out.push(b" '--");
                        out.push(option.name.as_bytes());
                        out.push(b"'");
                    }
                }
                return;
            }
            UsageError::Exclusive(first, second) => {
                out.push(b"--");
                out.push(first.as_bytes());
                out.push(b" and --");
                out.push(second.as_bytes());
                out.push(b" exclude each other");
                return;
            }
            UsageError::NotBuilt(name, feature) => {
                out.push(b"--");
                out.push(name.as_bytes());
                out.push(b": not built into this binary (feature ");
                out.push(feature.as_bytes());
                out.push(b")");
                return;
            }
            #[cfg(any(feature = "readiness", feature = "environment"))]
            UsageError::Invalid(name, value, expected) => {
                out.push(b"option '--");
                out.push(name.as_bytes());
                out.push(b"' needs ");
                out.push(expected.as_bytes());
                out.push(b", not '");
                out.push(value.to_bytes());
                out.push(b"'");
                return;
            }
            #[cfg(feature = "environment")]
            UsageError::Requires(first, second) => {
                out.push(b"--");
                out.push(first.as_bytes());
                out.push(b" needs --");
                out.push(second.as_bytes());
                return;
            }
            #[cfg(feature = "environment")]
            UsageError::Capability(capability, why) => {
                out.push(b"--keep-caps: capability '");
                out.push(capability);
                out.push(b"' ");
                out.push(why.as_bytes());
                return;
            }
            #[cfg(feature = "environment")]
            UsageError::TooManyVariableOptions(limit) => {
                out.push(b"more than ");
                out.push_decimal(limit as u64);
                out.push(b" --env, --unset and --env-file options");
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
            UsageError::EmptyValue(name) => {
                ("option '--", name.as_bytes(), "' needs a non-empty value")
            }
            UsageError::MissingAction => (
                "one of --start --stop --restart --check --reload is required",
                b"",
                "",
            ),
            UsageError::ConflictingActions => ("only one action may be given", b"", ""),
            UsageError::MissingPidFile => ("--pid-file is required", b"", ""),
            UsageError::CannotDeriveGuard => (
                "For automatic choice of --guard-file, the --pid-file must end with `.pid'",
                b"",
                "",
            ),
            UsageError::PathTooLong => ("--pid-file name too long", b"", ""),
            UsageError::MissingCommand(name) => ("--", name.as_bytes(), " needs the daemon's command"),
            UsageError::MissingProgram => ("missing PROGRAM", b"", ""),
            UsageError::UnexpectedOperand(argument) => {
                ("unexpected argument '", argument.to_bytes(), "'")
            }
            UsageError::UnknownSignal(argument) => ("Unknown signal '", argument.to_bytes(), "'"),
            UsageError::UncatchableSignal => (
                "--signal STOP cannot be caught: a ucw-daemonize supervisor would stop instead of its program (use kill -STOP)",
                b"",
                "",
            ),
            UsageError::BadTimeout(argument) => ("invalid --timeout '", argument.to_bytes(), "'"),
            UsageError::EscalateNeedsStopAndTimeout => (
                "--kill-after-timeout needs --stop or --restart, and --timeout",
                b"",
                "",
            ),
        };
        out.push(head.as_bytes());
        out.push(argument);
        out.push(tail.as_bytes());
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
/// each long option with its value, and gathers the operands (non-option arguments), in
/// their original order, at the front of the arguments: when it is done they are
/// `arguments[..`[`Scanner::operands`]`]`. The slots options occupied are overwritten (their
/// values were handed out already, and point into the strings, not into the slice).
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
    /// How many operands are gathered at the front so far.
    operands: usize,
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
            operands: 0,
            permute,
            finished: false,
            _lifetime: core::marker::PhantomData,
        }
    }

    /// The number of operands, at the front of the arguments, once
    /// [`Scanner::next_option`] has returned `None`.
    pub fn operands(&self) -> usize {
        self.operands
    }

    /// Operand `index` (from 0) once the scan is over.
    pub fn operand(&self, index: usize) -> Option<&'a CStr> {
        (index < self.operands).then(|| self.arguments[index].text())
    }

    /// Everything from `next` on is an operand: gather it behind the others.
    fn finish(&mut self) {
        if !self.finished {
            let length = self.arguments.len();
            self.arguments.copy_within(self.next..length, self.operands);
            self.operands += length - self.next;
            self.next = length;
            self.finished = true;
        }
    }

    /// The next option, `Ok(None)` when the options are over, or the first syntax error.
    pub fn next_option(&mut self) -> Result<Option<Found<'a>>, UsageError<'a>> {
        loop {
            if self.finished || self.next >= self.arguments.len() {
                self.finish();
                return Ok(None);
            }
            let argument = self.arguments[self.next].text();
            let bytes = argument.to_bytes();
            if bytes.len() < 2 || bytes[0] != b'-' {
                // An operand: gather it (permuting) or stop here.
                if !self.permute {
                    self.finish();
                    return Ok(None);
                }
                self.arguments[self.operands] = self.arguments[self.next];
                self.operands += 1;
                self.next += 1;
                continue;
            }
            if bytes[1] != b'-' {
                return Err(UsageError::ShortOption(bytes[1]));
            }
            if bytes.len() == 2 {
                // `--`: consume it, everything after it is an operand.
                self.next += 1;
                self.finish();
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
                (false, None) => None,
                (true, Some(value)) => Some(value),
                (true, None) => {
                    let Some(&value) = self.arguments.get(self.next + 1) else {
                        return Err(UsageError::MissingValue(option.name));
                    };
                    self.next += 1;
                    Some(value.text())
                }
            };
            self.next += 1;
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
    let seconds = parse_decimal(whole, u32::MAX as u64)?;
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

/// One entry of an option table.
pub const fn option(name: &'static str, takes_value: bool) -> LongOption {
    LongOption { name, takes_value }
}

/// Parses a strictly decimal, unsigned number: one or more ASCII digits, nothing else (no
/// sign, no spaces), no overflow, at most `max`. Leading zeros are accepted.
pub fn parse_decimal(text: &[u8], max: u64) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &byte in text {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add((byte - b'0') as u64)?;
        if value > max {
            return None;
        }
    }
    Some(value)
}
