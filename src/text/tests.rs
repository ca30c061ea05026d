//! Unit tests of `text` (left out of the published package): its private behaviour checked
//! in isolation; they must never touch files or processes outside a test's own.

use super::*;

fn escaped(name: &[u8], budget: usize) -> std::string::String {
    let mut buffer = [0u8; 256];
    let mut writer = Writer::new(&mut buffer);
    writer.push_name(name, budget);
    std::string::String::from_utf8(writer.as_bytes().to_vec()).expect("valid UTF-8")
}

#[test]
fn names_are_escaped_losslessly() {
    assert_eq!(escaped(b"/run/x.pid", 100), "/run/x.pid");
    assert_eq!(escaped(b"/run/\xff\n\\x", 100), "/run/\\xff\\x0a\\\\x");
    // An overlong encoding and a lone surrogate are not valid UTF-8.
    assert_eq!(
        escaped(b"\xc0\xaf\xed\xa0\x80", 100),
        "\\xc0\\xaf\\xed\\xa0\\x80"
    );
    if cfg!(feature = "messages") {
        assert_eq!(escaped("/run/é.pid".as_bytes(), 100), "/run/é.pid");
        assert_eq!(escaped("€😀".as_bytes(), 100), "€😀");
    } else {
        // Short lines: every byte outside printable ASCII as \xNN.
        assert_eq!(escaped("/run/é.pid".as_bytes(), 100), "/run/\\xc3\\xa9.pid");
    }
}

#[test]
fn long_names_are_cut_in_the_middle() {
    let name = [b'a'; 50];
    let cut = escaped(&name, 20);
    assert_eq!(cut.len(), 20);
    assert_eq!(cut, "aaaaaaaa...aaaaaaaaa");
    // Never half an escape or half a character.
    let mixed = "ééééééééééééééééééééé".as_bytes();
    let cut = escaped(mixed, 11);
    assert!(cut.contains("..."));
    assert!(cut.len() <= 11);
    let invalid = [0xffu8; 30];
    let cut = escaped(&invalid, 20);
    assert_eq!(cut, "\\xff\\xff...\\xff\\xff");
}

/// The cut as first specified, in two passes: the widest head that fits half the room,
/// then the narrowest tail after it that fits the other half.
fn cut_in_two_passes(name: &[u8], budget: usize) -> std::vec::Vec<u8> {
    let escape = |part: &[u8]| {
        let mut buffer = [0u8; 1024];
        let mut writer = Writer::new(&mut buffer);
        writer.push_name(part, usize::MAX);
        writer.as_bytes().to_vec()
    };
    let total = escaped_width(name);
    if total <= budget {
        return escape(name);
    }
    let Some(room) = budget.checked_sub(3) else {
        return b"..."[..budget].to_vec();
    };
    let (head_budget, tail_budget) = (room / 2, room - room / 2);
    let (mut head_end, mut head_width) = (0, 0);
    while head_end < name.len() {
        let (length, width) = unit(&name[head_end..]);
        if head_width + width > head_budget {
            break;
        }
        head_end += length;
        head_width += width;
    }
    let (mut tail_start, mut tail_width) = (head_end, total - head_width);
    while tail_width > tail_budget {
        let (length, width) = unit(&name[tail_start..]);
        tail_start += length;
        tail_width -= width;
    }
    let mut out = escape(&name[..head_end]);
    out.extend_from_slice(b"...");
    out.extend_from_slice(&escape(&name[tail_start..]));
    out
}

#[test]
fn one_pass_cut_is_the_two_pass_cut() {
    // Names mixing plain bytes, backslashes, invalid bytes and UTF-8 characters, at
    // every budget from none to more than enough.
    let pieces: [&[u8]; 6] = [
        b"a",
        b"\\",
        b"\xff",
        "\u{e9}".as_bytes(),
        "\u{1f600}".as_bytes(),
        b"\n",
    ];
    let mut seed = 0x2545_f491_u32;
    for _ in 0..300 {
        let mut name = std::vec::Vec::new();
        for _ in 0..seed % 13 {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            name.extend_from_slice(pieces[(seed % 6) as usize]);
        }
        for budget in 0..escaped_width(&name) + 3 {
            let mut buffer = [0u8; 1024];
            let mut writer = Writer::new(&mut buffer);
            assert_eq!(writer.push_name(&name, budget), escaped_width(&name));
            assert_eq!(
                writer.as_bytes(),
                cut_in_two_passes(&name, budget),
                "{name:?} {budget}"
            );
        }
        seed = seed.wrapping_mul(747_796_405).wrapping_add(1);
    }
}

#[test]
fn decimal_round_trip_and_strictness() {
    let mut digits = [0u8; 20];
    assert_eq!(format_decimal(0, &mut digits), b"0");
    assert_eq!(
        format_decimal(u64::MAX, &mut digits),
        b"18446744073709551615"
    );
    assert_eq!(parse_decimal(b"4194304", 4_194_304), Some(4_194_304));
    assert_eq!(parse_decimal(b"4194305", 4_194_304), None);
    assert_eq!(parse_decimal(b"", 10), None);
    assert_eq!(parse_decimal(b"-1", 10), None);
    assert_eq!(parse_decimal(b"+1", 10), None);
    assert_eq!(parse_decimal(b"1 ", 10), None);
    assert_eq!(parse_decimal(b"99999999999999999999999", u64::MAX), None);
}

#[cfg(feature = "messages")]
#[test]
fn octal_and_hex() {
    let mut buffer = [0u8; 32];
    let mut writer = Writer::new(&mut buffer);
    writer.push_radix(0o620, 8, 4);
    writer.push(b" ");
    writer.push_radix(0x9fa0, 16, 1);
    writer.push(b" ");
    writer.push_radix(0, 16, 1);
    assert_eq!(writer.as_bytes(), b"0620 9fa0 0");
}
