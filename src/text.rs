//! Fixed-capacity text: the [`Message`] buffer every error and every line of output is built
//! in, strict decimal parsing and formatting of integers, and errno names.
//!
//! This module owns byte-level text handling. It must never allocate and never use
//! `core::fmt`: the static tools print through it, and `core::fmt` alone would cost them
//! kilobytes.

use rustix::io::Errno;

/// A byte buffer of fixed capacity `N` that silently truncates what does not fit.
///
/// Truncation never splits a UTF-8 sequence, so [`Message::as_str`] always succeeds for text
/// pushed as `&str`; bytes pushed with [`Message::push_bytes`] (file names) are kept as they
/// are.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct Message<const N: usize> {
    length: usize,
    buffer: [u8; N],
}

impl<const N: usize> Default for Message<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Message<N> {
    /// An empty message.
    pub const fn new() -> Self {
        Self {
            buffer: [0; N],
            length: 0,
        }
    }

    /// Appends `bytes`, cutting them (at a UTF-8 boundary when they are text) when full.
    pub fn push_bytes(&mut self, bytes: &[u8]) -> &mut Self {
        let room = N - self.length;
        let mut take = bytes.len().min(room);
        if take < bytes.len() {
            // Do not leave half of a multi-byte sequence at the end.
            while take > 0 && (bytes[take] & 0xC0) == 0x80 {
                take -= 1;
            }
        }
        self.buffer[self.length..self.length + take].copy_from_slice(&bytes[..take]);
        self.length += take;
        self
    }

    /// Appends `text`.
    pub fn push_str(&mut self, text: &str) -> &mut Self {
        self.push_bytes(text.as_bytes())
    }

    /// Appends `value` in decimal.
    pub fn push_u64(&mut self, value: u64) -> &mut Self {
        let mut digits = [0u8; 20];
        let text = format_u64(value, &mut digits);
        self.push_bytes(text)
    }

    /// Appends `value` in decimal, with a leading `-` when negative.
    pub fn push_i64(&mut self, value: i64) -> &mut Self {
        if value < 0 {
            self.push_bytes(b"-");
        }
        self.push_u64(value.unsigned_abs())
    }

    /// Appends `NAME (description)` for `errno`, e.g. `EACCES (Permission denied)`.
    pub fn push_errno(&mut self, errno: Errno) -> &mut Self {
        match errno_text(errno) {
            Some((name, description)) => self
                .push_str(name)
                .push_str(" (")
                .push_str(description)
                .push_str(")"),
            None => self
                .push_str("errno ")
                .push_u64(errno.raw_os_error().unsigned_abs() as u64),
        }
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buffer[..self.length]
    }

    /// The text written so far; invalid UTF-8 (from raw file names) is cut at the first bad
    /// byte.
    pub fn as_str(&self) -> &str {
        match core::str::from_utf8(self.as_bytes()) {
            Ok(text) => text,
            Err(error) => {
                let valid = &self.as_bytes()[..error.valid_up_to()];
                // SAFETY: `valid_up_to` marks the end of the longest valid UTF-8 prefix.
                unsafe { core::str::from_utf8_unchecked(valid) }
            }
        }
    }

    /// Number of bytes written.
    pub fn len(&self) -> usize {
        self.length
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Forgets everything written.
    pub fn clear(&mut self) {
        self.length = 0;
    }
}

/// Writes `value` in decimal at the end of `digits` and returns that part.
pub fn format_u64(mut value: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    &digits[start..]
}

/// Parses a strictly decimal, unsigned number: one or more ASCII digits, nothing else (no
/// sign, no spaces), no overflow, at most `max`. Leading zeros are accepted.
pub fn parse_decimal(text: &[u8], max: u64) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &byte in text {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add((byte - b'0') as u64)?;
        if value > max {
            return None;
        }
    }
    Some(value)
}

