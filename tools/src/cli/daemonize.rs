//! `ucw-daemonize`'s command line: `ucw-daemonize [OPTION]... [--] PROGRAM [ARG]...`, parsed
//! into a complete, checked [`Request`].
//!
//! This file owns what the daemonizer accepts. The program's own options follow it, so the
//! first operand ends ours (no permutation, whatever `POSIXLY_CORRECT` says). An empty value
//! (`--pid-file=`) is a usage error; `--notify-fd` needs a descriptor number of 3 or more;
//! `--exec` excludes readiness (the supervisor is what waits for it); `--keep-caps` needs
//! `--user`; `--chdir` and `--chroot` exclude `--preserve-cwd`. The options of features left
//! out of the build are usage errors that name the feature.

use super::environment::Settings;
#[cfg(feature = "environment")]
use super::environment::{self, Variable};
#[cfg(feature = "readiness")]
use super::options::parse_decimal;
use super::options::{option, Argument, LongOption, Scanner, UsageError};
use core::ffi::CStr;
use ucw_daemon::daemon::Flags;

/// The command-line options; [`parse`] relies on their order.
pub const OPTIONS: &[LongOption] = &[
    option("pid-file", true),
    option("user", true),
    option("group", true),
    option("preserve-cwd", false),
    option("foreground", false),
    option("exec", false),
    option("notify-fd", true),
    option("notify-socket", false),
    option("stdout", true),
    option("stderr", true),
    option("help", false),
    option("version", false),
    // The environment feature's options; the parser finds them by name (`index_of`).
    option("rlimit", true),
    option("nice", true),
    option("oom-score-adj", true),
    option("umask", true),
    option("chdir", true),
    option("chroot", true),
    option("env", true),
    option("unset", true),
    option("env-file", true),
    option("clear-env", false),
    option("no-new-privs", false),
    option("keep-caps", true),
    option("dry-run", false),
];

/// The index of option `name` in [`OPTIONS`] (at compile time: a name that is not there does
/// not build).
const fn index_of(name: &str) -> usize {
    let mut index = 0;
    while index < OPTIONS.len() {
        let known = OPTIONS[index].name.as_bytes();
        let wanted = name.as_bytes();
        if known.len() == wanted.len() {
            let mut at = 0;
            while at < known.len() && known[at] == wanted[at] {
                at += 1;
            }
            if at == known.len() {
                return index;
            }
        }
        index += 1;
    }
    panic!("no such option")
}

const RLIMIT: usize = index_of("rlimit");
#[cfg(feature = "environment")]
const NICE: usize = index_of("nice");
#[cfg(feature = "environment")]
const OOM_SCORE_ADJ: usize = index_of("oom-score-adj");
#[cfg(feature = "environment")]
const UMASK: usize = index_of("umask");
#[cfg(feature = "environment")]
const CHDIR: usize = index_of("chdir");
#[cfg(feature = "environment")]
const CHROOT: usize = index_of("chroot");
#[cfg(feature = "environment")]
const ENV: usize = index_of("env");
#[cfg(feature = "environment")]
const UNSET: usize = index_of("unset");
#[cfg(feature = "environment")]
const ENV_FILE: usize = index_of("env-file");
#[cfg(feature = "environment")]
const CLEAR_ENV: usize = index_of("clear-env");
#[cfg(feature = "environment")]
const NO_NEW_PRIVS: usize = index_of("no-new-privs");
#[cfg(feature = "environment")]
const KEEP_CAPS: usize = index_of("keep-caps");
const DRY_RUN: usize = index_of("dry-run");
const HELP: usize = index_of("help");

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
    /// The environment feature's options.
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
        settings: Settings::NONE,
    };
    while let Some(found) = scanner.next_option()? {
        let name = OPTIONS[found.index].name;
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
                _ => {
                    return Err(UsageError::Invalid(
                        name,
                        value,
                        "a descriptor number of 3 or more",
                    ))
                }
            },
            #[cfg(feature = "readiness")]
            7 => request.notify = Notify::Socket,
            #[cfg(not(feature = "readiness"))]
            6 | 7 => return Err(UsageError::NotBuilt(name, "readiness")),
            #[cfg(feature = "output-files")]
            8 => request.stdout = Some(value),
            #[cfg(feature = "output-files")]
            9 => request.stderr = Some(value),
            #[cfg(not(feature = "output-files"))]
            8 | 9 => return Err(UsageError::NotBuilt(name, "output-files")),
            HELP => return Ok(Invocation::Help),
            #[cfg(feature = "environment")]
            RLIMIT..=DRY_RUN => parse_setting(found.index, value, &mut request.settings)?,
            #[cfg(not(feature = "environment"))]
            RLIMIT..=DRY_RUN => return Err(UsageError::NotBuilt(name, "environment")),
            _ => return Ok(Invocation::Version),
        }
    }
    #[cfg(feature = "environment")]
    {
        let settings = &request.settings;
        if settings.keep_capabilities != 0 && request.user.is_none() {
            return Err(UsageError::Requires("keep-caps", "user"));
        }
        if request.flags | Flags::PRESERVE_CWD == request.flags {
            if settings.root_directory.is_some() {
                return Err(UsageError::Exclusive("chroot", "preserve-cwd"));
            }
            if settings.working_directory.is_some() {
                return Err(UsageError::Exclusive("chdir", "preserve-cwd"));
            }
        }
    }
    #[cfg(feature = "readiness")]
    if request.exec && request.notify != Notify::Exec {
        let readiness = match request.notify {
            Notify::Socket => "notify-socket",
            _ => "notify-fd",
        };
        return Err(UsageError::Exclusive("exec", readiness));
    }
    request.command = scanner.operands();
    if request.command == 0 {
        return Err(UsageError::MissingProgram);
    }
    Ok(Invocation::Run(request))
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
                "nice",
                value,
                "a number from -20 to 19",
            ))?
        }
        OOM_SCORE_ADJ => {
            let score = environment::parse_signed(text, -1000, 1000).ok_or(UsageError::Invalid(
                "oom-score-adj",
                value,
                "a number from -1000 to 1000",
            ))?;
            settings.oom_score_adj = Some(score as i16);
        }
        UMASK => {
            settings.umask = Some(environment::parse_umask(text).ok_or(UsageError::Invalid(
                "umask",
                value,
                "an octal mask from 0 to 0777",
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
