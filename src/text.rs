//! Byte-level text for messages: a cursor that fills a fixed buffer ([`Writer`]), strict
//! decimal parsing and formatting, the names and descriptions of errno values, and the
//! lossless escaping of names (paths, programs, accounts) that may not be UTF-8.
//!
//! This module owns how bytes become readable text. It must never allocate and never use
//! `core::fmt`: the static tools print through it, and `core::fmt` alone would cost them
//! kilobytes. It knows nothing about errors or the protocol (that is [`crate::error`]'s job).

use rustix::io::Errno;

/// Appends bytes to a fixed buffer, silently dropping what does not fit (but counting it:
/// a writer with no room measures).
pub(crate) struct Writer<'b> {
    buffer: &'b mut [u8],
    length: usize,
    wanted: usize,
}

impl<'b> Writer<'b> {
    /// A writer that fills `buffer` from its start.
    pub(crate) fn new(buffer: &'b mut [u8]) -> Self {
        Self {
            buffer,
            length: 0,
            wanted: 0,
        }
    }

    /// Bytes offered so far, written or not.
    pub(crate) fn wanted(&self) -> usize {
        self.wanted
    }

    /// Bytes written so far.
    pub(crate) fn len(&self) -> usize {
        self.length
    }

    /// Bytes that still fit.
    pub(crate) fn room(&self) -> usize {
        self.buffer.len() - self.length
    }

    /// The bytes written so far.
    #[cfg(test)]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buffer[..self.length]
    }

    /// Appends what fits of `bytes`.
    #[inline(never)]
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.wanted += bytes.len();
        let take = bytes.len().min(self.room());
        self.buffer[self.length..self.length + take].copy_from_slice(&bytes[..take]);
        self.length += take;
    }

    /// Appends `value` in decimal.
    pub(crate) fn push_decimal(&mut self, value: u64) {
        let mut digits = [0u8; 20];
        self.push(format_decimal(value, &mut digits));
    }

    /// Appends `value` in base `radix` (8 or 16, lowercase), at least `width` digits (the
    /// sentences' `%o`, `%x`, `%t`).
    #[cfg(feature = "messages")]
    pub(crate) fn push_radix(&mut self, value: u32, radix: u32, width: usize) {
        let mut digits = [b'0'; 11];
        let mut start = digits.len();
        let mut rest = value;
        while rest != 0 || digits.len() - start < width.max(1) {
            start -= 1;
            digits[start] = b"0123456789abcdef"[(rest % radix) as usize];
            rest /= radix;
        }
        self.push(&digits[start..]);
    }

    /// Appends `name` escaped ([`escaped_width`]), cut in the middle (`head...tail`) when it
    /// is wider than `budget` bytes.
    pub(crate) fn push_name(&mut self, name: &[u8], budget: usize) {
        let total = escaped_width(name);
        if total <= budget {
            self.push_escaped(name);
            return;
        }
        let marker = b"...";
        let Some(room) = budget.checked_sub(marker.len()) else {
            self.push(&marker[..budget]);
            return;
        };
        let head_budget = room / 2;
        let tail_budget = room - head_budget;
        let mut head_end = 0;
        let mut head_width = 0;
        while head_end < name.len() {
            let (length, width) = unit(&name[head_end..]);
            if head_width + width > head_budget {
                break;
            }
            head_end += length;
            head_width += width;
        }
        let mut tail_start = head_end;
        let mut tail_width = total - head_width;
        while tail_width > tail_budget {
            let (length, width) = unit(&name[tail_start..]);
            tail_start += length;
            tail_width -= width;
        }
        self.push_escaped(&name[..head_end]);
        self.push(marker);
        self.push_escaped(&name[tail_start..]);
    }

    /// Appends `name` escaped, whole.
    fn push_escaped(&mut self, name: &[u8]) {
        let mut position = 0;
        while position < name.len() {
            let rest = &name[position..];
            let (length, width) = unit(rest);
            if width == length {
                self.push(&rest[..length]);
            } else if rest[0] == b'\\' {
                self.push(b"\\\\");
            } else {
                let byte = rest[0];
                let hex = b"0123456789abcdef";
                self.push(&[
                    b'\\',
                    b'x',
                    hex[(byte >> 4) as usize],
                    hex[(byte & 15) as usize],
                ]);
            }
            position += length;
        }
    }
}

