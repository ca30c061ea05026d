//! START's launch: PATH search, exec failures reported with the program and errno, broken
//! launchers (non-zero exit, killed, exit 0 without locking), the environment handed over.
mod common;
mod control_common;
mod fixture_programs;

use control_common::{example, Options, Setup};
use std::os::unix::fs::PermissionsExt;
use ucw_daemon::control::{Action, Status};

fn start(setup: &Setup, options: &Options) -> Result<Status, String> {
    setup.control(Action::Start, options)
}

#[test]
fn exec_failures_name_the_program_and_errno() {
    let setup = Setup::new("control-exec");
    let missing = Options::default().program(&["ucw-no-such-program-anywhere"]);
    assert_eq!(
        start(&setup, &missing),
        Err(
            "Cannot execute ucw-no-such-program-anywhere: ENOENT (No such file or directory)"
                .into()
        )
    );
    let plain = setup.dir.join("not-executable");
    std::fs::write(&plain, b"#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
    let plain = plain.to_str().unwrap();
    assert_eq!(
        start(&setup, &Options::default().program(&[plain])),
        Err(format!(
            "Cannot execute {plain}: EACCES (Permission denied)"
        ))
    );
    // No /bin/sh fallback: a script without a #! line is an exec format error.
    let script = setup.dir.join("no-shebang");
    std::fs::write(&script, b"exit 0\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = script.to_str().unwrap();
    assert_eq!(
        start(&setup, &Options::default().program(&[script])),
        Err(format!(
            "Cannot execute {script}: ENOEXEC (Exec format error)"
        ))
    );
    assert_eq!(
        start(&setup, &Options::default()),
        Err("No program given to start the daemon".into())
    );
    assert!(control_common::live_children().is_empty());
}

#[test]
fn path_search_rules() {
    let setup = Setup::new("control-path");
    // EACCES in an earlier entry does not stop the search...
    let denied = setup.dir.join("denied");
    let allowed = setup.dir.join("allowed");
    std::fs::create_dir(&denied).unwrap();
    std::fs::create_dir(&allowed).unwrap();
    for dir in [&denied, &allowed] {
        std::os::unix::fs::symlink(example("fixture_control_launcher"), dir.join("launcher"))
            .unwrap();
    }
    let plain = denied.join("launcher2");
    std::fs::write(&plain, b"").unwrap();
    std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::remove_file(denied.join("launcher")).unwrap();
    std::fs::rename(&plain, denied.join("launcher")).unwrap();
    let path = format!("PATH={}:{}", denied.display(), allowed.display());
    let found = Options::default()
        .environment(&[&path])
        .program(&["launcher", "exit3"]);
    assert_eq!(
        start(&setup, &found),
        Err("launcher exited with status 3".into())
    );
    // ...but is reported when nothing else is found.
    let path = format!("PATH={}", denied.display());
    let only_denied = Options::default()
        .environment(&[&path])
        .program(&["launcher", "exit3"]);
    assert_eq!(
        start(&setup, &only_denied),
        Err("Cannot execute launcher: EACCES (Permission denied)".into())
    );
    // An over-long entry is an error, not skipped.
    let path = format!("PATH={}:{}", "x".repeat(5000), allowed.display());
    let overlong = Options::default()
        .environment(&[&path])
        .program(&["launcher", "exit3"]);
    assert_eq!(
        start(&setup, &overlong),
        Err("Cannot execute launcher: ENAMETOOLONG (File name too long)".into())
    );
    // Without PATH the search uses /bin:/usr/bin: `true` is found, exits 0, locks nothing.
    let no_path = Options::default()
        .program(&["true"])
        .environment(&["HOME=/"]);
    assert_eq!(
        start(&setup, &no_path),
        Err(format!(
            "daemon did not lock its PID file {}",
            setup.pid_file.to_str().unwrap()
        ))
    );
    // Too many arguments for the stack vector: a clear error before anything is forked.
    let many: Vec<String> = (0..1100).map(|index| index.to_string()).collect();
    let mut argv = vec!["true"];
    argv.extend(many.iter().map(String::as_str));
    let message = start(&setup, &Options::default().program(&argv)).unwrap_err();
    assert_eq!(
        message,
        "Cannot start true: more than 1024 arguments or environment entries"
    );
}

#[test]
fn broken_launchers() {
    let setup = Setup::new("control-launchers");
    let launcher = example("fixture_control_launcher");
    let launcher = launcher.to_str().unwrap();
    let cases = [
        ("exit3", format!("{launcher} exited with status 3")),
        (
            "kill-self",
            format!("{launcher} was killed by signal 9 (KILL)"),
        ),
        (
            "exit102",
            format!("{launcher} could not start the daemon (exit status 102)"),
        ),
        (
            "exit0",
            format!(
                "daemon did not lock its PID file {}",
                setup.pid_file.to_str().unwrap()
            ),
        ),
    ];
    for (mode, message) in cases {
        assert_eq!(
            start(&setup, &Options::default().program(&[launcher, mode])),
            Err(message),
            "{mode}"
        );
    }
    assert!(control_common::live_children().is_empty());
}

#[test]
fn arguments_and_environment_are_handed_over() {
    let setup = Setup::new("control-environment");
    let out = setup.dir.join("printed");
    let launcher = example("fixture_control_launcher");
    let options = Options::default()
        .environment(&["PATH=/usr/bin:/bin", "UCW_TEST=spaces and = signs"])
        .program(&[
            launcher.to_str().unwrap(),
            "print-env",
            out.to_str().unwrap(),
        ]);
    assert!(start(&setup, &options).is_err()); // it locks nothing
    let printed = std::fs::read_to_string(&out).unwrap();
    assert!(printed.contains("arg print-env\n"), "{printed}");
    assert!(
        printed.contains("env UCW_TEST=spaces and = signs\n"),
        "{printed}"
    );
    assert!(printed.contains("env PATH=/usr/bin:/bin\n"), "{printed}");
    // And, first, the launcher's end of the controller's pipe (docs/design.md §3, Launch).
    assert!(
        printed.contains("env UCW_DAEMON_CONTROLLER_FD="),
        "{printed}"
    );
    assert_eq!(printed.matches("env ").count(), 3, "{printed}");
}

/// The tool hands its own argv/envp over as raw vectors: they reach the program untouched,
/// and more than 1,024 entries are fine there (no stack copy is made).
#[test]
fn raw_vectors_are_passed_through() {
    use std::ffi::{c_char, CString};
    let setup = Setup::new("control-raw");
    let out = setup.dir.join("printed");
    let launcher = example("fixture_control_launcher");
    let mut strings = vec![
        CString::new(launcher.to_str().unwrap()).unwrap(),
        CString::new("print-env").unwrap(),
        CString::new(out.to_str().unwrap()).unwrap(),
    ];
    strings.extend((0..1100).map(|index| CString::new(format!("extra{index}")).unwrap()));
    let mut argv: Vec<*const c_char> = strings.iter().map(|arg| arg.as_ptr()).collect();
    argv.push(std::ptr::null());
    let variable = CString::new("UCW_RAW=yes").unwrap();
    let envp = [variable.as_ptr(), std::ptr::null()];
    // SAFETY: both vectors are null-terminated and outlive the call.
    let (program, environment) = unsafe {
        (
            ucw_daemon::control::StringList::from_raw(argv.as_ptr()),
            ucw_daemon::control::StringList::from_raw(envp.as_ptr()),
        )
    };
    assert_eq!(program.iter().count(), 1103);
    assert_eq!(program.iter().nth(1).unwrap().to_bytes(), b"print-env");
    assert!(program.iter().nth(1103).is_none());
    assert!(environment.iter().next().is_some());
    let params = ucw_daemon::control::Params {
        program,
        environment,
        ..ucw_daemon::control::Params::new(&setup.pid_file, &setup.guard_file, Action::Start)
    };
    let message = ucw_daemon::control::control(&params)
        .unwrap_err()
        .display(&params)
        .to_string();
    assert_eq!(
        message,
        format!(
            "daemon did not lock its PID file {}",
            setup.pid_file.to_str().unwrap()
        )
    );
    let printed = std::fs::read_to_string(&out).unwrap();
    assert!(printed.contains("arg extra1099\n"));
    assert_eq!(printed.matches("env ").count(), 2, "{printed}");
    assert!(printed.contains("env UCW_RAW=yes\n"));
    assert!(printed.contains("env UCW_DAEMON_CONTROLLER_FD="));
}

/// The C library's `signal(2)` and `sigprocmask(2)` (the test is a std program; a
/// `sigset_t` is 1,024 bits, the kernel's 64 first).
mod c {
    use std::ffi::c_int;
    pub const SIG_BLOCK: c_int = 0;
    pub const SIG_SETMASK: c_int = 2;
    pub const SIG_IGN: usize = 1;
    extern "C" {
        pub fn signal(number: c_int, handler: usize) -> usize;
        pub fn sigprocmask(how: c_int, set: *const [u64; 16], old: *mut [u64; 16]) -> c_int;
    }
}

/// The launched program inherits nothing of its caller's signals: not the dispositions it
/// ignores (std ignores SIGPIPE; here SIGUSR1 too) or catches (std's SIGSEGV and SIGBUS
/// handlers), not the signals its thread blocks (SIGUSR2 here). The launcher resets what
/// `/proc/self/status` shows, and that must be everything.
#[test]
fn the_launched_program_inherits_no_ignored_caught_or_blocked_signal() {
    let setup = Setup::new("control-dispositions");
    let out = setup.dir.join("status");
    // SAFETY: plain C library calls; the tests of this file run one at a time (Setup), and
    // both are set back below.
    let (previous, mut old_mask) = unsafe {
        let previous = c::signal(10, c::SIG_IGN);
        let mut blocked = [0u64; 16];
        blocked[0] = 1 << (12 - 1);
        let mut old_mask = [0u64; 16];
        assert_eq!(c::sigprocmask(c::SIG_BLOCK, &blocked, &mut old_mask), 0);
        (previous, old_mask)
    };
    let script = format!("exec cat /proc/self/status > {}", out.display());
    let options = Options::default().program(&["/bin/sh", "-c", &script]);
    let started = start(&setup, &options);
    // SAFETY: as above.
    unsafe {
        c::signal(10, previous);
        c::sigprocmask(c::SIG_SETMASK, &old_mask, &mut old_mask);
    }
    assert!(started.is_err(), "it locks nothing: {started:?}");
    let status = std::fs::read_to_string(&out).unwrap();
    let mut seen = 0;
    for line in status.lines() {
        if let Some((key @ ("SigBlk" | "SigIgn" | "SigCgt"), value)) = line.split_once(":\t") {
            seen += 1;
            assert_eq!(
                u64::from_str_radix(value.trim(), 16),
                Ok(0),
                "{key} of the program: {value}"
            );
        }
    }
    assert_eq!(seen, 3, "{status}");
}
