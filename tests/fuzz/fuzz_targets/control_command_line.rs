//! Fuzzes `ucw-daemon-control`'s command-line parser (`cli::parse_control`, the GNU
//! getopt_long-style scanner under it) and `cli::parse_seconds`.
//!
//! Input: the first byte's low bit says whether to permute (no `POSIXLY_CORRECT`); the rest,
//! split at NUL bytes, is the argument vector. Checks: never panics; the arguments are only
//! reordered, never lost or changed; a request is complete and consistent (PID file given
//! and not empty, a command exactly for `--start`, the guard file given or derived as
//! `X.pid` → `X.lock`); every usage error has a message. The same arguments also go through
//! the bare `Scanner` with a table shaped like `ucw-daemonize`'s (which stops at its first
//! operand): every option found is in the table and has a value exactly when it takes one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::ffi::{CStr, CString};
use ucw_daemon::cli::{
    parse_control, parse_seconds, ControlInvocation, LongOption, Scanner, PATH_CAPACITY,
};
use ucw_daemon::control::Action;
use ucw_daemon::error::ERROR_CAPACITY;
use ucw_daemon::text::Message;

/// A table shaped like `ucw-daemonize`'s: shared prefixes (`pid-file`/`preserve-cwd`,
/// `exec`), valued and flag options.
const DAEMONIZE_LIKE: &[LongOption] = &[
    LongOption { name: "pid-file", takes_value: true },
    LongOption { name: "user", takes_value: true },
    LongOption { name: "group", takes_value: true },
    LongOption { name: "preserve-cwd", takes_value: false },
    LongOption { name: "foreground", takes_value: false },
    LongOption { name: "exec", takes_value: false },
    LongOption { name: "help", takes_value: false },
    LongOption { name: "version", takes_value: false },
];

fn scan_like_daemonize(owned: &[CString]) {
    let mut arguments: Vec<&CStr> = owned.iter().map(CString::as_c_str).collect();
    let mut scanner = Scanner::new(DAEMONIZE_LIKE, &mut arguments, false);
    let mut found_count = 0;
    while let Ok(Some(found)) = scanner.next_option() {
        let option = DAEMONIZE_LIKE[found.index];
        assert_eq!(found.value.is_some(), option.takes_value, "{}", option.name);
        found_count += 1;
        assert!(found_count <= owned.len(), "more options than arguments");
    }
    assert!(scanner.operands() <= owned.len());
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let permute = flags & 1 == 0;
    let owned: Vec<CString> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split(|&byte| byte == 0)
            .map(|word| CString::new(word).unwrap())
            .collect()
    };
    for word in &owned {
        if let Some(duration) = parse_seconds(word.as_bytes()) {
            assert!(duration.as_secs() < u64::MAX, "{word:?}");
        }
    }
    scan_like_daemonize(&owned);
    let mut arguments: Vec<&CStr> = owned.iter().map(CString::as_c_str).collect();
    let mut guard = [0u8; PATH_CAPACITY];
    let result = parse_control(&mut arguments, permute, &mut guard);

    let mut before: Vec<&[u8]> = owned.iter().map(|word| word.as_bytes()).collect();
    let mut after: Vec<&[u8]> = arguments.iter().map(|word| word.to_bytes()).collect();
    before.sort();
    after.sort();
    assert_eq!(before, after, "arguments changed, not just reordered");

    match result {
        Ok(ControlInvocation::Run(request)) => {
            assert!(!request.pid_file.is_empty());
            assert!(!request.guard_file.is_empty());
            let given_guard = owned.iter().any(|word| word.as_bytes().starts_with(b"--g"));
            if !given_guard {
                let pid = request.pid_file.to_bytes();
                let stem = pid.strip_suffix(b".pid").expect("guard derived from X.pid");
                assert_eq!(request.guard_file.to_bytes(), [stem, b".lock"].concat());
            }
            assert!(request.command <= arguments.len());
            if request.action == Action::Start {
                assert!(request.command < arguments.len(), "--start without a command");
            } else {
                assert_eq!(request.command, arguments.len(), "operands with {:?}", request.action);
            }
            if request.escalate {
                assert!(request.action == Action::Stop && request.timeout.is_some());
            }
        }
        Ok(ControlInvocation::Help | ControlInvocation::Version) => {}
        Err(error) => {
            let mut message = Message::<ERROR_CAPACITY>::new();
            error.describe(&mut message);
            assert!(!message.is_empty(), "{error:?} has no message");
            assert!(!error.to_error().message().is_empty());
        }
    }
});
