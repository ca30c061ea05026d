//! Fuzzes `ucw-daemon-control`'s command-line parser (the tools' `cli::control::parse_control`,
//! the GNU getopt_long-style scanner under it, `cli::options::Scanner`) and
//! `cli::options::parse_seconds`, against a plain reference scan written here.
//!
//! Input: the first byte's low bit says whether to permute (no `POSIXLY_CORRECT`); the rest,
//! split at NUL bytes, is the argument vector. Checks: never panics; when the scan ends, the
//! front of the arguments holds the operands, in their original order, and nothing else (the
//! very same strings, compared by address; their count is the request's `command`); the
//! slots options held may be overwritten, but only with original arguments. A request is
//! complete and consistent: PID file, guard file, signal and timeout are the last values
//! given; the guard is derived as `X.pid` → `X.lock` when not given; never `--signal STOP`;
//! a command exactly for `--start`/`--restart`; `--kill-after-timeout` only with
//! `--stop`/`--restart` and `--timeout`; `--verbose` as given. A syntax error is the first
//! one the reference finds; every usage error has a message. The same arguments also go
//! through the bare `Scanner` with `ucw-daemonize`'s table (which stops at its first
//! operand), with the same checks. `parse_seconds` is compared with a reference on every
//! word.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::ffi::{CStr, CString};
use std::time::Duration;
use ucw_daemon::control::Action;
use ucw_daemon::signal::Signal;
use ucw_daemon_tools::cli::control::{
    parse_control, ControlInvocation, CONTROL_OPTIONS, PATH_CAPACITY,
};
use ucw_daemon_tools::cli::daemonize::OPTIONS as DAEMONIZE_OPTIONS;
use ucw_daemon_tools::cli::options::{parse_seconds, LongOption, Options, Scanner, UsageError};

/// A syntax error as the reference sees it: the kind and the argument or option it names.
#[derive(Debug, PartialEq, Eq)]
enum Syntax {
    Unrecognized(Vec<u8>),
    Ambiguous(Vec<u8>, u64),
    Short(u8),
    MissingValue(&'static [u8]),
    UnexpectedValue(&'static [u8]),
}

/// What the reference scan found: the options in order (table index and value, by address
/// for values that are whole arguments), the operands (indices into the arguments), and the
/// first syntax error, which ends the scan.
#[derive(Debug, Default)]
struct Scan<'a> {
    options: Vec<(usize, Option<&'a [u8]>)>,
    operands: Vec<usize>,
    error: Option<Syntax>,
}

/// GNU getopt_long with an empty short-option string, written plainly: `--` ends the options,
/// `-` and `` are operands, `-x` is an error, an exact name wins over prefixes, a unique
/// prefix is accepted, a required value is `=value` or the next argument (whatever it is).
fn reference_scan<'a>(table: Options, words: &'a [CString], permute: bool) -> Scan<'a> {
    let table: Vec<LongOption> = table.iter().collect();
    let mut scan = Scan::default();
    let mut index = 0;
    while index < words.len() {
        let word = words[index].as_bytes();
        if word == b"--" {
            scan.operands.extend(index + 1..words.len());
            return scan;
        }
        if word.len() < 2 || word[0] != b'-' {
            if !permute {
                scan.operands.extend(index..words.len());
                return scan;
            }
            scan.operands.push(index);
            index += 1;
            continue;
        }
        if word[1] != b'-' {
            scan.error = Some(Syntax::Short(word[1]));
            return scan;
        }
        let body = &word[2..];
        let (name, inline) = match body.iter().position(|&byte| byte == b'=') {
            Some(equals) => (&body[..equals], Some(&body[equals + 1..])),
            None => (body, None),
        };
        let exact = table
            .iter()
            .position(|option| option.name == name);
        let candidates: u64 = table
            .iter()
            .enumerate()
            .filter(|(_, option)| !name.is_empty() && option.name.starts_with(name))
            .map(|(position, _)| 1u64 << position)
            .sum();
        let found = match exact {
            Some(found) => found,
            None if candidates == 0 => {
                scan.error = Some(Syntax::Unrecognized(word.to_vec()));
                return scan;
            }
            None if candidates.count_ones() > 1 => {
                scan.error = Some(Syntax::Ambiguous(word.to_vec(), candidates));
                return scan;
            }
            None => candidates.trailing_zeros() as usize,
        };
        let option = table[found];
        let value = match (option.takes_value, inline) {
            (false, Some(_)) => {
                scan.error = Some(Syntax::UnexpectedValue(option.name));
                return scan;
            }
            (false, None) => None,
            (true, Some(value)) => Some(value),
            (true, None) => match words.get(index + 1) {
                Some(next) => {
                    index += 1;
                    Some(next.as_bytes())
                }
                None => {
                    scan.error = Some(Syntax::MissingValue(option.name));
                    return scan;
                }
            },
        };
        scan.options.push((found, value));
        index += 1;
    }
    scan
}

