//! The daemon side of the protocol (DESIGN.md §4): [`init`] locks the PID file in the
//! launching process, [`Daemon::run`] forks the daemon, detaches and switches it, and
//! publishes its PID; [`Running::exit`] releases the PID file.
//!
//! This module owns the exact order of those steps and the channel through which the daemon
//! reports its setup, the launcher releases it, and the daemon later says it is ready. It must
//! never unlink the PID file (a second starter would lock a fresh inode while the daemon still
//! runs), never run the body when the launcher died before publishing the PID, never change
//! the launcher's own credentials, never fork in a way its host's C library does not expect
//! ([`Fork`]), and never close or reset anything of the body's unless asked.
//!
//! # Example
//!
//! LibUCW's example, in Rust (a std program: it forks through its C library):
//!
//! ```no_run
//! use ucw_daemon::credentials::Credentials;
//! use ucw_daemon::daemon::{self, Fork, Params, Running};
//!
//! fn daemon_body(running: Running) -> i32 {
//!     // ... daemon's code ...
//!     // When we are done, release the PID file and exit:
//!     let _ = running.exit();
//!     0
//! }
//!
//! // The C library's fork(), as every std program has it.
//! extern "C" {
//!     fn fork() -> core::ffi::c_int;
//! }
//! fn libc_fork() -> Result<Option<rustix::process::Pid>, rustix::io::Errno> {
//!     // SAFETY: the C library's fork, called while the process has one thread.
//!     match unsafe { fork() } {
//!         -1 => Err(rustix::io::Errno::from_raw_os_error(
//!             std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
//!         )),
//!         0 => Ok(None),
//!         pid => Ok(rustix::process::Pid::from_raw(pid)),
//!     }
//! }
//!
//! fn main() {
//!     let params = Params {
//!         pid_file: Some(c"/var/run/example.pid"),
//!         ..Params::default()
//!     };
//!     // ... parse arguments ...
//!     let mut groups = [rustix::process::Gid::ROOT; 1024];
//!     let mut credentials = Credentials::new(&mut groups);
//!     let daemon = match daemon::init(&params, &mut credentials) {
//!         Ok(daemon) => daemon,
//!         Err(error) => {
//!             eprintln!("example: {}", error.display(&params));
//!             std::process::exit(1);
//!         }
//!     };
//!     // ... initialize everything ...
//!     // Let us fork off the daemon (with the `std` feature: `Fork::std()`):
//!     // SAFETY: `libc_fork` is this process's C library fork, `exit` its exit.
//!     let fork = unsafe { Fork::hosted(libc_fork, std::process::exit) };
//!     if let Err(error) = daemon.run(fork, daemon_body) {
//!         eprintln!("example: {}", error.display(&params));
//!     }
//!     // Here continues the parent process
//! }
//! ```

use crate::account::AccountFiles;
use crate::credentials::{self, Credentials, Identity};
use crate::error::{Context, Error, Message, Result, Subject, ERROR_BYTES};
use crate::pidfile::{self, PidFile};
use crate::sys;
use core::ffi::CStr;
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::{Errno, FdFlags};
use rustix::process::Pid;

/// Options of the daemon helper (LibUCW's `DAEMON_FLAG_*`, plus one opt-in clean-up).
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
    /// signal mask (the launcher's ignored signals otherwise stay ignored). In a process with
    /// a C library the signals it reserves (32–34) keep its handlers.
    pub const RESET_SIGNALS: Self = Self(4);

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
    /// User to run as (optional); the tools parse `NAME` or `#uid` with [`Identity::parse`].
    pub user: Option<Identity<'a>>,
    /// Group to run as (optional).
    pub group: Option<Identity<'a>>,
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

impl Context for Params<'_> {
    /// The PID file's path, the user's and group's names, the account files' paths.
    fn name(&self, subject: Subject) -> Option<&[u8]> {
        match subject {
            Subject::PidFile => self.pid_file.map(CStr::to_bytes),
            Subject::User => identity_name(&self.user),
            Subject::Group => identity_name(&self.group),
            Subject::PasswdFile => Some(self.account_files.passwd.to_bytes()),
            Subject::GroupFile => Some(self.account_files.group.to_bytes()),
            _ => None,
        }
    }
}

