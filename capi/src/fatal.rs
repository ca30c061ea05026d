//! Fatal errors, LibUCW's `die()` way: the message and a newline on standard error, then the
//! program's `exit(1)`.
//!
//! This module owns the one line a fatal error prints: built in a fixed buffer and written
//! to descriptor 2 in ONE `write`, so that concurrent processes never interleave their
//! words. It must never allocate, never use `core::fmt`, and never print anything but that
//! line (no program-name prefix: the library does not know the program's name, and the
//! header promises the bare message).

use crate::host;
use crate::text::Writer;
use ucw_daemon::{Context, Error};

/// Bytes of one fatal line: room for a long path; the library cuts names in the middle
/// beyond that, never the errno.
const LINE_CAPACITY: usize = 1024;

/// Builds a line with `compose` (in a `LINE_CAPACITY` buffer that keeps a byte for the
/// newline), writes it and the newline to standard error in one `write` (retried only for
/// what a signal interrupted or a short write left), then calls the program's `exit(1)`.
pub fn die(compose: impl FnOnce(&mut Writer<'_>)) -> ! {
    let mut buffer = [0u8; LINE_CAPACITY];
    let mut line = Writer::new(&mut buffer[..LINE_CAPACITY - 1]);
    compose(&mut line);
    let length = line.length();
    buffer[length] = b'\n';
    write_to_stderr(&buffer[..=length]);
    host::exit_process(1)
}

/// Writes all of `bytes` to descriptor 2; gives up silently if it is closed or broken
/// (there is nowhere else to say so, as for LibUCW's `die()`).
pub fn write_to_stderr(mut bytes: &[u8]) {
    // SAFETY: descriptor 2 is only borrowed for these writes; if it is closed, `write` fails
    // with EBADF and the line is lost.
    let stderr = unsafe { rustix::stdio::stderr() };
    while !bytes.is_empty() {
        match rustix::io::write(stderr, bytes) {
            Ok(0) => return,
            Ok(written) => bytes = &bytes[written..],
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return,
        }
    }
}

/// Dies with `error`, its subjects named by `context`.
pub fn die_with(error: &Error, context: &dyn Context) -> ! {
    die(|line| {
        line.push_error(error, context);
    })
}

/// Dies with a message of the C binding itself (a misuse of the API: wrong order of calls,
/// a null pointer, reserved flags).
pub fn die_misuse(message: &[u8]) -> ! {
    die(|line| {
        line.push(message);
    })
}
