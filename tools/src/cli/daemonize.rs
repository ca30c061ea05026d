//! `ucw-daemonize`'s command line: `ucw-daemonize [OPTION]... [--] PROGRAM [ARG]...`, parsed
//! into a complete, checked [`Request`].
//!
//! This file owns what the daemonizer accepts. The program's own options follow it, so the
//! first operand ends ours (no permutation, whatever `POSIXLY_CORRECT` says). An empty value
//! (`--pid-file=`) is a usage error; `--notify-fd` needs a descriptor number of 3 or more;
//! `--exec` excludes everything the supervisor does (readiness, `--cgroup`, `--forking`,
//! `--init`), and `--init` and `--forking` exclude readiness (`exclusive`); `--keep-caps` needs
//! `--user`; `--chdir` and `--chroot` exclude `--preserve-cwd`. The options of features left
//! out of the build are usage errors that name the feature.

#[cfg(feature = "environment")]
use super::environment;
#[cfg(feature = "environment")]
use super::environment::Settings;
#[cfg(any(feature = "readiness", feature = "log", feature = "respawn"))]
use super::options::parse_decimal;
use super::options::{parse_seconds, Argument, Options, Scanner, UsageError};
use core::ffi::CStr;
use core::time::Duration;
use ucw_daemon::daemon::Flags;

/// The command-line options; [`parse`] relies on their order.
pub const OPTIONS: Options = crate::options![
    "pid-file" = value,
    "user" = value,
    "group" = value,
    "preserve-cwd",
    "foreground",
    "exec",
    "notify-fd" = value,
    "notify-socket",
    "stdout" = value,
    "stderr" = value,
    "help",
    "version",
    "kill-tree-after" = value,
    "cgroup" = value,
    "forking",
    "forking-pid-file" = value,
    "init",
    "signal-group",
    // The environment feature's options; the parser finds them by name (`index_of`).
    "rlimit" = value,
    "nice" = value,
    "oom-score-adj" = value,
    "umask" = value,
    "chdir" = value,
    "chroot" = value,
    "env" = value,
    "unset" = value,
    "env-file" = value,
    "clear-env",
    "no-new-privs",
    "keep-caps" = value,
    "dry-run",
    "log" = value,
    "log-max" = value,
    "log-keep" = value,
    "respawn" = optional,
    "respawn-delay" = value,
    "respawn-max-delay" = value,
    "respawn-reset" = value,
    "respawn-max" = value,
];

const LOG: usize = OPTIONS.index_of("log");
const LOG_MAX: usize = OPTIONS.index_of("log-max");
const LOG_KEEP: usize = OPTIONS.index_of("log-keep");
const RESPAWN: usize = OPTIONS.index_of("respawn");
#[cfg_attr(not(feature = "respawn"), allow(dead_code))]
const RESPAWN_DELAY: usize = OPTIONS.index_of("respawn-delay");
#[cfg_attr(not(feature = "respawn"), allow(dead_code))]
const RESPAWN_MAX_DELAY: usize = OPTIONS.index_of("respawn-max-delay");
#[cfg_attr(not(feature = "respawn"), allow(dead_code))]
const RESPAWN_RESET: usize = OPTIONS.index_of("respawn-reset");
const RESPAWN_MAX: usize = OPTIONS.index_of("respawn-max");

/// When `--respawn` starts the program again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Respawn {
    /// Never (no `--respawn`).
    Never,
    /// After every death (`--respawn`, `--respawn=always`).
    Always,
    /// After a non-zero exit or a death by signal (`--respawn=on-failure`).
    OnFailure,
}

/// `--respawn`'s backoff: the delays, when it is reset, when it gives up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// `--respawn-delay` (default 1 s): the first wait, doubled after each death.
    pub delay: Duration,
    /// `--respawn-max-delay` (default 60 s): the longest wait.
    pub max_delay: Duration,
    /// `--respawn-reset` (default 60 s): a program that ran this long starts the count and the
    /// delay afresh.
    pub reset: Duration,
    /// `--respawn-max` (default 10): deaths without such a reset after which the service
    /// ends (0: never gives up).
    pub max: u32,
}

/// `--respawn`'s defaults.
pub const DEFAULT_BACKOFF: Backoff = Backoff {
    delay: Duration::from_secs(1),
    max_delay: Duration::from_secs(60),
    reset: Duration::from_secs(60),
    max: 10,
};