/// `exit_group(code)`: ends the process at once (no destructors, no `atexit`, no stdio
/// flush): what a libc-free program's `_start` calls after its `main` (a program with a C
/// library calls that library's `exit`).
///
/// # References
/// [exit_group(2)](https://man7.org/linux/man-pages/man2/exit_group.2.html)
pub fn exit_group(code: i32) -> ! {
    sys::exit_group(code)
}

/// The name of a user or group given by name.
fn identity_name<'i>(identity: &'i Option<Identity<'_>>) -> Option<&'i [u8]> {
    match identity {
        Some(Identity::Name(name)) => Some(name),
        _ => None,
    }
}

/// How the daemon process is created and ended: the way the host's C library expects, if
/// the program has one. Chosen by the caller of [`Daemon::run`], because only the program
/// knows.
///
/// - A libc-free program (the tools, a `no_std` + `no_main` program) forks with a raw
///   `clone` and ends with `exit_group`: [`Fork::raw_clone`].
/// - A program with a C library (a Rust std program, a C program) must fork through that
///   library's `fork()`, or the library's cached thread state in the child still names the
///   parent (`abort()` in a musl daemon would signal the launcher; glibc's `pthread_kill` of
///   the main thread fails): [`Fork::hosted`], or `Fork::std` with the `std` feature.
#[derive(Clone, Copy)]
pub struct Fork {
    fork: fn() -> core::result::Result<Option<Pid>, Errno>,
    exit: fn(i32) -> !,
    hosted: bool,
}

impl Fork {
    /// `clone(SIGCHLD)` and `exit_group`, without any C library's bookkeeping.
    ///
    /// # Safety
    /// The process has no C library whose state the child would inherit (it is a libc-free
    /// program: its libc-using code, if any, is never run in the daemon), and it has a single
    /// thread (threads of a libc-free program are its own raw clones, which the library cannot
    /// count without `/proc`).
    pub const unsafe fn raw_clone() -> Self {
        Self {
            fork: raw_fork,
            exit: sys::exit_group,
            hosted: false,
        }
    }

    /// Forks with `fork` and ends the daemon (after its body returns) with `exit`: the host's
    /// own, so that the C library's per-process state is right in the child and its exit
    /// handlers (stdio buffers, `atexit`) run. `run` refuses a process that has more than one
    /// thread (as `/proc/self/status` counts them), since only the forking thread goes on in
    /// the child, with whatever locks the others held.
    ///
    /// # Safety
    /// `fork` must call the C library's `fork(3)` of this very process (returning the
    /// child's PID, `None` in the child, or the errno), and `exit` must end the process the
    /// way that library does (`exit(3)`, `std::process::exit`).
    pub const unsafe fn hosted(
        fork: fn() -> core::result::Result<Option<Pid>, Errno>,
        exit: fn(i32) -> !,
    ) -> Self {
        Self {
            fork,
            exit,
            hosted: true,
        }
    }

    /// The C library's `fork()` of a Rust std program, and `std::process::exit` (which also
    /// flushes std's buffered stdout). Needs the `std` feature.
    #[cfg(feature = "std")]
    pub const fn std() -> Self {
        // SAFETY: a std program has a C library; this is its fork, and std's exit.
        unsafe { Self::hosted(std_fork, std::process::exit) }
    }
}

/// [`sys::fork`] as a [`Fork`] function.
fn raw_fork() -> core::result::Result<Option<Pid>, Errno> {
    // SAFETY: `Fork::raw_clone`'s contract: a libc-free, single-threaded process; the child
    // only makes system calls until the body, which is the caller's libc-free code.
    unsafe { sys::fork() }
}

#[cfg(feature = "std")]
fn std_fork() -> core::result::Result<Option<Pid>, Errno> {
    extern "C" {
        fn fork() -> core::ffi::c_int;
    }
    // SAFETY: the C library's fork; `run` has checked that the process has one thread.
    match unsafe { fork() } {
        -1 => Err(Errno::from_raw_os_error(
            std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
        )),
        0 => Ok(None),
        pid => Ok(Pid::from_raw(pid)),
    }
}

