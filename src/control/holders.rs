//! Which descriptors of a process carry the PID file's lock (docs/design.md §3, the proof and its
//! cost), read one `fdinfo` at a time through its `/proc/<n>/fdinfo` directory, each after its
//! `fd/<n>` link; sockets, pipes, anonymous inodes and devices are never read, nothing is `stat`ed.
//!
//! This file owns that look. It must never call a process a holder without a `lock:` line for the
//! PID file's device and inode in its fdinfo, and never read an fdinfo whose link it has not looked
//! at.

use super::proof::LockId;
use crate::error::{Error, Message, Result, Subject};
use crate::text::{parse_decimal, parse_hex, Writer};
use core::ffi::CStr;
use core::mem::MaybeUninit;
use rustix::fd::{AsFd, BorrowedFd};
use rustix::fs::{Mode, OFlags, RawDir};
use rustix::io::Errno;

/// What the lock proof can say about a process.
pub(super) enum Holding {
    /// One of its descriptors carries the lock.
    Yes,
    /// None does (or the process is gone or a zombie).
    No,
}

/// The error for a failed read of `/proc/<number>`'s fdinfo.
pub(super) fn process_error(number: u32, errno: Errno) -> Error {
    Error::system(Message::ReadProcess, Subject::None, errno).with(1, number)
}

/// Descriptors per directory read: at most 42 entries fit a 1 KiB `getdents64` buffer; a chunk's
/// order is a 64-bit mask.
const CHUNK: usize = 42;

/// Bytes of a `fd/<n>` link kept for comparison with the PID file's path.
const LINK_KEPT: usize = 256;

/// Whether a descriptor of the process whose fdinfo directory is `infos` carries `lock`.
pub(super) fn holds(
    infos: BorrowedFd<'_>,
    number: u32,
    lock: &LockId,
    pid_file: &CStr,
) -> Result<Holding> {
    crate::failpoint::hit("control-proving-holder");
    let mut buffer = [MaybeUninit::<u8>::uninit(); 1024];
    let mut entries = RawDir::new(infos, &mut buffer);
    let mut chunk = [0u32; CHUNK];
    loop {
        let mut count = 0;
        let mut ended = false;
        while count < CHUNK {
            match entries.next() {
                None => {
                    ended = true;
                    break;
                }
                Some(Ok(entry)) => {
                    if let Some(fd) =
                        parse_decimal(entry.file_name().to_bytes(), u64::from(u32::MAX))
                    {
                        chunk[count] = fd as u32;
                        count += 1;
                    }
                }
                // Exited while we read: it holds nothing.
                Some(Err(Errno::NOENT)) | Some(Err(Errno::SRCH)) => return Ok(Holding::No),
                Some(Err(errno)) => return Err(process_error(number, errno)),
            }
            if entries.is_buffer_empty() {
                break;
            }
        }
        if let Holding::Yes = look_at(infos, number, lock, pid_file, &chunk[..count])? {
            return Ok(Holding::Yes);
        }
        if ended {
            return Ok(Holding::No);
        }
    }
}

/// What a descriptor's link says about it.
enum Link {
    /// Closed meanwhile, or a socket, pipe, anonymous inode or device: never read.
    Skip,
    /// It names the PID file's path.
    PidFile,
    /// Another file (or the PID file under another name).
    Other,
}

/// The descriptors of one chunk, newest first, those naming the PID file before the others.
fn look_at(
    infos: BorrowedFd<'_>,
    number: u32,
    lock: &LockId,
    pid_file: &CStr,
    descriptors: &[u32],
) -> Result<Holding> {
    let mut others = 0u64;
    for (index, &fd) in descriptors.iter().enumerate().rev() {
        match link(infos, number, fd, pid_file.to_bytes())? {
            Link::Skip => {}
            Link::PidFile => {
                if carries(infos, number, fd, lock)? {
                    return Ok(Holding::Yes);
                }
            }
            Link::Other => others |= 1 << index,
        }
    }
    for (index, &fd) in descriptors.iter().enumerate().rev() {
        if others & 1 << index != 0 && carries(infos, number, fd, lock)? {
            return Ok(Holding::Yes);
        }
    }
    Ok(Holding::No)
}

/// `readlinkat(infos, "../fd/<fd>")`, classified (a relative PID file path matches a link's end).
fn link(infos: BorrowedFd<'_>, number: u32, fd: u32, pid_file: &[u8]) -> Result<Link> {
    let mut path = [0u8; 24];
    let mut writer = Writer::new(&mut path);
    writer.push(b"../fd/");
    writer.push_decimal(u64::from(fd));
    writer.push(b"\0");
    let path = CStr::from_bytes_until_nul(&path).unwrap_or(c"..");
    let mut text = [0u8; LINK_KEPT];
    let length = match rustix::fs::readlinkat_raw(infos, path, &mut text[..]) {
        Ok(length) => length,
        Err(Errno::NOENT) | Err(Errno::SRCH) => return Ok(Link::Skip),
        Err(errno) => return Err(process_error(number, errno)),
    };
    let text = &text[..length];
    if [&b"socket:"[..], b"pipe:", b"anon_inode:", b"/dev/"]
        .iter()
        .any(|prefix| text.starts_with(prefix))
    {
        return Ok(Link::Skip);
    }
    let names_it = length < LINK_KEPT
        && match pid_file.first() {
            Some(b'/') => text == pid_file,
            Some(_) => text.ends_with(pid_file) && text[..length - pid_file.len()].ends_with(b"/"),
            None => false,
        };
    Ok(if names_it { Link::PidFile } else { Link::Other })
}

/// Whether `<fd>` in `infos` has a `FLOCK` line for `lock` (none once closed).
fn carries(infos: BorrowedFd<'_>, number: u32, fd: u32, lock: &LockId) -> Result<bool> {
    let mut name = [0u8; 12];
    let mut writer = Writer::new(&mut name);
    writer.push_decimal(u64::from(fd));
    writer.push(b"\0");
    let name = CStr::from_bytes_until_nul(&name).unwrap_or(c"");
    let info =
        match rustix::fs::openat(infos, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) {
            Ok(info) => info,
            Err(Errno::NOENT) | Err(Errno::SRCH) => return Ok(false),
            Err(errno) => return Err(process_error(number, errno)),
        };
    let mut found = false;
    let _ = crate::io::for_each_line(info.as_fd(), true, &mut |line| {
        if let Some(rest) = line.strip_prefix(b"lock:") {
            found |= flock_line_matches(rest, lock);
        }
        !found
    });
    Ok(found)
}

/// Whether a `lock:` line's rest (`\t1: FLOCK  ADVISORY  WRITE 1082 fe:00:10117578 0 EOF`) is a
/// held `flock` on `lock`.
fn flock_line_matches(rest: &[u8], lock: &LockId) -> bool {
    let mut words = rest
        .split(|&byte| byte == b' ' || byte == b'\t')
        .filter(|word| !word.is_empty());
    let (Some(_index), Some(kind), Some(_advisory), Some(_mode), Some(_pid), Some(identity)) = (
        words.next(),
        words.next(),
        words.next(),
        words.next(),
        words.next(),
        words.next(),
    ) else {
        return false;
    };
    if kind != b"FLOCK" {
        return false;
    }
    let mut parts = identity.split(|&byte| byte == b':');
    let (Some(major), Some(minor), Some(inode), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    parse_hex(major, 8) == Some(u64::from(lock.major))
        && parse_hex(minor, 8) == Some(u64::from(lock.minor))
        && parse_decimal(inode, u64::MAX) == Some(lock.inode)
}

#[cfg(test)]
mod tests;
