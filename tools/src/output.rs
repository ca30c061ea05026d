//! What the applets print: one line per `write` (concurrent runs would otherwise interleave
//! their words), built in a fixed buffer; the library's errors rendered once, at the edge;
//! numbers in decimal (with the runtime's [`crate::rt::decimal`]).
//!
//! This file owns the tools' output lines. It must never allocate and never use `core::fmt`
//! (one use links the formatting machinery, kilobytes of the binary).

use crate::cli::UsageError;
use crate::rt::write_all;
use ucw_daemon::{Context, Error};

/// Exit code of `--help`, `--version` and a successful action (LibUCW's; the control applet's
/// other codes are the [`Status`](ucw_daemon::control::Status) values and
/// [`ERROR_EXIT_CODE`](ucw_daemon::control::ERROR_EXIT_CODE)).
pub const EXIT_OK: i32 = 0;

/// Exit code for bad usage (LibUCW's).
pub const EXIT_USAGE: i32 = 1;

/// Bytes of one line: room for a long path, cut in the middle beyond that.
const LINE_CAPACITY: usize = 1024;

/// A line being built in a fixed buffer; what does not fit is dropped.
pub struct Line<'b> {
    buffer: &'b mut [u8],
    length: usize,
}

impl<'b> Line<'b> {
    /// A line that fills `buffer` from its start.
    pub fn new(buffer: &'b mut [u8]) -> Self {
        Self { buffer, length: 0 }
    }

    /// Appends what fits of `bytes`.
    #[inline(never)]
    pub fn push(&mut self, bytes: &[u8]) {
        // Byte by byte (lines are short): a slice copy is two out-of-line calls at
        // opt-level "z".
        for &byte in bytes {
            let Some(slot) = self.buffer.get_mut(self.length) else {
                return;
            };
            *slot = byte;
            self.length += 1;
        }
    }

    /// Appends `value` in decimal.
    pub fn push_decimal(&mut self, value: u64) {
        let mut digits = [0u8; 20];
        self.push(crate::rt::decimal(value, &mut digits));
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.length
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }
}

/// Prints the concatenation of `parts` to `fd` (1 or 2) in one `write`.
pub fn print(fd: u32, parts: &[&[u8]]) {
    let mut buffer = [0u8; LINE_CAPACITY];
    let mut line = Line::new(&mut buffer);
    for part in parts {
        line.push(part);
    }
    let length = line.len();
    write_all(fd, &buffer[..length]);
}

/// Prints `<program>: <message>\n` to stderr in one `write`, the message rendered against
/// `context` (a name too long for the line is cut in the middle; the errno always shows).
pub fn print_error(program: &[u8], error: &Error, context: &dyn Context) {
    let mut buffer = [0u8; LINE_CAPACITY];
    let mut line = Line::new(&mut buffer[..LINE_CAPACITY - 1]);
    line.push(program);
    line.push(b": ");
    let start = line.len();
    let length = start + error.render(context, &mut buffer[start..LINE_CAPACITY - 1]);
    buffer[length] = b'\n';
    write_all(2, &buffer[..=length]);
}

/// Prints `<program>: <problem>\nUsage: <program><synopsis>` to stderr in one `write`;
/// returns [`EXIT_USAGE`].
pub fn print_usage_error(program: &[u8], problem: &UsageError<'_>, synopsis: &[u8]) -> i32 {
    let mut buffer = [0u8; LINE_CAPACITY];
    let mut line = Line::new(&mut buffer);
    line.push(program);
    line.push(b": ");
    problem.describe_into(&mut line);
    line.push(b"\nUsage: ");
    line.push(program);
    line.push(synopsis);
    let length = line.len();
    write_all(2, &buffer[..length]);
    EXIT_USAGE
}
