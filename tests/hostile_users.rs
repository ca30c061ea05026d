//! What a hostile local user (or a careless admin) tries against the tools, each case run
//! against the real tools as it would be met: a `/proc` of another PID namespace than the
//! controller's (the proof and the signal must be about one process), PID and guard files
//! that are hard links to someone else's file (never changed), a fake `READY=1` from an
//! unrelated process of the same uid (ignored), and the launch outcomes whose messages must
//! say what happened (EMFILE during the proof, a program that exits right after it was
//! ready, a `--notify-fd` that cannot be set up).
//!
//! Tests that need root (namespaces, mounts, uid changes) are ignored, saying why, when the
//! tests were not built by root.

mod common;

use common::{
    check, control_tool, daemonize_tool, eventually, fixture, harness, is_alive, proc_status_field,
    reported, run_control as control, static_sleeper, stop, text, wait_gone, Output, TempDir,
};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Runs a shell script (`sh -c`) with `arguments` as `$1`, `$2`, ...
fn shell(dir: &TempDir, script: &str, arguments: &[&str]) -> Output {
    let mut all = vec!["-c", script, "sh"];
    all.extend_from_slice(arguments);
    harness().run("/bin/sh", all, dir.path())
}

/// The `key=value` lines a script printed, as (key, value) pairs.
fn lines(output: &Output) -> Vec<(String, String)> {
    output
        .stdout
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

/// The value a script printed for `key`.
fn printed(output: &Output, key: &str) -> String {
    lines(output)
        .into_iter()
        .find(|(found, _)| found == key)
        .map(|(_, value)| value)
        .unwrap_or_else(|| panic!("the script printed no {key}=: {output:?}"))
}

fn kill(pid: i32, signal: rustix::process::Signal) {
    let _ = rustix::process::kill_process(rustix::process::Pid::from_raw(pid).unwrap(), signal);
}

// --- 1. one identity for proof and signal --------------------------------------------------

/// The start of the namespace scripts: in a PID namespace A with its own /proc, twelve
/// bystanders take A's numbers 2–13 (the numbers a daemon started first thing in a child
/// namespace B gets there); then `$SCRIPT_B` runs in B (`unshare -p -f` without a new
/// /proc: B's processes see A's /proc). Afterwards it prints how many bystanders live.
const IN_A: &str = r#"
bystanders=
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 1000 & bystanders="$bystanders $!"; done
sleep 0.1
unshare -p -f /bin/sh -c "$SCRIPT_B" sh "$@"
alive=0
for pid in $bystanders; do kill -0 "$pid" 2>/dev/null && alive=$((alive + 1)); done
echo "bystanders=$alive"
kill $bystanders 2>/dev/null
exit 0
"#;

/// In B: starts the static sleeper under `ucw-daemonize` (`$1` control, `$2` daemonize, `$3`
/// sleeper, `$4` PID file, `$5` the sleeper's log), says what A's /proc shows at the daemon's
/// number in B, then reloads and stops it.
const STOP_IN_B: &str = r#"
"$1" --start --pid-file "$4" -- "$2" --pid-file "$4" --stderr "$5" -- "$3"
echo "start=$?"
daemon=$(cat "$4")
echo "daemon=$daemon"
echo "proc_there=$(tr '\0' ' ' < /proc/$daemon/cmdline)"
"$1" --reload --timeout 5 --pid-file "$4"
echo "reload=$?"
"$1" --stop --timeout 5 --pid-file "$4"
echo "stop=$?"
"#;

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: PID and mount namespaces (unshare)"
)]
fn stop_and_reload_with_a_parent_namespace_proc_reach_the_daemon_not_a_bystander() {
    common::require_root("PID namespaces");
    let dir = TempDir::new("foreign-proc");
    let (pid, log) = (dir.join("d.pid"), dir.join("sleeper.log"));
    let sleeper = static_sleeper();
    let mut command = Command::new("unshare");
    command
        .args(["-p", "-f", "--mount-proc", "/bin/sh", "-c", IN_A, "sh"])
        .args([control_tool(), daemonize_tool(), text(&sleeper)])
        .args([text(&pid), text(&log)])
        .env("SCRIPT_B", STOP_IN_B);
    let run = harness().spawn(command, dir.path());
    let run = harness().wait(&run, Duration::from_secs(60));
    assert_eq!(printed(&run, "start"), "0", "{run:?}");
    // The number the PID file gives (B's) is a bystander's in the /proc the controller sees.
    assert!(
        printed(&run, "proc_there").starts_with("sleep 1000"),
        "the daemon's number must name a bystander in A's /proc: {run:?}"
    );
    assert_eq!(printed(&run, "reload"), "0", "{run:?}");
    assert_eq!(printed(&run, "stop"), "0", "{run:?}");
    assert_eq!(printed(&run, "bystanders"), "12", "{run:?}");
    let log = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        log, "reload\nstop\n",
        "the daemon got the reload and the stop"
    );
}

