//! The `ucw-daemonize` applet: puts any foreground program under the ucw-daemon protocol
//! (docs/design.md §5): `ucw-daemonize [OPTION]... [--] PROGRAM [ARG]...`.
//!
//! The launcher (this file) resolves the environment options' limits, the user and group,
//! locks the PID file (`daemon::init`), opens the output files, builds the program's
//! environment and runs the daemon until it is ready (or, with `--dry-run`, prints the plan
//! instead). The daemon's body is the supervisor (`supervisor.rs`: it forks the program,
//! forwards signals, waits for readiness and for the end), or with `--exec` the program
//! itself; the library's daemon makes the process setup the environment options ask for
//! before the body runs (docs/design.md §4). The other jobs have files of their own: the
//! readiness channel (`readiness.rs`), the output files (`outputs.rs`), the program's
//! environment (`environment.rs`, its `--env-file` files in `env_file.rs`), the environment
//! options as the library's parameters (`setup.rs`), the plan of `--dry-run` (`dry_run.rs`),
//! and the daemonizer's own failures and their words (`messages.rs`).
//!
//! By default the lock lives exactly as long as the program: the program inherits the PID
//! file's read-only, lock-carrying open file description (it can never write the file), so a
//! supervisor killed with SIGKILL leaves the lock with the program — never two programs
//! alive, and STOP still finds and stops what is left. With `--exec` the program replaces the
//! body and inherits the lock itself: lighter, but the program or its children may keep the
//! lock (a child that outlives it) or drop it (a program that closes every descriptor);
//! readiness needs the supervisor.
//!
//! This module must never leave the launcher's exit status at 0 before the program runs (and
//! is ready, when asked), never let the program run unsupervised in supervised mode, never
//! write output to a file it has not checked, and never use `core::fmt` or allocate.

#[cfg(feature = "tree")]
mod cgroup;
#[cfg(feature = "environment")]
mod dry_run;
#[cfg(feature = "environment")]
mod env_file;
mod environment;
mod forking;
#[cfg(feature = "log")]
mod log;
#[cfg(not(feature = "log"))]
#[path = "log_off.rs"]
mod log;
mod messages;
mod outputs;
mod readiness;
mod respawn;
#[cfg(feature = "environment")]
mod setup;
mod status_file;
mod supervisor;
mod tree;
#[cfg(not(feature = "tree"))]
mod without_tree;
#[cfg(not(feature = "tree"))]
use without_tree as cgroup;

#[cfg(feature = "readiness")]
use crate::cli::daemonize::Notify;
use crate::cli::daemonize::{parse, Invocation, Request};
use crate::output::{print, print_error, print_usage_error, EXIT_OK};
use crate::rt::decimal;
use crate::rt::{self, Startup};
use core::ffi::CStr;
use core::mem::ManuallyDrop;
#[cfg(feature = "environment")]
use environment::Arena;
use environment::Environment;
use messages::Failure;
use messages::Names;
use rustix::fd::AsFd;
use status_file::StatusFile;
use supervisor::Job;
use ucw_daemon::account::AccountFiles;
use ucw_daemon::control::{StringList, ERROR_EXIT_CODE};
use ucw_daemon::credentials::{Credentials, Identity};
use ucw_daemon::daemon::{self, Flags, Launched};
use ucw_daemon::signal::{self, SignalSet, Signals};
use ucw_daemon::{Error, Subject};

/// The synopsis, printed after `Usage: <prog>` by `--help` and after every usage error.
pub const SYNOPSIS: &[u8] = b" [--pid-file FILE] [--user USER|#UID] [--group GROUP|#GID] [OPTION]... [--] PROGRAM [ARG]...\n";