/// A daemon ready to be launched: credentials resolved, PID file locked (`(starting)\n`).
///
/// Dropping it without [`Daemon::run`] (an error between `init` and `run`) empties the PID
/// file and releases its lock, so the next CHECK says "not running", not "stale".
#[must_use = "a Daemon holds the PID file locked until it is run or dropped"]
pub struct Daemon<'a> {
    flags: Flags,
    pid_file: Option<PidFile>,
    pid_path: Option<&'a CStr>,
    credentials: &'a Credentials<'a>,
    keep_fds: Option<&'a [RawFd]>,
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
/// [`Daemon::run_until_ready`], the channel on which the launcher awaits [`Running::ready`].
///
/// End with [`Running::exit`]. Dropping it in the daemon process does the same (empties the
/// PID file and releases its lock); a copy dropped in a process the daemon forked does
/// nothing.
#[must_use = "the daemon's PID file stays locked while Running lives"]
pub struct Running {
    pid_file: Option<PidFile>,
    channel: Option<OwnedFd>,
    daemon: Option<Pid>,
}

/// Status bytes on the channel (daemon → launcher).
const REPORT_OK: u8 = b'+';
const REPORT_FAILURE: u8 = b'-';
/// The release byte (launcher → daemon).
const RELEASE: u8 = b'!';
/// Exit code of a daemon process that failed before its body.
const EXIT_BEFORE_BODY: i32 = 1;

/// Resolves the credentials into `credentials` (errors come before any file changes), makes
/// sure descriptors 0–2 are open, then opens, checks, locks and fills the PID file (a lock
/// held elsewhere is [`ErrorKind::AlreadyRunning`](crate::ErrorKind::AlreadyRunning); a
/// file on a pseudo file system such as `/proc` is refused). With [`Flags::SIMULATE`] only
/// the credentials are resolved.
///
/// `credentials` is the caller's (with its group storage; see [`Credentials`]); the returned
/// [`Daemon`] borrows it. Render errors with `error.display(params)`.
pub fn init<'a>(params: &Params<'a>, credentials: &'a mut Credentials<'_>) -> Result<Daemon<'a>> {
    credentials.resolve(params.user, params.group, &params.account_files)?;
    let mut daemon = Daemon {
        flags: params.flags,
        pid_file: None,
        pid_path: None,
        credentials,
        keep_fds: None,
    };
    if params.flags.contains(Flags::SIMULATE) {
        return Ok(daemon);
    }
    if let Some(path) = params.pid_file {
        if path.to_bytes().first() != Some(&b'/') && !params.flags.contains(Flags::PRESERVE_CWD) {
            return Err(Error::new(Message::RefuseRelative, Subject::PidFile));
        }
    }
    // The daemon's body must not find its own files on a closed standard descriptor (its
    // stderr would write into them).
    ensure_standard_fds()?;
    if let Some(path) = params.pid_file {
        daemon.pid_file = Some(PidFile::create_locked(path)?);
        daemon.pid_path = Some(path);
    }
    Ok(daemon)
}

/// Opens `/dev/null` on each of descriptors 0, 1 and 2 that is closed: the lowest free
/// number is where `open` lands, so open until it lands above 2 (one open and close when all
/// three are open).
fn ensure_standard_fds() -> Result<()> {
    loop {
        let null = rustix::fs::open(c"/dev/null", OFlags::RDWR | OFlags::NOCTTY, Mode::empty())
            .map_err(|errno| Error::system(Message::OpenDevNull, Subject::None, errno))?;
        if null.as_raw_fd() > 2 {
            return Ok(());
        }
        // It filled a closed standard descriptor: keep it there for good.
        let _ = null.into_raw_fd();
    }
}

impl Drop for Daemon<'_> {
    /// Never run: empty the PID file and unlock it (`LOCK_UN`: a process forked meanwhile
    /// may still hold copies of the descriptors until it execs).
    fn drop(&mut self) {
        if let Some(pid_file) = self.pid_file.take() {
            let _ = pid_file.release();
        }
    }
}

impl<'a> Daemon<'a> {
    /// The resolved credentials the daemon will switch to.
    pub fn credentials(&self) -> &'a Credentials<'a> {
        self.credentials
    }

    /// The locked PID file (none without a path or with [`Flags::SIMULATE`]).
    pub fn pid_file(&self) -> Option<&PidFile> {
        self.pid_file.as_ref()
    }

