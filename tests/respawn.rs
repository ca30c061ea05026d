//! `ucw-daemonize --respawn`: a program that dies is started again under the same lock, with
//! doubling gaps up to the cap, CHECK answering 0 and a concurrent START 100 throughout, and
//! after `--respawn-max` deaths the service ends (CHECK 101); a STOP during the wait returns
//! at once with nothing left; a death after SIGHUP is respawned, one after SIGTERM is not;
//! `--check --json` counts the restarts and shows the last exit; `--respawn=on-failure`; the usage errors.

mod common;

use common::{
    check, daemonize_tool, eventually, harness, is_alive, margin, run_control as control,
    start_supervised, stop, text, wait_gone, TempDir,
};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// `ucw-daemon-control --start --pid-file P -- ucw-daemonize --pid-file P [options] --
/// command...`: its exit code.
fn start(dir: &TempDir, pid: &Path, options: &[&str], command: &[&str]) -> Option<i32> {
    let started = start_supervised(dir, pid, &[], options, command);
    assert!(started.stderr.is_empty(), "{started:?}");
    started.code
}

/// `--check --json`, read by python3's `json` module: each key's value as `json.dumps`
/// writes it.
fn json(dir: &TempDir, pid: &Path) -> BTreeMap<String, String> {
    let run = control(dir, &["--check", "--json", "--pid-file", text(pid)]);
    let parsed = harness().run(
        "python3",
        [
            "-c",
            "import json, sys\nvalue = json.loads(sys.argv[1])\nfor key in value: print(key + '=' + json.dumps(value[key]))",
            &run.stdout,
        ],
        dir.path(),
    );
    assert_eq!(parsed.code, Some(0), "not JSON: {run:?} {parsed:?}");
    parsed
        .stdout
        .lines()
        .map(|line| {
            let (key, value) = line.split_once('=').unwrap();
            (key.to_string(), value.to_string())
        })
        .collect()
}

/// The start times (seconds) the incarnations of `date +%s.%N >> FILE; exit 3` wrote.
fn starts(file: &Path) -> Vec<f64> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(|line| line.parse().unwrap())
        .collect()
}

