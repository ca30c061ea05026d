//! Test fixture for tests/control_*.rs: a process that locks a PID file and writes whatever
//! it is told into it (a stranger's PID, `-1`, nothing), then sleeps until killed.
//!
//! `fixture_control_decoy PID_FILE CONTENT` — CONTENT is written as given, with `\n`
//! standing for a newline.
use std::ffi::CString;
use ucw_daemon::pidfile::{replace_content, PidFile};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = CString::new(args[1].as_str()).unwrap();
    let content = args[2].replace("\\n", "\n");
    let file = PidFile::create_locked(&path).expect("lock PID file");
    replace_content(file.fd(), content.as_bytes()).expect("write PID file");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
