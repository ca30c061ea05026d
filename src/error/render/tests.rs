//! Unit tests of `error::render` (left out of the published package): its private behaviour checked
//! in isolation; they must never touch files or processes outside a test's own.

use super::super::*;
use rustix::io::Errno;
use std::string::{String, ToString};

struct Names<'a>(&'a [(Subject, &'a [u8])]);
impl Context for Names<'_> {
    fn name(&self, subject: Subject) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(known, _)| *known == subject)
            .map(|(_, name)| *name)
    }
}
fn rendered(error: Error, names: &[(Subject, &[u8])], capacity: usize) -> String {
    let mut buffer = std::vec![0u8; capacity];
    let length = error.render(&Names(names), &mut buffer);
    String::from_utf8(buffer[..length].to_vec()).unwrap()
}
#[cfg(feature = "messages")]
#[test]
fn system_error_wording() {
    let error = Error::system(Message::Open, Subject::PidFile, Errno::ACCESS);
    assert_eq!(error.kind(), ErrorKind::System);
    assert_eq!(error.errno(), Some(Errno::ACCESS));
    assert_eq!(
        rendered(error, &[(Subject::PidFile, b"/run/x.pid")], 256),
        "Cannot open PID file /run/x.pid: EACCES (Permission denied)"
    );
    assert_eq!(
        error.to_string(),
        "Cannot open PID file: EACCES (Permission denied)"
    );
}
#[cfg(feature = "messages")]
#[test]
fn numbers_modes_signals_and_durations() {
    let error = Error::new(Message::RefuseWritable, Subject::PidFile).with(1, 0o620);
    assert_eq!(
        rendered(error, &[(Subject::PidFile, b"/x")], 256),
        "Refusing PID file /x: writable by group or others (mode 0620)"
    );
    let error = Error::new(Message::LauncherKilled, Subject::Program).with(1, 9);
    assert_eq!(
        rendered(error, &[(Subject::Program, b"prog")], 256),
        "prog was killed by signal 9 (KILL)"
    );
    let error = Error::new(Message::StopTimeout, Subject::None)
        .with(1, 1234)
        .with_duration(Some(Duration::from_millis(250)));
    assert_eq!(
        rendered(error, &[], 256),
        "daemon 1234 did not stop within 0.250 s"
    );
    let error = Error::new(Message::NoSuchUserIn, Subject::User);
    assert_eq!(
        rendered(
            error,
            &[(Subject::User, b"x"), (Subject::PasswdFile, b"/etc/passwd")],
            256
        ),
        "No such user `x` in /etc/passwd"
    );
    assert_eq!(error.to_string(), "No such user in the passwd file");
    let error = Error::system(Message::SendSignal, Subject::None, Errno::PERM)
        .with(1, 40)
        .with(2, 7);
    assert_eq!(
        error.to_string(),
        "Cannot send signal 40 to process 7: EPERM (Operation not permitted)"
    );
}
#[cfg(feature = "messages")]
#[test]
fn long_and_invalid_names_keep_the_errno() {
    let error = Error::system(Message::Open, Subject::PidFile, Errno::NOENT);
    let long = [b'x'; 900];
    let text = rendered(error, &[(Subject::PidFile, &long)], 256);
    assert_eq!(text.len(), 256);
    assert!(
        text.ends_with(": ENOENT (No such file or directory)"),
        "{text}"
    );
    assert!(text.contains("..."));
    let text = rendered(error, &[(Subject::PidFile, b"/run/\xff.pid")], 256);
    assert_eq!(
        text,
        "Cannot open PID file /run/\\xff.pid: ENOENT (No such file or directory)"
    );
}
#[cfg(feature = "messages")]
#[test]
fn two_names_share_the_room() {
    let error = Error::new(Message::RefuseGuardIsPidFile, Subject::GuardFile);
    let long = [b'g'; 300];
    let text = rendered(
        error,
        &[
            (Subject::GuardFile, &long),
            (Subject::PidFile, b"/run/x.pid"),
        ],
        120,
    );
    assert!(text.len() <= 120);
    assert!(text.ends_with("it is the PID file /run/x.pid"), "{text}");
}
#[cfg(feature = "messages")]
#[test]
fn every_errno_is_named() {
    let error = Error::system(Message::Open, Subject::None, Errno::from_raw_os_error(29));
    assert!(error.to_string().ends_with(": ESPIPE (Illegal seek)"));
    let error = Error::system(Message::Open, Subject::None, Errno::from_raw_os_error(64));
    assert!(error.to_string().ends_with(": ENONET"), "{error}");
}
#[cfg(feature = "messages")]
#[test]
fn every_template_renders() {
    for number in 0..MESSAGES as u8 {
        let message = Message::from_number(number).unwrap();
        let text = Error::new(message, Subject::PidFile).to_string();
        assert!(
            !text.is_empty() && !text.contains('%'),
            "{message:?}: {text}"
        );
    }
    assert_eq!(
        TEMPLATES.iter().filter(|&&byte| byte == 0).count(),
        MESSAGES
    );
}
/// A context with words for the caller's code 7.
struct Own;
impl Context for Own {
    fn name(&self, subject: Subject) -> Option<&[u8]> {
        (subject == Subject::Program).then_some(&b"prog"[..])
    }

