//! Credential switching checked from outside: daemons started by
//! `tests/fixtures/daemon_probe.rs` (`fixture_daemon_probe`) with crafted passwd/group
//! files, inspected through /proc/<pid>/status (Uid, Gid, Groups, CapPrm/CapEff/CapAmb);
//! plus the public `switch`'s refusal of a multi-threaded process. Uses uids/gids
//! 61010–61099, unused on the machine.

mod common;
#[path = "fixtures/support.rs"]
mod support;

use common::{harness, proc_status_field, TempDir};
use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use ucw_daemon::account::AccountFiles;
use ucw_daemon::credentials::{Credentials, Identity};
use ucw_daemon::Subject;

/// The daemon's PID from the probe launcher's `launched <pid>` line.
fn launched_pid(output: &common::Output) -> i32 {
    output
        .stdout
        .trim()
        .strip_prefix("launched ")
        .unwrap_or_else(|| panic!("{output:?}"))
        .parse()
        .unwrap()
}

fn probe() -> PathBuf {
    common::built_example("fixture_daemon_probe")
}

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
probeuser:x:61010:61010:Probe:/home/probeuser:/bin/sh\n\
probeother:x:61013:61013::/:/bin/sh\n";
const GROUP: &str = "root:x:0:\n\
probeuser:x:61010:\n\
probegrp1:x:61011:probeuser\n\
probegrp2:x:61012:probeother,probeuser\n\
probegrp3:x:61014:probeother\n\
probeexplicit:x:61020:\n";

/// A directory the switched daemon can read (0755) holding the crafted files and a report
/// file it can append to.
struct Setup {
    dir: TempDir,
}

impl Setup {
    fn new(label: &str) -> Self {
        let dir = TempDir::new(label);
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(dir.join("passwd"), PASSWD).unwrap();
        fs::write(dir.join("group"), GROUP).unwrap();
        Self { dir }
    }

    /// Starts a daemon as `user`/`group`; returns its pid and its report.
    fn start(&self, user: Option<&str>, group: Option<&str>) -> (i32, String) {
        self.start_with(user, group, |_| {})
    }

    fn start_with(
        &self,
        user: Option<&str>,
        group: Option<&str>,
        setup: impl FnOnce(&mut Command),
    ) -> (i32, String) {
        let report = self.dir.join("report");
        fs::write(&report, "").unwrap();
        fs::set_permissions(&report, fs::Permissions::from_mode(0o666)).unwrap();
        let _ = fs::remove_file(self.dir.join("stop"));
        let mut command = Command::new(probe());
        command
            .arg(self.dir.join("probe.pid"))
            .env("PROBE_PASSWD", self.dir.join("passwd"))
            .env("PROBE_GROUP_FILE", self.dir.join("group"))
            .env("PROBE_REPORT", &report)
            .env("PROBE_STOP", self.dir.join("stop"));
        if let Some(user) = user {
            command.env("PROBE_USER", user);
        }
        if let Some(group) = group {
            command.env("PROBE_GROUP", group);
        }
        setup(&mut command);
        let spawned = harness().spawn(command, self.dir.path());
        let output = harness().wait(&spawned, Duration::from_secs(20));
        assert_eq!(output.code, Some(0), "{output:?}");
        let pid = launched_pid(&output);
        // The body reports right after its release; wait for it.
        let deadline = std::time::Instant::now() + common::margin(Duration::from_secs(10));
        loop {
            let text = fs::read_to_string(&report).unwrap();
            if text.contains("body=running") {
                return (pid, text);
            }
            assert!(std::time::Instant::now() < deadline, "no report: {text}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn stop(&self, pid: i32) {
        fs::write(self.dir.join("stop"), "").unwrap();
        assert!(common::wait_gone(pid, Duration::from_secs(10)));
        assert_eq!(fs::read(self.dir.join("probe.pid")).unwrap(), b"");
    }
}

/// The credentials of `pid` as /proc shows them.
fn ids(pid: i32) -> (String, String, String) {
    let field = |key| proc_status_field(pid, key).unwrap();
    let words = |text: String| text.split_whitespace().collect::<Vec<_>>().join(" ");
    (
        words(field("Uid")),
        words(field("Gid")),
        words(field("Groups")),
    )
}

fn assert_unprivileged(pid: i32, report: &str) {
    for key in ["CapPrm", "CapEff", "CapAmb"] {
        assert_eq!(
            proc_status_field(pid, key).as_deref(),
            Some("0000000000000000"),
            "{key}"
        );
    }
    // The body tried setresuid(0, 0, 0) itself: EPERM.
    assert!(report.contains("setresuid-root=errno 1\n"), "{report}");
}

/// Starts the probe daemon as `user`/`group` and checks, from `/proc`, that all four uids are
/// `uid`, all four gids `gid`, the supplementary groups exactly `groups`, and that no way
/// back to root is left.
fn assert_switch(
    label: &str,
    user: Option<&str>,
    group: Option<&str>,
    uid: u32,
    gid: u32,
    groups: &str,
) {
    common::require_root("switching to another user or group");
    let setup = Setup::new(label);
    let (pid, report) = setup.start(user, group);
    assert_eq!(
        ids(pid),
        (
            format!("{uid} {uid} {uid} {uid}"),
            format!("{gid} {gid} {gid} {gid}"),
            groups.to_string()
        )
    );
    assert_unprivileged(pid, &report);
    setup.stop(pid);
}

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: switching to another user"
)]
fn user_with_supplementary_groups() {
    assert_switch(
        "cred-user",
        Some("probeuser"),
        None,
        61010,
        61010,
        "61010 61011 61012",
    );
}

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: switching to another user"
)]
fn user_with_explicit_group_gets_initgroups_with_that_gid() {
    assert_switch(
        "cred-user-group",
        Some("probeuser"),
        Some("probeexplicit"),
        61010,
        61020,
        "61011 61012 61020",
    );
}

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: switching to another user"
)]
fn numeric_uid_listed_in_passwd() {
    assert_switch(
        "cred-hash-uid",
        Some("#61013"),
        None,
        61013,
        61013,
        "61012 61013 61014",
    );
}

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: switching to another user"
)]
fn numeric_uid_and_gid() {
    assert_switch(
        "cred-hash-both",
        Some("#61030"),
        Some("#61031"),
        61030,
        61031,
        "61031",
    );
}

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: switching groups and raising an ambient capability"
)]
fn group_only() {
    common::require_root("switching groups");
    let setup = Setup::new("cred-group");
    // The launcher has a capability in its ambient set: the switch must clear it.
    let (pid, report) = setup.start_with(None, Some("probegrp1"), |command| {
        command.env("PROBE_RAISE_AMBIENT", "1");
    });
    assert!(report.contains("launcher-ambient=true\n"), "{report}");
    assert_eq!(
        proc_status_field(pid, "CapAmb").as_deref(),
        Some("0000000000000000")
    );
    assert_eq!(
        ids(pid),
        (
            "0 0 0 0".into(),
            "61011 61011 61011 61011".into(),
            "61011".into()
        )
    );
    // Still root: a group switch alone does not drop the user.
    assert!(report.contains("setresuid-root=ok\n"), "{report}");
    setup.stop(pid);
}

