//! The daemon side of the protocol (docs/design.md §4): [`init`] locks the PID file in the
//! launching process, [`Daemon::run`] forks the daemon, detaches and switches it, and
//! publishes its PID; [`Running::exit`] releases the PID file.
//!
//! This module owns the exact order of those steps: the launcher's side is here, the fork
//! in `fork.rs`, the channel through which the daemon reports its setup, the launcher releases
//! it and the daemon later says it is ready in `channel.rs`, the daemon's side until its body
//! in `child.rs`, the process setup [`Params`] asks for beyond LibUCW's (limits, priority,
//! directories, privileges) in `setup.rs`, and what the body holds in `running.rs`. It must
//! never unlink the PID file (a second starter would lock a fresh inode while the daemon still
//! runs), never run the body when the launcher died before publishing the PID, never change
//! the launcher's own credentials, never fork in a way its host's C library does not expect
//! ([`Fork`]), and never close or reset anything of the body's unless asked.
//!
//! # Example
//!
//! LibUCW's example, in Rust: a std program, so it forks through its C library with
//! `Fork::std()` (the `std` feature; without it, pass your C library's `fork` and `exit` to
//! [`Fork::hosted`]):
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

/// Options of the daemon helper (LibUCW's `DAEMON_FLAG_*`, plus one opt-in clean-up), combined
/// with `|`; none is `Flags::default()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags(u32);

impl Flags {
    /// Keep the current directory instead of `chdir("/")` (`DAEMON_FLAG_PRESERVE_CWD`).
    pub const PRESERVE_CWD: Self = Self(1);
    /// Do not daemonize: no fork, no PID file, no credential switch; the body runs in the
    /// calling process (`DAEMON_FLAG_SIMULATE`, for debuggers and `--foreground`).
    pub const SIMULATE: Self = Self(2);
    /// In the daemon, before the body: every signal disposition back to default and an empty
    /// signal mask (the launcher's ignored signals otherwise stay ignored). In a process with
    /// a C library the signals it reserves (32–34) keep its handlers.
    pub const RESET_SIGNALS: Self = Self(4);
    /// Run the body in this process, as [`Flags::SIMULATE`] does (no fork, no new session, no
    /// credential switch, no redirection), but with the PID file: [`init`] locks it as
    /// usual and `run` writes this process's PID into it before the body, which ends it with
    /// [`Running::exit`]. For a process that must stay what it is, such as the PID 1 of a
    /// container (`ucw-daemonize --init`).
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

/// What to daemonize with (LibUCW's `struct daemon_params`), and the process setup beyond
/// LibUCW's (docs/design.md §4), which the daemon makes in this order: `limits`, `nice`,
/// `oom_score_adj`, `umask`, `root_directory`, `working_directory` before the credential
/// switch (they need privileges the switch gives up), the switch itself (keeping
/// `keep_capabilities`), then `no_new_privs`. Fields left at their default ask for nothing.
/// The process setup beyond LibUCW's is the `environment` feature's (off by default).
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
/// With [`Flags::SIMULATE`] nothing of LibUCW's daemonization happens (no fork, no new
/// session, no `/dev/null`, no fixed umask or `chdir("/")`, no credential switch), but what
/// these fields ask for explicitly does, in the calling process, before the body: a program
/// that runs in the foreground still gets its limits, directories and `no_new_privs`
/// ([`Credentials::switch`] then switches it, with the kept capabilities, if it wants that).
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
    /// Resource limits the daemon sets before the switch (`prlimit64`), in order; a `None`
    /// in an [`Rlimit`] is `RLIM_INFINITY`. A soft limit above the hard one, a hard limit
    /// raised without `CAP_SYS_RESOURCE` or `nofile` above `fs.nr_open` fail with the
    /// kernel's EINVAL or EPERM, naming the limit.
    #[cfg(feature = "environment")]
    pub limits: &'a [(Resource, Rlimit)],
    /// Added to the daemon's nice value before the switch, like nice(1) (the kernel keeps
    /// the result within −20…19; lowering it needs `CAP_SYS_NICE` or `RLIMIT_NICE`); 0
    /// changes nothing.
    #[cfg(feature = "environment")]
    pub nice: i32,
    /// Written to `/proc/self/oom_score_adj` (−1000…1000) before the switch, which makes
    /// the file root's; lowering it needs `CAP_SYS_RESOURCE`.
    #[cfg(feature = "environment")]
    pub oom_score_adj: Option<i16>,
    /// The daemon's file mode creation mask; `None` is LibUCW's fixed 022.
    #[cfg(feature = "environment")]
    pub umask: Option<Mode>,
    /// The directory the daemon makes its root (`chroot`, then `chdir("/")` in it) before
    /// the switch: everything the daemon needs from outside must be open by then (the PID
    /// file is; a program it execs is looked up inside). Needs `CAP_SYS_CHROOT`; refused
    /// with [`Flags::PRESERVE_CWD`], which would keep a directory outside the root.
    #[cfg(feature = "environment")]
    pub root_directory: Option<&'a CStr>,
    /// The directory the daemon changes to instead of `/` (inside `root_directory` when
    /// one is given), before the switch.
    #[cfg(feature = "environment")]
    pub working_directory: Option<&'a CStr>,
    /// `PR_SET_NO_NEW_PRIVS` after the switch: no program the daemon execs gains privileges
    /// (set-user-ID bits and file capabilities are ignored).
    #[cfg(feature = "environment")]
    pub no_new_privs: bool,
    /// Capabilities kept across the switch to [`Params::user`] (which must be a user other
    /// than root) in the permitted, inheritable and ambient sets, so that a program the
    /// daemon execs has them (`CAP_NET_BIND_SERVICE` for a web server as `www-data`); the
    /// daemon's own effective set stays empty. Capabilities that could undo the switch
    /// (`CAP_SETUID`, `CAP_SETGID`, `CAP_SETPCAP`, `CAP_SYS_ADMIN`, `CAP_DAC_OVERRIDE`,
    /// `CAP_SYS_PTRACE`, `CAP_SYS_MODULE`) are refused by [`init`]; the switch's proof
    /// requires exactly these (docs/design.md §6).
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

/// A daemon ready to be launched: credentials resolved, PID file locked (`(starting)\n`).
///
/// Dropping it without [`Daemon::run`] (an error between `init` and `run`) empties the PID
/// file and releases its lock, so the next CHECK says "not running", not "stale".
#[must_use = "a Daemon holds the PID file locked until it is run or dropped"]
pub struct Daemon<'a> {
    flags: Flags,
    /// What the daemon sets up in itself besides the switch (`setup.rs`).
    #[cfg(feature = "environment")]
    setup: Params<'a>,
    pid_file: Option<PidFile>,
    pid_path: Option<&'a CStr>,
    credentials: &'a Credentials<'a>,
    /// [`Daemon::close_inherited_fds`]: the descriptors to keep, and the function that closes
    /// the others (referenced only from that method, so a program that never asks for it
    /// does not carry it).
    close_inherited: Option<(&'a [RawFd], child::CloseInherited)>,
    /// `/dev/null`, opened by [`init`] to make sure of the standard descriptors: the daemon
    /// puts it on its stdin and stdout (close-on-exec).
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

/// Resolves the credentials into `credentials` (errors come before any file changes; so do
/// the refusals of `Params::keep_capabilities` and `Params::root_directory`), makes
/// sure descriptors 0–2 are open, then opens, checks, locks and fills the PID file (a lock
/// held elsewhere is [`ErrorKind::AlreadyRunning`](crate::ErrorKind::AlreadyRunning); a
/// file on a pseudo file system such as `/proc` is refused). With [`Flags::SIMULATE`] only
/// the credentials are resolved.
///
/// `credentials` is the caller's (with its group storage; see [`Credentials`]); the returned
/// [`Daemon`] borrows it. Render errors with `error.display(params)`.
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
    // The daemon's body must not find its own files on a closed standard descriptor (its
    // stderr would write into them).
    daemon.null = Some(ensure_standard_fds()?);
    if let Some(path) = params.pid_file {
        daemon.pid_file = Some(PidFile::create_locked(path)?);
        daemon.pid_path = Some(path);
    }
    Ok(daemon)
}

/// Opens `/dev/null` on each of descriptors 0, 1 and 2 that is closed: the lowest free
/// number is where `open` lands, so open until it lands above 2 (one open when all three are
/// open), and return that one (close-on-exec), which the daemon puts on its stdin and stdout.
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
        // It filled a closed standard descriptor: keep it there for good, as a standard
        // descriptor is (inherited across exec).
        let _ = rustix::io::fcntl_setfd(&null, rustix::io::FdFlags::empty());
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

