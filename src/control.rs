//! The daemon-control protocol (DESIGN.md §3): CHECK, START, STOP and SIGNAL on a daemon
//! identified by its PID file, serialised by a guard file.
//!
//! This module owns the decisions of the action table: what each action does for each class
//! of PID file, how a daemon is launched, signalled and waited for. It must never write the
//! PID file except to empty it after a confirmed stop, never hold the PID file open while it
//! launches a daemon, and never signal a process it has not proven to hold the PID file.
//!
//! How the proof works, and its limits:
//! - the PID named in a locked PID file gets a pidfd first; then `/proc/<pid>/fd` must show a
//!   descriptor of the PID file's device and inode, and the pidfd's process must still be
//!   alive after that look (so the look saw that very process, not a recycled PID); the
//!   signal then goes through the pidfd;
//! - a process that is gone, a zombie (it has no descriptors left) or one that does not hold
//!   the file fails the proof; the PID file is then classified again: if it is still locked
//!   with a PID, the holder is somebody else ("process N does not hold FILE", an error),
//!   otherwise the daemon exited meanwhile (SIGNAL: not running; STOP: done);
//! - without `/proc` (ENOENT on `/proc/self`) the lock alone vouches for the PID; EACCES on
//!   `/proc/<pid>/fd` is an error naming that path;
//! - where `pidfd_open` is unavailable (ENOSYS, or EPERM from a seccomp filter) plain `kill`
//!   is used, and the PID could in theory be recycled between the look and the signal.
//!
//! Deadlines are measured with the monotonic clock through a real system call
//! ([`sys::monotonic_time`]) and every wait uses relative timeouts (`ppoll`, `nanosleep`).

use crate::error::{Error, Result};
use crate::exec;
use crate::pidfile::{self, FileId, Inspection, Owner, PidState};
use crate::signal::Signal;
use crate::sys;
use crate::text::Message;
use core::ffi::{c_char, CStr};
use core::mem::MaybeUninit;
use core::time::Duration;
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, FlockOperation, Mode, OFlags, RawDir};
use rustix::io::Errno;
use rustix::pipe::PipeFlags;
use rustix::process::{Pid, PidfdFlags, WaitOptions, WaitStatus};

/// What to do to the daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Launch it unless it runs.
    Start,
    /// Signal it (SIGTERM by default) and wait until it has released its PID file.
    Stop,
    /// Report whether it runs.
    Check,
    /// Send it a signal (SIGHUP by default).
    Signal,
}

/// The outcome of an action that did not fail (failure is the `Err` of [`control`], status
/// ERROR, exit code [`EXIT_ERROR`]). The numeric values are LibUCW's exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    /// The action was performed (CHECK: the daemon runs).
    Ok = 0,
    /// The daemon was already in the requested state.
    AlreadyDone = 100,
    /// The daemon does not run, so the action could not be performed.
    NotRunning = 101,
    /// The PID file was stale (the daemon died without cleaning up); for START this means
    /// the daemon was started.
    Stale = 103,
}

impl Status {
    /// The tool's exit code for this status.
    pub const fn exit_code(self) -> i32 {
        self as i32
    }
}

/// Exit code of the ERROR status.
pub const EXIT_ERROR: i32 = 102;
/// Exit code for bad usage of the tools.
pub const EXIT_USAGE: i32 = 1;

/// A null-terminated list of C strings (an argument vector or an environment), either as
/// the kernel handed it to a program or as a slice.
#[derive(Clone, Copy)]
pub struct StringList<'a> {
    source: ListSource<'a>,
}

#[derive(Clone, Copy)]
enum ListSource<'a> {
    Raw(*const *const c_char),
    Slice(&'a [&'a CStr]),
}

impl<'a> StringList<'a> {
    /// The empty list.
    pub const EMPTY: StringList<'static> = StringList {
        source: ListSource::Slice(&[]),
    };

    /// A list made of `strings`.
    pub const fn from_slice(strings: &'a [&'a CStr]) -> Self {
        Self {
            source: ListSource::Slice(strings),
        }
    }

    /// A list given as a null-terminated array of pointers (`argv`, `envp`).
    ///
    /// # Safety
    /// `vector` must point to a null-terminated array of pointers to NUL-terminated strings,
    /// all valid and unchanged for `'a`.
    pub const unsafe fn from_raw(vector: *const *const c_char) -> Self {
        Self {
            source: ListSource::Raw(vector),
        }
    }
}