/// In B: starts the hostile program (its uid changed, so it survives its supervisor) under
/// `ucw-daemonize`, then runs `--stop` armed to stop at the proof (`UCW_FAILPOINT`); the
/// test kills the supervisor meanwhile. `$1` control, `$2` daemonize, `$3` program, `$4` PID
/// file, `$5` report file.
const SESSION_IN_B: &str = r#"
"$1" --start --pid-file "$4" -- "$2" --pid-file "$4" -- "$3" "report=$5" setuid=65534
echo "start=$?"
# Once the program has changed its uid, its supervisor's death no longer kills it.
i=0
while ! grep -q '^uid=' "$5" && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
daemon=$(cat "$4")
echo "proc_there=$(tr '\0' ' ' < /proc/$daemon/cmdline)"
: > "$4.armed"
UCW_FAILPOINT=control-proving-holder "$1" --stop --timeout 10 --pid-file "$4"
echo "stop=$?"
: > "$4.stopped"
while [ ! -e "$4.go" ]; do sleep 0.05; done
"#;

/// A live process (not a zombie) of the test's own namespace that runs `program` (its
/// `argv[0]`) with every word of `words` among its arguments.
fn find_process(program: &str, words: &[&str]) -> Option<i32> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let line = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let line = String::from_utf8_lossy(&line).into_owned();
            let mut arguments = line.split('\0');
            let found = arguments.next() == Some(program)
                && words
                    .iter()
                    .all(|word| arguments.clone().any(|argument| argument == *word));
            (found && is_alive(pid)).then_some(pid)
        })
}

#[test]
#[cfg_attr(
    all(ucw_failpoints, not(ucw_test_as_root)),
    ignore = "needs root: PID and mount namespaces (unshare), a program that changes its uid"
)]
#[cfg_attr(
    not(ucw_failpoints),
    ignore = "needs --cfg ucw_failpoints: tests/run-all runs it"
)]
fn the_session_fallback_with_a_parent_namespace_proc_signals_the_holders() {
    common::require_root("PID namespaces");
    let dir = TempDir::new("foreign-proc-session");
    let (pid, report) = (dir.join("d.pid"), dir.join("report"));
    // The program reports after it became uid 65534.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    std::fs::write(&report, "").unwrap();
    std::fs::set_permissions(&report, std::fs::Permissions::from_mode(0o666)).unwrap();
    let program = fixture("fixture_hostile_program");
    let mut command = Command::new("unshare");
    command
        .args(["-p", "-f", "--mount-proc", "/bin/sh", "-c", IN_A, "sh"])
        .args([control_tool(), daemonize_tool(), text(&program)])
        .args([text(&pid), text(&report)])
        .env("SCRIPT_B", SESSION_IN_B);
    let run = harness().spawn(command, dir.path());
    let armed = Path::new(&format!("{}.armed", text(&pid))).to_path_buf();
    assert!(eventually(Duration::from_secs(20), || armed.exists()));
    // The stop halts inside the proof of the supervisor (after translating its number)...
    let mut controller = None;
    assert!(eventually(Duration::from_secs(10), || {
        controller = find_process(control_tool(), &["--stop", text(&pid)]).filter(|&found| {
            proc_status_field(found, "State").is_some_and(|state| state.starts_with('T'))
        });
        controller.is_some()
    }));
    let controller = controller.unwrap();
    // ... where the supervisor dies: its program (another uid: no parent-death signal) keeps
    // the lock, so the stop must find it in the dead supervisor's session.
    let supervisor =
        find_process(daemonize_tool(), &[text(&pid)]).expect("the supervisor in our namespace");
    let report_word = format!("report={}", text(&report));
    let holder =
        find_process(text(&program), &[&report_word]).expect("the program in our namespace");
    kill(supervisor, rustix::process::Signal::KILL);
    assert!(wait_gone(supervisor, Duration::from_secs(5)));
    // Each look at a holder halts again: go on until the stop is done.
    let stopped = dir.join("d.pid.stopped");
    assert!(eventually(Duration::from_secs(20), || {
        kill(controller, rustix::process::Signal::CONT);
        stopped.exists()
    }));
    // Before the namespace ends (which would kill it anyway): the stop ended the holder.
    let holder_gone = wait_gone(holder, Duration::from_secs(5));
    std::fs::write(dir.join("d.pid.go"), "").unwrap();
    let run = harness().wait(&run, Duration::from_secs(30));
    assert_eq!(printed(&run, "start"), "0", "{run:?}");
    assert!(
        printed(&run, "proc_there").starts_with("sleep 1000"),
        "the daemon's number must name a bystander in A's /proc: {run:?}"
    );
    assert_eq!(printed(&run, "stop"), "0", "{run:?}");
    assert_eq!(printed(&run, "bystanders"), "12", "{run:?}");
    assert!(holder_gone, "the holder outlived the stop");
}

