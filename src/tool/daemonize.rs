//! `ucw-daemonize`: puts any foreground program under the protocol (DESIGN.md §5) — its
//! command line, the output files, the program's environment, and the supervisor.
//!
//! By default the daemon's body is a tiny supervisor. It resets SIGCHLD to its default
//! action (an inherited "ignore" would make the kernel reap the program unseen), forks the
//! program into a process group of its own with `PR_SET_PDEATHSIG(SIGKILL)`, forwards every
//! catchable signal it receives (read from a signalfd: no handlers), and when the program
//! exits it empties the PID file, unlocks it and exits with the program's status (its exit
//! code, or 128 + the terminating signal).
//!
//! The lock lives exactly as long as the program: the program inherits the PID file's
//! read-only, lock-carrying open file description (it can never write the file), so a
//! supervisor killed with SIGKILL leaves the lock with the program — never two programs
//! alive, and STOP still finds and stops what is left (the controller signals the lock's
//! holders in the daemon's session). When the program exits the supervisor's `LOCK_UN`
//! ends the lock for every descriptor of that description: children the program left
//! behind never keep the daemon "running".
//!
//! Readiness (optional): with `--notify-fd N` the program writes a newline to descriptor N
//! when it is ready (s6's convention); with `--notify-socket` it sends `READY=1` to
//! `$NOTIFY_SOCKET` (systemd's `sd_notify`), an abstract datagram socket we create. Its name
//! is no secret, so a datagram counts only from the program's uid (`SO_PASSCRED`) and from the
//! service: the program, or a live process of its group or of our session, checked on the
//! sender's pidfd where the kernel sends one (`SCM_PIDFD`; no `/proc` needed). The launcher —
//! and so `ucw-daemon-control --start` — returns only then. A program that exits or closes
//! its notification channel first makes the launcher exit 102 saying so (what it said before
//! it ended counts: "was ready, then exited"), with nothing left running; a launcher that dies
//! or gives up first (START's deadline) makes the supervisor kill the program's process group
//! and empty the PID file. Once the launcher was told "ready", a program that ends keeps the
//! PID file naming the supervisor until the launcher has been collected (START looks first).
//!
//! With `--exec` the program replaces the body and inherits the lock itself: lighter, but
//! the program or its children may keep the lock (a child that outlives it) or drop it (a
//! program that closes every descriptor); readiness needs the supervisor.
//!
//! This file owns the tool's behaviour. It must never leave the launcher's exit status at 0
//! before the program runs (and is ready, when asked), never let the program run
//! unsupervised in supervised mode, and never write output to a file it has not checked.

use super::options::{option, Argument, LongOption, Scanner, UsageError};
use crate::account::{AccountFiles, HOME_CAPACITY, NAME_CAPACITY};
use crate::credentials::{Credentials, Identity};
use crate::daemon::{self, Flags, Fork, Launched, Running};
use crate::error::{Context, Error, Message, Subject};
use crate::exec::{self, StringList, MAX_LIST_ENTRIES};
use crate::signal::{Signal, SignalSet, Signals};
use crate::sys;
use crate::text::{parse_decimal, Writer};
use core::ffi::{c_char, CStr};
use rustix::event::{PollFd, PollFlags};
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;
use rustix::process::{Pid, WaitOptions, WaitStatus};

/// The command-line options; [`parse`] relies on their order.
pub const OPTIONS: &[LongOption] = &[
    option("pid-file", true),
    option("user", true),
    option("group", true),
    option("preserve-cwd", false),
    option("foreground", false),
    option("exec", false),
    option("notify-fd", true),
    option("notify-socket", false),
    option("stdout", true),
    option("stderr", true),
    option("help", false),
    option("version", false),
];

/// How the program announces that it is ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notify {
    /// It is ready once it runs (the exec succeeded).
    Exec,
    /// It writes a newline to this descriptor (s6).
    Descriptor(u32),
    /// It sends `READY=1` to `$NOTIFY_SOCKET` (systemd).
    Socket,
}

/// A complete, checked `ucw-daemonize` command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// `--pid-file`.
    pub pid_file: Option<&'a CStr>,
    /// `--user` (a name or `#uid`, as given).
    pub user: Option<&'a CStr>,
    /// `--group` (a name or `#gid`, as given).
    pub group: Option<&'a CStr>,
    /// `--preserve-cwd`, `--foreground`.
    pub flags: Flags,
    /// `--exec`.
    pub exec: bool,
    /// `--notify-fd`, `--notify-socket`.
    pub notify: Notify,
    /// `--stdout`.
    pub stdout: Option<&'a CStr>,
    /// `--stderr`.
    pub stderr: Option<&'a CStr>,
    /// The number of words of the program's command line, left at the front of the
    /// arguments.
    pub command: usize,
}

/// What the command line asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invocation<'a> {
    /// `--help`.
    Help,
    /// `--version`.
    Version,
    /// Daemonize the program.
    Run(Request<'a>),
}

