//! The library's sentences (templates, errno descriptions) packed at compile time by byte-pair
//! encoding: each pair of [`PAIRS`], in order, becomes one byte no sentence uses (`0x80`–`0xff`,
//! then `0x01`–`0x1f`). About 2.4 KB instead of 4.6 KB; only [`PACKED`] and [`DICTIONARY`] reach
//! the binary.
//!
//! This file owns the packing (a `const fn`) and [`unpack`]. It must never change a sentence (a
//! unit test round-trips each), and packs only the library's own printable-ASCII sentences. The
//! pair list (from `size-report/phrases.py`) is a size choice only.

use super::TEMPLATES;
use crate::text::ERRNO_DESCRIPTIONS;

/// The pairs in merge order: halves are characters or earlier pairs; at most 159.
const PAIRS: &[[&[u8]; 2]] = &[
    [b"t", b" "],
    [b" ", b"%"],
    [b"e", b" "],
    [b"n", b"o"],
    [b"no", b"t "],
    [b"s", b" "],
    [b"a", b"n"],
    [b"d", b" "],
    [b"o", b"n"],
    [b"C", b"an"],
    [b"Can", b"not "],
    [b"t", b"h"],
    [b"i", b"n"],
    [b"o", b"r"],
    [b"r", b"e"],
    [b"r", b"o"],
    [b"o", b" "],
    [b"e", b"r"],
    [b"e", b"m"],
    [b"e", b"n"],
    [b"i", b"l"],
    [b"s", b"t"],
    [b"e", b"s"],
    [b"y", b" "],
    [b"th", b"e "],
    [b"i", b"t"],
    [b"a", b"l"],
    [b":", b" "],
    [b"a", b" "],
    [b"on", b" "],
    [b" %", b"1"],
    [b"d", b"a"],
    [b"da", b"em"],
    [b"s", b"e"],
    [b"e", b"d "],
    [b"er", b" "],
    [b"p", b"ro"],
    [b"f", b"or"],
    [b"pro", b"c"],
    [b" %", b"s"],
    [b"a", b"r"],
    [b"c", b"h"],
    [b"c", b"t"],
    [b"i", b"d "],
    [b"u", b"s"],
    [b"re", b"a"],
    [b"in", b" %"],
    [b"i", b"d"],
    [b"e", b"d"],
    [b"in", b"g"],
    [b" %1", b" "],
    [b"e", b"x"],
    [b"s", b"u"],
    [b"f", b"il"],
    [b"o", b"f"],
    [b"the ", b"daem"],
    [b"t", b"o "],
    [b"en", b"t"],
    [b"proc", b"es"],
    [b"N", b"o "],
    [b"l", b"o"],
    [b"o", b"u"],
    [b",", b" "],
    [b"i", b"s "],
    [b"e", b"f"],
    [b"lo", b"c"],
    [b"e", b"v"],
    [b"a", b"t"],
    [b" %s", b": "],
    [b"2", b"9"],
    [b"29", b"4"],
    [b" %", b"s "],
    [b"loc", b"k"],
    [b"Cannot ", b"rea"],
    [b"i", b"on "],
    [b"u", b"p"],
    [b"R", b"ef"],
    [b"Ref", b"us"],
    [b"Refus", b"ing"],
    [b"Refusing", b" %s: "],
    [b"%", b"n"],
    [b"id ", b"not "],
    [b"st", b"ar"],
    [b"t", b"o"],
    [b"m", b"b"],
    [b"Cannot rea", b"d "],
    [b"i", b"v"],
    [b"e", b"ct"],
    [b"proces", b"s"],
    [b"i", b"c"],
    [b"l", b"d "],
    [b"m", b" "],
    [b"I", b"n"],
    [b"No ", b"su"],
    [b"No su", b"ch"],
    [b" %s ", b"in %"],
    [b"o", b"p"],
    [b"fil", b"e "],
    [b"s", b"y"],
    [b"the daem", b"on"],
    [b"i", b"re"],
    [b"d", b"ev"],
    [b"n", b"u"],
    [b"en", b" "],
    [b"g", b"ro"],
    [b"gro", b"up"],
    [b"l", b"e"],
    [b"p", b"a"],
    [b"s ", b"("],
    [b"i", b"t "],
    [b"it", b"s "],
    [b"ent", b"r"],
    [b"star", b"t "],
    [b"d", b"ire"],
    [b"ct", b"or"],
    [b" ", b"to "],
    [b"/", b"proc"],
    [b"ed ", b"b"],
    [b"c", b"on"],
    [b"f", b"i"],
    [b"i", b"th"],
    [b"P", b"I"],
    [b"PI", b"D"],
    [b" %", b"P"],
    [b"v", b"al"],
    [b"d", b"id not "],
    [b"T", b"h"],
    [b"Th", b"e "],
    [b"e", b"l"],
    [b" ", b"is "],
    [b"entr", b"y "],
    [b"entry ", b"of"],
    [b"entry of", b" %s in %"],
    [b"for", b"m"],
    [b"sy", b"st"],
    [b"syst", b"em"],
    [b"a ", b"p"],
    [b"se", b"t"],
    [b"in", b" "],
    [b"se", b"t "],
    [b"a", b"s"],
    [b"dire", b"ctor"],
    [b"u", b"n"],
    [b"Cannot read ", b"/proc"],
    [b"the daem", b"on "],
    [b" ", b"("],
    [b"id", b" %"],
    [b"or", b" "],
    [b"l", b"in"],
    [b"lin", b"k"],
    [b"c", b"e "],
    [b"PID", b" "],
    [b"e", b"s "],
    [b"lock", b" "],
    [b" ", b"w"],
    [b"th", b"an"],
    [b"In", b"val"],
    [b"a ", b"nu"],
    [b"a nu", b"mb"],
];