/// In B: the supervisor is already gone when the stop begins, so its session cannot be
/// numbered in A's /proc: the stop refuses. `$1` control, `$2` daemonize, `$3` program, `$4`
/// PID file, `$5` report file.
const GONE_IN_B: &str = r#"
"$1" --start --pid-file "$4" -- "$2" --pid-file "$4" -- "$3" "report=$5" setuid=65534
echo "start=$?"
# Once the program has changed its uid, its supervisor's death no longer kills it.
i=0
while ! grep -q '^uid=' "$5" && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
kill -KILL "$(cat "$4")"
sleep 0.2
"$1" --stop --timeout 2 --pid-file "$4" 2>&1
echo "stop=$?"
: > "$4.stopped"
while [ ! -e "$4.go" ]; do sleep 0.05; done
"#;

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: PID and mount namespaces (unshare), a program that changes its uid"
)]
fn the_session_fallback_refuses_what_a_parent_namespace_proc_cannot_number() {
    common::require_root("PID namespaces");
    let dir = TempDir::new("foreign-proc-gone");
    let (pid, report) = (dir.join("d.pid"), dir.join("report"));
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    std::fs::write(&report, "").unwrap();
    std::fs::set_permissions(&report, std::fs::Permissions::from_mode(0o666)).unwrap();
    let program = fixture("fixture_hostile_program");
    let mut command = Command::new("unshare");
    command
        .args(["-p", "-f", "--mount-proc", "/bin/sh", "-c", IN_A, "sh"])
        .args([control_tool(), daemonize_tool(), text(&program)])
        .args([text(&pid), text(&report)])
        .env("SCRIPT_B", GONE_IN_B);
    let run = harness().spawn(command, dir.path());
    let stopped = dir.join("d.pid.stopped");
    assert!(eventually(Duration::from_secs(20), || stopped.exists()));
    // The refused stop signalled nothing: the program still runs, holding the lock.
    let report_word = format!("report={}", text(&report));
    let holder = find_process(text(&program), &[&report_word]);
    std::fs::write(dir.join("d.pid.go"), "").unwrap();
    let run = harness().wait(&run, Duration::from_secs(30));
    assert_eq!(printed(&run, "start"), "0", "{run:?}");
    assert_eq!(printed(&run, "stop"), "102", "{run:?}");
    assert!(
        run.stdout
            .contains("ucw-daemon-control: /proc shows another PID namespace; not signalling\n"),
        "{run:?}"
    );
    assert_eq!(printed(&run, "bystanders"), "12", "{run:?}");
    assert!(holder.is_some(), "the program was signalled");
}

