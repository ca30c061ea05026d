//! The `ucw-daemonize` applet: puts any foreground program under the ucw-daemon protocol
//! (docs/design.md §5): `ucw-daemonize [OPTION]... [--] PROGRAM [ARG]...`.
//!
//! This file owns the glue between the kernel's command line and the daemonizer, and the
//! help text. It must never use `core::fmt` or allocate.

use crate::cli::UsageError;
use crate::output::{print, print_usage_error, EXIT_OK};
use crate::rt::{self, Startup};
use ucw_daemon::account::AccountFiles;
use ucw_daemon::control::{StringList, ERROR_EXIT_CODE};
use ucw_daemon::tool::daemonize::{self, Invocation};

/// The synopsis, printed after `Usage: <prog>` by `--help` and after every usage error.
pub const SYNOPSIS: &[u8] = b" [--pid-file FILE] [--user USER|#UID] [--group GROUP|#GID] [OPTION]... [--] PROGRAM [ARG]...\n";

/// The rest of `--help`, the options of features left out of the build left out too.
const HELP: [&[u8]; 4] = [
    b"Run PROGRAM as a daemon under LibUCW's PID-file protocol.
  --pid-file FILE     lock FILE and write the daemon's PID to it
  --user USER|#UID    run as USER (sets USER, LOGNAME, HOME)
  --group GROUP|#GID  run with group GROUP
  --preserve-cwd      stay in the current directory (default: /)
  --foreground        do not detach (no fork, no PID file)
  --exec              no supervisor: PROGRAM holds the PID file itself
",
    if cfg!(feature = "readiness") {
        b"  --notify-fd N       ready when PROGRAM writes a newline to descriptor N
  --notify-socket     ready when PROGRAM sends READY=1 to $NOTIFY_SOCKET
"
    } else {
        b""
    },
    if cfg!(feature = "output-files") {
        b"  --stdout FILE       append PROGRAM's standard output to FILE
  --stderr FILE       append PROGRAM's standard error to FILE
"
    } else {
        b""
    },
    b"  --help, --version
Exit: 0 once PROGRAM runs (and is ready), 1 bad usage, 102 error
",
];

/// Runs the applet as `name` (the name for messages) on the command line of `startup` (its
/// first argument is the program name); returns the exit code.
pub fn main(name: &'static [u8], mut startup: Startup) -> i32 {
    let request = match daemonize::parse(startup.arguments()) {
        Ok(Invocation::Run(request)) => request,
        Ok(Invocation::Help) => {
            print(
                1,
                &[
                    b"Usage: ", name, SYNOPSIS, HELP[0], HELP[1], HELP[2], HELP[3],
                ],
            );
            return EXIT_OK;
        }
        Ok(Invocation::Version) => {
            print(
                1,
                &[concat!("ucw-daemonize ", env!("CARGO_PKG_VERSION"), "\n").as_bytes()],
            );
            return EXIT_OK;
        }
        Err(error) => return print_usage_error(name, &error, SYNOPSIS),
    };
    if let Err(error) = built_in(&request) {
        return print_usage_error(name, &error, SYNOPSIS);
    }
    let environment = startup.environment();
    let Some(credentials) = rt::credentials() else {
        return ERROR_EXIT_CODE;
    };
    daemonize::run(
        &request,
        daemonize::Startup {
            name,
            program: startup.operands(request.command),
            environment,
            account_files: account_files(&environment),
            credentials,
        },
    )
}

/// Where `--user` and `--group` are looked up: `/etc/passwd` and `/etc/group`, except in
/// fault-injection builds (`--cfg ucw_failpoints`), where `UCW_TEST_PASSWD` and
/// `UCW_TEST_GROUP` may name purpose-made files so that the tests never touch `/etc`.
fn account_files(environment: &StringList<'static>) -> AccountFiles<'static> {
    #[cfg(ucw_failpoints)]
    {
        AccountFiles {
            passwd: environment
                .variable(b"UCW_TEST_PASSWD")
                .unwrap_or(c"/etc/passwd"),
            group: environment
                .variable(b"UCW_TEST_GROUP")
                .unwrap_or(c"/etc/group"),
        }
    }
    #[cfg(not(ucw_failpoints))]
    {
        let _ = environment;
        AccountFiles::SYSTEM
    }
}

/// Refuses the options of features this binary was built without.
fn built_in(request: &daemonize::Request<'_>) -> Result<(), UsageError<'static>> {
    #[cfg(not(feature = "readiness"))]
    match request.notify {
        daemonize::Notify::Exec => {}
        daemonize::Notify::Descriptor(_) => {
            return Err(UsageError::NotBuilt("notify-fd", "readiness"))
        }
        daemonize::Notify::Socket => {
            return Err(UsageError::NotBuilt("notify-socket", "readiness"))
        }
    }
    #[cfg(not(feature = "output-files"))]
    if request.stdout.is_some() {
        return Err(UsageError::NotBuilt("stdout", "output-files"));
    } else if request.stderr.is_some() {
        return Err(UsageError::NotBuilt("stderr", "output-files"));
    }
    let _ = request;
    Ok(())
}
