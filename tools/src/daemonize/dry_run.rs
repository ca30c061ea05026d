//! `--dry-run`: the launcher's plan, resolved as a start would resolve it (the user and groups,
//! the limits, the environment, the paths) and printed one item a line on standard output,
//! each line in one `write`; nothing is locked, created, started or changed.
//!
//! The lines, each a word and its value: `pid-file FILE`, `chroot DIR`, `chdir DIR`, `stdout
//! FILE`, `stderr FILE` (each of these paths checked: it exists, or its directory does, for
//! the files a start creates), `user UID [NAME]`, `group GID`, `supplementary-group GID` for
//! each, `rlimit NAME SOFT HARD` (as the daemon will set it), `nice N` (the value the daemon
//! will have), `oom-score-adj N`, `umask 0NNN`, `keep-capability NAME` for each,
//! `no-new-privs`, `program PATH` (found as the exec will find it: with the program's `PATH`,
//! inside the root directory, from the working directory), `argument ARG` for each argument,
//! `env NAME=VALUE` for each variable. What needs privileges (changing the root, a lower nice
//! value or OOM score) is not tried.
//!
//! This file owns that plan's form. It must never open anything for writing, lock, fork or
//! change the process.

use super::messages::Failure;
use super::Request;
use crate::cli::environment::{name_at, CAPABILITY_NAMES, LIMIT_NAMES};
use crate::rt::decimal;
use crate::rt::write_parts;
use core::ffi::CStr;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{FileType, Mode, OFlags, ResolveFlags, CWD};
use rustix::io::Errno;
use rustix::process::{Resource, Rlimit};
use ucw_daemon::control::StringList;
use ucw_daemon::credentials::Credentials;
use ucw_daemon::daemon::{Flags, Params};
use ucw_daemon::{Error, Subject};

/// Prints `parts` and a newline in one write.
#[inline(never)]
fn line(parts: &[&[u8]]) {
    let mut all: [&[u8]; 8] = [b"\n"; 8];
    let count = parts.len().min(7);
    all[..count].copy_from_slice(&parts[..count]);
    write_parts(1, &all[..=count]);
}

/// Prints `word`, a decimal number (with its sign), then `rest`.
#[inline(never)]
fn number(word: &[u8], value: i64, rest: &[u8]) {
    let mut digits = [0u8; 20];
    let sign: &[u8] = if value < 0 { b"-" } else { b"" };
    line(&[word, sign, decimal(value.unsigned_abs(), &mut digits), rest]);
}

/// Opens `path` (`O_PATH`, plus `flags`) from `directory`, inside `root` when one is given.
#[inline(never)]
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

/// Prints the plan; the error of the first thing that cannot be resolved (then nothing is
/// printed: the plan is printed whole or not at all).
#[inline(never)]
pub(super) fn print(
    request: &Request<'_>,
    params: &Params<'_>,
    limits: &[(Resource, Rlimit)],
    credentials: &Credentials<'_>,
    program: StringList<'_>,
    environment: StringList<'_>,
) -> Result<(), Error> {
    let settings = &request.settings;
    let daemonizing = !request.foreground;
    reachable(request.pid_file, Subject::PidFile)?;
    reachable(request.stdout, Subject::OutputFile)?;
    reachable(request.stderr, Subject::ErrorFile)?;
    let root = match params.root_directory {
        Some(path) => Some(
            open_in(None, CWD, path, OFlags::DIRECTORY)
                .map_err(|errno| Failure::Open.system(Subject::RootDirectory, errno))?,
        ),
        None => None,
    };
    let root = root.as_ref().map(AsFd::as_fd);
    let preserved = request.flags | Flags::PRESERVE_CWD == request.flags;
    let working = match (params.working_directory, root) {
        (Some(path), _) => Some(path),
        (None, Some(_)) => Some(c"/"),
        (None, None) if daemonizing && !preserved => Some(c"/"),
        _ => None,
    };
    let directory = match working {
        Some(path) => Some(
            open_in(root, root.unwrap_or(CWD), path, OFlags::DIRECTORY)
                .map_err(|errno| Failure::Open.system(Subject::WorkingDirectory, errno))?,
        ),
        None => None,
    };
    let directory = directory.as_ref().map_or(CWD, AsFd::as_fd);
    let mut candidate = [0u8; 4096];
    let found = find_program(&program, &environment, root, directory, &mut candidate)
        .map_err(|errno| Failure::Execute.system(Subject::Program, errno))?;

    path_line(b"pid-file ", request.pid_file);
    path_line(b"chroot ", params.root_directory);
    path_line(b"chdir ", working);
    path_line(b"stdout ", request.stdout);
    path_line(b"stderr ", request.stderr);
    if let Some(uid) = credentials.uid() {
        let name = credentials.user_name().unwrap_or(b"");
        let space: &[u8] = if name.is_empty() { b"" } else { b" " };
        line(&[
            b"user ",
            decimal(uid.as_raw().into(), &mut [0; 20]),
            space,
            name,
        ]);
    }
    if let Some(gid) = credentials.gid() {
        number(b"group ", gid.as_raw().into(), b"");
        for group in credentials.groups() {
            number(b"supplementary-group ", group.as_raw().into(), b"");
        }
    }
    for &(resource, value) in limits {
        let mut digits = [[0u8; 20]; 2];
        let [soft, hard] = &mut digits;
        line(&[
            b"rlimit ",
            name_at(LIMIT_NAMES, resource as usize),
            b" ",
            amount(value.current, soft),
            b" ",
            amount(value.maximum, hard),
        ]);
    }
    if settings.nice != 0 {
        let current = rustix::process::getpriority_process(None).unwrap_or(0);
        number(
            b"nice ",
            (current + settings.nice).clamp(-20, 19).into(),
            b"",
        );
    }
    if let Some(score) = settings.oom_score_adj {
        number(b"oom-score-adj ", score.into(), b"");
    }
    if let Some(mask) = settings.umask.or(daemonizing.then_some(0o022)) {
        let octal = [
            b'0',
            b'0' + (mask >> 6 & 7) as u8,
            b'0' + (mask >> 3 & 7) as u8,
            b'0' + (mask & 7) as u8,
        ];
        line(&[b"umask ", &octal]);
    }
    for number in 0..64 {
        if settings.keep_capabilities & 1 << number != 0 {
            line(&[b"keep-capability ", name_at(CAPABILITY_NAMES, number)]);
        }
    }
    if settings.no_new_privs {
        line(&[b"no-new-privs"]);
    }
    line(&[b"program ", found]);
    // Past the program's name (not `skip`, which costs a second walk).
    let mut arguments = program.iter();
    arguments.next();
    for argument in arguments {
        line(&[b"argument ", argument.to_bytes()]);
    }
    for entry in environment.iter() {
        line(&[b"env ", entry.to_bytes()]);
    }
    Ok(())
}

