//! `ucw-daemonize`: puts any foreground program under the ucw-daemon protocol (DESIGN.md §5).
//!
//! `ucw-daemonize [--pid-file P] [--user U|#uid] [--group G|#gid] [--preserve-cwd]
//! [--foreground] [--exec] -- program args…`
//!
//! By default the daemon body is a tiny supervisor: it holds the locked PID file
//! (close-on-exec, so the program never sees it), forks the program with
//! `PR_SET_PDEATHSIG(SIGKILL)`, forwards every catchable signal it receives to the program
//! (read from a signalfd, no handlers), and when the program exits it empties the PID file and
//! exits with the program's status (its exit code, or 128 + the terminating signal). The lock
//! therefore lives exactly as long as the program, whatever the program does with inherited
//! descriptors or children. (The kernel clears the parent-death signal when the program is
//! set-user-ID, set-group-ID or has file capabilities: such a program outlives a supervisor
//! killed with SIGKILL, though the lock still goes with the supervisor.) With `--exec` the
//! program replaces the body and inherits the locked descriptor instead: lighter, but the
//! program or its children may keep the lock (a child that outlives it) or drop it (a
//! program that closes every descriptor).
//!
//! The launcher exits 0 only once the program was exec'd (the daemon confirms through
//! [`daemon::Daemon::run_confirmed`]); an exec failure makes it exit 102 with
//! `ucw-daemonize: Cannot execute <program>: <ERRNO> (<text>)`, after the PID file was emptied
//! and released. `--foreground` is LibUCW's SIMULATE: no fork, no PID file, the supervisor (or
//! with `--exec` the program) runs in this process; unlike the library's SIMULATE, the tool
//! still switches to `--user`/`--group` there. `--user` replaces `USER`, `LOGNAME` and `HOME`
//! with the passwd entry's values (a `#uid` unknown to passwd removes them).
//!
//! This file owns the tool's command line, the supervisor loop and the environment given to
//! the program. It must never use `core::fmt` or allocate (8,192-byte budget), and never
//! leave the launcher's exit status at 0 before the program was exec'd.
#![no_std]
#![no_main]

#[path = "../rt/mod.rs"]
mod rt;

use core::ffi::{c_char, CStr};
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::io::Errno;
use rustix::process::{Pid, WaitOptions};
use ucw_daemon::account::{AccountFiles, HOME_CAPACITY, NAME_CAPACITY};
use ucw_daemon::cli::{LongOption, Scanner};
use ucw_daemon::control::{EXIT_ERROR, EXIT_USAGE};
use ucw_daemon::credentials::Credentials;
use ucw_daemon::daemon::{self, Flags, Launched, Params, Running};
use ucw_daemon::error::ERROR_CAPACITY;
use ucw_daemon::sys::{self, SignalSet};
use ucw_daemon::text::Message;
use ucw_daemon::Error;

/// The name used in messages when the program was started without `argv[0]`.
const NAME: &[u8] = b"ucw-daemonize";

/// The synopsis, printed after `Usage: <prog>` by `--help` and after every usage error.
const SYNOPSIS: &[u8] = b" [--pid-file FILE] [--user USER|#UID] [--group GROUP|#GID] [--preserve-cwd] [--foreground] [--exec] [--] PROGRAM [ARG]...\n";

/// The rest of `--help`.
const HELP: &[u8] = b"Run PROGRAM as a daemon under LibUCW's PID-file protocol.
  --pid-file FILE     lock FILE and write the daemon's PID to it
  --user USER|#UID    run as USER (sets USER, LOGNAME, HOME)
  --group GROUP|#GID  run with group GROUP
  --preserve-cwd      stay in the current directory (default: /)
  --foreground        do not detach (no fork, no PID file)
  --exec              no supervisor: PROGRAM holds the PID file itself
  --help, --version
Exit: 0 once PROGRAM runs, 1 bad usage, 102 error
";

/// The command-line options; `main` relies on their order.
const OPTIONS: &[LongOption] = &[
    option("pid-file", true),
    option("user", true),
    option("group", true),
    option("preserve-cwd", false),
    option("foreground", false),
    option("exec", false),
    option("help", false),
    option("version", false),
];

/// One entry of [`OPTIONS`].
const fn option(name: &'static str, takes_value: bool) -> LongOption {
    LongOption { name, takes_value }
}

