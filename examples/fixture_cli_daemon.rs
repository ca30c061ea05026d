//! Test fixture for `tests/tool_control.rs`: a minimal daemon that follows LibUCW's protocol.
//!
//! `fixture_cli_daemon PID_FILE MARKER_FILE`: locks the PID file (`PidFile::create_locked`),
//! forks; the parent writes the child's PID and exits 0; the child starts a new session,
//! appends `env=<$UCW_TEST_MARK>` to MARKER_FILE, then appends `HUP` for every SIGHUP and
//! exits on SIGTERM (leaving its PID in the file, like a daemon that does not clean up; the
//! controller empties it after the stop). Signals are read from a signalfd, so no handler
//! code runs. It must never be used outside the tests.

use std::ffi::CString;
use std::io::Write;
use ucw_daemon::pidfile::PidFile;
use ucw_daemon::sys::{fork, set_signal_mask, signalfd, SignalSet};

fn append(path: &str, line: &str) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open marker file");
    file.write_all(line.as_bytes()).expect("write marker file");
}

fn main() {
    let arguments: Vec<String> = std::env::args().collect();
    let [_, pid_path, marker] = &arguments[..] else {
        eprintln!("usage: fixture_cli_daemon PID_FILE MARKER_FILE");
        std::process::exit(2);
    };
    let pid_path = CString::new(pid_path.as_str()).unwrap();
    let pid_file = match PidFile::create_locked(&pid_path) {
        Ok(file) => file,
        Err(error) => {
            eprintln!("fixture_cli_daemon: {error}");
            std::process::exit(102);
        }
    };
    // Block the signals we read before forking, so none is lost before the signalfd exists.
    let signals = SignalSet::EMPTY.with(1).with(15);
    set_signal_mask(signals).expect("sigprocmask");
    // SAFETY: this program has not started any thread; the child only makes system calls
    // and uses the allocator-free paths below before it settles into its loop.
    match unsafe { fork() }.expect("fork") {
        Some(child) => {
            pid_file.write_pid(child).expect("write PID");
            std::process::exit(0);
        }
        None => {
            let _ = rustix::process::setsid();
            let mark = std::env::var("UCW_TEST_MARK").unwrap_or_default();
            append(marker, &format!("env={mark}\n"));
            let reader = signalfd(signals, false).expect("signalfd");
            let mut info = [0u8; 128];
            loop {
                match rustix::io::read(&reader, &mut info) {
                    Ok(128) => {}
                    Err(rustix::io::Errno::INTR) => continue,
                    other => panic!("read signalfd: {other:?}"),
                }
                match u32::from_ne_bytes(info[..4].try_into().unwrap()) {
                    1 => append(marker, "HUP\n"),
                    _ => std::process::exit(0),
                }
            }
        }
    }
}
