//! Unit tests of `text::five_bits` (left out of the published package): its private behaviour checked
//! in isolation; they must never touch files or processes outside a test's own.

use super::*;

const ALPHABET: Alphabet = *b"\0abcdefghijklmnopqrstuvwxyz 0123";
const TEXT: &[u8] = b"abc\0\0the quick fox\x000123\0";
static PACKED: [u8; packed_length(TEXT)] = pack(TEXT, &ALPHABET);

#[test]
fn every_name_round_trips() {
    let mut out = [0u8; NAME_CAPACITY];
    for (index, name) in TEXT[..TEXT.len() - 1].split(|&byte| byte == 0).enumerate() {
        assert_eq!(unpack(&PACKED, &ALPHABET, index, &mut out), name);
    }
    assert_eq!(unpack(&PACKED, &ALPHABET, 4, &mut out), b"");
    assert_eq!(unpack(&PACKED, &ALPHABET, usize::MAX, &mut out), b"");
    assert!(PACKED.len() < TEXT.len());
}