#[test]
fn unknown_user_fails_before_any_file_changes() {
    let setup = Setup::new("cred-unknown");
    let mut command = Command::new(probe());
    command
        .arg(setup.dir.join("probe.pid"))
        .env("PROBE_PASSWD", setup.dir.join("passwd"))
        .env("PROBE_GROUP_FILE", setup.dir.join("group"))
        .env("PROBE_USER", "nosuchuser");
    let spawned = harness().spawn(command, setup.dir.path());
    let output = harness().wait(&spawned, Duration::from_secs(20));
    assert_eq!(output.code, Some(102));
    assert_eq!(
        output.stderr.trim(),
        format!(
            "fixture_daemon_probe: No such user `nosuchuser` in {}",
            setup.dir.join("passwd").display()
        )
    );
    assert!(!setup.dir.join("probe.pid").exists());
}

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: starting a process as another user"
)]
fn non_root_switch_to_itself_is_a_no_op() {
    common::require_root("starting a process as another user");
    let setup = Setup::new("cred-noop");
    let run_dir = setup.dir.join("run");
    fs::create_dir(&run_dir).unwrap();
    std::os::unix::fs::chown(&run_dir, Some(61010), Some(61010)).unwrap();
    let report = setup.dir.join("report");
    fs::write(&report, "").unwrap();
    fs::set_permissions(&report, fs::Permissions::from_mode(0o666)).unwrap();
    let mut command = Command::new(probe());
    command
        .arg(run_dir.join("probe.pid"))
        .env("PROBE_PASSWD", setup.dir.join("passwd"))
        .env("PROBE_GROUP_FILE", setup.dir.join("group"))
        .env("PROBE_USER", "#61010")
        .env("PROBE_GROUP", "#61010")
        .env("PROBE_REPORT", &report)
        .env("PROBE_STOP", setup.dir.join("stop"))
        .uid(61010)
        .gid(61010);
    let spawned = harness().spawn(command, setup.dir.path());
    let output = harness().wait(&spawned, Duration::from_secs(20));
    // Without the no-op rule setgroups would fail with EPERM.
    assert_eq!(output.code, Some(0), "{output:?}");
    let pid = launched_pid(&output);
    assert_eq!(ids(pid).0, "61010 61010 61010 61010");
    fs::write(setup.dir.join("stop"), "").unwrap();
    assert!(common::wait_gone(pid, Duration::from_secs(10)));
}