/// The syntax error a usage error is, if it is one.
fn syntax_of(error: &UsageError<'_>) -> Option<Syntax> {
    Some(match *error {
        UsageError::Unrecognized(argument) => Syntax::Unrecognized(argument.to_bytes().to_vec()),
        UsageError::Ambiguous(argument, _, candidates) => {
            Syntax::Ambiguous(argument.to_bytes().to_vec(), candidates)
        }
        UsageError::ShortOption(letter) => Syntax::Short(letter),
        UsageError::MissingValue(name) => Syntax::MissingValue(name),
        UsageError::UnexpectedValue(name) => Syntax::UnexpectedValue(name),
        _ => return None,
    })
}

/// Every slot holds one of the original arguments (by address), and the first `operands`
/// slots are exactly the reference's operands, in order.
fn check_arguments(words: &[CString], arguments: &[&CStr], operands: Option<&[usize]>) {
    assert_eq!(
        arguments.len(),
        words.len(),
        "the argument slice changed length"
    );
    for (slot, argument) in arguments.iter().enumerate() {
        assert!(
            words
                .iter()
                .any(|word| std::ptr::eq(word.as_c_str(), *argument)),
            "slot {slot} holds {argument:?}, which is none of the arguments"
        );
    }
    if let Some(operands) = operands {
        let front: Vec<*const CStr> = arguments[..operands.len()]
            .iter()
            .map(|argument| *argument as *const CStr)
            .collect();
        let want: Vec<*const CStr> = operands
            .iter()
            .map(|&index| words[index].as_c_str() as *const CStr)
            .collect();
        assert_eq!(front, want, "operands not gathered in order at the front");
    }
}

/// `ucw-daemonize`'s table through the bare scanner, which stops at the first operand.
fn scan_like_daemonize(words: &[CString]) {
    let mut arguments: Vec<&CStr> = words.iter().map(CString::as_c_str).collect();
    let reference = reference_scan(DAEMONIZE_OPTIONS, words, false);
    let mut scanner = Scanner::new(DAEMONIZE_OPTIONS, &mut arguments, false);
    let mut found = Vec::new();
    let outcome = loop {
        match scanner.next_option() {
            Ok(Some(option)) => {
                let takes_value = DAEMONIZE_OPTIONS.takes_value(option.index);
                let name = String::from_utf8_lossy(DAEMONIZE_OPTIONS.name(option.index));
                assert_eq!(option.value.is_some(), takes_value, "{name}");
                found.push((option.index, option.value.map(CStr::to_bytes)));
                assert!(found.len() <= words.len(), "more options than arguments");
            }
            Ok(None) => break Ok(scanner.operands()),
            Err(error) => break Err(error),
        }
    };
    assert_eq!(found, reference.options, "options found");
    match outcome {
        Ok(count) => {
            assert_eq!(reference.error, None, "the scanner missed a syntax error");
            assert_eq!(count, reference.operands.len(), "operand count");
            check_arguments(words, &arguments, Some(&reference.operands));
        }
        Err(error) => {
            assert_eq!(syntax_of(&error), reference.error, "syntax error");
            check_arguments(words, &arguments, None);
        }
    }
}