/// Everything an action needs.
#[derive(Clone, Copy)]
pub struct Params<'a> {
    /// The daemon's PID file.
    pub pid_file: &'a CStr,
    /// The guard file that serialises controllers (created if missing).
    pub guard_file: &'a CStr,
    /// What to do.
    pub action: Action,
    /// START: the program and its arguments (`program[0]` is searched in `PATH`).
    pub program: StringList<'a>,
    /// START: the environment the program gets (and where `PATH` is looked up).
    pub environment: StringList<'a>,
    /// STOP/SIGNAL: the signal to send instead of SIGTERM/SIGHUP.
    pub signal: Option<Signal>,
    /// One deadline for every wait of the action; `None` waits as long as it takes.
    pub timeout: Option<Duration>,
    /// STOP: when the deadline expires, send SIGKILL and wait again (bounded by another
    /// `timeout`) instead of failing.
    pub escalate: bool,
}

/// Most entries a [`StringList::from_slice`] list may have for START (the pointer vector
/// handed to `execve` is built on the stack of the launcher).
pub const MAX_LIST_ENTRIES: usize = 1024;

impl<'a> StringList<'a> {
    /// Entry `index`, if the list has that many.
    pub fn get(&self, index: usize) -> Option<&'a CStr> {
        match self.source {
            ListSource::Slice(strings) => strings.get(index).copied(),
            ListSource::Raw(vector) => {
                if vector.is_null() {
                    return None;
                }
                for position in 0..=index {
                    // SAFETY: `from_raw`'s contract: a null-terminated vector; we never read
                    // past the first null.
                    let entry = unsafe { *vector.add(position) };
                    if entry.is_null() {
                        return None;
                    }
                    if position == index {
                        // SAFETY: entries are NUL-terminated strings valid for `'a`.
                        return Some(unsafe { CStr::from_ptr(entry) });
                    }
                }
                None
            }
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        match self.source {
            ListSource::Slice(strings) => strings.len(),
            ListSource::Raw(vector) => {
                let mut count = 0;
                // SAFETY: `from_raw`'s contract: a null-terminated vector (or null).
                while !vector.is_null() && !unsafe { *vector.add(count) }.is_null() {
                    count += 1;
                }
                count
            }
        }
    }

    /// Whether the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.get(0).is_none()
    }

    /// Whether a slice list has more entries than the launcher's stack vector holds (raw
    /// lists are passed to `execve` as they are, so they have no such limit).
    fn too_long(&self) -> bool {
        matches!(self.source, ListSource::Slice(strings) if strings.len() > MAX_LIST_ENTRIES)
    }

    /// The null-terminated pointer vector `execve` wants: a raw list as it is, a slice
    /// copied into `storage` (at most [`MAX_LIST_ENTRIES`] entries; callers check first).
    fn vector(&self, storage: &mut [*const c_char; MAX_LIST_ENTRIES + 1]) -> *const *const c_char {
        match self.source {
            ListSource::Raw(vector) if !vector.is_null() => vector,
            ListSource::Raw(_) => storage.as_ptr(),
            ListSource::Slice(strings) => {
                for (slot, string) in storage
                    .iter_mut()
                    .zip(strings.iter().take(MAX_LIST_ENTRIES))
                {
                    *slot = string.as_ptr();
                }
                storage[strings.len().min(MAX_LIST_ENTRIES)] = core::ptr::null();
                storage.as_ptr()
            }
        }
    }
}

impl<'a> Params<'a> {
    /// Parameters for `action` on the daemon of `pid_file`, serialised by `guard_file`, with
    /// everything else at its default: no program, empty environment, default signal, no
    /// deadline, no escalation.
    pub const fn new(pid_file: &'a CStr, guard_file: &'a CStr, action: Action) -> Self {
        Self {
            pid_file,
            guard_file,
            action,
            program: StringList::EMPTY,
            environment: StringList::EMPTY,
            signal: None,
            timeout: None,
            escalate: false,
        }
    }
}

/// Performs `params.action` as the action table of DESIGN.md §3 (repeated in the crate docs)
/// defines: takes the guard file (bounded by `params.timeout`), classifies the PID file and
/// acts on the class.
///
/// Returns the status of an action that did not fail; every failure (status ERROR) is an
/// `Err` whose message says what failed, on which path, with the errno name.
///
/// START forks a launcher and waits for it by PID (`waitpid(pid)`); the child only makes
/// async-signal-safe system calls before it execs, so calling this from a multi-threaded
/// process is fine, but no other thread may reap arbitrary children (`wait(-1)`) meanwhile,
/// or it could steal the launcher's exit status (START then fails with ECHILD).
pub fn control(params: &Params<'_>) -> Result<Status> {
    Guard::take(params)?.act(params)
}

