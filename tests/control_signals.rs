//! Signal delivery and STOP's waits: only a process that holds the PID file is signalled,
//! stale files signal nobody, a killed daemon leaves a stale file that START recovers from,
//! BUSY turns into RUNNING, and the deadline (with and without escalation).
mod common;
mod control_common;
mod fixture_programs;

use control_common::{eventually, Decoy, Options, Setup, Stranger};
use std::time::{Duration, Instant};
use ucw_daemon::control::{Action, Status};
use ucw_daemon::signal::Signal;

#[test]
fn locked_file_naming_a_stranger_signals_nobody() {
    let setup = Setup::new("control-stranger");
    let mut stranger = Stranger::start();
    let _decoy = Decoy::start(&setup, &format!("{}\\n", stranger.pid()), None);
    let none = Options::default();
    let expected = format!(
        "process {} does not hold the lock on {}",
        stranger.pid(),
        setup.pid_file.to_str().unwrap()
    );
    assert_eq!(setup.control(Action::Signal, &none), Err(expected.clone()));
    assert_eq!(setup.control(Action::Stop, &none), Err(expected.clone()));
    assert_eq!(
        setup.control(Action::Stop, &none.clone().timeout(Duration::from_secs(1))),
        Err(expected)
    );
    std::thread::sleep(common::margin(Duration::from_millis(100)));
    assert!(stranger.alive(), "the stranger was signalled");
}

#[test]
fn unlocked_file_naming_a_live_process_is_stale_and_signals_nobody() {
    let setup = Setup::new("control-stale-live");
    let mut stranger = Stranger::start();
    std::fs::write(setup.pid_path(), format!("{}\n", stranger.pid())).unwrap();
    let none = Options::default();
    assert_eq!(setup.control(Action::Check, &none), Ok(Status::Stale));
    assert_eq!(setup.control(Action::Stop, &none), Ok(Status::Stale));
    assert_eq!(setup.control(Action::Signal, &none), Ok(Status::NotRunning));
    std::thread::sleep(common::margin(Duration::from_millis(100)));
    assert!(stranger.alive(), "the stranger was signalled");
}

#[test]
fn killed_daemon_is_stale_and_start_recovers() {
    let setup = Setup::new("control-killed");
    let pid = setup.start_daemon(&[]);
    control_common::kill(pid);
    assert!(common::wait_gone(pid, Duration::from_secs(5)));
    let none = Options::default();
    assert_eq!(setup.control(Action::Check, &none), Ok(Status::Stale));
    assert_eq!(setup.control(Action::Signal, &none), Ok(Status::NotRunning));
    assert_eq!(
        setup.control(Action::Start, &setup.daemon(&[])),
        Ok(Status::Stale)
    );
    let second = setup.written_pid().unwrap();
    assert_ne!(second, pid);
    assert!(common::is_alive(second));
    assert_eq!(setup.control(Action::Check, &none), Ok(Status::Ok));
    assert_eq!(setup.control(Action::Stop, &none), Ok(Status::Ok));
    assert!(common::wait_gone(second, Duration::from_secs(5)));
    assert_eq!(setup.violations(), "");
}

#[test]
fn custom_signal_and_stopped_daemon() {
    let setup = Setup::new("control-custom-signal");
    let pid = setup.start_daemon(&[]);
    // SIGHUP given explicitly to SIGNAL is logged by the daemon.
    let hup = Options::default().signal(Signal::HUP);
    assert_eq!(setup.control(Action::Signal, &hup), Ok(Status::Ok));
    assert!(eventually(Duration::from_secs(5), || {
        std::fs::read_to_string(&setup.hup_log).unwrap_or_default() == format!("HUP {pid}\n")
    }));
    // A stopped daemon still stops: STOP follows its signal with SIGCONT.
    let _ = rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid).unwrap(),
        rustix::process::Signal::STOP,
    );
    assert!(eventually(Duration::from_secs(5), || {
        common::proc_status_field(pid, "State").is_some_and(|state| state.starts_with('T'))
    }));
    let bounded = Options::default().timeout(Duration::from_secs(5));
    assert_eq!(setup.control(Action::Stop, &bounded), Ok(Status::Ok));
    assert!(common::wait_gone(pid, Duration::from_secs(5)));
}

