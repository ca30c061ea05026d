//! The real `ucw-daemon-control` executable: usage errors, `--help`/`--version`, LibUCW's exit
//! codes end to end against a fixture daemon (tests/fixtures/cli_daemon.rs), the syscall
//! budget of `--check`, and the static, interpreter-free shape of the binary.

mod common;
mod fixture_programs;

use common::{control_tool, harness, Output, TempDir};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// `<target>/<profile>/examples/<name>`: a fixture program, built first if this test run did
/// not build it (through the harness, whose reaper would steal a plain wait's status).
fn example(name: &str) -> PathBuf {
    fixture_programs::example(name, |command| {
        let logs = TempDir::new("cli-build-fixtures");
        let spawned = harness().spawn(command, logs.path());
        let built = harness().wait(&spawned, Duration::from_secs(600));
        match built.code {
            Some(0) => Ok(()),
            _ => Err(format!("{built:?}")),
        }
    })
}

fn tool(dir: &TempDir, args: &[&str]) -> Output {
    harness().run(control_tool(), args, dir.path())
}

fn tool_with_env(dir: &TempDir, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(control_tool());
    command.args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    let spawned = harness().spawn(command, dir.path());
    harness().wait(&spawned, Duration::from_secs(30))
}

fn assert_usage_error(output: &Output, message: &str) {
    assert_eq!(output.code, Some(1), "{output:?}");
    assert!(output.stdout.is_empty(), "{output:?}");
    let mut lines = output.stderr.lines();
    assert_eq!(
        lines.next(),
        Some(format!("ucw-daemon-control: {message}").as_str())
    );
    assert!(
        lines
            .next()
            .is_some_and(|line| line.starts_with("Usage: ucw-daemon-control --start|--stop")),
        "{output:?}"
    );
}

#[test]
fn usage_errors_exit_1_with_a_message() {
    let dir = TempDir::new("cli-usage");
    assert_usage_error(
        &tool(&dir, &[]),
        "one of --start --stop --restart --check --reload is required",
    );
    assert_usage_error(&tool(&dir, &["--check"]), "--pid-file is required");
    assert_usage_error(
        &tool(&dir, &["--st", "--pid-file=x.pid"]),
        "option '--st' is ambiguous; possibilities: '--start' '--stop'",
    );
    assert_usage_error(
        &tool(&dir, &["--check", "--pid-file", "daemon"]),
        "For automatic choice of --guard-file, the --pid-file must end with `.pid'",
    );
    assert_usage_error(
        &tool(&dir, &["--start", "--pid-file=x.pid"]),
        "--start needs the daemon's command",
    );
    assert_usage_error(
        &tool(&dir, &["--reload", "--pid-file=x.pid", "--signal=NOPE"]),
        "Unknown signal 'NOPE'",
    );
    assert_usage_error(
        &tool(&dir, &["--check", "--pid-file"]),
        "option '--pid-file' requires an argument",
    );
    assert_usage_error(
        &tool(&dir, &["--check", "--pid-file=x.pid", "--timeout=-1"]),
        "invalid --timeout '-1'",
    );
    assert_usage_error(&tool(&dir, &["-h"]), "invalid option -- 'h'");
    // Nothing was created by a refused command line.
    assert!(!dir.join("x.lock").exists());
}

#[test]
fn help_and_version() {
    let dir = TempDir::new("cli-help");
    let help = tool(&dir, &["--help"]);
    assert_eq!(help.code, Some(0));
    assert!(help.stderr.is_empty());
    assert!(help.stdout.starts_with(
        "Usage: ucw-daemon-control --start|--stop|--restart|--check|--reload --pid-file FILE"
    ));
    for option in [
        "--start",
        "--stop",
        "--restart",
        "--check",
        "--reload",
        "--pid-file",
        "--guard-file",
        "--signal",
        "--timeout",
        "--kill-after-timeout",
        "--verbose",
        "--version",
        "102 error",
        "103 stale",
    ] {
        assert!(help.stdout.contains(option), "help lacks {option}");
    }
    let version = tool(&dir, &["--vers"]);
    assert_eq!(version.code, Some(0));
    assert_eq!(
        version.stdout,
        concat!("ucw-daemon-control ", env!("CARGO_PKG_VERSION"), "\n")
    );
}