/// The guard file, locked: while it is held no other controller acts on the daemon.
///
/// [`control`] is `Guard::take` followed by [`Guard::act`]; the two steps are public so a
/// one-shot program can keep the lock until it exits ([`Guard::keep_until_exit`]) instead
/// of closing it, one system call fewer on the `--check` path.
pub struct Guard {
    fd: OwnedFd,
    file: FileId,
    deadline: Deadline,
}

impl Guard {
    /// Opens, checks and locks the guard file (DESIGN.md §3), waiting at most
    /// `params.timeout`, which starts the action's one deadline.
    ///
    /// A guard that is the PID file's inode is refused: locking it would look like a running
    /// daemon to everyone. When the lock is free (the common case) that is checked after the
    /// PID file has been inspected, from the identity `inspect` returns anyway; before any
    /// wait for the lock it is checked with an extra `lstat`, so a misconfigured guard never
    /// blocks on a running daemon's lock.
    pub fn take(params: &Params<'_>) -> Result<Guard> {
        let deadline = Deadline::start(params.timeout);
        let path = params.guard_file;
        let (fd, stat) = pidfile::open_for_writing(path, "guard file", Owner::RootOrUs)?;
        let guard = Guard {
            fd,
            file: FileId::of(&stat),
            deadline,
        };
        let lock_error = |errno| Error::system_on("lock", "guard file", path, errno);
        if pidfile::lock(guard.fd.as_fd(), FlockOperation::NonBlockingLockExclusive)
            .map_err(lock_error)?
        {
            return Ok(guard);
        }
        if let Ok(pid_stat) = rustix::fs::lstat(params.pid_file) {
            guard.refuse_if_pid_file(params, FileId::of(&pid_stat))?;
        }
        match lock_within(guard.fd.as_fd(), &guard.deadline) {
            Ok(true) => Ok(guard),
            Ok(false) => Err(with_seconds(
                Error::new("Cannot lock guard file ")
                    .push(path.to_bytes())
                    .push(": another controller held it for"),
                params.timeout,
            )),
            Err(errno) => Err(lock_error(errno)),
        }
    }

    /// Performs `params.action` with the guard held (see [`control`]).
    pub fn act(&self, params: &Params<'_>) -> Result<Status> {
        crate::failpoint::hit("control-guard-held");
        let inspection = pidfile::inspect(params.pid_file)?;
        if inspection.state != PidState::Absent {
            self.refuse_if_pid_file(params, inspection.file)?;
        }
        act(params, &self.deadline, inspection)
    }

    /// Keeps the lock until the process exits, without the `close`: for one-shot tools that
    /// exit right after the action.
    pub fn keep_until_exit(self) {
        core::mem::forget(self.fd);
    }

    fn refuse_if_pid_file(&self, params: &Params<'_>, pid_file: FileId) -> Result<()> {
        if pid_file == self.file {
            return Err(Error::new("Refusing guard file ")
                .push(params.guard_file.to_bytes())
                .push(": it is the PID file ")
                .push(params.pid_file.to_bytes()));
        }
        Ok(())
    }
}

/// The action table, once the guard is held and the PID file classified.
fn act(params: &Params<'_>, deadline: &Deadline, inspection: Inspection) -> Result<Status> {
    let state = inspection.state;
    match params.action {
        Action::Check => Ok(match state {
            PidState::Absent | PidState::NotRunning => Status::NotRunning,
            PidState::Stale => Status::Stale,
            PidState::Running(_) | PidState::Busy => Status::Ok,
        }),
        Action::Start => match state {
            PidState::Absent | PidState::NotRunning => launch(params, deadline).map(|_| Status::Ok),
            PidState::Stale => launch(params, deadline).map(|_| Status::Stale),
            PidState::Running(_) | PidState::Busy => Ok(Status::AlreadyDone),
        },
        Action::Stop => match state {
            PidState::Absent | PidState::NotRunning => Ok(Status::AlreadyDone),
            PidState::Stale => Ok(Status::Stale),
            PidState::Running(pid) => stop(params, deadline, pid, inspection.file),
            PidState::Busy => {
                let settled = wait_while_busy(params, deadline)?;
                match settled.state {
                    PidState::Running(pid) => stop(params, deadline, pid, settled.file),
                    _ => Ok(Status::Ok),
                }
            }
        },
        Action::Signal => match state {
            PidState::Running(pid) => {
                let signal = params.signal.unwrap_or(Signal::HUP);
                match deliver(params, pid, inspection.file, signal)? {
                    Some(_) => Ok(Status::Ok),
                    None => Ok(Status::NotRunning),
                }
            }
            _ => Ok(Status::NotRunning),
        },
    }
}