#[test]
fn busy_then_running_is_stopped() {
    let setup = Setup::new("control-busy");
    // Locked with "(starting)", then the decoy writes its own PID 300 ms later.
    let mut decoy = Decoy::start(&setup, "(starting)\\n", Some("self\\n"));
    let bounded = Options::default().timeout(Duration::from_secs(5));
    assert_eq!(setup.control(Action::Stop, &bounded), Ok(Status::Ok));
    assert!(
        matches!(decoy.child.try_wait(), Ok(Some(_))) || {
            std::thread::sleep(common::margin(Duration::from_millis(100)));
            matches!(decoy.child.try_wait(), Ok(Some(_)))
        }
    );
    assert_eq!(std::fs::read(setup.pid_path()).unwrap(), b"");
}

#[test]
fn busy_lock_going_away_is_ok() {
    let setup = Setup::new("control-busy-gone");
    let decoy = Decoy::start(&setup, "(starting)\\n", None);
    let pid = decoy.pid();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        control_common::kill(pid);
    });
    let bounded = Options::default().timeout(Duration::from_secs(5));
    assert_eq!(setup.control(Action::Stop, &bounded), Ok(Status::Ok));
    killer.join().unwrap();
    drop(decoy);
}

#[test]
fn start_on_busy_waits_for_the_pid_and_then_says_already_running() {
    let setup = Setup::new("control-start-busy");
    // Locked with "(starting)", then the decoy writes its own PID 300 ms later: START must
    // not launch a second daemon, and answers 100 once the first one has a PID.
    let decoy = Decoy::start(&setup, "(starting)\\n", Some("self\\n"));
    let started = Instant::now();
    let options = setup.daemon(&[]).timeout(Duration::from_secs(5));
    assert_eq!(
        setup.control(Action::Start, &options),
        Ok(Status::AlreadyDone)
    );
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert_eq!(setup.written_pid(), Some(decoy.pid()));
    drop(decoy);
}

#[test]
fn start_on_busy_launches_once_the_lock_goes() {
    let setup = Setup::new("control-start-busy-gone");
    // An empty locked file (a supervisor ending its program's leftovers) whose lock goes
    // 300 ms later: START waits, then launches; it never answers 100 while nothing runs.
    let decoy = Decoy::start(&setup, "", None);
    let pid = decoy.pid();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        control_common::kill(pid);
    });
    let options = setup.daemon(&[]).timeout(Duration::from_secs(5));
    assert_eq!(setup.control(Action::Start, &options), Ok(Status::Ok));
    killer.join().unwrap();
    drop(decoy);
    let daemon = setup.written_pid().expect("the new daemon's PID");
    assert_ne!(daemon, pid);
    assert!(common::is_alive(daemon));
    assert_eq!(
        setup.control(
            Action::Stop,
            &Options::default().timeout(Duration::from_secs(5))
        ),
        Ok(Status::Ok)
    );
}

#[test]
fn stop_kill_after_timeout_ends_an_empty_file_locked_by_leftovers() {
    let setup = Setup::new("control-busy-leftovers");
    // A locked, empty PID file whose holder never lets go (what a supervisor SIGKILLed
    // between emptying and unlocking the file leaves): plain STOP answers 102 at its
    // deadline, `--kill-after-timeout` kills the holder and answers 0.
    let decoy = Decoy::start(&setup, "", None);
    let pid = decoy.pid();
    let plain = setup.control(
        Action::Stop,
        &Options::default().timeout(Duration::from_millis(300)),
    );
    assert!(
        plain
            .as_ref()
            .is_err_and(|message| message.contains("did not write its PID")),
        "{plain:?}"
    );
    assert!(common::is_alive(pid));
    let escalated = Options::default()
        .timeout(Duration::from_millis(300))
        .escalate();
    let started = Instant::now();
    assert_eq!(setup.control(Action::Stop, &escalated), Ok(Status::Ok));
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(common::wait_gone(pid, Duration::from_secs(3)));
    assert_eq!(std::fs::read(setup.pid_path()).unwrap(), b"");
    assert_eq!(
        setup.control(Action::Check, &Options::default()),
        Ok(Status::NotRunning)
    );
    drop(decoy);
}

#[test]
fn stop_kill_after_timeout_kills_a_holder_that_appears_after_its_first_kill() {
    // A holder that forks just before its SIGKILL leaves a child holding the lock description
    // that the escalation's first scan could not see. The decoy's heir stands for it: it takes
    // the locked descriptor out of a socket only once the decoy is dead. The escalation looks
    // for holders again until the lock is free. Both an empty locked file (BUSY, the decoy
    // killed by the escalation) and a file naming the decoy (RUNNING, the decoy ended by
    // STOP's SIGTERM) are tried.
    for (label, content) in [("busy", ""), ("running", "self")] {
        let setup = Setup::new(&format!("control-heir-{label}"));
        let decoy = Decoy::start_with_heir(&setup, content);
        let heir = Decoy::heir(&setup);
        let _heir = common::KillOnDrop(vec![heir]);
        let escalated = Options::default()
            .timeout(Duration::from_millis(300))
            .escalate();
        let result = setup.control(Action::Stop, &escalated);
        assert_eq!(result, Ok(Status::Ok), "{label}");
        assert!(
            common::wait_gone(decoy.pid(), Duration::from_secs(3)),
            "{label}"
        );
        assert!(common::wait_gone(heir, Duration::from_secs(3)), "{label}");
        assert_eq!(std::fs::read(setup.pid_path()).unwrap(), b"", "{label}");
        assert_eq!(
            setup.control(Action::Check, &Options::default()),
            Ok(Status::NotRunning),
            "{label}"
        );
    }
}

