//! Unit tests of `sys::bytes` (left out of the published package): its private behaviour checked
//! in isolation; they must never touch files or processes outside a test's own.

use super::*;

fn reference(block: &[u8; 16], byte: u8) -> u32 {
    (0..16)
        .filter(|&index| block[index] == byte)
        .fold(0, |mask, index| mask | 1 << index)
}

#[test]
fn both_ways_agree_with_a_byte_loop() {
    // Every byte value against blocks that hold it in every position pattern we can
    // cheaply enumerate, plus pseudo-random blocks.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for byte in 0..=255u8 {
        for pattern in 0..=0xffffu32 {
            if pattern % 257 != 0 && pattern.count_ones() > 2 {
                continue;
            }
            let mut block = [byte.wrapping_add(1); 16];
            for (index, slot) in block.iter_mut().enumerate() {
                if pattern & 1 << index != 0 {
                    *slot = byte;
                }
            }
            assert_eq!(equal_mask(&block, byte), pattern, "{byte} {pattern:#x}");
            assert_eq!(
                word_equal_mask(&block, byte),
                pattern,
                "{byte} {pattern:#x}"
            );
        }
        for _ in 0..64 {
            let random = next().to_le_bytes();
            let mut block = [0u8; 16];
            block[..8].copy_from_slice(&random);
            block[8..].copy_from_slice(&next().to_le_bytes());
            // Make the byte likely to occur.
            block[(next() % 16) as usize] = byte;
            let want = reference(&block, byte);
            assert_eq!(equal_mask(&block, byte), want);
            assert_eq!(word_equal_mask(&block, byte), want);
        }
    }
}
