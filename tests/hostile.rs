//! Hostile and careless environments: each test is one case that broke, run
//! against the real tools as a user would meet it — a daemon with a descriptor on a hung
//! FUSE file, a stranger that merely has the PID file open, a parent that ignores SIGCHLD,
//! PID and guard files readable by others, a PID file on procfs, a closed stderr, a
//! read-only path, a supervisor killed with SIGKILL (with programs that change their uid or
//! leave children behind), and the smaller ones (`--timeout 0`, a malformed passwd entry,
//! `--signal STOP`; the huge command line is tools/tests/cli_parse.rs's).
//!
//! Tests that need root (namespaces, mounts, uid changes, FUSE) are ignored, saying why, when
//! the tests were not built by root.

mod common;
#[path = "common/hung_fuse.rs"]
mod hung_fuse;

use common::{
    check, control_tool, daemonize_tool, eventually, fixture as example, harness, is_alive,
    reported, run_control as control, stop, text, wait_gone, Output, TempDir,
};

/// `--start` of `ucw-daemonize [options] -- fixture_hostile_program [words]` on `pid`.
fn start(dir: &TempDir, pid: &Path, options: &[&str], words: &[&str]) -> Output {
    common::start_hostile(dir, pid, &[], options, words)
}
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The PID written in a PID file.
fn written_pid(pid: &Path) -> i32 {
    std::fs::read_to_string(pid)
        .unwrap()
        .trim()
        .parse()
        .expect("a PID")
}

fn kill(pid: i32, signal: rustix::process::Signal) {
    let _ = rustix::process::kill_process(rustix::process::Pid::from_raw(pid).unwrap(), signal);
}

/// Runs a shell script (`sh -c`) with `arguments` as `$1`, `$2`, ...
fn shell(dir: &TempDir, script: &str, arguments: &[&str]) -> Output {
    let mut all = vec!["-c", script, "sh"];
    all.extend_from_slice(arguments);
    harness().run("/bin/sh", all, dir.path())
}

fn require_root(what: &str) {
    common::require_root(what);
}

// --- 1. every wait bounded, even with a descriptor on a hung file system -------------------

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: mounts a FUSE file system"
)]
fn a_daemon_on_a_hung_file_system_is_still_bounded_by_the_timeout() {
    require_root("mounting FUSE");
    let fuse = hung_fuse::HungFs::mount();
    let dir = TempDir::new("hung");
    let (pid, report) = (dir.join("d.pid"), dir.join("report"));
    let file = fuse.file();
    let open = format!("open={}", text(&file));
    let report_word = format!("report={}", text(&report));
    assert_eq!(start(&dir, &pid, &[], &[&open, &report_word]).code, Some(0));
    assert!(eventually(Duration::from_secs(5), || !reported(
        &report, "pid="
    )
    .is_empty()));
    fuse.hang();
    // A reload proves the holder through fdinfo, which never touches the hung file.
    let began = Instant::now();
    let reload = control(
        &dir,
        &["--reload", "--timeout", "2", "--pid-file", text(&pid)],
    );
    assert_eq!(reload.code, Some(0), "{reload:?}");
    // Within its deadline (2 s) plus a margin.
    assert!(
        began.elapsed() < Duration::from_secs(2) + common::margin(Duration::from_secs(1)),
        "reload took {:?}",
        began.elapsed()
    );
    // A stop signals, then the exiting program hangs closing the FUSE file (its lock with
    // it): the wait ends at the deadline.
    let began = Instant::now();
    let stop = control(
        &dir,
        &["--stop", "--timeout", "2", "--pid-file", text(&pid)],
    );
    let took = began.elapsed();
    assert_eq!(stop.code, Some(102), "{stop:?}");
    assert!(stop.stderr.contains("did not stop within 2 s"), "{stop:?}");
    assert!(
        took < Duration::from_secs(2) + common::margin(Duration::from_secs(1)),
        "stop took {took:?}"
    );
    // Meanwhile no controller keeps the guard: a check answers at once.
    let meanwhile = control(
        &dir,
        &["--check", "--timeout", "1", "--pid-file", text(&pid)],
    );
    assert_eq!(meanwhile.code, Some(0), "{meanwhile:?}");
    fuse.abort();
    assert!(eventually(Duration::from_secs(10), || {
        check(&dir, &pid) == Some(101)
    }));
}