/// Parses `ucw-daemonize`'s arguments (program name excluded). The program's own options
/// follow it, so the first operand ends ours (no permutation); the program's command line is
/// left at the front of `arguments`.
pub fn parse<'a, A: Argument<'a>>(arguments: &mut [A]) -> Result<Invocation<'a>, UsageError<'a>> {
    let mut scanner = Scanner::new(OPTIONS, arguments, false);
    let mut request = Request {
        pid_file: None,
        user: None,
        group: None,
        flags: Flags::EMPTY,
        exec: false,
        notify: Notify::Exec,
        stdout: None,
        stderr: None,
        command: 0,
    };
    while let Some(found) = scanner.next_option()? {
        let name = OPTIONS[found.index].name;
        let value = found.value.unwrap_or(c"");
        if found.value.is_some() && value.is_empty() {
            return Err(UsageError::EmptyValue(name));
        }
        match found.index {
            0 => request.pid_file = Some(value),
            1 => request.user = Some(value),
            2 => request.group = Some(value),
            3 => request.flags = request.flags | Flags::PRESERVE_CWD,
            4 => request.flags = request.flags | Flags::SIMULATE,
            5 => request.exec = true,
            6 => match parse_decimal(value.to_bytes(), i32::MAX as u64) {
                Some(number) if number >= 3 => request.notify = Notify::Descriptor(number as u32),
                _ => return Err(UsageError::BadDescriptor(name, value)),
            },
            7 => request.notify = Notify::Socket,
            8 => request.stdout = Some(value),
            9 => request.stderr = Some(value),
            10 => return Ok(Invocation::Help),
            _ => return Ok(Invocation::Version),
        }
    }
    if request.exec && request.notify != Notify::Exec {
        let readiness = match request.notify {
            Notify::Socket => "notify-socket",
            _ => "notify-fd",
        };
        return Err(UsageError::Exclusive("exec", readiness));
    }
    request.command = scanner.operands();
    if request.command == 0 {
        return Err(UsageError::MissingProgram);
    }
    Ok(Invocation::Run(request))
}

/// The names a `ucw-daemonize` error may mention: the daemon's params, the program, the
/// user and group as given, the output files.
struct Names<'a> {
    params: &'a daemon::Params<'a>,
    request: &'a Request<'a>,
    program: &'a [u8],
}

impl Context for Names<'_> {
    fn name(&self, subject: Subject) -> Option<&[u8]> {
        match subject {
            Subject::Program => Some(self.program),
            Subject::User => self.request.user.map(CStr::to_bytes),
            Subject::Group => self.request.group.map(CStr::to_bytes),
            Subject::OutputFile => self.request.stdout.map(CStr::to_bytes),
            Subject::ErrorFile => self.request.stderr.map(CStr::to_bytes),
            other => self.params.name(other),
        }
    }
}

/// Everything the tool gets from its runtime besides the parsed request.
pub struct Startup<'a> {
    /// The tool's name for messages.
    pub name: &'static [u8],
    /// The program's command line (a null-terminated vector).
    pub program: StringList<'a>,
    /// The tool's environment.
    pub environment: StringList<'a>,
    /// Where `--user` and `--group` are looked up.
    pub account_files: AccountFiles<'a>,
    /// Storage for the resolved credentials (with room for every group the kernel allows: the
    /// tool keeps it in `.bss`).
    pub credentials: &'a mut Credentials<'a>,
}

/// Runs `ucw-daemonize` for `request`; returns its exit code: 0 once the program runs (and is
/// ready, when asked), 102 on errors (`<prog>: <message>` on stderr), or in the foreground
/// the program's status.
pub fn run(request: &Request<'_>, startup: Startup<'_>) -> i32 {
    let program = startup.program.get(0).map_or(&b""[..], CStr::to_bytes);
    let mut params = daemon::Params {
        flags: request.flags,
        pid_file: request.pid_file,
        user: None,
        group: None,
        account_files: startup.account_files,
    };
    let parsed = identity(request.user, Subject::User)
        .and_then(|user| Ok((user, identity(request.group, Subject::Group)?)));

    if let Ok((user, group)) = parsed {
        params.user = user;
        params.group = group;
    }
    let names = Names {
        params: &params,
        request,
        program,
    };
    let fail = |error: Error| {
        super::print_error(startup.name, &error, &names);
        crate::control::ERROR_EXIT_CODE
    };
    if let Err(error) = parsed {
        return fail(error);
    }
    let daemon = match daemon::init(&params, startup.credentials) {
        Ok(daemon) => daemon,
        Err(error) => return fail(error),
    };
    let simulated = request.flags.contains(Flags::SIMULATE);
    // The library's SIMULATE does not switch credentials; in the foreground the tool does, so
    // that `--foreground --user` runs the program as that user (service managers that keep
    // their services attached).
    if simulated {
        if let Err(error) = daemon.credentials().switch() {
            return fail(error);
        }
    }
    // Opened now, before the switch: a root-owned log directory works.
    let target_uid = daemon
        .credentials()
        .uid()
        .map_or(rustix::process::geteuid().as_raw(), |uid| uid.as_raw());
    let outputs = match (
        open_output(request.stdout, Subject::OutputFile, target_uid),
        open_output(request.stderr, Subject::ErrorFile, target_uid),
    ) {
        (Ok(stdout), Ok(stderr)) => [stdout, stderr],
        (Err(error), _) | (_, Err(error)) => return fail(error),
    };
    let mut socket_name = [0u8; SOCKET_NAME_CAPACITY];
    let socket_name = match request.notify {
        Notify::Socket => unique_socket_name(&mut socket_name),
        _ => &[][..],
    };
    let mut environment = Environment::new();
    let envp = match environment.build(startup.environment, daemon.credentials(), socket_name) {
        Ok(envp) => envp,
        Err(error) => return fail(error),
    };
    if !request.exec {
        // Blocked before the fork: a signal sent as soon as the PID is published (a reload
        // racing the start) waits in the daemon's queue for the supervisor's signalfd
        // instead of killing it before it is ready.
        let _ = sys::set_signal_mask(SignalSet::ALL_CATCHABLE.mask());
    }
    let program_uid = target_uid;
    let job = Job {
        program: startup.program,
        environment: envp,
        outputs: &outputs,
        notify: request.notify,
        socket_name,
        program_uid,
    };
    // SAFETY: the tool is a libc-free, single-threaded program.
    let fork = unsafe { Fork::raw_clone() };
    let launched = daemon.run_until_ready(fork, |running| {
        let code = if request.exec {
            job.exec_in_place(running)
        } else {
            job.supervise(running)
        };
        if let Err(error) = code {
            if simulated {
                super::print_error(startup.name, &error, &names);
            }
            return crate::control::ERROR_EXIT_CODE;
        }
        code.unwrap_or(crate::control::ERROR_EXIT_CODE)
    });
    match launched {
        Ok(Launched::Daemon { .. }) => 0,
        Ok(Launched::Simulated { exit_code }) => exit_code,
        Err(error) => fail(error),
    }
}

