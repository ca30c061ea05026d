//! Test fixture for tests/control_*.rs: a process that locks a PID file and writes whatever
//! it is told into it (a stranger's PID, `-1`, nothing), then sleeps until killed.
//!
//! `fixture_control_decoy PID_FILE CONTENT [LATER]` — CONTENT is written as given, with
//! `\n` standing for a newline and `self` for the decoy's own PID; then `PID_FILE.ready` is
//! created. With LATER, that content replaces CONTENT 300 ms afterwards (a daemon that takes
//! its time to write its PID).
use std::ffi::CString;
use std::time::Duration;
use ucw_daemon::pidfile::{replace_content, PidFile};

fn expand(text: &str) -> String {
    text.replace("\\n", "\n")
        .replace("self", &std::process::id().to_string())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = CString::new(args[1].as_str()).unwrap();
    let file = PidFile::create_locked(&path).expect("lock PID file");
    replace_content(file.fd(), expand(&args[2]).as_bytes()).expect("write PID file");
    std::fs::write(format!("{}.ready", args[1]), b"").unwrap();
    if let Some(later) = args.get(3) {
        std::thread::sleep(Duration::from_millis(300));
        replace_content(file.fd(), expand(later).as_bytes()).expect("write PID file");
    }
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