// --- 2. the proof reads the lock itself --------------------------------------------------

#[test]
fn a_process_that_only_has_the_pid_file_open_is_never_signalled() {
    let dir = TempDir::new("opener");
    let pid = dir.join("d.pid");
    std::fs::write(&pid, "").unwrap();
    std::fs::set_permissions(&pid, std::fs::Permissions::from_mode(0o600)).unwrap();
    // The stranger has the PID file open (no lock): reading /proc/<pid>/fd would "prove" it.
    let mut stranger = Command::new("/bin/sh");
    stranger.args(["-c", "exec 3<\"$0\"; exec sleep 60", text(&pid)]);
    let stranger = harness().spawn(stranger, dir.path());
    assert!(eventually(Duration::from_secs(5), || {
        std::fs::read_link(format!("/proc/{}/fd/3", stranger.pid)).is_ok_and(|link| link == pid)
    }));
    // A lock holder writes the stranger's PID into the file.
    let decoy_ready = PathBuf::from(format!("{}.ready", text(&pid)));
    let mut decoy = Command::new(example("fixture_control_decoy"));
    decoy.arg(&pid).arg(format!("{}\\n", stranger.pid));
    let decoy = harness().spawn(decoy, dir.path());
    assert!(eventually(Duration::from_secs(5), || decoy_ready.exists()));
    for action in ["--stop", "--reload"] {
        let run = control(&dir, &[action, "--timeout", "2", "--pid-file", text(&pid)]);
        assert_eq!(run.code, Some(102), "{action}: {run:?}");
        assert!(
            run.stderr.contains(&format!(
                "process {} does not hold the lock on",
                stranger.pid
            )),
            "{run:?}"
        );
        assert!(is_alive(stranger.pid), "{action} signalled the stranger");
    }
    kill(stranger.pid, rustix::process::Signal::KILL);
    kill(decoy.pid, rustix::process::Signal::KILL);
}

// --- 3 and 4. a parent that ignores SIGCHLD ------------------------------------------------

#[test]
fn a_supervisor_whose_parent_ignores_sigchld_still_sees_its_program_exit() {
    let dir = TempDir::new("sigchld-supervisor");
    let pid = dir.join("d.pid");
    let program = example("fixture_hostile_program");
    let run = shell(
        &dir,
        "trap '' CHLD; exec \"$1\" --pid-file \"$2\" -- \"$3\" exit-after=300",
        &[daemonize_tool(), text(&pid), text(&program)],
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        eventually(Duration::from_secs(10), || {
            check(&dir, &pid) == Some(101)
        }),
        "the supervisor kept the lock after its program exited"
    );
}

