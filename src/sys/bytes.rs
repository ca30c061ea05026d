//! Sixteen byte comparisons at once for the account scanner: a bit mask of the bytes of a block
//! equal to a byte.
//!
//! This module owns the library's one vector sequence: SSE2 `pcmpeqb` + `pmovmskb` on x86_64
//! (baseline there), two 64-bit words elsewhere. It must never read outside the block nor decide
//! anything.

/// Bit `n` of the result is set when `block[n] == byte`; bits 16 and above are clear.
#[inline(always)]
pub(crate) fn equal_mask(block: &[u8; 16], byte: u8) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is x86_64 baseline; `block` is 16 readable bytes; no alignment needed.
        unsafe {
            let bytes = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
            let equal = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(byte as i8));
            _mm_movemask_epi8(equal) as u32
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        word_equal_mask(block, byte)
    }
}

/// [`equal_mask`] in two 64-bit words (no vector instructions).
#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline(always)]
fn word_equal_mask(block: &[u8; 16], byte: u8) -> u32 {
    let (low, high) = block.split_at(8);
    let word = |half: &[u8]| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(half);
        u64::from_le_bytes(bytes)
    };
    word_mask(word(low), byte) | word_mask(word(high), byte) << 8
}

/// Bit `n` (0–7) set when byte `n` of the little-endian `word` equals `byte`.
#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline(always)]
fn word_mask(word: u64, byte: u8) -> u32 {
    const LOW_SEVEN: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // Zero exactly in the bytes that equal `byte`.
    let difference = word ^ (u64::from(byte) * 0x0101_0101_0101_0101);
    // 0x80 in each zero byte: adding 0x7f to the low seven bits carries into bit 7 unless all zero.
    let zero_bytes = !(((difference & LOW_SEVEN) + LOW_SEVEN) | difference | LOW_SEVEN);
    // Gather the eight flags into the top byte (flag n to bit 56 + n).
    ((zero_bytes >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32
}

#[cfg(test)]
mod tests;
