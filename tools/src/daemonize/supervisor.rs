//! The daemon's body: the supervisor (or, with `--exec`, the program itself).
//!
//! The supervisor resets SIGCHLD to its default action (an inherited "ignore" would make the
//! kernel reap the program unseen), forks the program into a process group of its own with
//! `PR_SET_PDEATHSIG(SIGKILL)`, forwards every catchable signal it receives (read from a
//! signalfd: no handlers), waits for the program's readiness when asked (`readiness.rs`), and
//! when the program exits it empties the PID file, unlocks it and exits with the program's
//! status (its exit code, or 128 + the terminating signal). When the program exits the
//! supervisor's `LOCK_UN` ends the lock for every descriptor of that description: children the
//! program left behind never keep the daemon "running". A launcher that dies or gives up
//! first (START's deadline) makes the supervisor kill the program's process group and empty
//! the PID file; once the launcher was told "ready", a program that ends keeps the PID file
//! naming the supervisor until the launcher has been collected (START looks first).
//!
//! This file owns the supervisor and the program's child between `fork` and `execve`. It must
//! never let the program run unsupervised (a supervisor that is already gone when the child
//! starts makes the child exit), never report "ready" for a program that ended first, and
//! never keep the PID file after the program has ended.

use super::cgroup::Cgroup;
use super::log::{self, Log, LogTarget};
use super::messages::Failure;
use super::outputs::{self, Outputs};
use super::readiness::{Heard, Readiness};
use super::respawn::{Next, Respawner};
use super::status_file::{Program, Status, StatusFile};
use super::tree::{self, Tree};
use crate::cli::daemonize::Notify;
use crate::rt;
use rustix::event::{PollFd, PollFlags};
#[cfg(feature = "readiness")]
use rustix::fd::AsRawFd;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::io::Errno;
use rustix::process::{Pid, WaitOptions, WaitStatus};
use ucw_daemon::control::{StringList, ERROR_EXIT_CODE};
use ucw_daemon::daemon::Running;
use ucw_daemon::signal::{self, Signal, Signals};
use ucw_daemon::{Error, Subject};

/// Exit code of the program's child when it cannot even report its exec failure.
pub(super) const EXIT_CHILD_FAILED: i32 = 127;
/// Set in the program's child's report (an errno otherwise) when the `--notify-fd`
/// descriptor could not be put in place; errnos are below 4096.
const NOTIFY_SETUP_FAILED: i32 = 1 << 16;
/// Set in the program's child's report when it could not move itself into `--cgroup`.
const JOIN_CGROUP_FAILED: i32 = 1 << 17;
/// Added to a terminating signal's number to make the supervisor's exit code, as shells do.
const SIGNAL_EXIT_BASE: i32 = 128;
/// `si_code` of a signal the kernel itself sent (a terminal's SIGINT/SIGQUIT/SIGTSTP/SIGHUP
/// to the foreground process group, among others).
const SI_KERNEL: i32 = 0x80;

