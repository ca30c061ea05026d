//! Unit tests of `pidfile` (left out of the published package): its private behaviour checked
//! in isolation; they must never touch files or processes outside a test's own.

use super::*;

fn state(locked: bool, content: &[u8]) -> core::result::Result<PidState, std::string::String> {
    use std::string::ToString;
    classify(locked, content).map_err(|error| error.to_string())
}

#[test]
fn classification_table() {
    let invalid = if cfg!(feature = "messages") {
        "PID file does not contain a valid PID"
    } else {
        "invalid pid content PID file"
    };
    assert_eq!(state(false, b""), Ok(PidState::NotRunning));
    assert_eq!(state(false, b"123\n"), Ok(PidState::Stale));
    assert_eq!(state(false, b"garbage"), Ok(PidState::Stale));
    assert_eq!(state(false, &[b'9'; 32]), Ok(PidState::Stale));
    assert_eq!(
        state(true, b"123\n"),
        Ok(PidState::Running(Pid::from_raw(123).unwrap()))
    );
    assert_eq!(
        state(true, b"4194304\n"),
        Ok(PidState::Running(Pid::from_raw(4_194_304).unwrap()))
    );
    assert_eq!(state(true, b""), Ok(PidState::Busy));
    assert_eq!(state(true, b"(starting)\n"), Ok(PidState::Busy));
    assert_eq!(state(true, b"12"), Ok(PidState::Busy));
    for bad in [
        &b"-1\n"[..],
        b"0\n",
        b"garbage",
        b"4194305\n",
        b"012\n",
        b"12\n\n",
        b"1 \n",
        b"\n",
        &[b'9'; 32],
    ] {
        assert_eq!(state(true, bad), Err(invalid.into()), "{bad:?}");
    }
}