/// In a private mount namespace, a procfs of a child PID namespace (`$1` a marker file made
/// once it is mounted) is mounted over /proc; the controller (`$2`, PID file `$3`) then
/// reloads and stops.
const CHILD_PROC: &str = r#"
unshare -p -f --kill-child /bin/sh -c 'mount -t proc proc /proc && : > "$1" && exec sleep 60' sh "$1" &
child=$!
i=0
while [ ! -e "$1" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
echo "self=$(readlink /proc/self || echo none)"
"$2" --reload --pid-file "$3" 2>&1
echo "reload=$?"
"$2" --stop --timeout 2 --pid-file "$3" 2>&1
echo "stop=$?"
kill "$child"
"#;

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: mount and PID namespaces (unshare), mounting procfs"
)]
fn a_proc_of_a_child_namespace_is_refused_and_nothing_is_signalled() {
    common::require_root("mount namespaces");
    let dir = TempDir::new("child-proc");
    let (pid, log, marker) = (
        dir.join("d.pid"),
        dir.join("sleeper.log"),
        dir.join("mounted"),
    );
    let sleeper = static_sleeper();
    let started = control(
        &dir,
        &[
            "--start",
            "--pid-file",
            text(&pid),
            "--",
            daemonize_tool(),
            "--pid-file",
            text(&pid),
            "--stderr",
            text(&log),
            "--",
            text(&sleeper),
        ],
    );
    assert_eq!(started.code, Some(0), "{started:?}");
    let run = harness().run(
        "unshare",
        [
            "-m",
            "--propagation",
            "private",
            "/bin/sh",
            "-c",
            CHILD_PROC,
            "sh",
            text(&marker),
            control_tool(),
            text(&pid),
        ],
        dir.path(),
    );
    assert_eq!(printed(&run, "self"), "none", "{run:?}");
    let refusal = "ucw-daemon-control: /proc shows another PID namespace; not signalling\n";
    assert_eq!(printed(&run, "reload"), "102", "{run:?}");
    assert_eq!(printed(&run, "stop"), "102", "{run:?}");
    assert_eq!(run.stdout.matches(refusal).count(), 2, "{run:?}");
    // Nothing was signalled: the daemon runs and logged nothing.
    assert_eq!(check(&dir, &pid), Some(0));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "");
    assert_eq!(stop(&dir, &pid), Some(0));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "stop\n");
}

// --- 2. files that cannot be borrowed --------------------------------------------------------

/// What must never change about a stand-in file.
#[derive(Debug, PartialEq, Eq)]
struct Fingerprint {
    contents: Vec<u8>,
    mode: u32,
    uid: u32,
    gid: u32,
    size: u64,
}

fn fingerprint(path: &Path) -> Fingerprint {
    let metadata = std::fs::metadata(path).unwrap();
    Fingerprint {
        contents: std::fs::read(path).unwrap(),
        mode: metadata.mode() & 0o7777,
        uid: metadata.uid(),
        gid: metadata.gid(),
        size: metadata.size(),
    }
}

/// A root-owned (when the tests run as root, as CI does) `0640` file standing in for
/// something precious, such as `/etc/shadow`.
fn stand_in(dir: &TempDir, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, "root:precious:19000::::::\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    path
}

#[test]
fn a_hard_linked_pid_file_is_refused_by_every_action_and_never_changed() {
    let dir = TempDir::new("hard-link-pid");
    let original = stand_in(&dir, "stand-in");
    let pid = dir.join("d.pid");
    std::fs::hard_link(&original, &pid).unwrap();
    let before = fingerprint(&original);
    let refusal = format!("Refusing PID file {}: it has 2 hard links", text(&pid));
    let sleeper = static_sleeper();
    let start = [
        "--start",
        "--pid-file",
        text(&pid),
        "--",
        daemonize_tool(),
        "--pid-file",
        text(&pid),
        "--",
        text(&sleeper),
    ];
    for arguments in [
        &["--check", "--pid-file", text(&pid)][..],
        &start[..],
        &["--reload", "--pid-file", text(&pid)][..],
        &["--stop", "--timeout", "2", "--pid-file", text(&pid)][..],
        &["--restart", "--pid-file", text(&pid), "--", "/bin/true"][..],
    ] {
        let run = control(&dir, arguments);
        assert_eq!(run.code, Some(102), "{arguments:?}: {run:?}");
        assert_eq!(
            run.stderr,
            format!("ucw-daemon-control: {refusal}\n"),
            "{arguments:?}"
        );
        assert_eq!(fingerprint(&original), before, "{arguments:?} changed it");
    }
    // ucw-daemonize itself (daemon::init).
    let run = harness().run(
        daemonize_tool(),
        ["--pid-file", text(&pid), "--", text(&sleeper)],
        dir.path(),
    );
    assert_eq!(run.code, Some(102), "{run:?}");
    assert_eq!(run.stderr, format!("ucw-daemonize: {refusal}\n"));
    assert_eq!(fingerprint(&original), before, "ucw-daemonize changed it");
    // The library's daemon::init, in this process.
    let path = std::ffi::CString::new(text(&pid)).unwrap();
    let params = ucw_daemon::daemon::Params {
        pid_file: Some(&path),
        ..ucw_daemon::daemon::Params::default()
    };
    let mut groups = [rustix::process::Gid::ROOT; 16];
    let mut credentials = ucw_daemon::credentials::Credentials::new(&mut groups);
    let error = match ucw_daemon::daemon::init(&params, &mut credentials) {
        Ok(_) => panic!("daemon::init accepted a hard-linked PID file"),
        Err(error) => error,
    };
    assert_eq!(error.kind(), ucw_daemon::ErrorKind::Refused);
    assert_eq!(error.display(&params).to_string(), refusal);
    assert_eq!(fingerprint(&original), before, "daemon::init changed it");
    assert!(children_are_gone(&dir));
}