/// Bytes `name` takes once escaped: printable ASCII and valid UTF-8 sequences as they are, a
/// backslash as `\\`, every other byte (control characters, invalid UTF-8) as `\xNN`. The
/// escaping is lossless and its output is always valid UTF-8 on one line. (Without the
/// `messages` feature, UTF-8 sequences are escaped byte by byte too: short lines stay short
/// in code.)
pub(crate) fn escaped_width(name: &[u8]) -> usize {
    let mut position = 0;
    let mut width = 0;
    while position < name.len() {
        let (length, unit_width) = unit(&name[position..]);
        position += length;
        width += unit_width;
    }
    width
}

/// The first unit of `bytes` (not empty): its length and its escaped width.
fn unit(bytes: &[u8]) -> (usize, usize) {
    let first = bytes[0];
    if first == b'\\' {
        return (1, 2);
    }
    if (0x20..0x7f).contains(&first) {
        return (1, 1);
    }
    #[cfg(feature = "messages")]
    if let length @ 1.. = utf8_sequence(bytes) {
        return (length, length);
    }
    (1, 4)
}

/// Length of the valid multi-byte UTF-8 sequence `bytes` starts with, or 0. (Without the
/// `messages` feature names are escaped more plainly: every byte outside printable ASCII as
/// `\xNN`, still lossless.)
#[cfg(feature = "messages")]
fn utf8_sequence(bytes: &[u8]) -> usize {
    let first = bytes[0];
    // The allowed range of the second byte (which excludes overlong forms and surrogates)
    // and the sequence length, by first byte.
    let (low, high, length) = match first {
        0xc2..=0xdf => (0x80, 0xbf, 2),
        0xe0 => (0xa0, 0xbf, 3),
        0xed => (0x80, 0x9f, 3),
        0xe1..=0xef => (0x80, 0xbf, 3),
        0xf0 => (0x90, 0xbf, 4),
        0xf1..=0xf3 => (0x80, 0xbf, 4),
        0xf4 => (0x80, 0x8f, 4),
        _ => return 0,
    };
    if bytes.len() < length || !(low..=high).contains(&bytes[1]) {
        return 0;
    }
    if bytes[2..length].iter().all(|&byte| byte & 0xc0 == 0x80) {
        length
    } else {
        0
    }
}