/// A fixture daemon's files in a private directory.
struct Daemon {
    dir: TempDir,
}

impl Daemon {
    fn new(label: &str) -> Self {
        Self {
            dir: TempDir::new(label),
        }
    }

    fn pid_file(&self) -> String {
        self.dir.join("d.pid").to_string_lossy().into_owned()
    }

    fn marker(&self) -> String {
        std::fs::read_to_string(self.dir.join("marker")).unwrap_or_default()
    }

    /// Runs the tool with `args` followed by `--pid-file <d.pid>`.
    fn control(&self, args: &[&str]) -> Output {
        let pid_file = self.pid_file();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--pid-file", &pid_file]);
        tool(&self.dir, &all)
    }

    fn start(&self, env: &[(&str, &str)]) -> Output {
        let pid_file = self.pid_file();
        let fixture = example("fixture_cli_daemon");
        let marker = self.dir.join("marker");
        tool_with_env(
            &self.dir,
            &[
                "--start",
                "--pid-file",
                &pid_file,
                "--",
                fixture.to_str().unwrap(),
                &pid_file,
                marker.to_str().unwrap(),
            ],
            env,
        )
    }

    fn pid(&self) -> i32 {
        std::fs::read_to_string(self.pid_file())
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(text) = std::fs::read_to_string(self.pid_file()) {
            if let Ok(pid) = text.trim().parse::<i32>() {
                if common::is_alive(pid) {
                    // A failed test may leave the daemon behind; do not leak it.
                    let _ = rustix::process::kill_process(
                        rustix::process::Pid::from_raw(pid).unwrap(),
                        rustix::process::Signal::KILL,
                    );
                }
            }
        }
    }
}

fn assert_code(output: &Output, code: i32) {
    assert_eq!(output.code, Some(code), "{output:?}");
}

#[test]
fn exit_codes_end_to_end() {
    let daemon = Daemon::new("cli-e2e");
    assert_code(&daemon.control(&["--check"]), 101);
    assert_code(&daemon.control(&["--stop"]), 100);
    assert_code(&daemon.control(&["--reload"]), 101);
    let started = daemon.start(&[("UCW_TEST_MARK", "from-the-tool")]);
    assert_code(&started, 0);
    assert!(started.stderr.is_empty(), "{started:?}");
    let pid = daemon.pid();
    assert!(common::is_alive(pid));
    assert!(daemon.dir.join("d.lock").exists(), "default guard file");
    assert_code(&daemon.control(&["--check"]), 0);
    assert_code(&daemon.start(&[]), 100);
    // Two pending SIGHUPs merge into one: send the second only after the first was seen.
    let wait_for_hups = |count: usize| {
        let deadline = std::time::Instant::now() + common::margin(Duration::from_secs(5));
        while daemon.marker().matches("HUP").count() < count && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    assert_code(&daemon.control(&["--reload"]), 0);
    wait_for_hups(1);
    assert_code(&daemon.control(&["--signal", "SIGHUP", "--reload"]), 0);
    wait_for_hups(2);
    // The daemon got the tool's own environment.
    assert_eq!(daemon.marker(), "env=from-the-tool\nHUP\nHUP\n");
    assert_code(&daemon.control(&["--stop", "--timeout=5"]), 0);
    assert!(common::wait_gone(pid, Duration::from_secs(5)));
    assert_code(&daemon.control(&["--check"]), 101);
    assert_code(&daemon.control(&["--stop"]), 100);
}

#[test]
fn stale_and_error_codes_end_to_end() {
    let daemon = Daemon::new("cli-stale");
    std::fs::write(daemon.pid_file(), "12345\n").unwrap();
    assert_code(&daemon.control(&["--check"]), 103);
    assert_code(&daemon.control(&["--stop"]), 103);
    // An unlaunchable daemon: ERROR, with the message after the program name.
    let output = tool(
        &daemon.dir,
        &[
            "--start",
            "--pid-file",
            &daemon.pid_file(),
            "/nonexistent/daemon",
        ],
    );
    assert_code(&output, 102);
    assert!(
        output.stderr.starts_with("ucw-daemon-control: ")
            && output.stderr.contains("/nonexistent/daemon")
            && output.stderr.ends_with('\n')
            && output.stderr.lines().count() == 1,
        "{output:?}"
    );
    // A PID file in a missing directory: the guard cannot be created.
    let output = tool(
        &daemon.dir,
        &["--check", "--pid-file", "/nonexistent/dir/d.pid"],
    );
    assert_code(&output, 102);
    assert!(
        output.stderr.starts_with("ucw-daemon-control: Cannot ")
            && output.stderr.contains("ENOENT"),
        "{output:?}"
    );
}

/// Runs `strace -f -o <file>` on the tool and returns the traced system calls, one per line.
fn traced_syscalls(dir: &TempDir, args: &[&str]) -> Vec<String> {
    let trace = dir.join("trace");
    let mut all = vec!["-f", "-o", trace.to_str().unwrap(), control_tool()];
    all.extend_from_slice(args);
    let strace = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|directory| directory.join("strace"))
        .find(|candidate| candidate.is_file())
        .expect("strace is needed for this test: install it (apt-get install strace)");
    let output = harness().run(strace, &all, dir.path());
    assert!(output.code.is_some(), "strace failed: {output:?}");
    std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        // `strace -f -o` prefixes each line with the pid.
        .map(|line| line.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' '))
        .filter(|line| !line.starts_with("+++") && !line.starts_with("---"))
        .map(str::to_string)
        .collect()
}

