//! Many controllers at once: 16 threads call `control()` in-process with random actions on
//! one daemon. The daemon's sentinel lock proves that two instances never run at the same
//! time; no action may fail, nothing may be left behind, and the final CHECK must agree with
//! what really runs.
mod common;
mod control_common;
mod fixture_programs;

use control_common::{Options, Setup};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use ucw_daemon::control::{Action, Status};

const THREADS: usize = 16;
const OPERATIONS_PER_THREAD: usize = 320;

/// xorshift64: enough randomness to mix the actions, reproducible from the seed.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn sixteen_controllers_never_run_two_daemons() {
    let setup = Setup::new("control-concurrency");
    let start = setup.daemon(&[]);
    let plain = Options::default();
    let done = AtomicUsize::new(0);
    let launched = AtomicUsize::new(0);
    let stopped = AtomicUsize::new(0);
    let started = Instant::now();
    let errors: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|thread| {
                let (setup, start, plain, done) = (&setup, &start, &plain, &done);
                let (launched, stopped) = (&launched, &stopped);
                scope.spawn(move || {
                    let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ ((thread as u64 + 1) * 7919);
                    let mut errors = Vec::new();
                    for _ in 0..OPERATIONS_PER_THREAD {
                        let action = match next(&mut seed) % 4 {
                            0 => Action::Start,
                            1 => Action::Stop,
                            2 => Action::Check,
                            _ => Action::Signal,
                        };
                        let options = if action == Action::Start {
                            start
                        } else {
                            plain
                        };
                        let result = setup.control(action, options);
                        match (action, result) {
                            (_, Err(message)) => errors.push(format!("{action:?}: {message}")),
                            (Action::Start, Ok(Status::Ok)) => {
                                launched.fetch_add(1, Ordering::Relaxed);
                            }
                            (Action::Stop, Ok(Status::Ok)) => {
                                stopped.fetch_add(1, Ordering::Relaxed);
                            }
                            _ => {}
                        }
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    errors
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap())
            .collect()
    });
    let took = started.elapsed();
    let operations = done.load(Ordering::Relaxed);
    let (launched, stopped) = (launched.into_inner(), stopped.into_inner());
    eprintln!(
        "{operations} operations by {THREADS} controllers in {took:?}: \
         {launched} daemons started, {stopped} stopped"
    );
    assert!(operations >= 2000);
    // The mix really exercised the life cycle, not just CHECK on one state.
    assert!(
        launched >= 100 && stopped >= 100,
        "{launched} starts, {stopped} stops"
    );
    assert!(
        errors.is_empty(),
        "{} errors: {:?}",
        errors.len(),
        &errors[..errors.len().min(5)]
    );
    assert_eq!(setup.violations(), "", "two daemons ran at once");

    // The final CHECK agrees with reality.
    let live = control_common::live_children();
    match setup.control(Action::Check, &plain) {
        Ok(Status::Ok) => {
            let pid = setup.written_pid().expect("PID of the running daemon");
            assert_eq!(live, vec![pid], "CHECK says {pid} runs");
        }
        Ok(Status::NotRunning) => assert!(live.is_empty(), "CHECK says none runs: {live:?}"),
        other => panic!("final CHECK: {other:?}"),
    }
    assert!(setup.control(Action::Stop, &plain).is_ok());
    assert!(
        control_common::eventually(Duration::from_secs(5), || control_common::live_children()
            .is_empty()),
        "orphans left"
    );
    control_common::reap_zombies();
    assert!(common::children_of_self().is_empty(), "zombies left");
    assert_eq!(setup.violations(), "");
}

/// The sentinel really detects two live daemons (so the check above can fail): a second
/// daemon with its own PID file but the same sentinel records a violation.
#[test]
fn sentinel_detects_a_second_daemon() {
    let setup = Setup::new("control-sentinel");
    let first = setup.start_daemon(&[]);
    // The daemon takes its sentinel right after it starts: wait for that, or the second
    // daemon could win the sentinel and the first one would be the one that quits.
    assert!(control_common::eventually(Duration::from_secs(5), || {
        let probe = rustix::fs::open(
            std::ffi::CString::new(setup.sentinel.as_os_str().as_encoded_bytes())
                .unwrap()
                .as_c_str(),
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
        let free =
            rustix::fs::flock(&probe, rustix::fs::FlockOperation::NonBlockingLockShared).is_ok();
        !free
    }));
    let status = std::process::Command::new(control_common::example("fixture_control_daemon"))
        .arg(setup.dir.join("other.pid"))
        .arg(&setup.sentinel)
        .arg(&setup.violations)
        .status()
        .unwrap();
    assert!(status.success());
    assert!(control_common::eventually(Duration::from_secs(5), || {
        !setup.violations().is_empty()
    }));
    assert!(common::is_alive(first));
}
