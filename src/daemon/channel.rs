//! The launcher–daemon channel (docs/design.md §4): a stream socket pair, report and readiness up,
//! release down.
//!
//! This file owns the words: a status byte, or [`REPORT_FAILURE`] and the error's 16 bytes. It must
//! never block the launcher on a dead daemon (end of file is a word) nor raise SIGPIPE
//! (`MSG_NOSIGNAL`).

use crate::error::{Error, Message, Result, Subject, ERROR_BYTES};
use crate::io::{read_full, send_all};
use crate::text::{parse_decimal, Writer};
use rustix::fd::BorrowedFd;
use rustix::io::Errno;
use rustix::process::Pid;

/// Status bytes on the channel (daemon → launcher).
pub(super) const REPORT_OK: u8 = b'+';
pub(super) const REPORT_FAILURE: u8 = b'-';
/// The release byte (launcher → daemon).
pub(super) const RELEASE: u8 = b'!';

/// What the daemon said on the channel, short of an error.
#[derive(PartialEq, Eq)]
pub(super) enum Word {
    /// [`REPORT_OK`].
    Ok,
    /// End of file: the daemon exec'd or ended.
    Closed,
}

/// The daemon's next word: [`REPORT_OK`], end of file, or a failure report returned as its error.
pub(super) fn read_word(channel: BorrowedFd<'_>) -> Result<Word> {
    let garbage = Error::new(Message::UnexpectedConfirmation, Subject::None);
    let mut status = [0u8; 1];
    match read_full(channel, &mut status, false) {
        Ok(0) => Ok(Word::Closed),
        Ok(_) if status[0] == REPORT_OK => Ok(Word::Ok),
        Ok(_) if status[0] == REPORT_FAILURE => {
            let mut bytes = [0u8; ERROR_BYTES];
            match read_full(channel, &mut bytes, false) {
                Ok(ERROR_BYTES) => Err(Error::from_bytes(&bytes).unwrap_or(garbage)),
                _ => Err(garbage),
            }
        }
        Ok(_) => Err(garbage),
        Err(errno) => Err(Error::system(
            Message::ReadConfirmation,
            Subject::None,
            errno,
        )),
    }
}

/// Whether the daemon `pid` (our uncollected child) closed the channel by ending, not by `execve`:
/// an exit `waitpid` sees, or a zombie or exiting process (`PF_EXITING` in field 9 of
/// `/proc/<pid>/stat`, set before its descriptors close, never by `execve`) naming us as parent.
///
/// # References
/// [proc_pid_stat(5)](https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html)
pub(super) fn ended_without_word(pid: Pid) -> bool {
    use rustix::fs::{Mode, OFlags};
    if let Ok(Some(_)) = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::NOHANG) {
        return true;
    }
    let mut path = [0u8; 32];
    let mut writer = Writer::new(&mut path[..]);
    writer.push(b"/proc/");
    writer.push_decimal(u64::from(pid.as_raw_nonzero().get() as u32));
    writer.push(b"/stat\0");
    let Ok(path) = core::ffi::CStr::from_bytes_until_nul(&path) else {
        return false;
    };
    let Ok(file) = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) else {
        return false;
    };
    let mut stat = [0u8; 512];
    let Ok(length) = rustix::io::read(&file, &mut stat) else {
        return false;
    };
    let stat = &stat[..length];
    // `pid (name) state ppid pgrp session tty_nr tpgid flags ...`; the name may hold `)`.
    let Some(after_name) = stat.iter().rposition(|&byte| byte == b')') else {
        return false;
    };
    let mut fields = stat[after_name + 1..]
        .split(|&byte| byte == b' ')
        .filter(|field| !field.is_empty());
    let (Some(state), Some(parent)) = (fields.next(), fields.next()) else {
        return false;
    };
    let ours = u64::from(rustix::process::getpid().as_raw_nonzero().get() as u32);
    if parse_decimal(parent, u64::from(u32::MAX)) != Some(ours) {
        return false;
    }
    // pgrp, session, tty_nr, tpgid, then flags.
    let flags = fields
        .nth(4)
        .and_then(|flags| parse_decimal(flags, u64::MAX));
    matches!(state, b"Z" | b"X" | b"x") || flags.is_some_and(|flags| flags & PF_EXITING != 0)
}

/// The kernel's "process is exiting" task flag (`include/linux/sched.h`).
const PF_EXITING: u64 = 0x4;

/// Collects the daemon after a failed start (it exits at once).
pub(super) fn reap(pid: Pid) {
    let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
}

/// Sends one status byte.
pub(super) fn send_byte(fd: BorrowedFd<'_>, byte: u8) -> core::result::Result<(), Errno> {
    send_all(fd, &[byte])
}

/// [`REPORT_FAILURE`] and the error's 16 bytes, in one send.
pub(super) fn send_failure(fd: BorrowedFd<'_>, error: &Error) -> core::result::Result<(), Errno> {
    let mut message = [0u8; 1 + ERROR_BYTES];
    message[0] = REPORT_FAILURE;
    message[1..].copy_from_slice(&error.to_bytes());
    send_all(fd, &message)
}
