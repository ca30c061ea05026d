//! What people expect of a service starter: readiness (`--notify-fd`,
//! `--notify-socket`) that START waits for, and what happens when a program is never ready;
//! output files; `--restart` under one hold of the guard; `--verbose`; the man pages.

mod common;

use common::{
    check, control_tool, daemonize_tool, eventually, fixture as example, harness, is_alive,
    reported, run_control as control, start_hostile as start_with, stop, text, wait_gone, TempDir,
};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A TCP port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts a program that binds its port only after 0.5 s and then says it is ready, with
/// `options` (the readiness protocol); a connect right after START returns must succeed.
fn ready_means_serving(label: &str, options: &[&str], target: &str) {
    let dir = TempDir::new(label);
    let pid = dir.join("d.pid");
    for round in 0..3 {
        let port = free_port();
        let listen = format!("listen={port}");
        let ready = format!("ready-after=500,{target}");
        let began = Instant::now();
        let started = start_with(&dir, &pid, &[], options, &[&listen, &ready]);
        assert_eq!(started.code, Some(0), "round {round}: {started:?}");
        assert!(
            began.elapsed() >= Duration::from_millis(500),
            "START returned before readiness"
        );
        let connected = std::net::TcpStream::connect(("127.0.0.1", port));
        assert!(connected.is_ok(), "round {round}: {connected:?}");
        assert_eq!(stop(&dir, &pid), Some(0));
    }
}

#[test]
fn notify_fd_readiness_means_the_program_serves() {
    ready_means_serving("notify-fd", &["--notify-fd", "3"], "3");
}

#[test]
fn notify_socket_readiness_means_the_program_serves() {
    ready_means_serving("notify-socket", &["--notify-socket"], "socket");
}

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: --user switches to another user"
)]
fn notify_socket_readiness_works_after_the_user_switch() {
    common::require_root("--user");
    ready_means_serving(
        "notify-socket-user",
        &["--notify-socket", "--user", "#65534", "--group", "#65534"],
        "socket",
    );
}

#[test]
fn a_program_that_exits_before_it_is_ready_leaves_nothing_behind() {
    let dir = TempDir::new("not-ready-exit");
    let pid = dir.join("d.pid");
    let program = text(&example("fixture_hostile_program")).to_owned();
    let started = start_with(&dir, &pid, &[], &["--notify-fd", "3"], &["exit-after=200"]);
    assert_eq!(started.code, Some(102), "{started:?}");
    // The launcher's line (it inherited the controller's stderr), then the controller's.
    assert_eq!(
        started.stderr,
        format!(
            "ucw-daemonize: {program} exited with status 0 before it was ready\n\
             ucw-daemon-control: {} could not start the daemon (exit status 102)\n",
            daemonize_tool()
        )
    );
    assert_eq!(check(&dir, &pid), Some(101));
    assert_eq!(std::fs::read(&pid).unwrap(), b"");
    // The launcher itself says what happened.
    for (word, what) in [
        ("exit-after=200", "exited with status 0"),
        ("close-notify=3", "closed its notification channel"),
    ] {
        let run = harness().run(
            daemonize_tool(),
            [
                "--pid-file",
                text(&pid),
                "--notify-fd",
                "3",
                "--",
                &program,
                word,
            ],
            dir.path(),
        );
        assert_eq!(run.code, Some(102));
        assert_eq!(
            run.stderr,
            format!("ucw-daemonize: {program} {what} before it was ready\n")
        );
    }
    assert_eq!(check(&dir, &pid), Some(101));
}

