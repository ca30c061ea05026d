//! `ucw-daemonize --log FILE`: the program's output through the supervisor to FILE, rotated by
//! size to FILE.1 … FILE.N without splitting or losing a line among the kept ones, reopened
//! on SIGUSR2 after an external `mv`, a full disk dropped and counted, a directory the
//! daemon's user cannot write refused at the start (102), and the usage errors.

mod common;

use common::{
    check, daemonize_tool, eventually, harness, start_supervised, stop, text, Output, TempDir,
};
use std::path::Path;
use std::time::Duration;

/// `ucw-daemon-control --start --pid-file P -- ucw-daemonize --pid-file P [options] --
/// command...`.
fn start(dir: &TempDir, pid: &Path, options: &[&str], command: &[&str]) -> Output {
    start_supervised(dir, pid, &[], options, command)
}

/// A shell command that waits for the file `go` in `dir`, then runs `command`: a program that
/// ends only after START has answered.
fn after_go(dir: &TempDir, command: &str) -> String {
    format!(
        "while [ ! -e '{}' ]; do sleep 0.02; done; {command}",
        text(&dir.join("go"))
    )
}

/// The numbers on the lines of `text`; panics on a line that is not a whole number (a split
/// or mixed line).
fn numbers(name: &str, text: &str) -> Vec<u64> {
    assert!(text.ends_with('\n'), "{name} ends inside a line");
    text.lines()
        .map(|line| {
            line.parse()
                .unwrap_or_else(|_| panic!("{name}: not a whole line: {line:?}"))
        })
        .collect()
}

#[test]
fn rotation_keeps_whole_lines_and_loses_none_among_the_kept_files() {
    let dir = TempDir::new("log-rotate");
    let (pid, log) = (dir.join("d.pid"), dir.join("service.log"));
    // 108,894 bytes of numbered lines, written by stdio in 4 KiB blocks that cut lines, once
    // START has answered (a program that ends before START looks fails the start).
    let started = start(
        &dir,
        &pid,
        &["--log", text(&log), "--log-max", "10K"],
        &["/bin/sh", "-c", &after_go(&dir, "seq 1 20000")],
    );
    assert_eq!(started.code, Some(0), "{started:?}");
    std::fs::write(dir.join("go"), "").unwrap();
    assert!(
        eventually(Duration::from_secs(10), || check(&dir, &pid) == Some(101)),
        "the daemon did not end"
    );
    let mut kept = Vec::new();
    for name in [
        "service.log.3",
        "service.log.2",
        "service.log.1",
        "service.log",
    ] {
        let content = std::fs::read_to_string(dir.join(name)).unwrap();
        assert!(
            content.len() <= 10 * 1024,
            "{name} has {} bytes",
            content.len()
        );
        // Rotated files were full: the next line would not have fitted.
        if name != "service.log" {
            assert!(content.len() > 10 * 1024 - 7, "{name}: {}", content.len());
        }
        kept.extend(numbers(name, &content));
    }
    assert!(!dir.join("service.log.4").exists());
    let first = kept[0];
    let expected: Vec<u64> = (first..=20000).collect();
    assert_eq!(
        kept, expected,
        "a line was lost or repeated among the kept files"
    );
}

#[test]
fn sigusr2_reopens_the_file_after_an_external_move() {
    let dir = TempDir::new("log-reopen");
    let (pid, log, moved, go) = (
        dir.join("d.pid"),
        dir.join("service.log"),
        dir.join("service.log.old"),
        dir.join("go"),
    );
    let script = format!(
        "echo first; echo to-stderr >&2; while [ ! -e '{}' ]; do sleep 0.02; done; echo second; exec sleep 100",
        text(&go)
    );
    let started = start(
        &dir,
        &pid,
        &["--log", text(&log)],
        &["/bin/sh", "-c", &script],
    );
    assert_eq!(started.code, Some(0), "{started:?}");
    assert!(eventually(Duration::from_secs(5), || {
        std::fs::read_to_string(&log).is_ok_and(|text| text == "first\nto-stderr\n")
    }));
    std::fs::rename(&log, &moved).unwrap();
    let supervisor: i32 = std::fs::read_to_string(&pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(supervisor).unwrap(),
        rustix::process::Signal::USR2,
    )
    .unwrap();
    assert!(
        eventually(Duration::from_secs(5), || log.exists()),
        "SIGUSR2 did not reopen the file"
    );
    std::fs::write(&go, "").unwrap();
    assert!(eventually(Duration::from_secs(5), || {
        std::fs::read_to_string(&log).is_ok_and(|text| text == "second\n")
    }));
    assert_eq!(
        std::fs::read_to_string(&moved).unwrap(),
        "first\nto-stderr\n"
    );
    // SIGUSR2 was not forwarded: the program (which would die of it) still runs.
    assert_eq!(check(&dir, &pid), Some(0));
    assert_eq!(stop(&dir, &pid), Some(0));
}

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: mounts a tiny tmpfs in a mount namespace"
)]
fn a_full_disk_drops_output_and_then_says_how_much() {
    common::require_root("mounting a tmpfs");
    let dir = TempDir::new("log-full");
    let mount = dir.join("small");
    std::fs::create_dir(&mount).unwrap();
    let log = mount.join("service.log");
    let filler = mount.join("filler");
    // `seq 1 1000` is 3,893 bytes, all dropped while the file system is full; once the filler
    // is gone the next line is preceded by the count. The program waits long enough for the
    // supervisor to have read (and dropped) them before it frees the space.
    let pause = common::margin(Duration::from_millis(500)).as_secs_f64();
    let script = format!(
        "mount -t tmpfs -o size=64k tmpfs '{mount}' || exit 90
         dd if=/dev/zero of='{filler}' bs=4k 2>/dev/null
         '{tool}' --foreground --log '{log}' -- /bin/sh -c \"seq 1 1000; sleep {pause}; rm '{filler}'; echo after\"
         echo status=$?
         cat '{log}'",
        mount = text(&mount),
        filler = text(&filler),
        tool = daemonize_tool(),
        log = text(&log),
    );
    let run = harness().run(
        "unshare",
        [
            "--mount",
            "--propagation",
            "private",
            "/bin/sh",
            "-c",
            &script,
        ],
        dir.path(),
    );
    assert_eq!(
        run.stdout, "status=0\nucw-daemonize: dropped 3893 bytes of output\nafter\n",
        "{run:?}"
    );
}

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: --user switches to another user"
)]
fn a_log_directory_the_user_cannot_write_is_a_clear_error() {
    common::require_root("--user");
    let dir = TempDir::new("log-user");
    let (pid, logs) = (dir.join("d.pid"), dir.join("logs"));
    std::fs::create_dir(&logs).unwrap();
    let log = logs.join("service.log");
    let started = start(
        &dir,
        &pid,
        &["--user", "nobody", "--log", text(&log)],
        &["/bin/sleep", "100"],
    );
    assert_eq!(started.code, Some(102), "{started:?}");
    assert!(
        started.stderr.contains(&format!(
            "Cannot write to the directory of log file {}: EACCES (Permission denied)",
            log.display()
        )),
        "{started:?}"
    );
    assert_eq!(check(&dir, &pid), Some(101));
    assert!(!log.exists());
}

