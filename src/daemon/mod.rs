//! The daemon side of the protocol (docs/design.md §4): [`init`] locks the PID file,
//! [`Daemon::run`] forks, detaches and switches the daemon and publishes its PID, [`Running::exit`]
//! releases the file.
//!
//! This module owns the order of those steps (with `fork.rs`, `channel.rs`, `child.rs`, `setup.rs`,
//! `running.rs`). It must never unlink the PID file, run the body when the launcher died before
//! publishing the PID, change the launcher's credentials, fork in a way the host's C library does
//! not expect ([`Fork`]), or close or reset anything of the body's unless asked.
//!
//! # Example
//!
//! LibUCW's example in Rust, forking with `Fork::std()` (the `std` feature; else pass your C
//! library's `fork` and `exit` to [`Fork::hosted`]):
//!
#![cfg_attr(feature = "std", doc = "```no_run")]
#![cfg_attr(not(feature = "std"), doc = "```text")]
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
//! fn main() {
//!     let params = Params {
//!         pid_file: Some(c"/var/run/example.pid"),
//!         ..Params::default()
//!     };
//!     // ... parse arguments ...
//!     // Room for 1,024 supplementary groups; the credentials (4.4 KiB) on the heap too.
//!     let mut groups = vec![rustix::process::Gid::ROOT; 1024];
//!     let mut credentials = Box::new(Credentials::new(&mut groups));
//!     let daemon = match daemon::init(&params, &mut credentials) {
//!         Ok(daemon) => daemon,
//!         Err(error) => {
//!             eprintln!("example: {}", error.display(&params));
//!             std::process::exit(1);
//!         }
//!     };
//!     // ... initialize everything ...
//!     // Let us fork off the daemon:
//!     if let Err(error) = daemon.run(Fork::std(), daemon_body) {
//!         eprintln!("example: {}", error.display(&params));
//!     }
//!     // Here continues the parent process
//! }
//! ```

mod channel;
mod child;
mod fork;
mod running;
#[cfg(feature = "environment")]
mod setup;

pub use fork::Fork;
pub use running::Running;

use crate::account::AccountFiles;
use crate::credentials::{self, Credentials, Identity};
use crate::error::{Context, Error, Message, Result, Subject};
use crate::pidfile::{self, PidFile};
use crate::sys;
use channel::{ended_without_word, read_word, reap, send_byte, Word, RELEASE};
use core::ffi::CStr;
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use rustix::fs::{Mode, OFlags};
use rustix::process::Pid;
#[cfg(feature = "environment")]
use rustix::process::{Resource, Rlimit};
#[cfg(feature = "environment")]
use rustix::thread::CapabilitySet;

/// Options (LibUCW's `DAEMON_FLAG_*` and our own), combined with `|`; none is the default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags(u32);

impl Flags {
    /// Keep the current directory instead of `chdir("/")` (`DAEMON_FLAG_PRESERVE_CWD`).
    pub const PRESERVE_CWD: Self = Self(1);
    /// No daemon: the body runs here, without fork, PID file or switch (`DAEMON_FLAG_SIMULATE`).
    pub const SIMULATE: Self = Self(2);
    /// Before the body: default signal dispositions (but a C library's 32–34) and an empty mask.
    pub const RESET_SIGNALS: Self = Self(4);
    /// Like [`Flags::SIMULATE`], but [`init`] locks the PID file and `run` writes this process's
    /// PID before the body, which ends with [`Running::exit`]: for a process that must stay what it
    /// is, such as a container's PID 1 (`ucw-daemonize --init`).
    pub const IN_PROCESS: Self = Self(8);

