//! Whole-buffer reads and sends over a descriptor, and a line reader: the retry loops (EINTR,
//! short counts) that the PID file, the launcher's channel, the `/proc` readers and the signal
//! reset share, written once.
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

/// Bytes of a line that [`for_each_line`] keeps: every line we look for is shorter, or has what
/// we want in its start (mountinfo's device, status's masks).
pub(crate) const LINE_KEPT: usize = 128;

/// Calls `line` for every line read from `fd` (without its newline, cut to its first
/// [`LINE_KEPT`] bytes) until it returns `false` or the file ends.
///
/// With `whole`, a read that returns fewer bytes than asked is the end: procfs builds a
/// single-record file (`status`, `stat`, `fdinfo/<n>`) whole on the first read and hands out
/// what is left on every read, so a short read leaves nothing, and one `read` does where a
/// second would only have seen the end of file. (Never for `mountinfo`, one record per mount.)
pub(crate) fn for_each_line(
    fd: BorrowedFd<'_>,
    whole: bool,
    line: &mut dyn FnMut(&[u8]) -> bool,
) -> Result<(), Errno> {
    let mut buffer = [0u8; 1024];
    let mut current = [0u8; LINE_KEPT];
    let mut length = 0;
    loop {
        let count = match rustix::io::read(fd, &mut buffer) {
            Ok(count) => count,
            Err(Errno::INTR) => continue,
            Err(errno) => return Err(errno),
        };
        for &byte in &buffer[..count] {
            if byte == b'\n' {
                if !line(&current[..length]) {
                    return Ok(());
                }
                length = 0;
            } else if length < current.len() {
                current[length] = byte;
                length += 1;
            }
        }
        if count == 0 || (whole && count < buffer.len()) {
            if length > 0 {
                line(&current[..length]);
            }
            return Ok(());
        }
    }
}