#[test]
fn start_from_a_parent_that_ignores_sigchld_succeeds() {
    let dir = TempDir::new("sigchld-start");
    let pid = dir.join("d.pid");
    let program = example("fixture_hostile_program");
    let run = shell(
        &dir,
        "trap '' CHLD; exec \"$1\" --start --pid-file \"$2\" -- \"$3\" --pid-file \"$2\" -- \"$4\"",
        &[control_tool(), text(&pid), daemonize_tool(), text(&program)],
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(check(&dir, &pid), Some(0));
    // In-process, the library must not touch the host's dispositions: the launcher's status
    // is lost (ECHILD) and the PID file decides.
    let host = harness().run(
        example("fixture_control_host"),
        [
            text(&dir.join("e.pid")),
            text(&dir.join("e.lock")),
            daemonize_tool(),
            "--pid-file",
            text(&dir.join("e.pid")),
            "--",
            text(&program),
        ],
        dir.path(),
    );
    assert_eq!(host.stdout, "status=0\nsigchld=ignored\n", "{host:?}");
    assert_eq!(stop(&dir, &pid), Some(0));
    assert_eq!(
        control(&dir, &["--stop", "--pid-file", text(&dir.join("e.pid"))]).code,
        Some(0)
    );
}

// --- 5. files readable by others ---------------------------------------------------------

#[test]
fn pid_and_guard_files_readable_by_others_are_tightened() {
    let dir = TempDir::new("tighten");
    let (pid, guard) = (dir.join("d.pid"), dir.join("d.lock"));
    for file in [&pid, &guard] {
        std::fs::write(file, "").unwrap();
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    assert_eq!(check(&dir, &pid), Some(101));
    for file in [&pid, &guard] {
        let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
    // The daemon side tightens its own file too (LibUCW creates them 0666 & umask).
    std::fs::set_permissions(&pid, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(start(&dir, &pid, &[], &[]).code, Some(0));
    assert_eq!(
        std::fs::metadata(&pid).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(stop(&dir, &pid), Some(0));
}

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: a read-only bind mount in a mount namespace"
)]
fn a_readable_file_on_a_read_only_mount_is_used_as_it_is() {
    require_root("mount namespaces");
    let dir = TempDir::new("tighten-ro");
    let files = dir.join("files");
    std::fs::create_dir(&files).unwrap();
    let (pid, guard) = (files.join("d.pid"), dir.join("d.lock"));
    std::fs::write(&pid, "").unwrap();
    std::fs::set_permissions(&pid, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = harness().run(
        "unshare",
        [
            "--mount",
            "--propagation",
            "private",
            "/bin/sh",
            "-c",
            "mount --bind -o ro \"$1\" \"$1\" && exec \"$2\" --check --pid-file \"$3\" --guard-file \"$4\"",
            "sh",
            text(&files),
            control_tool(),
            text(&pid),
            text(&guard),
        ],
        dir.path(),
    );
    assert_eq!(
        run.code,
        Some(101),
        "EROFS on fchmod must not stop the check: {run:?}"
    );
    assert_eq!(
        std::fs::metadata(&pid).unwrap().permissions().mode() & 0o777,
        0o644
    );
}

// --- 6. PID files on pseudo file systems ---------------------------------------------------

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: a UTS namespace (the test writes the host name)"
)]
fn a_pid_file_on_procfs_is_refused_and_never_written() {
    require_root("UTS namespaces");
    let dir = TempDir::new("procfs");
    // In a UTS namespace of its own, so that even a failing run cannot rename the machine.
    let run = harness().run(
        "unshare",
        [
            "--uts",
            "/bin/sh",
            "-c",
            "hostname ucw-before && \"$1\" --pid-file /proc/sys/kernel/hostname -- /bin/true; echo \"rc=$? host=$(hostname)\"",
            "sh",
            daemonize_tool(),
        ],
        dir.path(),
    );
    assert_eq!(run.stdout.trim(), "rc=102 host=ucw-before", "{run:?}");
    assert!(
        run.stderr.contains(
            "Refusing PID file /proc/sys/kernel/hostname: it is on a pseudo file system (type 0x9fa0)"
        ),
        "{run:?}"
    );
}

// --- 7. closed standard descriptors ------------------------------------------------------

#[test]
fn a_closed_stderr_never_gets_one_of_our_files() {
    let dir = TempDir::new("closed-stderr");
    let (victim, guard, not_a_file) = (dir.join("victim"), dir.join("x.lock"), dir.join("x.pid"));
    std::fs::write(&victim, "precious\n").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::hard_link(&victim, &guard).unwrap();
    std::fs::create_dir(&not_a_file).unwrap();
    // An error message is written to "stderr": with fd 2 closed, our guard must not be there.
    let run = shell(
        &dir,
        "exec 2>&-; exec \"$1\" --check --pid-file \"$2\"",
        &[control_tool(), text(&not_a_file)],
    );
    assert_eq!(run.code, Some(102), "{run:?}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
}

// --- 8. STOP through a read-only path ------------------------------------------------------

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: a read-only bind mount in a mount namespace"
)]
fn stop_through_a_read_only_path_reports_the_truth() {
    require_root("mount namespaces");
    let dir = TempDir::new("stop-ro");
    let files = dir.join("files");
    std::fs::create_dir(&files).unwrap();
    let (pid, guard) = (files.join("d.pid"), dir.join("d.lock"));
    let report = dir.join("report");
    let report_word = format!("report={}", text(&report));
    assert_eq!(start(&dir, &pid, &[], &[&report_word]).code, Some(0));
    let program = reported(&report, "pid=");
    let run = harness().run(
        "unshare",
        [
            "--mount",
            "--propagation",
            "private",
            "/bin/sh",
            "-c",
            "mount --bind -o ro \"$1\" \"$1\" && exec \"$2\" --stop --timeout 10 --pid-file \"$3\" --guard-file \"$4\"",
            "sh",
            text(&files),
            control_tool(),
            text(&pid),
            text(&guard),
        ],
        dir.path(),
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(program
        .iter()
        .all(|&pid| wait_gone(pid, Duration::from_secs(5))));
    // The daemon emptied its own file (its mount is writable).
    assert_eq!(check(&dir, &pid), Some(101));
}

// --- 9. a supervisor killed with SIGKILL ---------------------------------------------------

/// Starts a program that changes its uid (so PDEATHSIG no longer reaches it) under a
/// supervisor, kills the supervisor with SIGKILL, and returns the program's pid.
fn start_and_kill_the_supervisor(dir: &TempDir, pid: &Path, report: &Path, words: &[&str]) -> i32 {
    // The program reports after it became uid 65534: let it reach and write the report.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    std::fs::write(report, "").unwrap();
    std::fs::set_permissions(report, std::fs::Permissions::from_mode(0o666)).unwrap();
    let report_word = format!("report={}", text(report));
    let mut all = vec![report_word.as_str(), "setuid=65534"];
    all.extend_from_slice(words);
    assert_eq!(start(dir, pid, &[], &all).code, Some(0));
    assert!(eventually(Duration::from_secs(5), || !reported(
        report, "uid="
    )
    .is_empty()));
    let supervisor = written_pid(pid);
    kill(supervisor, rustix::process::Signal::KILL);
    assert!(wait_gone(supervisor, Duration::from_secs(5)));
    let program = reported(report, "pid=")[0];
    // PDEATHSIG was cleared by the uid change: the program lives on, unsupervised.
    std::thread::sleep(common::margin(Duration::from_millis(200)));
    assert!(is_alive(program));
    program
}

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: the program changes its own uid"
)]
fn after_a_killed_supervisor_start_never_runs_a_second_program() {
    require_root("uid changes");
    let dir = TempDir::new("sigkill-start");
    let (pid, report) = (dir.join("d.pid"), dir.join("report"));
    let program = start_and_kill_the_supervisor(&dir, &pid, &report, &[]);
    // The program still holds the lock (it shares the supervisor's lock description).
    assert_eq!(check(&dir, &pid), Some(0));
    assert_eq!(start(&dir, &pid, &[], &[]).code, Some(100));
    // STOP finds it (a holder of the lock in the dead supervisor's session) and stops it.
    let stop = control(
        &dir,
        &["--stop", "--timeout", "5", "--pid-file", text(&pid)],
    );
    assert_eq!(stop.code, Some(0), "{stop:?}");
    assert!(wait_gone(program, Duration::from_secs(5)));
    assert_eq!(check(&dir, &pid), Some(101));
}

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: the program changes its own uid"
)]
fn after_a_killed_supervisor_stop_kills_what_is_left() {
    require_root("uid changes");
    let dir = TempDir::new("sigkill-stop");
    let (pid, report) = (dir.join("d.pid"), dir.join("report"));
    let program = start_and_kill_the_supervisor(&dir, &pid, &report, &["child", "ignore-term"]);
    let child = reported(&report, "child=")[0];
    // Without escalation the stop says who keeps the lock, within its deadline.
    let stop = control(
        &dir,
        &["--stop", "--timeout", "1", "--pid-file", text(&pid)],
    );
    assert_eq!(stop.code, Some(102), "{stop:?}");
    assert!(
        stop.stderr
            .contains("other processes of the daemon held the lock"),
        "{stop:?}"
    );
    // With it, the program's process group goes, its long-lived child included.
    let stop = control(
        &dir,
        &[
            "--stop",
            "--timeout",
            "1",
            "--kill-after-timeout",
            "--pid-file",
            text(&pid),
        ],
    );
    assert_eq!(stop.code, Some(0), "{stop:?}");
    assert!(wait_gone(program, Duration::from_secs(5)));
    assert!(wait_gone(child, Duration::from_secs(5)));
    assert_eq!(check(&dir, &pid), Some(101));
}

