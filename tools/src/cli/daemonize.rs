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
use super::environment::Settings;
#[cfg(feature = "environment")]
use super::environment::{self, Variable};
#[cfg(feature = "readiness")]
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
];

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
            RLIMIT..=DRY_RUN => parse_setting(found.index, value, &mut request.settings)?,
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
            _ => return Err(UsageError::NotBuilt(name, b"tree")),
            #[cfg(feature = "tree")]
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
/// a forking program is ready when it has forked).
fn exclusive(request: &Request<'_>) -> Result<(), UsageError<'static>> {
    let readiness: Option<&'static [u8]> = match request.notify {
        Notify::Exec => None,
        #[cfg(feature = "readiness")]
        Notify::Socket => Some(b"notify-socket"),
        #[cfg(feature = "readiness")]
        Notify::Descriptor(_) => Some(b"notify-fd"),
    };
    /// Whether the first option is set, its name, and the second's name when it is set.
    type Pair = (bool, &'static [u8], Option<&'static [u8]>);
    let pairs: [Pair; 7] = [
        (request.exec, b"exec", readiness),
        (
            request.exec,
            b"exec",
            request.cgroup.map(|_| &b"cgroup"[..]),
        ),
        (
            request.exec,
            b"exec",
            request.forking.then_some(&b"forking"[..]),
        ),
        (request.exec, b"exec", request.init.then_some(&b"init"[..])),
        (request.init, b"init", readiness),
        (request.forking, b"forking", readiness),
        (
            request.init,
            b"init",
            request.forking.then_some(&b"forking"[..]),
        ),
    ];
    for (set, first, second) in pairs {
        if let (true, Some(second)) = (set, second) {
            return Err(UsageError::Exclusive(first, second));
        }
    }
    Ok(())
}

/// One environment option (index `index` of [`OPTIONS`], its value `value`, empty for a flag)
/// into `settings`.
#[cfg(feature = "environment")]
fn parse_setting<'a>(
    index: usize,
    value: &'a CStr,
    settings: &mut Settings<'a>,
) -> Result<(), UsageError<'a>> {
    let text = value.to_bytes();
    match index {
        RLIMIT => environment::parse_limit(value, settings)?,
        NICE => {
            settings.nice = environment::parse_signed(text, -20, 19).ok_or(UsageError::Invalid(
                b"nice",
                value,
                b"a number from -20 to 19",
            ))?
        }
        OOM_SCORE_ADJ => {
            let score = environment::parse_signed(text, -1000, 1000).ok_or(UsageError::Invalid(
                b"oom-score-adj",
                value,
                b"a number from -1000 to 1000",
            ))?;
            settings.oom_score_adj = Some(score as i16);
        }
        UMASK => {
            settings.umask = Some(environment::parse_umask(text).ok_or(UsageError::Invalid(
                b"umask",
                value,
                b"an octal mask from 0 to 0777",
            ))?)
        }
        CHDIR => settings.working_directory = Some(value),
        CHROOT => settings.root_directory = Some(value),
        ENV => {
            environment::check_assignment(value)?;
            settings.add_variable(Variable::Set(value))?;
        }
        UNSET => {
            environment::check_name(value)?;
            settings.add_variable(Variable::Unset(value))?;
        }
        ENV_FILE => settings.add_variable(Variable::File(value))?,
        CLEAR_ENV => settings.clear_environment = true,
        NO_NEW_PRIVS => settings.no_new_privs = true,
        KEEP_CAPS => settings.keep_capabilities |= environment::parse_capabilities(value)?,
        _ => settings.dry_run = true,
    }
    Ok(())
}
