//! Reading `/proc`: paths built without formatting, files read line by line through one
//! fixed buffer, a field of a `key: value` file, the device of a mount, a process's group,
//! session and start time.
//!
//! This file owns those readers. It must never open anything outside `/proc`, never follow a
//! process's descriptors (`fd/<n>` links are read as text by the proof, never stat'ed), and
//! never allocate.

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

/// `/proc/<middle><number><suffix>` in `buffer` (which is long enough for every use here).
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

/// Bytes of a field's value that [`read_field`] keeps (a number, or a few of them).
pub(super) const FIELD: usize = 32;

/// The value of the first line of `path` (a single-record `/proc` file: `status`, `fdinfo/<n>`)
/// starting with `key`, trimmed and cut to [`FIELD`] bytes (`mnt_id:\t27` → `27`); `None` when
/// no line starts with it.
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

/// The `MAJ:MIN` of mount `mount` in `/proc/self/mountinfo` (`27 1 0:43 / /srv …`): the
/// superblock's device, as `fdinfo` lock lines show it.
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

/// The fields of the `stat` file at `path` under `directory` (`stat` in a `/proc/<n>`
/// directory, `../stat` in its `fdinfo`) that follow the name in parentheses (the state
/// first), read into `stat`.
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
    // `pid (name) state ppid pgrp session ...`: the name may hold anything, even `)`.
    let after_name = stat.iter().rposition(|&byte| byte == b')')?;
    Some(
        stat[after_name + 1..]
            .split(|&byte| byte == b' ')
            .filter(|field| !field.is_empty()),
    )
}

/// The process group and session in the `stat` file at `path` under `directory` (`stat` in a
/// `/proc/<n>` directory, `../stat` in its `fdinfo`: the fifth and sixth fields, after the
/// name in parentheses), as `/proc` numbers them.
pub(super) fn group_and_session(directory: BorrowedFd<'_>, path: &CStr) -> Option<(u32, u32)> {
    let mut stat = [0u8; 512];
    let mut fields = stat_fields(directory, path, &mut stat)?;
    // state, ppid, pgrp, session.
    let group = parse_decimal(fields.nth(2)?, pidfile::PID_MAX)?;
    let session = parse_decimal(fields.next()?, pidfile::PID_MAX)?;
    Some((group as u32, session as u32))
}

/// The start time (field 22 of `stat`: clock ticks after boot) in the `stat` file at `path`
/// under `directory` (`stat` in a `/proc/<n>` directory, `../stat` in its `fdinfo`): with the
/// process's number, what tells it from a process that got the same number later.
pub(super) fn start_time(directory: BorrowedFd<'_>, path: &CStr) -> Option<u64> {
    let mut stat = [0u8; 512];
    // Field 3 (the state) is the first after the name.
    let field = stat_fields(directory, path, &mut stat)?.nth(22 - 3)?;
    parse_decimal(field, u64::MAX)
}