/// `--user` or `--group`'s value as an [`Identity`].
fn identity<'a>(text: Option<&'a CStr>, subject: Subject) -> Result<Option<Identity<'a>>, Error> {
    text.map(|text| Identity::parse(text.to_bytes(), subject))
        .transpose()
}

/// Opens `path` for appending the program's output (`O_APPEND|O_CREAT|O_NOFOLLOW`, mode
/// 0640, `O_NONBLOCK` so that a FIFO without a reader fails at once instead of blocking), then
/// checks what it is: a regular file with one link owned by root or `owner` (the daemon's
/// user), a character device (`/dev/null`, a console) or a FIFO; anything else is refused.
fn open_output(
    path: Option<&CStr>,
    subject: Subject,
    owner: u32,
) -> Result<Option<OwnedFd>, Error> {
    let Some(path) = path else {
        return Ok(None);
    };
    let flags = OFlags::WRONLY
        | OFlags::APPEND
        | OFlags::CREATE
        | OFlags::NOFOLLOW
        | OFlags::CLOEXEC
        | OFlags::NOCTTY
        | OFlags::NONBLOCK;
    let fd = rustix::fs::open(path, flags, Mode::from_raw_mode(0o640))
        .and_then(crate::pidfile::above_standard_streams)
        .map_err(|errno| {
            let message = if errno == Errno::LOOP {
                Message::RefuseSymlink
            } else {
                Message::Open
            };
            Error::system(message, subject, errno)
        })?;
    let stat =
        rustix::fs::fstat(&fd).map_err(|errno| Error::system(Message::Stat, subject, errno))?;
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::RegularFile => {
            if stat.st_nlink != 1 {
                return Err(
                    Error::new(Message::RefuseHardLinks, subject).with(1, stat.st_nlink as u32)
                );
            }
            if stat.st_uid != 0 && stat.st_uid != owner {
                return Err(Error::new(Message::RefuseOwnerNotTarget, subject)
                    .with(1, stat.st_uid)
                    .with(2, owner));
            }
        }
        FileType::CharacterDevice => {}
        FileType::Fifo => {
            // Writes block again once it is open: a full FIFO slows the program, it does
            // not make its writes fail.
            rustix::fs::fcntl_setfl(&fd, OFlags::APPEND)
                .map_err(|errno| Error::system(Message::SetFlags, subject, errno))?;
        }
        _ => return Err(Error::new(Message::RefuseNotRegularOrDevice, subject)),
    }
    Ok(Some(fd))
}

/// Bytes of a `NOTIFY_SOCKET` name: `@ucw-daemonize.<pid>.<nanoseconds>`.
const SOCKET_NAME_CAPACITY: usize = 64;

/// A name for the notification socket, unique on the machine (the supervisor's PID is not
/// known yet: the launcher's PID and the time).
fn unique_socket_name(buffer: &mut [u8; SOCKET_NAME_CAPACITY]) -> &[u8] {
    let mut writer = Writer::new(buffer);
    writer.push(b"@ucw-daemonize.");
    writer.push_decimal(rustix::process::getpid().as_raw_nonzero().get() as u64);
    writer.push(b".");
    let now = sys::monotonic_time().unwrap_or_default();
    writer.push_decimal(now.as_secs());
    writer.push_radix(now.subsec_nanos(), 10, 9);
    let length = writer.len();
    &buffer[..length]
}

