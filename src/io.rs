//! Whole-buffer reads and sends over a descriptor: the retry loops (EINTR, short counts) that
//! the PID file, the launcher's channel and the proof's readers share, written once.
//!
//! This module owns those loops and nothing else: it must never decide what the bytes mean,
//! never block longer than the descriptor does, and never let a `send` to a dead peer raise
//! SIGPIPE.

use rustix::fd::BorrowedFd;
use rustix::io::Errno;

/// Reads into `buffer` until it is full or at end of file, retrying on EINTR; returns the byte
/// count. With `stop_after_short_read`, a read that returns fewer bytes than asked ends it
/// too: a regular file delivers everything it has in one read, so the common case makes one
/// `read` instead of two (the second would only see the end of file).
pub(crate) fn read_full(
    fd: BorrowedFd<'_>,
    buffer: &mut [u8],
    stop_after_short_read: bool,
) -> Result<usize, Errno> {
    let mut filled = 0;
    while filled < buffer.len() {
        match rustix::io::read(fd, &mut buffer[filled..]) {
            Ok(0) => break,
            Ok(count) => filled += count,
            Err(Errno::INTR) => continue,
            Err(errno) => return Err(errno),
        }
        if stop_after_short_read && filled < buffer.len() {
            break;
        }
    }
    Ok(filled)
}

/// `send(fd, bytes, MSG_NOSIGNAL)` until all are sent, retried on EINTR; a peer that is gone
/// is EPIPE, never a signal.
pub(crate) fn send_all(fd: BorrowedFd<'_>, mut bytes: &[u8]) -> Result<(), Errno> {
    while !bytes.is_empty() {
        match rustix::net::send(fd, bytes, rustix::net::SendFlags::NOSIGNAL) {
            Ok(0) => return Err(Errno::IO),
            Ok(count) => bytes = &bytes[count..],
            Err(Errno::INTR) => {}
            Err(errno) => return Err(errno),
        }
    }
    Ok(())
}
