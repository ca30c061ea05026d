//! An ordinary std program using the library, meant to be built as a static musl executable
//! (`cargo build --release --features std --example std_musl --target
//! x86_64-unknown-linux-musl`; CI does and runs it, see `tests/run-all`). With the `std`
//! feature it forks through its C library with `Fork::std()`; without the feature a program
//! passes its C library's fork to `Fork::hosted` (see examples/spec_daemon.rs).
//!
//! ```text
//! std_musl /tmp/std_musl.pid /tmp/std_musl.out
//! ```
//!
//! It daemonizes with the PID file given first; the daemon writes
//! `std_musl daemon <pid> ran as a daemon\n` to the output file given second, releases its
//! PID file and exits 0. The launcher returns as soon as the daemon's PID is published.

use std::ffi::CString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;
use ucw_daemon::credentials::Credentials;
use ucw_daemon::daemon::{self, Fork, Params, Running};

/// The daemon's work: one line into the output file, then a clean exit.
fn write_line(output: &std::path::Path, running: Running) -> i32 {
    let line = format!("std_musl daemon {} ran as a daemon\n", std::process::id());
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(output)
        .and_then(|mut file| file.write_all(line.as_bytes()));
    let released = running.exit();
    match (written, released) {
        (Ok(()), Ok(())) => 0,
        (Err(error), _) => {
            eprintln!("std_musl: cannot write {}: {error}", output.display());
            1
        }
        (_, Err(error)) => {
            eprintln!("std_musl: {error}");
            1
        }
    }
}

/// Reports a failure to start the daemon, naming the files of `params`; LibUCW's exit code
/// for errors.
fn fail(error: &ucw_daemon::Error, params: &Params<'_>) -> ExitCode {
    eprintln!("std_musl: {}", error.display(params));
    ExitCode::from(102)
}

fn main() -> ExitCode {
    let arguments: Vec<_> = std::env::args_os().collect();
    if arguments.len() != 3 {
        eprintln!("Usage: std_musl PID_FILE OUTPUT_FILE (absolute paths)");
        return ExitCode::from(1);
    }
    let pid_file = CString::new(arguments[1].as_bytes()).expect("no NUL in an argument");
    let output = std::path::PathBuf::from(&arguments[2]);
    let params = Params {
        pid_file: Some(&pid_file),
        ..Params::default()
    };
    // Room for 1,024 supplementary groups (4 KiB; a user in more is a clear error), and the
    // credentials themselves (a name and a home directory, 4.4 KiB): on the heap.
    let mut groups = vec![rustix::process::Gid::ROOT; 1024];
    let mut credentials = Box::new(Credentials::new(&mut groups));
    let daemon = match daemon::init(&params, &mut credentials) {
        Ok(daemon) => daemon,
        Err(error) => return fail(&error, &params),
    };
    match daemon.run(Fork::std(), |running| write_line(&output, running)) {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => fail(&error, &params),
    }
}