/// No process of this test's start is left (a refused start launches nothing).
fn children_are_gone(dir: &TempDir) -> bool {
    find_process(daemonize_tool(), &[text(&dir.join("d.pid"))]).is_none()
}

#[test]
fn a_hard_linked_guard_file_is_refused_and_never_changed() {
    let dir = TempDir::new("hard-link-guard");
    let original = stand_in(&dir, "stand-in");
    let (pid, guard) = (dir.join("d.pid"), dir.join("d.lock"));
    std::fs::hard_link(&original, &guard).unwrap();
    let before = fingerprint(&original);
    let refusal = format!(
        "ucw-daemon-control: Refusing guard file {}: it has 2 hard links\n",
        text(&guard)
    );
    for action in ["--check", "--stop", "--reload"] {
        let run = control(&dir, &[action, "--pid-file", text(&pid)]);
        assert_eq!(run.code, Some(102), "{action}: {run:?}");
        assert_eq!(run.stderr, refusal, "{action}");
        assert_eq!(fingerprint(&original), before, "{action} changed it");
    }
    let run = control(
        &dir,
        &["--start", "--pid-file", text(&pid), "--", "/bin/true"],
    );
    assert_eq!(run.code, Some(102), "{run:?}");
    assert_eq!(run.stderr, refusal);
    assert_eq!(fingerprint(&original), before, "--start changed it");
    // A missing guard is still created, and a file of ours readable by others tightened.
    std::fs::remove_file(&guard).unwrap();
    assert_eq!(check(&dir, &pid), Some(101));
    assert_eq!(std::fs::metadata(&guard).unwrap().mode() & 0o777, 0o600);
}

// --- 3. readiness that cannot be faked -------------------------------------------------------

/// Sends `READY=1` to the abstract socket `name` (without its `@`).
fn send_ready(name: &str) {
    let socket = rustix::net::socket(
        rustix::net::AddressFamily::UNIX,
        rustix::net::SocketType::DGRAM,
        None,
    )
    .unwrap();
    let address = rustix::net::SocketAddrUnix::new_abstract_name(name.as_bytes()).unwrap();
    let _ = rustix::net::sendto(
        &socket,
        b"READY=1\n",
        rustix::net::SendFlags::empty(),
        &address,
    );
}

/// `NOTIFY_SOCKET` in a process's environment, as any process of its uid can read it.
fn notify_socket_of(pid: i32) -> Option<String> {
    let environment = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    environment.split(|&byte| byte == 0).find_map(|entry| {
        let entry = std::str::from_utf8(entry).ok()?;
        entry.strip_prefix("NOTIFY_SOCKET=@").map(str::to_owned)
    })
}