/// Every sentence packed, NUL-terminated: the templates, then the errno descriptions, in order.
const SENTENCES: [u8; TEMPLATES.len() + ERRNO_DESCRIPTIONS.len()] = concatenated();

/// The packed sentences, each NUL-terminated, in the order of [`SENTENCES`].
pub(super) static PACKED: [u8; packed_length()] = pack();

/// Each pair's halves, indexed by its byte `^ 0x80` (slot 128, the NUL's, unused).
static DICTIONARY: [[u8; 2]; PAIRS.len() + (PAIRS.len() > 128) as usize] = dictionary();

const fn concatenated() -> [u8; TEMPLATES.len() + ERRNO_DESCRIPTIONS.len()] {
    let mut out = [0u8; TEMPLATES.len() + ERRNO_DESCRIPTIONS.len()];
    let mut index = 0;
    while index < out.len() {
        out[index] = if index < TEMPLATES.len() {
            TEMPLATES[index]
        } else {
            ERRNO_DESCRIPTIONS[index - TEMPLATES.len()]
        };
        index += 1;
    }
    out
}

const fn code(index: usize) -> u8 {
    assert!(index < 159, "at most 159 pairs: 0x80-0xff, then 0x01-0x1f");
    (index as u8 ^ 0x80).wrapping_add((index >= 128) as u8)
}

const fn is_joined(text: &[u8], first: &[u8], second: &[u8]) -> bool {
    if text.len() != first.len() + second.len() {
        return false;
    }
    let mut index = 0;
    while index < text.len() {
        let expected = if index < first.len() {
            first[index]
        } else {
            second[index - first.len()]
        };
        if text[index] != expected {
            return false;
        }
        index += 1;
    }
    true
}