#[test]
fn check_makes_at_most_10_system_calls() {
    let daemon = Daemon::new("cli-strace");
    assert_code(&daemon.start(&[]), 0);
    let pid_file = daemon.pid_file();
    for expected_code in [0, 101] {
        let calls = traced_syscalls(&daemon.dir, &["--check", "--pid-file", &pid_file]);
        assert!(calls[0].starts_with("execve("), "{calls:#?}");
        assert!(
            calls
                .last()
                .unwrap()
                .starts_with(&format!("exit_group({expected_code})")),
            "{calls:#?}"
        );
        // 10 for root's files (the ordinary case: /run, started by root); a non-root
        // caller's own files each need a geteuid (not cached: a library caller may change
        // its uid between two calls).
        let budget = if rustix::process::geteuid().is_root() {
            10
        } else {
            12
        };
        assert!(
            calls.len() <= budget,
            "{} system calls: {calls:#?}",
            calls.len()
        );
        if expected_code == 0 {
            assert_code(&daemon.control(&["--stop"]), 0);
        }
    }
}

#[test]
fn binary_is_static_without_interpreter() {
    let dir = TempDir::new("cli-elf");
    let output = harness().run("readelf", ["-lW", control_tool()], dir.path());
    assert_eq!(
        output.code,
        Some(0),
        "readelf is needed (binutils): {output:?}"
    );
    assert!(output.stdout.contains("LOAD"), "{}", output.stdout);
    for forbidden in ["INTERP", "DYNAMIC"] {
        assert!(
            !output.stdout.contains(forbidden),
            "{forbidden} segment in {}:\n{}",
            control_tool(),
            output.stdout
        );
    }
}

#[test]
#[cfg_attr(
    not(ucw_failpoints),
    ignore = "needs --cfg ucw_failpoints: tests/run-all runs it"
)]
fn failpoint_armed_from_the_environment() {
    let dir = TempDir::new("cli-failpoint");
    let pid_file = dir.join("d.pid");
    let mut command = Command::new(control_tool());
    command
        .args(["--check", "--pid-file", pid_file.to_str().unwrap()])
        .env("UCW_FAILPOINT", "control-tool-parsed");
    let spawned = harness().spawn(command, dir.path());
    wait_until_stopped(spawned.pid);
    // Stopped after parsing, before the action: the guard file does not exist yet.
    assert!(!dir.join("d.lock").exists());
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(spawned.pid).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    let output = harness().wait(&spawned, Duration::from_secs(10));
    assert_eq!(output.signal, Some(9), "{output:?}");
}

