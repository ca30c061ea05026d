//! LibUCW's example daemon (the spec's `daemon_body` / `main` skeleton) as a complete std
//! program on this library.
//!
//! ```text
//! spec_daemon /run/spec_daemon.pid
//! ucw-daemon-control --start --pid-file /run/spec_daemon.pid -- spec_daemon /run/spec_daemon.pid
//! ```
//!
//! It locks the PID file given as its only argument, forks the daemon and returns. The daemon
//! logs a line to stderr on SIGHUP (a reload) and on SIGTERM empties its PID file
//! ([`Running::exit`]) and exits 0. Signals are read from a signalfd rather than caught by
//! handlers: they are blocked before the fork, so one sent while the daemon starts waits for
//! it instead of killing it with the PID file still full.

use std::ffi::CString;
use std::io::Write;
use std::process::ExitCode;
use ucw_daemon::credentials::Credentials;
use ucw_daemon::daemon::{self, Params, Running};
use ucw_daemon::signal::Signal;
use ucw_daemon::sys::{self, SignalSet};

/// The signals the daemon acts on.
const HANDLED: SignalSet = SignalSet::EMPTY
    .with(Signal::TERM.number())
    .with(Signal::HUP.number());

/// Bytes of one `struct signalfd_siginfo`; the signal number is its first `u32`.
const SIGINFO_SIZE: usize = 128;

/// The daemon's code: wait for signals, log reloads, exit cleanly on SIGTERM.
fn daemon_body(running: Running<'_>) -> i32 {
    let signals = match sys::signalfd(HANDLED, false) {
        Ok(fd) => fd,
        Err(errno) => {
            eprintln!("spec_daemon: cannot create a signalfd: {errno}");
            let _ = running.exit();
            return 1;
        }
    };
    eprintln!("spec_daemon: running as pid {}", std::process::id());
    let mut record = [0u8; SIGINFO_SIZE];
    loop {
        match rustix::io::read(&signals, &mut record) {
            Ok(SIGINFO_SIZE) => {}
            Ok(_) | Err(rustix::io::Errno::INTR) => continue,
            Err(errno) => {
                eprintln!("spec_daemon: cannot read signals: {errno}");
                let _ = running.exit();
                return 1;
            }
        }
        let number = u32::from_ne_bytes([record[0], record[1], record[2], record[3]]);
        if number == Signal::HUP.number() {
            eprintln!("spec_daemon: SIGHUP received, reloading");
            let _ = std::io::stderr().flush();
        } else if number == Signal::TERM.number() {
            eprintln!("spec_daemon: SIGTERM received, exiting");
            // When we are done, release the PID file and exit.
            return match running.exit() {
                Ok(()) => 0,
                Err(error) => {
                    eprintln!("spec_daemon: {error}");
                    1
                }
            };
        }
    }
}

/// Reports a failure to start the daemon; LibUCW's exit code for errors.
fn fail(error: &ucw_daemon::Error) -> ExitCode {
    eprintln!("spec_daemon: {error}");
    ExitCode::from(102)
}

fn main() -> ExitCode {
    let arguments: Vec<_> = std::env::args_os().collect();
    if arguments.len() != 2 {
        eprintln!("Usage: spec_daemon PID_FILE (an absolute path)");
        return ExitCode::from(1);
    }
    let pid_file = CString::new(std::os::unix::ffi::OsStrExt::as_bytes(
        arguments[1].as_os_str(),
    ))
    .expect("no NUL in an argument");
    let params = Params {
        pid_file: Some(&pid_file),
        ..Params::default()
    };
    // Block the signals the daemon reads before it exists (the mask survives fork).
    if let Err(errno) = sys::set_signal_mask(HANDLED) {
        eprintln!("spec_daemon: cannot block signals: {errno}");
        return ExitCode::from(102);
    }
    // The credentials have room for every supplementary group: keep them off the stack.
    let mut credentials = Box::new(Credentials::new());
    let daemon = match daemon::init(&params, &mut credentials) {
        Ok(daemon) => daemon,
        Err(error) => return fail(&error),
    };
    // ... initialize everything the daemon needs here, before the fork ...
    match daemon.run(daemon_body) {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}
