//! `ucw-daemon-control --check --json` and `--check --lsb`: the JSON object read by a JSON
//! parser (python3's `json` module) in each state, the supervisor's fields believed only from
//! a status file that names the proven holder, strings escaped (a path with `"`, `\`, a
//! newline and a byte that is not UTF-8), LSB's exit codes per state, and the usage errors.

mod common;

use common::{harness, run_control as control, start_supervised, stop, text, TempDir};
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What python3's `json` module makes of `ucw-daemon-control --check --json --pid-file P`
/// (extra `options` after it): the exit code and each key's value as `json.dumps` writes it.
fn json(dir: &TempDir, pid: &Path, options: &[&str]) -> (Option<i32>, BTreeMap<String, String>) {
    let mut arguments: Vec<&OsStr> = vec![
        OsStr::new("--check"),
        OsStr::new("--json"),
        OsStr::new("--pid-file"),
        pid.as_os_str(),
    ];
    arguments.extend(options.iter().map(OsStr::new));
    let run = harness().run(common::control_tool(), &arguments, dir.path());
    let output = dir.join("report.json");
    std::fs::write(&output, &run.stdout).unwrap();
    let parsed = harness().run(
        "python3",
        [
            "-c",
            "import json, sys\n\
             text = open(sys.argv[1], 'rb').read()\n\
             assert text.count(b'\\n') == 1 and text.endswith(b'\\n'), text\n\
             value = json.loads(text)\n\
             for key in value: print(key + '=' + json.dumps(value[key], sort_keys=True))",
            text(&output),
        ],
        dir.path(),
    );
    assert_eq!(parsed.code, Some(0), "not JSON: {run:?} {parsed:?}");
    let keys = parsed
        .stdout
        .lines()
        .map(|line| {
            let (key, value) = line.split_once('=').unwrap();
            (key.to_string(), value.to_string())
        })
        .collect::<BTreeMap<_, _>>();
    let expected = [
        "last_exit",
        "pid",
        "pid_file",
        "program_pid",
        "ready",
        "restarts",
        "since",
        "state",
    ];
    assert_eq!(
        keys.keys().map(String::as_str).collect::<Vec<_>>(),
        expected,
        "{run:?}"
    );
    (run.code, keys)
}

/// The value of the `--check --lsb` exit code.
fn lsb(dir: &TempDir, pid: &Path) -> Option<i32> {
    control(dir, &["--check", "--lsb", "--pid-file", text(pid)]).code
}

