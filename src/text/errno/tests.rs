//! Unit tests of `text::errno` (left out of the published package): its private behaviour checked
//! in isolation; they must never touch files or processes outside a test's own.

use super::*;
use rustix::io::Errno;

/// The number of `errno`.
fn raw(errno: Errno) -> u16 {
    errno.raw_os_error() as u16
}

#[test]
fn every_errno_has_a_name() {
    let mut out = [0u8; NAME_CAPACITY];
    let mut written = ERRNO_NAMES.split(|&byte| byte == 0);
    for number in 1..=200 {
        let name = errno_stem(number, &mut out);
        assert_eq!(
            name.is_some(),
            number <= 133 && number != 41 && number != 58,
            "errno {number}"
        );
        let expected = written.next().unwrap_or_default();
        assert_eq!(
            name.unwrap_or_default(),
            expected.get(1..).unwrap_or_default()
        );
    }
    assert_eq!(
        errno_stem(raw(Errno::ACCESS), &mut out),
        Some(&b"ACCES"[..])
    );
    assert_eq!(errno_stem(raw(Errno::SPIPE), &mut out), Some(&b"SPIPE"[..]));
    assert_eq!(errno_stem(4095, &mut out), None);
    // Every name starts with the `E` the table leaves out.
    assert!(ERRNO_NAMES
        .split(|&byte| byte == 0)
        .all(|name| name.is_empty() || name[0] == b'E'));
}

#[cfg(feature = "messages")]
#[test]
fn common_errnos_are_described() {
    let described = |errno: Errno| {
        description_number(raw(errno))
            .and_then(|index| super::super::packed_field(ERRNO_DESCRIPTIONS, index))
    };
    assert_eq!(described(Errno::ACCESS), Some(&b"Permission denied"[..]));
    assert_eq!(described(Errno::SPIPE), Some(&b"Illegal seek"[..]));
    assert_eq!(described(Errno::from_raw_os_error(200)), None);
    let count = ERRNO_DESCRIPTIONS.split(|&byte| byte == 0).count();
    assert_eq!(count, DESCRIBED_ERRNOS.len() + 1);
    assert_eq!(
        described(Errno::from_raw_os_error(122)),
        Some(&b"Disk quota exceeded"[..])
    );
}
