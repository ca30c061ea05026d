//! The daemon side (docs/design.md §4) checked from outside: a real daemon started through the
//! library by `tests/fixtures/daemon_probe.rs` (`fixture_daemon_probe`), inspected through
//! /proc and its PID file; plus in-process checks of `init`'s refusals, of the PID file a
//! `Daemon` holds before `run`, and of SIMULATE.

mod common;
#[path = "fixtures/support.rs"]
mod support;

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

/// The fixture program (`<target>/<profile>/examples/fixture_daemon_probe`, brought up to
/// date first).
pub fn probe() -> PathBuf {
    common::built_example("fixture_daemon_probe")
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

/// What a controller sees at a PID-file path (docs/design.md §2), looked at independently of
/// the library: the lock probed with `LOCK_SH|LOCK_NB` on a descriptor of our own, the
/// content read whole.
#[derive(Debug, PartialEq, Eq)]
enum PidState {
    Absent,
    NotRunning,
    Stale,
    Running(rustix::process::Pid),
    Busy,
}

fn state(pid_file: &Path) -> PidState {
    let flags = rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC;
    let path = cstring(pid_file);
    let Ok(file) = rustix::fs::open(path.as_c_str(), flags, rustix::fs::Mode::empty()) else {
        return PidState::Absent;
    };
    let locked = match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockShared) {
        Ok(()) => false,
        Err(rustix::io::Errno::WOULDBLOCK) => true,
        Err(errno) => panic!("flock {}: {errno}", pid_file.display()),
    };
    let content = fs::read(pid_file).unwrap();
    match (locked, content.as_slice()) {
        (false, b"") => PidState::NotRunning,
        (false, _) => PidState::Stale,
        (true, b"" | b"(starting)\n") => PidState::Busy,
        (true, text) => {
            let digits = std::str::from_utf8(text)
                .ok()
                .and_then(|text| text.strip_suffix('\n'))
                .unwrap_or_else(|| panic!("locked PID file with {text:?}"));
            PidState::Running(rustix::process::Pid::from_raw(digits.parse().unwrap()).unwrap())
        }
    }
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

/// Waits (at most 10 s, a scaled margin) until the body's report contains `needle`; returns the report.
fn wait_for_report(dir: &TempDir, needle: &str) -> String {
    let deadline = std::time::Instant::now() + common::margin(Duration::from_secs(10));
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

/// The descriptors of `pid` above 2: (target, access mode from `/proc/<pid>/fdinfo`:
/// `O_RDONLY` 0, `O_WRONLY` 1, `O_RDWR` 2), sorted.
fn descriptors_above_standard(pid: i32) -> Vec<(PathBuf, u32)> {
    let mut found: Vec<(PathBuf, u32)> = fs::read_dir(format!("/proc/{pid}/fd"))
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
        .filter_map(|fd| {
            // A descriptor can close between the listing and this look (a dynamic program's
            // loader opens and closes files while it starts): then it is not there.
            let info = fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
            let target = fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok()?;
            let flags = info
                .lines()
                .find_map(|line| line.strip_prefix("flags:"))
                .and_then(|flags| u32::from_str_radix(flags.trim(), 8).ok())
                .unwrap_or_else(|| panic!("no flags in {info}"));
            Some((target, flags & 0o3))
        })
        .collect();
    found.sort();
    found
}

#[test]
fn opt_in_cleanups_close_inherited_descriptors() {
    let dir = TempDir::new("daemon-cleanups");
    let pid_file = dir.join("probe.pid");
    let kept = dir.join("kept");
    // A descriptor the launcher leaks to the daemon (no close-on-exec).
    let inherited = fs::File::open("/dev/null").unwrap();
    // SAFETY: `inherited` stays open for the call.
    let borrowed =
        unsafe { rustix::fd::BorrowedFd::borrow_raw(std::os::fd::AsRawFd::as_raw_fd(&inherited)) };
    rustix::io::fcntl_setfd(borrowed, rustix::io::FdFlags::empty()).unwrap();
    // The probe opens PROBE_KEEP_FILE before `init` and asks to keep it.
    let output = launch(&dir, &pid_file, |command| {
        command
            .env("PROBE_FLAGS", "rf")
            .env("PROBE_KEEP_FILE", &kept);
    });
    drop(inherited);
    let pid = launched_pid(&output);
    // The launcher returns once the PID is published; the body starts a moment later.
    let report = wait_for_report(&dir, "body=running");
    // The kept file survived the clean-up: the body wrote into it through its descriptor
    // (a closed one would have failed with EBADF), then closed it, before `body=running`.
    assert!(report.contains("kept-file=ok\n"), "{report}");
    assert_eq!(
        fs::read_to_string(&kept).unwrap(),
        "written by the daemon\n"
    );
    // Left above the standard descriptors: only the PID file's two open file descriptions,
    // the private read-write one and the read-only one that carries the lock. The leaked
    // /dev/null is gone.
    assert_eq!(
        descriptors_above_standard(pid),
        vec![(pid_file.clone(), 0), (pid_file.clone(), 2)]
    );
    // RESET_SIGNALS: every disposition back to default (the probe is a Rust std program,
    // which ignores SIGPIPE), except that in a process with a C library the signals it
    // reserves, 32–34, are left as they were (here: ignored as the test process inherits
    // them), never reset under the C library's feet.
    const LIBC_RESERVED: u64 = (1 << (32 - 1)) | (1 << (33 - 1)) | (1 << (34 - 1));
    let ignored = common::proc_status_field(pid, "SigIgn")
        .and_then(|mask| u64::from_str_radix(&mask, 16).ok())
        .unwrap();
    assert_eq!(
        ignored & !LIBC_RESERVED,
        0,
        "signals still ignored: {ignored:#x}"
    );
    stop(&dir, pid);
}

#[test]
#[cfg_attr(
    not(ucw_failpoints),
    ignore = "needs --cfg ucw_failpoints: tests/run-all runs it"
)]
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
    let deadline = std::time::Instant::now() + common::margin(Duration::from_secs(10));
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
        "fixture_daemon_probe: The daemon could not start: EADDRINUSE (Address already in use)"
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
    // Only the lock's description crossed the exec, read-only: the program holds the lock
    // but can never write the file. (Other descriptors it has came from this test process,
    // whose concurrent tests leak some on purpose.)
    let on_pid_file: Vec<(PathBuf, u32)> = descriptors_above_standard(pid)
        .into_iter()
        .filter(|(target, _)| *target == pid_file)
        .collect();
    assert_eq!(on_pid_file, vec![(pid_file.clone(), 0)]);
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    assert!(common::wait_gone(pid, Duration::from_secs(10)));
    assert_eq!(state(&pid_file), PidState::Stale);
}

