//! The `ucw-daemon-control` applet: LibUCW's daemon-control tool, a drop-in replacement. It
//! parses the command line ([`crate::cli::control`]), performs the action
//! ([`ucw_daemon::control::control`]) and turns the outcome into LibUCW's exit codes:
//! 0 ok, 1 bad usage, 100 already done, 101 not running, 102 error (`<prog>: <message>` on
//! stderr), 103 stale.
//!
//! This file owns only the glue between the kernel's command line and the library, the help
//! text and the `--verbose` line. It must never use `core::fmt` or allocate (the binary is
//! static, libc-free and small), and never hold anything open across the action: the library
//! decides every system call.

use crate::cli::control::{parse_control, ControlInvocation, PATH_CAPACITY};
use crate::output::{print, print_error, print_usage_error, EXIT_OK};
#[cfg(feature = "verbose")]
use crate::rt::decimal;
use crate::rt::Startup;
use ucw_daemon::control::{self, Action, Params, ERROR_EXIT_CODE};

/// The synopsis, printed after `Usage: <prog>` by `--help` and after every usage error (and
/// in `ucw-daemon`'s usage).
pub const SYNOPSIS: &[u8] = if cfg!(feature = "restart") {
    b" --start|--stop|--restart|--check|--reload --pid-file FILE [OPTION]... [--] [DAEMON ARG...]\n"
} else {
    b" --start|--stop|--check|--reload --pid-file FILE [OPTION]... [--] [DAEMON ARG...]\n"
};

/// The rest of `--help` (kept short: every byte counts), the options of features left out of
/// the build left out too.
const HELP: [&[u8]; 4] = [
    if cfg!(feature = "restart") {
        b"  --guard-file FILE     default: X.pid -> X.lock
  --signal SIG          for --stop (TERM) or --reload (HUP)
  --timeout SECONDS     limit every wait (0.5 works; --restart: each phase)
  --kill-after-timeout  --stop, --restart: then SIGKILL and wait again
"
    } else {
        b"  --guard-file FILE     default: X.pid -> X.lock
  --signal SIG          for --stop (TERM) or --reload (HUP)
  --timeout SECONDS     limit every wait (0.5 works)
  --kill-after-timeout  --stop: then SIGKILL and wait again
"
    },
    if cfg!(feature = "verbose") {
        b"  --verbose             say what was seen or done\n"
    } else {
        b""
    },
    if cfg!(feature = "status") {
        b"  --json                --check: print the state as one JSON object
  --lsb                 --check: exit 0 running, 1 stale, 3 not running, 4 error
"
    } else {
        b""
    },
    b"  --help, --version
Exit: 0 done, 1 usage, 100 already done, 101 not running, 102 error, 103 stale
",
];

