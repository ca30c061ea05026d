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
use ucw_daemon::daemon::Fork;
use ucw_daemon::daemon::{self, Params, Running};
use ucw_daemon::signal::{Signal, SignalSet, Signals};

/// The signals the daemon acts on.
const HANDLED: SignalSet = SignalSet::EMPTY.with(Signal::TERM).with(Signal::HUP);

extern "C" {
    /// The C library's fork(3): a std program has one, and must fork through it.
    fn fork() -> std::ffi::c_int;
}

/// How this program forks and ends its daemon: through its C library (with the crate's `std`
/// feature, `Fork::std()` is this).
fn host_fork() -> Fork {
    fn libc_fork() -> Result<Option<rustix::process::Pid>, rustix::io::Errno> {
        // SAFETY: the C library's fork; `Daemon::run` checks that we have one thread.
        match unsafe { fork() } {
            -1 => Err(rustix::io::Errno::from_raw_os_error(
                std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
            )),
            0 => Ok(None),
            pid => Ok(rustix::process::Pid::from_raw(pid)),
        }
    }
    // SAFETY: `libc_fork` is this process's C library fork, `std::process::exit` its exit.
    unsafe { Fork::hosted(libc_fork, std::process::exit) }
}

/// The daemon's code: wait for signals, log reloads, exit cleanly on SIGTERM.
fn daemon_body(running: Running) -> i32 {
    let signals = match Signals::new(HANDLED) {
        Ok(signals) => signals,
        Err(errno) => {
            eprintln!("spec_daemon: cannot create a signalfd: {errno}");
            let _ = running.exit();
            return 1;
        }
    };
    eprintln!("spec_daemon: running as pid {}", std::process::id());
    loop {
        match signals.wait() {
            Ok(Signal::HUP) => {
                eprintln!("spec_daemon: SIGHUP received, reloading");
                let _ = std::io::stderr().flush();
            }
            Ok(Signal::TERM) => {
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
            Ok(_) => {}
            Err(errno) => {
                eprintln!("spec_daemon: cannot read signals: {errno}");
                let _ = running.exit();
                return 1;
            }
        }
    }
}

/// Reports a failure to start the daemon, naming the files of `params`; LibUCW's exit code
/// for errors.
fn fail(error: &ucw_daemon::Error, params: &Params<'_>) -> ExitCode {
    eprintln!("spec_daemon: {}", error.display(params));
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
    if let Err(errno) = ucw_daemon::signal::block(HANDLED) {
        eprintln!("spec_daemon: cannot block signals: {errno}");
        return ExitCode::from(102);
    }
    // Room for 1,024 supplementary groups (4 KiB; a user in more is a clear error), and the
    // credentials themselves (a name and a home directory, 4.4 KiB): on the heap.
    let mut groups = vec![rustix::process::Gid::ROOT; 1024];
    let mut credentials = Box::new(Credentials::new(&mut groups));
    let daemon = match daemon::init(&params, &mut credentials) {
        Ok(daemon) => daemon,
        Err(error) => return fail(&error, &params),
    };
    // ... initialize everything the daemon needs here, before the fork ...
    match daemon.run(host_fork(), daemon_body) {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => fail(&error, &params),
    }
}
