//! Unit tests of `control::holders` (left out of the published package): its private behaviour checked
//! in isolation; they must never touch files or processes outside a test's own.

use super::*;

#[test]
fn lock_lines() {
    let lock = LockId {
        major: 0xfe,
        minor: 0,
        inode: 10_117_578,
    };
    assert!(flock_line_matches(
        b"\t1: FLOCK  ADVISORY  WRITE 1082 fe:00:10117578 0 EOF",
        &lock
    ));
    assert!(flock_line_matches(
        b"\t1: FLOCK  ADVISORY  READ 9 FE:0:10117578 0 EOF",
        &lock
    ));
    assert!(!flock_line_matches(
        b"\t1: POSIX  ADVISORY  WRITE 1082 fe:00:10117578 0 EOF",
        &lock
    ));
    assert!(!flock_line_matches(
        b"\t1: FLOCK  ADVISORY  WRITE 1082 fe:01:10117578 0 EOF",
        &lock
    ));
    assert!(!flock_line_matches(
        b"\t1: FLOCK  ADVISORY  WRITE 1082 fe:00:10117579 0 EOF",
        &lock
    ));
    assert!(!flock_line_matches(
        b"\t1: -> FLOCK  ADVISORY  WRITE 1082 fe:00:10117578 0 EOF",
        &lock
    ));
    assert!(!flock_line_matches(b"", &lock));
    assert!(!flock_line_matches(
        b"\t1: FLOCK ADVISORY WRITE 1 fe:00:10117578:1 0 EOF",
        &lock
    ));
}