/// Exit code of the program's child when it cannot even report its exec failure.
const EXIT_CHILD_FAILED: i32 = 127;
/// Set in the program's child's report (an errno otherwise) when the `--notify-fd`
/// descriptor could not be put in place; errnos are below 4096.
const NOTIFY_SETUP_FAILED: i32 = 1 << 16;
/// Added to a terminating signal's number to make the supervisor's exit code, as shells do.
const SIGNAL_EXIT_BASE: i32 = 128;
/// `si_code` of a signal the kernel itself sent (a terminal's SIGINT/SIGQUIT/SIGTSTP/SIGHUP
/// to the foreground process group, among others).
const SI_KERNEL: i32 = 0x80;

/// What the daemon's body runs.
struct Job<'a> {
    program: StringList<'a>,
    environment: StringList<'a>,
    outputs: &'a [Option<OwnedFd>; 2],
    notify: Notify,
    socket_name: &'a [u8],
    program_uid: u32,
}

/// The channel through which the program says it is ready.
enum Readiness {
    /// Nothing to wait for beyond the exec.
    Exec,
    /// The read end of the `--notify-fd` pipe.
    Pipe(OwnedFd),
    /// The `--notify-socket` socket.
    Socket(OwnedFd),
}

impl Readiness {
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        match self {
            Readiness::Exec => None,
            Readiness::Pipe(fd) | Readiness::Socket(fd) => Some(fd.as_fd()),
        }
    }
}

/// What reading the readiness channel found.
enum Heard {
    /// Not ready yet.
    Nothing,
    /// `READY=1`, or a newline.
    Ready,
    /// The program closed its end of the pipe before writing a newline.
    Closed,
}