    /// In the daemon, before its body: close every descriptor numbered 3 or above except
    /// the numbers in `keep` (`file.as_raw_fd()`), the PID file and the library's own channel
    /// (`close_range` over the gaps: no descriptor is borrowed by number, open or not).
    ///
    /// # Safety
    /// No value that the daemon's body uses may own a descriptor numbered 3 or above other
    /// than those in `keep`: closing a descriptor a `File` (or a runtime, or a C library)
    /// owns makes its later use or drop act on whatever reuses the number.
    pub unsafe fn close_inherited_fds(mut self, keep: &'a [RawFd]) -> Self {
        self.keep_fds = Some(keep);
        self
    }

    /// Forks the daemon and returns in the launcher once the daemon's PID is in the PID file.
    ///
    /// The daemon (child): `setsid`, switch credentials, stdin and stdout to `/dev/null`
    /// (stderr stays), `umask(022)`, `chdir("/")` unless [`Flags::PRESERVE_CWD`], the opt-in
    /// clean-ups, then it reports to the launcher and waits for its release; it then runs
    /// `body` and ends with the `fork`'s exit (the body's return value as the status). If the
    /// launcher dies before releasing it, it exits without running the body.
    ///
    /// The launcher (parent): on a setup error of the daemon, empties the PID file and
    /// returns that error; otherwise writes `<pid>\n`, closes its PID-file descriptors,
    /// releases the daemon and returns [`Launched::Daemon`]. It keeps its own credentials.
    ///
    /// With [`Flags::SIMULATE`], `body` runs in this process and `run` returns
    /// [`Launched::Simulated`] after it.
    pub fn run(self, fork: Fork, body: impl FnOnce(Running) -> i32) -> Result<Launched> {
        self.launch(fork, body, false)
    }

    /// Like [`Daemon::run`], but the launcher returns only when the daemon is ready: when the
    /// body calls [`Running::ready`], or `execve`s (the channel is close-on-exec, so it closes
    /// as the new program starts). It returns the error the body sent with
    /// [`Running::report_failure`], or an error when the channel closed because the daemon
    /// had already ended (an exit visible to `waitpid` then; one that comes a moment after
    /// the close cannot be told from a successful exec).
    ///
    /// The body must not fork a long-lived child before it is ready without exec: the child
    /// would inherit the channel and the launcher would wait for it too.
    pub fn run_until_ready(
        self,
        fork: Fork,
        body: impl FnOnce(Running) -> i32,
    ) -> Result<Launched> {
        self.launch(fork, body, true)
    }

    fn launch(
        self,
        fork: Fork,
        body: impl FnOnce(Running) -> i32,
        until_ready: bool,
    ) -> Result<Launched> {
        if self.flags.contains(Flags::SIMULATE) {
            let exit_code = body(Running {
                pid_file: None,
                channel: None,
                daemon: None,
            });
            return Ok(Launched::Simulated { exit_code });
        }
        if fork.hosted {
            if let Some(threads) = credentials::thread_count()? {
                if threads != 1 {
                    return Err(Error::new(Message::ForkThreads, Subject::None)
                        .with(1, threads.min(u64::from(u32::MAX)) as u32));
                }
            }
        }
        // One stream socket pair carries the setup report and the readiness up, the release
        // down. A socket, not a pipe: if the daemon dies before its release,
        // `send(MSG_NOSIGNAL)` fails with EPIPE instead of killing the launcher with SIGPIPE.
        let (launcher_end, daemon_end) = rustix::net::socketpair(
            rustix::net::AddressFamily::UNIX,
            rustix::net::SocketType::STREAM,
            rustix::net::SocketFlags::CLOEXEC,
            None,
        )
        .map_err(|errno| Error::system(Message::CreateSocket, Subject::None, errno))?;
        let (launcher_end, daemon_end) = (
            pidfile::above_standard_streams(launcher_end)
                .map_err(|errno| Error::system(Message::CreateSocket, Subject::None, errno))?,
            pidfile::above_standard_streams(daemon_end)
                .map_err(|errno| Error::system(Message::CreateSocket, Subject::None, errno))?,
        );
        crate::failpoint::hit("launcher-before-fork");
        match (fork.fork)() {
            Err(errno) => Err(Error::system(Message::ForkDaemon, Subject::None, errno)),
            Ok(None) => {
                drop(launcher_end);
                self.become_daemon(fork, body, daemon_end, until_ready)
            }
            Ok(Some(pid)) => {
                drop(daemon_end);
                self.publish(pid, launcher_end, until_ready)
            }
        }
    }

