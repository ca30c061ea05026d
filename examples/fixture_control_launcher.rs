//! Test fixture for tests/control_*.rs: launchers that break the protocol.
//!
//! `fixture_control_launcher MODE` with MODE one of `exit3` (exit with status 3), `exit102`
//! (exit 102, as a launcher whose daemon failed to initialise), `kill-self` (die by
//! SIGKILL), `exit0` (exit 0 without ever locking a PID file), `print-env FILE` (write its
//! environment and arguments to FILE, then exit 0 without locking).
fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args[1].as_str() {
        "exit3" => std::process::exit(3),
        "exit102" => std::process::exit(102),
        "kill-self" => {
            let _ = rustix::process::kill_process(
                rustix::process::getpid(),
                rustix::process::Signal::KILL,
            );
            std::thread::sleep(std::time::Duration::from_secs(10));
        }
        "exit0" => {}
        "print-env" => {
            let mut text = String::new();
            for arg in &args {
                text.push_str(&format!("arg {arg}\n"));
            }
            for (key, value) in std::env::vars() {
                text.push_str(&format!("env {key}={value}\n"));
            }
            std::fs::write(&args[2], text).unwrap();
        }
        other => panic!("unknown mode {other}"),
    }
}