#[test]
fn deadline_without_escalation_fails_in_time() {
    let setup = Setup::new("control-deadline");
    let pid = setup.start_daemon(&["ignore-term"]);
    let started = Instant::now();
    let result = setup.control(
        Action::Stop,
        &Options::default().timeout(Duration::from_secs(1)),
    );
    let took = started.elapsed();
    assert_eq!(result, Err(format!("daemon {pid} did not stop within 1 s")));
    // At least the deadline, and at most the deadline plus a margin.
    assert!(
        took >= Duration::from_millis(950)
            && took < Duration::from_secs(1) + common::margin(Duration::from_millis(1500)),
        "took {took:?}"
    );
    assert!(common::is_alive(pid));
    // Sub-second deadlines are reported with milliseconds.
    let result = setup.control(
        Action::Stop,
        &Options::default().timeout(Duration::from_millis(250)),
    );
    assert_eq!(
        result,
        Err(format!("daemon {pid} did not stop within 0.250 s"))
    );
    assert_eq!(
        setup.control(Action::Check, &Options::default()),
        Ok(Status::Ok)
    );
}

#[test]
fn deadline_with_escalation_kills() {
    let setup = Setup::new("control-escalate");
    let pid = setup.start_daemon(&["ignore-term"]);
    let started = Instant::now();
    let result = setup.control(
        Action::Stop,
        &Options::default()
            .timeout(Duration::from_secs(1))
            .escalate(),
    );
    let took = started.elapsed();
    assert_eq!(result, Ok(Status::Ok));
    // The deadline, then at most max(deadline, 1 s) for the SIGKILLed daemon to go (it goes
    // at once), plus a margin.
    assert!(
        took < Duration::from_secs(1) + common::margin(Duration::from_millis(1500)),
        "took {took:?}"
    );
    assert!(common::wait_gone(pid, Duration::from_secs(5)));
    assert_eq!(
        setup.control(Action::Check, &Options::default()),
        Ok(Status::NotRunning)
    );
}

