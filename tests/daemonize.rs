//! `ucw-daemonize` end to end (docs/design.md §5), driven through `ucw-daemon-control` like a
//! service manager would: supervised and `--exec` modes, signal forwarding, the lock's
//! lifetime, exec failures, `--user`, `--foreground`, usage errors, and the spec's example
//! daemon. The programs put under the tool are small `sh` scripts and a static sleeper.
//!
//! Every test has its own directory and PID file, and checks at the end that no process
//! still names that directory on its command line (nothing left running).

mod common;

use common::{control_tool, daemonize_tool, harness, is_alive, wait_gone, Output, TempDir};
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

/// LibUCW's exit codes, as `ucw-daemon-control` and `ucw-daemonize` use them.
const RUNNING: i32 = 0;
const USAGE: i32 = 1;
const ALREADY_DONE: i32 = 100;
const NOT_RUNNING: i32 = 101;
const ERROR: i32 = 102;
const STALE: i32 = 103;

/// `path` as a `&str` (our temporary paths are ASCII).
fn text(path: &Path) -> &str {
    path.to_str().expect("ASCII path")
}

/// Runs `program` with `args` to completion, output in files under `dir`.
fn run(dir: &TempDir, program: &str, args: &[&str]) -> Output {
    harness().run(program, args, dir.path())
}

/// Starts `sh -c script` under `ucw-daemonize --pid-file pid_file` (supervised) and asserts
/// that the launcher exited 0.
fn start_shell(dir: &TempDir, pid_file: &Path, script: &str) {
    let launched = run(
        dir,
        daemonize_tool(),
        &["--pid-file", text(pid_file), "--", "sh", "-c", script],
    );
    assert_eq!(launched.code, Some(0), "{launched:?}");
}

/// `ucw-daemon-control <action> --pid-file <pid_file> [more]`.
fn control(dir: &TempDir, action: &str, pid_file: &Path, more: &[&str]) -> Output {
    let mut args = vec![action, "--pid-file", text(pid_file)];
    args.extend_from_slice(more);
    run(dir, control_tool(), &args)
}

/// The exit code of `ucw-daemon-control --check`.
fn check(dir: &TempDir, pid_file: &Path) -> i32 {
    let output = control(dir, "--check", pid_file, &[]);
    output
        .code
        .unwrap_or_else(|| panic!("--check died: {output:?}"))
}

/// Polls `condition` every 10 ms for up to 5 s (a scaled margin); panics with `what` if it
/// never holds.
fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + common::margin(Duration::from_secs(5));
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The PID written in `pid_file` (panics unless it holds `<pid>\n`).
fn pid_in(pid_file: &Path) -> i32 {
    let content = fs::read_to_string(pid_file).expect("read PID file");
    content
        .strip_suffix('\n')
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("PID file holds {content:?}"))
}

/// The one child of `pid` (waits until it has one).
fn only_child(pid: i32) -> i32 {
    let mut children = Vec::new();
    wait_for("the supervisor's child", || {
        children = fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .unwrap_or_default()
            .split_whitespace()
            .map(|child| child.parse().unwrap())
            .collect();
        !children.is_empty()
    });
    assert_eq!(children.len(), 1, "children of {pid}: {children:?}");
    children[0]
}

/// Live processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(command_line) = fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&command_line).contains(needle) && is_alive(pid) {
            found.push(pid);
        }
    }
    found
}

/// Whether process `pid` has `path` open.
fn holds(pid: i32, path: &Path) -> bool {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .any(|entry| fs::read_link(entry.path()).ok().as_deref() == Some(path))
}

/// Asserts that nothing started for the test in `dir` still runs.
fn assert_nothing_left(dir: &TempDir) {
    let needle = text(dir.path());
    wait_for("every process of the test to end", || {
        processes_mentioning(needle).is_empty()
    });
}

/// `dir/sleep`, a link to the static test sleeper ([`common::static_sleeper`]: it waits for
/// SIGHUP/SIGINT/SIGTERM, never ends by itself and takes no arguments): started through the
/// link it has the test directory on its command line, so [`Cleanup`] and
/// [`assert_nothing_left`] see it. Static, so that its descriptors are final once it runs
/// (a dynamic `/bin/sleep`'s loader opens files on the lowest free numbers for a moment).
fn sleeper(dir: &TempDir) -> String {
    let link = dir.join("sleep");
    if !link.exists() {
        std::os::unix::fs::symlink(common::static_sleeper(), &link).unwrap();
    }
    text(&link).to_string()
}

/// Waits until `pid` runs the sleeper of [`sleeper`] and waits in its `rt_sigtimedwait`
/// (`/proc/<pid>/syscall`): the exec is complete (close-on-exec descriptors closed) and the
/// sleeper opens nothing, ever.
fn wait_for_sleeper(pid: i32) {
    #[cfg(target_arch = "x86_64")]
    const RT_SIGTIMEDWAIT: &str = "128";
    #[cfg(target_arch = "aarch64")]
    const RT_SIGTIMEDWAIT: &str = "137";
    wait_for("the program to exec the sleeper and wait", || {
        let running_it = fs::read(format!("/proc/{pid}/cmdline"))
            .unwrap_or_default()
            .ends_with(b"/sleep\0");
        let waiting = fs::read_to_string(format!("/proc/{pid}/syscall"))
            .unwrap_or_default()
            .split_whitespace()
            .next()
            == Some(RT_SIGTIMEDWAIT);
        running_it && waiting
    });
}