/// In a new PID namespace whose first process (this shell) keeps the process group and
/// session it had outside: starts a program that never becomes ready, and meanwhile, from
/// that outside group, claims readiness on its socket. `$1` control, `$2` daemonize, `$3`
/// the hostile program, `$4` PID file, `$5` report file.
const FOREIGN_GROUP_READY: &str = r#"
"$1" --start --timeout 2 --pid-file "$4" -- "$2" --pid-file "$4" --notify-socket -- "$3" "report=$5" 2>"$5.stderr" &
starter=$!
sent=0
while kill -0 "$starter" 2>/dev/null; do
    program=$(sed -n 's/^pid=//p' "$5" | head -n 1)
    if [ -n "$program" ]; then
        name=$(tr '\0' '\n' < "/proc/$program/environ" | sed -n 's/^NOTIFY_SOCKET=//p')
        if [ -n "$name" ]; then
            NOTIFY_SOCKET=$name "$3" ready-after=0,socket exit-after=0 && sent=$((sent + 1))
        fi
    fi
    sleep 0.05
done
wait "$starter"
echo "start=$?"
echo "sent=$sent"
echo "stderr=$(cat "$5.stderr")"
"$1" --check --pid-file "$4"
echo "check=$?"
"#;

/// A sender whose process group and session began outside the supervisor's PID namespace
/// (they have no number there: `getpgid` and `getsid` answer 0) is not the service; the
/// supervisor must neither take its word nor stumble over the 0.
#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: a PID namespace (unshare)"
)]
fn a_ready_from_a_group_outside_our_namespace_is_ignored() {
    common::require_root("PID namespaces");
    let dir = TempDir::new("foreign-group-ready");
    let (pid, report) = (dir.join("d.pid"), dir.join("report"));
    let program = fixture("fixture_hostile_program");
    let mut command = Command::new("unshare");
    command
        .args([
            "-p",
            "-f",
            "--mount-proc",
            "/bin/sh",
            "-c",
            FOREIGN_GROUP_READY,
            "sh",
        ])
        .args([control_tool(), daemonize_tool(), text(&program)])
        .args([text(&pid), text(&report)]);
    let run = harness().spawn(command, dir.path());
    let run = harness().wait(&run, Duration::from_secs(60));
    assert!(
        printed(&run, "sent").parse::<u32>().unwrap() >= 3,
        "the claim was not made: {run:?}"
    );
    assert_eq!(printed(&run, "start"), "102", "{run:?}");
    assert!(
        printed(&run, "stderr").contains("did not finish within 2 s"),
        "{run:?}"
    );
    assert_eq!(printed(&run, "check"), "101", "{run:?}");
}