#[test]
fn guard_deadline_and_guard_checks() {
    let setup = Setup::new("control-guard");
    // Another controller holding the guard: the deadline bounds the wait for it.
    let guard = rustix::fs::open(
        setup.guard_file.as_c_str(),
        rustix::fs::OFlags::CREATE | rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap();
    rustix::fs::flock(&guard, rustix::fs::FlockOperation::LockExclusive).unwrap();
    let started = Instant::now();
    let result = setup.control(
        Action::Check,
        &Options::default().timeout(Duration::from_millis(300)),
    );
    assert!(started.elapsed() >= Duration::from_millis(290));
    let message = result.unwrap_err();
    assert!(message.starts_with("Cannot lock guard file "), "{message}");
    assert!(
        message.ends_with("another controller held it for 0.300 s"),
        "{message}"
    );
    drop(guard);
    assert_eq!(
        setup.control(Action::Check, &Options::default()),
        Ok(Status::NotRunning)
    );
    // The guard may not be the PID file itself.
    std::fs::write(setup.pid_path(), b"").unwrap();
    let same = ucw_daemon::control::Params::new(&setup.pid_file, &setup.pid_file, Action::Check);
    let message = ucw_daemon::control::control(&same)
        .unwrap_err()
        .display(&same)
        .to_string();
    let pid_file = setup.pid_file.to_str().unwrap();
    assert_eq!(
        message,
        format!("Refusing guard file {pid_file}: it is the PID file {pid_file}")
    );
}

#[test]
fn zero_deadline_gets_one_last_look() {
    let setup = Setup::new("control-zero-deadline");
    let zero = Options::default().timeout(Duration::ZERO);
    // A daemon that exits at once on SIGTERM is seen gone by the last look after the deadline.
    let pid = setup.start_daemon(&[]);
    assert_eq!(setup.control(Action::Stop, &zero), Ok(Status::Ok));
    assert!(common::wait_gone(pid, Duration::from_secs(5)));
    assert_eq!(std::fs::read(setup.pid_path()).unwrap(), b"");
    // One that does not is reported at once.
    let pid = setup.start_daemon(&["ignore-term"]);
    let started = Instant::now();
    assert_eq!(
        setup.control(Action::Stop, &zero),
        Err(format!("daemon {pid} did not stop within 0 s"))
    );
    // No deadline to wait for: one last look of 0.1 s, and a margin.
    assert!(
        started.elapsed() < common::margin(Duration::from_secs(1)),
        "{:?}",
        started.elapsed()
    );
    assert!(common::is_alive(pid));
}

/// The process the PID file names has exited, but a worker it left in its session still
/// holds the lock (through an inherited descriptor): SIGNAL and STOP reach the holders, and
/// only them — a process of the same session that does not hold the lock is left alone.
#[test]
fn other_lock_holders_of_the_session_are_signalled() {
    let setup = Setup::new("control-others");
    std::fs::write(setup.pid_path(), b"").unwrap();
    let worker_file = setup.dir.join("worker");
    let bystander_file = setup.dir.join("bystander");
    let log = setup.dir.join("usr1.log");
    // `setsid` (not a group leader when spawned) execs the shell as a session leader, whose
    // PID is the session id. It locks the PID file through descriptor 9, writes its PID,
    // leaves a worker that inherits descriptor 9 (a shell logging SIGUSR1, and its `sleep`s)
    // and a bystander that does not, and exits.
    let script = r#"exec 9<"$1" && flock -n -x 9 || exit 1
printf '%s\n' $$ > "$1"
sh -c 'trap "echo USR1 >> \"\$0\"" USR1; : > "$0.ready"; while :; do sleep 0.05; done' "$4" &
printf '%s\n' $! > "$2"
sleep 60 9<&- &
printf '%s\n' $! > "$3"
exit 0"#;
    let status = std::process::Command::new("setsid")
        .args(["sh", "-c", script, "sh"])
        .arg(setup.pid_path())
        .arg(&worker_file)
        .arg(&bystander_file)
        .arg(&log)
        .status()
        .expect("setsid sh (util-linux and a POSIX sh are needed)");
    assert!(status.success(), "{status}");
    let read_pid = |path: &std::path::Path| -> i32 {
        std::fs::read_to_string(path)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let (leader, worker, bystander) = (
        setup.written_pid().expect("leader PID"),
        read_pid(&worker_file),
        read_pid(&bystander_file),
    );
    assert!(
        !common::is_alive(leader),
        "the leader {leader} should have exited"
    );
    let session = |pid: i32| -> i32 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let after_name = stat.rsplit(')').next().unwrap();
        after_name
            .split_whitespace()
            .nth(3)
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!((session(worker), session(bystander)), (leader, leader));
    let ready = std::path::PathBuf::from(format!("{}.ready", log.display()));
    assert!(
        eventually(Duration::from_secs(5), || ready.exists()),
        "worker not ready"
    );
    // The bystander is a forked shell until it has closed descriptor 9 and exec'ed `sleep`:
    // on a busy machine it may not have run yet, and until then it is a holder of the lock.
    let bystander_fd = format!("/proc/{bystander}/fd/9");
    assert!(
        eventually(Duration::from_secs(5), || {
            !std::path::Path::new(&bystander_fd).exists()
        }),
        "the bystander never closed descriptor 9"
    );
    let none = Options::default();
    assert_eq!(setup.control(Action::Check, &none), Ok(Status::Ok));
    // SIGUSR1 is logged by the worker, and would kill the bystander.
    let usr1 = Options::default().signal(Signal::parse(b"USR1").unwrap());
    assert_eq!(setup.control(Action::Signal, &usr1), Ok(Status::Ok));
    assert!(
        eventually(Duration::from_secs(5), || {
            std::fs::read_to_string(&log).unwrap_or_default() == "USR1\n"
        }),
        "the worker never logged SIGUSR1"
    );
    assert!(common::is_alive(worker));
    // STOP sends SIGTERM to the holders and waits for the lock to go.
    let bounded = Options::default().timeout(Duration::from_secs(5));
    assert_eq!(setup.control(Action::Stop, &bounded), Ok(Status::Ok));
    assert!(common::wait_gone(worker, Duration::from_secs(5)));
    assert_eq!(std::fs::read(setup.pid_path()).unwrap(), b"");
    assert_eq!(setup.control(Action::Check, &none), Ok(Status::NotRunning));
    std::thread::sleep(common::margin(Duration::from_millis(100)));
    assert!(common::is_alive(bystander), "the bystander was signalled");
}