/// Writes `value` in decimal at the end of `digits` and returns that part.
pub(crate) fn format_decimal(mut value: u64, digits: &mut [u8; 20]) -> &[u8] {
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
pub(crate) fn parse_decimal(text: &[u8], max: u64) -> Option<u64> {
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

/// The resource limits' names, by their number (`RLIMIT_CPU` is 0), as prlimit(1) and
/// `ucw-daemonize --rlimit` call them; each NUL-terminated.
#[cfg(feature = "messages")]
pub(crate) const RESOURCE_LIMIT_NAMES: &[u8] =
    b"cpu\0fsize\0data\0stack\0core\0rss\0nproc\0nofile\0\
    memlock\0as\0locks\0sigpending\0msgqueue\0nice\0rtprio\0rttime\0";

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

/// The symbolic name of every errno value Linux defines, without its leading `E` (`ACCES` for
/// `EACCES`): every name has one, so the table stores none of them (133 bytes).
pub(crate) fn errno_stem(errno: Errno) -> Option<&'static [u8]> {
    usize::try_from(errno.raw_os_error())
        .ok()
        .and_then(|number| number.checked_sub(1))
        .and_then(|index| packed_field(&ERRNO_STEMS, index))
        .filter(|name| !name.is_empty())
}

/// [`ERRNO_NAMES`] without the leading `E` of each name, made at compile time.
static ERRNO_STEMS: [u8; ERRNO_NAMES.len() - named_errnos()] = errno_stems();

/// How many names [`ERRNO_NAMES`] holds (its non-empty fields).
const fn named_errnos() -> usize {
    let mut count = 0;
    let mut position = 0;
    while position < ERRNO_NAMES.len() {
        if ERRNO_NAMES[position] == b'E' && (position == 0 || ERRNO_NAMES[position - 1] == 0) {
            count += 1;
        }
        position += 1;
    }
    count
}

/// [`ERRNO_NAMES`] with the first byte of each name dropped.
const fn errno_stems() -> [u8; ERRNO_NAMES.len() - named_errnos()] {
    let mut out = [0u8; ERRNO_NAMES.len() - named_errnos()];
    let (mut from, mut to) = (0, 0);
    while from < ERRNO_NAMES.len() {
        let starts = from == 0 || ERRNO_NAMES[from - 1] == 0;
        if !(starts && ERRNO_NAMES[from] == b'E') {
            out[to] = ERRNO_NAMES[from];
            to += 1;
        }
        from += 1;
    }
    out
}

/// The usual description of the errno values a daemon controller commonly meets
/// (`Permission denied`, glibc's wording); only with the `messages` feature.
#[cfg(feature = "messages")]
pub(crate) fn errno_description(errno: Errno) -> Option<&'static [u8]> {
    let number = errno.raw_os_error();
    DESCRIBED_ERRNOS
        .iter()
        .position(|&known| i32::from(known) == number)
        .and_then(|index| packed_field(ERRNO_DESCRIPTIONS, index))
}

/// Names of errno 1–133 (asm-generic numbering, shared by x86_64 and aarch64), in order,
/// each NUL-terminated; 41 and 58 are unassigned (empty). 1,107 bytes as written; the binary
/// carries [`ERRNO_STEMS`], 974.
const ERRNO_NAMES: &[u8] = b"\
    EPERM\0ENOENT\0ESRCH\0EINTR\0EIO\0ENXIO\0E2BIG\0ENOEXEC\0EBADF\0ECHILD\0EAGAIN\0ENOMEM\0\
    EACCES\0EFAULT\0ENOTBLK\0EBUSY\0EEXIST\0EXDEV\0ENODEV\0ENOTDIR\0EISDIR\0EINVAL\0ENFILE\0\
    EMFILE\0ENOTTY\0ETXTBSY\0EFBIG\0ENOSPC\0ESPIPE\0EROFS\0EMLINK\0EPIPE\0EDOM\0ERANGE\0\
    EDEADLK\0ENAMETOOLONG\0ENOLCK\0ENOSYS\0ENOTEMPTY\0ELOOP\0\0ENOMSG\0EIDRM\0ECHRNG\0EL2NSYNC\0\
    EL3HLT\0EL3RST\0ELNRNG\0EUNATCH\0ENOCSI\0EL2HLT\0EBADE\0EBADR\0EXFULL\0ENOANO\0EBADRQC\0\
    EBADSLT\0\0EBFONT\0ENOSTR\0ENODATA\0ETIME\0ENOSR\0ENONET\0ENOPKG\0EREMOTE\0ENOLINK\0EADV\0\
    ESRMNT\0ECOMM\0EPROTO\0EMULTIHOP\0EDOTDOT\0EBADMSG\0EOVERFLOW\0ENOTUNIQ\0EBADFD\0EREMCHG\0\
    ELIBACC\0ELIBBAD\0ELIBSCN\0ELIBMAX\0ELIBEXEC\0EILSEQ\0ERESTART\0ESTRPIPE\0EUSERS\0ENOTSOCK\0\
    EDESTADDRREQ\0EMSGSIZE\0EPROTOTYPE\0ENOPROTOOPT\0EPROTONOSUPPORT\0ESOCKTNOSUPPORT\0\
    EOPNOTSUPP\0EPFNOSUPPORT\0EAFNOSUPPORT\0EADDRINUSE\0EADDRNOTAVAIL\0ENETDOWN\0ENETUNREACH\0\
    ENETRESET\0ECONNABORTED\0ECONNRESET\0ENOBUFS\0EISCONN\0ENOTCONN\0ESHUTDOWN\0ETOOMANYREFS\0\
    ETIMEDOUT\0ECONNREFUSED\0EHOSTDOWN\0EHOSTUNREACH\0EALREADY\0EINPROGRESS\0ESTALE\0EUCLEAN\0\
    ENOTNAM\0ENAVAIL\0EISNAM\0EREMOTEIO\0EDQUOT\0ENOMEDIUM\0EMEDIUMTYPE\0ECANCELED\0ENOKEY\0\
    EKEYEXPIRED\0EKEYREVOKED\0EKEYREJECTED\0EOWNERDEAD\0ENOTRECOVERABLE\0ERFKILL\0EHWPOISON\0";