impl Job<'_> {
    /// `--exec`: the program replaces the body and inherits the lock.
    fn exec_in_place(&self, running: Running) -> Result<i32, Error> {
        if let Err(error) = running.keep_lock_across_exec() {
            running.report_failure(&error);
            return Err(error);
        }
        self.redirect_outputs();
        sys::reset_signal_dispositions(false);
        let _ = sys::set_signal_mask(0);
        let error = self.execute();
        running.report_failure(&error);
        Err(error)
    }

    /// `dup2` the output files onto stdout and stderr (in a process about to exec).
    fn redirect_outputs(&self) {
        if let Some(stdout) = &self.outputs[0] {
            let _ = rustix::stdio::dup2_stdout(stdout);
        }
        if let Some(stderr) = &self.outputs[1] {
            let _ = rustix::stdio::dup2_stderr(stderr);
        }
    }

    /// Execs the program (with a `PATH` search); returns the failure.
    fn execute(&self) -> Error {
        let mut arguments = [core::ptr::null(); MAX_LIST_ENTRIES + 1];
        let mut variables = [core::ptr::null(); MAX_LIST_ENTRIES + 1];
        let argv = self.program.vector(&mut arguments);
        let envp = self.environment.vector(&mut variables);
        // SAFETY: both vectors are null-terminated arrays of NUL-terminated strings that live
        // until the call returns (the kernel's vectors, our environment, or stack copies).
        let errno = unsafe { exec::execute(argv, envp) };
        Error::system(Message::Execute, Subject::Program, errno)
    }

    /// The supervisor (see the module docs); returns its exit code.
    fn supervise(&self, mut running: Running) -> Result<i32, Error> {
        let foreground = running.is_simulated();
        let started = self.start(&running, foreground);
        let (signals, mut readiness, child) = match started {
            Ok(started) => started,
            Err(error) => {
                running.report_failure(&error);
                return Err(error);
            }
        };
        crate::failpoint::hit("supervisor-before-confirm");
        // The supervisor holds the starter's stderr no longer than its program does: with
        // `--stderr` both write there (`out=$(... --start ... 2>&1)` must not wait for the
        // daemon to end). It prints nothing itself; its errors go to the launcher.
        if let (Some(stderr), false) = (&self.outputs[1], foreground) {
            let _ = rustix::stdio::dup2_stderr(stderr);
        }
        // While the launcher waits, so does whoever waits for the launcher: once told "ready",
        // the PID file must name us until the launcher has been collected.
        let collected = running.launcher().and_then(|_| launcher_pidfd());
        if let Readiness::Exec = readiness {
            running.ready();
        }
        loop {
            let launcher = running.launcher();
            let waiting = launcher.is_some() && readiness.fd().is_some();
            let mut fds = [
                PollFd::new(&signals, PollFlags::IN),
                PollFd::from_borrowed_fd(readiness.fd().unwrap_or(signals.as_fd()), PollFlags::IN),
                PollFd::from_borrowed_fd(launcher.unwrap_or(signals.as_fd()), PollFlags::IN),
            ];
            let count = if waiting { 3 } else { 1 };
            match rustix::event::poll(&mut fds[..count], None) {
                Ok(_) | Err(Errno::INTR) => {}
                Err(errno) => {
                    kill_program(child);
                    let error = Error::system(Message::ForwardSignals, Subject::None, errno);
                    running.report_failure(&error);
                    return Err(error);
                }
            }
            let (signalled, heard, abandoned) = (
                !fds[0].revents().is_empty(),
                waiting && !fds[1].revents().is_empty(),
                waiting && !fds[2].revents().is_empty(),
            );
            if signalled {
                if let Some(status) = forward(&signals, child, foreground) {
                    crate::failpoint::hit("supervisor-program-exited");
                    if readiness.fd().is_some() && running.launcher().is_some() {
                        // The exit and the readiness can arrive together: what the program
                        // said before it ended counts.
                        let error = if self.heard_before_exit(&readiness, child, foreground) {
                            ended_after_ready(status)
                        } else {
                            not_ready(status)
                        };
                        running.report_failure(&error);
                        return Ok(crate::control::ERROR_EXIT_CODE);
                    }
                    wait_until_collected(collected.as_ref());
                    let _ = running.exit();
                    return Ok(exit_code(status));
                }
            }
            if heard {
                match self.hear(&readiness, child, foreground) {
                    Heard::Nothing => {}
                    Heard::Ready => {
                        readiness = Readiness::Exec;
                        running.ready();
                    }
                    Heard::Closed => {
                        // A program that exits closes the channel a moment before its
                        // SIGCHLD: give it that moment to tell "exited" from "closed".
                        let error = match exited_within(child, CLOSE_GRACE) {
                            Some(ended) => not_ready(ended),
                            None => {
                                kill_program(child);
                                Error::new(Message::ClosedBeforeReady, Subject::Program)
                            }
                        };
                        running.report_failure(&error);
                        return Ok(crate::control::ERROR_EXIT_CODE);
                    }
                }
            } else if abandoned {
                // The launcher died or gave up (START's deadline) before the program was
                // ready: nothing of this start may stay.
                kill_program(child);
                let _ = running.exit();
                return Ok(crate::control::ERROR_EXIT_CODE);
            }
        }
    }

    /// Sets up signal forwarding and the readiness channel, forks the program and waits
    /// for its exec.
    fn start(
        &self,
        running: &Running,
        foreground: bool,
    ) -> Result<(Signals, Readiness, Pid), Error> {
        // An inherited "ignore" would make the kernel reap the program without a SIGCHLD.
        let _ = sys::set_default_disposition(Signal::CHLD.number());
        let signals = Signals::new(SignalSet::ALL_CATCHABLE)
            .map_err(|errno| Error::system(Message::ForwardSignals, Subject::None, errno))?;
        let pipe = || {
            rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
                .and_then(|(reader, writer)| {
                    Ok((
                        crate::pidfile::above_standard_streams(reader)?,
                        crate::pidfile::above_standard_streams(writer)?,
                    ))
                })
                .map_err(|errno| Error::system(Message::CreatePipe, Subject::None, errno))
        };
        let (readiness, notify_writer) = match self.notify {
            Notify::Exec => (Readiness::Exec, None),
            Notify::Descriptor(_) => {
                let (reader, writer) = pipe()?;
                (Readiness::Pipe(reader), Some(writer))
            }
            Notify::Socket => (Readiness::Socket(self.bind_socket()?), None),
        };
        let (report_read, report_write) = pipe()?;
        let lock = running.lock_fd();
        let supervisor = rustix::process::getpid();
        // SAFETY: the tool is single-threaded; the child only makes system calls until it
        // execs or exits.
        let child = match unsafe { sys::fork() } {
            Err(errno) => return Err(Error::system(Message::ForkFor, Subject::Program, errno)),
            Ok(Some(child)) => child,
            Ok(None) => self.program_child(
                supervisor,
                foreground,
                lock,
                notify_writer.as_ref(),
                report_write.as_fd(),
            ),
        };
        drop(notify_writer);
        drop(report_write);
        let mut report = [0u8; 4];
        if read_exactly(report_read.as_fd(), &mut report) {
            let _ = rustix::process::waitpid(Some(child), WaitOptions::empty());
            let report = i32::from_ne_bytes(report);
            let errno = Errno::from_raw_os_error(report & !NOTIFY_SETUP_FAILED);
            if let (Notify::Descriptor(number), true) =
                (self.notify, report & NOTIFY_SETUP_FAILED != 0)
            {
                return Err(
                    Error::system(Message::SetUpNotifyFd, Subject::Program, errno).with(1, number),
                );
            }
            return Err(Error::system(Message::Execute, Subject::Program, errno));
        }
        Ok((signals, readiness, child))
    }

    /// The abstract datagram socket `$NOTIFY_SOCKET` names, receiving senders' credentials.
    fn bind_socket(&self) -> Result<OwnedFd, Error> {
        let error = |errno| Error::system(Message::CreateSocket, Subject::NotifySocket, errno);
        let socket = rustix::net::socket_with(
            rustix::net::AddressFamily::UNIX,
            rustix::net::SocketType::DGRAM,
            rustix::net::SocketFlags::CLOEXEC | rustix::net::SocketFlags::NONBLOCK,
            None,
        )
        .and_then(crate::pidfile::above_standard_streams)
        .map_err(error)?;
        let address = rustix::net::SocketAddrUnix::new_abstract_name(&self.socket_name[1..])
            .map_err(error)?;
        rustix::net::bind(&socket, &address).map_err(error)?;
        rustix::net::sockopt::set_socket_passcred(&socket, true).map_err(error)?;
        // A pidfd of each sender, where the kernel has it (Linux 6.5).
        let _ = sys::set_pass_pidfd(socket.as_fd());
        Ok(socket)
    }

    /// The program's child between `fork` and `execve`.
    fn program_child(
        &self,
        supervisor: Pid,
        foreground: bool,
        lock: Option<BorrowedFd<'_>>,
        notify: Option<&OwnedFd>,
        report: BorrowedFd<'_>,
    ) -> ! {
        let death_signal =
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
        if death_signal.is_err() || rustix::process::getppid() != Some(supervisor) {
            // The supervisor is already gone (or we cannot tie our life to it): the program
            // must not run unsupervised.
            sys::exit_group(EXIT_CHILD_FAILED);
        }
        if !foreground {
            // A group of its own, so the supervisor can end the program and its children
            // without ending itself. (In the foreground it stays in the terminal's.)
            let _ = rustix::process::setpgid(None, None);
        }
        self.redirect_outputs();
        if let (Some(notify), Notify::Descriptor(number)) = (notify, self.notify) {
            let mut moved = None;
            if lock.is_some_and(|lock| lock.as_raw_fd() as u32 == number) {
                // The lock's descriptor sits where the notification one must go: move it.
                moved = rustix::io::fcntl_dupfd_cloexec(lock.unwrap(), number as i32 + 1).ok();
                if moved.is_none() {
                    sys::exit_group(EXIT_CHILD_FAILED);
                }
            }
            // SAFETY: this process execs or exits next; the descriptor at `number`, if any,
            // is not used again (the lock's was moved just above).
            if let Err(errno) = unsafe { sys::dup_to(notify.as_fd(), number) } {
                // EBADF for a number at or above RLIMIT_NOFILE: say so, not "exited 127".
                let code = errno.raw_os_error() | NOTIFY_SETUP_FAILED;
                let _ = rustix::io::write(report, &code.to_ne_bytes());
                sys::exit_group(EXIT_CHILD_FAILED);
            }
            if let Some(moved) = &moved {
                inherit(moved.as_fd());
            }
            if moved.is_some() {
                core::mem::forget(moved);
            } else if let Some(lock) = lock {
                inherit(lock);
            }
        } else if let Some(lock) = lock {
            inherit(lock);
        }
        sys::reset_signal_dispositions(false);
        let _ = sys::set_signal_mask(0);
        let error = self.execute();
        let errno = error.errno().map_or(0, Errno::raw_os_error);
        let _ = rustix::io::write(report, &errno.to_ne_bytes());
        sys::exit_group(EXIT_CHILD_FAILED)
    }

    /// Reads what the readiness channel has.
    fn hear(&self, readiness: &Readiness, child: Pid, foreground: bool) -> Heard {
        match readiness {
            Readiness::Exec => Heard::Ready,
            Readiness::Pipe(reader) => {
                let mut bytes = [0u8; 64];
                match rustix::io::read(reader, &mut bytes) {
                    Ok(0) => Heard::Closed,
                    Ok(count) if bytes[..count].contains(&b'\n') => Heard::Ready,
                    _ => Heard::Nothing,
                }
            }
            Readiness::Socket(socket) => self.hear_datagram(socket.as_fd(), child, foreground),
        }
    }

    /// Whether the program had said it was ready by the time its exit was noticed: reads
    /// what the channel still holds (a bounded number of times; a spammer cannot keep us).
    fn heard_before_exit(&self, readiness: &Readiness, child: Pid, foreground: bool) -> bool {
        let Some(fd) = readiness.fd() else {
            return false;
        };
        for _ in 0..16 {
            let mut fds = [PollFd::from_borrowed_fd(fd, PollFlags::IN)];
            if !matches!(
                rustix::event::poll(&mut fds, Some(&rustix::event::Timespec::default())),
                Ok(1)
            ) {
                return false;
            }
            match self.hear(readiness, child, foreground) {
                Heard::Ready => return true,
                Heard::Closed => return false,
                Heard::Nothing => {}
            }
        }
        false
    }

    /// Reads one `sd_notify` datagram: `READY=1` on a line of its own, from the program's
    /// uid and from the service ([`from_the_service`]), means ready; everything else (other
    /// assignments, other senders) is ignored, and descriptors sent along are closed.
    fn hear_datagram(&self, socket: BorrowedFd<'_>, child: Pid, foreground: bool) -> Heard {
        let mut bytes = [0u8; 4096];
        let Ok((length, Some(sender))) = sys::receive_datagram(socket, &mut bytes) else {
            return Heard::Nothing;
        };
        let ready = bytes[..length.min(bytes.len())]
            .split(|&byte| byte == b'\n')
            .any(|line| line == b"READY=1");
        if ready && sender.uid == self.program_uid && from_the_service(&sender, child, foreground) {
            Heard::Ready
        } else {
            Heard::Nothing
        }
    }
}