// ---------------------------------------------------------------------------------------
// Deadlines and waiting

/// The one deadline of an action: a time limit measured from the start of the action with
/// the monotonic clock (a real system call, see [`sys::monotonic_time`]).
struct Deadline {
    limit: Option<Duration>,
    start: Duration,
}

/// First pause of a backoff loop; each pause doubles up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(1);
/// Longest pause of a backoff loop (how late a poller may notice a released lock).
const LONGEST_PAUSE: Duration = Duration::from_millis(50);

impl Deadline {
    fn start(limit: Option<Duration>) -> Self {
        let start = match limit {
            Some(_) => sys::monotonic_time().unwrap_or(Duration::ZERO),
            None => Duration::ZERO,
        };
        Self { limit, start }
    }

    /// Time left; `None` when there is no deadline.
    fn remaining(&self) -> Option<Duration> {
        let limit = self.limit?;
        let now = sys::monotonic_time().unwrap_or(self.start);
        Some(limit.saturating_sub(now.saturating_sub(self.start)))
    }

    /// Sleeps for the next backoff step (never past the deadline); `false` when the
    /// deadline has already passed.
    fn pause(&self, step: &mut Duration) -> bool {
        let mut sleep = *step;
        if let Some(remaining) = self.remaining() {
            if remaining.is_zero() {
                return false;
            }
            sleep = sleep.min(remaining);
        }
        let _ = rustix::thread::nanosleep(&timespec(sleep));
        *step = (*step * 2).min(LONGEST_PAUSE);
        true
    }
}

fn timespec(duration: Duration) -> Timespec {
    Timespec {
        tv_sec: duration.as_secs() as i64,
        tv_nsec: duration.subsec_nanos() as i64,
    }
}

/// Waits until `fd` is readable (a pidfd: the process has exited; a pipe: data or EOF);
/// `Ok(false)` when the deadline passes first.
fn wait_readable(fd: BorrowedFd<'_>, deadline: &Deadline) -> core::result::Result<bool, Errno> {
    loop {
        let timeout = deadline.remaining().map(timespec);
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        match rustix::event::poll(&mut fds, timeout.as_ref()) {
            Ok(0) => return Ok(false),
            Ok(_) => return Ok(true),
            Err(Errno::INTR) => {}
            Err(errno) => return Err(errno),
        }
    }
}

/// `flock(LOCK_EX)`: blocking without a deadline, else `LOCK_EX|LOCK_NB` with backoff until
/// the deadline (`Ok(false)` then).
fn lock_within(fd: BorrowedFd<'_>, deadline: &Deadline) -> core::result::Result<bool, Errno> {
    if deadline.limit.is_none() {
        return pidfile::lock(fd, FlockOperation::LockExclusive);
    }
    let mut step = FIRST_PAUSE;
    loop {
        if pidfile::lock(fd, FlockOperation::NonBlockingLockExclusive)? {
            return Ok(true);
        }
        if !deadline.pause(&mut step) {
            return Ok(false);
        }
    }
}

/// Appends ` N s` (with milliseconds when there are some) for a time limit.
fn with_seconds(error: Error, limit: Option<Duration>) -> Error {
    let limit = limit.unwrap_or(Duration::ZERO);
    let mut error = error.push(" ").push_number(limit.as_secs());
    let millis = limit.subsec_millis();
    if millis != 0 {
        let digits = [
            b'.',
            b'0' + (millis / 100) as u8,
            b'0' + (millis / 10 % 10) as u8,
            b'0' + (millis % 10) as u8,
        ];
        error = error.push(digits);
    }
    error.push(" s")
}

// ---------------------------------------------------------------------------------------
// START

