//! `--dry-run`: the launcher's plan, resolved as a start would resolve it (the user and groups,
//! the limits, the environment, the paths) and printed one item a line on standard output,
//! each line in one `write`; nothing is locked, created, started or changed.
//!
//! The lines: `pid-file`, `user UID [NAME]`, `group GID`, `groups GID...`, `rlimit NAME SOFT
//! HARD`, `nice N` (the value the daemon will have), `oom-score-adj N`, `umask 0NNN`, `chroot
//! DIR`, `chdir DIR`, `keep-caps NAME,...`, `no-new-privs`, `stdout FILE`, `stderr FILE`,
//! `program PATH` (found as the exec will find it: with the program's `PATH`, inside the root
//! directory, from the working directory), `argument ARG` for each argument, `env NAME=VALUE`
//! for each variable. What needs privileges (the root directory itself, a lower nice value or
//! OOM score) is not tried.
//!
//! This file owns that plan's form. It must never open anything for writing, lock, fork or
//! change the process.

use super::messages::Failure;
use super::Request;
use crate::cli::environment::{name_at, CAPABILITY_NAMES, LIMIT_NAMES};
use crate::output::decimal;
use crate::rt::write_parts;
use core::ffi::CStr;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{FileType, Mode, OFlags, ResolveFlags, CWD};
use rustix::io::Errno;
use rustix::process::{Resource, Rlimit};
use ucw_daemon::control::StringList;
use ucw_daemon::credentials::Credentials;
use ucw_daemon::daemon::Params;
use ucw_daemon::{Error, Subject};

/// Prints `word`, a space, `parts` and a newline in one write.
fn line(word: &[u8], parts: &[&[u8]]) {
    let mut all: [&[u8]; 8] = [b""; 8];
    all[0] = word;
    all[1] = if parts.is_empty() { b"" } else { b" " };
    let count = parts.len().min(5);
    all[2..2 + count].copy_from_slice(&parts[..count]);
    all[2 + count] = b"\n";
    write_parts(1, &all[..3 + count]);
}

/// Prints `word` and a decimal number (with its sign).
fn number(word: &[u8], value: i64) {
    let mut digits = [0u8; 20];
    let sign: &[u8] = if value < 0 { b"-" } else { b"" };
    line(word, &[sign, decimal(value.unsigned_abs(), &mut digits)]);
}

/// A limit as `--rlimit` takes it.
fn limit(value: Option<u64>, digits: &mut [u8; 20]) -> &[u8] {
    match value {
        None => b"unlimited",
        Some(value) => decimal(value, digits),
    }
}

/// Opens `path` (`O_PATH`, plus `flags`) from `directory`, inside `root` when one is given.
fn open_in(
    root: Option<BorrowedFd<'_>>,
    directory: BorrowedFd<'_>,
    path: &CStr,
    flags: OFlags,
) -> Result<OwnedFd, Errno> {
    let absolute = path.to_bytes().first() == Some(&b'/');
    let (from, resolve) = match (root, absolute) {
        (Some(root), true) => (root, ResolveFlags::IN_ROOT),
        (_, false) => (directory, ResolveFlags::empty()),
        (None, true) => (CWD, ResolveFlags::empty()),
    };
    rustix::fs::openat2(
        from,
        path,
        OFlags::PATH | OFlags::CLOEXEC | flags,
        Mode::empty(),
        resolve,
    )
}

