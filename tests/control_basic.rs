//! The daemon life cycle through `control()` called in-process: start, check, signal, stop,
//! and restart.
mod common;
mod control_common;
mod fixture_programs;

use control_common::{eventually, Options, Setup};
use std::time::Duration;
use ucw_daemon::control::{Action, Status};

#[test]
fn start_check_signal_stop() {
    let setup = Setup::new("control-basic");
    let none = Options::default();
    assert_eq!(setup.control(Action::Check, &none), Ok(Status::NotRunning));
    let pid = setup.start_daemon(&[]);
    assert!(common::is_alive(pid));
    assert_eq!(setup.control(Action::Check, &none), Ok(Status::Ok));
    assert_eq!(
        setup.control(Action::Start, &setup.daemon(&[])),
        Ok(Status::AlreadyDone)
    );
    assert_eq!(setup.control(Action::Signal, &none), Ok(Status::Ok));
    assert!(eventually(Duration::from_secs(5), || {
        std::fs::read_to_string(&setup.hup_log).unwrap_or_default() == format!("HUP {pid}\n")
    }));
    assert_eq!(setup.control(Action::Stop, &none), Ok(Status::Ok));
    assert!(common::wait_gone(pid, Duration::from_secs(5)));
    assert_eq!(std::fs::read(setup.pid_path()).unwrap(), b"");
    assert_eq!(setup.control(Action::Check, &none), Ok(Status::NotRunning));
    assert_eq!(setup.control(Action::Stop, &none), Ok(Status::AlreadyDone));
    assert_eq!(setup.control(Action::Signal, &none), Ok(Status::NotRunning));
    assert_eq!(setup.violations(), "");
}

#[test]
fn restart_starts_a_stopped_daemon_and_replaces_a_running_one() {
    let setup = Setup::new("control-restart");
    let none = Options::default();
    // Nothing runs: RESTART is a START.
    assert_eq!(
        setup.control(Action::Restart, &setup.daemon(&[])),
        Ok(Status::Ok)
    );
    let first = setup.written_pid().expect("daemon PID");
    assert!(common::is_alive(first));
    // It runs: RESTART stops it and starts a new one under the same hold of the guard.
    assert_eq!(
        setup.control(Action::Restart, &setup.daemon(&[])),
        Ok(Status::Ok)
    );
    let second = setup.written_pid().expect("daemon PID");
    assert_ne!(second, first);
    assert!(common::wait_gone(first, Duration::from_secs(5)));
    assert!(common::is_alive(second));
    assert_eq!(setup.control(Action::Check, &none), Ok(Status::Ok));
    assert_eq!(setup.control(Action::Stop, &none), Ok(Status::Ok));
    assert!(common::wait_gone(second, Duration::from_secs(5)));
    // Without a program (and nothing running) RESTART fails as START does.
    assert_eq!(
        setup.control(Action::Restart, &none),
        Err("No program given to start the daemon".into())
    );
    assert_eq!(setup.violations(), "");
}