/// STOP's and SIGNAL's race with the last holder's exit: the named daemon (a supervisor
/// killed with SIGKILL) is gone and its program (its own uid: no PDEATHSIG) still holds the
/// lock; the controller stops at its fail point while it proves that remaining holder, which
/// then exits. Nothing holds the lock any more, so the controller, finding no holder, must
/// look at the lock again: STOP 0 and SIGNAL 101 (docs/design.md §3), never "other processes
/// of the daemon still hold the lock". Returns the controller's output and CHECK's code after
/// it (STOP empties the file: 101; SIGNAL leaves the dead daemon's PID: 103).
fn last_holder_exits_during_the_scan(action: &str, label: &str) -> (Output, Option<i32>) {
    require_root("uid changes");
    let dir = TempDir::new(label);
    let (pid, report) = (dir.join("d.pid"), dir.join("report"));
    let program = start_and_kill_the_supervisor(&dir, &pid, &report, &[]);
    let mut command = Command::new(control_tool());
    command
        .args([action, "--timeout", "5", "--pid-file", text(&pid)])
        .env("UCW_FAILPOINT", "control-proving-holder");
    let controller = harness().spawn(command, dir.path());
    assert!(
        eventually(Duration::from_secs(10), || {
            common::proc_status_field(controller.pid, "State")
                .is_some_and(|state| state.starts_with('T'))
        }),
        "the controller never reached its fail point"
    );
    // The last holder exits while the controller proves it.
    kill(program, rustix::process::Signal::KILL);
    assert!(wait_gone(program, Duration::from_secs(5)));
    kill(controller.pid, rustix::process::Signal::CONT);
    let output = harness().wait(&controller, Duration::from_secs(10));
    (output, check(&dir, &pid))
}