/// Whether a datagram's `sender` is the service (docs/design.md §5, readiness): the program
/// itself, or a live process of the program's process group or of our session (only our
/// descendants can be in it: we lead it, except in the foreground). Any other process of the
/// same uid could find the socket's name (`/proc/net/unix`, the program's environment) and
/// claim readiness. The check runs on the sender's number in our namespace; with its pidfd
/// (`SCM_PIDFD`, Linux 6.5) the sender must still live afterwards, so the number was its own
/// throughout (a helper that has already exited is refused: it should stay until the
/// datagram is read, or use `--notify-fd`).
fn from_the_service(sender: &sys::Sender, child: Pid, foreground: bool) -> bool {
    // 0: the sender has no number in our namespace.
    let Some(pid) = Pid::from_raw(sender.pid) else {
        return false;
    };
    if pid == child {
        // Never reused before we collect it, even once it has exited.
        return true;
    }
    let same = |ours: rustix::io::Result<Pid>, theirs: rustix::io::Result<Pid>| matches!((ours, theirs), (Ok(ours), Ok(theirs)) if ours == theirs);
    let in_group = same(
        rustix::process::getpgid(Some(child)),
        rustix::process::getpgid(Some(pid)),
    );
    let in_session = !foreground
        && same(
            Ok(rustix::process::getpid()),
            rustix::process::getsid(Some(pid)),
        );
    if !(in_group || in_session) {
        return false;
    }
    match &sender.pidfd {
        Some(pidfd) => {
            let mut fds = [PollFd::new(pidfd, PollFlags::IN)];
            matches!(
                rustix::event::poll(&mut fds, Some(&rustix::event::Timespec::default())),
                Ok(0)
            )
        }
        // Before Linux 6.5 the number is all there is.
        None => true,
    }
}

