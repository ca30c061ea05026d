//! `--check` where the caller cannot write (docs/design.md §3, "CHECK where it cannot write"):
//! a guard that cannot be opened read-write because of EROFS, EACCES or EPERM is opened
//! read-only and locked shared; only when no guard can be opened at all does CHECK look at the
//! PID file without one, and `--verbose` then calls its answer a snapshot. Every other action
//! still needs the guard; a symbolic link or another user's guard is still refused.
//!
//! Three ways in: the same uid through a read-only bind mount (root: a mount namespace),
//! another user on LibUCW-style `0644` files (root: the other user's uid), and a directory of
//! ours without write permission (not root: root ignores the permission).

mod common;

use common::{
    control_tool, eventually, harness, reported, run_control, start_hostile, stop, text, wait_gone,
    Output, TempDir,
};
use rustix::fs::FlockOperation;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// The last line `--verbose` prints for a snapshot.
const SNAPSHOT: &str = "(a snapshot: no guard file could be opened)";

/// `ucw-daemon-control ARGS...` in a mount namespace of its own where `files` is bind-mounted
/// read-only over itself.
fn control_read_only(dir: &TempDir, files: &Path, arguments: &[&str]) -> Output {
    let mut all = vec![
        "--mount",
        "--propagation",
        "private",
        "/bin/sh",
        "-c",
        "mount --bind -o ro \"$1\" \"$1\" && shift && exec \"$@\"",
        "sh",
        text(files),
        control_tool(),
    ];
    all.extend_from_slice(arguments);
    harness().run("unshare", all, dir.path())
}

/// `ucw-daemon-control ARGS...` as uid and gid 65534, without supplementary groups.
fn control_as_other_user(dir: &TempDir, arguments: &[&str]) -> Output {
    let mut all = vec![
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--",
        control_tool(),
    ];
    all.extend_from_slice(arguments);
    harness().run("setpriv", all, dir.path())
}

