//! Unit tests of `error::phrases` (left out of the published package): its private behaviour checked
//! in isolation; they must never touch files or processes outside a test's own.

use super::*;
use crate::text::packed_field;

#[test]
fn every_sentence_unpacks_to_itself() {
    let mut index = 0;
    while let Some(sentence) = packed_field(&SENTENCES, index) {
        let mut buffer = [0u8; UNPACKED_CAPACITY];
        assert_eq!(unpack(index, &mut buffer), sentence, "sentence {index}");
        index += 1;
    }
    assert!(index > 80);
    assert_eq!(packed_field(&PACKED, index), None);
    // The packing pays for its dictionary.
    assert!(PACKED.len() + 2 * DICTIONARY.len() < SENTENCES.len() / 2 + SENTENCES.len() / 8);
}