/// Seconds since the epoch now.
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Starts `sleep 100` under `ucw-daemonize` with the PID file `pid`; returns the supervisor's
/// PID.
fn start_sleeper(dir: &TempDir, pid: &Path) -> u32 {
    let started = start_supervised(dir, pid, &[], &[], &["/bin/sleep", "100"]);
    assert_eq!(started.code, Some(0), "{started:?}");
    std::fs::read_to_string(pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Field 22 of `/proc/<pid>/stat`: the start time in clock ticks after boot.
fn start_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    after_name.split(' ').nth(22 - 3).unwrap().parse().unwrap()
}

#[test]
fn each_state_is_one_json_object_with_the_check_exit_code_and_lsb_codes() {
    let dir = TempDir::new("status-states");
    let pid = dir.join("d.pid");
    let quoted = format!("{:?}", text(&pid));

    // Not running: no PID file.
    let (code, keys) = json(&dir, &pid, &[]);
    assert_eq!(code, Some(101));
    assert_eq!(keys["state"], "\"not-running\"");
    assert_eq!(keys["pid_file"], quoted);
    for key in [
        "pid",
        "since",
        "program_pid",
        "restarts",
        "last_exit",
        "ready",
    ] {
        assert_eq!(keys[key], "null", "{key}");
    }
    assert_eq!(lsb(&dir, &pid), Some(3));

    // Running.
    let before = now();
    let supervisor = start_sleeper(&dir, &pid);
    let (code, keys) = json(&dir, &pid, &[]);
    assert_eq!(code, Some(0));
    assert_eq!(keys["state"], "\"running\"");
    assert_eq!(keys["pid"], supervisor.to_string());
    let since: u64 = keys["since"].parse().unwrap();
    // The boot time is whole seconds and the start time has ticks: one second either way.
    assert!(
        since + 1 >= before && since <= now() + 1,
        "since {since}, started between {before} and {}",
        now()
    );
    assert_eq!(lsb(&dir, &pid), Some(0));
    let (code, keys) = json(&dir, &pid, &["--lsb"]);
    assert_eq!((code, keys["state"].as_str()), (Some(0), "\"running\""));

    // Stale: a daemon that died without cleaning up leaves its PID in an unlocked file.
    assert_eq!(stop(&dir, &pid), Some(0));
    std::fs::write(&pid, format!("{supervisor}\n")).unwrap();
    let (code, keys) = json(&dir, &pid, &[]);
    assert_eq!(code, Some(103));
    assert_eq!(keys["state"], "\"stale\"");
    assert_eq!(keys["pid"], "null");
    assert_eq!(lsb(&dir, &pid), Some(1));
    let (code, _) = json(&dir, &pid, &["--lsb"]);
    assert_eq!(code, Some(1));

    // Starting: locked, no PID yet.
    std::fs::write(&pid, "(starting)\n").unwrap();
    let holder = harness().spawn(
        {
            let mut command = std::process::Command::new("flock");
            command.args([text(&pid), "/bin/sleep", "100"]);
            command
        },
        dir.path(),
    );
    assert!(common::eventually(Duration::from_secs(5), || {
        control(&dir, &["--check", "--pid-file", text(&pid)]).code == Some(0)
    }));
    let (code, keys) = json(&dir, &pid, &[]);
    assert_eq!(code, Some(0));
    assert_eq!(keys["state"], "\"starting\"");
    assert_eq!(keys["pid"], "null");
    assert_eq!(lsb(&dir, &pid), Some(0));
    rustix::process::kill_process_group(
        rustix::process::Pid::from_raw(holder.pid).unwrap(),
        rustix::process::Signal::KILL,
    )
    .ok();
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(holder.pid).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    harness().wait(&holder, Duration::from_secs(5));

    // Unknown: a PID file we refuse is an error: nothing on stdout, 102 or LSB's 4.
    std::fs::write(&pid, "").unwrap();
    std::fs::set_permissions(&pid, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
    let run = control(&dir, &["--check", "--json", "--pid-file", text(&pid)]);
    assert_eq!((run.code, run.stdout.as_str()), (Some(102), ""), "{run:?}");
    assert!(
        run.stderr.contains("writable by group or others"),
        "{run:?}"
    );
    assert_eq!(lsb(&dir, &pid), Some(4));
    let run = control(
        &dir,
        &["--check", "--json", "--lsb", "--pid-file", text(&pid)],
    );
    assert_eq!((run.code, run.stdout.as_str()), (Some(4), ""), "{run:?}");
}

#[test]
fn the_supervisor_fields_come_only_from_a_status_file_that_names_the_holder() {
    let dir = TempDir::new("status-file");
    let pid = dir.join("d.pid");
    let status = dir.join("d.pid.status");
    let supervisor = start_sleeper(&dir, &pid);
    let started = start_ticks(supervisor);
    let write = |content: &str| {
        // Rewritten in place, as the supervisor does; 0600 like the PID file.
        std::fs::write(&status, content).unwrap();
        std::fs::set_permissions(&status, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
    };
    write(&format!(
        "supervisor={supervisor}\nstart_time={started}\nprogram_pid=4242\nrestarts=2\nlast_exit=signal:15\nready=1\n"
    ));
    let (code, keys) = json(&dir, &pid, &[]);
    assert_eq!(code, Some(0));
    assert_eq!(keys["program_pid"], "4242");
    assert_eq!(keys["restarts"], "2");
    assert_eq!(keys["last_exit"], "{\"signal\": \"TERM\"}");
    assert_eq!(keys["ready"], "true");
    write(&format!(
        "supervisor={supervisor}\nstart_time={started}\nprogram_pid=4242\nrestarts=0\nlast_exit=code:3\nready=0\n"
    ));
    let (_, keys) = json(&dir, &pid, &[]);
    assert_eq!(keys["last_exit"], "{\"code\": 3}");
    assert_eq!(keys["ready"], "false");
    // A file left by an earlier supervisor with the same PID (another start time), or by
    // another one, is never believed.
    for content in [
        format!(
            "supervisor={supervisor}\nstart_time={}\nprogram_pid=4242\nrestarts=2\n",
            started + 1
        ),
        format!(
            "supervisor={}\nstart_time={started}\nprogram_pid=4242\nrestarts=2\n",
            supervisor + 1
        ),
    ] {
        write(&content);
        let (code, keys) = json(&dir, &pid, &[]);
        assert_eq!(code, Some(0));
        assert_eq!(keys["state"], "\"running\"");
        for key in ["program_pid", "restarts", "last_exit", "ready"] {
            assert_eq!(keys[key], "null", "{key} from {content:?}");
        }
    }
    // Nor one anybody else could have written.
    write(&format!(
        "supervisor={supervisor}\nstart_time={started}\nprogram_pid=4242\n"
    ));
    std::fs::set_permissions(&status, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
    let (_, keys) = json(&dir, &pid, &[]);
    assert_eq!(keys["program_pid"], "null");
    assert_eq!(stop(&dir, &pid), Some(0));
}

#[test]
fn a_path_that_is_no_plain_text_is_escaped_as_json() {
    let dir = TempDir::new("status-escape");
    let mut name = b"we\"ird\\dir\nname\xff\x01".to_vec();
    let strange = dir.path().join(OsStr::from_bytes(&name));
    std::fs::create_dir(&strange).unwrap();
    let pid: PathBuf = strange.join("d.pid");
    let (code, keys) = json(&dir, &pid, &[]);
    assert_eq!(code, Some(101));
    // What python's json makes of it: U+FFFD for the byte 0xff, the rest as it was.
    name.splice(name.len() - 2..name.len() - 1, "\u{fffd}".bytes());
    let mut expected = dir.path().as_os_str().as_bytes().to_vec();
    expected.push(b'/');
    expected.extend_from_slice(&name);
    expected.extend_from_slice(b"/d.pid");
    let expected = String::from_utf8(expected).unwrap();
    let check = harness().run(
        "python3",
        [
            "-c",
            "import json, sys\nprint(json.loads(sys.argv[1]) == sys.argv[2])",
            &keys["pid_file"],
            &expected,
        ],
        dir.path(),
    );
    assert_eq!(
        check.stdout, "True\n",
        "{} vs {expected:?}",
        keys["pid_file"]
    );
}

#[test]
fn json_and_lsb_are_check_options_and_json_excludes_verbose() {
    let dir = TempDir::new("status-usage");
    for (arguments, message) in [
        (
            &["--stop", "--json", "--pid-file", "d.pid"][..],
            "--json works only with --check",
        ),
        (
            &["--reload", "--lsb", "--pid-file", "d.pid"],
            "--lsb works only with --check",
        ),
        (
            &["--check", "--json", "--verbose", "--pid-file", "d.pid"],
            "--json and --verbose exclude each other",
        ),
        // No `--status` alias: `--sta` stays `--start`.
        (
            &["--status", "--pid-file", "d.pid"],
            "unrecognized option '--status'",
        ),
        (
            &["--sta", "--pid-file", "d.pid"],
            "--start needs the daemon's command",
        ),
    ] {
        let run = control(&dir, arguments);
        assert_eq!(run.code, Some(1), "{arguments:?}: {run:?}");
        assert!(
            run.stderr
                .starts_with(&format!("ucw-daemon-control: {message}\n")),
            "{arguments:?}: {run:?}"
        );
    }
}