/// Forks the launcher, execs `params.program` in it, waits for it and checks that it left a
/// running daemon behind (DESIGN.md §3 "Launch"). A launcher still running when the deadline
/// passes is killed and reaped (a daemon following §4 then exits too: its release byte never
/// comes), so that no zombie is left in the calling process.
fn launch(params: &Params<'_>, deadline: &Deadline) -> Result<()> {
    let Some(name) = params.program.get(0) else {
        return Err(Error::new("No program given to start the daemon"));
    };
    let name = name.to_bytes();
    if params.program.too_long() || params.environment.too_long() {
        return Err(Error::new("Cannot start ")
            .push(name)
            .push(": more than ")
            .push_number(MAX_LIST_ENTRIES as u64)
            .push(" arguments or environment entries"));
    }
    let failure = match run_launcher(params, deadline) {
        Ok(()) => {
            let path = params.pid_file.to_bytes();
            return match pidfile::inspect(params.pid_file)?.state {
                PidState::Running(_) => Ok(()),
                PidState::Busy => Err(Error::new("daemon did not write its PID to ").push(path)),
                _ => Err(Error::new("daemon did not lock its PID file ").push(path)),
            };
        }
        Err(failure) => failure,
    };
    // Worded in one place: the failure travels as a small value, not as a 512-byte message.
    Err(match failure {
        LaunchFailure::System(verb, errno) => Error::system(verb, name, errno),
        LaunchFailure::Timeout => with_seconds(
            Error::new("").push(name).push(" did not finish within"),
            params.timeout,
        ),
        LaunchFailure::Killed(signal) => {
            let error = Error::new("")
                .push(name)
                .push(" was killed by signal ")
                .push_number(signal as u64);
            match Signal::from_number(signal as u32).and_then(Signal::name) {
                Some(signal_name) => error.push(" (").push(signal_name).push(")"),
                None => error,
            }
        }
        LaunchFailure::Exited(EXIT_ERROR) => Error::new("")
            .push(name)
            .push(" could not start the daemon (exit status 102)"),
        LaunchFailure::Exited(code) => Error::new("")
            .push(name)
            .push(" exited with status ")
            .push_number(code as u64),
    })
}

/// Why a launch failed, before it is worded.
enum LaunchFailure {
    /// `Cannot <verb> <program>: <errno>` (the exec itself, or one of our system calls).
    System(&'static str, Errno),
    /// The launcher was still running at the deadline (it was killed and reaped).
    Timeout,
    /// The launcher died of this signal.
    Killed(i32),
    /// The launcher exited with this non-zero status.
    Exited(i32),
}

/// Forks and execs the launcher and waits for it; `Ok` when it exited 0.
fn run_launcher(
    params: &Params<'_>,
    deadline: &Deadline,
) -> core::result::Result<(), LaunchFailure> {
    let (reader, writer) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC)
        .map_err(|errno| LaunchFailure::System("create a pipe for", errno))?;
    // SAFETY: the child makes only async-signal-safe system calls (sigprocmask, sigaction,
    // execve, write, exit_group) on memory it owns; it allocates nothing and takes no lock.
    let launcher = match unsafe { sys::fork() } {
        Ok(Some(pid)) => pid,
        Ok(None) => launcher_child(params, writer.as_fd()),
        Err(errno) => return Err(LaunchFailure::System("fork for", errno)),
    };
    drop(writer);
    crate::failpoint::hit("control-launcher-forked");
    let exec_errno = match read_exec_report(reader.as_fd(), deadline) {
        Ok(report) => report,
        Err(Errno::TIMEDOUT) => {
            abandon(launcher);
            return Err(LaunchFailure::Timeout);
        }
        Err(errno) => {
            abandon(launcher);
            return Err(LaunchFailure::System("read the exec report of", errno));
        }
    };
    drop(reader);
    if let Some(errno) = exec_errno {
        let _ = wait_child(launcher, &Deadline::start(None));
        return Err(LaunchFailure::System("execute", errno));
    }
    let status = match wait_child(launcher, deadline) {
        Ok(Some(status)) => status,
        Ok(None) => {
            abandon(launcher);
            return Err(LaunchFailure::Timeout);
        }
        Err(errno) => return Err(LaunchFailure::System("wait for", errno)),
    };
    if let Some(signal) = status.terminating_signal() {
        return Err(LaunchFailure::Killed(signal));
    }
    match status.exit_status() {
        Some(0) => Ok(()),
        code => Err(LaunchFailure::Exited(code.unwrap_or(-1))),
    }
}

