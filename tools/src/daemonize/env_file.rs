//! `--env-file FILE`: `NAME=VALUE` lines, read by the launcher (a host path, before any root
//! directory or user switch) in constant memory, each variable kept in a fixed arena for the
//! program's environment.
//!
//! The format: one `NAME=VALUE` per line, taken literally (no quotes, no `$` expansion: `$HOME`
//! stays `$HOME`); blanks before the name are skipped, a `\r` before the newline is dropped;
//! empty lines and lines whose first non-blank byte is `#` are comments. A line without `=`,
//! with an empty name or a blank in it, or with a NUL byte is malformed.
//!
//! This file owns that format. It must never accept a malformed line or a line longer than
//! [`LINE_LIMIT`] (an error naming the file and the line), never cut a variable, and never
//! hold more of the file than the line being read.

use super::messages::Failure;
use crate::cli::environment::variable_name_length;
use crate::rt::c_string;
use core::ffi::CStr;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use ucw_daemon::{Error, Subject};

/// Bytes of one line, its newline not counted.
pub(super) const LINE_LIMIT: usize = 16 * 1024;

/// Where the variables of every `--env-file` are kept, one after the other, NUL-terminated.
pub(super) struct Arena {
    free: &'static mut [u8],
    capacity: usize,
}

impl Arena {
    /// An arena in `storage`.
    pub(super) fn new(storage: &'static mut [u8]) -> Self {
        Self {
            capacity: storage.len(),
            free: storage,
        }
    }

    /// The first `length` free bytes, which become the arena's for good.
    fn keep(&mut self, length: usize) -> &'static [u8] {
        let (kept, rest) = core::mem::take(&mut self.free).split_at_mut(length);
        self.free = rest;
        kept
    }
}

/// The error about the file, with number 1 (`%1`) `number`.
fn failure(failure: Failure, number: usize) -> Error {
    failure
        .about(Subject::EnvironmentFile)
        .with(1, number as u32)
}

/// Reads the file at `path` and hands each of its variables (`NAME=VALUE`, kept in `arena`)
/// to `each`, in order.
pub(super) fn read(
    path: &CStr,
    arena: &mut Arena,
    mut each: impl FnMut(&'static CStr) -> Result<(), Error>,
) -> Result<(), Error> {
    let file = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )
    .map_err(|errno| Failure::Open.system(Subject::EnvironmentFile, errno))?;
    let mut chunk = [0u8; 4096];
    let mut length = 0;
    let mut line = 1;
    loop {
        let count = match rustix::io::read(&file, &mut chunk) {
            Ok(count) => count,
            Err(Errno::INTR) => continue,
            Err(errno) => return Err(Failure::Read.system(Subject::EnvironmentFile, errno)),
        };
        if count == 0 {
            // A last line without a newline is a line too.
            return finish_line(arena, length, line, &mut each);
        }
        for &byte in &chunk[..count] {
            if byte == b'\n' {
                finish_line(arena, length, line, &mut each)?;
                length = 0;
                line += 1;
                continue;
            }
            if length == LINE_LIMIT {
                return Err(failure(Failure::LineTooLong, line).with(2, LINE_LIMIT as u32));
            }
            // Room for this byte and the NUL that ends the line.
            if length + 1 >= arena.free.len() {
                return Err(failure(Failure::VariablesTooLarge, arena.capacity));
            }
            arena.free[length] = byte;
            length += 1;
        }
    }
}

/// The line of `length` bytes at the start of the arena's free bytes (line number `line`):
/// skipped when it is a comment or empty, an error when malformed, else kept (NUL-terminated)
/// and handed to `each`.
fn finish_line(
    arena: &mut Arena,
    mut length: usize,
    line: usize,
    each: &mut impl FnMut(&'static CStr) -> Result<(), Error>,
) -> Result<(), Error> {
    let text = &arena.free[..length];
    if text.last() == Some(&b'\r') {
        length -= 1;
    }
    let text = &arena.free[..length];
    let start = text
        .iter()
        .position(|&byte| byte != b' ' && byte != b'\t')
        .unwrap_or(length);
    if start == length || text[start] == b'#' {
        return Ok(());
    }
    if variable_name_length(&text[start..]).is_none() {
        return Err(failure(Failure::MalformedLine, line));
    }
    // `read` left room for the NUL.
    arena.free[length] = 0;
    let kept = arena.keep(length + 1);
    // A NUL byte within the line is malformed too.
    match c_string(&kept[start..]) {
        Some(variable) => each(variable),
        None => Err(failure(Failure::MalformedLine, line)),
    }
}