/// Exit code of the program's child when it cannot even report its exec failure.
const EXIT_CHILD_FAILED: i32 = 127;
/// Added to a terminating signal's number to make the supervisor's exit code, as shells do.
const SIGNAL_EXIT_BASE: i32 = 128;

/// Bytes of one `struct signalfd_siginfo` record; the signal number is its first `u32`.
const SIGINFO_SIZE: usize = 128;

/// Writes `<program name>: <message>\n` to stderr.
fn report(program_name: &[u8], message: &[u8]) {
    rt::write_all(2, program_name);
    rt::write_all(2, b": ");
    rt::write_all(2, message);
    rt::write_all(2, b"\n");
}

/// What the child of a fork does right before `execve`: undo the supervisor's blocked
/// signals and any inherited "ignored" dispositions, so the program starts as it would from a
/// shell.
fn reset_signals() {
    sys::reset_signal_dispositions();
    let _ = sys::set_signal_mask(SignalSet::EMPTY);
}

/// Executes `argv[0]` (PATH search) and, if that fails, returns the errno.
fn execute(argv: *const *const c_char, envp: *const *const c_char) -> Errno {
    // SAFETY: `argv` comes from the kernel's argument vector (null-terminated, alive for the
    // whole process) and `envp` is either the kernel's vector or our `Environment`, which the
    // caller keeps alive.
    unsafe { ucw_daemon::exec::execute(argv, envp) }
}

/// The message for a failed exec: `Cannot execute <program>: <ERRNO> (<text>)`.
fn exec_error(argv: *const *const c_char, errno: Errno) -> Error {
    // SAFETY: argv[0] exists (the command line was checked to name a program) and is a
    // NUL-terminated string from the kernel's argument vector.
    let program = unsafe { CStr::from_ptr(*argv) };
    Error::system("execute", program.to_bytes(), errno)
}

/// `si_code` of a signal the kernel itself sent (a terminal's SIGINT/SIGQUIT/SIGTSTP/SIGHUP
/// to the foreground process group, among others).
const SI_KERNEL: i32 = 0x80;

/// The default body: runs `argv` as the supervised program and returns the supervisor's
/// exit code (the program's exit code, 128 + its terminating signal, or 102 when it could not
/// be started).
///
/// The launcher is confirmed only once the program was exec'd; an exec failure is reported
/// to it (which empties and unlocks the PID file) or, when simulated, printed. In the
/// foreground the supervisor shares its terminal's process group with the program: signals
/// the kernel sent to that whole group already reached the program and are not forwarded a
/// second time.
fn supervise(
    program_name: &[u8],
    argv: *const *const c_char,
    envp: *const *const c_char,
    mut running: Running<'_>,
) -> i32 {
    // `main` blocked every catchable signal before the fork: one sent before the loop runs
    // stays queued for it instead of killing the supervisor (and the program with it).
    let started = sys::signalfd(SignalSet::ALL_CATCHABLE, false)
        .map_err(|errno| Error::new("Cannot set up signal forwarding").with_errno(errno))
        .and_then(|signals| {
            let (report_read, report_write) =
                rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
                    .map_err(|errno| Error::new("Cannot create a pipe").with_errno(errno))?;
            let child = start_program(argv, envp, report_write)?;
            Ok((signals, report_read, child))
        });
    let (signals, report_read, child) = match started {
        Ok(started) => started,
        Err(error) => return give_up(program_name, running, &error),
    };
    let mut errno_bytes = [0u8; 4];
    if read_exactly(report_read.as_fd(), &mut errno_bytes) {
        let _ = rustix::process::waitpid(Some(child), WaitOptions::empty());
        let errno = Errno::from_raw_os_error(i32::from_ne_bytes(errno_bytes));
        return give_up(program_name, running, &exec_error(argv, errno));
    }
    drop(report_read);
    ucw_daemon::failpoint::hit("supervisor-before-confirm");
    running.confirm();
    let foreground = running.is_simulated();
    let code = forward_until_exit(signals.as_fd(), child, foreground);
    ucw_daemon::failpoint::hit("supervisor-program-exited");
    let _ = running.exit();
    code
}