/// The launcher between `fork` and `execve`: default signal mask and dispositions, exec with
/// a `PATH` search, and on failure the errno through the close-on-exec pipe, exit 127.
fn launcher_child(params: &Params<'_>, report: BorrowedFd<'_>) -> ! {
    // Dispositions first: a signal unblocked earlier would run the caller's handler here.
    sys::reset_signal_dispositions();
    let _ = sys::set_signal_mask(sys::SignalSet::EMPTY);
    let mut arguments = [core::ptr::null(); MAX_LIST_ENTRIES + 1];
    let mut variables = [core::ptr::null(); MAX_LIST_ENTRIES + 1];
    let argv = params.program.vector(&mut arguments);
    let envp = params.environment.vector(&mut variables);
    // SAFETY: both vectors are null-terminated arrays of NUL-terminated strings that live
    // until the call returns (`StringList`'s contract, or our stack copies).
    let errno = unsafe { exec::execute(argv, envp) };
    let _ = rustix::io::write(report, &errno.raw_os_error().to_ne_bytes());
    sys::exit_group(127)
}

/// Reads the launcher's exec report: `None` at EOF (the exec succeeded and closed the pipe),
/// `Some(errno)` when it failed. Bounded by the deadline (ETIMEDOUT then).
fn read_exec_report(
    reader: BorrowedFd<'_>,
    deadline: &Deadline,
) -> core::result::Result<Option<Errno>, Errno> {
    let mut bytes = [0u8; 4];
    let mut filled = 0;
    loop {
        if !wait_readable(reader, deadline)? {
            return Err(Errno::TIMEDOUT);
        }
        match rustix::io::read(reader, &mut bytes[filled..]) {
            Ok(0) => break,
            Ok(count) => filled += count,
            Err(Errno::INTR) => continue,
            Err(errno) => return Err(errno),
        }
        if filled == bytes.len() {
            break;
        }
    }
    Ok(if filled == bytes.len() {
        Some(Errno::from_raw_os_error(i32::from_ne_bytes(bytes)))
    } else {
        None
    })
}

/// `waitpid(child)`, bounded by the deadline (`Ok(None)`
/// when it passes): a pidfd polled with the remaining time, or `WNOHANG` with backoff when
/// pidfds are unavailable.
fn wait_child(child: Pid, deadline: &Deadline) -> core::result::Result<Option<WaitStatus>, Errno> {
    if deadline.limit.is_some() {
        match rustix::process::pidfd_open(child, PidfdFlags::empty()) {
            Ok(pidfd) => {
                if !wait_readable(pidfd.as_fd(), deadline)? {
                    return Ok(None);
                }
            }
            Err(_) => {
                let mut step = FIRST_PAUSE;
                loop {
                    if let Some((_, status)) =
                        rustix::process::waitpid(Some(child), WaitOptions::NOHANG)?
                    {
                        return Ok(Some(status));
                    }
                    if !deadline.pause(&mut step) {
                        return Ok(None);
                    }
                }
            }
        }
    }
    loop {
        match rustix::process::waitpid(Some(child), WaitOptions::empty()) {
            Ok(Some((_, status))) => return Ok(Some(status)),
            Ok(None) => {}
            Err(Errno::INTR) => {}
            Err(errno) => return Err(errno),
        }
    }
}

/// Kills and reaps a launcher we give up on, so that it leaves no zombie behind.
fn abandon(launcher: Pid) {
    let _ = rustix::process::kill_process(launcher, kernel_signal(Signal::KILL));
    let _ = wait_child(launcher, &Deadline::start(None));
}

// ---------------------------------------------------------------------------------------
// Signal delivery (STOP and SIGNAL)

/// A process proven to hold the PID file; `pidfd` is `None` only where `pidfd_open` is
/// unavailable (ENOSYS, or EPERM from a seccomp filter) and plain `kill` is used.
struct Target {
    pid: Pid,
    pidfd: Option<OwnedFd>,
}

/// Whether a process has the PID file open, as `/proc/<pid>/fd` shows.
enum Holding {
    /// An fd of the process refers to the file's device and inode.
    Yes,
    /// No fd does, or the process is gone (or a zombie, which has no fds).
    No,
    /// `/proc` is not mounted: only the lock vouches for the PID.
    Unknown,
}

/// Proves that `pid` holds the PID file and sends it `signal` (DESIGN.md §3 "Signal
/// delivery"). `Ok(None)` means the daemon went away meanwhile (the PID file is no longer
/// locked with a PID); a locked PID file naming a process that does not hold it is an error.
fn deliver(params: &Params<'_>, pid: Pid, file: FileId, signal: Signal) -> Result<Option<Target>> {
    if let Some(target) = prove(pid, file)? {
        if send(&target, signal)? {
            return Ok(Some(target));
        }
    }
    // Gone, a zombie, or not holding the file: tell an exit from an impostor by the lock.
    match pidfile::inspect(params.pid_file)?.state {
        PidState::Running(_) => Err(Error::new("process ")
            .push_number(pid.as_raw_nonzero().get() as u64)
            .push(" does not hold ")
            .push(params.pid_file.to_bytes())),
        _ => Ok(None),
    }
}