/// The descriptors of process `pid` open on `path`, each with its access mode from
/// `/proc/<pid>/fdinfo` (`O_RDONLY` 0, `O_WRONLY` 1, `O_RDWR` 2).
fn descriptors_on(pid: i32, path: &Path) -> Vec<(u32, u32)> {
    let mut found = Vec::new();
    for entry in fs::read_dir(format!("/proc/{pid}/fd")).unwrap().flatten() {
        if fs::read_link(entry.path()).ok().as_deref() != Some(path) {
            continue;
        }
        let number: u32 = entry.file_name().to_string_lossy().parse().unwrap();
        let info = fs::read_to_string(format!("/proc/{pid}/fdinfo/{number}")).unwrap();
        let flags = info
            .lines()
            .find_map(|line| line.strip_prefix("flags:"))
            .and_then(|flags| u32::from_str_radix(flags.trim(), 8).ok())
            .unwrap_or_else(|| panic!("no flags in {info}"));
        found.push((number, flags & 0o3));
    }
    found
}

/// Asserts that `pid` has the PID file open exactly once, read-only: the lock's description,
/// which lets it hold the lock but never write the file.
fn assert_holds_lock_read_only(pid: i32, pid_file: &Path) {
    let descriptors = descriptors_on(pid, pid_file);
    assert_eq!(
        descriptors.len(),
        1,
        "process {pid} has {descriptors:?} on the PID file"
    );
    assert_eq!(
        descriptors[0].1, 0,
        "process {pid} can write the PID file: {descriptors:?}"
    );
}

/// Kills (SIGKILL) whatever still mentions `dir` when a test ends, even when it fails.
struct Cleanup<'a>(&'a TempDir);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for pid in processes_mentioning(text(self.0.path())) {
            send(pid, rustix::process::Signal::KILL);
        }
    }
}

/// Sends `signal` to `pid`, ignoring a process that is already gone.
fn send(pid: i32, signal: rustix::process::Signal) {
    let _ = rustix::process::kill_process(rustix::process::Pid::from_raw(pid).unwrap(), signal);
}

/// A shell script that appends `HUP` to `log` on every SIGHUP and otherwise idles (the
/// callers pass the test directory as `$0`, which puts it on the command line).
fn hup_logger(log: &Path) -> String {
    format!(
        "trap 'echo HUP >> {0}' HUP; : > {0}.ready; while :; do sleep 0.05; done",
        text(log)
    )
}

/// Waits until the program of [`hup_logger`] (or alike) has set its trap: a signal that
/// came earlier would kill the shell instead of being logged.
fn wait_ready(log: &Path) {
    let ready = format!("{}.ready", text(log));
    wait_for("the program to set its trap", || Path::new(&ready).exists());
}

#[test]
fn supervised_check_reload_stop() {
    let dir = TempDir::new("daemonize-supervised");
    let _cleanup = Cleanup(&dir);
    let pid_file = dir.join("d.pid");
    let log = dir.join("hup.log");
    let script = hup_logger(&log);
    assert_eq!(check(&dir, &pid_file), NOT_RUNNING);
    let started = control(
        &dir,
        "--start",
        &pid_file,
        &[
            "--",
            daemonize_tool(),
            "--pid-file",
            text(&pid_file),
            "--",
            "sh",
            "-c",
            &script,
            text(dir.path()),
        ],
    );
    assert_eq!(started.code, Some(0), "{started:?}");
    assert_eq!(check(&dir, &pid_file), RUNNING);
    // The PID file names the supervisor; the program is its only child.
    let supervisor = pid_in(&pid_file);
    let program = only_child(supervisor);
    let program_command = fs::read(format!("/proc/{program}/cmdline")).unwrap();
    assert!(
        program_command.starts_with(b"sh\0-c\0"),
        "{program_command:?}"
    );
    // The program inherited the PID file's lock (read-only): the lock lives as long as the
    // program, even if the supervisor were SIGKILLed.
    assert_holds_lock_read_only(program, &pid_file);
    // A second start finds it running.
    let again = control(
        &dir,
        "--start",
        &pid_file,
        &["--", daemonize_tool(), "--", "true"],
    );
    assert_eq!(again.code, Some(ALREADY_DONE), "{again:?}");
    // Reload reaches the program through the supervisor.
    wait_ready(&log);
    let reload = control(&dir, "--reload", &pid_file, &[]);
    assert_eq!(reload.code, Some(0), "{reload:?}");
    wait_for("the program to log SIGHUP", || {
        fs::read_to_string(&log).unwrap_or_default() == "HUP\n"
    });
    assert!(
        is_alive(program),
        "SIGHUP is trapped: the program must still run"
    );
    // Stop ends both and leaves an empty, unlocked PID file.
    let stop = control(&dir, "--stop", &pid_file, &["--timeout", "10"]);
    assert_eq!(stop.code, Some(0), "{stop:?}");
    assert!(
        wait_gone(program, Duration::from_secs(5)),
        "program still runs"
    );
    assert!(wait_gone(supervisor, Duration::from_secs(5)));
    assert_eq!(fs::read(&pid_file).unwrap(), b"");
    assert_eq!(check(&dir, &pid_file), NOT_RUNNING);
    let stop_again = control(&dir, "--stop", &pid_file, &["--timeout", "10"]);
    assert_eq!(stop_again.code, Some(ALREADY_DONE));
    assert_nothing_left(&dir);
}