    /// Whether every option of `other` is set.
    pub(crate) const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for Flags {
    type Output = Self;
    fn bitor(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

/// What to daemonize with (LibUCW's `struct daemon_params`), and the `environment` feature's setup
/// (docs/design.md §4), in this order: `limits`, `nice`, `oom_score_adj`, `umask`,
/// `root_directory`, `working_directory`, the switch (keeping `keep_capabilities`), `no_new_privs`.
/// Defaults ask for nothing.
///
#[cfg_attr(feature = "environment", doc = "```")]
#[cfg_attr(not(feature = "environment"), doc = "```ignore")]
/// use rustix::process::{Resource, Rlimit};
/// use ucw_daemon::daemon::Params;
///
/// const LIMITS: [(Resource, Rlimit); 1] =
///     [(Resource::Nofile, Rlimit { current: Some(65536), maximum: Some(65536) })];
/// let params = Params {
///     pid_file: Some(c"/run/example.pid"),
///     limits: &LIMITS,
///     umask: Some(rustix::fs::Mode::from_raw_mode(0o027)),
///     working_directory: Some(c"/var/lib/example"),
///     no_new_privs: true,
///     ..Params::default()
/// };
/// # let _ = params;
/// ```
///
/// With [`Flags::SIMULATE`], these fields still apply, in the calling process.
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
    /// Limits set before the switch (`prlimit64`), in order; `None` is `RLIM_INFINITY`. The
    /// kernel's refusal names the limit.
    #[cfg(feature = "environment")]
    pub limits: &'a [(Resource, Rlimit)],
    /// Added to the nice value, like nice(1) (clamped to −20…19; lowering needs `CAP_SYS_NICE`).
    #[cfg(feature = "environment")]
    pub nice: i32,
    /// Written to `/proc/self/oom_score_adj` (−1000…1000); lowering needs `CAP_SYS_RESOURCE`.
    #[cfg(feature = "environment")]
    pub oom_score_adj: Option<i16>,
    /// The daemon's file mode creation mask; `None` is LibUCW's fixed 022.
    #[cfg(feature = "environment")]
    pub umask: Option<Mode>,
    /// The daemon's root (`chroot`, `chdir("/")`); what it needs from outside must be open by then.
    /// Refused with [`Flags::PRESERVE_CWD`].
    #[cfg(feature = "environment")]
    pub root_directory: Option<&'a CStr>,
    /// The directory to change to instead of `/` (inside `root_directory`), before the switch.
    #[cfg(feature = "environment")]
    pub working_directory: Option<&'a CStr>,
    /// `PR_SET_NO_NEW_PRIVS` after the switch: programs the daemon execs gain no privileges.
    #[cfg(feature = "environment")]
    pub no_new_privs: bool,
    /// Capabilities kept across the switch to a non-root [`Params::user`], for the programs it
    /// execs (docs/design.md §6); [`init`] refuses those that could undo the switch.
    #[cfg(feature = "environment")]
    pub keep_capabilities: CapabilitySet,
}

impl Default for Params<'static> {
    fn default() -> Self {
        Self {
            flags: Flags(0),
            pid_file: None,
            user: None,
            group: None,
            account_files: AccountFiles::SYSTEM,
            #[cfg(feature = "environment")]
            limits: &[],
            #[cfg(feature = "environment")]
            nice: 0,
            #[cfg(feature = "environment")]
            oom_score_adj: None,
            #[cfg(feature = "environment")]
            umask: None,
            #[cfg(feature = "environment")]
            root_directory: None,
            #[cfg(feature = "environment")]
            working_directory: None,
            #[cfg(feature = "environment")]
            no_new_privs: false,
            #[cfg(feature = "environment")]
            keep_capabilities: CapabilitySet::empty(),
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
            #[cfg(feature = "environment")]
            Subject::RootDirectory => self.root_directory.map(CStr::to_bytes),
            #[cfg(feature = "environment")]
            Subject::WorkingDirectory => self.working_directory.map(CStr::to_bytes),
            _ => None,
        }
    }
}

/// The name of a user or group given by name.
fn identity_name<'i>(identity: &'i Option<Identity<'_>>) -> Option<&'i [u8]> {
    match identity {
        Some(Identity::Name(name)) => Some(name),
        _ => None,
    }
}

/// A daemon ready to launch: credentials resolved, PID file locked (`(starting)\n`). Dropped
/// without [`Daemon::run`], it empties and unlocks the PID file ("not running", not "stale").
#[must_use = "a Daemon holds the PID file locked until it is run or dropped"]
pub struct Daemon<'a> {
    flags: Flags,
    /// What the daemon sets up in itself besides the switch (`setup.rs`).
    #[cfg(feature = "environment")]
    setup: Params<'a>,
    pid_file: Option<PidFile>,
    pid_path: Option<&'a CStr>,
    credentials: &'a Credentials<'a>,
    /// [`Daemon::close_inherited_fds`]' keep list and closer (linked only when asked for).
    close_inherited: Option<(&'a [RawFd], child::CloseInherited)>,
    /// `/dev/null`, opened by [`init`]; the daemon's stdin and stdout (close-on-exec).
    null: Option<OwnedFd>,
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

/// Resolves the credentials (its errors and refusals come before any file changes), makes sure
/// descriptors 0–2 are open, then opens, checks, locks and fills the PID file (held elsewhere:
/// [`ErrorKind::AlreadyRunning`](crate::ErrorKind::AlreadyRunning)). With [`Flags::SIMULATE`] only
/// the credentials are resolved. Render errors with `error.display(params)`.
pub fn init<'a>(params: &Params<'a>, credentials: &'a mut Credentials<'_>) -> Result<Daemon<'a>> {
    credentials.resolve(params.user, params.group, &params.account_files)?;
    #[cfg(feature = "environment")]
    params.check_setup(credentials)?;
    let mut daemon = Daemon {
        flags: params.flags,
        #[cfg(feature = "environment")]
        setup: *params,
        pid_file: None,
        pid_path: None,
        credentials,
        close_inherited: None,
        null: None,
    };
    if params.flags.contains(Flags::SIMULATE) {
        return Ok(daemon);
    }
    if let Some(path) = params.pid_file {
        if path.to_bytes().first() != Some(&b'/') && !params.flags.contains(Flags::PRESERVE_CWD) {
            return Err(Error::new(Message::RefuseRelative, Subject::PidFile));
        }
    }
    // The body must not find its own files on a closed standard descriptor.
    daemon.null = Some(ensure_standard_fds()?);
    if let Some(path) = params.pid_file {
        daemon.pid_file = Some(PidFile::create_locked(path)?);
        daemon.pid_path = Some(path);
    }
    Ok(daemon)
}