/// A pidfd of our parent, the launcher, while it waits for our word (so it lives); `None`
/// when it is already gone or pidfds are unavailable.
fn launcher_pidfd() -> Option<OwnedFd> {
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
/// parent (its pidfd shows POLLHUP). START looks at the PID file before it collects the
/// launcher, so a program that exits right after it was ready is seen as started — which it
/// was — never as "did not lock its PID file".
fn wait_until_collected(launcher: Option<&OwnedFd>) {
    let Some(launcher) = launcher else {
        return;
    };
    for _ in 0..LAUNCHER_LOOKS {
        let mut fds = [PollFd::new(launcher, PollFlags::IN)];
        // (A failed poll leaves no event: the looks run out, 1 s.)
        let _ = rustix::event::poll(&mut fds, Some(&rustix::event::Timespec::default()));
        if fds[0].revents().contains(PollFlags::HUP) {
            return;
        }
        let _ = rustix::thread::nanosleep(&rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: 2_000_000,
        });
    }
}

/// Clears close-on-exec on `fd` (in the program's child): the program inherits it.
fn inherit(fd: BorrowedFd<'_>) {
    if rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty()).is_err() {
        sys::exit_group(EXIT_CHILD_FAILED);
    }
}

/// How the program ended.
#[derive(Clone, Copy)]
enum Ended {
    /// It exited with this status.
    Exited(i32),
    /// It died of this signal.
    Killed(i32),
}

impl Ended {
    fn of(status: WaitStatus) -> Self {
        match status.terminating_signal() {
            Some(signal) => Ended::Killed(signal),
            None => Ended::Exited(
                status
                    .exit_status()
                    .unwrap_or(crate::control::ERROR_EXIT_CODE),
            ),
        }
    }
}

