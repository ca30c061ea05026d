//! The daemon side (DESIGN.md §4) checked from outside: a real daemon started through the
//! library by `examples/fixture_daemon_probe.rs`, inspected through /proc and its PID file;
//! plus in-process checks of `init`'s refusals and of SIMULATE.

mod common;

use common::{harness, TempDir};
use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use ucw_daemon::credentials::Credentials;
use ucw_daemon::daemon::{self, Flags, Launched, Params};
use ucw_daemon::pidfile::{self, PidState};

/// The fixture program built by `cargo test` (target/debug/examples/).
pub fn probe() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_ucw-daemon-control"))
        .parent()
        .unwrap()
        .join("examples/fixture_daemon_probe")
}

fn cstring(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).unwrap()
}

/// Fields of /proc/<pid>/stat after the command name: (state, ppid, pgrp, session, tty_nr).
fn stat_fields(pid: i32) -> (String, i32, i32, i32, i32) {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    (
        rest[0].to_string(),
        rest[1].parse().unwrap(),
        rest[2].parse().unwrap(),
        rest[3].parse().unwrap(),
        rest[4].parse().unwrap(),
    )
}

fn state(pid_file: &Path) -> PidState {
    pidfile::inspect(&cstring(pid_file)).unwrap().state
}

/// Launches the probe; returns the launcher's output.
fn launch(dir: &TempDir, pid_file: &Path, setup: impl FnOnce(&mut Command)) -> common::Output {
    let mut command = Command::new(probe());
    command
        .arg(pid_file)
        .env("PROBE_STOP", dir.join("stop"))
        .env("PROBE_REPORT", dir.join("report"))
        .current_dir(dir.path());
    fs::write(dir.join("report"), "").unwrap();
    setup(&mut command);
    let spawned = harness().spawn(command, dir.path());
    harness().wait(&spawned, Duration::from_secs(20))
}

fn launched_pid(output: &common::Output) -> i32 {
    assert_eq!(output.code, Some(0), "{output:?}");
    output
        .stdout
        .trim()
        .strip_prefix("launched ")
        .unwrap_or_else(|| panic!("{output:?}"))
        .parse()
        .unwrap()
}