/// Opens `/dev/null` until it lands above 2; returns that one, close-on-exec.
fn ensure_standard_fds() -> Result<OwnedFd> {
    loop {
        let null = rustix::fs::open(
            c"/dev/null",
            OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|errno| Error::system(Message::OpenDevNull, Subject::None, errno))?;
        if null.as_raw_fd() > 2 {
            return Ok(null);
        }
        // It filled a closed standard descriptor: keep it there, inherited across exec.
        let _ = rustix::io::fcntl_setfd(&null, rustix::io::FdFlags::empty());
        let _ = null.into_raw_fd();
    }
}

impl Drop for Daemon<'_> {
    /// Never run: empty and unlock the PID file (`LOCK_UN`: forked processes may hold copies).
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

    /// The read-only, close-on-exec descriptor holding the PID file's lock, if any.
    pub fn lock_fd(&self) -> Option<BorrowedFd<'_>> {
        self.pid_file.as_ref().map(PidFile::lock_fd)
    }

    /// In the daemon, before its body: close every descriptor from 3 up except `keep`, the PID file
    /// and the library's channel.
    ///
    /// # Safety
    /// No value the body uses may own a descriptor from 3 up outside `keep` (it would act on
    /// whatever reuses the number).
    pub unsafe fn close_inherited_fds(mut self, keep: &'a [RawFd]) -> Self {
        self.close_inherited = Some((keep, child::close_inherited_fds));
        self
    }

    /// Forks the daemon; returns in the launcher once the daemon's PID is in the PID file.
    ///
    /// The daemon: `setsid`; the [`Params`] setup; `umask(022)` (or `Params::umask`); the root;
    /// `chdir("/")` (or `Params::working_directory`) unless [`Flags::PRESERVE_CWD`]; the switch;
    /// stdin and stdout to `/dev/null`; `no_new_privs`; the opt-in clean-ups; it reports, waits for
    /// its release, runs `body` and exits with its value. If the launcher dies first, it exits
    /// without the body.
    ///
    /// The launcher: on a setup error, empties the PID file and returns it; else writes `<pid>\n`,
    /// closes its descriptors, releases the daemon and returns [`Launched::Daemon`].
    ///
    /// With [`Flags::SIMULATE`] or [`Flags::IN_PROCESS`], `body` runs here and `run` returns
    /// [`Launched::Simulated`].
    pub fn run(self, fork: Fork, body: impl FnOnce(Running) -> i32) -> Result<Launched> {
        self.launch(fork, body, false)
    }

    /// Like [`Daemon::run`], but returns once the daemon called [`Running::ready`] or `execve`d,
    /// with the error of [`Running::report_failure`] or of a daemon that ended first.
    ///
    /// Before it is ready, the body must not fork a long-lived child without exec (the launcher
    /// would wait for it).
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
            #[cfg(feature = "environment")]
            {
                self.setup.set_up_before_switch(false)?;
                self.setup.set_up_after_switch()?;
            }
            let exit_code = body(Running {
                pid_file: None,
                channel: None,
                daemon: None,
            });
            return Ok(Launched::Simulated { exit_code });
        }
        if self.flags.contains(Flags::IN_PROCESS) {
            #[cfg(feature = "environment")]
            {
                self.setup.set_up_before_switch(false)?;
                self.setup.set_up_after_switch()?;
            }
            return self.run_in_process(body);
        }
        if fork.hosted {
            if let Some(threads) = credentials::thread_count()? {
                if threads != 1 {
                    return Err(Error::new(Message::ForkThreads, Subject::None)
                        .with(1, threads.min(u64::from(u32::MAX)) as u32));
                }
            }
        }
        // A socket: a send to a dead daemon is EPIPE, not SIGPIPE.
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
        match fork.fork() {
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

    /// [`Flags::IN_PROCESS`]: this process's PID in the PID file, then the body, here.
    fn run_in_process(mut self, body: impl FnOnce(Running) -> i32) -> Result<Launched> {
        let me = rustix::process::getpid();
        let pid_file = self.pid_file.take();
        if let Some(pid_file) = &pid_file {
            pid_file.write_pid(me)?;
        }
        let exit_code = body(Running {
            pid_file,
            channel: None,
            daemon: Some(me),
        });
        Ok(Launched::Simulated { exit_code })
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
            // docs/design.md §4: the lock is the daemon's alone once released.
            let [write, lock] = pid_file.into_fds();
            sys::close_together([self.null.take(), Some(write), Some(lock)]);
        }
        if let Err(errno) = send_byte(channel.as_fd(), RELEASE) {
            // Died before its release: take the file back and empty it, unless another starter
            // holds it.
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
        // No word: exec'd or crashed; `ended_without_word` tells.
        if until_ready && read_word(channel.as_fd())? == Word::Closed && ended_without_word(pid) {
            reap(pid);
            return Err(ended(Message::EndedBeforeConfirm));
        }
        Ok(Launched::Daemon { pid })
    }
}
