//! Test fixture for `tests/soak.rs`: the daemon body that `ucw-daemonize` supervises, with an
//! independent witness of "at most one daemon alive".
//!
//! `fixture_soak_daemon SENTINEL LOG`: checks that it inherited no descriptor but 0–2, takes
//! `flock(LOCK_EX|LOCK_NB)` on SENTINEL (a file that has nothing to do with the protocol),
//! writes `<pid> <parent pid>\n` into it, then waits for signals on a signalfd: SIGHUP is
//! counted (a reload), SIGTERM/SIGINT end it with status 0. Problems are appended to LOG as
//! `VIOLATION ...` lines (a leaked descriptor, the sentinel held by another live daemon for
//! more than a second), and a sentinel that was still held briefly by a dying predecessor as
//! an `OVERLAP <ms>` line. It must never be used outside the tests.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};
use ucw_daemon::sys::{set_signal_mask, signalfd, SignalSet};

/// How long a predecessor killed by `PR_SET_PDEATHSIG` may keep the sentinel.
const OVERLAP_LIMIT: Duration = Duration::from_secs(1);

fn append(log: &str, line: &str) {
    if let Ok(mut file) = OpenOptions::new().create(true).append(true).open(log) {
        let _ = file.write_all(line.as_bytes());
    }
}

/// Descriptors other than 0–2 (and the one reading the directory) that we were handed.
fn inherited_descriptors() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(number) = name.parse::<u32>() else {
            continue;
        };
        if number <= 2 {
            continue;
        }
        match std::fs::read_link(entry.path()) {
            // The directory being read shows up as its own descriptor.
            Ok(target) if target.to_string_lossy().starts_with("/proc/") => {}
            Ok(target) => found.push(format!("{number} -> {}", target.display())),
            Err(_) => {}
        }
    }
    found
}

fn lock_sentinel(sentinel: &File, sentinel_path: &str, log: &str) {
    // SAFETY: `sentinel` stays open for the whole borrow (this function).
    let descriptor =
        unsafe { rustix::fd::BorrowedFd::borrow_raw(std::os::fd::AsRawFd::as_raw_fd(sentinel)) };
    let started = Instant::now();
    loop {
        match rustix::fs::flock(
            descriptor,
            rustix::fs::FlockOperation::NonBlockingLockExclusive,
        ) {
            Ok(()) => break,
            Err(rustix::io::Errno::WOULDBLOCK) if started.elapsed() < OVERLAP_LIMIT => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(rustix::io::Errno::WOULDBLOCK) => {
                let holder = std::fs::read_to_string(sentinel_path).unwrap_or_default();
                append(
                    log,
                    &format!(
                        "VIOLATION two daemons: pid {} found the sentinel locked for {:?} by (pid, parent) {}\n",
                        std::process::id(),
                        started.elapsed(),
                        holder.trim_end()
                    ),
                );
                std::process::exit(3);
            }
            Err(errno) => {
                append(
                    log,
                    &format!("VIOLATION cannot lock the sentinel: {errno}\n"),
                );
                std::process::exit(4);
            }
        }
    }
    let waited = started.elapsed();
    if waited > Duration::from_millis(1) {
        append(log, &format!("OVERLAP {}\n", waited.as_millis()));
    }
}

fn main() {
    let arguments: Vec<String> = std::env::args().collect();
    let [_, sentinel_path, log] = &arguments[..] else {
        eprintln!("usage: fixture_soak_daemon SENTINEL LOG");
        std::process::exit(2);
    };
    for leaked in inherited_descriptors() {
        append(
            log,
            &format!("VIOLATION inherited descriptor {leaked} in the daemon\n"),
        );
    }
    // Block the signals we read first, so none is lost before the signalfd exists.
    let signals = SignalSet::EMPTY.with(1).with(2).with(15);
    set_signal_mask(signals).expect("sigprocmask");
    let events = signalfd(signals, false).expect("signalfd");
    let mut sentinel = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(sentinel_path)
        .expect("open sentinel");
    lock_sentinel(&sentinel, sentinel_path, log);
    let _ = sentinel.set_len(0);
    let _ = sentinel.write_all(
        format!(
            "{} {}\n",
            std::process::id(),
            rustix::process::getppid().map_or(0, |pid| pid.as_raw_nonzero().get())
        )
        .as_bytes(),
    );
    let mut record = [0u8; 128];
    loop {
        match rustix::io::read(&events, &mut record) {
            Ok(128) => {
                let number = u32::from_ne_bytes(record[..4].try_into().unwrap());
                if number == 2 || number == 15 {
                    std::process::exit(0);
                }
            }
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(errno) => {
                append(log, &format!("VIOLATION signalfd read: {errno}\n"));
                std::process::exit(5);
            }
        }
    }
}
