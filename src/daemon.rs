//! The daemon side of the protocol (DESIGN.md §4): [`init`] locks the PID file in the
//! launching process, [`Daemon::run`] forks the daemon, detaches and switches it, and
//! publishes its PID; [`Running::exit`] releases the PID file.
//!
//! This module owns the exact order of those steps and the pipes through which the daemon
//! reports its setup and the launcher releases it. It must never unlink the PID file (a
//! second starter would lock a fresh inode while the daemon still runs), never run the body
//! when the launcher died before publishing the PID, never change the launcher's own
//! credentials, and never reset signal dispositions or close descriptors unless asked.
//!
//! # Example
//!
//! LibUCW's example, in Rust:
//!
//! ```no_run
//! use ucw_daemon::credentials::Credentials;
//! use ucw_daemon::daemon::{self, Params, Running};
//!
//! fn daemon_body(running: Running<'_>) -> i32 {
//!     // ... daemon's code ...
//!     // When we are done, release the PID file and exit:
//!     let _ = running.exit();
//!     0
//! }
//!
//! fn main() -> Result<(), ucw_daemon::Error> {
//!     let params = Params {
//!         pid_file: Some(c"/var/run/example.pid"),
//!         ..Params::default()
//!     };
//!     // ... parse arguments ...
//!     let mut credentials = Credentials::new();
//!     let daemon = daemon::init(&params, &mut credentials)?;
//!     // ... initialize everything ...
//!     // Let us fork off the daemon:
//!     daemon.run(daemon_body)?;
//!     // Here continues the parent process
//!     Ok(())
//! }
//! ```

use crate::account::AccountFiles;
use crate::credentials::Credentials;
use crate::error::{Error, Result, ERROR_CAPACITY};
use crate::pidfile::PidFile;
use crate::sys;
use core::ffi::CStr;
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::{Errno, FdFlags};
use rustix::pipe::PipeFlags;
use rustix::process::Pid;

/// Options of the daemon helper (LibUCW's `DAEMON_FLAG_*` plus two opt-in clean-ups).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags(u32);

impl Flags {
    /// No option.
    pub const EMPTY: Self = Self(0);
    /// Keep the current directory instead of `chdir("/")` (`DAEMON_FLAG_PRESERVE_CWD`).
    pub const PRESERVE_CWD: Self = Self(1);
    /// Do not daemonize: no fork, no PID file, no credential switch; the body runs in the
    /// calling process (`DAEMON_FLAG_SIMULATE`, for debuggers and `--foreground`).
    pub const SIMULATE: Self = Self(2);
    /// In the daemon, before the body: every signal disposition back to default and an empty
    /// signal mask (the launcher's ignored signals otherwise stay ignored).
    pub const RESET_SIGNALS: Self = Self(4);
    /// In the daemon, before the body: close every descriptor numbered 3 or above except the
    /// PID file and the library's pipes. The body must not own any other such descriptor.
    pub const CLOSE_INHERITED_FDS: Self = Self(8);

    /// Both sets of options.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether every option of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for Flags {
    type Output = Self;
    fn bitor(self, other: Self) -> Self {
        self.union(other)
    }
}

/// What to daemonize with (LibUCW's `struct daemon_params`).
#[derive(Clone, Copy, Debug)]
pub struct Params<'a> {
    /// Options.
    pub flags: Flags,
    /// The PID file (optional); must be absolute unless [`Flags::PRESERVE_CWD`] is set.
    pub pid_file: Option<&'a CStr>,
    /// User to run as: a name or `#uid` (optional).
    pub user: Option<&'a [u8]>,
    /// Group to run as: a name or `#gid` (optional).
    pub group: Option<&'a [u8]>,
    /// Where users and groups are looked up.
    pub account_files: AccountFiles<'a>,
}

impl Default for Params<'static> {
    fn default() -> Self {
        Self {
            flags: Flags::EMPTY,
            pid_file: None,
            user: None,
            group: None,
            account_files: AccountFiles::SYSTEM,
        }
    }
}