/// `--log-max`'s default: 1 MiB.
pub const DEFAULT_LOG_MAX: u64 = 1 << 20;
/// `--log-keep`'s default.
pub const DEFAULT_LOG_KEEP: u32 = 3;
/// The most rotated files `--log-keep` may ask for (`FILE.1` … `FILE.99`).
pub const LOG_KEEP_LIMIT: u64 = 99;

/// How long what is left of the service gets between SIGTERM and SIGKILL when the program has
/// ended, unless `--kill-tree-after` says otherwise.
pub const DEFAULT_KILL_TREE_AFTER: Duration = Duration::from_secs(5);

const RLIMIT: usize = OPTIONS.index_of("rlimit");
#[cfg(feature = "environment")]
const NICE: usize = OPTIONS.index_of("nice");
#[cfg(feature = "environment")]
const OOM_SCORE_ADJ: usize = OPTIONS.index_of("oom-score-adj");
#[cfg(feature = "environment")]
const UMASK: usize = OPTIONS.index_of("umask");
#[cfg(feature = "environment")]
const CHDIR: usize = OPTIONS.index_of("chdir");
#[cfg(feature = "environment")]
const CHROOT: usize = OPTIONS.index_of("chroot");
#[cfg(feature = "environment")]
const ENV: usize = OPTIONS.index_of("env");
#[cfg(feature = "environment")]
const UNSET: usize = OPTIONS.index_of("unset");
#[cfg(feature = "environment")]
const ENV_FILE: usize = OPTIONS.index_of("env-file");
#[cfg(feature = "environment")]
const CLEAR_ENV: usize = OPTIONS.index_of("clear-env");
#[cfg(feature = "environment")]
const NO_NEW_PRIVS: usize = OPTIONS.index_of("no-new-privs");
#[cfg(feature = "environment")]
const KEEP_CAPS: usize = OPTIONS.index_of("keep-caps");
const DRY_RUN: usize = OPTIONS.index_of("dry-run");

/// How the program announces that it is ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notify {
    /// It is ready once it runs (the exec succeeded).
    Exec,
    /// It writes a newline to this descriptor (s6).
    #[cfg(feature = "readiness")]
    Descriptor(u32),
    /// It sends `READY=1` to `$NOTIFY_SOCKET` (systemd).
    #[cfg(feature = "readiness")]
    Socket,
}

/// A complete, checked `ucw-daemonize` command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// `--pid-file`.
    pub pid_file: Option<&'a CStr>,
    /// `--user` (a name or `#uid`, as given).
    pub user: Option<&'a CStr>,
    /// `--group` (a name or `#gid`, as given).
    pub group: Option<&'a CStr>,
    /// `--preserve-cwd`, `--foreground`.
    pub flags: Flags,
    /// `--foreground` (the library's [`Flags::SIMULATE`]).
    pub foreground: bool,
    /// `--exec`.
    pub exec: bool,
    /// `--notify-fd`, `--notify-socket`.
    pub notify: Notify,
    /// `--stdout`.
    pub stdout: Option<&'a CStr>,
    /// `--stderr`.
    pub stderr: Option<&'a CStr>,
    /// The number of words of the program's command line, left at the front of the
    /// arguments.
    pub command: usize,
    /// `--kill-tree-after` (default [`DEFAULT_KILL_TREE_AFTER`]).
    pub kill_tree_after: Duration,
    /// `--cgroup`.
    pub cgroup: Option<&'a CStr>,
    /// `--forking` (implied by `--forking-pid-file`).
    pub forking: bool,
    /// `--forking-pid-file`.
    pub forking_pid_file: Option<&'a CStr>,
    /// `--init`.
    pub init: bool,
    /// `--signal-group`.
    pub signal_group: bool,
    /// `--log`: the program's stdout and stderr go through the supervisor to this file.
    pub log: Option<&'a CStr>,
    /// `--log-max` in bytes (default [`DEFAULT_LOG_MAX`]): rotate before the file grows past it.
    pub log_max: u64,
    /// `--log-keep` (default [`DEFAULT_LOG_KEEP`]): how many rotated files are kept.
    pub log_keep: u32,
    /// `--respawn[=always|on-failure]`.
    pub respawn: Respawn,
    /// `--respawn-delay`, `--respawn-max-delay`, `--respawn-reset`, `--respawn-max`.
    pub backoff: Backoff,
    /// The environment feature's options.
    #[cfg(feature = "environment")]
    pub settings: Settings<'a>,
}