#[test]
fn a_program_that_dies_at_once_comes_back_with_doubling_gaps_and_the_lock_held() {
    let dir = TempDir::new("respawn-backoff");
    let (pid, times) = (dir.join("d.pid"), dir.join("starts"));
    let script = format!("date +%s.%N >> '{}'; exit 3", text(&times));
    assert_eq!(
        start(
            &dir,
            &pid,
            &[
                "--respawn",
                "--respawn-delay",
                "0.1",
                "--respawn-max-delay",
                "0.8",
                "--respawn-max",
                "7"
            ],
            &["/bin/sh", "-c", &script],
        ),
        Some(0)
    );
    // Throughout: CHECK 0 and a concurrent START 100 (never a second program); both are
    // the static tool, light enough not to disturb the timing measured.
    let mut concurrent = false;
    let began = Instant::now();
    // (Until the sixth start: the seventh death may end the service at any moment after it.)
    while starts(&times).len() < 6 {
        assert!(
            began.elapsed() < margin(Duration::from_secs(10)),
            "{:?}",
            starts(&times)
        );
        assert_eq!(check(&dir, &pid), Some(0), "{:?}", starts(&times));
        if !concurrent && starts(&times).len() >= 3 {
            assert_eq!(start(&dir, &pid, &[], &["/bin/true"]), Some(100));
            concurrent = true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(concurrent);
    // After the seventh death the service ends: empty and unlocked.
    assert!(
        eventually(Duration::from_secs(5), || check(&dir, &pid) == Some(101)),
        "{:?}",
        starts(&times)
    );
    assert_eq!(std::fs::read_to_string(&pid).unwrap(), "");
    let starts = starts(&times);
    assert_eq!(starts.len(), 7, "{starts:?}");
    let gaps: Vec<f64> = starts.windows(2).map(|pair| pair[1] - pair[0]).collect();
    // 0.1, 0.2, 0.4 and 0.8 s of waiting, then the cap: 0.8, 0.8.
    for (index, pair) in gaps.windows(2).enumerate().take(3) {
        assert!(
            pair[1] >= 1.6 * pair[0],
            "gap {} is not 1.6 times gap {index}: {gaps:?}",
            index + 1
        );
    }
    for (index, &gap) in gaps.iter().enumerate() {
        let delay = (0.1 * f64::from(1 << index)).min(0.8);
        assert!(gap >= delay, "gap {index} shorter than its delay: {gaps:?}");
        assert!(
            gap <= delay + margin(Duration::from_millis(500)).as_secs_f64(),
            "gap {index} past its delay: {gaps:?}"
        );
    }
}

#[test]
fn stop_during_a_backoff_wait_returns_at_once_and_leaves_nothing() {
    let dir = TempDir::new("respawn-stop");
    let (pid, times) = (dir.join("d.pid"), dir.join("starts"));
    let script = format!("date +%s.%N >> '{}'; exit 3", text(&times));
    assert_eq!(
        start(
            &dir,
            &pid,
            &["--respawn", "--respawn-delay", "30"],
            &["/bin/sh", "-c", &script],
        ),
        Some(0)
    );
    let supervisor: i32 = std::fs::read_to_string(&pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Waiting: the program has died once, and its death is on record.
    assert!(eventually(Duration::from_secs(5), || {
        json(&dir, &pid)["last_exit"] == "{\"code\": 3}"
    }));
    assert_eq!(check(&dir, &pid), Some(0));
    assert_eq!(start(&dir, &pid, &[], &["/bin/true"]), Some(100));
    let began = Instant::now();
    assert_eq!(stop(&dir, &pid), Some(0));
    assert!(
        began.elapsed() < margin(Duration::from_secs(1)),
        "{:?}",
        began.elapsed()
    );
    assert!(wait_gone(supervisor, Duration::from_secs(2)));
    assert_eq!(check(&dir, &pid), Some(101));
    assert_eq!(starts(&times).len(), 1);
}

#[test]
fn a_death_after_sighup_is_respawned_one_after_sigterm_is_not() {
    let dir = TempDir::new("respawn-signals");
    let pid = dir.join("d.pid");
    assert_eq!(
        start(
            &dir,
            &pid,
            &["--respawn", "--respawn-delay", "0.1"],
            &["/bin/sleep", "100"],
        ),
        Some(0)
    );
    let keys = json(&dir, &pid);
    assert_eq!(
        (keys["restarts"].as_str(), keys["last_exit"].as_str()),
        ("0", "null")
    );
    let first: i32 = keys["program_pid"].parse().unwrap();
    assert!(is_alive(first));
    // SIGHUP kills sleep; the supervisor starts it again.
    let reload = control(&dir, &["--reload", "--pid-file", text(&pid)]);
    assert_eq!(reload.code, Some(0), "{reload:?}");
    assert!(eventually(Duration::from_secs(5), || {
        let keys = json(&dir, &pid);
        keys["restarts"] == "1" && keys["program_pid"] != "null"
    }));
    let keys = json(&dir, &pid);
    assert_eq!(keys["last_exit"], "{\"signal\": \"HUP\"}");
    assert_eq!(keys["ready"], "true");
    let second: i32 = keys["program_pid"].parse().unwrap();
    assert_ne!(first, second);
    assert!(wait_gone(first, Duration::from_secs(2)));
    assert!(is_alive(second));
    // The restarts count on.
    let reload = control(&dir, &["--reload", "--pid-file", text(&pid)]);
    assert_eq!(reload.code, Some(0), "{reload:?}");
    assert!(eventually(Duration::from_secs(5), || {
        let keys = json(&dir, &pid);
        keys["restarts"] == "2" && keys["program_pid"] != "null"
    }));
    assert!(wait_gone(second, Duration::from_secs(2)));
    let second: i32 = json(&dir, &pid)["program_pid"].parse().unwrap();
    // SIGTERM (STOP) ends the service for good.
    assert_eq!(stop(&dir, &pid), Some(0));
    assert!(wait_gone(second, Duration::from_secs(2)));
    std::thread::sleep(margin(Duration::from_millis(300)));
    assert_eq!(check(&dir, &pid), Some(101));
}

#[test]
fn on_failure_ends_the_service_on_a_clean_exit() {
    let dir = TempDir::new("respawn-on-failure");
    let (pid, times) = (dir.join("d.pid"), dir.join("starts"));
    let script = format!(
        "date +%s.%N >> '{file}'; [ $(wc -l < '{file}') -ge 3 ] && exit 0; exit 1",
        file = text(&times)
    );
    assert_eq!(
        start(
            &dir,
            &pid,
            &["--respawn=on-failure", "--respawn-delay", "0.05"],
            &["/bin/sh", "-c", &script],
        ),
        Some(0)
    );
    assert!(eventually(Duration::from_secs(5), || {
        check(&dir, &pid) == Some(101)
    }));
    assert_eq!(starts(&times).len(), 3);
}

#[test]
fn respawn_options_are_checked() {
    let dir = TempDir::new("respawn-usage");
    let pid = dir.join("d.pid");
    for (options, message) in [
        (
            &["--respawn=sometimes"][..],
            "invalid --respawn 'sometimes': expected always or on-failure",
        ),
        (
            &["--respawn", "--exec"],
            "--respawn and --exec exclude each other",
        ),
        (
            &["--respawn", "--forking"],
            "--respawn and --forking exclude each other",
        ),
        (
            &["--respawn", "--respawn-delay", "soon"],
            "invalid --respawn-delay 'soon': expected seconds (5, 0.5)",
        ),
        (
            &["--respawn", "--respawn-max", "-1"],
            "invalid --respawn-max '-1': expected a number of deaths",
        ),
    ] {
        let mut arguments = vec!["--pid-file", text(&pid)];
        arguments.extend_from_slice(options);
        arguments.extend_from_slice(&["--", "/bin/true"]);
        let run = harness().run(daemonize_tool(), &arguments, dir.path());
        assert_eq!(run.code, Some(1), "{options:?}: {run:?}");
        assert!(
            run.stderr
                .starts_with(&format!("ucw-daemonize: {message}\n")),
            "{options:?}: {run:?}"
        );
    }
}

#[test]
fn later_incarnations_share_the_log_and_record_their_readiness() {
    let dir = TempDir::new("respawn-log-ready");
    let (pid, log) = (dir.join("d.pid"), dir.join("service.log"));
    // Ready at once (a newline on descriptor 3), then 1 s of life, then a failure.
    assert_eq!(
        start(
            &dir,
            &pid,
            &[
                "--respawn",
                "--respawn-delay",
                "0.1",
                "--respawn-max",
                "2",
                "--notify-fd",
                "3",
                "--log",
                text(&log),
            ],
            &["/bin/sh", "-c", "echo started; echo >&3; sleep 1; exit 1"],
        ),
        Some(0)
    );
    // The second incarnation said it was ready too: the status file has it.
    assert!(eventually(Duration::from_secs(5), || {
        let keys = json(&dir, &pid);
        keys["restarts"] == "1" && keys["program_pid"] != "null" && keys["ready"] == "true"
    }));
    assert!(eventually(Duration::from_secs(5), || {
        check(&dir, &pid) == Some(101)
    }));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "started\nstarted\n");
}
