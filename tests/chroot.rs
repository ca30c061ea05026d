//! Early boot / `FROM scratch`: both static tools in a fresh mount namespace, chrooted into
//! a directory that holds only the two tools, a static sleeper (tests/aarch64-sleeper, built
//! for the host here) and `/dev/null`: no /proc, no /etc, no libc, no shell.
//!
//! Check/start/reload/stop must work with numeric credentials (`#65534`), user and group
//! names must fail with a clear message (there is no passwd or group file), and no tool may
//! panic. Everything runs under the harness (subreaper + reaper), so orphaned daemons are
//! reaped and cannot look alive.

mod common;

use common::{harness, multicall_tool, Output, TempDir};
use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const PID_FILE: &str = "/run/sleeper.pid";
const PANIC_TEXT: &str = "internal error (panic)";

/// The chroot: `/ucw-daemon` with its two names as hard links (`/ucw-daemon-control`,
/// `/ucw-daemonize`), `/sleeper`, `/dev/null`, `/run`.
struct Scratch {
    _dir: TempDir,
    root: PathBuf,
    logs: PathBuf,
}

impl Scratch {
    fn new() -> Self {
        let dir = TempDir::new("chroot");
        let root = dir.join("root");
        let logs = dir.join("logs");
        fs::create_dir_all(&logs).unwrap();
        for sub in ["dev", "run"] {
            fs::create_dir_all(root.join(sub)).unwrap();
        }
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let sleeper = common::static_sleeper();
        for (from, to) in [
            (Path::new(multicall_tool()), "ucw-daemon"),
            (sleeper.as_path(), "sleeper"),
        ] {
            fs::copy(from, root.join(to)).unwrap();
            fs::set_permissions(root.join(to), fs::Permissions::from_mode(0o755)).unwrap();
        }
        for name in ["ucw-daemon-control", "ucw-daemonize"] {
            fs::hard_link(root.join("ucw-daemon"), root.join(name)).unwrap();
        }
        let null_path = CString::new(root.join("dev/null").into_os_string().into_vec()).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            null_path.as_c_str(),
            rustix::fs::FileType::CharacterDevice,
            rustix::fs::Mode::from_raw_mode(0o666),
            rustix::fs::makedev(1, 3),
        )
        .expect("mknod /dev/null");
        fs::set_permissions(root.join("dev/null"), fs::Permissions::from_mode(0o666)).unwrap();
        Self {
            _dir: dir,
            root,
            logs,
        }
    }

    /// A command that runs `program` (a path inside the chroot) in a fresh mount namespace,
    /// chrooted, with an empty environment.
    fn command(&self, program: &str, args: &[&str]) -> Command {
        let root = CString::new(self.root.as_os_str().as_bytes()).unwrap();
        let mut command = Command::new(program);
        command.args(args).env_clear();
        // SAFETY: the hook runs in the forked child before exec and only makes raw system
        // calls on memory prepared before the fork (no allocation, no locks).
        unsafe {
            command.pre_exec(move || {
                let raw = |errno: rustix::io::Errno| {
                    std::io::Error::from_raw_os_error(errno.raw_os_error())
                };
                rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNS).map_err(raw)?;
                rustix::process::chroot(root.as_c_str()).map_err(raw)?;
                rustix::process::chdir(c"/").map_err(raw)?;
                Ok(())
            });
        }
        command
    }

    /// Runs `program args` in the chroot; its outputs go to a fresh directory under the logs
    /// (returned, so a daemon's later stderr lines can be read from `err.*` there).
    fn run(&self, label: &str, program: &str, args: &[&str]) -> (Output, PathBuf) {
        let logs = self.logs.join(label);
        fs::create_dir_all(&logs).unwrap();
        let spawned = harness().spawn(self.command(program, args), &logs);
        let output = harness().wait(&spawned, Duration::from_secs(30));
        assert!(
            !output.stderr.contains(PANIC_TEXT) && !output.stdout.contains(PANIC_TEXT),
            "{label}: a tool panicked: {}",
            output.stderr
        );
        (output, logs)
    }

    fn control(&self, label: &str, args: &[&str]) -> Output {
        self.run(label, "/ucw-daemon-control", args).0
    }

    fn pid_file_content(&self) -> String {
        fs::read_to_string(self.root.join(PID_FILE.trim_start_matches('/'))).unwrap_or_default()
    }
}

