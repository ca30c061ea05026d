//! Whole-buffer reads and sends and a line reader: the retry loops (EINTR, short counts), written
//! once.
//!
//! This module owns those loops only: it must never decide what the bytes mean, block longer than
//! the descriptor does, or let a `send` raise SIGPIPE.

use rustix::fd::BorrowedFd;
use rustix::io::Errno;

/// Reads into `buffer` until full or end of file, retrying on EINTR; returns the count. With
/// `stop_after_short_read`, a short read ends it (a regular file gives all at once).
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

/// `send(MSG_NOSIGNAL)` until all is sent, retried on EINTR; a gone peer is EPIPE, never a signal.
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

/// Bytes of a line [`for_each_line`] keeps.
pub(crate) const LINE_KEPT: usize = 128;

/// Calls `line` per line of `fd` (no newline, at most [`LINE_KEPT`] bytes) until it returns `false`
/// or the file ends. With `whole`, a short read is the end (procfs single-record files; never
/// `mountinfo`).
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