#[test]
fn a_fake_ready_from_an_unrelated_process_is_ignored() {
    let dir = TempDir::new("fake-ready");
    let (pid, report) = (dir.join("d.pid"), dir.join("report"));
    let report_word = format!("report={}", text(&report));
    // The attacker: this test process, of the same uid, neither the program nor in its
    // group or session. It reads the socket's name from the program's environment and
    // claims readiness until the start has answered.
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let attacker = {
        let (report, answered) = (report.clone(), answered.clone());
        std::thread::spawn(move || {
            let mut sent = 0;
            while !answered.load(std::sync::atomic::Ordering::Relaxed) {
                let program = reported(&report, "pid=").first().copied();
                if let Some(name) = program.and_then(notify_socket_of) {
                    send_ready(&name);
                    sent += 1;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            sent
        })
    };
    let began = Instant::now();
    let started = common::start_hostile(
        &dir,
        &pid,
        &["--timeout", "2"],
        &["--notify-socket"],
        &[&report_word],
    );
    let took = began.elapsed();
    answered.store(true, std::sync::atomic::Ordering::Relaxed);
    let sent = attacker.join().unwrap();
    assert_eq!(started.code, Some(102), "{started:?} after {took:?}");
    assert!(sent > 10, "the attacker sent only {sent} datagrams");
    assert!(
        started.stderr.contains("did not finish within 2 s"),
        "{started:?}"
    );
    assert!(took >= Duration::from_secs(2), "answered after {took:?}");
    assert!(took < Duration::from_secs(6), "answered after {took:?}");
    // Nothing of the start is left.
    assert!(eventually(Duration::from_secs(5), || check(&dir, &pid) == Some(101)));
    for program in reported(&report, "pid=") {
        assert!(wait_gone(program, Duration::from_secs(5)));
    }
}

#[test]
fn a_helper_of_the_program_may_say_ready() {
    let dir = TempDir::new("helper-ready");
    let pid = dir.join("d.pid");
    let started = common::start_hostile(
        &dir,
        &pid,
        &["--timeout", "10"],
        &["--notify-socket"],
        &["ready-after=100,socket-helper"],
    );
    assert_eq!(started.code, Some(0), "{started:?}");
    assert_eq!(check(&dir, &pid), Some(0));
    assert_eq!(stop(&dir, &pid), Some(0));
}

// --- 4. messages that say what happened -----------------------------------------------------

#[test]
fn emfile_during_the_proof_names_the_path_that_failed() {
    let dir = TempDir::new("emfile");
    let pid = dir.join("d.pid");
    let sleeper = static_sleeper();
    let started = control(
        &dir,
        &[
            "--start",
            "--pid-file",
            text(&pid),
            "--",
            daemonize_tool(),
            "--pid-file",
            text(&pid),
            "--",
            text(&sleeper),
        ],
    );
    assert_eq!(started.code, Some(0), "{started:?}");
    let mut seen = Vec::new();
    for limit in ["5", "6", "7", "8"] {
        for action in ["--stop", "--reload"] {
            let run = shell(
                &dir,
                "ulimit -n \"$1\" && exec \"$2\" \"$3\" --timeout 2 --pid-file \"$4\"",
                &[limit, control_tool(), action, text(&pid)],
            );
            assert_eq!(run.code, Some(102), "{limit} {action}: {run:?}");
            // The lowest limit leaves no room for the pidfd itself: a real number too.
            if let Some(number) = run
                .stderr
                .strip_prefix("ucw-daemon-control: Cannot open a pidfd for process ")
                .and_then(|rest| rest.strip_suffix(": EMFILE (Too many open files)\n"))
            {
                assert!(
                    number.parse::<u32>().is_ok_and(|number| number > 0),
                    "{limit} {action}: not a real process: {run:?}"
                );
                continue;
            }
            let message = run
                .stderr
                .strip_prefix("ucw-daemon-control: Cannot read ")
                .and_then(|rest| rest.strip_suffix(": EMFILE (Too many open files)\n"))
                .unwrap_or_else(|| panic!("{limit} {action}: {run:?}"));
            let real = match message.strip_prefix("/proc/self/fdinfo/") {
                Some(descriptor) => descriptor.parse::<u32>().is_ok_and(|fd| fd >= 3),
                None => message
                    .strip_prefix("/proc/")
                    .and_then(|rest| rest.strip_suffix("/fdinfo"))
                    .and_then(|number| number.parse::<u32>().ok())
                    .is_some_and(|number| number > 0),
            };
            assert!(real, "{limit} {action}: not a real path: {message}");
            seen.push(message.to_string());
        }
    }
    // Both kinds of path were met.
    assert!(seen
        .iter()
        .any(|path| path.starts_with("/proc/self/fdinfo/")));
    assert!(seen.iter().any(|path| path.ends_with("/fdinfo")));
    // The daemon was never signalled.
    assert_eq!(check(&dir, &pid), Some(0));
    assert_eq!(stop(&dir, &pid), Some(0));
}

/// `--start` of `ucw-daemonize --notify-fd 3 -- /bin/sh -c SCRIPT` on `pid`, spawned.
fn start_script(
    dir: &TempDir,
    pid: &Path,
    script: &str,
    failpoint: Option<&str>,
) -> common::Spawned {
    let mut command = Command::new(control_tool());
    command.args(["--start", "--timeout", "10", "--pid-file", text(pid), "--"]);
    command.args([
        daemonize_tool(),
        "--pid-file",
        text(pid),
        "--notify-fd",
        "3",
    ]);
    command.args(["--", "/bin/sh", "-c", script]);
    if let Some(point) = failpoint {
        command.env("UCW_FAILPOINT", point);
    }
    harness().spawn(command, dir.path())
}

/// The first process whose parent is `parent`.
fn child_of(parent: i32) -> Option<i32> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let ppid: i32 = proc_status_field(pid, "PPid")?.parse().ok()?;
            (ppid == parent).then_some(pid)
        })
}

