//! `ucw-daemonize`'s command line: `ucw-daemonize [OPTION]... [--] PROGRAM [ARG]...`, parsed
//! into a complete, checked [`Request`].
//!
//! This file owns what the daemonizer accepts. The program's own options follow it, so the
//! first operand ends ours (no permutation, whatever `POSIXLY_CORRECT` says). An empty value
//! (`--pid-file=`) is a usage error; `--notify-fd` needs a descriptor number of 3 or more;
//! `--exec` excludes everything the supervisor does (readiness, `--cgroup`, `--forking`,
//! `--init`), and `--init` and `--forking` exclude readiness (`exclusive`). The options of
//! features left out of the build are usage errors that name the feature.

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
];

/// How long what is left of the service gets between SIGTERM and SIGKILL when the program has
/// ended, unless `--kill-tree-after` says otherwise.
pub const DEFAULT_KILL_TREE_AFTER: Duration = Duration::from_secs(5);

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
        kill_tree_after: DEFAULT_KILL_TREE_AFTER,
        cgroup: None,
        forking: false,
        forking_pid_file: None,
        init: false,
        signal_group: false,
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