#[test]
#[cfg_attr(
    all(ucw_failpoints, not(ucw_test_as_root)),
    ignore = "needs root: the program changes its own uid"
)]
#[cfg_attr(
    not(ucw_failpoints),
    ignore = "needs --cfg ucw_failpoints: tests/run-all runs it"
)]
fn stop_treats_the_last_holder_exiting_during_its_scan_as_stopped() {
    let (output, check) = last_holder_exits_during_the_scan("--stop", "last-holder-stop");
    assert_eq!(output.code, Some(0), "{output:?}");
    assert_eq!(check, Some(101), "the stopped daemon's file is emptied");
}

#[test]
#[cfg_attr(
    all(ucw_failpoints, not(ucw_test_as_root)),
    ignore = "needs root: the program changes its own uid"
)]
#[cfg_attr(
    not(ucw_failpoints),
    ignore = "needs --cfg ucw_failpoints: tests/run-all runs it"
)]
fn signal_treats_the_last_holder_exiting_during_its_scan_as_not_running() {
    let (output, check) = last_holder_exits_during_the_scan("--reload", "last-holder-reload");
    assert_eq!(output.code, Some(101), "{output:?}");
    assert_eq!(check, Some(103), "the dead daemon's PID stays (stale)");
}

#[test]
fn children_left_behind_are_ended_and_never_keep_the_daemon_running() {
    let dir = TempDir::new("leftovers");
    let (pid, report) = (dir.join("d.pid"), dir.join("report"));
    let report_word = format!("report={}", text(&report));
    // The program ends after 0.3 s: started, or (when START looked later than that on a
    // loaded machine) reported as ended right after its start; either way true.
    let started = start(&dir, &pid, &[], &[&report_word, "child", "exit-after=300"]);
    assert!(
        started.code == Some(0)
            || (started.code == Some(102)
                && started.stderr
                    == "ucw-daemon-control: the daemon's program exited with status 0 right \
                        after it started\n"),
        "{started:?}"
    );
    assert!(eventually(Duration::from_secs(5), || !reported(
        &report, "child="
    )
    .is_empty()));
    let child = reported(&report, "child=")[0];
    assert!(eventually(Duration::from_secs(10), || {
        check(&dir, &pid) == Some(101)
    }));
    // The supervisor ended the child (the service is a tree) before its LOCK_UN.
    assert!(!is_alive(child), "the program's child outlived the service");
    assert_eq!(start(&dir, &pid, &[], &[]).code, Some(0));
    assert_eq!(stop(&dir, &pid), Some(0));
}

