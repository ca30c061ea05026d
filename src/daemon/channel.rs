//! The channel between the launcher and the daemon (docs/design.md §4): one stream socket
//! pair that carries the daemon's setup report and its readiness up, and the release byte down.
//!
//! This file owns the words on that channel and their encoding: a status byte, and a failure
//! as [`REPORT_FAILURE`] followed by the error's 16 bytes. It must never block the launcher on
//! a daemon that died (end of file is a word too) and never let a `send` to a dead peer kill
//! the sender with SIGPIPE (`MSG_NOSIGNAL`).

use crate::error::{Error, Message, Result, Subject, ERROR_BYTES};
use crate::io::{read_full, send_all};
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
    /// End of file: the daemon's end was closed (it exec'd, or it ended).
    Closed,
}

/// Reads the daemon's next word: [`REPORT_OK`], end of file, or a failure report, which is
/// returned as the daemon's error (anything else is a protocol error).
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

/// Collects the daemon process after a failed start (it exits right away).
pub(super) fn reap(pid: Pid) {
    let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
}

/// Sends one status byte.
pub(super) fn send_byte(fd: BorrowedFd<'_>, byte: u8) -> core::result::Result<(), Errno> {
    send_all(fd, &[byte])
}

/// Sends a failure report: [`REPORT_FAILURE`] and the error's 16 bytes, in one send.
pub(super) fn send_failure(fd: BorrowedFd<'_>, error: &Error) -> core::result::Result<(), Errno> {
    let mut message = [0u8; 1 + ERROR_BYTES];
    message[0] = REPORT_FAILURE;
    message[1..].copy_from_slice(&error.to_bytes());
    send_all(fd, &message)
}
