//! `ucw-daemon-control`: LibUCW's daemon-control tool, a drop-in replacement. It parses the
//! command line ([`ucw_daemon::cli::parse_control`]), performs the action
//! ([`ucw_daemon::control::control`]) and turns the outcome into LibUCW's exit codes:
//! 0 ok, 1 bad usage, 100 already done, 101 not running, 102 error (`<prog>: <message>` on
//! stderr), 103 stale.
//!
//! This file owns only the glue between the kernel's command line and the library, and the
//! help text. It must never use `core::fmt` or allocate (the tool is static, libc-free and
//! has an 8,192-byte budget), and never hold anything open across the action: the library
//! decides every system call.
#![no_std]
#![no_main]

#[path = "../rt/mod.rs"]
mod rt;

use ucw_daemon::cli::{parse_control, ControlInvocation, PATH_CAPACITY};
use ucw_daemon::control::{Guard, Params, EXIT_ERROR, EXIT_USAGE};
use ucw_daemon::error::ERROR_CAPACITY;
use ucw_daemon::text::Message;

/// The name used in messages when the program was started without `argv[0]`.
const NAME: &[u8] = b"ucw-daemon-control";

/// The synopsis, printed after `Usage: <prog>` by `--help` and after every usage error.
const SYNOPSIS: &[u8] =
    b" --start|--stop|--check|--reload --pid-file FILE [OPTION]... [--] [DAEMON ARG...]\n";

/// The rest of `--help` (kept short: every byte counts against the tool's budget).
const HELP: &[u8] = b"  --guard-file FILE     default: X.pid -> X.lock
  --signal SIG          for --stop (TERM) or --reload (HUP)
  --timeout SECONDS     limit every wait (0.5 works)
  --kill-after-timeout  --stop: then SIGKILL and wait again
  --help, --version
Exit: 0 done, 1 usage, 100 already done, 101 not running, 102 error, 103 stale
";

fn main(mut startup: rt::Startup) -> i32 {
    let program = startup.program_name(NAME);
    // glibc's getopt_long stops permuting when POSIXLY_CORRECT is set; so do we.
    let permute = startup.env(b"POSIXLY_CORRECT").is_none();
    let mut guard_buffer = [0u8; PATH_CAPACITY];
    let mut line = Message::<ERROR_CAPACITY>::new();
    let invocation = parse_control(startup.arguments(), permute, &mut guard_buffer);
    let request = match invocation {
        Ok(ControlInvocation::Run(request)) => request,
        Ok(ControlInvocation::Help) => {
            line.push_bytes(b"Usage: ").push_bytes(program);
            rt::write_all(1, line.as_bytes());
            rt::write_all(1, SYNOPSIS);
            rt::write_all(1, HELP);
            return 0;
        }
        Ok(ControlInvocation::Version) => {
            rt::write_all(
                1,
                concat!("ucw-daemon-control ", env!("CARGO_PKG_VERSION"), "\n").as_bytes(),
            );
            return 0;
        }
        Err(error) => {
            line.push_bytes(program).push_bytes(b": ");
            error.describe(&mut line);
            line.push_bytes(b"\nUsage: ").push_bytes(program);
            rt::write_all(2, line.as_bytes());
            rt::write_all(2, SYNOPSIS);
            return EXIT_USAGE;
        }
    };
    let params = Params {
        pid_file: request.pid_file,
        guard_file: request.guard_file,
        action: request.action,
        // `arguments()` started at argv[1].
        program: startup.argument_list(request.command + 1),
        environment: startup.environment(),
        signal: request.signal,
        timeout: request.timeout,
        escalate: request.escalate,
    };
    // Tests stop the tool here (UCW_FAILPOINT) to prove the arming works: the command line
    // is parsed and nothing has been touched yet.
    ucw_daemon::failpoint::hit("control-tool-parsed");
    // The guard is released by exit itself: no close on the way out (the --check budget).
    let outcome = Guard::take(&params).and_then(|guard| {
        let status = guard.act(&params);
        guard.keep_until_exit();
        status
    });
    match outcome {
        Ok(status) => status.exit_code(),
        Err(error) => {
            line.push_bytes(program)
                .push_bytes(b": ")
                .push_bytes(error.as_bytes())
                .push_bytes(b"\n");
            rt::write_all(2, line.as_bytes());
            EXIT_ERROR
        }
    }
}