/// Opens a pidfd for `pid`, checks that it holds `file` and that the pidfd's process still
/// lives after that look (so the look saw that very process, not a recycled PID).
/// `Ok(None)`: the process is gone or does not hold the file.
fn prove(pid: Pid, file: FileId) -> Result<Option<Target>> {
    let pidfd = match rustix::process::pidfd_open(pid, PidfdFlags::empty()) {
        Ok(pidfd) => Some(pidfd),
        Err(Errno::NOSYS) | Err(Errno::PERM) => None,
        Err(Errno::SRCH) => return Ok(None),
        Err(errno) => {
            return Err(Error::new("Cannot open a pidfd for process ")
                .push_number(pid.as_raw_nonzero().get() as u64)
                .with_errno(errno))
        }
    };
    if let Holding::No = holds_file(pid, file)? {
        return Ok(None);
    }
    if let Some(pidfd) = &pidfd {
        let now = Deadline {
            limit: Some(Duration::ZERO),
            start: Duration::ZERO,
        };
        match wait_readable(pidfd.as_fd(), &now) {
            Ok(false) => {}
            Ok(true) => return Ok(None),
            Err(errno) => return Err(Error::new("Cannot poll a pidfd").with_errno(errno)),
        }
    }
    Ok(Some(Target { pid, pidfd }))
}

/// Scans `/proc/<pid>/fd` for a descriptor whose target has `file`'s device and inode.
fn holds_file(pid: Pid, file: FileId) -> Result<Holding> {
    let mut path = Message::<32>::new();
    path.push_str("/proc/")
        .push_u64(pid.as_raw_nonzero().get() as u64)
        .push_str("/fd\0");
    // Messages show the path without its NUL.
    let (_, shown) = path.as_bytes().split_last().unwrap_or((&0, b""));
    // SAFETY: `/proc/<digits>/fd` followed by the NUL just pushed: no NUL inside. (A `CStr`
    // spares rustix's copy-and-scan of a byte path, and the tools the memchr behind it.)
    let path_text = unsafe { CStr::from_bytes_with_nul_unchecked(path.as_bytes()) };
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOCTTY;
    let directory = match rustix::fs::open(path_text, flags, Mode::empty()) {
        Ok(directory) => directory,
        Err(Errno::NOENT) => {
            // Either the process is gone or there is no /proc at all.
            return Ok(match rustix::fs::stat(c"/proc/self") {
                Err(Errno::NOENT) => Holding::Unknown,
                _ => Holding::No,
            });
        }
        Err(errno) => return Err(Error::system("open", shown, errno)),
    };
    crate::failpoint::hit("control-proving-holder");
    let mut buffer = [MaybeUninit::<u8>::uninit(); 2048];
    let mut entries = RawDir::new(directory.as_fd(), &mut buffer);
    while let Some(entry) = entries.next() {
        let entry = match entry {
            Ok(entry) => entry,
            // The process exited while we read its descriptor table: it holds nothing.
            Err(Errno::NOENT) | Err(Errno::SRCH) => return Ok(Holding::No),
            Err(errno) => return Err(Error::system("read", shown, errno)),
        };
        let name = entry.file_name();
        if name.to_bytes().first() == Some(&b'.') {
            continue;
        }
        // statat follows the magic link to the open file; a descriptor closed meanwhile
        // (ENOENT) is simply not a match.
        if let Ok(stat) = rustix::fs::statat(directory.as_fd(), name, AtFlags::empty()) {
            if FileId::of(&stat) == file {
                return Ok(Holding::Yes);
            }
        }
    }
    Ok(Holding::No)
}

/// Sends `signal` to the target; `Ok(false)` when the process has already exited.
fn send(target: &Target, signal: Signal) -> Result<bool> {
    let kernel = kernel_signal(signal);
    let result = match &target.pidfd {
        Some(pidfd) => rustix::process::pidfd_send_signal(pidfd, kernel),
        None => rustix::process::kill_process(target.pid, kernel),
    };
    match result {
        Ok(()) => Ok(true),
        Err(Errno::SRCH) => Ok(false),
        Err(errno) => {
            let error = Error::new("Cannot send signal ");
            let error = match signal.name() {
                Some(name) => error.push(name),
                None => error.push_number(signal.number() as u64),
            };
            Err(error
                .push(" to process ")
                .push_number(target.pid.as_raw_nonzero().get() as u64)
                .with_errno(errno))
        }
    }
}