/// What the command line asks for.
// A request is a few KiB (the environment options, by value: no heap) and is made once.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invocation<'a> {
    /// `--help`.
    Help,
    /// `--version`.
    Version,
    /// Daemonize the program.
    Run(Request<'a>),
}

/// Parses `ucw-daemonize`'s arguments (program name excluded). The program's own options
/// follow it, so the first operand ends ours (no permutation); the program's command line is
/// left at the front of `arguments`.
pub fn parse<'a, A: Argument<'a>>(arguments: &mut [A]) -> Result<Invocation<'a>, UsageError<'a>> {
    let mut scanner = Scanner::new(OPTIONS, arguments, false);
    let mut request = Request {
        pid_file: None,
        user: None,
        group: None,
        flags: Flags::default(),
        foreground: false,
        exec: false,
        notify: Notify::Exec,
        stdout: None,
        stderr: None,
        command: 0,
        kill_tree_after: DEFAULT_KILL_TREE_AFTER,
        cgroup: None,
        forking: false,
        forking_pid_file: None,
        init: false,
        signal_group: false,
        log: None,
        log_max: DEFAULT_LOG_MAX,
        log_keep: DEFAULT_LOG_KEEP,
        respawn: Respawn::Never,
        backoff: DEFAULT_BACKOFF,
        #[cfg(feature = "environment")]
        settings: Settings::NONE,
    };
    while let Some(found) = scanner.next_option()? {
        let name = OPTIONS.name(found.index);
        let value = found.value.unwrap_or(c"");
        if found.value.is_some() && value.is_empty() {
            return Err(UsageError::EmptyValue(name));
        }
        match found.index {
            0 => request.pid_file = Some(value),
            1 => request.user = Some(value),
            2 => request.group = Some(value),
            3 => request.flags = request.flags | Flags::PRESERVE_CWD,
            4 => {
                request.flags = request.flags | Flags::SIMULATE;
                request.foreground = true;
            }
            5 => request.exec = true,
            #[cfg(feature = "readiness")]
            6 => match parse_decimal(value.to_bytes(), i32::MAX as u64) {
                Some(number) if number >= 3 => request.notify = Notify::Descriptor(number as u32),
                _ => return Err(UsageError::BadDescriptor(name, value)),
            },
            #[cfg(feature = "readiness")]
            7 => request.notify = Notify::Socket,
            #[cfg(not(feature = "readiness"))]
            6 | 7 => return Err(UsageError::NotBuilt(name, b"readiness")),
            #[cfg(feature = "output-files")]
            8 => request.stdout = Some(value),
            #[cfg(feature = "output-files")]
            9 => request.stderr = Some(value),
            #[cfg(not(feature = "output-files"))]
            8 | 9 => return Err(UsageError::NotBuilt(name, b"output-files")),
            10 => return Ok(Invocation::Help),
            11 => return Ok(Invocation::Version),
            12 => {
                request.kill_tree_after =
                    parse_seconds(value.to_bytes()).ok_or(UsageError::BadDuration(name, value))?
            }
            #[cfg(feature = "environment")]
            RLIMIT..=DRY_RUN => parse_setting(found.index, name, value, &mut request.settings)?,
            #[cfg(not(feature = "environment"))]
            RLIMIT..=DRY_RUN => return Err(UsageError::NotBuilt(name, b"environment")),
            #[cfg(feature = "tree")]
            13 => request.cgroup = Some(value),
            #[cfg(feature = "tree")]
            14 => request.forking = true,
            #[cfg(feature = "tree")]
            15 => {
                request.forking = true;
                request.forking_pid_file = Some(value);
            }
            #[cfg(feature = "tree")]
            16 => request.init = true,
            #[cfg(feature = "tree")]
            17 => request.signal_group = true,
            #[cfg(not(feature = "tree"))]
            13..=17 => return Err(UsageError::NotBuilt(name, b"tree")),
            #[cfg(feature = "log")]
            index if index == LOG => request.log = Some(value),
            #[cfg(feature = "log")]
            index if index == LOG_MAX => {
                request.log_max = parse_size(value.to_bytes()).ok_or(UsageError::BadValue(
                    name,
                    value,
                    b"bytes (10K, 1M)",
                ))?
            }
            #[cfg(feature = "log")]
            index if index == LOG_KEEP => {
                request.log_keep = parse_decimal(value.to_bytes(), LOG_KEEP_LIMIT).ok_or(
                    UsageError::BadValue(name, value, b"a number of files (0 to 99)"),
                )? as u32
            }
            #[cfg(not(feature = "log"))]
            index if index == LOG || index == LOG_MAX || index == LOG_KEEP => {
                return Err(UsageError::NotBuilt(name, b"log"))
            }
            #[cfg(feature = "respawn")]
            index if index == RESPAWN => {
                request.respawn = match found.value.map(CStr::to_bytes) {
                    None | Some(b"always") => Respawn::Always,
                    Some(b"on-failure") => Respawn::OnFailure,
                    Some(_) => {
                        return Err(UsageError::BadValue(name, value, b"always or on-failure"))
                    }
                }
            }
            #[cfg(feature = "respawn")]
            index
                if index == RESPAWN_DELAY
                    || index == RESPAWN_MAX_DELAY
                    || index == RESPAWN_RESET =>
            {
                let seconds =
                    parse_seconds(value.to_bytes()).ok_or(UsageError::BadDuration(name, value))?;
                *match index {
                    RESPAWN_DELAY => &mut request.backoff.delay,
                    RESPAWN_MAX_DELAY => &mut request.backoff.max_delay,
                    _ => &mut request.backoff.reset,
                } = seconds;
            }
            #[cfg(feature = "respawn")]
            index if index == RESPAWN_MAX => {
                request.backoff.max = parse_decimal(value.to_bytes(), u64::from(u32::MAX))
                    .ok_or(UsageError::BadValue(name, value, b"a number of deaths"))?
                    as u32
            }
            #[cfg(not(feature = "respawn"))]
            index if (RESPAWN..=RESPAWN_MAX).contains(&index) => {
                return Err(UsageError::NotBuilt(name, b"respawn"))
            }
            _ => unreachable!(),
        }
    }
    exclusive(&request)?;
    #[cfg(feature = "environment")]
    {
        let settings = &request.settings;
        if settings.keep_capabilities != 0 && request.user.is_none() {
            return Err(UsageError::Requires(b"keep-caps", b"user"));
        }
        if request.flags | Flags::PRESERVE_CWD == request.flags {
            if settings.root_directory.is_some() {
                return Err(UsageError::Exclusive(b"chroot", b"preserve-cwd"));
            }
            if settings.working_directory.is_some() {
                return Err(UsageError::Exclusive(b"chdir", b"preserve-cwd"));
            }
        }
    }
    request.command = scanner.operands();
    if request.command == 0 {
        return Err(UsageError::MissingProgram);
    }
    Ok(Invocation::Run(request))
}

