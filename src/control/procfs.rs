//! Reading `/proc` without formatting or allocating: paths, fields, a mount's device, a process's
//! group, session and start time.
//!
//! This file owns those readers. It must never open anything outside `/proc`, follow a process's
//! descriptors, or allocate.

use crate::io::for_each_line;
use crate::pidfile;
use crate::text::{parse_decimal, Writer};
use core::ffi::CStr;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

/// `/proc/self/fdinfo/<number>` in `buffer`.
pub(super) fn own_fdinfo(buffer: &mut [u8; 40], number: u32) -> &CStr {
    proc_path(buffer, b"self/fdinfo/", number, b"")
}

/// `/proc/<middle><number><suffix>` in `buffer` (long enough for every use).
pub(super) fn proc_path<'b>(
    buffer: &'b mut [u8; 40],
    middle: &[u8],
    number: u32,
    suffix: &[u8],
) -> &'b CStr {
    let mut writer = Writer::new(&mut buffer[..]);
    writer.push(b"/proc/");
    writer.push(middle);
    writer.push_decimal(u64::from(number));
    writer.push(suffix);
    writer.push(b"\0");
    CStr::from_bytes_until_nul(&buffer[..]).unwrap_or(c"/proc")
}

/// Opens `path` (a `/proc` file) read-only.
pub(super) fn open_proc(path: &CStr, flags: OFlags) -> Result<OwnedFd, Errno> {
    rustix::fs::open(
        path,
        flags | OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )
}

/// Bytes of a value [`read_field`] keeps.
pub(super) const FIELD: usize = 32;

/// The first `key` line's value in single-record `/proc` file `path`, trimmed, cut to [`FIELD`]
/// bytes.
pub(super) fn read_field<'v>(
    path: &CStr,
    key: &[u8],
    value: &'v mut [u8; FIELD],
) -> Result<Option<&'v [u8]>, Errno> {
    let fd = open_proc(path, OFlags::empty())?;
    let mut length = None;
    for_each_line(fd.as_fd(), true, &mut |line| match line.strip_prefix(key) {
        Some(rest) => {
            let rest = rest.trim_ascii();
            let kept = rest.len().min(FIELD);
            value[..kept].copy_from_slice(&rest[..kept]);
            length = Some(kept);
            false
        }
        None => true,
    })?;
    Ok(length.map(|length| &value[..length]))
}

/// `MAJ:MIN` of `mount` in `/proc/self/mountinfo`: the superblock's device, as lock lines show it.
pub(super) fn mount_device(mount: u64) -> Result<Option<(u32, u32)>, Errno> {
    let fd = open_proc(c"/proc/self/mountinfo", OFlags::empty())?;
    let mut device = None;
    for_each_line(fd.as_fd(), false, &mut |line| {
        let mut fields = line.split(|&byte| byte == b' ');
        if fields.next().and_then(|id| parse_decimal(id, u64::MAX)) != Some(mount) {
            return true;
        }
        let mut numbers = fields.nth(1).unwrap_or(b"").split(|&byte| byte == b':');
        device = numbers
            .next()
            .and_then(|major| parse_decimal(major, u64::from(u32::MAX)))
            .zip(
                numbers
                    .next()
                    .and_then(|minor| parse_decimal(minor, u64::from(u32::MAX))),
            )
            .map(|(major, minor)| (major as u32, minor as u32));
        false
    })?;
    Ok(device)
}

/// The fields after the name (state first) of the `stat` file `path` under `directory`.
fn stat_fields<'s>(
    directory: BorrowedFd<'_>,
    path: &CStr,
    stat: &'s mut [u8; 512],
) -> Option<impl Iterator<Item = &'s [u8]>> {
    let fd = rustix::fs::openat(
        directory,
        path,
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let length = rustix::io::read(&fd, &mut stat[..]).ok()?;
    let stat = &stat[..length];
    // The name may hold anything, even `)`.
    let after_name = stat.iter().rposition(|&byte| byte == b')')?;
    Some(
        stat[after_name + 1..]
            .split(|&byte| byte == b' ')
            .filter(|field| !field.is_empty()),
    )
}

/// Process group and session (fields 5 and 6 of [`stat_fields`]' file), as `/proc` numbers them.
pub(super) fn group_and_session(directory: BorrowedFd<'_>, path: &CStr) -> Option<(u32, u32)> {
    let mut stat = [0u8; 512];
    let mut fields = stat_fields(directory, path, &mut stat)?;
    // state, ppid, pgrp, session.
    let group = parse_decimal(fields.nth(2)?, pidfile::PID_MAX)?;
    let session = parse_decimal(fields.next()?, pidfile::PID_MAX)?;
    Some((group as u32, session as u32))
}

/// Start time (field 22: ticks after boot), which tells a process from a later one with its number.
pub(super) fn start_time(directory: BorrowedFd<'_>, path: &CStr) -> Option<u64> {
    let mut stat = [0u8; 512];
    // Field 3 (the state) is the first after the name.
    let field = stat_fields(directory, path, &mut stat)?.nth(22 - 3)?;
    parse_decimal(field, u64::MAX)
}