// --- 10. the smaller ones ----------------------------------------------------------------

#[test]
fn a_zero_timeout_stop_of_a_daemon_that_exits_at_once_succeeds() {
    let dir = TempDir::new("timeout-zero");
    let pid = dir.join("d.pid");
    for round in 0..5 {
        assert_eq!(start(&dir, &pid, &[], &[]).code, Some(0), "round {round}");
        let stop = control(
            &dir,
            &["--stop", "--timeout", "0", "--pid-file", text(&pid)],
        );
        assert_eq!(stop.code, Some(0), "round {round}: {stop:?}");
    }
}

#[test]
fn a_zero_timeout_kill_after_timeout_kills_and_empties_the_file() {
    let dir = TempDir::new("timeout-zero-kill");
    let (pid, report) = (dir.join("d.pid"), dir.join("report"));
    let report_word = format!("report={}", text(&report));
    assert_eq!(
        start(&dir, &pid, &[], &[&report_word, "ignore-term"]).code,
        Some(0)
    );
    let stop = control(
        &dir,
        &[
            "--stop",
            "--timeout",
            "0",
            "--kill-after-timeout",
            "--pid-file",
            text(&pid),
        ],
    );
    assert_eq!(stop.code, Some(0), "{stop:?}");
    assert_eq!(std::fs::read(&pid).unwrap(), b"");
    assert_eq!(check(&dir, &pid), Some(101));
    assert!(reported(&report, "pid=")
        .iter()
        .all(|&pid| wait_gone(pid, Duration::from_secs(5))));
}

#[test]
#[cfg_attr(
    not(ucw_failpoints),
    ignore = "needs --cfg ucw_failpoints: tests/run-all runs it"
)]
fn a_malformed_passwd_entry_is_called_malformed() {
    let dir = TempDir::new("malformed");
    let (passwd, group) = (dir.join("passwd"), dir.join("group"));
    std::fs::write(&passwd, "x:x:abc:1::/:/bin/sh\n").unwrap();
    std::fs::write(&group, "").unwrap();
    let mut command = Command::new(daemonize_tool());
    command
        .args(["--foreground", "--user", "x", "--", "/bin/true"])
        .env("UCW_TEST_PASSWD", &passwd)
        .env("UCW_TEST_GROUP", &group);
    let run = harness().spawn(command, dir.path());
    let run = harness().wait(&run, Duration::from_secs(10));
    assert_eq!(run.code, Some(102), "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "ucw-daemonize: The entry of user `x` in {} is malformed (uid not a number from 0 to 4294967294)\n",
            passwd.display()
        )
    );
}