#[test]
#[cfg_attr(
    not(ucw_failpoints),
    ignore = "needs --cfg ucw_failpoints: tests/run-all runs it"
)]
fn a_program_that_was_ready_and_then_exited_is_reported_so() {
    for status in ["0", "3"] {
        let dir = TempDir::new("ready-then-exit");
        let pid = dir.join("d.pid");
        let script = format!("echo >&3; exit {status}");
        // Both arrive together: the supervisor halts before it looks (a fail point) until
        // the program has written its newline and exited.
        let start = start_script(&dir, &pid, &script, Some("supervisor-before-confirm"));
        let mut supervisor = None;
        assert!(eventually(Duration::from_secs(10), || {
            supervisor = std::fs::read_to_string(&pid)
                .ok()
                .and_then(|content| content.trim().parse::<i32>().ok())
                .filter(|&found| {
                    proc_status_field(found, "State").is_some_and(|state| state.starts_with('T'))
                });
            supervisor.is_some()
        }));
        let supervisor = supervisor.unwrap();
        assert!(eventually(Duration::from_secs(10), || {
            child_of(supervisor).is_some_and(|program| {
                proc_status_field(program, "State").is_some_and(|state| state.starts_with('Z'))
            })
        }));
        kill(supervisor, rustix::process::Signal::CONT);
        let run = harness().wait(&start, Duration::from_secs(30));
        assert_eq!(run.code, Some(102), "{run:?}");
        assert_eq!(
            run.stderr,
            format!(
                "ucw-daemonize: /bin/sh was ready, then exited with status {status}\n\
                 ucw-daemon-control: {} could not start the daemon (exit status 102)\n",
                daemonize_tool()
            )
        );
        assert_eq!(check(&dir, &pid), Some(101));
    }
}

#[test]
fn a_program_that_exits_right_after_it_was_ready_is_never_misreported() {
    // Without a fail point the four events race: the readiness, the program's exit, the
    // launcher's confirmation, START's look at the PID file. Whatever the order, the answer
    // is true: started (the exit came after START looked), "was ready, then exited with status
    // N" (before the confirmation), or "exited with status N right after it started" (after
    // the confirmation, before START looked) — never "did not lock its PID file", "did not
    // write its PID", or "before it was ready".
    for status in ["0", "3"] {
        let dir = TempDir::new("ready-exit-race");
        let pid = dir.join("d.pid");
        let script = format!("echo >&3; exit {status}");
        let mut outcomes = [0; 3];
        for round in 0..12 {
            let start = start_script(&dir, &pid, &script, None);
            let run = harness().wait(&start, Duration::from_secs(30));
            match run.code {
                Some(0) => {
                    assert_eq!(run.stderr, "", "round {round}: {run:?}");
                    outcomes[0] += 1;
                }
                Some(102) if run.stderr.starts_with("ucw-daemon-control: the daemon's") => {
                    assert_eq!(
                        run.stderr,
                        format!(
                            "ucw-daemon-control: the daemon's program exited with status \
                             {status} right after it started\n"
                        ),
                        "round {round}"
                    );
                    outcomes[2] += 1;
                }
                Some(102) => {
                    assert_eq!(
                        run.stderr,
                        format!(
                            "ucw-daemonize: /bin/sh was ready, then exited with status {status}\n\
                             ucw-daemon-control: {} could not start the daemon (exit status 102)\n",
                            daemonize_tool()
                        ),
                        "round {round}"
                    );
                    outcomes[1] += 1;
                }
                _ => panic!("round {round}: {run:?}"),
            }
            // Either way the daemon is gone by now, or about to be.
            assert!(
                eventually(Duration::from_secs(5), || check(&dir, &pid) == Some(101)),
                "round {round}"
            );
        }
        eprintln!(
            "exit {status}: started {} times, reported by the launcher {} times, by START {} \
             times",
            outcomes[0], outcomes[1], outcomes[2]
        );
    }
}

#[test]
fn a_notify_fd_that_cannot_be_set_up_is_named() {
    let dir = TempDir::new("notify-fd-ebadf");
    let pid = dir.join("d.pid");
    let run = control(
        &dir,
        &[
            "--start",
            "--timeout",
            "10",
            "--pid-file",
            text(&pid),
            "--",
            daemonize_tool(),
            "--pid-file",
            text(&pid),
            "--notify-fd",
            "1048576",
            "--",
            "sleep",
            "10",
        ],
    );
    assert_eq!(run.code, Some(102), "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "ucw-daemonize: Cannot set up readiness descriptor 1048576 for sleep: \
             EBADF (Bad file descriptor)\n\
             ucw-daemon-control: {} could not start the daemon (exit status 102)\n",
            daemonize_tool()
        )
    );
    assert_eq!(check(&dir, &pid), Some(101));
}