/// The options that exclude each other: `--exec` (no supervisor) with everything the
/// supervisor does, `--init` and `--forking` with readiness (an init has no launcher to tell;
/// a forking program is ready when it has forked), and `--log` (the program's output through
/// the supervisor's pipe) with the other places for that output, with `--exec` and with
/// `--forking` (whose wait for the main process does not read the pipe); `--respawn` (the
/// supervisor starts the program again) with `--exec` and `--forking`.
fn exclusive(request: &Request<'_>) -> Result<(), UsageError<'static>> {
    let readiness: Option<&'static [u8]> = match request.notify {
        Notify::Exec => None,
        #[cfg(feature = "readiness")]
        Notify::Socket => Some(b"notify-socket"),
        #[cfg(feature = "readiness")]
        Notify::Descriptor(_) => Some(b"notify-fd"),
    };
    let forking: Option<&'static [u8]> = request.forking.then_some(b"forking");
    let pairs: [Pair; 7] = [
        (request.exec, b"exec", readiness),
        (
            request.exec,
            b"exec",
            request.cgroup.map(|_| &b"cgroup"[..]),
        ),
        (request.exec, b"exec", forking),
        (request.exec, b"exec", request.init.then_some(&b"init"[..])),
        (request.init, b"init", readiness),
        (request.forking, b"forking", readiness),
        (request.init, b"init", forking),
    ];
    first_pair_set(&pairs)?;
    #[cfg(any(feature = "log", feature = "respawn"))]
    {
        let (log, respawn) = (request.log.is_some(), request.respawn != Respawn::Never);
        let exec: Option<&'static [u8]> = request.exec.then_some(b"exec");
        let pairs: [Pair; 6] = [
            (log, b"log", exec),
            (log, b"log", request.stdout.map(|_| &b"stdout"[..])),
            (log, b"log", request.stderr.map(|_| &b"stderr"[..])),
            (log, b"log", forking),
            (respawn, b"respawn", exec),
            (respawn, b"respawn", forking),
        ];
        first_pair_set(&pairs)?;
    }
    Ok(())
}