/// Waits (at most 10 s) until the body's report contains `needle`; returns the report.
fn wait_for_report(dir: &TempDir, needle: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let report = fs::read_to_string(dir.join("report")).unwrap();
        if report.contains(needle) {
            return report;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {needle} in {report}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Asks the probe's body to call `Running::exit` and waits until the daemon is gone.
fn stop(dir: &TempDir, pid: i32) {
    fs::write(dir.join("stop"), "").unwrap();
    assert!(
        common::wait_gone(pid, Duration::from_secs(10)),
        "daemon {pid} did not stop"
    );
    let _ = fs::remove_file(dir.join("stop"));
}

fn check_real_daemon(label: &str, process_group: bool, preserve_cwd: bool) {
    let dir = TempDir::new(label);
    let pid_file = dir.join("probe.pid");
    let output = launch(&dir, &pid_file, |command| {
        if process_group {
            command.process_group(0);
        }
        if preserve_cwd {
            command.env("PROBE_FLAGS", "c");
        }
    });
    let pid = launched_pid(&output);
    assert!(common::is_alive(pid));

    // The PID file: our PID and a newline, locked, 0600, as soon as the launcher returned.
    assert_eq!(fs::read_to_string(&pid_file).unwrap(), format!("{pid}\n"));
    assert_eq!(fs::metadata(&pid_file).unwrap().mode() & 0o7777, 0o600);
    assert_eq!(
        state(&pid_file),
        PidState::Running(rustix::process::Pid::from_raw(pid).unwrap())
    );
    let file = fs::File::open(&pid_file).unwrap();
    assert_eq!(
        rustix::fs::flock(
            // SAFETY: `file` stays open for the call.
            unsafe { rustix::fd::BorrowedFd::borrow_raw(std::os::fd::AsRawFd::as_raw_fd(&file)) },
            rustix::fs::FlockOperation::NonBlockingLockShared
        ),
        Err(rustix::io::Errno::WOULDBLOCK)
    );
    drop(file);

    // Its own session, no controlling terminal.
    let (_state, _ppid, pgrp, session, tty) = stat_fields(pid);
    assert_eq!((session, pgrp, tty), (pid, pid, 0));
    // stdin/stdout are /dev/null, stderr is the launcher's.
    let link = |fd: u32| fs::read_link(format!("/proc/{pid}/fd/{fd}")).unwrap();
    assert_eq!(link(0), Path::new("/dev/null"));
    assert_eq!(link(1), Path::new("/dev/null"));
    assert!(
        link(2)
            .to_string_lossy()
            .starts_with(&*dir.path().to_string_lossy()),
        "{:?}",
        link(2)
    );
    assert_eq!(
        common::proc_status_field(pid, "Umask").as_deref(),
        Some("0022")
    );
    let cwd = fs::read_link(format!("/proc/{pid}/cwd")).unwrap();
    if preserve_cwd {
        assert_eq!(cwd, dir.path());
    } else {
        assert_eq!(cwd, Path::new("/"));
    }
    // The body ran after the PID was published.
    let report = wait_for_report(&dir, "body=running");
    assert!(report.contains(&format!("pid={pid}\n")), "{report}");
    assert!(report.contains("simulated=false"), "{report}");

    // A second start is refused while it runs, and changes nothing.
    let second = launch(&dir, &pid_file, |_| {});
    assert_eq!(second.code, Some(102), "{second:?}");
    assert_eq!(
        second.stderr.trim(),
        format!(
            "fixture_daemon_probe: Daemon is already running (PID file {} is locked)",
            pid_file.display()
        )
    );
    assert_eq!(fs::read_to_string(&pid_file).unwrap(), format!("{pid}\n"));

    // exit: empty, unlocked, still there.
    stop(&dir, pid);
    assert_eq!(fs::read(&pid_file).unwrap(), b"");
    assert_eq!(state(&pid_file), PidState::NotRunning);
    wait_for_report(&dir, "body=exited");
}

#[test]
fn real_daemon_is_detached_and_holds_its_pid_file() {
    check_real_daemon("daemon-plain", false, false);
}

#[test]
fn real_daemon_from_a_process_group_leader() {
    check_real_daemon("daemon-pgrp", true, false);
}

#[test]
fn real_daemon_with_preserve_cwd() {
    check_real_daemon("daemon-cwd", false, true);
}

#[test]
fn launching_with_a_standard_descriptor_closed() {
    for fd in 0..3 {
        let dir = TempDir::new("daemon-closed-fd");
        let pid_file = dir.join("probe.pid");
        let output = launch(&dir, &pid_file, |command| {
            command.env("PROBE_CLOSE_FD", fd.to_string());
        });
        // With stdout closed the launcher's "launched" line went to /dev/null.
        assert_eq!(output.code, Some(0), "fd {fd}: {output:?}");
        let pid: i32 = fs::read_to_string(&pid_file)
            .unwrap()
            .trim_end()
            .parse()
            .unwrap();
        assert_eq!(
            state(&pid_file),
            PidState::Running(rustix::process::Pid::from_raw(pid).unwrap())
        );
        for standard in 0..3 {
            let target = fs::read_link(format!("/proc/{pid}/fd/{standard}")).unwrap();
            assert_ne!(target, pid_file, "fd {fd}: PID file landed on {standard}");
        }
        stop(&dir, pid);
        assert_eq!(state(&pid_file), PidState::NotRunning);
    }
}

#[test]
fn opt_in_cleanups_close_inherited_descriptors() {
    let dir = TempDir::new("daemon-cleanups");
    let pid_file = dir.join("probe.pid");
    // A descriptor the launcher leaks to the daemon (no close-on-exec).
    let inherited = fs::File::open("/dev/null").unwrap();
    // SAFETY: `inherited` stays open for the call.
    let borrowed =
        unsafe { rustix::fd::BorrowedFd::borrow_raw(std::os::fd::AsRawFd::as_raw_fd(&inherited)) };
    rustix::io::fcntl_setfd(borrowed, rustix::io::FdFlags::empty()).unwrap();
    let output = launch(&dir, &pid_file, |command| {
        command.env("PROBE_FLAGS", "rf");
    });
    drop(inherited);
    let pid = launched_pid(&output);
    // The launcher returns once the PID is published; the body starts a moment later.
    wait_for_report(&dir, "body=running");
    let mut others: Vec<PathBuf> = fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .map(|entry| {
            entry
                .unwrap()
                .file_name()
                .to_string_lossy()
                .parse::<u32>()
                .unwrap()
        })
        .filter(|&fd| fd > 2)
        .map(|fd| fs::read_link(format!("/proc/{pid}/fd/{fd}")).unwrap())
        .collect();
    others.sort();
    // Only the PID file is left above the standard descriptors.
    assert_eq!(others, vec![pid_file.clone()]);
    assert_eq!(
        common::proc_status_field(pid, "SigIgn").as_deref(),
        Some("0000000000000000")
    );
    stop(&dir, pid);
}

/// Stand-in so that a run without fail points cannot look green.
#[cfg(not(feature = "failpoints"))]
#[test]
fn killed_launcher_leaves_no_daemon() {
    panic!("run with --features failpoints");
}

#[cfg(feature = "failpoints")]
#[test]
fn killed_launcher_leaves_no_daemon() {
    let dir = TempDir::new("daemon-killed-launcher");
    let pid_file = dir.join("probe.pid");
    let mut command = Command::new(probe());
    command
        .arg(&pid_file)
        .env("PROBE_FAILPOINT", "launcher-after-fork")
        .env("PROBE_REPORT", dir.join("report"));
    fs::write(dir.join("report"), "").unwrap();
    let launcher = harness().spawn(command, dir.path());
    // Wait for the launcher to stop itself right after the fork.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while stat_fields(launcher.pid).0 != "T" {
        assert!(
            std::time::Instant::now() < deadline,
            "fail point not reached"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let children: Vec<i32> =
        fs::read_to_string(format!("/proc/{0}/task/{0}/children", launcher.pid))
            .unwrap()
            .split_whitespace()
            .map(|pid| pid.parse().unwrap())
            .collect();
    assert_eq!(children.len(), 1, "{children:?}");
    let daemon = children[0];
    // The daemon is set up and waits for its release, holding the lock.
    assert_eq!(state(&pid_file), PidState::Busy);
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(launcher.pid).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    let output = harness().wait(&launcher, Duration::from_secs(10));
    assert_eq!(output.signal, Some(9));
    assert!(
        common::wait_gone(daemon, Duration::from_secs(10)),
        "daemon survived"
    );
    // Nobody holds the lock; the file says a start was interrupted.
    assert_eq!(state(&pid_file), PidState::Stale);
    assert_eq!(fs::read_to_string(&pid_file).unwrap(), "(starting)\n");
    // The body never ran.
    assert_eq!(fs::read_to_string(dir.join("report")).unwrap(), "");
}

#[test]
fn confirmed_run_returns_the_bodys_failure() {
    let dir = TempDir::new("daemon-confirm-fail");
    let pid_file = dir.join("probe.pid");
    let output = launch(&dir, &pid_file, |command| {
        command.env("PROBE_MODE", "fail");
    });
    assert_eq!(output.code, Some(102), "{output:?}");
    assert_eq!(
        output.stderr.trim(),
        "fixture_daemon_probe: probe body refused to start"
    );
    // Empty and unlocked as soon as the launcher returned.
    assert_eq!(fs::read(&pid_file).unwrap(), b"");
    assert_eq!(state(&pid_file), PidState::NotRunning);
}

#[test]
fn confirmed_run_returns_after_confirmation() {
    let dir = TempDir::new("daemon-confirm-ok");
    let pid_file = dir.join("probe.pid");
    let output = launch(&dir, &pid_file, |command| {
        command.env("PROBE_MODE", "confirm");
    });
    let pid = launched_pid(&output);
    wait_for_report(&dir, "body=running");
    stop(&dir, pid);
    assert_eq!(state(&pid_file), PidState::NotRunning);
}

#[test]
fn confirmed_exec_inherits_the_lock() {
    let dir = TempDir::new("daemon-confirm-exec");
    let pid_file = dir.join("probe.pid");
    let output = launch(&dir, &pid_file, |command| {
        command.env("PROBE_MODE", "exec");
    });
    let pid = launched_pid(&output);
    // The launcher returned once exec succeeded: the process is sleep, holding the lock.
    assert_eq!(
        fs::read_link(format!("/proc/{pid}/exe"))
            .unwrap()
            .file_name()
            .unwrap(),
        "sleep"
    );
    assert_eq!(
        state(&pid_file),
        PidState::Running(rustix::process::Pid::from_raw(pid).unwrap())
    );
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    assert!(common::wait_gone(pid, Duration::from_secs(10)));
    assert_eq!(state(&pid_file), PidState::Stale);
}

fn init_error(params: &Params<'_>) -> String {
    let mut credentials = Box::new(Credentials::new());
    match daemon::init(params, &mut credentials) {
        Ok(_) => panic!("init succeeded"),
        Err(error) => error.message().to_string(),
    }
}

#[test]
fn unsafe_pid_files_are_refused() {
    let dir = TempDir::new("daemon-refusals");
    let with = |path: &CString| -> String {
        init_error(&Params {
            pid_file: Some(path),
            ..Params::default()
        })
    };

    // A symlink: refused, its target untouched.
    let target = dir.join("target");
    fs::write(&target, "precious").unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).unwrap();
    let link = dir.join("link.pid");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert_eq!(
        with(&cstring(&link)),
        format!(
            "Refusing PID file {}: it is a symbolic link: ELOOP (Too many levels of symbolic links)",
            link.display()
        )
    );
    assert_eq!(fs::read_to_string(&target).unwrap(), "precious");
    assert_eq!(fs::metadata(&target).unwrap().mode() & 0o7777, 0o644);
    // A dangling symlink creates nothing.
    let dangling = dir.join("dangling.pid");
    std::os::unix::fs::symlink(dir.join("nothing"), &dangling).unwrap();
    assert!(with(&cstring(&dangling)).contains("symbolic link"));
    assert!(!dir.join("nothing").exists());

    // A directory.
    let directory = dir.join("directory.pid");
    fs::create_dir(&directory).unwrap();
    assert_eq!(
        with(&cstring(&directory)),
        format!(
            "Cannot open PID file {}: EISDIR (Is a directory)",
            directory.display()
        )
    );

    // A FIFO, without hanging.
    let fifo = dir.join("fifo.pid");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        cstring(&fifo).as_c_str(),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    assert_eq!(
        with(&cstring(&fifo)),
        format!("Refusing PID file {}: not a regular file", fifo.display())
    );

    // Group-writable.
    let writable = dir.join("writable.pid");
    fs::write(&writable, "").unwrap();
    fs::set_permissions(&writable, fs::Permissions::from_mode(0o620)).unwrap();
    assert_eq!(
        with(&cstring(&writable)),
        format!(
            "Refusing PID file {}: writable by group or others (mode 0620)",
            writable.display()
        )
    );

    // Owned by someone else (needs root to give it away).
    common::require_root("a PID file owned by another user");
    let foreign = dir.join("foreign.pid");
    fs::write(&foreign, "").unwrap();
    fs::set_permissions(&foreign, fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::chown(&foreign, Some(61090), Some(61090)).unwrap();
    assert_eq!(
        with(&cstring(&foreign)),
        format!(
            "Refusing PID file {}: owned by uid 61090, not by us (uid 0)",
            foreign.display()
        )
    );

    // Relative without PRESERVE_CWD.
    assert_eq!(
        with(&CString::new("relative.pid").unwrap()),
        "Refusing PID file relative.pid: a relative path needs PRESERVE_CWD (the daemon changes to /)"
    );
    assert!(!Path::new("relative.pid").exists());
}

#[test]
fn simulate_runs_the_body_in_process_touching_no_files() {
    let dir = TempDir::new("daemon-simulate");
    let pid_file = cstring(&dir.join("simulated.pid"));
    let params = Params {
        flags: Flags::SIMULATE,
        pid_file: Some(&pid_file),
        ..Params::default()
    };
    let mut credentials = Box::new(Credentials::new());
    let daemon = daemon::init(&params, &mut credentials).unwrap();
    assert!(daemon.pid_file().is_none());
    let cwd = std::env::current_dir().unwrap();
    let mut seen_pid = 0;
    let launched = daemon
        .run(|running| {
            assert!(running.is_simulated());
            assert!(running.pid_file().is_none());
            seen_pid = std::process::id();
            running.exit().unwrap();
            42
        })
        .unwrap();
    assert_eq!(launched, Launched::Simulated { exit_code: 42 });
    assert_eq!(seen_pid, std::process::id());
    assert_eq!(std::env::current_dir().unwrap(), cwd);
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}