/// `--exec`: the program replaces the body and inherits the locked PID file.
fn exec_in_place(
    program_name: &[u8],
    argv: *const *const c_char,
    envp: *const *const c_char,
    running: Running<'_>,
) -> i32 {
    if let Err(error) = running.keep_pid_file_across_exec() {
        return give_up(program_name, running, &error);
    }
    reset_signals();
    let errno = execute(argv, envp);
    give_up(program_name, running, &exec_error(argv, errno))
}

/// The program could not be started: the launcher hears of it (the PID file is emptied and
/// released first), or in the foreground the message is printed; returns the error exit code.
fn give_up(program_name: &[u8], running: Running<'_>, error: &Error) -> i32 {
    if running.is_simulated() {
        report(program_name, error.as_bytes());
    }
    running.report_failure(error);
    EXIT_ERROR
}

/// Forks the program. The child dies with the supervisor (`PR_SET_PDEATHSIG`, checked
/// against the race where the supervisor died before it was set), resets its signals and
/// execs; an exec failure is written to `report` as a native-endian errno.
fn start_program(
    argv: *const *const c_char,
    envp: *const *const c_char,
    report: OwnedFd,
) -> Result<Pid, Error> {
    let supervisor = rustix::process::getpid();
    // SAFETY: the tool is single-threaded; the child only makes system calls until it execs
    // or exits.
    match unsafe { sys::fork() } {
        Err(errno) => Err(Error::new("Cannot fork").with_errno(errno)),
        Ok(Some(child)) => Ok(child),
        Ok(None) => {
            let death_signal = rustix::process::set_parent_process_death_signal(Some(
                rustix::process::Signal::KILL,
            ));
            if death_signal.is_err() || rustix::process::getppid() != Some(supervisor) {
                // The supervisor is already gone (or we cannot tie our life to it): the
                // program must not run unsupervised.
                sys::exit_group(EXIT_CHILD_FAILED);
            }
            reset_signals();
            let errno = execute(argv, envp);
            let _ = rustix::io::write(&report, &errno.raw_os_error().to_ne_bytes());
            sys::exit_group(EXIT_CHILD_FAILED)
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

/// The supervisor's loop: forwards every signal read from `signals` to `child` and reaps on
/// SIGCHLD; returns the child's exit code, or 128 + its terminating signal.
fn forward_until_exit(signals: BorrowedFd<'_>, child: Pid, foreground: bool) -> i32 {
    let mut records = [0u8; SIGINFO_SIZE * 8];
    loop {
        let count = match rustix::io::read(signals, &mut records) {
            Ok(count) => count,
            Err(Errno::INTR) => continue,
            Err(_) => {
                // Cannot happen with a valid signalfd; never leave the program unsupervised.
                let _ = rustix::process::kill_process(child, rustix::process::Signal::KILL);
                let _ = rustix::process::waitpid(Some(child), WaitOptions::empty());
                return EXIT_ERROR;
            }
        };
        for record in records[..count].chunks_exact(SIGINFO_SIZE) {
            let signal = u32::from_ne_bytes([record[0], record[1], record[2], record[3]]);
            let code = i32::from_ne_bytes([record[8], record[9], record[10], record[11]]);
            if signal == linux_raw_sys::general::SIGCHLD {
                if let Some(status) = reap(child) {
                    return status;
                }
            } else if !(foreground && code == SI_KERNEL) {
                // SAFETY: the kernel delivered this number, so it is a valid signal; sending
                // it to the program is exactly what the supervisor is for.
                let signal = unsafe { rustix::process::Signal::from_raw_unchecked(signal as i32) };
                let _ = rustix::process::kill_process(child, signal);
            }
        }
    }
}

/// Reaps every exited child without blocking; returns the program's exit code once it is
/// among them.
fn reap(child: Pid) -> Option<i32> {
    loop {
        match rustix::process::waitpid(None, WaitOptions::NOHANG) {
            Ok(Some((pid, status))) if pid == child => {
                return Some(match status.terminating_signal() {
                    Some(signal) => SIGNAL_EXIT_BASE + signal,
                    None => status.exit_status().unwrap_or(EXIT_ERROR),
                });
            }
            Ok(Some(_)) => {}
            Ok(None) => return None,
            Err(Errno::INTR) => {}
            // ECHILD: nothing left to wait for, so the program is gone too.
            Err(_) => return Some(EXIT_ERROR),
        }
    }
}

/// Entries the program's environment may have when `--user` rewrites it; more is an error
/// rather than a silently shortened environment.
const ENVIRONMENT_CAPACITY: usize = 1024;

/// The variables `--user` sets from the passwd entry (and removes from the inherited
/// environment).
const ACCOUNT_VARIABLES: [&[u8]; 3] = [b"USER=", b"LOGNAME=", b"HOME="];

/// The environment built for `--user`: the inherited variables minus [`ACCOUNT_VARIABLES`],
/// plus those set from the passwd entry, as a null-terminated vector for `execve`.
struct Environment {
    entries: [*const c_char; ENVIRONMENT_CAPACITY + 1],
    text: [u8; 2 * (8 + NAME_CAPACITY + 1) + 5 + HOME_CAPACITY + 1],
}

impl Environment {
    /// Fills `self` and returns the vector (which points into `self`: it must not move while
    /// the vector is in use). Without a passwd entry (`--user '#uid'` unknown to passwd) the
    /// three variables are only removed: inherited values would describe another user.
    fn build(
        &mut self,
        inherited: *const *const c_char,
        credentials: &Credentials,
    ) -> Result<*const *const c_char, Error> {
        let mut offsets = [0usize; 3];
        let mut own = 0;
        let mut length = 0;
        if let (Some(name), Some(home)) = (credentials.user_name(), credentials.home()) {
            for (key, value) in ACCOUNT_VARIABLES.iter().zip([name, name, home]) {
                offsets[own] = length;
                own += 1;
                for part in [*key, value, b"\0"] {
                    self.text[length..length + part.len()].copy_from_slice(part);
                    length += part.len();
                }
            }
        }
        let base = self.text.as_ptr() as *const c_char;
        let mut count = 0;
        for offset in &offsets[..own] {
            // SAFETY: every offset lies inside `text`, at the start of a NUL-terminated entry.
            self.entries[count] = unsafe { base.add(*offset) };
            count += 1;
        }
        let mut cursor = inherited;
        loop {
            // SAFETY: the kernel's environment vector is null-terminated and lives as long as
            // the process.
            let entry = unsafe { *cursor };
            if entry.is_null() {
                break;
            }
            // SAFETY: each entry is a NUL-terminated string placed by the kernel.
            let text = unsafe { CStr::from_ptr(entry) }.to_bytes();
            if !ACCOUNT_VARIABLES.iter().any(|key| text.starts_with(key)) {
                if count == ENVIRONMENT_CAPACITY {
                    return Err(Error::new("Cannot pass the environment on: more than ")
                        .push_number(ENVIRONMENT_CAPACITY as u64)
                        .push(" variables"));
                }
                self.entries[count] = entry;
                count += 1;
            }
            // SAFETY: not yet at the terminating null, so the next slot exists.
            cursor = unsafe { cursor.add(1) };
        }
        self.entries[count] = core::ptr::null();
        Ok(self.entries.as_ptr())
    }
}

/// Where `--user` and `--group` are looked up: `/etc/passwd` and `/etc/group`, except in
/// test builds (`failpoints`), where `UCW_TEST_PASSWD` and `UCW_TEST_GROUP` may name
/// purpose-made files so that the tests never touch `/etc`.
fn account_files(startup: &rt::Startup) -> AccountFiles<'static> {
    #[cfg(feature = "failpoints")]
    {
        AccountFiles {
            passwd: startup.env(b"UCW_TEST_PASSWD").unwrap_or(c"/etc/passwd"),
            group: startup.env(b"UCW_TEST_GROUP").unwrap_or(c"/etc/group"),
        }
    }
    #[cfg(not(feature = "failpoints"))]
    {
        let _ = startup;
        AccountFiles::SYSTEM
    }
}

/// The resolved credentials (about 260 KiB: in `.bss`, not on the stack).
static mut CREDENTIALS: Credentials = Credentials::new();

/// Prints `<prog>: <problem>` and the synopsis to stderr; returns the usage exit code.
fn usage_error(program_name: &[u8], problem: impl FnOnce(&mut Message<ERROR_CAPACITY>)) -> i32 {
    let mut line = Message::<ERROR_CAPACITY>::new();
    line.push_bytes(program_name).push_bytes(b": ");
    problem(&mut line);
    line.push_bytes(b"\nUsage: ").push_bytes(program_name);
    rt::write_all(2, line.as_bytes());
    rt::write_all(2, SYNOPSIS);
    EXIT_USAGE
}

fn main(mut startup: rt::Startup) -> i32 {
    let program_name = startup.program_name(NAME);
    let mut params = Params {
        flags: Flags::EMPTY,
        pid_file: None,
        user: None,
        group: None,
        account_files: account_files(&startup),
    };
    let mut exec_mode = false;
    // The program's own options follow it: the first operand ends ours (no permutation).
    let mut scanner = Scanner::new(OPTIONS, startup.arguments(), false);
    let command = loop {
        let found = match scanner.next_option() {
            Ok(Some(found)) => found,
            Ok(None) => break scanner.operands() + 1,
            Err(error) => return usage_error(program_name, |line| error.describe(line)),
        };
        let value = found.value.unwrap_or(c"");
        if found.value.is_some() && value.is_empty() {
            return usage_error(program_name, |line| {
                line.push_str("option '--")
                    .push_str(OPTIONS[found.index].name)
                    .push_str("' needs a non-empty value");
            });
        }
        match found.index {
            0 => params.pid_file = Some(value),
            1 => params.user = Some(value.to_bytes()),
            2 => params.group = Some(value.to_bytes()),
            3 => params.flags = params.flags | Flags::PRESERVE_CWD,
            4 => params.flags = params.flags | Flags::SIMULATE,
            5 => exec_mode = true,
            6 => {
                rt::write_all(1, b"Usage: ");
                rt::write_all(1, program_name);
                rt::write_all(1, SYNOPSIS);
                rt::write_all(1, HELP);
                return 0;
            }
            _ => {
                rt::write_all(
                    1,
                    concat!("ucw-daemonize ", env!("CARGO_PKG_VERSION"), "\n").as_bytes(),
                );
                return 0;
            }
        }
    };
    if command >= startup.len() {
        return usage_error(program_name, |line| {
            line.push_str("missing PROGRAM");
        });
    }
    let argv = startup.argv_from(command);
    let simulated = params.flags.contains(Flags::SIMULATE);
    // SAFETY: `main` runs once, single-threaded; this is the only reference ever made.
    let credentials = unsafe { &mut *core::ptr::addr_of_mut!(CREDENTIALS) };
    let daemon = match daemon::init(&params, credentials) {
        Ok(daemon) => daemon,
        Err(error) => {
            report(program_name, error.as_bytes());
            return EXIT_ERROR;
        }
    };
    // The library's SIMULATE does not switch credentials; in the foreground the tool does, so
    // that `--foreground --user` runs the program as that user (service managers that keep
    // their services attached).
    if simulated {
        if let Err(error) = daemon.credentials().switch() {
            report(program_name, error.as_bytes());
            return EXIT_ERROR;
        }
    }
    let mut environment = Environment {
        entries: [core::ptr::null(); ENVIRONMENT_CAPACITY + 1],
        text: [0; 2 * (8 + NAME_CAPACITY + 1) + 5 + HOME_CAPACITY + 1],
    };
    let envp = if params.user.is_some() {
        match environment.build(startup.envp(), daemon.credentials()) {
            Ok(envp) => envp,
            Err(error) => {
                if let Some(pid_file) = daemon.pid_file() {
                    let _ = pid_file.clear();
                }
                report(program_name, error.as_bytes());
                return EXIT_ERROR;
            }
        }
    } else {
        startup.envp()
    };
    if !exec_mode {
        // Block every catchable signal before the fork: one sent as soon as the PID is
        // published (a reload racing the start) then waits in the daemon's queue for the
        // supervisor's signalfd instead of killing it before it is ready. The launcher only
        // waits for the confirmation and exits, so its own mask does not matter.
        let _ = sys::set_signal_mask(SignalSet::ALL_CATCHABLE);
    }
    let launched = daemon.run_confirmed(|running| {
        if exec_mode {
            exec_in_place(program_name, argv, envp, running)
        } else {
            supervise(program_name, argv, envp, running)
        }
    });
    match launched {
        Ok(Launched::Daemon { .. }) => 0,
        Ok(Launched::Simulated { exit_code }) => exit_code,
        Err(error) => {
            report(program_name, error.as_bytes());
            EXIT_ERROR
        }
    }
}