/// Runs the applet as `program` (the name for messages) on the command line of `startup`
/// (its first argument is the program name); returns the exit code.
pub fn main(program: &'static [u8], mut startup: Startup) -> i32 {
    // glibc's getopt_long stops permuting when POSIXLY_CORRECT is set; so do we.
    let environment = startup.environment();
    let permute = environment.variable(b"POSIXLY_CORRECT").is_none();
    let mut guard_buffer = [0u8; PATH_CAPACITY];
    let request = match parse_control(startup.arguments(), permute, &mut guard_buffer) {
        Ok(ControlInvocation::Run(request)) => request,
        Ok(ControlInvocation::Help) => {
            print(
                1,
                &[
                    b"Usage: ", program, SYNOPSIS, HELP[0], HELP[1], HELP[2], HELP[3],
                ],
            );
            return EXIT_OK;
        }
        Ok(ControlInvocation::Version) => {
            print(
                1,
                &[concat!("ucw-daemon-control ", env!("CARGO_PKG_VERSION"), "\n").as_bytes()],
            );
            return EXIT_OK;
        }
        Err(error) => return print_usage_error(program, &error, SYNOPSIS),
    };
    // START's hint (a launcher that looks like a foreground program) goes to stderr at once,
    // with SIGPIPE blocked first: a reader of stderr that has gone must not end START while
    // its launcher runs (the write fails with EPIPE instead; the launcher was forked before).
    let hint = |hint: &ucw_daemon::Error, params: &Params<'_>| {
        use ucw_daemon::signal::{block, Signal, SignalSet};
        if let Some(pipe) = Signal::parse(b"PIPE") {
            let _ = block(SignalSet::EMPTY.with(pipe));
        }
        print_error(program, hint, params);
    };
    let params = Params {
        pid_file: request.pid_file,
        guard_file: request.guard_file,
        action: request.action,
        program: startup.operands(request.command),
        environment,
        signal: request.signal,
        timeout: request.timeout,
        escalate: request.escalate,
        on_hint: Some(&hint),
    };
    if matches!(request.action, Action::Start | Action::Restart) {
        // An inherited "ignore" would let the kernel reap the launcher before we can read its
        // status (the library then judges by the PID file alone; this is cheaper).
        let _ = ucw_daemon::signal::set_default_action(ucw_daemon::signal::Signal::CHLD);
    }
    // Tests stop the tool here (UCW_FAILPOINT) to prove the arming works: the command line
    // is parsed and nothing has been touched yet.
    #[cfg(ucw_failpoints)]
    ucw_daemon::failpoint::hit("control-tool-parsed");
    #[cfg(feature = "status")]
    if request.json || request.lsb {
        return crate::status::check(program, &params, request.json, request.lsb);
    }
    match control::control(&params) {
        Ok(outcome) => {
            #[cfg(feature = "verbose")]
            if request.verbose {
                say(program, request.action, &outcome);
            }
            let code = outcome.status as i32;
            // The guard and what the action is done with are closed by the exit itself: no
            // close on the way out (budgets.txt's system calls).
            core::mem::forget(outcome);
            code
        }
        Err(error) => {
            print_error(program, &error, &params);
            ERROR_EXIT_CODE
        }
    }
}

/// `--verbose`: one line on stdout saying what the action saw or did (the guard is still
/// held, so it is still true).
#[cfg(feature = "verbose")]
fn say(program: &[u8], action: Action, outcome: &control::Outcome) {
    use control::Status;
    let mut digits = [0u8; 20];
    let pid = match outcome.pid {
        Some(pid) => decimal(pid.as_raw_nonzero().get() as u64, &mut digits),
        None => b"",
    };
    let (what, with_pid): (&[u8], bool) = match (action, outcome.status) {
        (Action::Check, Status::Ok) if pid.is_empty() => (b"starting or stopping", false),
        (Action::Check, Status::Ok) => (b"running", true),
        (_, Status::NotRunning) => (b"not running", false),
        (_, Status::Stale) if matches!(action, Action::Check | Action::Stop) => {
            (b"stale PID file", false)
        }
        (Action::Start | Action::Restart, Status::Ok | Status::Stale) => (b"started", true),
        (Action::Start, Status::AlreadyDone) => (b"already running", true),
        (Action::Stop, Status::Ok) => (b"stopped", false),
        (Action::Stop, Status::AlreadyDone) => (b"already stopped", false),
        (Action::Signal, _) => (b"signalled", true),
        _ => (b"done", false),
    };
    let (open, close): (&[u8], &[u8]) = if with_pid && !pid.is_empty() {
        (b" (pid ", b")")
    } else {
        (b"", b"")
    };
    // CHECK where no guard file could be opened (a read-only place without a readable one):
    // the look at the PID file was not serialised with other controllers.
    let snapshot: &[u8] = if outcome.snapshot {
        b" (a snapshot: no guard file could be opened)"
    } else {
        b""
    };
    let pid = if open.is_empty() { b"" as &[u8] } else { pid };
    print(
        1,
        &[program, b": ", what, open, pid, close, snapshot, b"\n"],
    );
}
