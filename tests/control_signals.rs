//! Signal delivery and STOP's waits: only a process that holds the PID file is signalled,
//! stale files signal nobody, a killed daemon leaves a stale file that START recovers from,
//! BUSY turns into RUNNING, and the deadline (with and without escalation).
mod common;
mod control_common;

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
        "process {} does not hold {}",
        stranger.pid(),
        setup.pid_file.to_str().unwrap()
    );
    assert_eq!(setup.control(Action::Signal, &none), Err(expected.clone()));
    assert_eq!(setup.control(Action::Stop, &none), Err(expected.clone()));
    assert_eq!(
        setup.control(Action::Stop, &none.clone().timeout(Duration::from_secs(1))),
        Err(expected)
    );
    std::thread::sleep(Duration::from_millis(100));
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
    std::thread::sleep(Duration::from_millis(100));
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
            std::thread::sleep(Duration::from_millis(100));
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
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_millis(2500),
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
    assert!(took < Duration::from_millis(2500), "took {took:?}");
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
    let message = ucw_daemon::control::control(&same).unwrap_err();
    assert!(
        message.message().contains(": it is the PID file "),
        "{message}"
    );
}
