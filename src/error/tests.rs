//! Unit tests of `error` (left out of the published package): its private behaviour checked
//! in isolation; they must never touch files or processes outside a test's own.

use super::*;

#[test]
fn small_and_plain() {
    assert!(core::mem::size_of::<Error>() <= 16);
    assert_eq!(core::mem::size_of::<Result<()>>(), 16);
}
#[test]
fn bytes_round_trip_and_reject_garbage() {
    let error = Error::system(Message::SetUid, Subject::User, Errno::PERM).with(1, 4242);
    assert_eq!(Error::from_bytes(&error.to_bytes()), Some(error));
    let mut bytes = error.to_bytes();
    bytes[0] = MESSAGES as u8;
    assert_eq!(Error::from_bytes(&bytes), None);
    bytes[0] = CUSTOM - 1;
    assert_eq!(Error::from_bytes(&bytes), None);
    let custom = Error::custom(7, Subject::Program, Some(Errno::NOENT)).with(1, 3);
    assert_eq!(Error::from_bytes(&custom.to_bytes()), Some(custom));
    assert_eq!(custom.kind(), ErrorKind::Custom(7));
    // The subject's byte (the second one on a little-endian machine) holds the subject
    // plus one.
    let mut bytes = error.to_bytes();
    let subject = if cfg!(target_endian = "little") { 1 } else { 6 };
    for invalid in [0, ALL_SUBJECTS.len() as u8 + 1] {
        bytes[subject] = invalid;
        assert_eq!(Error::from_bytes(&bytes), None);
    }
    assert_eq!(error.subject(), Subject::User);
    assert_eq!(error.errno(), Some(Errno::PERM));
    let all = Error::new(Message::Open, Subject::NotifySocket)
        .with_errno(Errno::from_raw_os_error(4095))
        .with(1, u32::MAX)
        .with(2, 2)
        .with(3, u32::MAX);
    assert_eq!(Error::from_bytes(&all.to_bytes()), Some(all));
    assert_eq!(
        (all.number(0), all.number(1), all.number(2)),
        (u32::MAX, 2, u32::MAX)
    );
    assert_eq!(all.subject(), Subject::NotifySocket);
    assert_eq!(all.errno().map(Errno::raw_os_error), Some(4095));
}
