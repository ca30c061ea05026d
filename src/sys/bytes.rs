//! Sixteen byte comparisons at once, for the account files' scanner ([`crate::account`]): which
//! bytes of a 16-byte block equal a given byte, as a bit mask (bit `n` for byte `n`).
//!
//! This module owns the one vector instruction sequence the library uses: SSE2's `pcmpeqb` +
//! `pmovmskb` on x86_64, where SSE2 is part of the architecture's baseline (every x86_64 CPU
//! has it, and the target enables it), so no run-time detection is needed. Elsewhere (aarch64)
//! the same mask is computed in two 64-bit words. It must never read outside the block it is
//! given, and never decide anything: the scanner interprets the masks.

/// Bit `n` of the result is set when `block[n] == byte`; bits 16 and above are clear.
#[inline(always)]
pub(crate) fn equal_mask(block: &[u8; 16], byte: u8) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is in the x86_64 baseline, so these instructions exist on every CPU this
        // code runs on; `block` is 16 readable bytes, and `_mm_loadu_si128` needs no alignment.
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
    // 0x80 in each zero byte of `difference`, 0 elsewhere: adding 0x7f to the low seven bits
    // carries into bit 7 unless they are all zero, and no carry crosses a byte.
    let zero_bytes = !(((difference & LOW_SEVEN) + LOW_SEVEN) | difference | LOW_SEVEN);
    // Gather the eight flags (bit 8n) into the top byte: the multiplier places flag n at bit
    // 56 + n, and every other product lands below bit 56 or above bit 63.
    ((zero_bytes >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32
}

#[cfg(test)]
mod tests;
