//! Fuzzes `pidfile::classify` (docs/design.md §2) against an independent, plain reading of the
//! table: any byte string up to the 32 bytes a controller reads, locked or not, must classify
//! exactly as the table says, never panic, and an ERROR must be an invalid-PID error about the
//! PID file that, rendered against a context, names the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ucw_daemon::pidfile::{classify, PidState, PID_MAX, READ_LIMIT, STARTING};
use ucw_daemon::{Context, ErrorKind, Subject};

/// Names the PID file, as a controller's parameters do.
struct PidFileNamed;

impl Context for PidFileNamed {
    fn name(&self, subject: Subject) -> Option<&[u8]> {
        (subject == Subject::PidFile).then_some(&b"/run/fuzz.pid"[..])
    }
}

/// The table's classes, with the PID as a plain number.
#[derive(Debug, PartialEq, Eq)]
enum Class {
    NotRunning,
    Stale,
    Busy,
    Running(u64),
    Error,
}

/// `[1-9][0-9]*` with a value of at most `PID_MAX`.
fn valid_pid_digits(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits[0] == b'0' || digits.len() > 7 {
        return None;
    }
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    (value <= PID_MAX).then_some(value)
}

/// What the table in docs/design.md §2 says.
fn expected(locked: bool, content: &[u8]) -> Class {
    if !locked {
        return if content.is_empty() {
            Class::NotRunning
        } else {
            Class::Stale
        };
    }
    if content.is_empty() || content == STARTING {
        return Class::Busy;
    }
    if let Some(digits) = content.strip_suffix(b"\n") {
        return valid_pid_digits(digits).map_or(Class::Error, Class::Running);
    }
    // Digits without the newline yet: the daemon is in the middle of writing its PID.
    valid_pid_digits(content).map_or(Class::Error, |_| Class::Busy)
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, content)) = data.split_first() else {
        return;
    };
    let content = &content[..content.len().min(READ_LIMIT)];
    let locked = flags & 1 == 1;
    let got = match classify(locked, content) {
        Ok(PidState::Absent) => panic!("classify never says ABSENT (only open does)"),
        Ok(PidState::NotRunning) => Class::NotRunning,
        Ok(PidState::Stale) => Class::Stale,
        Ok(PidState::Busy) => Class::Busy,
        Ok(PidState::Running(pid)) => Class::Running(pid.as_raw_nonzero().get() as u64),
        Err(error) => {
            assert_eq!(
                error.kind(),
                ErrorKind::InvalidPid,
                "{content:?}: {error:?}"
            );
            assert_eq!(error.subject(), Subject::PidFile, "{content:?}: {error:?}");
            assert_eq!(error.errno(), None, "{content:?}: {error:?}");
            let message = error.display(&PidFileNamed).to_string();
            assert_eq!(
                message, "PID file /run/fuzz.pid does not contain a valid PID",
                "unclear error for {content:?}"
            );
            Class::Error
        }
    };
    assert_eq!(
        got,
        expected(locked, content),
        "content {content:?} locked {locked}"
    );
});
