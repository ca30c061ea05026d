//! Self-backgrounding programs (`ucw-daemonize --forking [--forking-pid-file FILE]`,
//! docs/design.md §5): the program forks its daemon and exits 0, which is its readiness, not
//! the service's end. The service then lives as the supervisor's other descendants (the
//! subreaper keeps them): it ends when the main process named by `--forking-pid-file` ends
//! (the rest of the tree is then ended as usual), or without that file when no descendant is
//! left. Forwarded signals go to that main process, or to every process of the tree.
//!
//! This file owns the supervisor's life after the program's exit in that mode. The forking PID
//! file is written by the program, so it is untrusted input: its PID is signalled only through
//! a pidfd proven to be a descendant of the supervisor (`Tree::descendant`), never by number.
//! It must never signal anything outside the tree, and never keep the PID file locked once no
//! descendant is left.

use super::supervisor::{exit_code, not_ready, wait_until_collected, Ended, Job};
use super::tree::{self, Tree};
use core::ffi::CStr;
use rustix::event::{PollFd, PollFlags};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use ucw_daemon::daemon::Running;
use ucw_daemon::signal::{Signal, Signals};

impl Job<'_> {
    /// Whether the program forks (`--forking`): never without the `tree` feature, whose
    /// options are refused as not built there, so that this file is compiled out.
    pub(super) fn forking(&self) -> bool {
        cfg!(feature = "tree") && self.forking
    }

    /// `--forking`: the program has ended with `status` (see the module docs); returns the
    /// supervisor's exit code.
    pub(super) fn after_fork(
        &self,
        status: Ended,
        tree: &mut Tree<'_>,
        signals: &Signals,
        mut running: Running,
        collected: Option<&OwnedFd>,
    ) -> i32 {
        if !matches!(status, Ended::Exited(0)) {
            // A program that fails before it has backgrounded its daemon: a failed start.
            self.end_now(tree, signals);
            if running.launcher().is_some() {
                running.report_failure(&not_ready(status));
            } else {
                let _ = running.exit();
            }
            return exit_code(status);
        }
        running.ready();
        let mut main = self.main_process(tree);
        loop {
            if tree::reap_all() {
                // Nothing of the service is left.
                break;
            }
            let mut fds = [
                PollFd::new(signals, PollFlags::IN),
                PollFd::from_borrowed_fd(
                    main.as_ref().map_or(signals.as_fd(), AsFd::as_fd),
                    PollFlags::IN,
                ),
            ];
            let count = if main.is_some() { 2 } else { 1 };
            if rustix::event::poll(&mut fds[..count], None).is_err() {
                continue;
            }
            if count == 2 && !fds[1].revents().is_empty() {
                // The main process ended: the service is over; the rest is ended below.
                break;
            }
            if fds[0].revents().is_empty() {
                continue;
            }
            match signals.read() {
                Ok(Some((signal, _))) if signal != Signal::CHLD => {
                    if main.is_none() {
                        main = self.main_process(tree);
                    }
                    // SAFETY: the kernel delivered this number, so it is a valid signal.
                    let kernel = unsafe {
                        rustix::process::Signal::from_raw_unchecked(signal.number() as i32)
                    };
                    match &main {
                        Some(main) => {
                            let _ = rustix::process::pidfd_send_signal(main, kernel);
                        }
                        None => tree.signal_all(kernel),
                    }
                }
                // SIGCHLD: the loop reaps.
                _ => {}
            }
        }
        wait_until_collected(collected);
        self.end_service(tree, signals, running, false);
        0
    }

    /// The main process named by `--forking-pid-file`, as a pidfd proven to be a descendant
    /// of the supervisor; `None` without the option, or while the file names no such process.
    fn main_process(&self, tree: &Tree<'_>) -> Option<OwnedFd> {
        let pid = read_pid(self.forking_pid_file?)?;
        tree.descendant(pid)
    }
}

/// The PID in `path`: decimal digits and an optional newline (at most 16 bytes), nothing
/// else; a file that is not a regular one, or a symbolic link, is not read.
fn read_pid(path: &CStr) -> Option<u32> {
    let file = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY,
        Mode::empty(),
    )
    .ok()?;
    let stat = rustix::fs::fstat(&file).ok()?;
    if rustix::fs::FileType::from_raw_mode(stat.st_mode) != rustix::fs::FileType::RegularFile {
        return None;
    }
    let mut text = [0u8; 16];
    let length = rustix::io::read(&file, &mut text).ok()?;
    let text = &text[..length];
    let digits = text.strip_suffix(b"\n").unwrap_or(text);
    if digits.is_empty() || digits.len() > 7 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let pid = digits
        .iter()
        .fold(0u32, |value, &digit| value * 10 + u32::from(digit - b'0'));
    (pid > 1).then_some(pid)
}