    /// The launcher's side after the fork.
    fn publish(mut self, pid: Pid, channel: OwnedFd, until_ready: bool) -> Result<Launched> {
        crate::failpoint::hit("launcher-after-fork");
        let pid_number = pid.as_raw_nonzero().get() as u32;
        let ended = |message| Error::new(message, Subject::None).with(1, pid_number);
        let report = match read_word(channel.as_fd()) {
            Ok(Word::Ok) => Ok(()),
            Ok(Word::Closed) => Err(ended(Message::EndedBeforeReport)),
            Err(error) => Err(error),
        };
        if let Err(error) = report {
            // `self`'s drop empties the PID file; the daemon exits right after its report.
            drop(channel);
            reap(pid);
            return Err(error);
        }
        if let Some(pid_file) = self.pid_file.take() {
            if let Err(error) = pid_file.write_pid(pid) {
                let _ = pid_file.clear();
                // Closing the channel unread makes the daemon exit without its body.
                drop(channel);
                reap(pid);
                return Err(error);
            }
            // DESIGN §4: the launcher's descriptors are closed before the release, so from
            // the body's first instruction the lock is the daemon's alone.
            drop(pid_file);
        }
        if let Err(errno) = send_byte(channel.as_fd(), RELEASE) {
            // The daemon died before its release (EPIPE): it never ran its body, so the PID
            // file must not name it. Its lock went with it: take the file back and empty it
            // (if another starter already holds it, it is that starter's file now).
            if let Some(path) = self.pid_path {
                if let Ok(file) = PidFile::create_locked(path) {
                    let _ = file.clear();
                }
            }
            reap(pid);
            return Err(
                Error::system(Message::ReleaseDaemon, Subject::None, errno).with(1, pid_number)
            );
        }
        // No word at all: the body exec'd (the channel is close-on-exec) or it ended without
        // one; an exit already visible tells the second case apart.
        if until_ready && read_word(channel.as_fd())? == Word::Closed {
            if let Ok(Some(_)) =
                rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::NOHANG)
            {
                return Err(ended(Message::EndedBeforeConfirm));
            }
        }
        Ok(Launched::Daemon { pid })
    }

    /// The daemon's side after the fork; never returns.
    fn become_daemon(
        mut self,
        fork: Fork,
        body: impl FnOnce(Running) -> i32,
        channel: OwnedFd,
        until_ready: bool,
    ) -> ! {
        let pid_file = self.pid_file.take();
        if let Err(error) = self.set_up(fork.hosted, pid_file.as_ref(), channel.as_fd()) {
            // Release our share of the lock before the launcher hears of the failure.
            drop(pid_file);
            let _ = send_failure(channel.as_fd(), &error);
            sys::exit_group(EXIT_BEFORE_BODY);
        }
        crate::failpoint::hit("daemon-after-setup");
        if send_byte(channel.as_fd(), REPORT_OK).is_err() {
            sys::exit_group(EXIT_BEFORE_BODY);
        }
        let mut byte = [0u8; 1];
        if read_full(channel.as_fd(), &mut byte) != Ok(1) || byte[0] != RELEASE {
            // The launcher died (or failed) before publishing our PID.
            sys::exit_group(EXIT_BEFORE_BODY);
        }
        crate::failpoint::hit("daemon-before-body");
        let channel = until_ready.then_some(channel);
        // A body that unwinds (a panic in a std program) must end the daemon here, never
        // return into the launcher's code in this process.
        let unwinding = ExitOnUnwind;
        let code = body(Running {
            pid_file,
            channel,
            daemon: Some(rustix::process::getpid()),
        });
        core::mem::forget(unwinding);
        (fork.exit)(code)
    }

    /// Everything the daemon does to itself between `fork` and its report (DESIGN.md §4).
    fn set_up(
        &self,
        hosted: bool,
        pid_file: Option<&PidFile>,
        channel: BorrowedFd<'_>,
    ) -> Result<()> {
        let flags = self.flags;
        rustix::process::setsid()
            .map_err(|errno| Error::system(Message::NewSession, Subject::None, errno))?;
        // Single-threaded by construction: we are the forked child.
        self.credentials.switch_single_threaded()?;
        let null = rustix::fs::open(
            c"/dev/null",
            OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|errno| Error::system(Message::OpenDevNull, Subject::None, errno))?;
        rustix::stdio::dup2_stdin(&null)
            .and_then(|()| rustix::stdio::dup2_stdout(&null))
            .map_err(|errno| {
                Error::system(Message::RedirectStandardStreams, Subject::None, errno)
            })?;
        drop(null);
        rustix::process::umask(Mode::from_raw_mode(0o022));
        if !flags.contains(Flags::PRESERVE_CWD) {
            rustix::process::chdir(c"/")
                .map_err(|errno| Error::system(Message::ChangeDirectory, Subject::None, errno))?;
        }
        if let Some(keep) = self.keep_fds {
            close_inherited_fds(keep, pid_file, channel)?;
        }
        if flags.contains(Flags::RESET_SIGNALS) {
            sys::reset_signal_dispositions(hosted);
            sys::set_signal_mask(0)
                .map_err(|errno| Error::system(Message::ResetSignals, Subject::None, errno))?;
        }
        Ok(())
    }
}

