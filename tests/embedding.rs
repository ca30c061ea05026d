//! The library as an embedder meets it: the fork chosen for the host
//! (a std program's daemon uses threads, `Command`, `pthread_kill`, `abort()` safely), a
//! `File` moved into the body surviving the descriptor clean-up, a `Daemon` dropped before
//! `run`, the compact error and its rendering (long and non-UTF-8 paths keep the errno), and
//! one `write` per line the tools print.

mod common;

use common::{control_tool, eventually, fixture as example, harness, TempDir};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use ucw_daemon::control::{control, Action, Params};
use ucw_daemon::{Error, ErrorKind, Subject};

#[test]
fn a_std_daemon_forked_through_its_c_library_keeps_its_own_thread_state() {
    let dir = TempDir::new("hosted-fork");
    let (pid_file, out) = (dir.join("h.pid"), dir.join("out"));
    let run = harness().run(
        example("fixture_hosted_fork"),
        [&pid_file, &out],
        dir.path(),
    );
    assert_eq!(run.code, Some(0), "the launcher must survive: {run:?}");
    assert_eq!(run.stdout.trim(), "daemon ended by signal 6", "{run:?}");
    let report = std::fs::read_to_string(&out).unwrap();
    assert_eq!(report, "thread=ok\npthread_kill=0\ncommand=0\n");
}

#[test]
fn the_raw_clone_in_a_libc_process_is_what_breaks_the_daemon() {
    // The same program forked the wrong way: glibc's cached thread id names the launcher, so
    // the daemon's worker cannot find the main thread (ESRCH). This is what the hosted fork
    // fixes, and what the test above would see without it.
    let dir = TempDir::new("raw-fork");
    let (pid_file, out) = (dir.join("h.pid"), dir.join("out"));
    let run = harness().run(
        example("fixture_hosted_fork"),
        [pid_file.as_os_str(), out.as_os_str(), "raw".as_ref()],
        dir.path(),
    );
    assert!(eventually(Duration::from_secs(5), || {
        std::fs::read_to_string(&out).is_ok_and(|text| text.contains("command="))
    }));
    let report = std::fs::read_to_string(&out).unwrap();
    assert!(
        report.contains("pthread_kill=3\n") || run.code == Some(134),
        "raw clone: {report:?}, launcher {run:?}"
    );
}

#[test]
fn a_file_moved_into_the_body_survives_the_descriptor_clean_up() {
    let dir = TempDir::new("keep-file");
    let (pid_file, kept, report, stop) = (
        dir.join("d.pid"),
        dir.join("kept"),
        dir.join("report"),
        dir.join("stop"),
    );
    std::fs::write(&report, "").unwrap();
    std::fs::write(&stop, "").unwrap();
    let mut command = Command::new(example("fixture_daemon_probe"));
    command
        .arg(&pid_file)
        .env("PROBE_FLAGS", "f")
        .env("PROBE_KEEP_FILE", &kept)
        .env("PROBE_REPORT", &report)
        .env("PROBE_STOP", &stop);
    let launched = harness().spawn(command, dir.path());
    let run = harness().wait(&launched, Duration::from_secs(10));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(eventually(Duration::from_secs(5), || {
        std::fs::read_to_string(&report).is_ok_and(|text| text.contains("body=exited"))
    }));
    let lines = std::fs::read_to_string(&report).unwrap();
    assert!(lines.contains("kept-file=ok\n"), "{lines}");
    assert_eq!(
        std::fs::read_to_string(&kept).unwrap(),
        "written by the daemon\n"
    );
}

