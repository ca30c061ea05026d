//! Short-name tables packed five bits a character at compile time: the errno names and, without
//! `messages`, the message names (37 % smaller; read back by walking the bits).
//!
//! This file owns [`pack`] and [`unpack`]. It must never change a name (a unit test round-trips
//! every table) nor accept a character outside the alphabet (the build fails).

/// A table's characters: symbol `n` (1 to 31) is `ALPHABET[n]`; symbol 0 ends a name.
pub(crate) type Alphabet = [u8; 32];

/// Bytes of the longest name [`unpack`] returns (checked when a table is packed).
pub(crate) const NAME_CAPACITY: usize = 32;

/// Packed bytes of `text` (NUL-terminated names), plus one for 16-bit reads.
pub(crate) const fn packed_length(text: &[u8]) -> usize {
    (text.len() * 5).div_ceil(8) + 1
}

/// The symbol of `byte` in `alphabet` (0 for the NUL that ends a name).
const fn symbol(alphabet: &Alphabet, byte: u8) -> u8 {
    if byte == 0 {
        return 0;
    }
    let mut index = 1;
    while index < alphabet.len() {
        if alphabet[index] == byte {
            return index as u8;
        }
        index += 1;
    }
    panic!("a character of a five-bit table is outside its alphabet")
}

/// `text` packed: symbol `i` in bits `5 i`…`5 i + 4`.
pub(crate) const fn pack<const N: usize>(text: &[u8], alphabet: &Alphabet) -> [u8; N] {
    assert!(
        N == packed_length(text),
        "the table's length is packed_length"
    );
    let mut packed = [0u8; N];
    let mut position = 0;
    let mut name_start = 0;
    while position < text.len() {
        let code = symbol(alphabet, text[position]) as u16;
        if code == 0 {
            assert!(
                position - name_start <= NAME_CAPACITY,
                "a name of a five-bit table is too long"
            );
            name_start = position + 1;
        }
        let bit = position * 5;
        let shifted = code << (bit % 8);
        packed[bit / 8] |= shifted as u8;
        packed[bit / 8 + 1] |= (shifted >> 8) as u8;
        position += 1;
    }
    assert!(
        name_start == text.len(),
        "every name ends with a NUL (the last one too)"
    );
    packed
}

/// Name `index` of a [`pack`]ed table in `out`; empty when there is none.
pub(crate) fn unpack<'o>(
    packed: &[u8],
    alphabet: &Alphabet,
    index: usize,
    out: &'o mut [u8; NAME_CAPACITY],
) -> &'o [u8] {
    let mut name = 0;
    let mut length = 0;
    let mut bit = 0;
    while bit / 8 + 1 < packed.len() {
        let word = u16::from(packed[bit / 8]) | u16::from(packed[bit / 8 + 1]) << 8;
        let code = usize::from(word >> (bit % 8)) & 31;
        bit += 5;
        if code == 0 {
            if name == index {
                break;
            }
            name += 1;
        } else if name == index && length < out.len() {
            out[length] = alphabet[code];
            length += 1;
        }
    }
    &out[..length]
}

#[cfg(test)]
mod tests;