/// Ends the daemon process if it is dropped: only while a body unwinds out of `run`.
struct ExitOnUnwind;

impl Drop for ExitOnUnwind {
    fn drop(&mut self) {
        // Rust's exit code for a panic.
        sys::exit_group(101)
    }
}

/// Most descriptors [`Daemon::close_inherited_fds`] keeps (the caller's, besides ours); more
/// is E2BIG.
const MAX_KEPT_FDS: usize = 61;

/// Closes every descriptor from 3 up except `keep`, the PID file's and the channel, with
/// `close_range` over the gaps between them.
fn close_inherited_fds(
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
    // An insertion sort: a few dozen numbers, and core's sort would cost 2 KB of code.
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
            // SAFETY: `close_inherited_fds`' contract: no value of the body owns a descriptor
            // in this range (everything it keeps is in `keep`, and ours are excluded).
            unsafe { sys::close_range(first, number - 1) }
                .map_err(|errno| Error::system(Message::CloseInherited, Subject::None, errno))?;
        }
        first = first.max(number.saturating_add(1));
    }
    Ok(())
}

/// What the daemon said on the channel, short of an error.
#[derive(PartialEq, Eq)]
enum Word {
    /// [`REPORT_OK`].
    Ok,
    /// End of file: the daemon's end was closed (it exec'd, or it ended).
    Closed,
}

/// Reads the daemon's next word: [`REPORT_OK`], end of file, or a failure report, which is
/// returned as the daemon's error (anything else is a protocol error).
fn read_word(channel: BorrowedFd<'_>) -> Result<Word> {
    let garbage = Error::new(Message::UnexpectedConfirmation, Subject::None);
    let mut status = [0u8; 1];
    match read_full(channel, &mut status) {
        Ok(0) => Ok(Word::Closed),
        Ok(_) if status[0] == REPORT_OK => Ok(Word::Ok),
        Ok(_) if status[0] == REPORT_FAILURE => {
            let mut bytes = [0u8; ERROR_BYTES];
            match read_full(channel, &mut bytes) {
                Ok(ERROR_BYTES) => Err(Error::from_bytes(&bytes).unwrap_or(garbage)),
                _ => Err(garbage),
            }
        }
        Ok(_) => Err(garbage),
        Err(errno) => Err(Error::system(
            Message::ReadConfirmation,
            Subject::None,
            errno,
        )),
    }
}

/// Collects the daemon process after a failed start (it exits right away).
fn reap(pid: Pid) {
    let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
}

/// Reads until `buffer` is full or end of file; returns the byte count.
fn read_full(fd: BorrowedFd<'_>, buffer: &mut [u8]) -> core::result::Result<usize, Errno> {
    let mut filled = 0;
    while filled < buffer.len() {
        match rustix::io::read(fd, &mut buffer[filled..]) {
            Ok(0) => break,
            Ok(count) => filled += count,
            Err(Errno::INTR) => {}
            Err(errno) => return Err(errno),
        }
    }
    Ok(filled)
}