/// Starts the hostile fixture (it waits for SIGTERM) under `ucw-daemonize` on `pid`; returns
/// the supervisor's PID (the one the PID file names) and the program's.
fn start_daemon(dir: &TempDir, pid: &Path) -> (i32, i32) {
    let report = dir.join("report");
    let report_word = format!("report={}", text(&report));
    let started = start_hostile(dir, pid, &[], &[], &[&report_word]);
    assert_eq!(started.code, Some(0), "{started:?}");
    let supervisor: i32 = std::fs::read_to_string(pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        eventually(Duration::from_secs(10), || !reported(&report, "pid=")
            .is_empty()),
        "the program never reported its pid"
    );
    let program = reported(&report, "pid=")[0];
    (supervisor, program)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: a read-only bind mount in a mount namespace"
)]
fn check_through_a_read_only_mount_shares_the_guard_or_says_it_is_a_snapshot() {
    common::require_root("mount namespaces");
    let dir = TempDir::new("check-ro");
    let files = dir.join("files");
    std::fs::create_dir(&files).unwrap();
    let (pid, guard) = (files.join("d.pid"), files.join("d.lock"));
    let (supervisor, program) = start_daemon(&dir, &pid);
    let pid_argument = ["--pid-file", text(&pid)];
    let check = |extra: &[&str]| {
        let mut arguments = vec!["--check", "--verbose"];
        arguments.extend_from_slice(extra);
        arguments.extend_from_slice(&pid_argument);
        control_read_only(&dir, &files, &arguments)
    };

    // The guard exists: opened read-only, locked shared; not a snapshot.
    let run = check(&[]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.stdout,
        format!("ucw-daemon-control: running (pid {supervisor})\n"),
        "{run:?}"
    );

    // A controller that holds the guard (a START or STOP in progress) is waited for ...
    let held = rustix::fs::open(
        text(&guard),
        rustix::fs::OFlags::RDONLY,
        rustix::fs::Mode::empty(),
    )
    .unwrap();
    rustix::fs::flock(&held, FlockOperation::LockExclusive).unwrap();
    let began = Instant::now();
    let run = check(&["--timeout", "1"]);
    assert_eq!(run.code, Some(102), "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "Cannot lock guard file {}: another controller held it for 1 s",
            text(&guard)
        )),
        "{run:?}"
    );
    assert!(began.elapsed() >= Duration::from_millis(900), "{run:?}");
    // ... while other readers share it.
    rustix::fs::flock(&held, FlockOperation::LockShared).unwrap();
    let run = check(&["--timeout", "1"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    drop(held);

    // No guard at all (and none can be created): a snapshot, and --verbose says so.
    std::fs::remove_file(&guard).unwrap();
    let run = check(&[]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.stdout,
        format!("ucw-daemon-control: running (pid {supervisor}) {SNAPSHOT}\n"),
        "{run:?}"
    );
    assert!(!guard.exists());

    // Every other action keeps the guard.
    let run = control_read_only(&dir, &files, &["--reload", "--pid-file", text(&pid)]);
    assert_eq!(run.code, Some(102), "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "Cannot open guard file {}: EROFS (Read-only file system)",
            text(&guard)
        )),
        "{run:?}"
    );

    // A guard that is a symbolic link is refused, read-only or not.
    std::os::unix::fs::symlink("elsewhere", &guard).unwrap();
    let run = check(&[]);
    assert_eq!(run.code, Some(102), "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "Refusing guard file {}: it is a symbolic link",
            text(&guard)
        )),
        "{run:?}"
    );
    std::fs::remove_file(&guard).unwrap();

    // Stopped: not running, seen without the guard.
    assert_eq!(stop(&dir, &pid), Some(0));
    assert!(wait_gone(program, Duration::from_secs(5)));
    std::fs::remove_file(&guard).unwrap();
    let run = check(&[]);
    assert_eq!(run.code, Some(101), "{run:?}");
    assert_eq!(
        run.stdout,
        format!("ucw-daemon-control: not running {SNAPSHOT}\n"),
        "{run:?}"
    );
}

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: runs the check as another user (uid 65534)"
)]
fn another_user_checks_a_daemon_whose_files_are_readable_as_libucw_makes_them() {
    common::require_root("a uid change");
    let dir = TempDir::new("check-other-user");
    set_mode(dir.path(), 0o755);
    let (pid, guard) = (dir.join("d.pid"), dir.join("d.lock"));
    let (supervisor, program) = start_daemon(&dir, &pid);
    // LibUCW creates both files 0666 & ~umask.
    set_mode(&pid, 0o644);
    set_mode(&guard, 0o644);
    let check = || control_as_other_user(&dir, &["--check", "--verbose", "--pid-file", text(&pid)]);

    // The guard is readable: locked shared; the answer is not a snapshot.
    let run = check();
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.stdout,
        format!("ucw-daemon-control: running (pid {supervisor})\n"),
        "{run:?}"
    );
    // Another user changes neither file (only their owner tightens them).
    assert_eq!((mode(&pid), mode(&guard)), (0o644, 0o644));

    // The guard unreadable, or missing in a directory the user cannot write: a snapshot.
    set_mode(&guard, 0o600);
    let run = check();
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.stdout,
        format!("ucw-daemon-control: running (pid {supervisor}) {SNAPSHOT}\n"),
        "{run:?}"
    );
    std::fs::remove_file(&guard).unwrap();
    let run = check();
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.ends_with(&format!("{SNAPSHOT}\n")), "{run:?}");
    assert!(!guard.exists());

    // Every other action keeps the guard: the user may not create it.
    let run = control_as_other_user(&dir, &["--stop", "--pid-file", text(&pid)]);
    assert_eq!(run.code, Some(102), "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "Cannot open guard file {}: EACCES (Permission denied)",
            text(&guard)
        )),
        "{run:?}"
    );
    assert!(common::is_alive(program));

    // A PID file the user cannot read has no answer to give.
    set_mode(&pid, 0o600);
    let run = check();
    assert_eq!(run.code, Some(102), "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "Cannot open PID file {}: EACCES (Permission denied)",
            text(&pid)
        )),
        "{run:?}"
    );

    assert_eq!(stop(&dir, &pid), Some(0));
    assert!(wait_gone(program, Duration::from_secs(5)));
    set_mode(&pid, 0o644);
    let run = check();
    assert_eq!(run.code, Some(101), "{run:?}");
}

#[test]
#[cfg_attr(
    ucw_test_as_root,
    ignore = "root ignores directory permissions: the read-only mount test covers this as root"
)]
fn check_in_a_directory_of_ours_without_write_permission_answers() {
    let dir = TempDir::new("check-no-write");
    let files = dir.join("files");
    std::fs::create_dir(&files).unwrap();
    let (pid, guard) = (files.join("d.pid"), files.join("d.lock"));
    let (supervisor, program) = start_daemon(&dir, &pid);
    set_mode(&files, 0o555);
    let check = || run_control(&dir, &["--check", "--verbose", "--pid-file", text(&pid)]);

    // The guard is ours but not writable: opened read-only, locked shared.
    set_mode(&guard, 0o400);
    let run = check();
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.stdout,
        format!("ucw-daemon-control: running (pid {supervisor})\n"),
        "{run:?}"
    );

    // No guard, and it cannot be created: a snapshot.
    set_mode(&files, 0o755);
    std::fs::remove_file(&guard).unwrap();
    set_mode(&files, 0o555);
    let run = check();
    set_mode(&files, 0o755);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.stdout,
        format!("ucw-daemon-control: running (pid {supervisor}) {SNAPSHOT}\n"),
        "{run:?}"
    );
    assert!(!guard.exists());

    assert_eq!(stop(&dir, &pid), Some(0));
    assert!(wait_gone(program, Duration::from_secs(5)));
}