/// What the daemon's body runs.
#[cfg_attr(not(feature = "readiness"), allow(dead_code))]
pub(super) struct Job<'a> {
    /// The program's command line.
    pub(super) program: StringList<'a>,
    /// Its environment.
    pub(super) environment: StringList<'a>,
    /// Its output files.
    pub(super) outputs: &'a Outputs,
    /// How it says it is ready.
    pub(super) notify: Notify,
    /// `--notify-socket`: the socket's name (`@...`); empty otherwise.
    pub(super) socket_name: &'a [u8],
    /// The uid the program runs as (the only one whose `READY=1` counts).
    pub(super) program_uid: u32,
    /// `--foreground`: no fork, no new session; terminal signals reach the program directly.
    pub(super) foreground: bool,
    /// `--init`: the supervisor is this process (PID 1 of a container, say); the program gets
    /// a process group of its own and, when standard input is a terminal, the terminal.
    pub(super) init: bool,
    /// `--signal-group`: forwarded signals go to the program's process group.
    pub(super) signal_group: bool,
    /// `/proc`, opened before the daemon's setup (`tree.rs`).
    pub(super) proc: Option<BorrowedFd<'a>>,
    /// The status file beside the PID file (`status_file.rs`).
    pub(super) status_file: Option<&'a StatusFile>,
    /// `--kill-tree-after`: the grace between SIGTERM and SIGKILL for what the program leaves.
    pub(super) kill_tree_after: core::time::Duration,
    /// The launcher's end of its controller's pipe (`UCW_DAEMON_CONTROLLER_FD`): end of file
    /// while the program is not ready yet means the controller is gone.
    pub(super) controller: Option<BorrowedFd<'a>>,
    /// `--forking`: the program's exit 0 is its readiness, not the service's end.
    pub(super) forking: bool,
    /// `--forking-pid-file`: where the program writes its main process's PID.
    pub(super) forking_pid_file: Option<&'a core::ffi::CStr>,
    /// `--cgroup`: the directory the program's child moves itself into.
    pub(super) cgroup: Option<&'a Cgroup<'a>>,
    /// `--log`: the directory and name of the log file.
    pub(super) log: Option<&'a LogTarget<'a>>,
    /// `--respawn`: when the program is started again.
    pub(super) respawn: crate::cli::daemonize::Respawn,
    /// `--respawn`'s delays and limit.
    pub(super) backoff: crate::cli::daemonize::Backoff,
}

