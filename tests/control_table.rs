//! docs/design.md §2 × §3 as a test: every class of PID file × every action gives the status or
//! the error the tables define. Each case starts from a fresh directory.
mod common;
mod control_common;
mod fixture_programs;

use control_common::{Decoy, Options, Setup};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;
use ucw_daemon::control::{Action, Status};

#[derive(Clone, Copy, Debug)]
enum Class {
    Absent,
    NotRunning,
    StaleNumber,
    StaleGarbage,
    StaleTooLong,
    Running,
    BusyEmpty,
    BusyStarting,
    BusyPartialDigits,
    LockedMinusOne,
    LockedZero,
    LockedGarbage,
    NotRegular,
    GroupWritable,
    Symlink,
}

#[derive(Debug)]
enum Expect {
    Status(Status),
    Error(&'static str),
}

const ACTIONS: [Action; 4] = [Action::Check, Action::Start, Action::Stop, Action::Signal];

/// The row of the action table for `class`, in the order of [`ACTIONS`].
fn row(class: Class) -> [Expect; 4] {
    use Expect::{Error, Status as S};
    use Status::*;
    let invalid = "does not contain a valid PID";
    match class {
        Class::Absent | Class::NotRunning => [S(NotRunning), S(Ok), S(AlreadyDone), S(NotRunning)],
        Class::StaleNumber | Class::StaleGarbage | Class::StaleTooLong => {
            [S(Stale), S(Stale), S(Stale), S(NotRunning)]
        }
        Class::Running => [S(Ok), S(AlreadyDone), S(Ok), S(Ok)],
        // START waits for a PID or for the lock to go, as STOP does (the decoy keeps the
        // file BUSY past the deadline).
        Class::BusyEmpty | Class::BusyStarting | Class::BusyPartialDigits => [
            S(Ok),
            Error("did not write its PID"),
            Error("did not write its PID"),
            S(NotRunning),
        ],
        Class::LockedMinusOne | Class::LockedZero | Class::LockedGarbage => [
            Error(invalid),
            Error(invalid),
            Error(invalid),
            Error(invalid),
        ],
        Class::NotRegular => [
            Error("not a regular file"),
            Error("not a regular file"),
            Error("not a regular file"),
            Error("not a regular file"),
        ],
        Class::GroupWritable => [
            Error("writable by group or others"),
            Error("writable by group or others"),
            Error("writable by group or others"),
            Error("writable by group or others"),
        ],
        Class::Symlink => [
            Error("symbolic link"),
            Error("symbolic link"),
            Error("symbolic link"),
            Error("symbolic link"),
        ],
    }
}

/// Puts the PID file in `class`; returns the decoy holding it, if any.
fn prepare(setup: &Setup, class: Class) -> Option<Decoy> {
    let path = setup.pid_path();
    let write = |content: &[u8], mode: u32| {
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    match class {
        Class::Absent => None,
        Class::NotRunning => {
            write(b"", 0o600);
            None
        }
        Class::StaleNumber => {
            write(b"12345\n", 0o600);
            None
        }
        Class::StaleGarbage => {
            write(b"not a pid at all", 0o600);
            None
        }
        Class::StaleTooLong => {
            write(&[b'7'; 100], 0o644);
            None
        }
        Class::Running => {
            setup.start_daemon(&[]);
            None
        }
        Class::BusyEmpty => Some(Decoy::start(setup, "", None)),
        Class::BusyStarting => Some(Decoy::start(setup, "(starting)\\n", None)),
        Class::BusyPartialDigits => Some(Decoy::start(setup, "123", None)),
        Class::LockedMinusOne => Some(Decoy::start(setup, "-1\\n", None)),
        Class::LockedZero => Some(Decoy::start(setup, "0\\n", None)),
        Class::LockedGarbage => Some(Decoy::start(setup, "garbage\\n", None)),
        Class::NotRegular => {
            std::fs::create_dir(&path).unwrap();
            None
        }
        Class::GroupWritable => {
            write(b"", 0o620);
            None
        }
        Class::Symlink => {
            let target = setup.dir.join("elsewhere.pid");
            std::fs::write(&target, b"").unwrap();
            std::os::unix::fs::symlink(&target, &path).unwrap();
            None
        }
    }
}

#[test]
fn every_class_times_every_action() {
    let classes = [
        Class::Absent,
        Class::NotRunning,
        Class::StaleNumber,
        Class::StaleGarbage,
        Class::StaleTooLong,
        Class::Running,
        Class::BusyEmpty,
        Class::BusyStarting,
        Class::BusyPartialDigits,
        Class::LockedMinusOne,
        Class::LockedZero,
        Class::LockedGarbage,
        Class::NotRegular,
        Class::GroupWritable,
        Class::Symlink,
    ];
    let mut cases = 0;
    for class in classes {
        for (action, expect) in ACTIONS.into_iter().zip(row(class)) {
            let setup = Setup::new("control-table");
            let decoy = prepare(&setup, class);
            let options = setup.daemon(&[]).timeout(Duration::from_millis(300));
            let got = setup.control(action, &options);
            match (&expect, &got) {
                (Expect::Status(want), Ok(status)) => {
                    assert_eq!(want, status, "{class:?} × {action:?}")
                }
                (Expect::Error(part), Err(message)) => assert!(
                    message.contains(part),
                    "{class:?} × {action:?}: {message:?} lacks {part:?}"
                ),
                _ => panic!("{class:?} × {action:?}: expected {expect:?}, got {got:?}"),
            }
            // What the successful state changes left behind.
            match (action, &got) {
                (Action::Start, Ok(Status::Ok | Status::Stale)) => {
                    let pid = setup.written_pid().expect("START wrote no PID");
                    assert!(common::is_alive(pid), "{class:?}: daemon {pid} not running");
                    assert_eq!(
                        setup.control(Action::Check, &Options::default()),
                        Ok(Status::Ok)
                    );
                }
                (Action::Stop, Ok(Status::Ok)) => {
                    assert_eq!(std::fs::read(setup.pid_path()).unwrap(), b"");
                    assert!(control_common::live_children().is_empty());
                }
                _ => {}
            }
            // A PID file readable by others that we own is tightened to 0600 (anyone who can
            // open it could hold its lock), never refused; the guard is created 0600.
            if let Class::StaleTooLong = class {
                let mode = std::fs::metadata(setup.pid_path())
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600, "{class:?} × {action:?}: mode {mode:o}");
            }
            let guard = std::fs::metadata(setup.guard_file.to_str().unwrap()).unwrap();
            assert_eq!(
                guard.permissions().mode() & 0o777,
                0o600,
                "{class:?} × {action:?}: guard file mode"
            );
            // Decoys are never signalled: the tables never let a bad or busy file be acted on.
            if let Some(mut decoy) = decoy {
                assert!(
                    matches!(decoy.child.try_wait(), Ok(None)),
                    "{class:?} × {action:?}: decoy was killed"
                );
            }
            assert_eq!(setup.violations(), "");
            cases += 1;
        }
    }
    assert_eq!(cases, 60);
}