/// The errno values that have a description in [`ERRNO_DESCRIPTIONS`], in its order.
#[cfg(feature = "messages")]
const DESCRIBED_ERRNOS: &[u8] = &[
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27,
    28, 29, 30, 31, 32, 35, 36, 37, 38, 39, 40, 95, 98, 104, 110, 111, 116, 122,
];

/// `description\0` for each of [`DESCRIBED_ERRNOS`] (glibc's `strerror` wording). All 131
/// descriptions would cost about 3 KB more; the names cover the rest.
#[cfg(feature = "messages")]
const ERRNO_DESCRIPTIONS: &[u8] = b"\
    Operation not permitted\0\
    No such file or directory\0\
    No such process\0\
    Interrupted system call\0\
    Input/output error\0\
    No such device or address\0\
    Argument list too long\0\
    Exec format error\0\
    Bad file descriptor\0\
    No child processes\0\
    Resource temporarily unavailable\0\
    Cannot allocate memory\0\
    Permission denied\0\
    Bad address\0\
    Device or resource busy\0\
    File exists\0\
    Invalid cross-device link\0\
    No such device\0\
    Not a directory\0\
    Is a directory\0\
    Invalid argument\0\
    Too many open files in system\0\
    Too many open files\0\
    Inappropriate ioctl for device\0\
    Text file busy\0\
    File too large\0\
    No space left on device\0\
    Illegal seek\0\
    Read-only file system\0\
    Too many links\0\
    Broken pipe\0\
    Resource deadlock avoided\0\
    File name too long\0\
    No locks available\0\
    Function not implemented\0\
    Directory not empty\0\
    Too many levels of symbolic links\0\
    Operation not supported\0\
    Address already in use\0\
    Connection reset by peer\0\
    Connection timed out\0\
    Connection refused\0\
    Stale file handle\0\
    Disk quota exceeded\0";

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(name: &[u8], budget: usize) -> std::string::String {
        let mut buffer = [0u8; 256];
        let mut writer = Writer::new(&mut buffer);
        writer.push_name(name, budget);
        std::string::String::from_utf8(writer.as_bytes().to_vec()).expect("valid UTF-8")
    }

    #[test]
    fn names_are_escaped_losslessly() {
        assert_eq!(escaped(b"/run/x.pid", 100), "/run/x.pid");
        assert_eq!(escaped(b"/run/\xff\n\\x", 100), "/run/\\xff\\x0a\\\\x");
        // An overlong encoding and a lone surrogate are not valid UTF-8.
        assert_eq!(
            escaped(b"\xc0\xaf\xed\xa0\x80", 100),
            "\\xc0\\xaf\\xed\\xa0\\x80"
        );
        if cfg!(feature = "messages") {
            assert_eq!(escaped("/run/é.pid".as_bytes(), 100), "/run/é.pid");
            assert_eq!(escaped("€😀".as_bytes(), 100), "€😀");
        } else {
            // Short lines: every byte outside printable ASCII as \xNN.
            assert_eq!(escaped("/run/é.pid".as_bytes(), 100), "/run/\\xc3\\xa9.pid");
        }
    }

    #[test]
    fn long_names_are_cut_in_the_middle() {
        let name = [b'a'; 50];
        let cut = escaped(&name, 20);
        assert_eq!(cut.len(), 20);
        assert_eq!(cut, "aaaaaaaa...aaaaaaaaa");
        // Never half an escape or half a character.
        let mixed = "ééééééééééééééééééééé".as_bytes();
        let cut = escaped(mixed, 11);
        assert!(cut.contains("..."));
        assert!(cut.len() <= 11);
        let invalid = [0xffu8; 30];
        let cut = escaped(&invalid, 20);
        assert_eq!(cut, "\\xff\\xff...\\xff\\xff");
    }

    #[test]
    fn decimal_round_trip_and_strictness() {
        let mut digits = [0u8; 20];
        assert_eq!(format_decimal(0, &mut digits), b"0");
        assert_eq!(
            format_decimal(u64::MAX, &mut digits),
            b"18446744073709551615"
        );
        assert_eq!(parse_decimal(b"4194304", 4_194_304), Some(4_194_304));
        assert_eq!(parse_decimal(b"4194305", 4_194_304), None);
        assert_eq!(parse_decimal(b"", 10), None);
        assert_eq!(parse_decimal(b"-1", 10), None);
        assert_eq!(parse_decimal(b"+1", 10), None);
        assert_eq!(parse_decimal(b"1 ", 10), None);
        assert_eq!(parse_decimal(b"99999999999999999999999", u64::MAX), None);
    }

    #[cfg(feature = "messages")]
    #[test]
    fn octal_and_hex() {
        let mut buffer = [0u8; 32];
        let mut writer = Writer::new(&mut buffer);
        writer.push_radix(0o620, 8, 4);
        writer.push(b" ");
        writer.push_radix(0x9fa0, 16, 1);
        writer.push(b" ");
        writer.push_radix(0, 16, 1);
        assert_eq!(writer.as_bytes(), b"0620 9fa0 0");
    }

    #[test]
    fn every_errno_has_a_name() {
        for number in 1..=133 {
            let name = errno_stem(Errno::from_raw_os_error(number));
            assert_eq!(
                name.is_some(),
                number != 41 && number != 58,
                "errno {number}"
            );
        }
        assert_eq!(errno_stem(Errno::ACCESS), Some(&b"ACCES"[..]));
        assert_eq!(errno_stem(Errno::SPIPE), Some(&b"SPIPE"[..]));
        assert_eq!(errno_stem(Errno::from_raw_os_error(200)), None);
        // Every name starts with the `E` the table leaves out.
        assert!(ERRNO_NAMES
            .split(|&byte| byte == 0)
            .all(|name| name.is_empty() || name[0] == b'E'));
    }

    #[cfg(feature = "messages")]
    #[test]
    fn common_errnos_are_described() {
        assert_eq!(
            errno_description(Errno::ACCESS),
            Some(&b"Permission denied"[..])
        );
        assert_eq!(errno_description(Errno::SPIPE), Some(&b"Illegal seek"[..]));
        assert_eq!(errno_description(Errno::from_raw_os_error(200)), None);
        let described = ERRNO_DESCRIPTIONS.split(|&byte| byte == 0).count();
        assert_eq!(described, DESCRIBED_ERRNOS.len() + 1);
        assert_eq!(
            errno_description(Errno::from_raw_os_error(122)),
            Some(&b"Disk quota exceeded"[..])
        );
    }
}