#[test]
fn a_symbolic_link_as_the_log_file_is_refused() {
    let dir = TempDir::new("log-symlink");
    let (pid, victim, link) = (dir.join("d.pid"), dir.join("victim"), dir.join("link.log"));
    std::fs::write(&victim, "precious\n").unwrap();
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let started = start(&dir, &pid, &["--log", text(&link)], &["/bin/sleep", "100"]);
    assert_eq!(started.code, Some(102), "{started:?}");
    assert!(
        started.stderr.contains(&format!(
            "Refusing log file {}: it is a symbolic link",
            link.display()
        )),
        "{started:?}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert_eq!(check(&dir, &pid), Some(101));
}

#[test]
fn log_options_are_checked() {
    let dir = TempDir::new("log-usage");
    let pid = dir.join("d.pid");
    let log = dir.join("service.log");
    for (options, message) in [
        (
            vec!["--log", text(&log), "--stdout", "/dev/null"],
            "--log and --stdout exclude each other",
        ),
        (
            vec!["--log", text(&log), "--stderr", "/dev/null"],
            "--log and --stderr exclude each other",
        ),
        (
            vec!["--exec", "--log", text(&log)],
            "--log and --exec exclude each other",
        ),
        (
            vec!["--log", text(&log), "--log-max", "10X"],
            "invalid --log-max '10X': expected bytes (10K, 1M)",
        ),
        (
            vec!["--log", text(&log), "--log-max", "0"],
            "invalid --log-max '0': expected bytes (10K, 1M)",
        ),
        (
            vec!["--log", text(&log), "--log-keep", "100"],
            "invalid --log-keep '100': expected a number of files (0 to 99)",
        ),
    ] {
        let mut arguments = vec!["--pid-file", text(&pid)];
        arguments.extend_from_slice(&options);
        arguments.extend_from_slice(&["--", "/bin/true"]);
        let run = harness().run(daemonize_tool(), &arguments, dir.path());
        assert_eq!(run.code, Some(1), "{options:?}: {run:?}");
        assert!(
            run.stderr
                .starts_with(&format!("ucw-daemonize: {message}\n")),
            "{options:?}: {run:?}"
        );
    }
    assert!(!log.exists());
}

#[test]
fn log_keep_zero_empties_the_file_instead() {
    let dir = TempDir::new("log-keep0");
    let (pid, log) = (dir.join("d.pid"), dir.join("service.log"));
    let started = start(
        &dir,
        &pid,
        &["--log", text(&log), "--log-max", "1K", "--log-keep", "0"],
        &["/bin/sh", "-c", &after_go(&dir, "seq 1 1000")],
    );
    assert_eq!(started.code, Some(0), "{started:?}");
    std::fs::write(dir.join("go"), "").unwrap();
    assert!(eventually(Duration::from_secs(10), || {
        check(&dir, &pid) == Some(101)
    }));
    let content = std::fs::read_to_string(&log).unwrap();
    assert!(content.len() <= 1024, "{}", content.len());
    let kept = numbers("service.log", &content);
    assert_eq!(kept.last(), Some(&1000));
    assert_eq!(kept, (kept[0]..=1000).collect::<Vec<_>>());
    assert!(!dir.join("service.log.1").exists());
}

#[test]
fn a_missing_log_directory_is_a_clear_error() {
    let dir = TempDir::new("log-missing");
    let pid = dir.join("d.pid");
    let log = dir.join("missing").join("service.log");
    let started = start(&dir, &pid, &["--log", text(&log)], &["/bin/sleep", "100"]);
    assert_eq!(started.code, Some(102), "{started:?}");
    assert!(
        started.stderr.contains(&format!(
            "Cannot open log file {}: ENOENT (No such file or directory)",
            log.display()
        )),
        "{started:?}"
    );
    assert_eq!(check(&dir, &pid), Some(101));
}