/// The rest of `--help`, the options of features left out of the build left out too.
const HELP: [&[u8]; 8] = [
    b"Run PROGRAM as a daemon under LibUCW's PID-file protocol.
  --pid-file FILE     lock FILE and write the daemon's PID to it
  --user USER|#UID    run as USER (sets USER, LOGNAME, HOME)
  --group GROUP|#GID  run with group GROUP
  --preserve-cwd      stay in the current directory (default: /)
  --foreground        do not detach (no fork, no PID file)
  --exec              no supervisor: PROGRAM holds the PID file itself
",
    if cfg!(feature = "readiness") {
        b"  --notify-fd N       ready when PROGRAM writes a newline to descriptor N
  --notify-socket     ready when PROGRAM sends READY=1 to $NOTIFY_SOCKET
"
    } else {
        b""
    },
    if cfg!(feature = "output-files") {
        b"  --stdout FILE       append PROGRAM's standard output to FILE
  --stderr FILE       append PROGRAM's standard error to FILE
"
    } else {
        b""
    },
    b"  --kill-tree-after S  what PROGRAM leaves gets SIGTERM, then SIGKILL after S
                      seconds (default 5; 0.5; 0 at once)
",
    if cfg!(feature = "log") {
        b"  --log FILE          PROGRAM's output to FILE, rotated before --log-max BYTES
                      (1M; K, M) to FILE.1 ... FILE.N, --log-keep N (3); USR2 reopens
"
    } else {
        b""
    },
    if cfg!(feature = "respawn") {
        b"  --respawn[=on-failure]  start PROGRAM again when it ends (or fails); waits
  --respawn-delay S (1) doubled up to --respawn-max-delay S (60), reset by a
  run of --respawn-reset S (60); ends after --respawn-max N deaths (10; 0 never)
"
    } else {
        b""
    },
    if cfg!(feature = "environment") {
        b"  --rlimit NAME=SOFT[:HARD]  set a resource limit (nofile, core, as, ...; K/M/G
                      for bytes; unlimited; no HARD: keep the hard limit)
  --nice N            add N (-20..19) to the nice value
  --oom-score-adj N   set the OOM score adjustment (-1000..1000)
  --umask OCTAL       the file mode creation mask (default: 022)
  --chroot DIR        change the root to DIR (PROGRAM is looked up inside it)
  --chdir DIR         change to DIR instead of /
  --env NAME=VALUE    set a variable      --unset NAME   remove a variable
  --env-file FILE     set the NAME=VALUE lines of FILE (# comments, no expansion)
  --clear-env         start from an empty environment
  --keep-caps CAP,... keep capabilities across --user (net_bind_service, ...)
  --no-new-privs      PROGRAM can never gain privileges (setuid, file capabilities)
  --dry-run           resolve everything, print the plan, start nothing
"
    } else {
        b""
    },
    if cfg!(feature = "tree") {
        b"  --cgroup DIR        run PROGRAM's processes in the new cgroup2 directory DIR
  --forking           PROGRAM backgrounds itself: its exit 0 means ready
  --forking-pid-file FILE  ... and writes its main process's PID to FILE
  --init              supervise in this process (PID 1 of a container)
  --signal-group      forward signals to PROGRAM's process group
  --help, --version
Exit: 0 once PROGRAM runs (and is ready), 1 bad usage, 102 error;
with --init, PROGRAM's status
"
    } else {
        b"  --help, --version
Exit: 0 once PROGRAM runs (and is ready), 1 bad usage, 102 error
"
    },
];

/// Runs the applet as `name` (the name for messages) on the command line of `startup` (its
/// first argument is the program name); returns the exit code: 0 once the program runs (and
/// is ready, when asked), 1 bad usage, 102 on errors (`<prog>: <message>` on stderr), or in
/// the foreground the program's status.
pub fn main(name: &'static [u8], mut startup: Startup) -> i32 {
    let request = match parse(startup.arguments()) {
        Ok(Invocation::Run(request)) => request,
        Ok(Invocation::Help) => {
            // In pieces: the whole text is longer than one line buffer.
            print(1, &[b"Usage: ", name, SYNOPSIS]);
            for part in HELP {
                print(1, &[part]);
            }
            return EXIT_OK;
        }
        Ok(Invocation::Version) => {
            print(
                1,
                &[concat!("ucw-daemonize ", env!("CARGO_PKG_VERSION"), "\n").as_bytes()],
            );
            return EXIT_OK;
        }
        Err(error) => return print_usage_error(name, &error, SYNOPSIS),
    };
    #[cfg(feature = "environment")]
    if let Err(error) = setup::check_bounding_set(&request.settings) {
        return print_usage_error(name, &error, SYNOPSIS);
    }
    let environment = startup.environment();
    // Taken before anything else is opened: the number names the inherited pipe end.
    let controller = environment
        .variable(environment::CONTROLLER_NAME)
        .and_then(|number| crate::cli::options::parse_decimal(number.to_bytes(), i32::MAX as u64))
        .and_then(|number| rt::adopt_pipe(number as u32));
    let Some(credentials) = rt::credentials() else {
        return ERROR_EXIT_CODE;
    };
    let code = run(
        name,
        &request,
        startup.operands(request.command),
        environment,
        credentials,
        controller.as_ref().map(AsFd::as_fd),
    );
    // Closed by the exit that follows (no close call on START's path).
    core::mem::forget(controller);
    code
}

