//! The message templates, packed at compile time: each phrase of [`PHRASES`] (frequent words
//! of the templates: "Cannot ", "Refusing %s: ", "the daemon"…) becomes one byte, `0x80` plus
//! its index, so a binary carries about 2.2 KB of sentences instead of 3.7 KB. The templates
//! stay readable in `error.rs`' `messages!` table; only [`PACKED`] and [`PHRASE_TEXT`] reach the
//! binary.
//!
//! This file owns the packing (a `const fn`, greedy, left to right: the first phrase of the
//! list that matches) and [`unpack`]. It must never change a template's text (a unit test
//! round-trips every one), and it packs only the library's own templates, which are ASCII (a
//! program's own templates, from its `Context`, are used as they are). The list is a size
//! choice, not a correctness one: `size-report/phrases.py` proposes it for the current
//! templates.

use super::TEMPLATES;

/// The phrases, in the order the packer tries them; at most 128, each ASCII and shorter than
/// 64 bytes.
const PHRASES: &[&[u8]] = &[
    b"Cannot ",
    b"the daemon",
    b"Refusing %s: ",
    b"not ",
    b"0 to 4294967294",
    b"entry of %s ",
    b"process",
    b"a number from ",
    b"is malformed ",
    b"id ",
    b"daemon ",
    b"the ",
    b"read /proc",
    b"in ",
    b"drop privileges: ",
    b"%1 ",
    b"No such %s ",
    b"start",
    b"group",
    b"ended before ",
    b"capabilities",
    b"its ",
    b"expected",
    b"lock ",
    b"to ",
    b"read",
    b"setresuid(0, 0, 0) ",
    b"more than ",
    b"confirm",
    b"exited, but other ",
    b"User `%n` belongs ",
    b"or ",
    b"signal",
    b"The ",
    b"on ",
    b"stat",
    b"file",
    b"set ",
    b"it ",
    b"PID ",
    b"has ",
    b"with",
    b"of ",
    b"write ",
    b"change",
    b"is ",
    b"after ",
    b"switch",
    b"directory ",
    b"open ",
    b"create a ",
    b"fork ",
    b"/dev/null",
    b"by ",
    b"other",
    b"4 fields)",
    b"system ",
    b"a pidfd",
    b"self",
    b"%1, ",
    b"release",
    b"us ",
    b"%n ",
    b"give",
    b"fdinfo",
    b"report",
    b"owned ",
    b"still ",
    b"could ",
    b"would ",
];

/// The packed templates, each NUL-terminated, in message order.
pub(super) static PACKED: [u8; packed_length(TEMPLATES)] = pack(TEMPLATES);

/// [`PHRASES`], each NUL-terminated, for [`unpack`].
static PHRASE_TEXT: [u8; phrase_text_length()] = phrase_text();

/// Whether `phrase` is at `position` of `text`.
const fn starts_at(text: &[u8], position: usize, phrase: &[u8]) -> bool {
    if position + phrase.len() > text.len() {
        return false;
    }
    let mut index = 0;
    while index < phrase.len() {
        if text[position + index] != phrase[index] {
            return false;
        }
        index += 1;
    }
    true
}

/// The index of the first phrase at `position` of `text`, if any.
const fn phrase_at(text: &[u8], position: usize) -> Option<usize> {
    let mut index = 0;
    while index < PHRASES.len() {
        if starts_at(text, position, PHRASES[index]) {
            return Some(index);
        }
        index += 1;
    }
    None
}

/// The bytes of `text` once packed.
const fn packed_length(text: &[u8]) -> usize {
    let mut position = 0;
    let mut length = 0;
    while position < text.len() {
        position += match phrase_at(text, position) {
            Some(index) => PHRASES[index].len(),
            None => 1,
        };
        length += 1;
    }
    length
}

/// `text` packed: each phrase found replaced by its byte.
const fn pack<const N: usize>(text: &[u8]) -> [u8; N] {
    assert!(
        PHRASES.len() <= 128,
        "a phrase's byte is 0x80 plus its index"
    );
    let mut packed = [0u8; N];
    let mut position = 0;
    let mut length = 0;
    while position < text.len() {
        match phrase_at(text, position) {
            Some(index) => {
                packed[length] = 0x80 + index as u8;
                position += PHRASES[index].len();
            }
            None => {
                assert!(text[position] < 0x80, "the templates are ASCII");
                packed[length] = text[position];
                position += 1;
            }
        }
        length += 1;
    }
    packed
}

/// The bytes of [`PHRASE_TEXT`].
const fn phrase_text_length() -> usize {
    let mut length = 0;
    let mut index = 0;
    while index < PHRASES.len() {
        length += PHRASES[index].len() + 1;
        index += 1;
    }
    length
}

/// [`PHRASES`] joined, each NUL-terminated.
const fn phrase_text() -> [u8; phrase_text_length()] {
    let mut text = [0u8; phrase_text_length()];
    let mut length = 0;
    let mut index = 0;
    while index < PHRASES.len() {
        let phrase = PHRASES[index];
        assert!(
            phrase.len() < 64,
            "a phrase fits in the unpacking buffer's margin"
        );
        let mut position = 0;
        while position < phrase.len() {
            text[length] = phrase[position];
            length += 1;
            position += 1;
        }
        length += 1;
        index += 1;
    }
    text
}

/// Bytes of the longest template once unpacked (checked at compile time).
pub(super) const UNPACKED_CAPACITY: usize = 256;

/// `packed` (one template of [`PACKED`]) with every phrase byte replaced by its phrase,
/// written into `out`.
pub(super) fn unpack<'o>(packed: &[u8], out: &'o mut [u8; UNPACKED_CAPACITY]) -> &'o [u8] {
    let mut length = 0;
    for &byte in packed {
        let phrase: &[u8] = if byte >= 0x80 {
            crate::text::packed_field(&PHRASE_TEXT, usize::from(byte - 0x80)).unwrap_or(b"")
        } else {
            core::slice::from_ref(&byte)
        };
        let end = (length + phrase.len()).min(out.len());
        out[length..end].copy_from_slice(&phrase[..end - length]);
        length = end;
    }
    &out[..length]
}

/// Every template fits in the unpacking buffer.
const _: () = {
    let mut start = 0;
    let mut position = 0;
    while position < TEMPLATES.len() {
        if TEMPLATES[position] == 0 {
            assert!(
                position - start <= UNPACKED_CAPACITY,
                "a template is too long"
            );
            start = position + 1;
        }
        position += 1;
    }
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::packed_field;

    #[test]
    fn every_template_unpacks_to_itself() {
        let mut index = 0;
        while let Some(template) = packed_field(TEMPLATES, index) {
            let packed = packed_field(&PACKED, index).expect("as many packed templates");
            let mut buffer = [0u8; UNPACKED_CAPACITY];
            assert_eq!(unpack(packed, &mut buffer), template, "template {index}");
            index += 1;
        }
        assert!(index > 0);
        assert_eq!(packed_field(&PACKED, index), None);
        // The packing pays for its dictionary.
        assert!(PACKED.len() + PHRASE_TEXT.len() < TEMPLATES.len());
    }
}
