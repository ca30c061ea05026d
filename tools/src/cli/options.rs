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

/// One entry of an option table, as [`Options::iter`] hands it out: the name without `--`,
/// and whether it takes a value (GNU `required_argument`; optional values are not supported).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LongOption {
    /// The name, without the leading `--`.
    pub name: &'static [u8],
    /// Whether the option requires a value (`--name=value` or `--name value`).
    pub takes_value: bool,
}

/// A tool's option table, packed: the names without `--`, each NUL-terminated, in order, and
/// which of them take a value (bit `i` for entry `i`), so that a table costs its names' bytes
/// rather than a pointer and a length per option. Written with [`options!`](crate::options).
/// An option that takes none may still accept one as `--name=value` (GNU
/// `optional_argument`: `--respawn=on-failure`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    names: &'static [u8],
    takes_value: u64,
    optional_value: u64,
}

/// An option table: the names in order, `= value` after those that take one, `= optional`
/// after those that may have one (only as `--name=value`).
///
/// ```
/// use ucw_daemon_tools::options;
/// const TABLE: ucw_daemon_tools::cli::options::Options = options!["user" = value, "help"];
/// assert_eq!(TABLE.name(0), b"user");
/// assert!(TABLE.takes_value(0) && !TABLE.takes_value(1));
/// ```
#[macro_export]
macro_rules! options {
    ($($name:literal $(= $value:ident)?),* $(,)?) => {
        $crate::cli::options::Options::new(
            concat!($($name, "\0"),*).as_bytes(),
            &[$($crate::options!(@takes $($value)?)),*],
        )
        .with_optional(&[$($crate::options!(@optional $($value)?)),*])
    };
    (@takes) => { false };
    (@takes value) => { true };
    (@takes optional) => { false };
    (@optional) => { false };
    (@optional value) => { false };
    (@optional optional) => { true };
}

impl Options {
    /// The table of the options `names` (each NUL-terminated, printable ASCII without `=`);
    /// `takes_value[i]` says whether option `i` takes a value. At most 64 options.
    pub const fn new(names: &'static [u8], takes_value: &[bool]) -> Self {
        let mut count = 0;
        let mut position = 0;
        while position < names.len() {
            let byte = names[position];
            if byte == 0 {
                count += 1;
            } else {
                assert!(
                    byte > b' ' && byte < 0x7f && byte != b'=',
                    "an option name is printable ASCII without `=`"
                );
            }
            position += 1;
        }
        assert!(
            count == takes_value.len() && count <= 64,
            "one value flag per option, at most 64 options"
        );
        assert!(
            names.is_empty() || names[names.len() - 1] == 0,
            "every name ends with a NUL"
        );
        let mut mask = 0;
        let mut index = 0;
        while index < takes_value.len() {
            if takes_value[index] {
                mask |= 1 << index;
            }
            index += 1;
        }
        Self {
            names,
            takes_value: mask,
            optional_value: 0,
        }
    }

    /// The table with `optional[i]` saying whether option `i` may have a value
    /// (`--name=value`) although it takes none.
    pub const fn with_optional(self, optional: &[bool]) -> Self {
        let mut mask = 0;
        let mut index = 0;
        while index < optional.len() && index < 64 {
            if optional[index] {
                mask |= 1 << index;
            }
            index += 1;
        }
        Self {
            optional_value: mask,
            ..self
        }
    }

    /// The index of option `name` (at compile time: a name that is not in the table does not
    /// build).
    pub const fn index_of(&self, name: &str) -> usize {
        let wanted = name.as_bytes();
        let mut index = 0;
        let mut start = 0;
        let mut position = 0;
        while position < self.names.len() {
            if self.names[position] == 0 {
                if position - start == wanted.len() {
                    let mut at = 0;
                    while at < wanted.len() && self.names[start + at] == wanted[at] {
                        at += 1;
                    }
                    if at == wanted.len() {
                        return index;
                    }
                }
                index += 1;
                start = position + 1;
            }
            position += 1;
        }
        panic!("no such option")
    }