impl Job<'_> {
    /// `--exec`: the program replaces the body and inherits the lock (read-only: it can
    /// never write the file; it is "running" for as long as it, or a child it gives the
    /// descriptor, lives).
    pub(super) fn exec_in_place(&self, running: Running) -> Result<i32, Error> {
        if let Some(lock) = running.lock_fd() {
            if let Err(errno) = rustix::io::fcntl_setfd(lock, rustix::io::FdFlags::empty()) {
                let error = Failure::SetFlags.system(Subject::PidFile, errno);
                running.report_failure(&error);
                return Err(error);
            }
        }
        outputs::redirect(self.outputs);
        signal::reset_for_exec();
        let error = self.execute();
        running.report_failure(&error);
        Err(error)
    }

    /// Execs the program (with a `PATH` search); returns the failure.
    fn execute(&self) -> Error {
        let errno = self.program.exec(&self.environment);
        Failure::Execute.system(Subject::Program, errno)
    }

    /// The supervisor (see the module docs); returns its exit code.
    /// `signals` is the signalfd of every catchable signal, which the launcher blocked.
    pub(super) fn supervise(&self, mut running: Running, signals: Signals) -> Result<i32, Error> {
        let foreground = self.foreground;
        let mut log = match self.log.map(Log::open).transpose() {
            Ok(log) => log,
            Err(error) => {
                running.report_failure(&error);
                return Err(error);
            }
        };
        // Asked once: the subreaper call, the program's child, the walks and the status file
        // all need it.
        let supervisor = rustix::process::getpid();
        let output = log.as_ref().map(Log::writer);
        let started = self.start(&running, foreground, signals, output, supervisor);
        let (signals, mut readiness, mut child) = match started {
            Ok(started) => started,
            Err(error) => {
                running.report_failure(&error);
                return Err(error);
            }
        };
        let mut tree = Tree::new(self.proc, self.cgroup, supervisor);
        let mut program = Program {
            pid: Some(child.as_raw_nonzero().get() as u32),
            ready: readiness.fd().is_none() && !self.forking(),
            ..Program::default()
        };
        self.write_status(&tree, &program);
        let mut respawner = Respawner::new(self.respawn, self.backoff);
        // A stop signal (SIGTERM, SIGINT, SIGQUIT) has arrived: `--respawn` starts nothing
        // again.
        let mut stop = false;
        #[cfg(ucw_failpoints)]
        ucw_daemon::failpoint::hit("supervisor-before-confirm");
        // The supervisor holds the starter's stderr no longer than its program does: with
        // `--stderr` both write there (`out=$(... --start ... 2>&1)` must not wait for the
        // daemon to end). It prints nothing itself; its errors go to the launcher.
        if let (Some(stderr), false) = (&self.outputs[1], foreground) {
            let _ = rustix::stdio::dup2_stderr(stderr);
        }
        if let (Some(_), false) = (&log, foreground) {
            quiet_stderr();
        }
        // While the launcher waits, so does whoever waits for the launcher: once told "ready",
        // the PID file must name us until the launcher has been collected.
        let collected = running.launcher().and_then(launcher_pidfd);
        if readiness.fd().is_none() && !self.forking() {
            running.ready();
        }
        loop {
            let launcher = running.launcher();
            let waiting = launcher.is_some() && (readiness.fd().is_some() || self.forking());
            let mut fds = [
                PollFd::new(&signals, PollFlags::IN),
                PollFd::from_borrowed_fd(readiness.fd().unwrap_or(signals.as_fd()), PollFlags::IN),
                PollFd::from_borrowed_fd(launcher.unwrap_or(signals.as_fd()), PollFlags::IN),
                PollFd::from_borrowed_fd(self.controller.unwrap_or(signals.as_fd()), PollFlags::IN),
                PollFd::from_borrowed_fd(
                    log.as_ref().map_or(signals.as_fd(), Log::reader),
                    PollFlags::IN,
                ),
            ];
            // The entries not in use repeat the signalfd; their events are not looked at.
            let count = if log.is_some() {
                5
            } else if waiting {
                4
            } else if readiness.fd().is_some() {
                // A later incarnation's readiness (`--respawn`): for the status file.
                2
            } else {
                1
            };
            let timeout = log.as_ref().and_then(Log::timeout);
            let mut quiet = false;
            match rustix::event::poll(&mut fds[..count], timeout.as_ref()) {
                Ok(0) => quiet = true,
                Ok(_) | Err(Errno::INTR) => {}
                Err(errno) => {
                    self.end_now(&mut tree, &signals);
                    let error = Failure::ForwardSignals.system(Subject::None, errno);
                    running.report_failure(&error);
                    return Err(error);
                }
            }
            let (signalled, heard, abandoned, orphaned, logged) = (
                !fds[0].revents().is_empty(),
                count >= 2 && readiness.fd().is_some() && !fds[1].revents().is_empty(),
                waiting && !fds[2].revents().is_empty(),
                waiting && self.controller.is_some() && !fds[3].revents().is_empty(),
                count == 5 && !fds[4].revents().is_empty(),
            );
            if let Some(log) = &mut log {
                if logged {
                    let _ = log.pump();
                } else if quiet {
                    // A line without its newline has waited long enough.
                    log.flush();
                }
            }
            if signalled {
                let forwarded = forward(
                    &signals,
                    child,
                    foreground,
                    self.signal_group,
                    log.as_mut(),
                    &mut stop,
                );
                if let Some(status) = forwarded {
                    #[cfg(ucw_failpoints)]
                    ucw_daemon::failpoint::hit("supervisor-program-exited");
                    if let Some(log) = &mut log {
                        log.finish();
                    }
                    if self.forking() {
                        return Ok(self.after_fork(
                            status,
                            &mut tree,
                            &signals,
                            running,
                            collected.as_ref(),
                        ));
                    }
                    if readiness.fd().is_some() && running.launcher().is_some() {
                        // The exit and the readiness can arrive together: what the program
                        // said before it ended counts.
                        let error = if self.heard_before_exit(&readiness, child, foreground) {
                            ended_after_ready(status)
                        } else {
                            not_ready(status)
                        };
                        self.end_now(&mut tree, &signals);
                        running.report_failure(&error);
                        return Ok(ERROR_EXIT_CODE);
                    }
                    let mut status = status;
                    if let Some(respawner) = &mut respawner {
                        // The ended incarnation's channel goes first (a socket's name is
                        // bound again).
                        drop(core::mem::replace(&mut readiness, Readiness::Exec));
                        match self.again(
                            respawner,
                            status,
                            stop,
                            &mut tree,
                            &signals,
                            &running,
                            log.as_mut(),
                            &mut program,
                        ) {
                            Next::Run(next_readiness, next_child) => {
                                readiness = next_readiness;
                                child = next_child;
                                continue;
                            }
                            Next::End(last) => status = last,
                        }
                    }
                    let recorded =
                        self.record_ended_at_once(&tree, &mut program, status, collected.as_ref());
                    if !recorded {
                        wait_until_collected(collected.as_ref());
                    }
                    self.end_service(&mut tree, &signals, running, recorded);
                    return Ok(exit_code(status));
                }
            }
            if heard {
                match self.hear(&readiness, child, foreground) {
                    Heard::Nothing => {}
                    Heard::Ready => {
                        readiness = Readiness::Exec;
                        running.ready();
                        program.ready = true;
                        self.write_status(&tree, &program);
                    }
                    // A later incarnation (`--respawn`) that closed its channel: not ready.
                    Heard::Closed if running.launcher().is_none() => readiness = Readiness::Exec,
                    Heard::Closed => {
                        // A program that exits closes the channel a moment before its
                        // SIGCHLD: give it that moment to tell "exited" from "closed".
                        let error = match exited_within(child, CLOSE_GRACE) {
                            Some(ended) => not_ready(ended),
                            None => Failure::ClosedBeforeReady.about(Subject::Program),
                        };
                        self.end_now(&mut tree, &signals);
                        running.report_failure(&error);
                        return Ok(ERROR_EXIT_CODE);
                    }
                }
            } else if abandoned || orphaned {
                // The launcher died or gave up (START's deadline), or the controller that
                // started it died, before the program was ready: nothing of this start may
                // stay.
                self.end_now(&mut tree, &signals);
                if let Some(status_file) = self.status_file {
                    status_file.clear();
                }
                running.report_failure(&Failure::ControllerGone.about(Subject::Program));
                return Ok(ERROR_EXIT_CODE);
            }
        }
    }

    /// Records the supervisor in the status file (PID and start time; without `/proc` there is
    /// no start time, and a line without it would never be trusted: the file stays empty).
    pub(super) fn write_status(&self, tree: &Tree<'_>, program: &Program) {
        let _ = self.write_status_for(tree, program, None);
    }

    /// [`Supervisor::write_status`] with the controller's pipe of a START that is still to
    /// judge this one; `false` when nothing was written.
    fn write_status_for(
        &self,
        tree: &Tree<'_>,
        program: &Program,
        pipe: Option<(u64, u64)>,
    ) -> bool {
        let (Some(status_file), Some(start_time)) = (self.status_file, tree.start_time()) else {
            return false;
        };
        status_file
            .write(&Status {
                supervisor: tree.supervisor().as_raw_nonzero().get() as u32,
                start_time,
                cgroup: tree.cgroup_path(),
                program,
                controller_pipe: pipe,
            })
            .is_ok()
    }

    /// The program ended before its launcher was collected, so the START that launched us
    /// has not looked at the PID file yet: record how it ended in the status file with the
    /// inode and change time of that START's controller pipe, which START matches to its own
    /// end and reports "exited with status N right after it started" (docs/design.md §3,
    /// launch). `false` when there is no such START (no controller pipe, the launcher already
    /// collected) or no record (no status file): the supervisor then names itself in the PID
    /// file until the launcher is collected, and START sees a daemon that was started.
    fn record_ended_at_once(
        &self,
        tree: &Tree<'_>,
        program: &mut Program,
        ended: Ended,
        launcher: Option<&OwnedFd>,
    ) -> bool {
        let (Some(controller), Some(launcher)) = (self.controller, launcher) else {
            return false;
        };
        // Only the first incarnation's end is "right after it started" (`--respawn`).
        if self.status_file.is_none() || program.restarts > 0 || is_collected(launcher) {
            return false;
        }
        let Some(pipe) = pipe_identity(controller) else {
            return false;
        };
        program.ended(ended);
        self.write_status_for(tree, program, Some(pipe))
    }

    /// A failed start: every descendant SIGKILLed and reaped at once (nothing was ever ready,
    /// so nothing gets a grace).
    pub(super) fn end_now(&self, tree: &mut Tree<'_>, signals: &Signals) {
        tree.end(signals, core::time::Duration::ZERO);
    }

    /// The program has ended after its start: the PID file is emptied (controllers see the
    /// service stopping), the rest of the tree ended (SIGTERM, SIGKILL after
    /// `--kill-tree-after`), and only once no descendant is left the file is unlocked.
    /// `recorded`: the status file holds the program's end for the START that launched us
    /// ([`Supervisor::record_ended_at_once`]) and stays as it is.
    pub(super) fn end_service(
        &self,
        tree: &mut Tree<'_>,
        signals: &Signals,
        running: Running,
        recorded: bool,
    ) {
        let _ = running.stopping();
        tree.end(signals, self.kill_tree_after);
        if let (Some(status_file), false) = (self.status_file, recorded) {
            status_file.clear();
        }
        let _ = running.exit();
    }

    /// Sets up the readiness channel, forks the program and waits for its exec.
    fn start(
        &self,
        running: &Running,
        foreground: bool,
        signals: Signals,
        output: Option<BorrowedFd<'_>>,
        supervisor: Pid,
    ) -> Result<(Signals, Readiness, Pid), Error> {
        // An inherited "ignore" would make the kernel reap the program without a SIGCHLD.
        let _ = signal::set_default_action(Signal::CHLD);
        let (readiness, notify_writer) = self.readiness()?;
        // Before the first fork: every orphan of the program's tree becomes ours.
        tree::become_subreaper(supervisor)
            .map_err(|errno| Failure::BecomeSubreaper.system(Subject::Program, errno))?;
        let child = self.fork_program(running, foreground, output, notify_writer, supervisor)?;
        Ok((signals, readiness, child))
    }

    /// Forks the program's child (its readiness descriptor `notify_writer`, its output
    /// `output`) for `supervisor` (this process) and waits for its exec; returns its PID, or
    /// why it did not run.
    pub(super) fn fork_program(
        &self,
        running: &Running,
        foreground: bool,
        output: Option<BorrowedFd<'_>>,
        notify_writer: Option<OwnedFd>,
        supervisor: Pid,
    ) -> Result<Pid, Error> {
        let (report_read, report_write) = pipe()?;
        let lock = running.lock_fd();
        // The tool is single-threaded; the child only makes system calls until it execs or
        // exits.
        let child = match rt::fork() {
            Err(errno) => return Err(Failure::ForkFor.system(Subject::Program, errno)),
            Ok(Some(child)) => child,
            Ok(None) => self.program_child(
                supervisor,
                foreground,
                lock,
                notify_writer.as_ref(),
                report_write.as_fd(),
                output,
            ),
        };
        drop(notify_writer);
        drop(report_write);
        if let Some(report) = read_report(report_read.as_fd()) {
            let _ = rustix::process::waitpid(Some(child), WaitOptions::empty());
            let errno =
                Errno::from_raw_os_error(report & !(NOTIFY_SETUP_FAILED | JOIN_CGROUP_FAILED));
            if report & JOIN_CGROUP_FAILED != 0 {
                return Err(Failure::JoinCgroup.system(Subject::Program, errno));
            }
            #[cfg(feature = "readiness")]
            if let (Notify::Descriptor(number), true) =
                (self.notify, report & NOTIFY_SETUP_FAILED != 0)
            {
                return Err(Failure::SetUpNotifyFd
                    .system(Subject::Program, errno)
                    .with(1, number));
            }
            return Err(Failure::Execute.system(Subject::Program, errno));
        }
        Ok(child)
    }

    /// The program's child between `fork` and `execve`.
    fn program_child(
        &self,
        supervisor: Pid,
        foreground: bool,
        lock: Option<BorrowedFd<'_>>,
        notify: Option<&OwnedFd>,
        report: BorrowedFd<'_>,
        output: Option<BorrowedFd<'_>>,
    ) -> ! {
        let death_signal =
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
        if death_signal.is_err() || rustix::process::getppid() != Some(supervisor) {
            // The supervisor is already gone (or we cannot tie our life to it): the program
            // must not run unsupervised.
            rt::exit(EXIT_CHILD_FAILED);
        }
        if let Some(cgroup) = self.cgroup {
            // Into the cgroup before anything of the program runs; the supervisor stays out.
            if let Err(errno) = cgroup.join() {
                let code = errno.raw_os_error() | JOIN_CGROUP_FAILED;
                let _ = rustix::io::write(report, &code.to_ne_bytes());
                rt::exit(EXIT_CHILD_FAILED);
            }
        }
        if !foreground {
            // A group of its own, so the supervisor can end the program and its children
            // without ending itself. (In the foreground it stays in the terminal's.)
            let _ = rustix::process::setpgid(None, None);
            if self.init {
                // The terminal's foreground group: `docker run -it ... sh` reads its input.
                rt::take_terminal();
            }
        }
        outputs::redirect(self.outputs);
        if let Some(output) = output {
            log::redirect(output);
        }
        #[cfg(feature = "readiness")]
        if let (Some(notify), Notify::Descriptor(number)) = (notify, self.notify) {
            let mut moved = None;
            if lock.is_some_and(|lock| lock.as_raw_fd() as u32 == number) {
                // The lock's descriptor sits where the notification one must go: move it.
                moved = rustix::io::fcntl_dupfd_cloexec(lock.unwrap(), number as i32 + 1).ok();
                if moved.is_none() {
                    rt::exit(EXIT_CHILD_FAILED);
                }
            }
            // This process execs or exits next; the descriptor at `number`, if any, is not
            // used again (the lock's was moved just above).
            if let Err(errno) = rt::place_for_program(notify.as_fd(), number) {
                // EBADF for a number at or above RLIMIT_NOFILE: say so, not "exited 127".
                let code = errno.raw_os_error() | NOTIFY_SETUP_FAILED;
                let _ = rustix::io::write(report, &code.to_ne_bytes());
                rt::exit(EXIT_CHILD_FAILED);
            }
            if let Some(moved) = &moved {
                inherit(moved.as_fd());
            }
            if moved.is_some() {
                core::mem::forget(moved);
            } else if let Some(lock) = lock {
                inherit(lock);
            }
            self.exec_child(report);
        }
        let _ = notify;
        if let Some(lock) = lock {
            inherit(lock);
        }
        self.exec_child(report)
    }

    /// The last step of the program's child: default signals, the exec; on failure the errno
    /// on `report` and exit 127.
    fn exec_child(&self, report: BorrowedFd<'_>) -> ! {
        signal::reset_for_exec();
        let error = self.execute();
        let errno = error.errno().map_or(0, Errno::raw_os_error);
        let _ = rustix::io::write(report, &errno.to_ne_bytes());
        rt::exit(EXIT_CHILD_FAILED)
    }
}