/// `init`'s error, rendered against its params as a program would print it.
fn init_error(params: &Params<'_>) -> String {
    let mut groups = [rustix::process::Gid::ROOT; 16];
    let mut credentials = Credentials::new(&mut groups);
    let error = match daemon::init(params, &mut credentials) {
        Ok(_) => panic!("init succeeded"),
        Err(error) => error,
    };
    error.display(params).to_string()
}

/// `init`'s error for the PID file `path` (default params otherwise).
fn init_error_for(path: &CString) -> String {
    init_error(&Params {
        pid_file: Some(path),
        ..Params::default()
    })
}

#[test]
fn unsafe_pid_files_are_refused() {
    let dir = TempDir::new("daemon-refusals");
    let with = init_error_for;

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

    // On a pseudo file system: a kernel interface, not a file (`/proc/sys/kernel/hostname`
    // would take the PID as the host name). `/proc/self/comm` is ours and harmless: writing
    // it would only rename this process, which the refusal must prevent.
    let comm = fs::read_to_string("/proc/self/comm").unwrap();
    assert_eq!(
        with(&CString::new("/proc/self/comm").unwrap()),
        "Refusing PID file /proc/self/comm: it is on a pseudo file system (type 0x9fa0), not a place for a PID file"
    );
    assert_eq!(fs::read_to_string("/proc/self/comm").unwrap(), comm);

    // Relative without PRESERVE_CWD.
    assert_eq!(
        with(&CString::new("relative.pid").unwrap()),
        "Refusing PID file relative.pid: a relative path needs PRESERVE_CWD (the daemon changes to /)"
    );
    assert!(!Path::new("relative.pid").exists());
}

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: giving a PID file to another user"
)]
fn a_pid_file_owned_by_another_user_is_refused() {
    common::require_root("a PID file owned by another user");
    let dir = TempDir::new("daemon-foreign");
    let foreign = dir.join("foreign.pid");
    fs::write(&foreign, "").unwrap();
    fs::set_permissions(&foreign, fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::chown(&foreign, Some(61090), Some(61090)).unwrap();
    assert_eq!(
        init_error_for(&cstring(&foreign)),
        format!(
            "Refusing PID file {}: owned by uid 61090, not by us (uid 0)",
            foreign.display()
        )
    );
    // Untouched: still empty, still the other user's, still 0600.
    let metadata = fs::metadata(&foreign).unwrap();
    assert_eq!(fs::read(&foreign).unwrap(), b"");
    assert_eq!((metadata.uid(), metadata.mode() & 0o7777), (61090, 0o600));
}

#[test]
fn a_readable_pid_file_is_tightened_and_an_unrun_daemon_empties_it() {
    let dir = TempDir::new("daemon-tighten");
    let pid_file = dir.join("readable.pid");
    // LibUCW's daemons create their PID files 0644; stale content from a crashed daemon.
    fs::write(&pid_file, "12345\n").unwrap();
    fs::set_permissions(&pid_file, fs::Permissions::from_mode(0o644)).unwrap();
    let path = cstring(&pid_file);
    let params = Params {
        pid_file: Some(&path),
        ..Params::default()
    };
    let mut groups = [rustix::process::Gid::ROOT; 16];
    let mut credentials = Credentials::new(&mut groups);
    let daemon = daemon::init(&params, &mut credentials).unwrap();
    // Accepted, but tightened: anyone who can open it could hold its lock.
    assert_eq!(fs::metadata(&pid_file).unwrap().mode() & 0o7777, 0o600);
    // Locked, starting.
    assert!(daemon.lock_fd().is_some());
    assert_eq!(fs::read(&pid_file).unwrap(), b"(starting)\n");
    assert_eq!(state(&pid_file), PidState::Busy);
    // A second init (another open file description) finds it locked and changes nothing.
    assert_eq!(
        init_error(&params),
        format!(
            "Daemon is already running (PID file {} is locked)",
            pid_file.display()
        )
    );
    assert_eq!(fs::read(&pid_file).unwrap(), b"(starting)\n");
    // Never run: dropping the Daemon empties the file and releases the lock, so the next
    // check says "not running", not "stale".
    drop(daemon);
    assert_eq!(fs::read(&pid_file).unwrap(), b"");
    // The lock goes with the last descriptor of its description. Other tests of this process
    // spawn programs meanwhile, and a child between its fork and its exec holds copies of
    // every descriptor (close-on-exec ones too) for a moment: wait for those to go.
    let deadline = std::time::Instant::now() + common::margin(Duration::from_secs(5));
    while state(&pid_file) != PidState::NotRunning {
        assert!(
            std::time::Instant::now() < deadline,
            "the PID file is still {:?}",
            state(&pid_file)
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(fs::metadata(&pid_file).unwrap().mode() & 0o7777, 0o600);
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
    let mut groups = [rustix::process::Gid::ROOT; 16];
    let mut credentials = Credentials::new(&mut groups);
    let daemon = daemon::init(&params, &mut credentials).unwrap();
    assert!(daemon.lock_fd().is_none());
    let cwd = std::env::current_dir().unwrap();
    let mut seen_pid = 0;
    let launcher = std::process::id();
    let launched = daemon
        .run(support::host_fork(), |running| {
            assert_eq!(
                std::process::id(),
                launcher,
                "the body runs in the launcher"
            );
            assert!(running.lock_fd().is_none());
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
