//! Unit tests of `exec` (left out of the published package): its private behaviour checked
//! in isolation; they must never touch files or processes outside a test's own.

use super::*;

#[test]
fn join_builds_candidates_and_refuses_overlong_ones() {
    let mut buffer = [0u8; PATH_MAX];
    assert_eq!(
        join(&mut buffer, b"/usr/bin", b"true").unwrap().to_bytes(),
        b"/usr/bin/true"
    );
    assert_eq!(join(&mut buffer, b"", b"true").unwrap().to_bytes(), b"true");
    let long = [b'x'; PATH_MAX - 5];
    assert!(join(&mut buffer, &long, b"true").is_none());
    let fits = [b'x'; PATH_MAX - 7];
    assert!(join(&mut buffer, &fits, b"ab").is_some());
}

#[test]
fn variables_in_raw_and_slice_lists() {
    let entries = [
        c"HOME=/root".as_ptr(),
        c"PATH=/a:/b".as_ptr(),
        c"PATHX=no".as_ptr(),
        core::ptr::null(),
    ];
    // SAFETY: a null-terminated vector of static strings.
    let raw = unsafe { StringList::from_raw(entries.as_ptr()) };
    assert_eq!(raw.variable(b"PATH"), Some(c"/a:/b"));
    assert_eq!(raw.variable(b"PAT"), None);
    assert_eq!(raw.iter().count(), 3);
    let slice = StringList::from_slice(&[c"A=1", c"B="]);
    assert_eq!(slice.variable(b"B"), Some(c""));
    assert_eq!(slice.get(2), None);
    // SAFETY: null is allowed.
    assert!(unsafe { StringList::from_raw(core::ptr::null()) }.is_empty());
}