#[test]
fn supervisor_exits_with_the_program_and_empties_the_pid_file() {
    let dir = TempDir::new("daemonize-status");
    let _cleanup = Cleanup(&dir);
    let pid_file = dir.join("d.pid");
    let go = dir.join("go");
    let script = format!("while [ ! -e {} ]; do sleep 0.02; done; exit 0", text(&go));
    start_shell(&dir, &pid_file, &script);
    let supervisor = pid_in(&pid_file);
    assert_eq!(check(&dir, &pid_file), RUNNING);
    fs::write(&go, "").unwrap();
    assert!(wait_gone(supervisor, Duration::from_secs(5)));
    assert_eq!(fs::read(&pid_file).unwrap(), b"");
    assert_eq!(check(&dir, &pid_file), NOT_RUNNING);
    assert_nothing_left(&dir);
}

#[test]
fn supervised_program_closing_every_descriptor_still_counts_as_running() {
    let dir = TempDir::new("daemonize-closefds");
    let _cleanup = Cleanup(&dir);
    let pid_file = dir.join("d.pid");
    // Close 0–9 (all a POSIX sh can name), then idle.
    let script = format!(
        "exec 0<&- 1>&- 2>&- 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-; exec {}",
        sleeper(&dir)
    );
    start_shell(&dir, &pid_file, &script);
    let supervisor = pid_in(&pid_file);
    let program = only_child(supervisor);
    wait_for_sleeper(program);
    // Descriptors above 9 that the test runner itself inherited may remain; none is ours.
    let open: Vec<i32> = fs::read_dir(format!("/proc/{program}/fd"))
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().parse().unwrap())
        .collect();
    assert!(
        open.iter().all(|&fd| fd > 9),
        "the program still has {open:?} open"
    );
    // It closed the lock's descriptor it inherited too; the supervisor's keeps the lock.
    assert!(!holds(program, &pid_file));
    assert_eq!(check(&dir, &pid_file), RUNNING);
    let stop = control(&dir, "--stop", &pid_file, &["--timeout", "10"]);
    assert_eq!(stop.code, Some(0), "{stop:?}");
    assert!(wait_gone(program, Duration::from_secs(5)));
    assert_eq!(fs::read(&pid_file).unwrap(), b"");
    assert_nothing_left(&dir);
}