    fn template(&self, code: u8) -> Option<&[u8]> {
        let words: &[u8] = if cfg!(feature = "messages") {
            b"Cannot start %n: %1 tries"
        } else {
            b"start"
        };
        (code == 7).then_some(words)
    }
}
#[test]
fn custom_errors_take_their_words_from_the_context() {
    let error = Error::custom(7, Subject::Program, Some(Errno::NOENT)).with(1, 3);
    let mut buffer = [0u8; 128];
    let length = error.render(&Own, &mut buffer);
    let text = core::str::from_utf8(&buffer[..length]).unwrap();
    if cfg!(feature = "messages") {
        assert_eq!(
            text,
            "Cannot start prog: 3 tries: ENOENT (No such file or directory)"
        );
    } else {
        assert_eq!(text, "start program prog (3): ENOENT");
    }
    let unknown = Error::custom(9, Subject::Program, None);
    let length = unknown.render(&Own, &mut buffer);
    let text = core::str::from_utf8(&buffer[..length]).unwrap();
    if cfg!(feature = "messages") {
        assert_eq!(text, "error 9 prog");
    } else {
        assert_eq!(text, "error 9 program prog");
    }
    assert_eq!(
        Error::custom(200, Subject::None, None).kind(),
        ErrorKind::Custom(72)
    );
}
#[cfg(not(feature = "messages"))]
#[test]
fn short_code_lines_without_messages() {
    let error = Error::system(Message::Open, Subject::PidFile, Errno::ACCESS);
    assert_eq!(
        rendered(error, &[(Subject::PidFile, b"/run/x.pid")], 256),
        "open PID file /run/x.pid: EACCES"
    );
    assert_eq!(error.to_string(), "open PID file: EACCES");
    let error = Error::new(Message::NotHolding, Subject::PidFile).with(1, 1234);
    assert_eq!(
        rendered(error, &[(Subject::PidFile, b"/x.pid")], 256),
        "not holding PID file /x.pid (1234)"
    );
    let error = Error::system(Message::SendSignal, Subject::None, Errno::PERM)
        .with(1, 40)
        .with(2, 7);
    assert_eq!(error.to_string(), "send signal (40, 7): EPERM");
    let error = Error::system(Message::Open, Subject::None, Errno::from_raw_os_error(200));
    assert_eq!(error.to_string(), "open: errno 200");
    // A long name is cut in the middle; the errno always shows.
    let error = Error::system(Message::Open, Subject::PidFile, Errno::NOENT);
    let long = [b'x'; 900];
    let text = rendered(error, &[(Subject::PidFile, &long)], 64);
    assert_eq!(text.len(), 64);
    assert!(text.starts_with("open PID file xxx"), "{text}");
    assert!(text.ends_with("xxx: ENOENT"), "{text}");
    assert!(text.contains("..."), "{text}");
    for number in 0..MESSAGES as u8 {
        let message = Message::from_number(number).unwrap();
        let text = Error::new(message, Subject::PidFile).to_string();
        assert!(
            text.starts_with(|c: char| c.is_ascii_lowercase()) && text.ends_with("PID file"),
            "{message:?}: {text}"
        );
    }
    assert_eq!(
        messages::SPACED_NAMES
            .iter()
            .filter(|&&byte| byte == 0)
            .count(),
        MESSAGES
    );
    let error = Error::new(Message::RefuseGuardIsPidFile, Subject::None);
    assert_eq!(error.to_string(), "refuse guard is pid file");
}