/// A pidfd of our parent, the launcher, while it waits for our word on `channel`; `None` when
/// it is already gone or pidfds are unavailable. The channel is a socket pair the launcher
/// made, so `SO_PEERPIDFD` (Linux 6.5) names it in one call, whatever has happened to its
/// number; before, our parent's number, opened and then checked to be our parent still.
fn launcher_pidfd(channel: BorrowedFd<'_>) -> Option<OwnedFd> {
    match rt::sys::peer_pidfd(channel) {
        Ok(pidfd) => return Some(pidfd),
        // Reaped already (or, by a kernel that hands out pidfds of reaped processes, a pidfd
        // that says so): nothing to wait for.
        Err(Errno::SRCH) => return None,
        Err(_) => {}
    }
    let parent = rustix::process::getppid()?;
    let pidfd = rustix::process::pidfd_open(parent, rustix::process::PidfdFlags::empty()).ok()?;
    // Still our parent after the open: the pidfd is the launcher's, not a recycled number's.
    (rustix::process::getppid() == Some(parent)).then_some(pidfd)
}

/// How often, 2 ms apart, the supervisor looks whether its launcher has been collected before
/// it lets go of the PID file of a program that has ended (1 s: a parent that never collects
/// its child must not keep a dead program "running").
const LAUNCHER_LOOKS: u32 = 500;