/// The byte of `half` of pair `index`: the character, or the earlier pair's byte.
const fn half_code(index: usize, half: &[u8]) -> u8 {
    if half.len() == 1 {
        assert!(
            half[0] >= 0x20 && half[0] < 0x7f,
            "a pair's character is printable ASCII"
        );
        return half[0];
    }
    let mut earlier = 0;
    while earlier < index {
        if is_joined(half, PAIRS[earlier][0], PAIRS[earlier][1]) {
            return code(earlier);
        }
        earlier += 1;
    }
    panic!("a half of a pair is neither one character nor an earlier pair")
}

const fn dictionary<const N: usize>() -> [[u8; 2]; N] {
    let mut out = [[0u8; 2]; N];
    let mut index = 0;
    while index < PAIRS.len() {
        out[(code(index) ^ 0x80) as usize] = [
            half_code(index, PAIRS[index][0]),
            half_code(index, PAIRS[index][1]),
        ];
        index += 1;
    }
    out
}

/// [`SENTENCES`] with every pair merged, in place: the packed length.
const fn merge_all(text: &mut [u8]) -> usize {
    let mut length = text.len();
    let mut index = 0;
    while index < PAIRS.len() {
        let first = half_code(index, PAIRS[index][0]);
        let second = half_code(index, PAIRS[index][1]);
        let (mut read, mut write) = (0, 0);
        while read < length {
            if read + 1 < length && text[read] == first && text[read + 1] == second {
                text[write] = code(index);
                read += 2;
            } else {
                text[write] = text[read];
                read += 1;
            }
            write += 1;
        }
        length = write;
        index += 1;
    }
    length
}

const fn packed_length() -> usize {
    let mut text = SENTENCES;
    merge_all(&mut text)
}

const fn pack<const N: usize>() -> [u8; N] {
    let mut text = SENTENCES;
    let length = merge_all(&mut text);
    assert!(length == N);
    let mut out = [0u8; N];
    let mut index = 0;
    while index < N {
        out[index] = text[index];
        index += 1;
    }
    out
}

/// Bytes of the longest sentence once unpacked (checked at compile time).
pub(super) const UNPACKED_CAPACITY: usize = 256;

/// Most pairs nested in one byte of [`PACKED`] (checked at compile time): the unpacking stack.
const NESTING: usize = 16;

/// Sentence `index` of [`SENTENCES`] unpacked into `out`; empty when there is none.
pub(super) fn unpack(index: usize, out: &mut [u8; UNPACKED_CAPACITY]) -> &[u8] {
    let packed = crate::text::packed_field(&PACKED, index).unwrap_or_default();
    let mut length = 0;
    for &byte in packed {
        let mut pending = [0u8; NESTING];
        pending[0] = byte;
        let mut depth = 1;
        while depth > 0 {
            depth -= 1;
            let byte = pending[depth];
            match DICTIONARY.get(usize::from(byte ^ 0x80)) {
                // A pair: its second half, then its first on top.
                Some(&[first, second]) if depth + 2 <= NESTING => {
                    pending[depth] = second;
                    pending[depth + 1] = first;
                    depth += 2;
                }
                _ => {
                    if length < out.len() {
                        out[length] = byte;
                        length += 1;
                    }
                }
            }
        }
    }
    &out[..length]
}

/// Every sentence fits the unpacking buffer, and nesting fits its stack.
const _: () = {
    let mut start = 0;
    let mut position = 0;
    while position < SENTENCES.len() {
        if SENTENCES[position] == 0 {
            assert!(
                position - start <= UNPACKED_CAPACITY,
                "a sentence is too long"
            );
            start = position + 1;
        }
        position += 1;
    }
    let mut depths = [0usize; 256];
    let mut index = 0;
    while index < PAIRS.len() {
        let first = depths[half_code(index, PAIRS[index][0]) as usize];
        let second = depths[half_code(index, PAIRS[index][1]) as usize];
        let deeper = if first > second { first } else { second };
        // The stack holds each level's pending second half, and one more.
        assert!(deeper + 2 <= NESTING, "pairs nest too deeply");
        depths[code(index) as usize] = deeper + 1;
        index += 1;
    }
};

#[cfg(test)]
mod tests;
