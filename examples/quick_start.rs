// A daemon and its controller in one std program (the crate's front page shows this file).
// Cargo.toml: ucw-daemon = { version = "0.1", features = ["std"] }, rustix = "1".
// Run it as root: quick_start [PID_FILE]   (default /run/quick-start.pid)
use std::ffi::CString;
use std::time::Duration;
use ucw_daemon::control::{self, default_guard_file, Action, Status};
use ucw_daemon::credentials::{Credentials, Identity};
use ucw_daemon::daemon::{self, Fork, Launched, Running};
use ucw_daemon::signal::{self, Signal, SignalSet, Signals};

/// The signal that ends the daemon: blocked before the fork, read from a signalfd.
const STOP: SignalSet = SignalSet::EMPTY.with(Signal::TERM);

/// The daemon: it runs as `nobody` until SIGTERM, then releases its PID file.
fn serve(running: Running) -> i32 {
    let Ok(signals) = Signals::new(STOP) else {
        return 1;
    };
    // ... the daemon's work; here it only waits ...
    while signals.wait() != Ok(Signal::TERM) {}
    let _ = running.exit(); // empties and unlocks the PID file (never unlinks it)
    0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1);
    let pid_file = CString::new(path.as_deref().unwrap_or("/run/quick-start.pid"))?;
    let params = daemon::Params {
        pid_file: Some(&pid_file),
        user: Some(Identity::Name(b"nobody")),
        ..daemon::Params::default()
    };
    // Resolved in place, without a heap of their own: a name and a home directory (4.4 KiB)
    // and room for the user's supplementary groups, both on our heap.
    let mut groups = vec![rustix::process::Gid::ROOT; 1024];
    let mut credentials = Box::new(Credentials::new(&mut groups));
    // "Cannot open PID file /run/quick-start.pid: EACCES (Permission denied)"
    let say = |error: ucw_daemon::Error| error.display(&params).to_string();
    let daemon = daemon::init(&params, &mut credentials).map_err(say)?;
    // A SIGTERM that comes before the daemon reads its signals waits for it.
    signal::block(STOP).map_err(|errno| format!("cannot block SIGTERM: {errno}"))?;
    // A std program forks through its C library: Fork::std() (the `std` feature).
    if let Launched::Daemon { pid } = daemon.run(Fork::std(), serve).map_err(say)? {
        println!("started: pid {}", pid.as_raw_nonzero());
    }

    // The controller's side, as ucw-daemon-control does it, from any process: the guard
    // file serialises controllers (X.pid -> X.lock, the tools' default).
    let mut buffer = [0; 4096];
    let guard_file = default_guard_file(&pid_file, &mut buffer).ok_or("not an X.pid name")?;
    let check = control::Params::new(&pid_file, guard_file, Action::Check);
    let outcome = control::control(&check).map_err(|error| error.display(&check).to_string())?;
    println!("check: {:?}, pid {:?}", outcome.status, outcome.pid);
    drop(outcome); // releases the guard (our next action would wait for it)
    let stop = control::Params {
        timeout: Some(Duration::from_secs(10)),
        ..control::Params::new(&pid_file, guard_file, Action::Stop)
    };
    let outcome = control::control(&stop).map_err(|error| error.display(&stop).to_string())?;
    assert_eq!(outcome.status, Status::Ok);
    println!("stopped");
    Ok(())
}