/// A daemon ready to be launched: credentials resolved, PID file locked (`(starting)\n`).
pub struct Daemon<'a> {
    flags: Flags,
    pid_file: Option<PidFile<'a>>,
    credentials: &'a Credentials,
}

/// How [`Daemon::run`] ended in the launching process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Launched {
    /// The daemon runs as `pid` (its PID is in the PID file).
    Daemon {
        /// The daemon's process id.
        pid: Pid,
    },
    /// [`Flags::SIMULATE`]: the body ran in this process and returned `exit_code`.
    Simulated {
        /// What the body returned.
        exit_code: i32,
    },
}

/// What the body receives: the PID file (locked, containing the daemon's PID) and, for
/// [`Daemon::run_confirmed`], the channel on which the launcher awaits confirmation.
///
/// End with [`Running::exit`]: dropping it instead leaves the PID in the file, which a
/// controller then sees as stale once the process has ended (the lock goes with it).
pub struct Running<'a> {
    pid_file: Option<PidFile<'a>>,
    confirmation: Option<OwnedFd>,
    simulated: bool,
}

/// Status bytes on the report pipe (daemon → launcher).
const REPORT_OK: u8 = b'+';
const REPORT_FAILURE: u8 = b'-';
/// Exit code of a daemon process that failed before its body.
const EXIT_BEFORE_BODY: i32 = 1;

/// Resolves the credentials into `credentials` (errors come before any file changes), makes
/// sure descriptors 0–2 are open (else the PID file could become stdin), then opens, checks,
/// locks and fills the PID file (see [`PidFile::create_locked`]; a lock held elsewhere is
/// "already running"). With [`Flags::SIMULATE`] only the credentials are resolved.
///
/// `credentials` is caller-provided storage (it is large; see [`Credentials`]); the returned
/// [`Daemon`] borrows it.
pub fn init<'a>(params: &Params<'a>, credentials: &'a mut Credentials) -> Result<Daemon<'a>> {
    credentials.resolve(params.user, params.group, &params.account_files)?;
    let credentials: &'a Credentials = credentials;
    if params.flags.contains(Flags::SIMULATE) {
        return Ok(Daemon {
            flags: params.flags,
            pid_file: None,
            credentials,
        });
    }
    if let Some(path) = params.pid_file {
        if path.to_bytes().first() != Some(&b'/') && !params.flags.contains(Flags::PRESERVE_CWD) {
            return Err(Error::new("Refusing PID file ")
                .push(path.to_bytes())
                .push(": a relative path needs PRESERVE_CWD (the daemon changes to /)"));
        }
    }
    // Before anything gets a descriptor: neither the PID file nor run's pipes may land on a
    // closed standard descriptor (the daemon points 0 and 1 at /dev/null).
    ensure_standard_fds()?;
    let pid_file = match params.pid_file {
        None => None,
        Some(path) => Some(PidFile::create_locked(path)?),
    };
    Ok(Daemon {
        flags: params.flags,
        pid_file,
        credentials,
    })
}

/// Opens `/dev/null` on each of descriptors 0, 1 and 2 that is closed.
fn ensure_standard_fds() -> Result<()> {
    for number in 0..3 {
        // SAFETY: the descriptor is only queried; a closed number yields EBADF.
        let borrowed = unsafe { BorrowedFd::borrow_raw(number) };
        match rustix::io::fcntl_getfd(borrowed) {
            Ok(_) => continue,
            Err(Errno::BADF) => {}
            Err(errno) => {
                return Err(Error::new("Cannot check descriptor ")
                    .push_number(number as u64)
                    .with_errno(errno))
            }
        }
        let null = rustix::fs::open(c"/dev/null", OFlags::RDWR | OFlags::NOCTTY, Mode::empty())
            .map_err(|errno| Error::system("open", "/dev/null", errno))?;
        // The lowest free number is `number` (lower ones are open): keep it open for good.
        let _ = null.into_raw_fd();
    }
    Ok(())
}

