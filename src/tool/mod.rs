//! What only the tools need (hidden from the library's documentation), until it moves to the
//! tools crate: the option scanner, `ucw-daemonize`'s command line and supervisor, and its
//! one-`write` error line.
//!
//! This module owns nothing of the protocol: it turns command lines into the library's
//! parameters and the library's results into exit codes and lines of text. It must never be
//! needed by a library user, never allocate and never use `core::fmt` (the tools are static,
//! libc-free and small), and never print a line in more than one `write` (concurrent runs
//! would interleave their words).

pub mod daemonize;
pub mod options;

use crate::error::{Context, Error};
use crate::text::Writer;

/// Exit code for bad usage of the tools (LibUCW's).
pub const EXIT_USAGE: i32 = 1;

/// Bytes of one line a tool prints: room for a long path, cut in the middle beyond that.
const LINE_CAPACITY: usize = 1024;

/// Writes all of `bytes` to descriptor `fd` (a standard stream), retrying on EINTR and
/// short writes; gives up silently on other errors (a closed stream: nowhere to report).
pub fn write_all(fd: i32, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match crate::sys::write(fd, bytes) {
            Ok(0) => return,
            Ok(written) => bytes = &bytes[written..],
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return,
        }
    }
}

/// Prints `<program>: <message>\n` to stderr in one `write`, the message rendered against
/// `context` (a name too long for the line is cut in the middle; the errno always shows).
pub fn print_error(program: &[u8], error: &Error, context: &dyn Context) {
    let mut buffer = [0u8; LINE_CAPACITY];
    let mut line = Writer::new(&mut buffer[..LINE_CAPACITY - 1]);
    line.push(program);
    line.push(b": ");
    let start = line.len();
    let length = start + error.render(context, &mut buffer[start..LINE_CAPACITY - 1]);
    buffer[length] = b'\n';
    write_all(2, &buffer[..=length]);
}
