//! The daemon's side after the fork (docs/design.md §4, in [`Daemon::run`]'s order), until its body
//! runs.
//!
//! It must never run the body when the launcher died before publishing the PID, return into the
//! launcher's code, or close a descriptor the caller did not give up
//! ([`Daemon::close_inherited_fds`]).

use super::channel::{send_byte, send_failure, RELEASE, REPORT_OK};
use super::{Daemon, Flags, Fork, Running};
use crate::control::ERROR_EXIT_CODE;
use crate::error::{Error, Message, Result, Subject};
use crate::io::read_full;
use crate::pidfile::PidFile;
use crate::sys;
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
#[cfg(not(feature = "environment"))]
use rustix::fs::Mode;
use rustix::io::Errno;
use rustix::process::Pid;

/// Exit code of a daemon process that failed before its body.
const EXIT_BEFORE_BODY: i32 = 1;

impl Daemon<'_> {
    /// The daemon's side after the fork; never returns.
    pub(super) fn become_daemon(
        mut self,
        fork: Fork,
        body: impl FnOnce(Running) -> i32,
        channel: OwnedFd,
        until_ready: bool,
    ) -> ! {
        let pid_file = self.pid_file.take();
        let daemon = match self.set_up(fork.hosted, pid_file.as_ref(), channel.as_fd()) {
            Ok(daemon) => daemon,
            Err(error) => {
                // Release our share of the lock before the launcher hears of the failure.
                drop(pid_file);
                let _ = send_failure(channel.as_fd(), &error);
                sys::exit_group(EXIT_BEFORE_BODY);
            }
        };
        crate::failpoint::hit("daemon-after-setup");
        if send_byte(channel.as_fd(), REPORT_OK).is_err() {
            sys::exit_group(EXIT_BEFORE_BODY);
        }
        let mut byte = [0u8; 1];
        if read_full(channel.as_fd(), &mut byte, false) != Ok(1) || byte[0] != RELEASE {
            // The launcher died (or failed) before publishing our PID.
            sys::exit_group(EXIT_BEFORE_BODY);
        }
        crate::failpoint::hit("daemon-before-body");
        let channel = until_ready.then_some(channel);
        // A body that unwinds (a std panic) must end the daemon here.
        let unwinding = ExitOnUnwind;
        let code = body(Running {
            pid_file,
            channel,
            daemon: Some(daemon),
        });
        core::mem::forget(unwinding);
        fork.exit(code)
    }

    /// Everything between `fork` and the report; returns the daemon's PID.
    fn set_up(
        &mut self,
        hosted: bool,
        pid_file: Option<&PidFile>,
        channel: BorrowedFd<'_>,
    ) -> Result<Pid> {
        let flags = self.flags;
        let daemon = rustix::process::setsid()
            .map_err(|errno| Error::system(Message::NewSession, Subject::None, errno))?;
        #[cfg(feature = "environment")]
        self.setup.set_up_before_switch(true)?;
        // Single-threaded by construction: we are the forked child.
        self.credentials.switch_single_threaded()?;
        // `init`'s `/dev/null` (so a new root need not have one).
        let Some(null) = self.null.take() else {
            return Err(Error::system(
                Message::OpenDevNull,
                Subject::None,
                Errno::BADF,
            ));
        };
        rustix::stdio::dup2_stdin(&null)
            .and_then(|()| rustix::stdio::dup2_stdout(&null))
            .map_err(|errno| {
                Error::system(Message::RedirectStandardStreams, Subject::None, errno)
            })?;
        drop(null);
        #[cfg(feature = "environment")]
        self.setup.set_up_after_switch()?;
        // LibUCW's fixed setup (with `environment`, `setup.rs` makes it).
        #[cfg(not(feature = "environment"))]
        {
            rustix::process::umask(Mode::from_raw_mode(0o022));
            if !flags.contains(Flags::PRESERVE_CWD) {
                rustix::process::chdir(c"/").map_err(|errno| {
                    Error::system(Message::ChangeDirectory, Subject::None, errno)
                })?;
            }
        }
        if let Some((keep, close)) = self.close_inherited {
            close(keep, pid_file, channel)?;
        }
        if flags.contains(Flags::RESET_SIGNALS) {
            crate::signal::reset_in_daemon(hosted)
                .map_err(|errno| Error::system(Message::ResetSignals, Subject::None, errno))?;
        }
        Ok(daemon)
    }
}

/// Ends the daemon process if it is dropped: only while a body unwinds out of `run`.
struct ExitOnUnwind;

impl Drop for ExitOnUnwind {
    fn drop(&mut self) {
        // A panic is an error (102), never "not running" (101, Rust's panic code).
        sys::exit_group(ERROR_EXIT_CODE)
    }
}

/// Most descriptors [`Daemon::close_inherited_fds`] keeps for the caller; more is E2BIG.
const MAX_KEPT_FDS: usize = 61;

/// [`close_inherited_fds`]' type: what [`Daemon::close_inherited_fds`] arms.
pub(super) type CloseInherited = fn(&[RawFd], Option<&PidFile>, BorrowedFd<'_>) -> Result<()>;

/// Closes every descriptor from 3 up but `keep`, the PID file's and the channel.
pub(super) fn close_inherited_fds(
    keep: &[RawFd],
    pid_file: Option<&PidFile>,
    channel: BorrowedFd<'_>,
) -> Result<()> {
    let mut kept = [0u32; MAX_KEPT_FDS + 3];
    let mut count = 0;
    let ours = pid_file
        .into_iter()
        .flat_map(|file| [file.write_fd().as_raw_fd(), file.lock_fd().as_raw_fd()])
        .chain([channel.as_raw_fd()]);
    for fd in keep.iter().copied().chain(ours) {
        if count == kept.len() {
            return Err(Error::system(
                Message::CloseInherited,
                Subject::None,
                Errno::TOOBIG,
            ));
        }
        // A negative number is no descriptor: nothing to keep.
        kept[count] = u32::try_from(fd).unwrap_or(0);
        count += 1;
    }
    let kept = &mut kept[..count];
    // Insertion sort: a few dozen numbers; core's sort costs 2 KB of code.
    for index in 1..kept.len() {
        let mut position = index;
        while position > 0 && kept[position - 1] > kept[position] {
            kept.swap(position - 1, position);
            position -= 1;
        }
    }
    let mut first = 3u32;
    for &number in kept.iter().chain([&u32::MAX]) {
        if number > first {
            // SAFETY: `close_inherited_fds`' contract: the body owns nothing in this range.
            unsafe { sys::close_range(first, number - 1) }
                .map_err(|errno| Error::system(Message::CloseInherited, Subject::None, errno))?;
        }
        first = first.max(number.saturating_add(1));
    }
    Ok(())
}