/// Waits (at most [`LAUNCHER_LOOKS`] × 2 ms) until the launcher has been collected by its
/// parent ([`is_collected`]). START looks at the PID file before it collects the
/// launcher, so a program that exits right after it was ready is seen as started — which it
/// was — never as "did not lock its PID file".
pub(super) fn wait_until_collected(launcher: Option<&OwnedFd>) {
    let Some(launcher) = launcher else {
        return;
    };
    for _ in 0..LAUNCHER_LOOKS {
        if is_collected(launcher) {
            return;
        }
        let _ = rustix::thread::nanosleep(&rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: 2_000_000,
        });
    }
}

/// A pipe's inode and change time (nanoseconds since the epoch): the pipe's identity, which
/// the controller at its other end reads the same (an inode number alone wraps at 2³²).
fn pipe_identity(pipe: BorrowedFd<'_>) -> Option<(u64, u64)> {
    let stat = rustix::fs::fstat(pipe).ok()?;
    let time = (stat.st_ctime as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(stat.st_ctime_nsec as u64);
    Some((stat.st_ino, time))
}

/// Whether the launcher (its pidfd) has been collected by its parent.
fn is_collected(launcher: &OwnedFd) -> bool {
    !rt::sys::pidfd_exists(launcher.as_fd())
}

/// `--log`: the supervisor's stderr goes to `/dev/null` instead of the starter's (it prints
/// nothing itself), so a starter that captures stderr (`$(... 2>&1)`) is not held open for
/// the daemon's life.
fn quiet_stderr() {
    if let Ok(null) = rustix::fs::open(
        c"/dev/null",
        rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    ) {
        let _ = rustix::stdio::dup2_stderr(&null);
    }
}

/// Clears close-on-exec on `fd` (in the program's child): the program inherits it.
fn inherit(fd: BorrowedFd<'_>) {
    if rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty()).is_err() {
        rt::exit(EXIT_CHILD_FAILED);
    }
}