/// The symbolic name and the usual description of the errno values a daemon controller can
/// meet; `None` for others (they are printed as `errno N`).
pub fn errno_text(errno: Errno) -> Option<(&'static str, &'static str)> {
    let index = errno.raw_os_error();
    ERRNO_TABLE
        .iter()
        .find(|entry| entry.0 == index)
        .map(|entry| (entry.1, entry.2))
}

/// (number, name, description) for the errno values our system calls can return.
const ERRNO_TABLE: &[(i32, &str, &str)] = &[
    (1, "EPERM", "Operation not permitted"),
    (2, "ENOENT", "No such file or directory"),
    (3, "ESRCH", "No such process"),
    (4, "EINTR", "Interrupted system call"),
    (5, "EIO", "Input/output error"),
    (6, "ENXIO", "No such device or address"),
    (7, "E2BIG", "Argument list too long"),
    (8, "ENOEXEC", "Exec format error"),
    (9, "EBADF", "Bad file descriptor"),
    (10, "ECHILD", "No child processes"),
    (11, "EAGAIN", "Resource temporarily unavailable"),
    (12, "ENOMEM", "Cannot allocate memory"),
    (13, "EACCES", "Permission denied"),
    (14, "EFAULT", "Bad address"),
    (16, "EBUSY", "Device or resource busy"),
    (17, "EEXIST", "File exists"),
    (18, "EXDEV", "Invalid cross-device link"),
    (19, "ENODEV", "No such device"),
    (20, "ENOTDIR", "Not a directory"),
    (21, "EISDIR", "Is a directory"),
    (22, "EINVAL", "Invalid argument"),
    (23, "ENFILE", "Too many open files in system"),
    (24, "EMFILE", "Too many open files"),
    (26, "ETXTBSY", "Text file busy"),
    (27, "EFBIG", "File too large"),
    (28, "ENOSPC", "No space left on device"),
    (30, "EROFS", "Read-only file system"),
    (31, "EMLINK", "Too many links"),
    (32, "EPIPE", "Broken pipe"),
    (36, "ENAMETOOLONG", "File name too long"),
    (37, "ENOLCK", "No locks available"),
    (38, "ENOSYS", "Function not implemented"),
    (40, "ELOOP", "Too many levels of symbolic links"),
    (95, "EOPNOTSUPP", "Operation not supported"),
    (110, "ETIMEDOUT", "Connection timed out"),
    (116, "ESTALE", "Stale file handle"),
    (122, "EDQUOT", "Disk quota exceeded"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_truncates_at_char_boundary() {
        let mut message = Message::<5>::new();
        message.push_str("abcé");
        assert_eq!(message.as_str(), "abcé");
        message.clear();
        message.push_str("abcdé");
        assert_eq!(message.as_str(), "abcd");
    }

    #[test]
    fn decimal_round_trip_and_strictness() {
        let mut digits = [0u8; 20];
        assert_eq!(format_u64(0, &mut digits), b"0");
        assert_eq!(format_u64(u64::MAX, &mut digits), b"18446744073709551615");
        assert_eq!(parse_decimal(b"4194304", 4_194_304), Some(4_194_304));
        assert_eq!(parse_decimal(b"4194305", 4_194_304), None);
        assert_eq!(parse_decimal(b"", 10), None);
        assert_eq!(parse_decimal(b"-1", 10), None);
        assert_eq!(parse_decimal(b"+1", 10), None);
        assert_eq!(parse_decimal(b"1 ", 10), None);
        assert_eq!(parse_decimal(b"99999999999999999999999", u64::MAX), None);
    }

    #[test]
    fn errno_names() {
        let mut message = Message::<64>::new();
        message.push_errno(Errno::ACCESS);
        assert_eq!(message.as_str(), "EACCES (Permission denied)");
        message.clear();
        message.push_errno(Errno::from_raw_os_error(200));
        assert_eq!(message.as_str(), "errno 200");
    }
}
