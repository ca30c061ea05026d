//! The `/etc/init.d`-style script of `examples/service/` run as a service manager would run
//! it, against the tools built for this test run: start, status, reload, stop, and the LSB
//! status codes (0 running, 3 not running, 1 dead with a PID file left behind).

mod common;

use common::{harness, wait_gone, Output, TempDir};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The script under test.
fn init_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/service/init.d-ucw-example")
}

/// Runs `sh init.d-ucw-example <verb>` with the settings of this test.
fn service(dir: &TempDir, daemon: &Path, verb: &str) -> Output {
    let tools = common::tools_dir();
    let mut command = Command::new("sh");
    command
        .arg(init_script())
        .arg(verb)
        .env("UCW_BIN", tools)
        .env("NAME", "ucw-example")
        .env("PIDFILE", dir.join("ucw-example.pid"))
        .env("DAEMON", daemon)
        .env("STOP_TIMEOUT", "10");
    let spawned = harness().spawn(command, dir.path());
    harness().wait(&spawned, Duration::from_secs(30))
}

/// Polls `condition` for up to 5 s (a scaled margin).
fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + common::margin(Duration::from_secs(5));
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Asserts an exit code and a line of output.
#[track_caller]
fn expect(output: &Output, code: i32, line: &str) {
    assert_eq!(output.code, Some(code), "{output:?}");
    assert!(
        output.stdout.contains(line) || output.stderr.contains(line),
        "expected {line:?} in {output:?}"
    );
}

/// Sends `signal` to `pid` (to process group `-pid` when negative), ignoring a process that
/// is already gone.
fn send(pid: i32, signal: rustix::process::Signal) {
    let target = rustix::process::Pid::from_raw(pid.abs()).unwrap();
    let _ = if pid < 0 {
        rustix::process::kill_process_group(target, signal)
    } else {
        rustix::process::kill_process(target, signal)
    };
}

/// The process group of `pid` (field 5 of `/proc/<pid>/stat`).
fn process_group(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')')
        .next()?
        .split_whitespace()
        .nth(2)?
        .parse()
        .ok()
}

/// The live (not zombie) processes of process group `group`.
fn members_of_group(group: i32) -> Vec<i32> {
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| entry.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|&pid| process_group(pid) == Some(group) && common::is_alive(pid))
        .collect()
}

/// Kills (SIGKILL) every process whose command line names `dir`, when the test ends, even
/// when it fails: the daemon's program is a script inside it.
struct Cleanup<'a>(&'a TempDir);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let needle = self.0.path().to_string_lossy().into_owned();
        for entry in fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let command_line = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&command_line).contains(&needle) {
                send(pid, rustix::process::Signal::KILL);
            }
        }
    }
}

#[test]
fn init_script_start_status_reload_stop() {
    let dir = TempDir::new("initd");
    let _cleanup = Cleanup(&dir);
    let pid_file = dir.join("ucw-example.pid");
    let log = dir.join("hup.log");
    // A foreground program that logs reloads; DAEMON is word-split, so it is a script file.
    let daemon = dir.join("example-daemon");
    fs::write(
        &daemon,
        format!(
            "#!/bin/sh\ntrap 'echo HUP >> {0}' HUP\n: > {0}.ready\nwhile :; do sleep 0.05; done\n",
            log.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&daemon, fs::Permissions::from_mode(0o755)).unwrap();

    expect(
        &service(&dir, &daemon, "status"),
        3,
        "ucw-example is not running",
    );
    expect(
        &service(&dir, &daemon, "reload"),
        1,
        "ucw-example is not running",
    );
    expect(&service(&dir, &daemon, "start"), 0, "ucw-example started");
    expect(
        &service(&dir, &daemon, "status"),
        0,
        "ucw-example is running",
    );
    expect(
        &service(&dir, &daemon, "start"),
        0,
        "ucw-example already running",
    );
    let supervisor: i32 = fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let ready = dir.join("hup.log.ready");
    wait_for("the program to set its trap", || ready.exists());
    expect(&service(&dir, &daemon, "reload"), 0, "ucw-example reloaded");
    wait_for("the program to log SIGHUP", || {
        fs::read_to_string(&log).unwrap_or_default() == "HUP\n"
    });
    expect(&service(&dir, &daemon, "stop"), 0, "ucw-example stopped");
    assert!(wait_gone(supervisor, Duration::from_secs(5)));
    assert_eq!(fs::read(&pid_file).unwrap(), b"");
    expect(
        &service(&dir, &daemon, "status"),
        3,
        "ucw-example is not running",
    );
    expect(
        &service(&dir, &daemon, "stop"),
        0,
        "ucw-example was not running",
    );

    // Killed without cleaning up (supervisor and program): the PID file is stale, LSB 1.
    expect(&service(&dir, &daemon, "start"), 0, "ucw-example started");
    let supervisor: i32 = fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let program: i32 = fs::read_to_string(format!("/proc/{supervisor}/task/{supervisor}/children"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The program leads a process group of its own, and it and its children (the shell's
    // `sleep`) inherit the lock: the whole daemon is the supervisor and that group.
    assert_eq!(
        process_group(program),
        Some(program),
        "program's process group"
    );
    // The supervisor first: killed second, it could reap the program and empty the file.
    send(supervisor, rustix::process::Signal::KILL);
    send(-program, rustix::process::Signal::KILL);
    assert!(wait_gone(supervisor, Duration::from_secs(5)));
    wait_for("every process of the program's group to go", || {
        members_of_group(program).is_empty()
    });
    expect(
        &service(&dir, &daemon, "status"),
        1,
        "ucw-example is dead but its PID file exists",
    );
    // restart = stop (stale: nothing to stop) then start, which replaces the stale file.
    expect(&service(&dir, &daemon, "restart"), 0, "ucw-example started");
    expect(
        &service(&dir, &daemon, "status"),
        0,
        "ucw-example is running",
    );
    expect(&service(&dir, &daemon, "stop"), 0, "ucw-example stopped");
    expect(
        &service(&dir, &daemon, "status"),
        3,
        "ucw-example is not running",
    );

    let usage = service(&dir, &daemon, "frobnicate");
    assert_eq!(usage.code, Some(2), "{usage:?}");
    assert!(usage.stderr.contains("Usage:"), "{usage:?}");
}