#[test]
fn signal_stop_is_refused_because_no_supervisor_can_forward_it() {
    let dir = TempDir::new("sigstop");
    let pid = dir.join("d.pid");
    for action in ["--reload", "--stop"] {
        let run = control(
            &dir,
            &[action, "--signal", "STOP", "--pid-file", text(&pid)],
        );
        assert_eq!(run.code, Some(1), "{run:?}");
        assert!(
            run.stderr.contains("--signal STOP cannot be caught"),
            "{run:?}"
        );
    }
}

/// A btrfs file system on a loop file, mounted in a fresh directory; unmounted on drop.
struct Btrfs {
    dir: TempDir,
    mountpoint: PathBuf,
}

impl Btrfs {
    fn mount() -> Btrfs {
        assert!(
            Path::new("/usr/sbin/mkfs.btrfs").exists() || Path::new("/sbin/mkfs.btrfs").exists(),
            "mkfs.btrfs is missing: apt-get install -y btrfs-progs (tests/run-all does)"
        );
        let dir = TempDir::new("btrfs");
        let (image, mountpoint) = (dir.join("image"), dir.join("mnt"));
        std::fs::create_dir(&mountpoint).unwrap();
        let run = shell(
            &dir,
            "truncate -s 160M \"$1\" && mkfs.btrfs -q \"$1\" >/dev/null && mount -o loop \"$1\" \"$2\"",
            &[text(&image), text(&mountpoint)],
        );
        assert_eq!(
            run.code,
            Some(0),
            "cannot make a btrfs file system: {run:?}"
        );
        Btrfs { dir, mountpoint }
    }
}

impl Drop for Btrfs {
    fn drop(&mut self) {
        let _ = shell(&self.dir, "umount -l \"$1\"", &[text(&self.mountpoint)]);
    }
}

#[test]
#[cfg_attr(not(ucw_test_as_root), ignore = "needs root: mounts a btrfs loop file")]
fn the_proof_works_on_btrfs_where_the_lock_device_is_not_st_dev() {
    require_root("mounting btrfs");
    let btrfs = Btrfs::mount();
    let dir = TempDir::new("btrfs-daemon");
    let subvolume = btrfs.mountpoint.join("sub");
    let made = shell(
        &dir,
        "btrfs subvolume create \"$1\" >/dev/null",
        &[text(&subvolume)],
    );
    assert_eq!(made.code, Some(0), "{made:?}");
    for place in [btrfs.mountpoint.clone(), subvolume] {
        let pid = place.join("d.pid");
        let report = place.join("report");
        let report_word = format!("report={}", text(&report));
        assert_eq!(
            start(&dir, &pid, &[], &[&report_word]).code,
            Some(0),
            "{}",
            pid.display()
        );
        // START returns once the program runs; a SIGHUP before it reads SIGHUP would end it.
        assert!(eventually(Duration::from_secs(5), || !reported(
            &report, "pid="
        )
        .is_empty()));
        // st_dev of a btrfs file is a per-subvolume anonymous device, which the kernel's lock
        // line never shows: a proof by st_dev would call the daemon a stranger.
        let reload = control(&dir, &["--reload", "--pid-file", text(&pid)]);
        assert_eq!(reload.code, Some(0), "{}: {reload:?}", pid.display());
        let stop = control(
            &dir,
            &["--stop", "--timeout", "5", "--pid-file", text(&pid)],
        );
        assert_eq!(stop.code, Some(0), "{}: {stop:?}", pid.display());
        assert_eq!(check(&dir, &pid), Some(101));
    }
}
