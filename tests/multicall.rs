//! The multi-call binary's doors (tools/src/main.rs): the same file is `ucw-daemon-control`
//! and `ucw-daemonize` by the name it is started as (hard or symbolic link), answers
//! `ucw-daemon control ...` and `ucw-daemon daemonize ...`, and is `ucw-daemon` under any
//! other name. Also: an option whose feature was left out of the build is a usage error
//! naming the feature, and a build without `messages` says what failed in short code lines.

mod common;

use common::{harness, multicall_tool, text, tools_built_with, Output, TempDir};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Runs `program` with `argv[0]` set to `name`.
fn run_as(dir: &TempDir, program: &Path, name: &str, args: &[&str]) -> Output {
    let mut command = Command::new(program);
    command.arg0(name).args(args);
    let spawned = harness().spawn(command, dir.path());
    harness().wait(&spawned, Duration::from_secs(30))
}

/// `ucw-daemon`'s usage, as it starts.
const USAGE: &str = "Usage: ucw-daemon control --start|--stop|--restart|--check|--reload";

#[test]
fn the_applet_is_chosen_by_the_name_of_a_link() {
    let dir = TempDir::new("multicall-links");
    let binary = Path::new(multicall_tool());
    let pid = dir.join("d.pid");
    for (kind, name) in [
        ("symlink", "ucw-daemon-control"),
        ("hardlink", "ucw-daemon-control"),
        ("symlink", "ucw-daemonize"),
        ("hardlink", "ucw-daemonize"),
    ] {
        let place = dir.join(kind);
        std::fs::create_dir_all(&place).unwrap();
        let link = place.join(name);
        if !link.exists() {
            match kind {
                "symlink" => std::os::unix::fs::symlink(binary, &link).unwrap(),
                _ => std::fs::hard_link(binary, &link).unwrap(),
            }
        }
        let output = harness().run(&link, ["--bogus"], dir.path());
        assert_eq!(output.code, Some(1), "{kind} {name}: {output:?}");
        assert!(
            output.stderr.starts_with(&format!(
                "{name}: unrecognized option '--bogus'\nUsage: {name} "
            )),
            "{kind} {name}: {output:?}"
        );
    }
    // The links do their jobs: the control tool answers CHECK (101: not running) ...
    let control = dir.join("hardlink/ucw-daemon-control");
    let check = harness().run(&control, ["--check", "--pid-file", text(&pid)], dir.path());
    assert_eq!(check.code, Some(101), "{check:?}");
    // ... and the daemonizer runs a program in the foreground.
    let daemonize = dir.join("symlink/ucw-daemonize");
    let ran = harness().run(
        &daemonize,
        ["--foreground", "--", "sh", "-c", "exit 7"],
        dir.path(),
    );
    assert_eq!(ran.code, Some(7), "{ran:?}");
}

#[test]
fn ucw_daemon_takes_the_applet_as_its_first_word() {
    let dir = TempDir::new("multicall-words");
    let pid = dir.join("d.pid");
    let tool = multicall_tool();
    let check = harness().run(
        tool,
        ["control", "--check", "--pid-file", text(&pid)],
        dir.path(),
    );
    assert_eq!(check.code, Some(101), "{check:?}");
    let bad = harness().run(tool, ["control", "--bogus"], dir.path());
    assert_eq!(bad.code, Some(1));
    assert!(
        bad.stderr.starts_with(
            "ucw-daemon control: unrecognized option '--bogus'\nUsage: ucw-daemon control --start"
        ),
        "{bad:?}"
    );
    let help = harness().run(tool, ["daemonize", "--help"], dir.path());
    assert_eq!(help.code, Some(0));
    assert!(
        help.stdout
            .starts_with("Usage: ucw-daemon daemonize [--pid-file FILE]"),
        "{help:?}"
    );
    // START through both words: the controller launches the daemonizer the same way.
    let start = harness().run(
        tool,
        [
            "control",
            "--start",
            "--pid-file",
            text(&pid),
            "--",
            tool,
            "daemonize",
            "--pid-file",
            text(&pid),
            "--",
            "sleep",
            "30",
        ],
        dir.path(),
    );
    assert_eq!(start.code, Some(0), "{start:?}");
    let check = harness().run(
        tool,
        ["control", "--check", "--pid-file", text(&pid)],
        dir.path(),
    );
    assert_eq!(check.code, Some(0), "{check:?}");
    let stop = harness().run(
        tool,
        ["control", "--stop", "--pid-file", text(&pid)],
        dir.path(),
    );
    assert_eq!(stop.code, Some(0), "{stop:?}");
}