/// Waits up to 10 s (a scaled margin) for a file in `logs` whose name starts with `err.` to
/// contain `line` `count` times.
fn wait_for_line(logs: &Path, line: &str, count: usize) -> bool {
    let deadline = Instant::now() + common::margin(Duration::from_secs(10));
    while Instant::now() < deadline {
        let seen: usize = fs::read_dir(logs)
            .unwrap()
            .flatten()
            .filter(|entry| entry.file_name().to_string_lossy().starts_with("err."))
            .map(|entry| {
                fs::read_to_string(entry.path())
                    .unwrap_or_default()
                    .lines()
                    .filter(|seen| *seen == line)
                    .count()
            })
            .sum();
        if seen >= count {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn assert_code(output: &Output, code: i32, what: &str) {
    assert_eq!(
        output.code,
        Some(code),
        "{what}: expected exit {code}; stdout {:?} stderr {:?}",
        output.stdout,
        output.stderr
    );
}

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: chroot, mknod and unshare(CLONE_NEWNS)"
)]
fn protocol_works_in_an_empty_chroot_without_proc_or_etc() {
    common::require_root("the chroot test (chroot, mknod, unshare)");
    let scratch = Scratch::new();
    let start = [
        "--start",
        "--pid-file",
        PID_FILE,
        "--",
        "/ucw-daemonize",
        "--pid-file",
        PID_FILE,
        "--user",
        "#65534",
        "--group",
        "#65534",
        "--",
        "/sleeper",
    ];
    assert_code(
        &scratch.control("check-absent", &["--check", "--pid-file", PID_FILE]),
        101,
        "check before any start",
    );
    let (started, daemon_logs) = scratch.run("start", "/ucw-daemon-control", &start);
    assert_code(&started, 0, "start with #65534/#65534");
    let pid: i32 = scratch
        .pid_file_content()
        .trim_end()
        .parse()
        .unwrap_or_else(|_| panic!("PID file holds {:?}", scratch.pid_file_content()));
    assert!(common::is_alive(pid), "the supervisor {pid} is not alive");
    // The test itself sees the host's /proc: the daemon dropped to 65534 everywhere.
    let uids = common::proc_status_field(pid, "Uid").unwrap();
    let gids = common::proc_status_field(pid, "Gid").unwrap();
    assert_eq!(uids.split_whitespace().collect::<Vec<_>>(), ["65534"; 4]);
    assert_eq!(gids.split_whitespace().collect::<Vec<_>>(), ["65534"; 4]);
    assert_eq!(
        common::proc_status_field(pid, "Groups").as_deref(),
        Some("65534"),
        "supplementary groups must be [gid] for a #uid without a passwd entry"
    );

    assert_code(
        &scratch.control("check-running", &["--check", "--pid-file", PID_FILE]),
        0,
        "check while running",
    );
    assert_code(
        &scratch.control("start-again", &start),
        100,
        "start while running",
    );
    assert_code(
        &scratch.control("reload", &["--reload", "--pid-file", PID_FILE]),
        0,
        "reload without /proc (lock check alone)",
    );
    assert!(
        wait_for_line(&daemon_logs, "reload", 1),
        "the sleeper never saw the reload"
    );
    assert_code(
        &scratch.control("stop", &["--stop", "--pid-file", PID_FILE]),
        0,
        "stop",
    );
    assert!(
        wait_for_line(&daemon_logs, "stop", 1),
        "the sleeper never saw SIGTERM"
    );
    assert!(common::wait_gone(pid, Duration::from_secs(5)));
    assert_code(
        &scratch.control("check-stopped", &["--check", "--pid-file", PID_FILE]),
        101,
        "check after stop",
    );
    assert_code(
        &scratch.control("stop-again", &["--stop", "--pid-file", PID_FILE]),
        100,
        "stop when stopped",
    );
}

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: chroot, mknod and unshare(CLONE_NEWNS)"
)]
fn names_fail_clearly_without_etc() {
    common::require_root("the chroot test (chroot, mknod, unshare)");
    let scratch = Scratch::new();
    let cases: [(&str, &[&str], &str); 3] = [
        (
            "user-name",
            &["--user", "nobody", "--group", "#65534"],
            "nobody",
        ),
        (
            "group-name",
            &["--user", "#65534", "--group", "nogroup"],
            "nogroup",
        ),
        ("uid-without-group", &["--user", "#65534"], "group"),
    ];
    for (label, credentials, named) in cases {
        let mut direct = vec!["--pid-file", PID_FILE];
        direct.extend_from_slice(credentials);
        direct.extend_from_slice(&["--", "/sleeper"]);
        let (output, _) = scratch.run(label, "/ucw-daemonize", &direct);
        assert_code(&output, 102, label);
        assert!(
            output.stderr.starts_with("ucw-daemonize: ") && output.stderr.contains(named),
            "{label}: unclear error {:?}",
            output.stderr
        );
        // Credentials are resolved before the PID file is touched.
        assert_eq!(scratch.pid_file_content(), "", "{label}: PID file written");

        let mut through_control = vec!["--start", "--pid-file", PID_FILE, "--", "/ucw-daemonize"];
        through_control.extend_from_slice(&direct);
        let output = scratch.control(&format!("{label}-control"), &through_control);
        assert_code(&output, 102, &format!("{label} through --start"));
        assert!(
            output.stderr.contains(named),
            "{label} through --start: unclear error {:?}",
            output.stderr
        );
        assert_code(
            &scratch.control(
                &format!("{label}-check"),
                &["--check", "--pid-file", PID_FILE],
            ),
            101,
            "check after a failed start",
        );
    }
    // No daemon was left behind by any failed start.
    std::thread::sleep(common::margin(Duration::from_millis(100)));
    let leftovers: Vec<i32> = common::children_of_self()
        .into_iter()
        .filter(|pid| {
            common::is_alive(*pid)
                && fs::read_link(format!("/proc/{pid}/root")).ok().as_deref()
                    == Some(scratch.root.as_path())
        })
        .collect();
    assert!(leftovers.is_empty(), "processes left behind: {leftovers:?}");
}

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: chroot, mknod and unshare(CLONE_NEWNS)"
)]
fn a_missing_program_fails_clearly_without_proc() {
    common::require_root("the chroot test (chroot, mknod, unshare)");
    let scratch = Scratch::new();
    let output = scratch.control(
        "missing",
        &[
            "--start",
            "--pid-file",
            PID_FILE,
            "--",
            "/ucw-daemonize",
            "--pid-file",
            PID_FILE,
            "--",
            "/no-such-program",
        ],
    );
    assert_code(&output, 102, "start of a missing program");
    assert!(
        output.stderr.contains("/no-such-program") && output.stderr.contains("ENOENT"),
        "unclear error {:?}",
        output.stderr
    );
    assert_code(
        &scratch.control("check", &["--check", "--pid-file", PID_FILE]),
        101,
        "check after a failed exec",
    );
}