#[test]
fn a_daemon_dropped_before_run_leaves_an_empty_unlocked_file() {
    let dir = TempDir::new("dropped");
    let pid_file = dir.join("d.pid");
    let mut command = Command::new(example("fixture_daemon_probe"));
    command.arg(&pid_file).env("PROBE_MODE", "drop");
    let launched = harness().spawn(command, dir.path());
    let run = harness().wait(&launched, Duration::from_secs(10));
    assert_eq!(run.stdout.trim(), "dropped", "{run:?}");
    assert_eq!(std::fs::read(&pid_file).unwrap(), b"");
    let check = harness().run(
        control_tool(),
        ["--check", "--pid-file", pid_file.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(check.code, Some(101), "{check:?}");
}

#[test]
fn the_error_is_a_small_plain_value() {
    assert!(std::mem::size_of::<Error>() <= 32);
    assert!(std::mem::size_of::<Result<(), ucw_daemon::Error>>() <= 32);
    fn copy_and_static<T: Copy + 'static>() {}
    copy_and_static::<Error>();
}

/// `control()` CHECK with the guard file at `guard`, rendered against its params.
fn check_error(pid: &CString, guard: &CString) -> (Error, String) {
    let params = Params::new(pid, guard, Action::Check);
    let error = control(&params).expect_err("the guard's directory does not exist");
    let line = error.display(&params).to_string();
    (error, line)
}

#[test]
fn a_900_byte_path_keeps_the_errno_and_is_cut_in_the_middle() {
    let dir = TempDir::new("long-path");
    let pid = CString::new(dir.join("d.pid").as_os_str().as_bytes()).unwrap();
    // Nine 100-byte components (each within NAME_MAX), 900 bytes in all.
    let long = format!(
        "/nonexistent-{}x.lock",
        format!("{}/", "d".repeat(99)).repeat(9)
    );
    let guard = CString::new(long.clone()).unwrap();
    let (error, line) = check_error(&pid, &guard);
    assert_eq!(error.kind(), ErrorKind::System);
    assert_eq!(error.subject(), Subject::GuardFile);
    assert_eq!(error.errno(), Some(rustix::io::Errno::NOENT));
    // Display has room for the whole path; the tools' and the C ABI's buffers do not.
    assert!(
        line.starts_with("Cannot open guard file /nonexistent-ddd"),
        "{line}"
    );
    assert!(
        line.ends_with(": ENOENT (No such file or directory)"),
        "{line}"
    );
    let params = Params::new(&pid, &guard, Action::Check);
    let mut small = [0u8; 256];
    let length = error.render(&params, &mut small);
    let text = std::str::from_utf8(&small[..length]).unwrap();
    assert!(
        text.ends_with("/x.lock: ENOENT (No such file or directory)"),
        "{text}"
    );
    assert!(text.contains("..."), "{text}");
    // And the tool's single line: cut, but the errno is there.
    let run = harness().run(
        control_tool(),
        [
            "--check",
            "--pid-file",
            pid.to_str().unwrap(),
            "--guard-file",
            &long,
        ],
        dir.path(),
    );
    assert_eq!(run.code, Some(102));
    assert!(run
        .stderr
        .starts_with("ucw-daemon-control: Cannot open guard file /nonexistent-"));
    assert!(
        run.stderr
            .ends_with(": ENOENT (No such file or directory)\n"),
        "{:?}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1);
}

#[test]
fn a_non_utf8_path_is_escaped_and_keeps_the_errno() {
    let dir = TempDir::new("bad-utf8");
    let pid = CString::new(dir.join("d.pid").as_os_str().as_bytes()).unwrap();
    let guard = CString::new(&b"/nonexistent/\xff\xfe\\n.lock"[..]).unwrap();
    let (_, line) = check_error(&pid, &guard);
    assert_eq!(
        line,
        "Cannot open guard file /nonexistent/\\xff\\xfe\\\\n.lock: ENOENT (No such file or directory)"
    );
    let plain = check_error(&pid, &guard).0.to_string();
    assert_eq!(
        plain,
        "Cannot open guard file: ENOENT (No such file or directory)"
    );
}

#[test]
fn every_line_the_tools_print_is_one_write() {
    let strace = Path::new("/usr/bin/strace");
    assert!(
        strace.exists(),
        "strace is missing: `apt-get install -y strace` (tests/run-all installs it)"
    );
    let dir = TempDir::new("one-write");
    let log = dir.join("strace.log");
    let pid = dir.join("d.pid");
    // An error line, a usage error (two lines in one write) and a --verbose line.
    let runs: [&[&str]; 3] = [
        &[
            "--check",
            "--pid-file",
            pid.to_str().unwrap(),
            "--guard-file",
            "/nonexistent/x.lock",
        ],
        &["--check"],
        &["--check", "--verbose", "--pid-file", pid.to_str().unwrap()],
    ];
    for (index, arguments) in runs.iter().enumerate() {
        let log = log.with_extension(index.to_string());
        let mut command = vec![
            "-f".to_owned(),
            "-e".to_owned(),
            "trace=write".to_owned(),
            "-o".to_owned(),
            log.to_str().unwrap().to_owned(),
            control_tool().to_owned(),
        ];
        command.extend(arguments.iter().map(|argument| (*argument).to_owned()));
        let run = harness().run(strace, &command, dir.path());
        assert!(run.code.is_some(), "{run:?}");
        let trace = std::fs::read_to_string(&log).unwrap();
        let writes: Vec<&str> = trace
            .lines()
            .filter(|line| line.contains("write("))
            .collect();
        assert_eq!(writes.len(), 1, "one write per message: {trace}");
        assert!(writes[0].contains("ucw-daemon-control: "), "{trace}");
    }
}
