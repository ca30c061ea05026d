//! Test fixture for tests/control_*.rs: a daemon that follows the control protocol.
//!
//! `fixture_control_daemon PID_FILE SENTINEL VIOLATIONS [ignore-term] [hup-log=FILE]
//! [ready-delay-ms=N]`
//!
//! Locks PID_FILE (writing `(starting)`), forks, and the parent writes the child's PID and
//! exits 0 (after `ready-delay-ms`, so tests can see the BUSY state). The child starts a new
//! session and takes an exclusive, non-blocking lock on SENTINEL: failing to get it means
//! another instance of the daemon is alive, which it records as a line in VIOLATIONS before
//! exiting. SIGTERM and SIGHUP arrive through a signalfd: SIGTERM releases the sentinel,
//! empties the PID file and exits (or is only logged with `ignore-term`); SIGHUP appends a
//! line to the `hup-log` file.
use rustix::fd::AsFd;
use rustix::fs::{Mode, OFlags};
use std::ffi::CString;
use std::fs::OpenOptions;
use std::io::Write;
use std::time::Duration;
use ucw_daemon::pidfile::PidFile;
use ucw_daemon::sys::{self, SignalSet};

fn append(path: &str, line: &str) {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open log");
    file.write_all(line.as_bytes()).expect("write log");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (pid_path, sentinel_path, violations) = (&args[1], &args[2], &args[3]);
    let ignore_term = args.iter().any(|arg| arg == "ignore-term");
    let hup_log = args
        .iter()
        .find_map(|arg| arg.strip_prefix("hup-log="))
        .map(str::to_owned);
    let ready_delay = args
        .iter()
        .find_map(|arg| arg.strip_prefix("ready-delay-ms="))
        .map(|value| Duration::from_millis(value.parse().expect("delay")));

    // Opened before the PID file, so its descriptor number is lower and a killed daemon
    // releases it first.
    let sentinel = rustix::fs::open(
        sentinel_path.as_str(),
        OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )
    .expect("open sentinel");
    let pid_path = CString::new(pid_path.as_str()).unwrap();
    let pid_file = match PidFile::create_locked(&pid_path) {
        Ok(file) => file,
        Err(error) => {
            eprintln!("fixture_control_daemon: {error}");
            std::process::exit(102);
        }
    };
    // Blocked before the fork, so a signal sent as soon as the PID is visible waits in the
    // signalfd instead of killing the child by default action.
    let handled = SignalSet::EMPTY
        .with(rustix::process::Signal::TERM.as_raw() as u32)
        .with(rustix::process::Signal::HUP.as_raw() as u32);
    sys::set_signal_mask(handled).expect("sigprocmask");
    // SAFETY: this program is single-threaded.
    if let Some(child) = unsafe { sys::fork() }.expect("fork") {
        if let Some(delay) = ready_delay {
            std::thread::sleep(delay);
        }
        pid_file.write_pid(child).expect("write pid");
        sys::exit_group(0);
    }
    let _ = rustix::process::setsid();
    let me = std::process::id();
    match rustix::fs::flock(
        &sentinel,
        rustix::fs::FlockOperation::NonBlockingLockExclusive,
    ) {
        Ok(()) => {}
        Err(_) => {
            append(
                violations,
                &format!("daemon {me} found the sentinel locked\n"),
            );
            sys::exit_group(1);
        }
    }
    let signals = sys::signalfd(handled, false).expect("signalfd");
    loop {
        let mut record = [0u8; 128];
        match rustix::io::read(signals.as_fd(), &mut record) {
            Ok(128) => {}
            Ok(_) | Err(rustix::io::Errno::INTR) => continue,
            Err(error) => panic!("signalfd read: {error}"),
        }
        let signal = u32::from_ne_bytes(record[..4].try_into().unwrap());
        if signal == rustix::process::Signal::HUP.as_raw() as u32 {
            if let Some(log) = &hup_log {
                append(log, &format!("HUP {me}\n"));
            }
        } else if !ignore_term {
            let _ = rustix::fs::flock(&sentinel, rustix::fs::FlockOperation::Unlock);
            let _ = pid_file.clear();
            sys::exit_group(0);
        }
    }
}