/// START of a foreground program (a shell that becomes `sleep 30`) with deadline `timeout`.
fn start_foreground_program(dir: &TempDir, pid_file: &str, timeout: &str) -> Output {
    let arguments = [
        "--start",
        "--pid-file",
        pid_file,
        "--timeout",
        timeout,
        "--",
    ];
    tool(
        dir,
        &[&arguments[..], &["sh", "-c", "exec sleep 30"]].concat(),
    )
}

/// A foreground program started directly (no `ucw-daemonize`) runs until START's deadline and
/// never locks the PID file: the error says it looks like one and names the way out, and
/// START kills it (the launcher itself, after the `exec`).
#[test]
fn a_foreground_program_past_the_deadline_is_named_as_one() {
    let dir = TempDir::new("cli-foreground");
    let pid_file = dir.join("d.pid");
    let pid_file = pid_file.to_str().unwrap();
    // Built (when needed) before the clock starts.
    control_tool();
    let began = std::time::Instant::now();
    let started = start_foreground_program(&dir, pid_file, "1");
    assert_eq!(started.code, Some(102), "{started:?}");
    assert_eq!(
        started.stderr,
        format!(
            "ucw-daemon-control: sh did not finish within 1 s and never locked the PID file \
             {pid_file}: it looks like a foreground program (ucw-daemonize puts one under the \
             protocol)\n"
        ),
    );
    // The deadline, then the launcher killed and reaped at once (nothing locked the file).
    assert!(
        began.elapsed() < Duration::from_secs(1) + common::margin(Duration::from_secs(2)),
        "{:?}",
        began.elapsed()
    );
    let check = tool(&dir, &["--check", "--pid-file", pid_file]);
    assert_eq!(check.code, Some(101), "{check:?}");
}

/// The same foreground program with a deadline past the hint's two seconds: a hint on stderr
/// while START still waits, once, then the deadline's error. A `ucw-daemonize` launcher whose
/// program is slow to get ready locks the PID file first and gets no hint. A stderr nobody
/// reads any more does not end START half-way.
#[test]
fn a_foreground_program_gets_a_hint_while_start_waits() {
    let dir = TempDir::new("cli-hint");
    let pid_file = dir.join("d.pid");
    let pid_file = pid_file.to_str().unwrap();
    control_tool();
    let began = std::time::Instant::now();
    let started = start_foreground_program(&dir, pid_file, "4");
    let elapsed = began.elapsed();
    assert_eq!(started.code, Some(102), "{started:?}");
    assert_eq!(
        started.stderr,
        format!(
            "ucw-daemon-control: sh has run for 2 s without locking the PID file {pid_file}: it \
             looks like a foreground program (ucw-daemonize puts one under the protocol); still \
             waiting\n\
             ucw-daemon-control: sh did not finish within 4 s and never locked the PID file \
             {pid_file}: it looks like a foreground program (ucw-daemonize puts one under the \
             protocol)\n"
        ),
    );
    assert!(elapsed >= Duration::from_secs(4), "{elapsed:?}");

    // Ready after three seconds (a newline on descriptor 3): locked all along, no hint.
    let started = tool(
        &dir,
        &[
            "--start",
            "--pid-file",
            pid_file,
            "--timeout",
            "30",
            "--",
            common::daemonize_tool(),
            "--pid-file",
            pid_file,
            "--notify-fd",
            "3",
            "--",
            "sh",
            "-c",
            "sleep 3; echo >&3; exec sleep 30",
        ],
    );
    assert_eq!(started.code, Some(0), "{started:?}");
    assert_eq!(started.stderr, "", "{started:?}");
    let stopped = tool(&dir, &["--stop", "--pid-file", pid_file, "--timeout", "30"]);
    assert_eq!(stopped.code, Some(0), "{stopped:?}");

    // The hint written to a stderr whose reader has gone: EPIPE, not SIGPIPE; START still
    // ends the program at its deadline and answers 102.
    let marker = dir.join("program.pid");
    let script = format!("echo $$ > {}; exec sleep 30", marker.display());
    let piped = harness().run(
        "bash",
        [
            "-c",
            r#""$@" 2>&1 >/dev/null | true; echo "${PIPESTATUS[0]}""#,
            "bash",
            control_tool(),
            "--start",
            "--pid-file",
            pid_file,
            "--timeout",
            "3",
            "--",
            "sh",
            "-c",
            &script,
        ],
        dir.path(),
    );
    assert_eq!(piped.stdout, "102\n", "{piped:?}");
    let program: i32 = std::fs::read_to_string(&marker)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        common::wait_gone(program, Duration::from_secs(5)),
        "the program {program} outlived START"
    );
}