#[test]
fn supervised_child_outliving_the_program_is_ended_before_the_pid_file_is_released() {
    let dir = TempDir::new("daemonize-orphan");
    let _cleanup = Cleanup(&dir);
    let pid_file = dir.join("d.pid");
    let orphan_file = dir.join("orphan.pid");
    let go = dir.join("go");
    let script = format!(
        "{} & echo $! > {}; while [ ! -e {} ]; do sleep 0.02; done; exit 0",
        sleeper(&dir),
        text(&orphan_file),
        text(&go)
    );
    start_shell(&dir, &pid_file, &script);
    let supervisor = pid_in(&pid_file);
    assert_eq!(check(&dir, &pid_file), RUNNING);
    wait_for("the program to record its child", || {
        fs::read_to_string(&orphan_file).is_ok_and(|text| text.ends_with('\n'))
    });
    let orphan: i32 = fs::read_to_string(&orphan_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    fs::write(&go, "").unwrap();
    // The supervisor ends what its program left (SIGTERM) before it lets go of the file.
    assert!(wait_gone(supervisor, Duration::from_secs(5)));
    assert!(
        !is_alive(orphan),
        "the program's child outlived the service"
    );
    assert_eq!(check(&dir, &pid_file), NOT_RUNNING);
    assert_eq!(fs::read(&pid_file).unwrap(), b"");
    assert_nothing_left(&dir);
}

#[test]
fn killing_the_supervisor_takes_the_program_down() {
    let dir = TempDir::new("daemonize-kill");
    let _cleanup = Cleanup(&dir);
    let pid_file = dir.join("d.pid");
    let script = format!("trap '' TERM HUP; exec {}", sleeper(&dir));
    start_shell(&dir, &pid_file, &script);
    let supervisor = pid_in(&pid_file);
    let program = only_child(supervisor);
    send(supervisor, rustix::process::Signal::KILL);
    assert!(
        wait_gone(program, Duration::from_secs(5)),
        "the program survived its supervisor"
    );
    // Nobody emptied the PID file: stale.
    assert_eq!(check(&dir, &pid_file), STALE);
    assert_nothing_left(&dir);
}

/// The masks of the `Sig…:` lines a process wrote from its `/proc/self/status` into `path`.
fn signal_masks(path: &Path) -> Vec<(String, u64)> {
    let status = fs::read_to_string(path).unwrap_or_default();
    status
        .lines()
        .filter_map(|line| {
            let (key, value) = line.split_once(":\t")?;
            let mask = u64::from_str_radix(value.trim(), 16).ok()?;
            ["SigBlk", "SigIgn", "SigCgt"]
                .contains(&key)
                .then(|| (key.to_owned(), mask))
        })
        .collect()
}

/// A program started by `ucw-daemonize` from a parent that ignores signals (the supervisor
/// inherits them ignored, and blocks every signal it forwards) starts with every disposition
/// at its default and nothing blocked: only what `/proc/self/status` shows is reset, and it
/// must be everything that differs.
#[test]
fn the_program_inherits_no_ignored_or_blocked_signal() {
    let dir = TempDir::new("daemonize-dispositions");
    let _cleanup = Cleanup(&dir);
    let (pid_file, status) = (dir.join("d.pid"), dir.join("status"));
    let program = format!(
        "cat /proc/self/status > {}.tmp && mv {0}.tmp {0}; exec {}",
        text(&status),
        sleeper(&dir)
    );
    let launched = run(
        &dir,
        "/bin/sh",
        &[
            "-c",
            "trap '' HUP INT QUIT USR1 USR2 PIPE ALRM TERM CHLD; exec \"$@\"",
            "sh",
            daemonize_tool(),
            "--pid-file",
            text(&pid_file),
            "--",
            "sh",
            "-c",
            &program,
        ],
    );
    assert_eq!(launched.code, Some(0), "{launched:?}");
    wait_for("the program's status", || status.exists());
    let masks = signal_masks(&status);
    assert_eq!(masks.len(), 3, "{masks:?}");
    for (key, mask) in masks {
        assert_eq!(mask, 0, "{key} of the program: {mask:#x}");
    }
    let stop = control(&dir, "--stop", &pid_file, &["--timeout", "10"]);
    assert_eq!(stop.code, Some(0), "{stop:?}");
    assert_nothing_left(&dir);
}

#[test]
fn supervisor_forwards_any_signal_to_the_program() {
    let dir = TempDir::new("daemonize-forward");
    let _cleanup = Cleanup(&dir);
    let pid_file = dir.join("d.pid");
    let log = dir.join("usr1.log");
    let script = format!(
        "trap 'echo USR1 >> {0}' USR1; : > {0}.ready; while :; do sleep 0.05; done",
        text(&log)
    );
    start_shell(&dir, &pid_file, &script);
    wait_ready(&log);
    let signal = control(&dir, "--reload", &pid_file, &["--signal", "USR1"]);
    assert_eq!(signal.code, Some(0), "{signal:?}");
    wait_for("the program to log SIGUSR1", || {
        fs::read_to_string(&log).unwrap_or_default() == "USR1\n"
    });
    let stop = control(
        &dir,
        "--stop",
        &pid_file,
        &["--signal", "INT", "--timeout", "10"],
    );
    assert_eq!(stop.code, Some(0), "{stop:?}");
    assert_eq!(fs::read(&pid_file).unwrap(), b"");
    assert_nothing_left(&dir);
}

#[test]
fn exec_failure_exits_102_and_leaves_nothing_running() {
    let dir = TempDir::new("daemonize-execfail");
    let _cleanup = Cleanup(&dir);
    let pid_file = dir.join("d.pid");
    let missing = dir.join("no-such-program");
    let not_executable = dir.join("not-executable");
    fs::write(&not_executable, "#!/bin/sh\n").unwrap();
    let cases = [
        (
            text(&missing).to_string(),
            "ENOENT (No such file or directory)",
        ),
        (
            "ucw-no-such-program-in-path".to_string(),
            "ENOENT (No such file or directory)",
        ),
        (
            text(&not_executable).to_string(),
            "EACCES (Permission denied)",
        ),
    ];
    for exec_mode in [false, true] {
        for (program, reason) in &cases {
            let mut args = vec!["--pid-file", text(&pid_file)];
            if exec_mode {
                args.push("--exec");
            }
            args.extend(["--", program.as_str(), "argument"]);
            let launched = run(&dir, daemonize_tool(), &args);
            assert_eq!(launched.code, Some(ERROR), "{launched:?}");
            assert_eq!(
                launched.stderr,
                format!("ucw-daemonize: Cannot execute {program}: {reason}\n"),
            );
            assert_eq!(fs::read(&pid_file).unwrap(), b"");
            assert_eq!(check(&dir, &pid_file), NOT_RUNNING);
            assert_nothing_left(&dir);
        }
    }
    // Through the controller, the failure names the program and nothing runs.
    let started = control(
        &dir,
        "--start",
        &pid_file,
        &[
            "--",
            daemonize_tool(),
            "--pid-file",
            text(&pid_file),
            "--",
            text(&missing),
        ],
    );
    assert_eq!(started.code, Some(ERROR), "{started:?}");
    assert!(
        started.stderr.contains("Cannot execute"),
        "{}",
        started.stderr
    );
    assert_eq!(check(&dir, &pid_file), NOT_RUNNING);
    assert_nothing_left(&dir);
}

/// Without a PID file nothing will report how the program ends, so the launcher's 0 ("it
/// started") is told in words on stderr: supervised, for a program that fails at once, and
/// with `--exec` (there a program that lives a moment: one that dies before the library's
/// confirmation is that failure instead, 102).
#[test]
fn started_without_pid_file_says_what_it_did() {
    let dir = TempDir::new("daemonize-unwatched");
    let _cleanup = Cleanup(&dir);
    for (mode, program) in [
        (&[][..], &["false"][..]),
        (&["--exec"][..], &["sleep", "3"][..]),
    ] {
        let mut args = mode.to_vec();
        args.push("--");
        args.extend(program);
        let launched = run(&dir, daemonize_tool(), &args);
        assert_eq!(launched.code, Some(RUNNING), "{mode:?}: {launched:?}");
        let prefix = format!(
            "ucw-daemonize: started {} in the background as PID ",
            program[0]
        );
        let pid = launched
            .stderr
            .strip_prefix(&prefix)
            .and_then(|rest| {
                rest.strip_suffix(", with no PID file: nothing will report how it ends\n")
            })
            .and_then(|pid| pid.parse::<i32>().ok())
            .unwrap_or_else(|| panic!("{mode:?}: {launched:?}"));
        assert!(pid > 1, "{mode:?}: {launched:?}");
        assert!(
            wait_gone(pid, Duration::from_secs(6)),
            "{mode:?}: {pid} still runs"
        );
    }
}

#[test]
fn exec_mode_check_reload_stop() {
    let dir = TempDir::new("daemonize-exec");
    let _cleanup = Cleanup(&dir);
    let pid_file = dir.join("d.pid");
    let log = dir.join("hup.log");
    let script = hup_logger(&log);
    let started = control(
        &dir,
        "--start",
        &pid_file,
        &[
            "--",
            daemonize_tool(),
            "--exec",
            "--pid-file",
            text(&pid_file),
            "--",
            "sh",
            "-c",
            &script,
            text(dir.path()),
        ],
    );
    assert_eq!(started.code, Some(0), "{started:?}");
    assert_eq!(check(&dir, &pid_file), RUNNING);
    // No supervisor: the PID file names the program itself, which holds the lock.
    let program = pid_in(&pid_file);
    let program_command = fs::read(format!("/proc/{program}/cmdline")).unwrap();
    assert!(
        program_command.starts_with(b"sh\0-c\0"),
        "{program_command:?}"
    );
    assert!(
        holds(program, &pid_file),
        "the program did not inherit the PID file"
    );
    // Only the lock's read-only description crosses the exec (the write one is the
    // library's, close-on-exec).
    assert_holds_lock_read_only(program, &pid_file);
    wait_ready(&log);
    let reload = control(&dir, "--reload", &pid_file, &[]);
    assert_eq!(reload.code, Some(0), "{reload:?}");
    wait_for("the program to log SIGHUP", || {
        fs::read_to_string(&log).unwrap_or_default() == "HUP\n"
    });
    let stop = control(&dir, "--stop", &pid_file, &["--timeout", "10"]);
    assert_eq!(stop.code, Some(0), "{stop:?}");
    assert!(wait_gone(program, Duration::from_secs(5)));
    assert_eq!(fs::read(&pid_file).unwrap(), b"");
    assert_eq!(check(&dir, &pid_file), NOT_RUNNING);
    assert_nothing_left(&dir);
}

#[test]
fn exec_mode_program_can_drop_the_lock() {
    // The documented cost of --exec: the lock is the program's to keep or lose.
    let dir = TempDir::new("daemonize-exec-drop");
    let _cleanup = Cleanup(&dir);
    let pid_file = dir.join("d.pid");
    let script = format!(
        "exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-; exec {}",
        sleeper(&dir)
    );
    let launched = run(
        &dir,
        daemonize_tool(),
        &[
            "--exec",
            "--pid-file",
            text(&pid_file),
            "--",
            "sh",
            "-c",
            &script,
        ],
    );
    assert_eq!(launched.code, Some(0), "{launched:?}");
    let program = pid_in(&pid_file);
    wait_for_sleeper(program);
    assert_eq!(check(&dir, &pid_file), STALE);
    assert!(is_alive(program));
    send(program, rustix::process::Signal::KILL);
    assert_nothing_left(&dir);
}

#[test]
fn foreground_stays_attached() {
    let dir = TempDir::new("daemonize-foreground");
    let _cleanup = Cleanup(&dir);
    let pid_file = dir.join("never.pid");
    // Supervised in the foreground: the program is the tool's child, output stays on our
    // stdout, the exit status is the program's, and no PID file is written.
    let script = "echo \"parent=$PPID cwd=$(pwd)\"; exit 7";
    let mut command = std::process::Command::new(daemonize_tool());
    command
        .args(["--foreground", "--pid-file", text(&pid_file), "--"])
        .args(["sh", "-c", script])
        .current_dir(dir.path());
    let spawned = harness().spawn(command, dir.path());
    let output = harness().wait(&spawned, Duration::from_secs(10));
    assert_eq!(output.code, Some(7), "{output:?}");
    assert_eq!(
        output.stdout,
        format!("parent={} cwd={}\n", spawned.pid, text(dir.path()))
    );
    assert!(
        !pid_file.exists(),
        "--foreground must not create a PID file"
    );
    // A signal to the tool reaches the program; its death is reported as 128 + signal.
    let mut command = std::process::Command::new(daemonize_tool());
    command.args(["--foreground", "--", "sleep", "30"]);
    let spawned = harness().spawn(command, dir.path());
    only_child(spawned.pid);
    send(spawned.pid, rustix::process::Signal::TERM);
    let output = harness().wait(&spawned, Duration::from_secs(10));
    assert_eq!(output.code, Some(128 + 15), "{output:?}");
    // --exec in the foreground: the tool becomes the program.
    let mut command = std::process::Command::new(daemonize_tool());
    command.args([
        "--foreground",
        "--exec",
        "--",
        "sh",
        "-c",
        "echo $$; exit 5",
    ]);
    let spawned = harness().spawn(command, dir.path());
    let output = harness().wait(&spawned, Duration::from_secs(10));
    assert_eq!(output.code, Some(5), "{output:?}");
    assert_eq!(output.stdout, format!("{}\n", spawned.pid));
    // Exec failure in the foreground is printed by the tool itself.
    let output = run(
        &dir,
        daemonize_tool(),
        &["--foreground", "--", "ucw-no-such-program"],
    );
    assert_eq!(output.code, Some(ERROR));
    assert_eq!(
        output.stderr,
        "ucw-daemonize: Cannot execute ucw-no-such-program: ENOENT (No such file or directory)\n"
    );
}

#[test]
fn usage_help_and_version() {
    let dir = TempDir::new("daemonize-usage");
    for args in [
        &[][..],
        &["--pid-file"][..],
        &["--pid-file", "/tmp/x.pid"][..],
        &["--pid-file", "/tmp/x.pid", "--"][..],
        &["--frobnicate", "--", "true"][..],
        &["-x", "true"][..],
        &["--pid-file=", "--", "true"][..],
        &["--exec=yes", "--", "true"][..],
    ] {
        let output = run(&dir, daemonize_tool(), args);
        assert_eq!(output.code, Some(USAGE), "{args:?}: {output:?}");
        assert!(output.stderr.starts_with("ucw-daemonize: "), "{output:?}");
        assert!(
            output.stderr.contains("\nUsage: ucw-daemonize "),
            "{output:?}"
        );
    }
    let help = run(&dir, daemonize_tool(), &["--help"]);
    assert_eq!(help.code, Some(0));
    for option in [
        "--pid-file",
        "--user",
        "--group",
        "--preserve-cwd",
        "--foreground",
        "--exec",
    ] {
        assert!(help.stdout.contains(option), "--help lacks {option}");
    }
    let version = run(&dir, daemonize_tool(), &["--version"]);
    assert_eq!(version.code, Some(0));
    assert_eq!(
        version.stdout,
        format!("ucw-daemonize {}\n", env!("CARGO_PKG_VERSION"))
    );
    // Options end at the program: its own options are left alone.
    let output = run(
        &dir,
        daemonize_tool(),
        &[
            "--foreground",
            "sh",
            "-c",
            "echo \"$0 $1\"",
            "--exec",
            "--help",
        ],
    );
    assert_eq!(output.code, Some(0), "{output:?}");
    assert_eq!(output.stdout, "--exec --help\n");
}

#[test]
fn errors_before_launch_name_the_problem() {
    let dir = TempDir::new("daemonize-errors");
    let _cleanup = Cleanup(&dir);
    let relative = run(
        &dir,
        daemonize_tool(),
        &["--pid-file", "d.pid", "--", "true"],
    );
    assert_eq!(relative.code, Some(ERROR), "{relative:?}");
    assert!(
        relative.stderr.starts_with("ucw-daemonize: "),
        "{relative:?}"
    );
    let pid_file = dir.join("d.pid");
    let running = run(
        &dir,
        daemonize_tool(),
        &["--pid-file", text(&pid_file), "--", &sleeper(&dir)],
    );
    assert_eq!(running.code, Some(0), "{running:?}");
    let second = run(
        &dir,
        daemonize_tool(),
        &["--pid-file", text(&pid_file), "--", "sleep", "30"],
    );
    assert_eq!(second.code, Some(ERROR));
    assert!(second.stderr.contains("already running"), "{second:?}");
    let unknown = run(
        &dir,
        daemonize_tool(),
        &["--user", "ucw-no-such-user", "--foreground", "--", "true"],
    );
    assert_eq!(unknown.code, Some(ERROR));
    assert!(unknown.stderr.contains("ucw-no-such-user"), "{unknown:?}");
    let stop = control(&dir, "--stop", &pid_file, &["--timeout", "10"]);
    assert_eq!(stop.code, Some(0), "{stop:?}");
}

/// The spec's example daemon, started and stopped by the controller.
#[test]
fn spec_example_daemon() {
    let dir = TempDir::new("daemonize-spec");
    let _cleanup = Cleanup(&dir);
    let pid_file = dir.join("spec.pid");
    let log = dir.join("spec.log");
    let example = common::built_example("spec_daemon");
    // The daemon keeps stderr: send it to a file we can read while it runs.
    let launcher = format!(
        "exec {} {} 2>>{}",
        text(&example),
        text(&pid_file),
        text(&log)
    );
    let started = control(&dir, "--start", &pid_file, &["--", "sh", "-c", &launcher]);
    assert_eq!(started.code, Some(0), "{started:?}");
    let reload = control(&dir, "--reload", &pid_file, &[]);
    assert_eq!(reload.code, Some(0), "{reload:?}");
    wait_for("spec_daemon to log the reload", || {
        fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("SIGHUP received, reloading\n")
    });
    let stop = control(&dir, "--stop", &pid_file, &["--timeout", "10"]);
    assert_eq!(stop.code, Some(0), "{stop:?}");
    assert_eq!(fs::read(&pid_file).unwrap(), b"");
    assert!(fs::read_to_string(&log)
        .unwrap()
        .contains("SIGTERM received, exiting\n"));
}

/// `--user` with a purpose-made account: the tool reads the account files named by
/// `UCW_TEST_PASSWD` / `UCW_TEST_GROUP` (honoured only in `--cfg ucw_failpoints` builds, which
/// tests/run-all makes), so the test never edits `/etc`.
#[test]
#[cfg_attr(
    all(ucw_failpoints, not(ucw_test_as_root)),
    ignore = "needs root: switching to another user and group"
)]
#[cfg_attr(
    not(ucw_failpoints),
    ignore = "needs --cfg ucw_failpoints: tests/run-all runs it"
)]
fn user_switch_sets_ids_groups_and_environment() {
    common::require_root("--user");
    let dir = TempDir::new("daemonize-user");
    let _cleanup = Cleanup(&dir);
    let name = format!("ucwtest{}", std::process::id() % 100_000);
    let passwd = dir.join("passwd");
    let group = dir.join("group");
    fs::write(
        &passwd,
        format!(
            "root:x:0:0:root:/root:/bin/sh\n{name}:x:54321:54320:UCW test:/home/{name}:/bin/sh\n"
        ),
    )
    .unwrap();
    fs::write(
        &group,
        format!(
            "root:x:0:\n{name}:x:54320:\nucwextra:x:54322:someone,{name}\nucwmore:x:54323:{name}\nucwnot:x:54324:someone\n"
        ),
    )
    .unwrap();
    let pid_file = dir.join("u.pid");
    let mut command = std::process::Command::new(daemonize_tool());
    command
        .args(["--pid-file", text(&pid_file), "--user", &name, "--"])
        .args(["sleep", "30"])
        .env("UCW_TEST_PASSWD", &passwd)
        .env("UCW_TEST_GROUP", &group)
        .env("USER", "root")
        .env("LOGNAME", "root")
        .env("HOME", "/root")
        .env("UCW_MARKER", text(dir.path()));
    let spawned = harness().spawn(command, dir.path());
    let launched = harness().wait(&spawned, Duration::from_secs(10));
    assert_eq!(launched.code, Some(0), "{launched:?}");
    let supervisor = pid_in(&pid_file);
    let program = only_child(supervisor);
    for pid in [supervisor, program] {
        let field = |key| common::proc_status_field(pid, key).unwrap();
        assert_eq!(field("Uid"), "54321\t54321\t54321\t54321", "pid {pid}");
        assert_eq!(field("Gid"), "54320\t54320\t54320\t54320", "pid {pid}");
        assert_eq!(field("Groups"), "54320 54322 54323", "pid {pid}");
        assert_eq!(field("CapEff"), "0000000000000000", "pid {pid}");
    }
    let environment = fs::read(format!("/proc/{program}/environ")).unwrap();
    let variables: Vec<String> = environment
        .split(|&byte| byte == 0)
        .filter(|entry| !entry.is_empty())
        .map(|entry| String::from_utf8_lossy(entry).into_owned())
        .collect();
    let home = format!("HOME=/home/{name}");
    let user = format!("USER={name}");
    let logname = format!("LOGNAME={name}");
    for expected in [&user, &logname, &home] {
        assert_eq!(
            variables.iter().filter(|entry| *entry == expected).count(),
            1,
            "{expected} in {variables:?}"
        );
    }
    for stale in ["USER=root", "LOGNAME=root", "HOME=/root"] {
        assert!(
            !variables.iter().any(|entry| entry == stale),
            "{variables:?}"
        );
    }
    let marker = format!("UCW_MARKER={}", text(dir.path()));
    assert!(variables.contains(&marker), "{variables:?}");
    let stop = control(&dir, "--stop", &pid_file, &["--timeout", "10"]);
    assert_eq!(stop.code, Some(0), "{stop:?}");
    assert!(wait_gone(program, Duration::from_secs(5)));
    assert_nothing_left(&dir);

    // In the foreground the tool switches too; an explicit group replaces the primary one
    // and stays among the supplementary groups.
    let report = "grep -E '^(Uid|Gid|Groups):' /proc/self/status; echo \"$USER $LOGNAME $HOME\"";
    let mut command = std::process::Command::new(daemonize_tool());
    command
        .args(["--foreground", "--user", &name, "--group", "ucwextra", "--"])
        .args(["sh", "-c", report])
        .env("UCW_TEST_PASSWD", &passwd)
        .env("UCW_TEST_GROUP", &group);
    let spawned = harness().spawn(command, dir.path());
    let output = harness().wait(&spawned, Duration::from_secs(10));
    assert_eq!(output.code, Some(0), "{output:?}");
    let lines: Vec<&str> = output.stdout.lines().map(str::trim_end).collect();
    assert_eq!(
        lines,
        [
            "Uid:\t54321\t54321\t54321\t54321",
            "Gid:\t54322\t54322\t54322\t54322",
            "Groups:\t54322 54323",
            &format!("{name} {name} /home/{name}"),
        ],
        "{output:?}"
    );

    // More inherited variables than the rewritten environment can hold: a clear error,
    // nothing started, the PID file left empty.
    let mut command = std::process::Command::new(daemonize_tool());
    command
        .args(["--pid-file", text(&pid_file), "--user", &name, "--"])
        .args(["sleep", "30"])
        .env("UCW_TEST_PASSWD", &passwd)
        .env("UCW_TEST_GROUP", &group);
    for index in 0..1100 {
        command.env(format!("UCW_FILLER_{index}"), "x");
    }
    let spawned = harness().spawn(command, dir.path());
    let output = harness().wait(&spawned, Duration::from_secs(10));
    assert_eq!(output.code, Some(ERROR), "{output:?}");
    assert_eq!(
        output.stderr,
        "ucw-daemonize: Cannot pass the environment on: more than 1024 variables\n"
    );
    assert_eq!(fs::read(&pid_file).unwrap(), b"");
    assert_eq!(check(&dir, &pid_file), NOT_RUNNING);
}

