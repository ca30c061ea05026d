//! What only the two tools share (hidden from the library's documentation): the option
//! scanner, the command lines of both tools, the supervisor of `ucw-daemonize`, the exit code
//! of bad usage and the one-`write` output line.
//!
//! This module owns nothing of the protocol: it turns command lines into the library's
//! parameters and the library's results into exit codes and lines of text. It must never be
//! needed by a library user, never allocate and never use `core::fmt` (the tools are static,
//! libc-free and small), and never print a line in more than one `write` (concurrent runs
//! would interleave their words).

pub mod control_line;
pub mod daemonize;
pub mod options;

use crate::error::{Context, Error};
use crate::text::Writer;
use options::UsageError;

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

/// Prints the concatenation of `parts` to `fd` in one `write`.
pub fn print(fd: i32, parts: &[&[u8]]) {
    let mut buffer = [0u8; LINE_CAPACITY];
    let mut line = Writer::new(&mut buffer);
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
    let mut line = Writer::new(&mut buffer[..LINE_CAPACITY - 1]);
    line.push(program);
    line.push(b": ");
    let start = line.len();
    let length = start + error.render(context, &mut buffer[start..LINE_CAPACITY - 1]);
    buffer[length] = b'\n';
    write_all(2, &buffer[..=length]);
}

/// Prints `<program>: <problem>\nUsage: <program><synopsis>` to stderr in one `write`.
pub fn print_usage_error(program: &[u8], problem: &UsageError<'_>, synopsis: &[u8]) -> i32 {
    let mut buffer = [0u8; LINE_CAPACITY];
    let mut line = Writer::new(&mut buffer);
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

/// Ends the process at once with `code` (`exit_group`): what a libc-free program's `_start`
/// does after `main`.
pub fn exit(code: i32) -> ! {
    crate::sys::exit_group(code)
}

/// The program name for messages: the last component of `argv[0]`, or `fallback` when the
/// program was started without one.
pub fn program_name(
    argv0: Option<&'static core::ffi::CStr>,
    fallback: &'static [u8],
) -> &'static [u8] {
    let full = match argv0 {
        Some(name) if !name.is_empty() => name.to_bytes(),
        _ => return fallback,
    };
    match full.iter().rposition(|&byte| byte == b'/') {
        Some(slash) if slash + 1 < full.len() => &full[slash + 1..],
        _ => full,
    }
}

/// `value` in decimal, written at the end of `digits` (for the tools and the C ABI, which
/// have no other way to the library's formatter).
pub fn decimal(value: u64, digits: &mut [u8; 20]) -> &[u8] {
    crate::text::format_decimal(value, digits)
}

/// Resets SIGCHLD to its default action in a libc-free tool, so that the kernel does not
/// reap its children unseen when it inherited "ignore".
pub fn default_child_signal() {
    let _ = crate::sys::set_default_disposition(crate::signal::Signal::CHLD.number());
}