    /// The read-only descriptor that holds the PID file's lock (none without a PID file or
    /// with [`Flags::SIMULATE`]); close-on-exec.
    pub fn lock_fd(&self) -> Option<BorrowedFd<'_>> {
        self.pid_file.as_ref().map(PidFile::lock_fd)
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
        self.close_inherited = Some((keep, child::close_inherited_fds));
        self
    }

    /// Forks the daemon and returns in the launcher once the daemon's PID is in the PID file.
    ///
    /// The daemon (child): `setsid`; with the `environment` feature, the setup of [`Params`]
    /// before the switch (limits, nice, OOM score), `umask(022)` (or `Params::umask`), the root
    /// directory, `chdir("/")` (or to `Params::working_directory`) unless
    /// [`Flags::PRESERVE_CWD`]; the credential switch; stdin and stdout to `/dev/null` (stderr
    /// stays); without the feature, `umask(022)` and `chdir("/")` unless
    /// [`Flags::PRESERVE_CWD`]; with it, `no_new_privs`; the opt-in
    /// clean-ups; then it reports to the launcher and waits for its release; it then runs
    /// `body` and ends with the `fork`'s exit (the body's return value as the status). If the
    /// launcher dies before releasing it, it exits without running the body.
    ///
    /// The launcher (parent): on a setup error of the daemon, empties the PID file and
    /// returns that error; otherwise writes `<pid>\n`, closes its PID-file descriptors,
    /// releases the daemon and returns [`Launched::Daemon`]. It keeps its own credentials.
    ///
    /// With [`Flags::SIMULATE`] or [`Flags::IN_PROCESS`], `body` runs in this process, after
    /// the setup [`Params`] asks for explicitly, and `run` returns [`Launched::Simulated`]
    /// after it.
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
            // DESIGN §4: the launcher's descriptors are closed before the release, so from
            // the body's first instruction the lock is the daemon's alone (with `/dev/null`,
            // one `close_range` when their numbers follow each other).
            let [write, lock] = pid_file.into_fds();
            sys::close_together([self.null.take(), Some(write), Some(lock)]);
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
        // one (a crash); `ended_without_word` tells the two apart.
        if until_ready && read_word(channel.as_fd())? == Word::Closed && ended_without_word(pid) {
            reap(pid);
            return Err(ended(Message::EndedBeforeConfirm));
        }
        Ok(Launched::Daemon { pid })
    }
}