/// `send(fd, bytes, MSG_NOSIGNAL)` until all are sent, retried on EINTR.
fn send_all(fd: BorrowedFd<'_>, mut bytes: &[u8]) -> core::result::Result<(), Errno> {
    while !bytes.is_empty() {
        match rustix::net::send(fd, bytes, rustix::net::SendFlags::NOSIGNAL) {
            Ok(0) => return Err(Errno::IO),
            Ok(count) => bytes = &bytes[count..],
            Err(Errno::INTR) => {}
            Err(errno) => return Err(errno),
        }
    }
    Ok(())
}

/// Sends one status byte.
fn send_byte(fd: BorrowedFd<'_>, byte: u8) -> core::result::Result<(), Errno> {
    send_all(fd, &[byte])
}

/// Sends a failure report: [`REPORT_FAILURE`] and the error's 16 bytes, in one send.
fn send_failure(fd: BorrowedFd<'_>, error: &Error) -> core::result::Result<(), Errno> {
    let mut message = [0u8; 1 + ERROR_BYTES];
    message[0] = REPORT_FAILURE;
    message[1..].copy_from_slice(&error.to_bytes());
    send_all(fd, &message)
}

impl Running {
    /// Whether the body runs in the launching process ([`Flags::SIMULATE`]).
    pub fn is_simulated(&self) -> bool {
        self.daemon.is_none()
    }

    /// The PID file, locked by this process (none without a PID file or when simulated).
    pub fn pid_file(&self) -> Option<&PidFile> {
        self.pid_file.as_ref()
    }

    /// The channel to a launcher in [`Daemon::run_until_ready`] that still waits for
    /// [`Running::ready`]: it becomes readable (end of file) if the launcher dies or gives
    /// up, which a daemon may watch for.
    pub fn launcher(&self) -> Option<BorrowedFd<'_>> {
        self.channel.as_ref().map(AsFd::as_fd)
    }

    /// Tells a launcher in [`Daemon::run_until_ready`] that the daemon is ready (a positive
    /// byte, then the channel is closed). Does nothing otherwise, or a second time.
    pub fn ready(&mut self) {
        if let Some(channel) = self.channel.take() {
            let _ = send_byte(channel.as_fd(), REPORT_OK);
        }
    }

    /// The daemon could not start: empties the PID file and releases its lock, then sends
    /// `error` to a launcher in [`Daemon::run_until_ready`], which returns it. The body
    /// should exit next.
    pub fn report_failure(mut self, error: &Error) {
        if let Some(pid_file) = self.pid_file.take() {
            let _ = pid_file.release();
        }
        if let Some(channel) = self.channel.take() {
            let _ = send_failure(channel.as_fd(), error);
        }
    }

    /// Releases the PID file as the daemon ends (LibUCW's `daemon_exit`): empties it, then
    /// unlocks it (`LOCK_UN`, so processes the daemon forked that still hold the descriptor
    /// do not keep it "running"). The file is never unlinked: a second starter could
    /// otherwise lock a new inode while this daemon still runs.
    pub fn exit(mut self) -> Result<()> {
        match self.pid_file.take() {
            Some(pid_file) => pid_file.release(),
            None => Ok(()),
        }
    }

    /// Clears close-on-exec on the PID file's lock descriptor, so that a program this process
    /// execs inherits the lock (read-only: it can never write the file; it is "running" for
    /// as long as it, or a child it gives the descriptor, lives).
    pub fn keep_lock_across_exec(&self) -> Result<()> {
        let Some(pid_file) = &self.pid_file else {
            return Ok(());
        };
        rustix::io::fcntl_setfd(pid_file.lock_fd(), FdFlags::empty())
            .map_err(|errno| Error::system(Message::SetFlags, Subject::PidFile, errno))
    }
}

impl Drop for Running {
    /// In the daemon itself, as [`Running::exit`]; in any other process, nothing.
    fn drop(&mut self) {
        if let (Some(pid_file), Some(daemon)) = (self.pid_file.take(), self.daemon) {
            if rustix::process::getpid() == daemon {
                let _ = pid_file.release();
            } else {
                // A forked copy: the descriptors close, the lock and content stay.
                drop(pid_file);
            }
        }
    }
}