/// Forwards every signal read from `signals` to the program, and reaps on SIGCHLD; returns
/// the program's status once it has exited.
fn forward(signals: &Signals, child: Pid, foreground: bool) -> Option<Ended> {
    match signals.read() {
        Ok(Some((signal, code))) => {
            if signal == Signal::CHLD {
                return reap(child);
            }
            if !(foreground && code == SI_KERNEL) {
                // SAFETY: the kernel delivered this number, so it is a valid signal; sending
                // it on to the program is what the supervisor is for.
                let kernel =
                    unsafe { rustix::process::Signal::from_raw_unchecked(signal.number() as i32) };
                let _ = rustix::process::kill_process(child, kernel);
            }
            None
        }
        Ok(None) => None,
        Err(_) => {
            // Cannot happen with a valid signalfd; never leave the program unsupervised.
            kill_program(child);
            Some(Ended::Exited(crate::control::ERROR_EXIT_CODE))
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
            Err(_) => return Some(Ended::Exited(crate::control::ERROR_EXIT_CODE)),
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
fn exit_code(ended: Ended) -> i32 {
    match ended {
        Ended::Killed(signal) => SIGNAL_EXIT_BASE + signal,
        Ended::Exited(code) => code,
    }
}

/// The error for a program that said it was ready and then ended, before its launcher could
/// confirm the start.
fn ended_after_ready(ended: Ended) -> Error {
    match ended {
        Ended::Killed(signal) => {
            Error::new(Message::KilledAfterReady, Subject::Program).with(1, signal as u32)
        }
        Ended::Exited(code) => {
            Error::new(Message::EndedAfterReady, Subject::Program).with(1, code as u32)
        }
    }
}

/// The error for a program that ended before it was ready.
fn not_ready(ended: Ended) -> Error {
    match ended {
        Ended::Killed(signal) => {
            Error::new(Message::KilledBeforeReady, Subject::Program).with(1, signal as u32)
        }
        Ended::Exited(code) => {
            Error::new(Message::EndedBeforeReady, Subject::Program).with(1, code as u32)
        }
    }
}

/// Reads exactly `buffer.len()` bytes; `false` at end of file before that (or on an error).
fn read_exactly(fd: BorrowedFd<'_>, buffer: &mut [u8]) -> bool {
    let mut filled = 0;
    while filled < buffer.len() {
        match rustix::io::read(fd, &mut buffer[filled..]) {
            Ok(0) => return false,
            Ok(count) => filled += count,
            Err(Errno::INTR) => {}
            Err(_) => return false,
        }
    }
    true
}

/// Entries the program's environment may have when it is rewritten; more is an error rather
/// than a silently shortened environment.
const ENVIRONMENT_CAPACITY: usize = MAX_LIST_ENTRIES;

/// The variables `--user` sets from the passwd entry (and removes from the inherited
/// environment).
const ACCOUNT_VARIABLES: [&[u8]; 3] = [b"USER=", b"LOGNAME=", b"HOME="];
/// The variable `--notify-socket` sets.
const NOTIFY_VARIABLE: &[u8] = b"NOTIFY_SOCKET=";

/// The program's environment: the inherited one, with `USER`, `LOGNAME` and `HOME` from the
/// passwd entry under `--user`, and `NOTIFY_SOCKET` under `--notify-socket`.
struct Environment {
    entries: [*const c_char; ENVIRONMENT_CAPACITY + 1],
    text: [u8; 2 * (8 + NAME_CAPACITY + 1) + 5 + HOME_CAPACITY + 1 + 14 + SOCKET_NAME_CAPACITY + 1],
}

impl Environment {
    fn new() -> Self {
        Self {
            entries: [core::ptr::null(); ENVIRONMENT_CAPACITY + 1],
            text: [0; 2 * (8 + NAME_CAPACITY + 1)
                + 5
                + HOME_CAPACITY
                + 1
                + 14
                + SOCKET_NAME_CAPACITY
                + 1],
        }
    }

    /// The environment for the program, pointing into `self` (which must not move while it
    /// is in use). Without a passwd entry (`--user '#uid'` unknown to passwd) the three
    /// account variables are only removed: inherited values would describe another user.
    /// Nothing to change: the inherited list as it is.
    fn build<'e>(
        &'e mut self,
        inherited: StringList<'e>,
        credentials: &Credentials<'_>,
        socket_name: &[u8],
    ) -> Result<StringList<'e>, Error> {
        let switching = credentials.uid().is_some();
        if !switching && socket_name.is_empty() {
            return Ok(inherited);
        }
        let mut offsets = [0usize; 4];
        let mut own = 0;
        let mut length = 0;
        let mut add = |text: &mut [u8], parts: [&[u8]; 2]| {
            offsets[own] = length;
            own += 1;
            for part in parts.iter().chain([&&b"\0"[..]]) {
                text[length..length + part.len()].copy_from_slice(part);
                length += part.len();
            }
        };
        if let (Some(name), Some(home)) = (credentials.user_name(), credentials.home()) {
            // An entry without a home directory leaves `HOME` unset (the name is never empty).
            for (key, value) in ACCOUNT_VARIABLES.iter().zip([name, name, home]) {
                if !value.is_empty() {
                    add(&mut self.text, [key, value]);
                }
            }
        }
        if !socket_name.is_empty() {
            add(&mut self.text, [NOTIFY_VARIABLE, socket_name]);
        }
        let base = self.text.as_ptr() as *const c_char;
        let mut count = 0;
        for offset in &offsets[..own] {
            // SAFETY: every offset lies inside `text`, at the start of a NUL-terminated entry.
            self.entries[count] = unsafe { base.add(*offset) };
            count += 1;
        }
        for entry in inherited.iter() {
            let text = entry.to_bytes();
            let replaced = (switching && ACCOUNT_VARIABLES.iter().any(|key| text.starts_with(key)))
                || (!socket_name.is_empty() && text.starts_with(NOTIFY_VARIABLE));
            if replaced {
                continue;
            }
            if count == ENVIRONMENT_CAPACITY {
                return Err(Error::new(Message::TooManyVariables, Subject::None)
                    .with(1, ENVIRONMENT_CAPACITY as u32));
            }
            self.entries[count] = entry.as_ptr();
            count += 1;
        }
        self.entries[count] = core::ptr::null();
        // SAFETY: a null-terminated vector of NUL-terminated strings: ours in `self.text`
        // and the inherited ones, all alive while `self` and `inherited` are (`'e`).
        Ok(unsafe { StringList::from_raw(self.entries.as_ptr()) })
    }
}