    /// The name of option `index` (empty past the last one).
    pub fn name(&self, index: usize) -> &'static [u8] {
        field(self.names, index)
    }

    /// Whether option `index` takes a value.
    pub fn takes_value(&self, index: usize) -> bool {
        index < 64 && self.takes_value & 1 << index != 0
    }

    /// Whether option `index` may have a value although it takes none.
    pub fn optional_value(&self, index: usize) -> bool {
        index < 64 && self.optional_value & 1 << index != 0
    }

    /// The options, in order.
    pub fn iter(&self) -> impl Iterator<Item = LongOption> + '_ {
        fields(self.names)
            .enumerate()
            .map(|(index, name)| LongOption {
                name,
                takes_value: self.takes_value(index),
            })
    }
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
    Ambiguous(&'a CStr, Options, u64),
    /// `-x`: the tools have no short options; the first letter.
    ShortOption(u8),
    /// `--name` needs a value and the command line ended.
    MissingValue(&'static [u8]),
    /// `--name=value` for an option that takes none.
    UnexpectedValue(&'static [u8]),
    /// `--name=` (an empty value) for an option whose value must not be empty.
    EmptyValue(&'static [u8]),
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
    MissingCommand(&'static [u8]),
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
    /// An option that only `--check` takes (`--json`, `--lsb`), with another action.
    OnlyWithCheck(&'static [u8]),
    /// An option whose value is not of its kind: the option, the value, and what it expects
    /// (`bytes (10K, 1M)`).
    BadValue(&'static [u8], &'a CStr, &'static [u8]),
    /// `--kill-after-timeout` without `--stop` (or `--restart`) and `--timeout`.
    EscalateNeedsStopAndTimeout,
    /// An option whose value must be a descriptor number (3 or more).
    BadDescriptor(&'static [u8], &'a CStr),
    /// Two options that exclude each other.
    Exclusive(&'static [u8], &'static [u8]),
    /// An option of a feature this binary was built without: the option and the feature.
    NotBuilt(&'static [u8], &'static [u8]),
    /// Another option whose value must be a duration in seconds: the option and the value.
    BadDuration(&'static [u8], &'a CStr),
    /// An option's value that is not what it needs: the option, the value, what it needs.
    #[cfg(feature = "environment")]
    Invalid(&'static [u8], &'a CStr, &'static [u8]),
    /// The first option needs the second.
    #[cfg(feature = "environment")]
    Requires(&'static [u8], &'static [u8]),
    /// `--keep-caps` with a capability it refuses: the capability as given, and why.
    #[cfg(feature = "environment")]
    Capability(&'a [u8], &'static [u8]),
    /// More `--env`, `--unset` and `--env-file` options than the parser holds
    /// ([`super::environment::VARIABLE_OPTIONS`], which its words name).
    #[cfg(feature = "environment")]
    TooManyVariableOptions,
}

impl UsageError<'_> {
    /// Writes the message, without the program name (`Unknown signal 'FOO'`), into `out`
    /// and returns its length.
    pub fn describe(&self, out: &mut [u8]) -> usize {
        let mut writer = Line::new(out);
        self.describe_into(&mut writer);
        writer.len()
    }

    /// Writes the message into `out` (a line being built).
    #[inline(never)]
    pub fn describe_into(&self, out: &mut Line<'_>) {
        let letter;
        // Every message is three pieces of `USAGE_WORDS` around two arguments, except the
        // list of candidates and a value that is not of its kind (an environment option's
        // value follows its three pieces, quoted).
        let (message, first, second): (usize, &[u8], &[u8]) = match *self {
            UsageError::Ambiguous(argument, table, candidates) => {
                out.push(b"option '");
                out.push(argument.to_bytes());
                out.push(b"' is ambiguous; possibilities:");
                for (index, name) in fields(table.names).enumerate() {
                    if candidates & (1 << index) != 0 {
                        out.push(b" '--");
                        out.push(name);
                        out.push(b"'");
                    }
                }
                return;
            }
            UsageError::BadValue(name, value, expected) => {
                out.push(b"invalid --");
                out.push(name);
                out.push(b" '");
                out.push(value.to_bytes());
                out.push(b"': expected ");
                out.push(expected);
                return;
            }
            #[cfg(feature = "environment")]
            UsageError::Requires(first, second) => (22, first, second),
            #[cfg(feature = "environment")]
            UsageError::Capability(capability, why) => (23, capability, why),
            #[cfg(feature = "environment")]
            UsageError::TooManyVariableOptions => (24, b"", b""),
            #[cfg(feature = "environment")]
            UsageError::Invalid(name, _, expected) => (25, name, expected),
            UsageError::Unrecognized(argument) => (0, argument.to_bytes(), b""),
            UsageError::ShortOption(byte) => {
                letter = [byte];
                (1, &letter, b"")
            }
            UsageError::MissingValue(name) => (2, name, b""),
            UsageError::UnexpectedValue(name) => (3, name, b""),
            UsageError::EmptyValue(name) => (4, name, b""),
            UsageError::MissingAction => (5, b"", b""),
            UsageError::ConflictingActions => (6, b"", b""),
            UsageError::MissingPidFile => (7, b"", b""),
            UsageError::CannotDeriveGuard => (8, b"", b""),
            UsageError::PathTooLong => (9, b"", b""),
            UsageError::MissingCommand(name) => (10, name, b""),
            UsageError::MissingProgram => (11, b"", b""),
            UsageError::UnexpectedOperand(argument) => (12, argument.to_bytes(), b""),
            UsageError::UnknownSignal(argument) => (13, argument.to_bytes(), b""),
            UsageError::UncatchableSignal => (14, b"", b""),
            UsageError::BadTimeout(argument) => (15, argument.to_bytes(), b""),
            UsageError::EscalateNeedsStopAndTimeout => (16, b"", b""),
            UsageError::BadDescriptor(name, value) => (17, name, value.to_bytes()),
            UsageError::Exclusive(first, second) => (18, first, second),
            UsageError::NotBuilt(name, feature) => (19, name, feature),
            UsageError::BadDuration(name, value) => (20, name, value.to_bytes()),
            UsageError::OnlyWithCheck(name) => (21, name, b""),
        };
        let mut pieces = fields(USAGE_WORDS).skip(3 * message);
        for argument in [first, second, b""] {
            out.push(pieces.next().unwrap_or_default());
            out.push(argument);
        }
        #[cfg(feature = "environment")]
        if let UsageError::Invalid(_, value, _) = *self {
            out.push(value.to_bytes());
            out.push(b"'");
        }
    }
}

/// Field `index` of `packed` (NUL-terminated fields; empty past its end).
pub fn field(packed: &'static [u8], index: usize) -> &'static [u8] {
    fields(packed).nth(index).unwrap_or_default()
}

/// The NUL-terminated fields of `packed`, in order.
pub(crate) fn fields(packed: &'static [u8]) -> impl Iterator<Item = &'static [u8]> {
    let mut rest = packed;
    core::iter::from_fn(move || {
        let end = rest.iter().position(|&byte| byte == 0)?;
        let field = &rest[..end];
        rest = &rest[end + 1..];
        Some(field)
    })
}

/// [`USAGE_WORDS`] with `$extra` after the words every build has.
macro_rules! usage_words {
    ($($extra:literal)?) => {
        concat!("\
    unrecognized option '\0'\0\0\
    invalid option -- '\0'\0\0\
    option '--\0' requires an argument\0\0\
    option '--\0' doesn't allow an argument\0\0\
    option '--\0' needs a non-empty value\0\0\
    one of --start --stop --restart --check --reload is required\0\0\0\
    only one action may be given\0\0\0\
    --pid-file is required\0\0\0\
    For automatic choice of --guard-file, the --pid-file must end with `.pid'\0\0\0\
    --pid-file name too long\0\0\0\
    --\0 needs the daemon's command\0\0\
    missing PROGRAM\0\0\0\
    unexpected argument '\0'\0\0\
    Unknown signal '\0'\0\0\
    --signal STOP cannot be caught: a ucw-daemonize supervisor would stop instead of its \
    program (use kill -STOP)\0\0\0\
    invalid --timeout '\0'\0\0\
    --kill-after-timeout needs --stop or --restart, and --timeout\0\0\0\
    option '--\0' needs a descriptor number of 3 or more, not '\0'\0\
    --\0 and --\0 exclude each other\0\
    --\0: not built into this binary (feature \0)\0\
    invalid --\0 '\0': expected seconds (5, 0.5)\0\
    --\0 works only with --check\0\0", $($extra)?)
    };
}

/// The words of each usage error but the list of candidates, in [`UsageError::describe_into`]'s
/// order: three pieces each (before the first argument, between the two, after the second),
/// NUL-terminated.
#[cfg(not(feature = "environment"))]
const USAGE_WORDS: &[u8] = usage_words!().as_bytes();
/// The words of each usage error but the list of candidates, in [`UsageError::describe_into`]'s
/// order: three pieces each (before the first argument, between the two, after the second),
/// NUL-terminated; the environment feature's after the others.
#[cfg(feature = "environment")]
const USAGE_WORDS: &[u8] = usage_words!(
    "--\0 needs --\0\0\
    --keep-caps: capability '\0' \0\0\
    more than 256 --env, --unset and --env-file options\0\0\0\
    option '--\0' needs \0, not '\0"
)
.as_bytes();
// The words above name the number.
#[cfg(feature = "environment")]
const _: () = assert!(super::environment::VARIABLE_OPTIONS == 256);

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
    table: Options,
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
    /// A scanner of `arguments` (the program name excluded) for the options of `table`.
    pub fn new(table: Options, arguments: &'s mut [A], permute: bool) -> Self {
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
            let value = match (self.table.takes_value(index), inline_value) {
                (false, Some(value)) if self.table.optional_value(index) => Some(value),
                (false, Some(_)) => {
                    return Err(UsageError::UnexpectedValue(self.table.name(index)))
                }
                (false, None) => None,
                (true, Some(value)) => Some(value),
                (true, None) => {
                    let Some(&value) = self.arguments.get(self.next + 1) else {
                        return Err(UsageError::MissingValue(self.table.name(index)));
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
        for (index, known) in fields(self.table.names).enumerate() {
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
