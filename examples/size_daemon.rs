//! size-report's protocol daemon, built on the library (`daemon::init` → `run` → `exit`):
//! what `ucw-daemon-control` starts in the benchmarks when `ucw-daemonize` cannot put the
//! plain sleeper under the protocol (the report says which one it used).
//!
//! Usage: `size_daemon PID_FILE`. The daemon ignores SIGHUP (so a reload can be measured
//! without killing it) and on SIGTERM empties its PID file and exits at once, like
//! size-report/sleeper does under the other tools. Signals are read from a signalfd, so no
//! handler runs. Used by `size-report/run` only; it is not a test fixture.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;
use ucw_daemon::credentials::Credentials;
use ucw_daemon::daemon::{self, Params};
use ucw_daemon::sys::{set_signal_mask, signalfd, SignalSet};

const SIGHUP: u32 = 1;
const SIGTERM: u32 = 15;

fn main() -> ExitCode {
    let arguments: Vec<_> = std::env::args_os().collect();
    let [_, pid_file] = &arguments[..] else {
        eprintln!("usage: size_daemon PID_FILE");
        return ExitCode::from(1);
    };
    let Ok(pid_file) = CString::new(pid_file.as_bytes()) else {
        eprintln!("size_daemon: the path contains a NUL byte");
        return ExitCode::from(1);
    };
    let params = Params {
        pid_file: Some(&pid_file),
        ..Params::default()
    };
    // About 260 KiB: boxed, not on the stack.
    let mut credentials = Box::new(Credentials::new());
    let daemon = match daemon::init(&params, &mut credentials) {
        Ok(daemon) => daemon,
        Err(error) => {
            eprintln!("size_daemon: {error}");
            return ExitCode::from(102);
        }
    };
    let launched = daemon.run(|running| {
        let signals = SignalSet::EMPTY.with(SIGHUP).with(SIGTERM);
        let Ok(_) = set_signal_mask(signals) else {
            return 102;
        };
        let Ok(reader) = signalfd(signals, false) else {
            return 102;
        };
        let mut info = [0u8; 128];
        loop {
            match rustix::io::read(&reader, &mut info) {
                Ok(128) => {}
                Err(rustix::io::Errno::INTR) => continue,
                _ => return 102,
            }
            let signal = u32::from_ne_bytes([info[0], info[1], info[2], info[3]]);
            if signal == SIGTERM {
                return if running.exit().is_ok() { 0 } else { 102 };
            }
        }
    });
    match launched {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("size_daemon: {error}");
            ExitCode::from(102)
        }
    }
}