/// A close-on-exec pipe, both ends above the standard streams.
pub(super) fn pipe() -> Result<(OwnedFd, OwnedFd), Error> {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .and_then(|(reader, writer)| {
            Ok((
                rt::above_standard_streams(reader)?,
                rt::above_standard_streams(writer)?,
            ))
        })
        .map_err(|errno| Failure::CreatePipe.system(Subject::None, errno))
}

/// The program's child's report (an `i32` in four bytes), or `None` at end of file: the exec
/// closed the pipe. A write of four bytes to a pipe is atomic, so one `read` has all or none.
fn read_report(fd: BorrowedFd<'_>) -> Option<i32> {
    let mut bytes = [0u8; 4];
    loop {
        return match rustix::io::read(fd, &mut bytes) {
            Ok(4) => Some(i32::from_ne_bytes(bytes)),
            Err(Errno::INTR) => continue,
            _ => None,
        };
    }
}

/// SIGUSR2's number: `--log` reopens its file on it.
const USER_SIGNAL_2: u32 = linux_raw_sys::general::SIGUSR2;

/// How the program ended.
#[derive(Clone, Copy)]
pub(super) enum Ended {
    /// It exited with this status.
    Exited(i32),
    /// It died of this signal.
    Killed(i32),
}

impl Ended {
    fn of(status: WaitStatus) -> Self {
        match status.terminating_signal() {
            Some(signal) => Ended::Killed(signal),
            None => Ended::Exited(status.exit_status().unwrap_or(ERROR_EXIT_CODE)),
        }
    }
}