/// A passwd line with the home directory and shell left out, as glibc, `getent` and `id`
/// accept it (`nohome:x:4243:4243::`): the user switch works, `USER` and `LOGNAME` name the
/// user, and `HOME` is not set (an inherited one is removed, never passed on).
#[test]
#[cfg_attr(
    all(ucw_failpoints, not(ucw_test_as_root)),
    ignore = "needs root: switching to another user"
)]
#[cfg_attr(
    not(ucw_failpoints),
    ignore = "needs --cfg ucw_failpoints: tests/run-all runs it"
)]
fn a_passwd_entry_without_home_or_shell_leaves_home_unset() {
    common::require_root("--user");
    let dir = TempDir::new("daemonize-nohome");
    let passwd = dir.join("passwd");
    let group = dir.join("group");
    fs::write(
        &passwd,
        "root:x:0:0:root:/root:/bin/sh\nnohome:x:4243:4243::\n",
    )
    .unwrap();
    fs::write(&group, "root:x:0:\n").unwrap();
    let report = "echo \"$(id -u) $(id -G) $USER $LOGNAME ${HOME-unset}\"";
    let mut command = std::process::Command::new(daemonize_tool());
    command
        .args(["--foreground", "--user", "nohome", "--"])
        .args(["sh", "-c", report])
        .env("UCW_TEST_PASSWD", &passwd)
        .env("UCW_TEST_GROUP", &group)
        .env("USER", "root")
        .env("LOGNAME", "root")
        .env("HOME", "/root");
    let spawned = harness().spawn(command, dir.path());
    let output = harness().wait(&spawned, Duration::from_secs(10));
    assert_eq!(output.code, Some(0), "{output:?}");
    assert_eq!(
        output.stdout, "4243 4243 nohome nohome unset\n",
        "{output:?}"
    );
}

