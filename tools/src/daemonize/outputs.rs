//! `--stdout FILE` and `--stderr FILE` (the `output-files` feature): the files the program's
//! output is appended to, opened by the launcher before the credentials change (so a
//! root-owned log directory works) and checked, then put on the program's standard streams
//! just before its `execve`.
//!
//! This file owns which files are acceptable: never a symbolic link, never a regular file
//! with more than one link or owned by anyone but root or the daemon's user, never something
//! that is neither a regular file, a character device nor a FIFO; never blocking on a FIFO
//! without a reader.

#[cfg(any(feature = "output-files", feature = "log"))]
use super::messages::Failure;
use super::Request;
#[cfg(any(feature = "output-files", feature = "log"))]
use core::ffi::CStr;
#[cfg(any(feature = "output-files", feature = "log"))]
use rustix::fd::BorrowedFd;
use rustix::fd::OwnedFd;
#[cfg(any(feature = "output-files", feature = "log"))]
use rustix::fs::{FileType, Mode, OFlags};
#[cfg(any(feature = "output-files", feature = "log"))]
use rustix::io::Errno;
use ucw_daemon::Error;
#[cfg(any(feature = "output-files", feature = "log"))]
use ucw_daemon::Subject;

/// The program's standard output and standard error, when given.
pub(super) type Outputs = [Option<OwnedFd>; 2];

/// Opens and checks `--stdout` and `--stderr` for a daemon whose user is `owner`.
#[cfg(feature = "output-files")]
pub(super) fn open(request: &Request<'_>, owner: u32) -> Result<Outputs, Error> {
    Ok([
        open_output(request.stdout, Subject::OutputFile, owner)?,
        open_output(request.stderr, Subject::ErrorFile, owner)?,
    ])
}

/// Without the feature there are no output files (the options are usage errors).
#[cfg(not(feature = "output-files"))]
pub(super) fn open(_request: &Request<'_>, _owner: u32) -> Result<Outputs, Error> {
    Ok([None, None])
}

/// `dup2` the output files onto stdout and stderr (in a process about to exec).
pub(super) fn redirect(outputs: &Outputs) {
    if let Some(stdout) = &outputs[0] {
        let _ = rustix::stdio::dup2_stdout(stdout);
    }
    if let Some(stderr) = &outputs[1] {
        let _ = rustix::stdio::dup2_stderr(stderr);
    }
}

#[cfg(feature = "output-files")]
/// Opens `path` for appending the program's output ([`open_appending`]: a regular file, a
/// character device or a FIFO).
fn open_output(
    path: Option<&CStr>,
    subject: Subject,
    owner: u32,
) -> Result<Option<OwnedFd>, Error> {
    let Some(path) = path else {
        return Ok(None);
    };
    open_appending(rustix::fs::CWD, path, subject, owner, false).map(|(fd, _)| Some(fd))
}

#[cfg(any(feature = "output-files", feature = "log"))]
/// Opens `path` (relative to `directory`) for appending (`O_APPEND|O_CREAT|O_NOFOLLOW`, mode
/// 0640, `O_NONBLOCK` so that a FIFO without a reader fails at once instead of blocking), then
/// checks what it is: a regular file with one link owned by root or `owner` (the daemon's
/// user), or, unless `regular_only` (`--log`), a character device (`/dev/null`, a console)
/// or a FIFO; anything else is refused. Returns the descriptor and the file's size.
pub(super) fn open_appending(
    directory: BorrowedFd<'_>,
    path: &CStr,
    subject: Subject,
    owner: u32,
    regular_only: bool,
) -> Result<(OwnedFd, u64), Error> {
    let flags = OFlags::WRONLY
        | OFlags::APPEND
        | OFlags::CREATE
        | OFlags::NOFOLLOW
        | OFlags::CLOEXEC
        | OFlags::NOCTTY
        | OFlags::NONBLOCK;
    let fd = rustix::fs::openat(directory, path, flags, Mode::from_raw_mode(0o640))
        .and_then(crate::rt::above_standard_streams)
        .map_err(|errno| {
            let failure = if errno == Errno::LOOP {
                Failure::RefuseSymlink
            } else {
                Failure::Open
            };
            failure.system(subject, errno)
        })?;
    let stat = rustix::fs::fstat(&fd).map_err(|errno| Failure::Stat.system(subject, errno))?;
    match (FileType::from_raw_mode(stat.st_mode), regular_only) {
        (FileType::RegularFile, _) => {
            if stat.st_nlink != 1 {
                return Err(Failure::RefuseHardLinks
                    .about(subject)
                    .with(1, stat.st_nlink as u32));
            }
            if stat.st_uid != 0 && stat.st_uid != owner {
                return Err(Failure::RefuseOwnerNotTarget
                    .about(subject)
                    .with(1, stat.st_uid)
                    .with(2, owner));
            }
        }
        (_, true) => return Err(Failure::RefuseNotRegular.about(subject)),
        (FileType::CharacterDevice, _) => {}
        (FileType::Fifo, _) => {
            // Writes block again once it is open: a full FIFO slows the program, it does
            // not make its writes fail.
            rustix::fs::fcntl_setfl(&fd, OFlags::APPEND)
                .map_err(|errno| Failure::SetFlags.system(subject, errno))?;
        }
        _ => return Err(Failure::RefuseNotRegularOrDevice.about(subject)),
    }
    Ok((fd, stat.st_size as u64))
}