/// Our signal number as rustix's type.
fn kernel_signal(signal: Signal) -> rustix::process::Signal {
    // SAFETY: `Signal` holds 1–64, all valid Linux signal numbers. The values libc reserves
    // for itself (32–33 under glibc) are only ever *sent* to another process here, never
    // blocked or handled, which is what rustix's caveat is about.
    unsafe { rustix::process::Signal::from_raw_unchecked(signal.number() as i32) }
}

// ---------------------------------------------------------------------------------------
// STOP

/// STOP for RUNNING(pid): deliver the signal, SIGCONT for a stopped daemon, wait until the
/// PID file is unlocked, empty it; on deadline expiry fail or escalate to SIGKILL.
fn stop(params: &Params<'_>, deadline: &Deadline, pid: Pid, file: FileId) -> Result<Status> {
    let signal = params.signal.unwrap_or(Signal::TERM);
    let target = deliver(params, pid, file, signal)?;
    if let Some(target) = &target {
        let _ = send(target, Signal::CONT);
    }
    let pidfd = target.as_ref().and_then(|target| target.pidfd.as_ref());
    crate::failpoint::hit("control-stop-signalled");
    if wait_for_release(params, deadline, pidfd)? {
        return Ok(Status::Ok);
    }
    let error = Error::new("daemon ")
        .push_number(pid.as_raw_nonzero().get() as u64)
        .push(" did not stop within");
    let Some(target) = target.as_ref().filter(|_| params.escalate) else {
        return Err(with_seconds(error, params.timeout));
    };
    send(target, Signal::KILL)?;
    if wait_for_release(params, &Deadline::start(params.timeout), pidfd)? {
        return Ok(Status::Ok);
    }
    Err(with_seconds(error, params.timeout).push(", not even after SIGKILL"))
}

/// Waits until the PID file's lock is free, takes it, and empties the file if the path still
/// names the inode we locked. `Ok(false)` when the deadline passes first.
fn wait_for_release(
    params: &Params<'_>,
    deadline: &Deadline,
    pidfd: Option<&OwnedFd>,
) -> Result<bool> {
    let path = params.pid_file;
    if let (Some(pidfd), Some(_)) = (pidfd, deadline.limit) {
        // Sleep until the process exits instead of polling the lock meanwhile.
        wait_readable(pidfd.as_fd(), deadline)
            .map_err(|errno| Error::new("Cannot poll a pidfd").with_errno(errno))?;
    }
    let flags = OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
    let fd = match rustix::fs::open(path, flags | OFlags::RDWR, Mode::empty()) {
        // Read-only is enough to wait for the lock; we just cannot empty the file then.
        Err(Errno::ACCESS) => rustix::fs::open(path, flags | OFlags::RDONLY, Mode::empty()),
        other => other,
    };
    let fd = match fd {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(true),
        Err(errno) => return Err(Error::system_on("open", "PID file", path, errno)),
    };
    if !lock_within(fd.as_fd(), deadline)
        .map_err(|errno| Error::system_on("lock", "PID file", path, errno))?
    {
        return Ok(false);
    }
    if let (Ok(locked), Ok(named)) = (rustix::fs::fstat(&fd), rustix::fs::lstat(path)) {
        if FileId::of(&locked) == FileId::of(&named) {
            // The daemon is gone; a failure to empty the file does not undo that.
            let _ = rustix::fs::ftruncate(&fd, 0);
        }
    }
    Ok(true)
}

/// STOP for BUSY: waits (bounded by the deadline) until the daemon has written its PID or
/// released the lock, and returns the new classification.
fn wait_while_busy(params: &Params<'_>, deadline: &Deadline) -> Result<Inspection> {
    let mut step = FIRST_PAUSE;
    loop {
        let inspection = pidfile::inspect(params.pid_file)?;
        if inspection.state != PidState::Busy {
            return Ok(inspection);
        }
        if !deadline.pause(&mut step) {
            return Err(with_seconds(
                Error::new("daemon did not write its PID to ")
                    .push(params.pid_file.to_bytes())
                    .push(" within"),
                params.timeout,
            ));
        }
    }
}
