//! Tables of short names over a small alphabet, packed five bits a character at compile time:
//! the errno names (`ACCES`, capitals and two digits) and, without the `messages` feature, the
//! messages' names (`refuse symlink`, small letters and spaces). Five bits instead of eight take
//! 37 % off each table; a name is read back by walking the bits from the start (names are read
//! only to report an error, a few hundred symbols at most).
//!
//! This file owns the packing ([`pack`], a `const fn`) and [`unpack`]. It must never change a
//! name (a unit test round-trips every table) and never accept a character outside the table's
//! alphabet (the packer fails the build).

/// A table's characters: symbol `n` (1 to 31) is `ALPHABET[n]`; symbol 0 ends a name.
pub(crate) type Alphabet = [u8; 32];

/// Bytes of the longest name [`unpack`] returns (checked when a table is packed).
pub(crate) const NAME_CAPACITY: usize = 32;

/// Bytes of `text` (names, each ending with a NUL) once packed: five bits a byte, and one byte
/// more so that every symbol can be read as part of a 16-bit word.
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

/// `text` (names, each ending with a NUL) packed: symbol `i` in bits `5 i` to `5 i + 4`,
/// counted from the least significant bit of the first byte.
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

/// Name `index` (from 0) of a table [`pack`] made with `alphabet`, written into `out`; empty
/// when the table has no such name (or the name is empty).
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