#[test]
fn a_readiness_timeout_leaves_nothing_running() {
    let dir = TempDir::new("ready-timeout");
    let (pid, report) = (dir.join("d.pid"), dir.join("report"));
    let report_word = format!("report={}", text(&report));
    let began = Instant::now();
    let started = start_with(
        &dir,
        &pid,
        &["--timeout", "1"],
        &["--notify-fd", "3"],
        &[&report_word],
    );
    // The deadline (1 s), then at most 1 s for what START gave up on to let go of the PID
    // file, plus a margin.
    assert!(
        began.elapsed() < Duration::from_secs(2) + common::margin(Duration::from_secs(1)),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(started.code, Some(102), "{started:?}");
    assert!(
        started.stderr.contains("did not finish within 1 s"),
        "{started:?}"
    );
    // The PID file was locked: nothing suggests a foreground program.
    assert!(!started.stderr.contains("foreground"), "{started:?}");
    // Nothing is left: the supervisor saw its launcher go and killed the program.
    for program in reported(&report, "pid=") {
        assert!(!is_alive(program), "program {program} still runs");
    }
    assert_eq!(check(&dir, &pid), Some(101));
}

#[test]
fn output_files_get_both_streams_and_refuse_symlinks_and_links() {
    let dir = TempDir::new("outputs");
    let (pid, out, err) = (dir.join("d.pid"), dir.join("out.log"), dir.join("err.log"));
    let started = start_with(
        &dir,
        &pid,
        &[],
        &["--stdout", text(&out), "--stderr", text(&err)],
        &["print"],
    );
    assert_eq!(started.code, Some(0), "{started:?}");
    assert!(eventually(Duration::from_secs(5), || {
        std::fs::read_to_string(&err).is_ok_and(|text| text == "err\n")
    }));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "out\n");
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o640 & !0o022
    );
    assert_eq!(stop(&dir, &pid), Some(0));
    // Appended, not truncated.
    assert_eq!(
        start_with(&dir, &pid, &[], &["--stdout", text(&out)], &["print"]).code,
        Some(0)
    );
    assert!(eventually(Duration::from_secs(5), || {
        std::fs::read_to_string(&out).is_ok_and(|text| text == "out\nout\n")
    }));
    assert_eq!(stop(&dir, &pid), Some(0));
    // A symlink and a hard-linked file are refused, before anything runs.
    let (victim, link, hard) = (
        dir.join("victim"),
        dir.join("link.log"),
        dir.join("hard.log"),
    );
    std::fs::write(&victim, "precious\n").unwrap();
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    std::fs::hard_link(&victim, &hard).unwrap();
    let run = harness().run(
        daemonize_tool(),
        [
            "--pid-file",
            text(&pid),
            "--stdout",
            text(&link),
            "--",
            "/bin/true",
        ],
        dir.path(),
    );
    assert_eq!(run.code, Some(102));
    assert_eq!(
        run.stderr,
        format!("ucw-daemonize: Refusing output file {}: it is a symbolic link: ELOOP (Too many levels of symbolic links)\n", link.display())
    );
    let run = harness().run(
        daemonize_tool(),
        [
            "--pid-file",
            text(&pid),
            "--stderr",
            text(&hard),
            "--",
            "/bin/true",
        ],
        dir.path(),
    );
    assert_eq!(run.code, Some(102));
    assert_eq!(
        run.stderr,
        format!(
            "ucw-daemonize: Refusing error file {}: it has 2 hard links\n",
            hard.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert_eq!(check(&dir, &pid), Some(101));
}

#[test]
fn a_captured_start_returns_at_once_with_stderr_to_dev_null() {
    let dir = TempDir::new("captured");
    let pid = dir.join("d.pid");
    let program = example("fixture_hostile_program");
    let began = Instant::now();
    let run = harness().run(
        "/bin/sh",
        [
            "-c",
            "out=$(\"$1\" --start --pid-file \"$2\" -- \"$3\" --pid-file \"$2\" --stderr /dev/null -- \"$4\" 2>&1); echo \"status=$? out=[$out]\"",
            "sh",
            control_tool(),
            text(&pid),
            daemonize_tool(),
            text(&program),
        ],
        dir.path(),
    );
    // START returns at once; it does not wait for the daemon's stderr to close.
    assert!(
        began.elapsed() < common::margin(Duration::from_secs(5)),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(run.stdout, "status=0 out=[]\n", "{run:?}");
    assert_eq!(check(&dir, &pid), Some(0));
    assert_eq!(stop(&dir, &pid), Some(0));
}

#[test]
fn restart_replaces_the_daemon_whatever_it_was_before() {
    let dir = TempDir::new("restart");
    let pid = dir.join("d.pid");
    let program = example("fixture_hostile_program");
    let restart = |dir: &TempDir| {
        control(
            dir,
            &[
                "--restart",
                "--pid-file",
                text(&pid),
                "--",
                daemonize_tool(),
                "--pid-file",
                text(&pid),
                "--",
                text(&program),
            ],
        )
    };
    // Not running before.
    assert_eq!(restart(&dir).code, Some(0));
    let first: i32 = std::fs::read_to_string(&pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Running before.
    assert_eq!(restart(&dir).code, Some(0));
    let second: i32 = std::fs::read_to_string(&pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_ne!(first, second);
    assert!(wait_gone(first, Duration::from_secs(5)));
    // Stale before.
    let _ = rustix::process::kill_process(
        rustix::process::Pid::from_raw(second).unwrap(),
        rustix::process::Signal::KILL,
    );
    assert!(eventually(Duration::from_secs(5), || check(&dir, &pid) != Some(0)));
    assert_eq!(restart(&dir).code, Some(0));
    assert_eq!(check(&dir, &pid), Some(0));
    assert_eq!(stop(&dir, &pid), Some(0));
}

#[test]
fn eight_concurrent_restarts_leave_one_daemon_and_never_two() {
    let dir = TempDir::new("restarts");
    let (pid, sentinel, log) = (dir.join("d.pid"), dir.join("sentinel"), dir.join("log"));
    let soak = example("fixture_soak_daemon");
    let command = |_: usize| {
        let mut command = Command::new(control_tool());
        command.args([
            "--restart",
            "--timeout",
            "20",
            "--pid-file",
            text(&pid),
            "--",
            daemonize_tool(),
            "--pid-file",
            text(&pid),
            "--",
            text(&soak),
            text(&sentinel),
            text(&log),
            text(&pid),
        ]);
        command
    };
    let spawned: Vec<_> = (0..8)
        .map(|index| harness().spawn(command(index), dir.path()))
        .collect();
    for run in &spawned {
        let output = harness().wait(run, Duration::from_secs(60));
        assert_eq!(output.code, Some(0), "{output:?}");
    }
    let running = check(&dir, &pid);
    // Stopped before any verdict, so that a failing run leaves no daemon behind.
    assert_eq!(stop(&dir, &pid), Some(0));
    assert_eq!(running, Some(0));
    // (The fixture also flags descriptors cargo's jobserver leaks into every test child;
    // what matters here is that no daemon ever found another one alive.)
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!log_text.contains("VIOLATION two daemons"), "{log_text}");
}

#[test]
fn verbose_says_what_was_seen_or_done() {
    let dir = TempDir::new("verbose");
    let pid = dir.join("d.pid");
    let verbose = |action: &str| control(&dir, &[action, "--verbose", "--pid-file", text(&pid)]);
    assert_eq!(
        verbose("--check").stdout,
        "ucw-daemon-control: not running\n"
    );
    let started = start_with(&dir, &pid, &["--verbose"], &[], &[]);
    let daemon: i32 = std::fs::read_to_string(&pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        started.stdout,
        format!("ucw-daemon-control: started (pid {daemon})\n")
    );
    assert_eq!(
        verbose("--check").stdout,
        format!("ucw-daemon-control: running (pid {daemon})\n")
    );
    assert_eq!(verbose("--stop").stdout, "ucw-daemon-control: stopped\n");
    assert_eq!(
        verbose("--stop").stdout,
        "ucw-daemon-control: already stopped\n"
    );
    std::fs::write(&pid, "12345\n").unwrap();
    assert_eq!(
        verbose("--check").stdout,
        "ucw-daemon-control: stale PID file\n"
    );
    // Without --verbose the tools stay silent on success.
    assert_eq!(
        control(&dir, &["--check", "--pid-file", text(&pid)]).stdout,
        ""
    );
}

/// The options a man page documents: the `--name` words of the `.B`/`.BI` line after each
/// `.TP` (roff writes `-` as `\-`).
fn documented_options(page: &str) -> std::collections::BTreeSet<String> {
    let lines: Vec<&str> = page.lines().collect();
    let mut options = std::collections::BTreeSet::new();
    for pair in lines.windows(2) {
        if pair[0] == ".TP" && (pair[1].starts_with(".B ") || pair[1].starts_with(".BI ")) {
            let word = pair[1]
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .replace("\\-", "-");
            let word = word.trim_matches('"');
            if word.starts_with("--") && word.len() > 2 {
                options.insert(word.to_owned());
            }
        }
    }
    options
}

/// The `--name` words of a `--help` text.
fn help_options(help: &str) -> std::collections::BTreeSet<String> {
    let mut options = std::collections::BTreeSet::new();
    for (start, _) in help.match_indices("--") {
        let name: String = help[start + 2..]
            .chars()
            .take_while(|&character| character.is_ascii_lowercase() || character == '-')
            .collect();
        if !name.is_empty() {
            options.insert(format!("--{name}"));
        }
    }
    options
}

#[test]
fn the_man_pages_render_cleanly_and_list_what_help_lists() {
    let dir = TempDir::new("man");
    for (tool, page) in [
        (control_tool(), "man/ucw-daemon-control.8"),
        (daemonize_tool(), "man/ucw-daemonize.8"),
    ] {
        let page = Path::new(env!("CARGO_MANIFEST_DIR")).join(page);
        for program in ["/usr/bin/groff", "/usr/bin/man"] {
            assert!(
                Path::new(program).exists(),
                "{program} is missing: apt-get install -y groff-base man-db (tests/run-all does)"
            );
        }
        let groff = harness().run(
            "/usr/bin/groff",
            ["-man", "-Tutf8", "-ww", "-z", text(&page)],
            dir.path(),
        );
        assert_eq!(
            (groff.code, groff.stderr.as_str()),
            (Some(0), ""),
            "{}",
            page.display()
        );
        let mut man = Command::new("/usr/bin/man");
        man.args(["--warnings", "-l", text(&page)])
            .env("MANWIDTH", "80");
        let man = harness().wait(&harness().spawn(man, dir.path()), Duration::from_secs(30));
        assert_eq!(
            (man.code, man.stderr.as_str()),
            (Some(0), ""),
            "{}",
            page.display()
        );
        assert!(man.stdout.contains("EXIT STATUS"), "{}", page.display());
        let help = harness().run(tool, ["--help"], dir.path());
        assert_eq!(help.code, Some(0));
        let source = std::fs::read_to_string(&page).unwrap();
        assert_eq!(
            documented_options(&source),
            help_options(&help.stdout),
            "{}: options in the man page vs --help",
            page.display()
        );
    }
}