#[test]
fn without_a_pid_file_the_program_still_runs_supervised() {
    // LibUCW's PID file is optional; without one there is nothing to control, but the
    // launcher still confirms the exec and the supervisor still forwards signals.
    let dir = TempDir::new("daemonize-nopidfile");
    let _cleanup = Cleanup(&dir);
    let ready = dir.join("ready");
    let log = dir.join("hup.log");
    // The trap is set before the program says it is ready.
    let script = format!(
        "trap 'echo HUP >> {}' HUP; echo $PPID > {}; while :; do sleep 0.05; done",
        text(&log),
        text(&ready)
    );
    let launched = run(
        &dir,
        daemonize_tool(),
        &["--", "sh", "-c", &script, text(dir.path())],
    );
    assert_eq!(launched.code, Some(0), "{launched:?}");
    let mut supervisor = 0;
    wait_for("the program to start", || {
        supervisor = fs::read_to_string(&ready)
            .unwrap_or_default()
            .trim()
            .parse()
            .unwrap_or(0);
        supervisor > 0
    });
    send(supervisor, rustix::process::Signal::HUP);
    wait_for("the program to log SIGHUP", || {
        fs::read_to_string(&log).unwrap_or_default() == "HUP\n"
    });
    send(supervisor, rustix::process::Signal::TERM);
    assert_nothing_left(&dir);
}