/// Waits (bounded) until process `pid` is stopped (state `T`, a fail point's SIGSTOP).
fn wait_until_stopped(pid: i32) {
    let deadline = std::time::Instant::now() + common::margin(Duration::from_secs(10));
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        if stat.rsplit(')').next().unwrap().split_whitespace().next() == Some("T") {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never stopped: {stat}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A program under `ucw-daemonize` that ends before START has looked at the PID file: START
/// is held (fail point `control-launcher-exited`) after its launcher exited until the
/// supervisor has let go of the PID file, and then reports how the program ended, exit
/// status or signal, with 102. The record it read is that start's alone: `--check --json`
/// and a later START ignore it.
#[test]
#[cfg_attr(
    not(ucw_failpoints),
    ignore = "needs --cfg ucw_failpoints: tests/run-all runs it"
)]
fn a_program_that_ends_right_after_its_start_is_reported() {
    for (program, said) in [
        ("exit 3", "exited with status 3"),
        ("kill -9 $$", "was killed by signal 9 (KILL)"),
    ] {
        let dir = TempDir::new("cli-ended-at-once");
        let pid_file = dir.join("d.pid");
        let pid_file = pid_file.to_str().unwrap();
        let mut command = Command::new(control_tool());
        command
            .args(["--start", "--pid-file", pid_file, "--timeout", "30", "--"])
            .args([common::daemonize_tool(), "--pid-file", pid_file])
            .args(["--", "sh", "-c", program])
            .env("UCW_FAILPOINT", "control-launcher-exited");
        let spawned = harness().spawn(command, dir.path());
        wait_until_stopped(spawned.pid);
        // The supervisor records the end and lets go of the PID file.
        let deadline = std::time::Instant::now() + common::margin(Duration::from_secs(10));
        let file = rustix::fs::open(
            pid_file,
            rustix::fs::OFlags::RDONLY,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
        while rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockShared).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the PID file stayed locked"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(file);
        rustix::process::kill_process(
            rustix::process::Pid::from_raw(spawned.pid).unwrap(),
            rustix::process::Signal::CONT,
        )
        .unwrap();
        let started = harness().wait(&spawned, Duration::from_secs(30));
        assert_eq!(started.code, Some(102), "{started:?}");
        assert_eq!(
            started.stderr,
            format!("ucw-daemon-control: the daemon's program {said} right after it started\n"),
        );
        let check = tool(&dir, &["--check", "--pid-file", pid_file]);
        assert_eq!(check.code, Some(101), "{check:?}");
        // The record stays in the status file; it belongs to that start alone.
        let status = std::fs::read_to_string(format!("{pid_file}.status")).unwrap();
        assert!(status.contains("controller_pipe="), "{status}");
        let report = tool(&dir, &["--check", "--json", "--pid-file", pid_file]);
        assert_eq!(report.code, Some(101), "{report:?}");
        assert!(report.stdout.contains(r#""last_exit":null"#), "{report:?}");
        let started = tool(&dir, &["--start", "--pid-file", pid_file, "--", "true"]);
        assert_eq!(started.code, Some(102), "{started:?}");
        assert_eq!(
            started.stderr,
            format!("ucw-daemon-control: daemon did not lock its PID file {pid_file}\n"),
        );
    }
}