impl<'a> Daemon<'a> {
    /// The resolved credentials the daemon will switch to.
    pub fn credentials(&self) -> &'a Credentials {
        self.credentials
    }

    /// The locked PID file (none without a path or with [`Flags::SIMULATE`]).
    pub fn pid_file(&self) -> Option<&PidFile<'a>> {
        self.pid_file.as_ref()
    }

    /// Forks the daemon and returns in the launcher once the daemon's PID is in the PID file.
    ///
    /// The daemon (child): `setsid`, switch credentials, stdin and stdout to `/dev/null`
    /// (stderr stays), `umask(022)`, `chdir("/")` unless [`Flags::PRESERVE_CWD`], the opt-in
    /// clean-ups, then it reports to the launcher and waits for its release; it then runs
    /// `body` and ends the process with `exit_group(body's return value)` (no destructors,
    /// no return to the caller). If the launcher dies before releasing it, it exits without
    /// running the body.
    ///
    /// The launcher (parent): on a setup error of the daemon, empties the PID file and
    /// returns that error (the daemon's message); otherwise writes `<pid>\n`, closes its PID
    /// file descriptor, releases the daemon and returns [`Launched::Daemon`]. It keeps its
    /// own credentials.
    ///
    /// With [`Flags::SIMULATE`], `body` runs in this process and `run` returns
    /// [`Launched::Simulated`] after it.
    ///
    /// Call this before the process has threads: the raw `fork` skips libc's `atfork`
    /// handlers, and locks held by other threads would stay locked in the daemon.
    pub fn run(self, body: impl FnOnce(Running<'a>) -> i32) -> Result<Launched> {
        self.launch(body, false)
    }

    /// Like [`Daemon::run`], but the launcher returns only when the body confirms: by
    /// [`Running::confirm`] (a positive byte) or by `execve` succeeding (the confirmation
    /// descriptor is close-on-exec, so it closes). It returns the error the body sent with
    /// [`Running::report_failure`], or an error when the descriptor closed because the
    /// daemon had already ended (its exit is visible to `waitpid` then; an exit that comes a
    /// moment after the close cannot be told from a successful exec).
    ///
    /// The body must not fork a long-lived child before confirming without exec: the child
    /// would inherit the confirmation descriptor and the launcher would wait for it too.
    pub fn run_confirmed(self, body: impl FnOnce(Running<'a>) -> i32) -> Result<Launched> {
        self.launch(body, true)
    }

    fn launch(self, body: impl FnOnce(Running<'a>) -> i32, confirmed: bool) -> Result<Launched> {
        if self.flags.contains(Flags::SIMULATE) {
            let exit_code = body(Running {
                pid_file: None,
                confirmation: None,
                simulated: true,
            });
            return Ok(Launched::Simulated { exit_code });
        }
        let (report_read, report_write) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC)
            .map_err(|errno| Error::new("Cannot create a pipe").with_errno(errno))?;
        // The release channel is a socket pair, not a pipe: if the daemon dies before its
        // release, `send(MSG_NOSIGNAL)` fails with EPIPE instead of killing the launcher
        // with SIGPIPE (the static tools keep SIGPIPE's default action).
        let (release_read, release_write) = rustix::net::socketpair(
            rustix::net::AddressFamily::UNIX,
            rustix::net::SocketType::STREAM,
            rustix::net::SocketFlags::CLOEXEC,
            None,
        )
        .map_err(|errno| Error::new("Cannot create a socket pair").with_errno(errno))?;
        crate::failpoint::hit("launcher-before-fork");
        // SAFETY: `run` is documented to be called while the process is single-threaded; the
        // child only makes system calls until it runs the body.
        let forked = unsafe { sys::fork() }
            .map_err(|errno| Error::new("Cannot fork the daemon").with_errno(errno))?;
        match forked {
            None => {
                drop(report_read);
                drop(release_write);
                self.become_daemon(body, report_write, release_read, confirmed)
            }
            Some(pid) => {
                drop(report_write);
                drop(release_read);
                self.publish(pid, report_read, release_write, confirmed)
            }
        }
    }

    /// The launcher's side after the fork.
    fn publish(
        self,
        pid: Pid,
        report: OwnedFd,
        release: OwnedFd,
        confirmed: bool,
    ) -> Result<Launched> {
        crate::failpoint::hit("launcher-after-fork");
        let mut status = [0u8; 1];
        let status_length = read_full(report.as_fd(), &mut status, true);
        if status_length != Ok(1) || status[0] != REPORT_OK {
            let error = if status_length == Ok(1) && status[0] == REPORT_FAILURE {
                read_message(report.as_fd())
            } else {
                Error::new("Cannot start the daemon: process ")
                    .push_number(pid.as_raw_nonzero().get() as u64)
                    .push(" ended before reporting its setup")
            };
            if let Some(pid_file) = &self.pid_file {
                let _ = pid_file.clear();
            }
            drop(report);
            // The daemon process exits right after its report: collect it.
            let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
            return Err(error);
        }
        let mut pid_path = None;
        if let Some(pid_file) = self.pid_file {
            if let Err(error) = pid_file.write_pid(pid) {
                let _ = pid_file.clear();
                // Closing `release` unread makes the daemon exit without its body: collect it.
                drop(release);
                let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
                return Err(error);
            }
            // DESIGN §4: the launcher's descriptor is closed before the release, so from the
            // body's first instruction the lock is the daemon's alone.
            pid_path = Some(pid_file.path());
        }
        if let Err(errno) = send_release(release.as_fd()) {
            // The daemon died before its release (EPIPE): it never ran its body, so the PID
            // file must not name it. Its lock went with it: take the file back and empty it
            // (if another starter already holds it, it is that starter's file now).
            if let Some(path) = pid_path {
                if let Ok(file) = PidFile::create_locked(path) {
                    let _ = file.clear();
                }
            }
            let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
            return Err(Error::new("Cannot release the daemon (process ")
                .push_number(pid.as_raw_nonzero().get() as u64)
                .push(", ended before its release)")
                .with_errno(errno));
        }
        drop(release);
        if confirmed {
            let mut first = [0u8; 1];
            match read_full(report.as_fd(), &mut first, true) {
                Ok(1) if first[0] == REPORT_OK => {}
                // No byte: the body exec'd (the descriptor is close-on-exec) or it ended
                // without a word. An exit already visible tells the second case apart.
                Ok(0) => {
                    if let Ok(Some((_, status))) =
                        rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::NOHANG)
                    {
                        let error = Error::new("Cannot start the daemon: process ")
                            .push_number(pid.as_raw_nonzero().get() as u64)
                            .push(" ended before confirming its start");
                        return Err(match (status.exit_status(), status.terminating_signal()) {
                            (Some(code), _) => error
                                .push(" (exit status ")
                                .push_number(code as u64)
                                .push(")"),
                            (_, Some(signal)) => {
                                error.push(" (signal ").push_number(signal as u64).push(")")
                            }
                            _ => error,
                        });
                    }
                }
                Ok(_) if first[0] == REPORT_FAILURE => return Err(read_message(report.as_fd())),
                Ok(_) => {
                    return Err(Error::new(
                        "Cannot confirm the daemon: unexpected data on its confirmation pipe",
                    ))
                }
                Err(errno) => {
                    return Err(
                        Error::new("Cannot read the daemon's confirmation").with_errno(errno)
                    )
                }
            }
        }
        Ok(Launched::Daemon { pid })
    }

    /// The daemon's side after the fork; never returns.
    fn become_daemon(
        self,
        body: impl FnOnce(Running<'a>) -> i32,
        report: OwnedFd,
        release: OwnedFd,
        confirmed: bool,
    ) -> ! {
        let Daemon {
            flags,
            pid_file,
            credentials,
        } = self;
        let mut owned: [RawFd; 3] = [report.as_raw_fd(), release.as_raw_fd(), -1];
        if let Some(pid_file) = &pid_file {
            owned[2] = pid_file.fd().as_raw_fd();
        }
        if let Err(error) = set_up_daemon(flags, credentials, &owned) {
            // Release our share of the lock before the launcher hears of the failure.
            drop(pid_file);
            let mut message = [0u8; ERROR_CAPACITY + 1];
            message[0] = REPORT_FAILURE;
            let text = error.as_bytes();
            message[1..=text.len()].copy_from_slice(text);
            let _ = write_all(report.as_fd(), &message[..=text.len()]);
            sys::exit_group(EXIT_BEFORE_BODY);
        }
        crate::failpoint::hit("daemon-after-setup");
        if write_all(report.as_fd(), &[REPORT_OK]).is_err() {
            sys::exit_group(EXIT_BEFORE_BODY);
        }
        let confirmation = if confirmed {
            Some(report)
        } else {
            drop(report);
            None
        };
        let mut byte = [0u8; 1];
        if read_full(release.as_fd(), &mut byte, true) != Ok(1) {
            // The launcher died (or failed) before publishing our PID.
            sys::exit_group(EXIT_BEFORE_BODY);
        }
        drop(release);
        crate::failpoint::hit("daemon-before-body");
        let code = body(Running {
            pid_file,
            confirmation,
            simulated: false,
        });
        sys::exit_group(code)
    }
}

/// Everything the daemon does to itself between `fork` and its report (DESIGN.md §4).
fn set_up_daemon(flags: Flags, credentials: &Credentials, owned: &[RawFd]) -> Result<()> {
    rustix::process::setsid()
        .map_err(|errno| Error::new("Cannot start a new session (setsid)").with_errno(errno))?;
    credentials.switch_single_threaded()?;
    let null = rustix::fs::open(
        c"/dev/null",
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|errno| Error::system("open", "/dev/null", errno))?;
    rustix::stdio::dup2_stdin(&null)
        .and_then(|()| rustix::stdio::dup2_stdout(&null))
        .map_err(|errno| {
            Error::new("Cannot redirect stdin and stdout to /dev/null").with_errno(errno)
        })?;
    if null.as_raw_fd() <= 2 {
        // It landed on a closed standard descriptor (stderr): leave it there.
        let _ = null.into_raw_fd();
    } else {
        drop(null);
    }
    rustix::process::umask(Mode::from_raw_mode(0o022));
    if !flags.contains(Flags::PRESERVE_CWD) {
        rustix::process::chdir(c"/")
            .map_err(|errno| Error::system("change directory to", "/", errno))?;
    }
    if flags.contains(Flags::CLOSE_INHERITED_FDS) {
        close_inherited_fds(owned)?;
    }
    if flags.contains(Flags::RESET_SIGNALS) {
        sys::reset_signal_dispositions();
        sys::set_signal_mask(sys::SignalSet::EMPTY)
            .map_err(|errno| Error::new("Cannot reset the signal mask").with_errno(errno))?;
    }
    Ok(())
}

/// Closes every descriptor from 3 up except those in `owned` (negative entries ignored).
fn close_inherited_fds(owned: &[RawFd]) -> Result<()> {
    let highest = owned.iter().copied().max().unwrap_or(-1).max(2);
    // SAFETY: the body is documented (Flags::CLOSE_INHERITED_FDS) to own no descriptor here
    // besides `owned`, which lie below the range.
    unsafe { sys::close_from(highest as u32 + 1) }
        .map_err(|errno| Error::new("Cannot close inherited descriptors").with_errno(errno))?;
    for number in 3..highest {
        if owned.contains(&number) {
            continue;
        }
        // SAFETY: the descriptor is only queried; a closed number yields EBADF.
        if rustix::io::fcntl_getfd(unsafe { BorrowedFd::borrow_raw(number) }).is_ok() {
            // SAFETY: as above; it is open, and nothing in this process owns it.
            unsafe { rustix::io::close(number) };
        }
    }
    Ok(())
}

/// Reads until `buffer` is full or end of file (after the first byte when `once`); returns
/// the byte count.
fn read_full(
    fd: BorrowedFd<'_>,
    buffer: &mut [u8],
    once: bool,
) -> core::result::Result<usize, Errno> {
    let mut filled = 0;
    while filled < buffer.len() {
        match rustix::io::read(fd, &mut buffer[filled..]) {
            Ok(0) => break,
            Ok(count) => {
                filled += count;
                if once {
                    break;
                }
            }
            Err(Errno::INTR) => {}
            Err(errno) => return Err(errno),
        }
    }
    Ok(filled)
}

/// Reads an error message until end of file.
fn read_message(fd: BorrowedFd<'_>) -> Error {
    let mut text = [0u8; ERROR_CAPACITY];
    match read_full(fd, &mut text, false) {
        Ok(length) if length > 0 => Error::new("").push(&text[..length]),
        _ => Error::new("Cannot start the daemon: its error report was lost"),
    }
}

/// Writes all of `bytes`, retrying on EINTR.
/// `send(fd, "!", MSG_NOSIGNAL)`: the one release byte, retried on EINTR.
fn send_release(fd: BorrowedFd<'_>) -> core::result::Result<(), Errno> {
    loop {
        match rustix::net::send(fd, b"!", rustix::net::SendFlags::NOSIGNAL) {
            Ok(1) => return Ok(()),
            Ok(_) => return Err(Errno::IO),
            Err(Errno::INTR) => {}
            Err(errno) => return Err(errno),
        }
    }
}

fn write_all(fd: BorrowedFd<'_>, bytes: &[u8]) -> core::result::Result<(), Errno> {
    let mut written = 0;
    while written < bytes.len() {
        match rustix::io::write(fd, &bytes[written..]) {
            Ok(0) => return Err(Errno::IO),
            Ok(count) => written += count,
            Err(Errno::INTR) => {}
            Err(errno) => return Err(errno),
        }
    }
    Ok(())
}

impl<'a> Running<'a> {
    /// Whether the body runs in the launching process ([`Flags::SIMULATE`]).
    pub fn is_simulated(&self) -> bool {
        self.simulated
    }

    /// The PID file, locked by this process (none without a PID file or when simulated).
    pub fn pid_file(&self) -> Option<&PidFile<'a>> {
        self.pid_file.as_ref()
    }

    /// Clears close-on-exec on the PID file's descriptor, so that a program this process
    /// execs inherits it and keeps the lock (`ucw-daemonize --exec`).
    pub fn keep_pid_file_across_exec(&self) -> Result<()> {
        let Some(pid_file) = &self.pid_file else {
            return Ok(());
        };
        rustix::io::fcntl_setfd(pid_file.fd(), FdFlags::empty())
            .map_err(|errno| Error::system_on("set flags of", "PID file", pid_file.path(), errno))
    }

    /// Tells a launcher in [`Daemon::run_confirmed`] that the daemon runs (writes a positive
    /// byte and closes the confirmation descriptor). Does nothing otherwise.
    pub fn confirm(&mut self) {
        if let Some(confirmation) = self.confirmation.take() {
            // A positive word, so the launcher need not guess from the descriptor closing.
            let _ = write_all(confirmation.as_fd(), &[REPORT_OK]);
        }
    }

    /// The daemon could not start: empties the PID file and closes it (the lock goes with
    /// this process's last descriptor), then sends `error`'s message to a launcher in
    /// [`Daemon::run_confirmed`], which returns it as its error. The body should exit next.
    pub fn report_failure(mut self, error: &Error) {
        if let Some(pid_file) = self.pid_file.take() {
            let _ = pid_file.clear();
        }
        if let Some(confirmation) = self.confirmation.take() {
            let mut message = [0u8; ERROR_CAPACITY + 1];
            message[0] = REPORT_FAILURE;
            let text = error.as_bytes();
            message[1..=text.len()].copy_from_slice(text);
            let _ = write_all(confirmation.as_fd(), &message[..=text.len()]);
        }
    }

    /// Releases the PID file as the daemon ends (LibUCW's `daemon_exit`): empties it and
    /// closes it. The file is never unlinked: a second starter could otherwise lock a new
    /// inode while this daemon still runs.
    pub fn exit(mut self) -> Result<()> {
        match self.pid_file.take() {
            Some(pid_file) => pid_file.clear(),
            None => Ok(()),
        }
    }
}