/// Whether the first option is set, its name, and the second's name when it is set.
type Pair = (bool, &'static [u8], Option<&'static [u8]>);

/// The usage error of the first pair whose two options are both set.
fn first_pair_set(pairs: &[Pair]) -> Result<(), UsageError<'static>> {
    for &(set, first, second) in pairs {
        if let (true, Some(second)) = (set, second) {
            return Err(UsageError::Exclusive(first, second));
        }
    }
    Ok(())
}

/// A size in bytes: decimal digits, optionally followed by `K` or `M` (KiB, MiB; either
/// case), at least 1 byte.
#[cfg(feature = "log")]
pub fn parse_size(text: &[u8]) -> Option<u64> {
    let (digits, unit) = match text.last()? {
        b'K' | b'k' => (&text[..text.len() - 1], 1 << 10),
        b'M' | b'm' => (&text[..text.len() - 1], 1 << 20),
        _ => (text, 1),
    };
    parse_decimal(digits, u64::MAX)?
        .checked_mul(unit)
        .filter(|&size| size > 0)
}

/// What the environment options with a checked value expect, by option from `--nice` on
/// (NUL-terminated; empty for the options whose value is taken as it is).
#[cfg(feature = "environment")]
const EXPECTED: &[u8] = b"a number from -20 to 19\0a number from -1000 to 1000\0\
    an octal mask from 0 to 0777\0\0\0NAME=VALUE (a name without blanks)\0\
    a variable name (no =, no blanks)\0";

/// One environment option (index `index` of [`OPTIONS`], named `name`, its value `value`,
/// empty for a flag) into `settings`. A value that is not what the option expects is one
/// usage error, its expectation from [`EXPECTED`].
#[cfg(feature = "environment")]
fn parse_setting<'a>(
    index: usize,
    name: &'static [u8],
    value: &'a CStr,
    settings: &mut Settings<'a>,
) -> Result<(), UsageError<'a>> {
    let text = value.to_bytes();
    let valid = match index {
        RLIMIT => return environment::parse_limit(value, settings),
        NICE => environment::parse_signed(text, -20, 19).map(|nice| settings.nice = nice),
        OOM_SCORE_ADJ => environment::parse_signed(text, -1000, 1000)
            .map(|score| settings.oom_score_adj = Some(score as i16)),
        UMASK => environment::parse_umask(text).map(|mask| settings.umask = Some(mask)),
        CHDIR => {
            settings.working_directory = Some(value);
            Some(())
        }
        CHROOT => {
            settings.root_directory = Some(value);
            Some(())
        }
        ENV => environment::variable_name_length(text).map(drop),
        UNSET => environment::is_variable_name(text).then_some(()),
        ENV_FILE => Some(()),
        CLEAR_ENV => {
            settings.clear_environment = true;
            Some(())
        }
        NO_NEW_PRIVS => {
            settings.no_new_privs = true;
            Some(())
        }
        KEEP_CAPS => {
            settings.keep_capabilities |= environment::parse_capabilities(value)?;
            Some(())
        }
        _ => {
            settings.dry_run = true;
            Some(())
        }
    };
    if valid.is_none() {
        return Err(UsageError::Invalid(
            name,
            value,
            environment::name_at(EXPECTED, index - NICE),
        ));
    }
    if (ENV..=ENV_FILE).contains(&index) {
        settings.add_variable((index - ENV) as u8, value)?;
    }
    Ok(())
}