/// Prints the plan; the error of the first thing that cannot be resolved.
pub(super) fn print(
    request: &Request<'_>,
    params: &Params<'_>,
    limits: &[(Resource, Rlimit)],
    credentials: &Credentials<'_>,
    program: StringList<'_>,
    environment: StringList<'_>,
) -> Result<(), Error> {
    let settings = &request.settings;
    let mut digits = [0u8; 20];
    let mut more = [0u8; 20];
    if let Some(path) = request.pid_file {
        line(b"pid-file", &[path.to_bytes()]);
    }
    if let Some(uid) = credentials.uid() {
        let name = credentials.user_name().unwrap_or(b"");
        let space: &[u8] = if name.is_empty() { b"" } else { b" " };
        line(
            b"user",
            &[decimal(uid.as_raw().into(), &mut digits), space, name],
        );
    }
    if let Some(gid) = credentials.gid() {
        number(b"group", gid.as_raw().into());
        // Several numbers on one line, built in a fixed buffer (the kernel's most groups
        // would not fit: the list is cut, never the line's end).
        let mut text = [0u8; 1024];
        let mut out = crate::output::Line::new(&mut text[..1023]);
        for group in credentials.groups() {
            out.push(b" ");
            out.push_decimal(group.as_raw().into());
        }
        let length = out.len();
        line(b"groups", &[&text[1.min(length)..length]]);
    }
    for &(resource, value) in limits {
        let name = name_at(LIMIT_NAMES, resource as usize);
        line(
            b"rlimit",
            &[
                name,
                b" ",
                limit(value.current, &mut digits),
                b" ",
                limit(value.maximum, &mut more),
            ],
        );
    }
    if settings.nice != 0 {
        let current = rustix::process::getpriority_process(None).unwrap_or(0);
        number(b"nice", i64::from((current + settings.nice).clamp(-20, 19)));
    }
    if let Some(score) = settings.oom_score_adj {
        number(b"oom-score-adj", score.into());
    }
    let daemonizing = !request.foreground;
    let umask = settings.umask.or(daemonizing.then_some(0o022));
    if let Some(mask) = umask {
        let octal = [
            b'0',
            b'0' + (mask >> 6 & 7) as u8,
            b'0' + (mask >> 3 & 7) as u8,
            b'0' + (mask & 7) as u8,
        ];
        line(b"umask", &[&octal]);
    }
    let root = match params.root_directory {
        Some(path) => {
            line(b"chroot", &[path.to_bytes()]);
            Some(
                open_in(None, CWD, path, OFlags::DIRECTORY)
                    .map_err(|errno| Failure::Open.system(Subject::RootDirectory, errno))?,
            )
        }
        None => None,
    };
    let root = root.as_ref().map(AsFd::as_fd);
    let preserved = request.flags | ucw_daemon::daemon::Flags::PRESERVE_CWD == request.flags;
    let working = match (params.working_directory, root) {
        (Some(path), _) => Some(path),
        (None, Some(_)) => Some(c"/"),
        (None, None) if daemonizing && !preserved => Some(c"/"),
        _ => None,
    };
    let directory = match working {
        Some(path) => {
            line(b"chdir", &[path.to_bytes()]);
            Some(
                open_in(root, root.unwrap_or(CWD), path, OFlags::DIRECTORY)
                    .map_err(|errno| Failure::Open.system(Subject::WorkingDirectory, errno))?,
            )
        }
        None => None,
    };
    let directory = directory.as_ref().map_or(CWD, AsFd::as_fd);
    if settings.keep_capabilities != 0 {
        let mut names = [0u8; 1024];
        let mut out = crate::output::Line::new(&mut names);
        for number in 0..64 {
            if settings.keep_capabilities & 1 << number != 0 {
                out.push(b",");
                out.push(name_at(CAPABILITY_NAMES, number));
            }
        }
        let length = out.len();
        line(b"keep-caps", &[&names[1..length]]);
    }
    if settings.no_new_privs {
        line(b"no-new-privs", &[]);
    }
    for (word, path) in [
        (&b"stdout"[..], request.stdout),
        (b"stderr", request.stderr),
    ] {
        if let Some(path) = path {
            line(word, &[path.to_bytes()]);
        }
    }
    let mut candidate = [0u8; 4096];
    let found = find_program(&program, &environment, root, directory, &mut candidate)
        .map_err(|errno| Failure::Execute.system(Subject::Program, errno))?;
    line(b"program", &[found]);
    for argument in program.iter().skip(1) {
        line(b"argument", &[argument.to_bytes()]);
    }
    for entry in environment.iter() {
        line(b"env", &[entry.to_bytes()]);
    }
    Ok(())
}

/// The program's path as its exec will find it (see the library's `exec`: a name with a `/`
/// as it is, else each entry of the environment's `PATH`, `/bin:/usr/bin` without one; a
/// denied entry is reported only when no later one has the program): an existing regular
/// file with an execute bit, looked up in `root` when one is given, relative names from
/// `directory`.
fn find_program<'b>(
    program: &StringList<'_>,
    environment: &StringList<'_>,
    root: Option<BorrowedFd<'_>>,
    directory: BorrowedFd<'_>,
    buffer: &'b mut [u8; 4096],
) -> Result<&'b [u8], Errno> {
    let name = program.iter().next().map_or(&b""[..], CStr::to_bytes);
    // Not `contains`: its memchr costs the tools ~170 bytes.
    #[allow(clippy::manual_contains)]
    let has_slash = name.iter().any(|&byte| byte == b'/');
    let search = match has_slash {
        true => &b""[..],
        false => environment
            .variable(b"PATH")
            .map_or(&b"/bin:/usr/bin"[..], CStr::to_bytes),
    };
    let mut denied = false;
    for entry in search.split(|&byte| byte == b':') {
        let slash = usize::from(!entry.is_empty());
        let length = entry.len() + slash + name.len();
        if name.is_empty() || length >= buffer.len() {
            return Err(if name.is_empty() {
                Errno::NOENT
            } else {
                Errno::NAMETOOLONG
            });
        }
        buffer[..entry.len()].copy_from_slice(entry);
        buffer[entry.len()] = b'/';
        buffer[entry.len() + slash..length].copy_from_slice(name);
        buffer[length] = 0;
        let path = CStr::from_bytes_with_nul(&buffer[..=length]).map_err(|_| Errno::NOENT)?;
        match open_in(root, directory, path, OFlags::empty()).and_then(|file| {
            let stat = rustix::fs::fstat(&file)?;
            let runnable = FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile
                && stat.st_mode & 0o111 != 0;
            if runnable {
                Ok(())
            } else {
                Err(Errno::ACCESS)
            }
        }) {
            Ok(()) => return Ok(&buffer[..length]),
            Err(Errno::ACCESS) => denied = true,
            Err(Errno::NOENT | Errno::NOTDIR) => {}
            Err(other) => return Err(other),
        }
    }
    Err(if denied { Errno::ACCESS } else { Errno::NOENT })
}