/// A limit in decimal, or `unlimited`.
#[inline(never)]
fn amount(value: Option<u64>, digits: &mut [u8; 20]) -> &[u8] {
    match value {
        None => b"unlimited",
        Some(value) => decimal(value, digits),
    }
}

/// Prints `word` and `path`, when there is one.
#[inline(never)]
fn path_line(word: &[u8], path: Option<&CStr>) {
    if let Some(path) = path {
        line(&[word, path.to_bytes()]);
    }
}

/// Whether `path` (about `subject`) exists, or else its directory does (where a start would
/// create it); nothing to check without one.
#[inline(never)]
fn reachable(path: Option<&CStr>, subject: Subject) -> Result<(), Error> {
    match path {
        Some(path) => exists(path).map_err(|errno| Failure::Open.system(subject, errno)),
        None => Ok(()),
    }
}

/// Whether `path` exists, or else its directory does.
#[inline(never)]
fn exists(path: &CStr) -> Result<(), Errno> {
    let text = path.to_bytes();
    // The directory: everything before the last slash (`/` for `/x`, `.` for `x`).
    let end = text
        .iter()
        .rposition(|&byte| byte == b'/')
        .map_or(0, |slash| slash.max(1));
    let mut parent = [0u8; 4097];
    if end >= parent.len() {
        return Err(Errno::NAMETOOLONG);
    }
    parent[0] = b'.';
    // Byte by byte: a slice copy is an out-of-line call at opt-level "z".
    for (slot, &byte) in parent.iter_mut().zip(&text[..end]) {
        *slot = byte;
    }
    let parent = crate::rt::c_string(&parent[..=end.max(1)]).ok_or(Errno::NAMETOOLONG)?;
    let flags = OFlags::PATH | OFlags::CLOEXEC;
    match rustix::fs::open(path, flags | OFlags::NOFOLLOW, Mode::empty()) {
        Err(Errno::NOENT) => rustix::fs::open(parent, flags | OFlags::DIRECTORY, Mode::empty()),
        other => other,
    }
    .map(drop)
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
    if name.is_empty() {
        return Err(Errno::NOENT);
    }
    // Not `contains`: its memchr costs the tools ~170 bytes.
    #[allow(clippy::manual_contains)]
    let search = match name.iter().any(|&byte| byte == b'/') {
        true => &b""[..],
        false => environment
            .variable(b"PATH")
            .map_or(&b"/bin:/usr/bin"[..], CStr::to_bytes),
    };
    let mut denied = false;
    for entry in search.split(|&byte| byte == b':') {
        let mut candidate = crate::output::Line::new(&mut buffer[..4095]);
        candidate.push(entry);
        if !entry.is_empty() {
            candidate.push(b"/");
        }
        candidate.push(name);
        candidate.push(b"\0");
        let length = candidate.len();
        let path = crate::rt::c_string(&buffer[..length]).ok_or(Errno::NAMETOOLONG)?;
        let found = open_in(root, directory, path, OFlags::empty())
            .and_then(|file| rustix::fs::fstat(&file))
            .map(|stat| {
                FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile
                    && stat.st_mode & 0o111 != 0
            });
        match found {
            Ok(true) => return Ok(&buffer[..length - 1]),
            Ok(false) | Err(Errno::ACCESS) => denied = true,
            Err(Errno::NOENT | Errno::NOTDIR) => {}
            Err(other) => return Err(other),
        }
    }
    Err(if denied { Errno::ACCESS } else { Errno::NOENT })
}
