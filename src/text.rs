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
        self.length = append_truncating(&mut self.buffer, self.length, bytes);
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

/// Copies what fits of `bytes` into `buffer` after `length` bytes (cutting at a UTF-8
/// boundary) and returns the new length. Not generic over the capacity, so the program
/// holds one copy for every size of [`Message`].
#[inline(never)]
fn append_truncating(buffer: &mut [u8], length: usize, bytes: &[u8]) -> usize {
    let room = buffer.len() - length;
    let mut take = bytes.len().min(room);
    if take < bytes.len() {
        // Do not leave half of a multi-byte sequence at the end.
        while take > 0 && (bytes[take] & 0xC0) == 0x80 {
            take -= 1;
        }
    }
    buffer[length..length + take].copy_from_slice(&bytes[..take]);
    length + take
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
    let number = errno.raw_os_error();
    let index = ERRNO_NUMBERS
        .iter()
        .position(|&known| i32::from(known) == number)?;
    let name = packed_field(ERRNO_TEXTS, 2 * index)?;
    let description = packed_field(ERRNO_TEXTS, 2 * index + 1)?;
    // SAFETY: `ERRNO_TEXTS` is ASCII, and the fields are cut at NUL bytes (ASCII too).
    unsafe {
        Some((
            core::str::from_utf8_unchecked(name),
            core::str::from_utf8_unchecked(description),
        ))
    }
}

/// Field `index` (from 0) of `packed`, a sequence of NUL-terminated fields; `None` past the
/// last one. (A plain loop: `split` and `skip` cost the tools twice as much code.)
pub(crate) fn packed_field(packed: &'static [u8], index: usize) -> Option<&'static [u8]> {
    let mut start = 0;
    let mut field = 0;
    for (position, &byte) in packed.iter().enumerate() {
        if byte == 0 {
            if field == index {
                return packed.get(start..position);
            }
            field += 1;
            start = position + 1;
        }
    }
    None
}

/// The errno values [`errno_text`] knows, in the order of their texts in [`ERRNO_TEXTS`].
const ERRNO_NUMBERS: &[u8] = &[
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21, 22, 23, 24, 26, 27, 28,
    30, 31, 32, 36, 37, 38, 40, 95, 110, 116, 122,
];

/// `NAME\0description\0` for each of [`ERRNO_NUMBERS`]: one packed ASCII string instead of
/// a table of string references (16 bytes of pointer and length per text).
const ERRNO_TEXTS: &[u8] = b"\
    EPERM\0Operation not permitted\0\
    ENOENT\0No such file or directory\0\
    ESRCH\0No such process\0\
    EINTR\0Interrupted system call\0\
    EIO\0Input/output error\0\
    ENXIO\0No such device or address\0\
    E2BIG\0Argument list too long\0\
    ENOEXEC\0Exec format error\0\
    EBADF\0Bad file descriptor\0\
    ECHILD\0No child processes\0\
    EAGAIN\0Resource temporarily unavailable\0\
    ENOMEM\0Cannot allocate memory\0\
    EACCES\0Permission denied\0\
    EFAULT\0Bad address\0\
    EBUSY\0Device or resource busy\0\
    EEXIST\0File exists\0\
    EXDEV\0Invalid cross-device link\0\
    ENODEV\0No such device\0\
    ENOTDIR\0Not a directory\0\
    EISDIR\0Is a directory\0\
    EINVAL\0Invalid argument\0\
    ENFILE\0Too many open files in system\0\
    EMFILE\0Too many open files\0\
    ETXTBSY\0Text file busy\0\
    EFBIG\0File too large\0\
    ENOSPC\0No space left on device\0\
    EROFS\0Read-only file system\0\
    EMLINK\0Too many links\0\
    EPIPE\0Broken pipe\0\
    ENAMETOOLONG\0File name too long\0\
    ENOLCK\0No locks available\0\
    ENOSYS\0Function not implemented\0\
    ELOOP\0Too many levels of symbolic links\0\
    EOPNOTSUPP\0Operation not supported\0\
    ETIMEDOUT\0Connection timed out\0\
    ESTALE\0Stale file handle\0\
    EDQUOT\0Disk quota exceeded\0\
";

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

    #[test]
    fn errno_texts_pair_up_with_numbers() {
        let fields = ERRNO_TEXTS.split(|&byte| byte == 0).count();
        assert_eq!(fields, 2 * ERRNO_NUMBERS.len() + 1);
        assert_eq!(
            errno_text(Errno::PERM),
            Some(("EPERM", "Operation not permitted"))
        );
        assert_eq!(
            errno_text(Errno::from_raw_os_error(122)),
            Some(("EDQUOT", "Disk quota exceeded"))
        );
        assert_eq!(errno_text(Errno::from_raw_os_error(15)), None);
    }
}