/// Where `--user` and `--group` are looked up: `/etc/passwd` and `/etc/group`, except in
/// fault-injection builds (`--cfg ucw_failpoints`), where `UCW_TEST_PASSWD` and
/// `UCW_TEST_GROUP` may name purpose-made files so that the tests never touch `/etc`.
fn account_files(environment: &StringList<'static>) -> AccountFiles<'static> {
    #[cfg(ucw_failpoints)]
    {
        AccountFiles {
            passwd: environment
                .variable(b"UCW_TEST_PASSWD")
                .unwrap_or(c"/etc/passwd"),
            group: environment
                .variable(b"UCW_TEST_GROUP")
                .unwrap_or(c"/etc/group"),
        }
    }
    #[cfg(not(ucw_failpoints))]
    {
        let _ = environment;
        AccountFiles::SYSTEM
    }
}

/// The launcher: everything up to the daemon's readiness (see the module docs).
fn run(
    name: &'static [u8],
    request: &Request<'_>,
    program: StringList<'static>,
    inherited: StringList<'static>,
    credentials: &'static mut Credentials<'static>,
    controller: Option<rustix::fd::BorrowedFd<'_>>,
) -> i32 {
    let program_name = program.iter().next().map_or(&b""[..], CStr::to_bytes);
    // `--init`, implied by `--foreground` in PID 1: the supervisor in this process, with the
    // PID file (docs/design.md §5).
    let init = cfg!(feature = "tree")
        && !request.exec
        && (request.init
            || (request.foreground && rustix::process::getpid().as_raw_nonzero().get() == 1));
    if init {
        // From here on every signal waits for the supervisor's signalfd: PID 1 would drop
        // them (the kernel never applies a default action to it).
        let _ = signal::block(SignalSet::ALL_CATCHABLE);
    }
    let mut params = daemon::Params {
        flags: if init {
            Flags::IN_PROCESS
        } else {
            request.flags
        },
        pid_file: request.pid_file,
        account_files: account_files(&inherited),
        ..daemon::Params::default()
    };
    // The limits as the daemon will set them, resolved before anything changes.
    #[cfg(feature = "environment")]
    let mut limits = setup::NO_LIMITS;
    #[cfg(feature = "environment")]
    let resolved = setup::resolve_limits(&request.settings, &mut limits);
    #[cfg(feature = "environment")]
    setup::apply(
        &request.settings,
        &limits[..*resolved.as_ref().unwrap_or(&0)],
        &mut params,
    );
    #[cfg(not(feature = "environment"))]
    let resolved: Result<(), Error> = Ok(());
    #[cfg(feature = "environment")]
    let dry_run = request.settings.dry_run;
    #[cfg(not(feature = "environment"))]
    let dry_run = false;
    let parsed = identity(request.user, Subject::User)
        .and_then(|user| Ok((user, identity(request.group, Subject::Group)?)));
    if let Ok((user, group)) = parsed {
        params.user = user;
        params.group = group;
    }
    let names = Names {
        params: &params,
        request,
        program: program_name,
        #[cfg(feature = "environment")]
        environment_file: None,
    };
    let fail = |error: Error| {
        print_error(name, &error, &names);
        ERROR_EXIT_CODE
    };
    if let Err(error) = parsed.and(resolved.map(|_| ())) {
        return fail(error);
    }
    // A dry run checks what `init` checks, without a PID file or anything else to change.
    #[cfg(feature = "environment")]
    let mut checked = params;
    #[cfg(feature = "environment")]
    if dry_run {
        checked.flags = params.flags | daemon::Flags::SIMULATE;
        checked.pid_file = None;
    }
    #[cfg(feature = "environment")]
    let checked = &checked;
    #[cfg(not(feature = "environment"))]
    let checked = &params;
    let daemon = match daemon::init(checked, credentials) {
        Ok(daemon) => daemon,
        Err(error) => return fail(error),
    };
    let simulated = request.foreground && !init;
    let account = daemon.credentials();
    // The library's SIMULATE does not switch credentials; in the foreground the tool does, so
    // that `--foreground --user` runs the program as that user (service managers that keep
    // their services attached). With the environment options, in the body: after the setup
    // the library makes before it.
    #[cfg(not(feature = "environment"))]
    if simulated || init {
        if let Err(error) = account.switch() {
            return fail(error);
        }
    }
    // The program's uid, where something is checked against it (the output files' owner, a
    // `READY=1` sender): ours, asked once, when `--user` does not name it.
    #[cfg(feature = "readiness")]
    let by_socket = matches!(request.notify, Notify::Socket);
    #[cfg(not(feature = "readiness"))]
    let by_socket = false;
    let target_uid = match account.uid() {
        Some(uid) => uid.as_raw(),
        None if by_socket || request.stdout.is_some() || request.stderr.is_some() => {
            rustix::process::geteuid().as_raw()
        }
        // Nothing is checked against it.
        None => u32::MAX,
    };
    // Opened now, before the switch: a root-owned log directory works (none for a dry run).
    let outputs = match dry_run {
        true => Ok([None, None]),
        false => outputs::open(request, target_uid),
    };
    let outputs = match outputs {
        Ok(outputs) => outputs,
        Err(error) => return fail(error),
    };
    // The log file's directory too: rotation works in it whatever the user and root become.
    let log_target = match log::open_directory(request) {
        Ok(target) => target,
        Err(error) => return fail(error),
    };
    #[cfg(feature = "readiness")]
    let mut socket_name = [0u8; readiness::SOCKET_NAME_CAPACITY];
    #[cfg(feature = "readiness")]
    let socket_name = match request.notify {
        Notify::Socket => readiness::unique_socket_name(&mut socket_name),
        _ => &[][..],
    };
    #[cfg(not(feature = "readiness"))]
    let socket_name = &[][..];
    // Opened before the daemon's setup (which may chroot and switch credentials): `/proc`
    // for the walks of the program's tree, and the status file beside the PID file (neither
    // the status file nor a cgroup for a dry run).
    let proc = if request.exec {
        None
    } else {
        tree::open_proc()
    };
    #[cfg(feature = "tree")]
    let status_file = if !request.exec && !simulated && !init && !dry_run {
        match (request.pid_file, daemon.lock_fd()) {
            (Some(path), Some(lock)) => match StatusFile::open(path, lock) {
                Ok(file) => Some(file),
                Err(error) => return fail(error),
            },
            _ => None,
        }
    } else {
        None
    };
    #[cfg(not(feature = "tree"))]
    let status_file: Option<StatusFile> = None;
    #[cfg(feature = "tree")]
    let owner = account
        .uid()
        .zip(account.gid())
        .map(|(uid, gid)| (uid.as_raw(), gid.as_raw()));
    #[cfg(feature = "tree")]
    let cgroup = match request.cgroup {
        Some(path) if !dry_run => match cgroup::Cgroup::create(path, owner) {
            Ok(cgroup) => Some(cgroup),
            Err(error) => return fail(error),
        },
        _ => None,
    };
    #[cfg(feature = "environment")]
    let Some(mut arena) = rt::environment_arena().map(Arena::new) else {
        return ERROR_EXIT_CODE;
    };
    #[cfg(not(feature = "tree"))]
    let cgroup: Option<cgroup::Cgroup<'_>> = None;
    let mut environment = Environment::new();
    let envp = match environment.build(
        inherited,
        account,
        socket_name,
        #[cfg(feature = "environment")]
        &request.settings,
        #[cfg(feature = "environment")]
        &mut arena,
    ) {
        Ok(envp) => envp,
        Err((error, file)) => {
            #[cfg(feature = "environment")]
            let names = Names {
                environment_file: file.map(CStr::to_bytes),
                ..names
            };
            #[cfg(not(feature = "environment"))]
            let _ = file;
            print_error(name, &error, &names);
            return ERROR_EXIT_CODE;
        }
    };
    #[cfg(feature = "environment")]
    if dry_run {
        return match dry_run::print(request, &params, params.limits, account, program, envp) {
            Ok(()) => EXIT_OK,
            Err(error) => fail(error),
        };
    }
    // The supervisor's signals, blocked and given a signalfd before the fork: a signal sent
    // as soon as the PID is published (a reload racing the start) waits in the daemon's
    // queue instead of killing it before it is ready, and the daemon reads them through its
    // copy of the descriptor (a signalfd reads the signals of whoever reads it). The
    // launcher's copy is left to its exit.
    let signals = if request.exec {
        None
    } else {
        match Signals::new(SignalSet::ALL_CATCHABLE) {
            Ok(signals) => Some(ManuallyDrop::new(signals)),
            Err(errno) => return fail(Failure::ForwardSignals.system(Subject::None, errno)),
        }
    };
    let job = Job {
        program,
        environment: envp,
        outputs: &outputs,
        notify: request.notify,
        socket_name,
        program_uid: target_uid,
        foreground: simulated,
        init,
        signal_group: request.signal_group,
        proc: proc.as_ref().map(AsFd::as_fd),
        status_file: status_file.as_ref(),
        kill_tree_after: request.kill_tree_after,
        controller,
        forking: request.forking,
        forking_pid_file: request.forking_pid_file,
        cgroup: cgroup.as_ref(),
        log: log_target.as_ref(),
        respawn: request.respawn,
        backoff: request.backoff,
    };
    let launched = daemon.run_until_ready(rt::HOST, |running| {
        // In this process (the foreground, or an init), after the library's setup.
        #[cfg(feature = "environment")]
        let switched = match simulated || init {
            true => account.switch(),
            false => Ok(()),
        };
        #[cfg(not(feature = "environment"))]
        let switched = Ok(());
        let code = switched.and_then(|()| match signals {
            None => job.exec_in_place(running),
            Some(signals) => job.supervise(running, ManuallyDrop::into_inner(signals)),
        });
        code.unwrap_or_else(|error| {
            if simulated || init {
                print_error(name, &error, &names);
            }
            ERROR_EXIT_CODE
        })
    });
    let code = match launched {
        Ok(Launched::Daemon { pid }) => {
            if request.pid_file.is_none() {
                print_unwatched(name, program_name, pid.as_raw_nonzero().get());
            }
            EXIT_OK
        }
        Ok(Launched::Simulated { exit_code }) => exit_code,
        Err(error) => fail(error),
    };
    // The launcher exits now, and its descriptors with it: no close calls on START's path.
    core::mem::forget((proc, status_file));
    code
}

/// Says on stderr, once, that `program` was started in the background as `pid` with no PID
/// file: nothing will lock, name or report it, so its end (a `false` that fails at once) is
/// told to no one, and the caller should know that the exit code 0 means only "started".
fn print_unwatched(name: &[u8], program: &[u8], pid: i32) {
    let mut digits = [0u8; 20];
    print(
        2,
        &[
            name,
            b": started ",
            program,
            b" in the background as PID ",
            decimal(pid.unsigned_abs().into(), &mut digits),
            b", with no PID file: nothing will report how it ends\n",
        ],
    );
}

/// `--user` or `--group`'s value as an [`Identity`].
fn identity<'a>(text: Option<&'a CStr>, subject: Subject) -> Result<Option<Identity<'a>>, Error> {
    text.map(|text| Identity::parse(text.to_bytes(), subject))
        .transpose()
}