#[test]
fn public_switch_refuses_a_multi_threaded_process() {
    // The test harness has a reaper thread, and the test runs on its own thread.
    let _ = harness();
    let dir = TempDir::new("cred-threads");
    let passwd = CString::new(dir.join("passwd").as_os_str().as_bytes()).unwrap();
    let group = CString::new(dir.join("group").as_os_str().as_bytes()).unwrap();
    let files = AccountFiles {
        passwd: &passwd,
        group: &group,
    };
    let mut groups = [rustix::process::Gid::ROOT; 16];
    let mut credentials = Credentials::new(&mut groups);
    let group = Identity::parse(b"#61040", Subject::Group).unwrap();
    credentials.resolve(None, Some(group), &files).unwrap();
    let error = credentials.switch().unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with("Cannot switch user/group: the process has "),
        "{message}"
    );
    assert!(
        message.ends_with(" threads (set*id would change only one of them)"),
        "{message}"
    );
    assert_eq!(error.kind(), ucw_daemon::ErrorKind::MultiThreaded);
    assert_ne!(rustix::process::getegid().as_raw(), 61040);
    // Nothing asked: nothing to refuse.
    credentials.resolve(None, None, &files).unwrap();
    credentials.switch().unwrap();
}

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: starting a process as another user"
)]
fn setup_error_in_the_daemon_is_returned_by_the_launcher() {
    common::require_root("starting a process as another user");
    let setup = Setup::new("cred-setup-error");
    let run_dir = setup.dir.join("run");
    fs::create_dir(&run_dir).unwrap();
    std::os::unix::fs::chown(&run_dir, Some(61010), Some(61010)).unwrap();
    let pid_file = run_dir.join("probe.pid");
    let mut command = Command::new(probe());
    command
        .arg(&pid_file)
        .env("PROBE_USER", "#61011")
        .env("PROBE_GROUP", "#61011")
        .uid(61010)
        .gid(61010);
    let spawned = harness().spawn(command, setup.dir.path());
    let output = harness().wait(&spawned, Duration::from_secs(20));
    // An unprivileged launcher cannot switch: the daemon's setgroups fails, and the launcher
    // returns the daemon's own message.
    assert_eq!(output.code, Some(102), "{output:?}");
    assert_eq!(
        output.stderr.trim(),
        "fixture_daemon_probe: Cannot set supplementary groups: EPERM (Operation not permitted)"
    );
    assert_eq!(fs::read(&pid_file).unwrap(), b"");
    // Unlocked: nobody holds it any more.
    let file = fs::File::open(&pid_file).unwrap();
    // SAFETY: `file` stays open for the call.
    let fd = unsafe { rustix::fd::BorrowedFd::borrow_raw(std::os::fd::AsRawFd::as_raw_fd(&file)) };
    rustix::fs::flock(fd, rustix::fs::FlockOperation::NonBlockingLockExclusive).unwrap();
}

/// A process whose saved set-user-ID is still 0 (a setuid program that only dropped its
/// effective uid) "switching" to its own uid must lose that saved 0: afterwards
/// `setresuid(0, 0, 0)` fails. (It used to be skipped as a no-op, leaving a way back to root.)
#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: setting a saved set-user-ID of 0"
)]
fn switching_to_ourselves_drops_a_saved_root_uid() {
    common::require_root("setting a saved set-user-ID of 0");
    let dir = TempDir::new("cred-saved-uid");
    let passwd = CString::new(dir.join("passwd").as_os_str().as_bytes()).unwrap();
    let group = CString::new(dir.join("group").as_os_str().as_bytes()).unwrap();
    let files = AccountFiles {
        passwd: &passwd,
        group: &group,
    };
    let mut groups = [rustix::process::Gid::ROOT; 16];
    let mut credentials = Credentials::new(&mut groups);
    credentials
        .resolve(
            Some(Identity::parse(b"#61050", Subject::User).unwrap()),
            Some(Identity::parse(b"#61050", Subject::Group).unwrap()),
            &files,
        )
        .unwrap();
    let uid = rustix::process::Uid::from_raw(61050);
    let gid = rustix::process::Gid::from_raw(61050);
    let root = rustix::process::Uid::ROOT;
    // The child's verdict travels through a pipe: this file's harness thread reaps every
    // child, so a waitpid here could find nothing to wait for.
    let (verdict_read, verdict_write) = rustix::pipe::pipe().unwrap();
    // The C library's fork (this test process has one, and threads): the child makes only
    // system calls and ends with _exit.
    if support::libc_fork().unwrap().is_none() {
        let setup = rustix::thread::set_thread_groups(&[gid])
            .and_then(|()| rustix::thread::set_thread_res_gid(gid, gid, gid))
            .and_then(|()| rustix::thread::set_thread_res_uid(uid, uid, root));
        let verdict: &[u8] = if setup.is_err() {
            b"test setup failed"
        } else if credentials.switch().is_err() {
            b"switch failed"
        } else if rustix::thread::set_thread_res_uid(root, root, root).is_ok() {
            b"root regained through the saved uid"
        } else {
            b"ok"
        };
        let _ = rustix::io::write(&verdict_write, verdict);
        support::exit_now(0)
    }
    drop(verdict_write);
    let mut verdict = [0u8; 64];
    let length = rustix::io::read(&verdict_read, &mut verdict).unwrap();
    assert_eq!(std::str::from_utf8(&verdict[..length]).unwrap(), "ok");
}
