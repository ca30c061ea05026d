//! `ucw-daemonize`'s command line: `ucw-daemonize [OPTION]... [--] PROGRAM [ARG]...`, parsed
//! into a complete, checked [`Request`].
//!
//! This file owns what the daemonizer accepts. The program's own options follow it, so the
//! first operand ends ours (no permutation, whatever `POSIXLY_CORRECT` says). An empty value
//! (`--pid-file=`) is a usage error; `--notify-fd` needs a descriptor number of 3 or more;
//! `--exec` excludes readiness (the supervisor is what waits for it). The options of features
//! left out of the build are usage errors that name the feature.

#[cfg(feature = "readiness")]
use super::options::parse_decimal;
use super::options::{Argument, Options, Scanner, UsageError};
use core::ffi::CStr;
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
];

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
}

/// What the command line asks for.
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
            _ => return Ok(Invocation::Version),
        }
    }
    #[cfg(feature = "readiness")]
    if request.exec && request.notify != Notify::Exec {
        let readiness: &[u8] = match request.notify {
            Notify::Socket => b"notify-socket",
            _ => b"notify-fd",
        };
        return Err(UsageError::Exclusive(b"exec", readiness));
    }
    request.command = scanner.operands();
    if request.command == 0 {
        return Err(UsageError::MissingProgram);
    }
    Ok(Invocation::Run(request))
}