/// `parse_seconds`' rules: decimal seconds up to `u32::MAX`, optionally a point and one to
/// nine digits.
fn reference_seconds(text: &[u8]) -> Option<Duration> {
    let (whole, fraction) = match text.iter().position(|&byte| byte == b'.') {
        Some(point) => (&text[..point], Some(&text[point + 1..])),
        None => (text, None),
    };
    let digits = |part: &[u8]| !part.is_empty() && part.iter().all(u8::is_ascii_digit);
    if !digits(whole) {
        return None;
    }
    let significant = std::str::from_utf8(whole).ok()?.trim_start_matches('0');
    if significant.len() > 10 {
        return None;
    }
    let seconds: u64 = if significant.is_empty() {
        0
    } else {
        significant.parse().ok()?
    };
    if seconds > u64::from(u32::MAX) {
        return None;
    }
    let nanoseconds = match fraction {
        None => 0,
        Some(part) if digits(part) && part.len() <= 9 => {
            let padded = format!("{:0<9}", std::str::from_utf8(part).ok()?);
            padded.parse().ok()?
        }
        Some(_) => return None,
    };
    Some(Duration::new(seconds, nanoseconds))
}

/// The last value given for option `name` in the reference's options.
fn last_value<'a>(scan: &Scan<'a>, name: &str) -> Option<&'a [u8]> {
    scan.options
        .iter()
        .rev()
        .find(|(index, _)| CONTROL_OPTIONS.name(*index) == name.as_bytes())
        .and_then(|(_, value)| *value)
}

fn given(scan: &Scan<'_>, name: &str) -> bool {
    scan.options
        .iter()
        .any(|(index, _)| CONTROL_OPTIONS.name(*index) == name.as_bytes())
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let permute = flags & 1 == 0;
    let words: Vec<CString> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split(|&byte| byte == 0)
            .map(|word| CString::new(word).unwrap())
            .collect()
    };
    for word in &words {
        assert_eq!(
            parse_seconds(word.as_bytes()),
            reference_seconds(word.as_bytes()),
            "parse_seconds({word:?})"
        );
    }
    scan_like_daemonize(&words);

    let reference = reference_scan(CONTROL_OPTIONS, &words, permute);
    let mut arguments: Vec<&CStr> = words.iter().map(CString::as_c_str).collect();
    let mut guard = [0u8; PATH_CAPACITY];
    let result = parse_control(&mut arguments, permute, &mut guard);
    match result {
        Ok(ControlInvocation::Run(request)) => {
            assert_eq!(reference.error, None, "parsed despite a syntax error");
            assert!(
                !given(&reference, "help") && !given(&reference, "version"),
                "--help/--version not acted upon"
            );
            assert_eq!(request.command, reference.operands.len(), "operand count");
            check_arguments(&words, &arguments, Some(&reference.operands));
            let launches = matches!(request.action, Action::Start | Action::Restart);
            assert_eq!(
                launches,
                request.command > 0,
                "command with {:?}",
                request.action
            );
            let pid_file = last_value(&reference, "pid-file").expect("a PID file was given");
            assert_eq!(request.pid_file.to_bytes(), pid_file);
            assert!(!request.pid_file.is_empty());
            match last_value(&reference, "guard-file") {
                Some(guard_file) => assert_eq!(request.guard_file.to_bytes(), guard_file),
                None => {
                    let stem = pid_file
                        .strip_suffix(b".pid")
                        .expect("guard derived from X.pid");
                    assert_eq!(request.guard_file.to_bytes(), [stem, b".lock"].concat());
                }
            }
            assert!(!request.guard_file.is_empty());
            assert_eq!(request.verbose, given(&reference, "verbose"));
            assert_eq!(request.escalate, given(&reference, "kill-after-timeout"));
            assert_eq!(
                request.timeout,
                last_value(&reference, "timeout").map(|text| reference_seconds(text).unwrap())
            );
            assert_eq!(
                request.signal,
                last_value(&reference, "signal").map(|text| Signal::parse(text).unwrap())
            );
            assert_ne!(request.signal, Some(Signal::STOP), "--signal STOP accepted");
            if request.escalate {
                assert!(matches!(request.action, Action::Stop | Action::Restart));
                assert!(request.timeout.is_some());
            }
        }
        Ok(ControlInvocation::Help | ControlInvocation::Version) => {
            assert!(
                given(&reference, "help") || given(&reference, "version"),
                "help or version without --help or --version"
            );
            check_arguments(&words, &arguments, None);
        }
        Err(error) => {
            if let Some(syntax) = syntax_of(&error) {
                assert_eq!(Some(syntax), reference.error, "not the first syntax error");
            }
            check_arguments(&words, &arguments, None);
            let mut message = [0u8; 1024];
            let length = error.describe(&mut message);
            assert!(length > 0, "{error:?} has no message");
        }
    }
});