/// Forwards every signal read from `signals` to the program, and reaps on SIGCHLD; returns
/// the program's status once it has exited.
fn forward(
    signals: &Signals,
    child: Pid,
    foreground: bool,
    group: bool,
    log: Option<&mut Log<'_>>,
    stop: &mut bool,
) -> Option<Ended> {
    match signals.read() {
        Ok(Some((signal, code))) => {
            if signal == Signal::CHLD {
                return reap(child);
            }
            *stop |= tree::is_stop(signal);
            if let (USER_SIGNAL_2, Some(log)) = (signal.number(), log) {
                // `--log`: SIGUSR2 reopens the log file; it is not forwarded.
                log.reopen();
                return None;
            }
            if !(foreground && code == SI_KERNEL) {
                // SAFETY: the kernel delivered this number, so it is a valid signal; sending
                // it on to the program is what the supervisor is for.
                let kernel =
                    unsafe { rustix::process::Signal::from_raw_unchecked(signal.number() as i32) };
                if !group || rustix::process::kill_process_group(child, kernel).is_err() {
                    let _ = rustix::process::kill_process(child, kernel);
                }
            }
            None
        }
        Ok(None) => None,
        Err(_) => {
            // Cannot happen with a valid signalfd; never leave the program unsupervised.
            kill_program(child);
            Some(Ended::Exited(ERROR_EXIT_CODE))
        }
    }
}

