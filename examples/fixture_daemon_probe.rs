//! Test fixture for tests/daemon.rs and tests/credentials.rs: daemonizes itself through the
//! library and lets the test inspect the daemon from outside.
//!
//! Usage: `fixture_daemon_probe PID_FILE` with the environment:
//! - `PROBE_USER`, `PROBE_GROUP`, `PROBE_PASSWD`, `PROBE_GROUP_FILE`: credentials and databases;
//! - `PROBE_FLAGS`: letters `c` (PRESERVE_CWD), `s` (SIMULATE), `r` (RESET_SIGNALS),
//!   `f` (CLOSE_INHERITED_FDS);
//! - `PROBE_MODE`: `run` (default), `confirm`, `fail` (report a failure), `exec` (exec
//!   `/bin/sleep 30` keeping the PID file);
//! - `PROBE_CLOSE_FD`: a standard descriptor to close before anything else;
//! - `PROBE_RAISE_AMBIENT`: raise CAP_NET_BIND_SERVICE into the ambient set first;
//! - `PROBE_FAILPOINT`: `launcher-after-fork` arms that fail point;
//! - `PROBE_REPORT`: a file the body appends `key=value` lines to;
//! - `PROBE_STOP`: the body calls `Running::exit` and ends once this path exists.
//!
//! The launcher prints `launched <pid>` on success, or the error on stderr and exits 102.

use std::ffi::CString;
use std::io::Write;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::process::CommandExt;
use std::time::Duration;
use ucw_daemon::account::AccountFiles;
use ucw_daemon::credentials::Credentials;
use ucw_daemon::daemon::{self, Flags, Launched, Params, Running};

fn env_bytes(name: &str) -> Option<Vec<u8>> {
    std::env::var_os(name).map(|value| value.into_vec())
}

fn env_cstring(name: &str) -> Option<CString> {
    env_bytes(name).map(|value| CString::new(value).unwrap())
}

fn report(line: &str) {
    if let Some(path) = std::env::var_os("PROBE_REPORT") {
        if let Ok(mut file) = std::fs::OpenOptions::new().append(true).open(path) {
            let _ = writeln!(file, "{line}");
        }
    }
}

fn body(mut running: Running<'_>) -> i32 {
    report(&format!("pid={}", std::process::id()));
    report(&format!("simulated={}", running.is_simulated()));
    report(&format!(
        "setresuid-root={}",
        match rustix::thread::set_thread_res_uid(
            rustix::process::Uid::ROOT,
            rustix::process::Uid::ROOT,
            rustix::process::Uid::ROOT,
        ) {
            Ok(()) => "ok".to_string(),
            Err(errno) => format!("errno {}", errno.raw_os_error()),
        }
    ));
    match std::env::var("PROBE_MODE").as_deref() {
        Ok("fail") => {
            running.report_failure(&ucw_daemon::Error::new("probe body refused to start"));
            return 3;
        }
        Ok("exec") => {
            running.keep_pid_file_across_exec().unwrap();
            let error = std::process::Command::new("/bin/sleep").arg("30").exec();
            running.report_failure(
                &ucw_daemon::Error::new("Cannot exec /bin/sleep: ").push(error.to_string()),
            );
            return 4;
        }
        Ok("confirm") => running.confirm(),
        _ => {}
    }
    report("body=running");
    let stop = std::env::var_os("PROBE_STOP");
    for _ in 0..3000 {
        if stop
            .as_ref()
            .is_some_and(|path| std::path::Path::new(path).exists())
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    running.exit().unwrap();
    report("body=exited");
    7
}

fn main() {
    if let Ok(fd) = std::env::var("PROBE_CLOSE_FD") {
        // SAFETY: nothing in this program owns a standard descriptor.
        unsafe { rustix::io::close(fd.parse().unwrap()) };
    }
    if std::env::var_os("PROBE_RAISE_AMBIENT").is_some() {
        // CAP_NET_BIND_SERVICE into the ambient set: it would survive fork and exec unless
        // the library clears it.
        let mut sets = rustix::thread::capabilities(None).unwrap();
        sets.inheritable |= rustix::thread::CapabilitySet::NET_BIND_SERVICE;
        rustix::thread::set_capabilities(None, sets).unwrap();
        rustix::thread::configure_capability_in_ambient_set(
            rustix::thread::CapabilitySet::NET_BIND_SERVICE,
            true,
        )
        .unwrap();
        report(&format!(
            "launcher-ambient={}",
            rustix::thread::capability_is_in_ambient_set(
                rustix::thread::CapabilitySet::NET_BIND_SERVICE
            )
            .unwrap()
        ));
    }
    #[cfg(feature = "failpoints")]
    if std::env::var("PROBE_FAILPOINT").as_deref() == Ok("launcher-after-fork") {
        ucw_daemon::failpoint::arm(b"launcher-after-fork");
    }
    let pid_file = std::env::args_os()
        .nth(1)
        .map(|path| CString::new(path.into_vec()).unwrap());
    let passwd = env_cstring("PROBE_PASSWD").unwrap_or_else(|| c"/etc/passwd".into());
    let group_file = env_cstring("PROBE_GROUP_FILE").unwrap_or_else(|| c"/etc/group".into());
    let user = env_bytes("PROBE_USER");
    let group = env_bytes("PROBE_GROUP");
    let mut flags = Flags::EMPTY;
    for letter in std::env::var("PROBE_FLAGS").unwrap_or_default().chars() {
        flags = flags
            | match letter {
                'c' => Flags::PRESERVE_CWD,
                's' => Flags::SIMULATE,
                'r' => Flags::RESET_SIGNALS,
                'f' => Flags::CLOSE_INHERITED_FDS,
                other => panic!("unknown flag {other}"),
            };
    }
    let params = Params {
        flags,
        pid_file: pid_file.as_deref(),
        user: user.as_deref(),
        group: group.as_deref(),
        account_files: AccountFiles {
            passwd: &passwd,
            group: &group_file,
        },
    };
    let mut credentials = Box::new(Credentials::new());
    let result = daemon::init(&params, &mut credentials).and_then(|daemon| {
        if matches!(
            std::env::var("PROBE_MODE").as_deref(),
            Ok("confirm") | Ok("fail") | Ok("exec")
        ) {
            daemon.run_confirmed(body)
        } else {
            daemon.run(body)
        }
    });
    match result {
        Ok(Launched::Daemon { pid }) => println!("launched {}", pid.as_raw_nonzero()),
        Ok(Launched::Simulated { exit_code }) => println!("simulated {exit_code}"),
        Err(error) => {
            eprintln!("fixture_daemon_probe: {error}");
            std::process::exit(102);
        }
    }
}
