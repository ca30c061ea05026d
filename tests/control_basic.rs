//! The daemon life cycle through `control()` called in-process: start, check, signal, stop,
//! and a SIGKILLed daemon leaving a stale PID file.
mod common;
mod control_common;

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