/// Reaps every exited child without blocking; returns the program's status once it is among
/// them.
fn reap(child: Pid) -> Option<Ended> {
    loop {
        // wait() (any child), not waitpid(None): that is wait4(0), "any child in *our*
        // process group", and the program leads a group of its own.
        match rustix::process::wait(WaitOptions::NOHANG) {
            Ok(Some((pid, status))) if pid == child => return Some(Ended::of(status)),
            Ok(Some(_)) => {}
            Ok(None) => return None,
            Err(Errno::INTR) => {}
            // ECHILD: nothing left to wait for, so the program is gone too.
            Err(_) => return Some(Ended::Exited(ERROR_EXIT_CODE)),
        }
    }
}

/// How long a program whose notification channel closed gets to show that it exited.
const CLOSE_GRACE: core::time::Duration = core::time::Duration::from_millis(100);

/// The program's end, if it ends within `limit` (polled with `WNOHANG`).
fn exited_within(child: Pid, limit: core::time::Duration) -> Option<Ended> {
    let step = core::time::Duration::from_millis(2);
    let mut waited = core::time::Duration::ZERO;
    loop {
        if let Ok(Some((_, status))) = rustix::process::waitpid(Some(child), WaitOptions::NOHANG) {
            return Some(Ended::of(status));
        }
        if waited >= limit {
            return None;
        }
        let _ = rustix::thread::nanosleep(&rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: step.as_nanos() as i64,
        });
        waited += step;
    }
}

/// SIGKILL for the program's process group (it is the group's leader), then reap it.
fn kill_program(child: Pid) {
    let _ = rustix::process::kill_process_group(child, rustix::process::Signal::KILL);
    let _ = rustix::process::kill_process(child, rustix::process::Signal::KILL);
    let _ = rustix::process::waitpid(Some(child), WaitOptions::empty());
}

/// The supervisor's exit code for the program's status: its exit code, or 128 + signal.
pub(super) fn exit_code(ended: Ended) -> i32 {
    match ended {
        Ended::Killed(signal) => SIGNAL_EXIT_BASE + signal,
        Ended::Exited(code) => code,
    }
}

/// The error for a program that said it was ready and then ended, before its launcher could
/// confirm the start.
fn ended_after_ready(ended: Ended) -> Error {
    match ended {
        Ended::Killed(signal) => Failure::KilledAfterReady
            .about(Subject::Program)
            .with(1, signal as u32),
        Ended::Exited(code) => Failure::EndedAfterReady
            .about(Subject::Program)
            .with(1, code as u32),
    }
}

/// The error for a program that ended before it was ready.
pub(super) fn not_ready(ended: Ended) -> Error {
    match ended {
        Ended::Killed(signal) => Failure::KilledBeforeReady
            .about(Subject::Program)
            .with(1, signal as u32),
        Ended::Exited(code) => Failure::EndedBeforeReady
            .about(Subject::Program)
            .with(1, code as u32),
    }
}