#[test]
fn any_other_name_is_ucw_daemon() {
    let dir = TempDir::new("multicall-other");
    let binary = Path::new(multicall_tool());
    for name in ["ucw-daemon", "my-ctl", "/usr/local/bin/daemon-control", ""] {
        let usage = run_as(&dir, binary, name, &[]);
        assert_eq!(usage.code, Some(1), "{name:?}: {usage:?}");
        assert!(usage.stderr.starts_with(USAGE), "{name:?}: {usage:?}");
        let unknown = run_as(&dir, binary, name, &["--check"]);
        assert_eq!(unknown.code, Some(1), "{name:?}: {unknown:?}");
        assert!(
            unknown
                .stderr
                .starts_with(&format!("ucw-daemon: unknown applet '--check'\n{USAGE}")),
            "{name:?}: {unknown:?}"
        );
    }
    let help = run_as(&dir, binary, "anything", &["--help"]);
    assert_eq!(help.code, Some(0));
    assert!(help.stdout.starts_with(USAGE), "{help:?}");
    assert!(help.stderr.is_empty(), "{help:?}");
    let version = run_as(&dir, binary, "ucw-daemon", &["--version"]);
    assert_eq!(version.code, Some(0));
    assert_eq!(
        version.stdout,
        format!("ucw-daemon {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_feature_left_out_is_a_usage_error_and_messages_are_short() {
    let dir = TempDir::new("multicall-minimal");
    let minimal = tools_built_with("minimal", &[]);
    let pid = dir.join("d.pid");
    let control = |args: &[&str]| run_as(&dir, &minimal, "ucw-daemon-control", args);
    let daemonize = |args: &[&str]| run_as(&dir, &minimal, "ucw-daemonize", args);
    for (output, option, feature) in [
        (
            control(&["--check", "--verbose", "--pid-file", text(&pid)]),
            "verbose",
            "verbose",
        ),
        (
            control(&["--restart", "--pid-file", text(&pid), "--", "true"]),
            "restart",
            "restart",
        ),
        (
            daemonize(&["--notify-fd", "3", "--", "true"]),
            "notify-fd",
            "readiness",
        ),
        (
            daemonize(&["--notify-socket", "--", "true"]),
            "notify-socket",
            "readiness",
        ),
        (
            daemonize(&["--stdout", "/dev/null", "--", "true"]),
            "stdout",
            "output-files",
        ),
        (
            daemonize(&["--stderr", "/dev/null", "--", "true"]),
            "stderr",
            "output-files",
        ),
        (
            daemonize(&["--cgroup", "/sys/fs/cgroup/x", "--", "true"]),
            "cgroup",
            "tree",
        ),
        (daemonize(&["--forking", "--", "true"]), "forking", "tree"),
        (
            daemonize(&["--forking-pid-file", "f.pid", "--", "true"]),
            "forking-pid-file",
            "tree",
        ),
        (daemonize(&["--init", "--", "true"]), "init", "tree"),
        (
            daemonize(&["--signal-group", "--", "true"]),
            "signal-group",
            "tree",
        ),
        (
            daemonize(&["--log", "/dev/null", "--", "true"]),
            "log",
            "log",
        ),
        (
            daemonize(&["--log-keep", "2", "--", "true"]),
            "log-keep",
            "log",
        ),
        (
            daemonize(&["--respawn", "--", "true"]),
            "respawn",
            "respawn",
        ),
        (
            daemonize(&["--respawn-max", "3", "--", "true"]),
            "respawn-max",
            "respawn",
        ),
        (
            control(&["--check", "--json", "--pid-file", text(&pid)]),
            "json",
            "status",
        ),
        (
            control(&["--check", "--lsb", "--pid-file", text(&pid)]),
            "lsb",
            "status",
        ),
    ] {
        assert_eq!(output.code, Some(1), "--{option}: {output:?}");
        let applet = if matches!(feature, "verbose" | "restart" | "status") {
            "ucw-daemon-control"
        } else {
            "ucw-daemonize"
        };
        assert!(
            output.stderr.starts_with(&format!(
                "{applet}: --{option}: not built into this binary (feature {feature})\nUsage: "
            )),
            "--{option}: {output:?}"
        );
    }
    // --help leaves them out; LibUCW's protocol still works.
    let help = control(&["--help"]);
    assert!(!help.stdout.contains("--verbose"), "{help:?}");
    assert!(!help.stdout.contains("--restart"), "{help:?}");
    assert!(!help.stdout.contains("--json"), "{help:?}");
    let help = daemonize(&["--help"]);
    assert!(!help.stdout.contains("--notify"), "{help:?}");
    assert!(!help.stdout.contains("--log"), "{help:?}");
    assert!(!help.stdout.contains("--respawn"), "{help:?}");
    assert!(!help.stdout.contains("--stdout"), "{help:?}");
    assert!(!help.stdout.contains("--cgroup"), "{help:?}");
    assert!(!help.stdout.contains("--init"), "{help:?}");
    assert_eq!(
        control(&["--check", "--pid-file", text(&pid)]).code,
        Some(101)
    );
    // A short code line: what failed, on which path, the errno's name.
    let missing = dir.join("missing/d.pid");
    let failed = control(&["--check", "--pid-file", text(&missing)]);
    assert_eq!(failed.code, Some(102), "{failed:?}");
    assert_eq!(
        failed.stderr,
        format!(
            "ucw-daemon-control: open guard file {}: ENOENT\n",
            text(&dir.join("missing/d.lock"))
        )
    );
}
