//! Byte-level text: a fixed-buffer cursor ([`Writer`]), strict decimals, errno names and
//! descriptions, lossless escaping of names.
//!
//! This module owns how bytes become readable text. It must never allocate or use `core::fmt`
//! (kilobytes in the static tools), and knows nothing of errors or the protocol.

mod errno;
pub(crate) mod five_bits;

pub(crate) use errno::errno_stem;
#[cfg(feature = "messages")]
pub(crate) use errno::{description_number, ERRNO_DESCRIPTIONS};

/// Appends to a fixed buffer, dropping but counting what does not fit (with no room, it measures).
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

    /// The bytes written so far.
    #[cfg(test)]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buffer[..self.length]
    }

    /// Appends what fits of `bytes`.
    #[inline(never)]
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.wanted += bytes.len();
        // Byte by byte: a slice copy is two calls at opt-level "z".
        for &byte in bytes {
            let Some(slot) = self.buffer.get_mut(self.length) else {
                return;
            };
            *slot = byte;
            self.length += 1;
        }
    }

    /// Appends `value` in decimal.
    pub(crate) fn push_decimal(&mut self, value: u64) {
        let mut digits = [0u8; 20];
        self.push(format_decimal(value, &mut digits));
    }

    /// Appends `value` in base `radix` (8 or 16, lowercase), at least `width` digits.
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

    /// Appends `name` escaped, cut in the middle (`head...tail`, never inside an escape or
    /// character) when wider than `budget`; returns its whole escaped width.
    pub(crate) fn push_name(&mut self, name: &[u8], budget: usize) -> usize {
        let total = escaped_width(name);
        let marker = b"...";
        // The widths the head and the tail may take (the whole name, when it fits).
        let (mut head_room, tail_room) = match budget.checked_sub(marker.len()) {
            _ if total <= budget => (total, 0),
            Some(room) => (room / 2, room - room / 2),
            None => {
                self.push(&marker[..budget]);
                return total;
            }
        };
        // One pass: units to the head while room lasts, the marker, then the tail.
        let mut rest = total;
        let mut marked = false;
        let mut position = 0;
        while let Some(bytes) = name.get(position..).filter(|bytes| !bytes.is_empty()) {
            let (length, width) = unit(bytes);
            let shown = if !marked && width <= head_room {
                head_room -= width;
                true
            } else {
                if !marked {
                    self.push(marker);
                    marked = true;
                }
                rest <= tail_room
            };
            if shown {
                self.push_unit(bytes, length, width);
            }
            rest -= width;
            position += length;
        }
        total
    }

    /// Appends the unit of `length` bytes and escaped `width` that `bytes` starts with.
    fn push_unit(&mut self, bytes: &[u8], length: usize, width: usize) {
        let byte = usize::from(bytes[0]);
        if width == length {
            self.push(bytes.get(..length).unwrap_or_default());
        } else if byte == usize::from(b'\\') {
            self.push(b"\\\\");
        } else {
            let hex = b"0123456789abcdef";
            self.push(&[b'\\', b'x', hex[byte >> 4], hex[byte & 15]]);
        }
    }
}

/// Bytes of `name` escaped: printable ASCII and valid UTF-8 as is, `\` as `\\`, other bytes `\xNN`
/// (UTF-8 too without `messages`). Lossless, valid UTF-8, one line.
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

/// Length of the valid multi-byte UTF-8 sequence `bytes` starts with, or 0.
#[cfg(feature = "messages")]
fn utf8_sequence(bytes: &[u8]) -> usize {
    let first = bytes[0];
    // By first byte: the second byte's range (no overlong forms or surrogates) and the length.
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

/// Strict unsigned decimal: digits only (leading zeros allowed), no overflow, at most `max`.
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

/// Resource limit names by number, as prlimit(1) spells them, NUL-terminated.
#[cfg(all(feature = "messages", feature = "environment"))]
pub(crate) const RESOURCE_LIMIT_NAMES: &[u8] =
    b"cpu\0fsize\0data\0stack\0core\0rss\0nproc\0nofile\0\
    memlock\0as\0locks\0sigpending\0msgqueue\0nice\0rtprio\0rttime\0";

/// Parses a hexadecimal number (either case, no prefix) of one to `digits` digits (at most 16).
pub(crate) fn parse_hex(text: &[u8], digits: usize) -> Option<u64> {
    if text.is_empty() || text.len() > digits {
        return None;
    }
    let mut value = 0u64;
    for &byte in text {
        value = value << 4 | u64::from((byte as char).to_digit(16)?);
    }
    Some(value)
}

/// Field `index` of NUL-terminated `packed`; `None` past the last (a loop: half the code of
/// `split`).
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

#[cfg(test)]
mod tests;
