//! size-report's account-lookup benchmark: finds one user by name in a passwd-format file
//! with `ucw_daemon::account` and prints `name uid gid home` (the same line as
//! size-report/lookup_glibc.c prints with glibc's `fgetpwent`).
//!
//! Usage: `size_account_lookup PASSWD_FILE NAME`; exit 0 found, 1 not found (or no such
//! file), 2 error. Used by `size-report/run` only; it is not a test fixture.

use std::ffi::CString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;
use ucw_daemon::account::{find_user_by_name, AccountFiles, Lookup};

fn main() -> ExitCode {
    let arguments: Vec<_> = std::env::args_os().collect();
    let [_, passwd, name] = &arguments[..] else {
        eprintln!("usage: size_account_lookup PASSWD_FILE NAME");
        return ExitCode::from(2);
    };
    let Ok(passwd) = CString::new(passwd.as_bytes()) else {
        eprintln!("size_account_lookup: the path contains a NUL byte");
        return ExitCode::from(2);
    };
    let files = AccountFiles {
        passwd: &passwd,
        group: c"/nonexistent/group",
    };
    match find_user_by_name(&files, name.as_bytes()) {
        Ok(Lookup::Found(user)) => {
            let mut line = Vec::with_capacity(128);
            line.extend_from_slice(user.name());
            line.extend_from_slice(format!(" {} {} ", user.uid(), user.gid()).as_bytes());
            line.extend_from_slice(user.home());
            line.push(b'\n');
            if std::io::stdout().write_all(&line).is_err() {
                return ExitCode::from(2);
            }
            ExitCode::SUCCESS
        }
        Ok(Lookup::NotFound | Lookup::NoDatabase) => ExitCode::from(1),
        Err(error) => {
            eprintln!("size_account_lookup: {error}");
            ExitCode::from(2)
        }
    }
}
