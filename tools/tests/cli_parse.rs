//! The command-line parser (`ucw_daemon_tools::cli::options` and `ucw_daemon_tools::cli::control`)
//! as plain code: GNU getopt_long's prefixes, ambiguity, `=`, permutation and `--`, and
//! `ucw-daemon-control`'s semantic rules.

use std::ffi::CStr;
use std::time::Duration;
use ucw_daemon::control::Action;
use ucw_daemon::signal::Signal;
use ucw_daemon_tools::cli::control::{
    derive_guard_file, parse_control, ControlInvocation, ControlRequest, CONTROL_OPTIONS,
    PATH_CAPACITY,
};
use ucw_daemon_tools::cli::options::{parse_seconds, Found, Options, Scanner, UsageError};

/// Owned NUL-terminated copies of `words`, to build `&CStr` argument vectors from.
fn owned(words: &[&str]) -> Vec<std::ffi::CString> {
    words
        .iter()
        .map(|word| std::ffi::CString::new(*word).unwrap())
        .collect()
}

/// Parses `words` as `ucw-daemon-control`'s arguments; returns the outcome (with owned
/// strings) and the operands the parse gathered at the front (the daemon's command).
fn control(words: &[&str]) -> (Result<Parsed, String>, Vec<String>) {
    control_with(words, true)
}

#[derive(Debug, PartialEq)]
enum Parsed {
    Help,
    Version,
    Run {
        action: Action,
        pid_file: String,
        guard_file: String,
        signal: Option<u32>,
        timeout: Option<Duration>,
        escalate: bool,
        verbose: bool,
    },
}

/// A usage error's message, as the tool prints it after `<program>: `.
fn describe(error: &UsageError<'_>) -> String {
    let mut buffer = [0u8; 1024];
    let length = error.describe(&mut buffer);
    String::from_utf8(buffer[..length].to_vec()).unwrap()
}

fn control_with(words: &[&str], permute: bool) -> (Result<Parsed, String>, Vec<String>) {
    let storage = owned(words);
    let mut arguments: Vec<&CStr> = storage.iter().map(|text| text.as_c_str()).collect();
    let mut guard = [0u8; PATH_CAPACITY];
    let text = |value: &CStr| value.to_str().unwrap().to_string();
    let result = parse_control(&mut arguments, permute, &mut guard);
    let mut operands = Vec::new();
    let parsed = match result {
        Ok(ControlInvocation::Help) => Ok(Parsed::Help),
        Ok(ControlInvocation::Version) => Ok(Parsed::Version),
        Ok(ControlInvocation::Run(ControlRequest {
            action,
            pid_file,
            guard_file,
            signal,
            timeout,
            escalate,
            verbose,
            command,
            ..
        })) => {
            operands = arguments[..command].iter().map(|arg| text(arg)).collect();
            Ok(Parsed::Run {
                action,
                pid_file: text(pid_file),
                guard_file: text(guard_file),
                signal: signal.map(Signal::number),
                timeout,
                escalate,
                verbose,
            })
        }
        Err(error) => Err(describe(&error)),
    };
    (parsed, operands)
}

fn run(action: Action, pid_file: &str, guard_file: &str) -> Parsed {
    Parsed::Run {
        action,
        pid_file: pid_file.into(),
        guard_file: guard_file.into(),
        signal: None,
        timeout: None,
        escalate: false,
        verbose: false,
    }
}

fn error_of(words: &[&str]) -> String {
    match control(words).0 {
        Err(message) => message,
        Ok(parsed) => panic!("{words:?} parsed as {parsed:?}, expected a usage error"),
    }
}

#[test]
fn basic_actions_and_default_guard() {
    for (flag, action) in [
        ("--stop", Action::Stop),
        ("--check", Action::Check),
        ("--reload", Action::Signal),
    ] {
        assert_eq!(
            control(&[flag, "--pid-file", "/run/d.pid"]),
            (Ok(run(action, "/run/d.pid", "/run/d.lock")), vec![])
        );
    }
    assert_eq!(
        control(&["--start", "--pid-file=/run/d.pid", "--", "sleep", "10"]),
        (
            Ok(run(Action::Start, "/run/d.pid", "/run/d.lock")),
            vec!["sleep".to_string(), "10".to_string()]
        )
    );
}

#[test]
fn explicit_guard_file_and_guard_rules() {
    assert_eq!(
        control(&["--check", "--pid-file", "/run/d", "--guard-file", "/run/g"]).0,
        Ok(run(Action::Check, "/run/d", "/run/g"))
    );
    assert_eq!(
        error_of(&["--check", "--pid-file", "/run/daemon"]),
        "For automatic choice of --guard-file, the --pid-file must end with `.pid'"
    );
    // `.pid` alone: LibUCW's rule gives `.lock`.
    assert_eq!(
        control(&["--check", "--pid-file", ".pid"]).0,
        Ok(run(Action::Check, ".pid", ".lock"))
    );
    assert_eq!(
        error_of(&["--check", "--pid-file="]),
        "option '--pid-file' needs a non-empty value",
        "an empty PID file name is refused"
    );
    assert_eq!(
        error_of(&["--check", "--pid-file=x.pid", "--guard-file="]),
        "option '--guard-file' needs a non-empty value"
    );
    // The same for an empty value given as the next argument.
    assert_eq!(
        error_of(&["--check", "--pid-file", ""]),
        "option '--pid-file' needs a non-empty value"
    );
    let mut buffer = [0u8; PATH_CAPACITY];
    let long = std::ffi::CString::new("a".repeat(PATH_CAPACITY - 5) + ".pid").unwrap();
    assert_eq!(
        derive_guard_file(&long, &mut buffer),
        Err(UsageError::PathTooLong)
    );
    let fits = std::ffi::CString::new("a".repeat(PATH_CAPACITY - 6) + ".pid").unwrap();
    assert_eq!(
        derive_guard_file(&fits, &mut buffer)
            .unwrap()
            .to_bytes()
            .len(),
        PATH_CAPACITY - 1
    );
}

#[test]
fn unambiguous_prefixes_and_exact_match() {
    assert_eq!(
        control(&["--che", "--pid", "x.pid"]).0,
        Ok(run(Action::Check, "x.pid", "x.lock"))
    );
    assert_eq!(
        control(&["--rel", "--p=x.pid", "--g=y"]).0,
        Ok(run(Action::Signal, "x.pid", "y"))
    );
    // `--st` fits `--start` and `--stop`; `--s` also `--signal`.
    assert_eq!(
        error_of(&["--st", "--pid-file", "x.pid"]),
        "option '--st' is ambiguous; possibilities: '--start' '--stop'"
    );
    assert_eq!(
        error_of(&["--s=1", "--pid-file", "x.pid"]),
        "option '--s=1' is ambiguous; possibilities: '--start' '--stop' '--signal'"
    );
    // An exact name wins over the longer names it is a prefix of.
    const TABLE: Options = ucw_daemon_tools::options!["user-name", "user"];
    let storage = owned(&["--user", "--user-"]);
    let mut arguments: Vec<&CStr> = storage.iter().map(|text| text.as_c_str()).collect();
    let mut scanner = Scanner::new(TABLE, &mut arguments, true);
    assert_eq!(
        scanner.next_option(),
        Ok(Some(Found {
            index: 1,
            value: None
        }))
    );
    assert_eq!(
        scanner.next_option(),
        Ok(Some(Found {
            index: 0,
            value: None
        }))
    );
    assert_eq!(scanner.next_option(), Ok(None));
}

#[test]
fn unknown_short_and_malformed_options() {
    assert_eq!(
        error_of(&["--check", "--pid-file=x.pid", "--bogus"]),
        "unrecognized option '--bogus'"
    );
    assert_eq!(
        error_of(&["--check", "--pid-file=x.pid", "--=x"]),
        "unrecognized option '--=x'"
    );
    assert_eq!(error_of(&["-p", "x.pid"]), "invalid option -- 'p'");
    assert_eq!(
        error_of(&["--check=yes", "--pid-file=x.pid"]),
        "option '--check' doesn't allow an argument"
    );
}

#[test]
fn values_with_equals_next_argument_and_missing() {
    assert_eq!(
        error_of(&["--check", "--pid-file"]),
        "option '--pid-file' requires an argument"
    );
    // Like getopt_long, a required value is taken from the next argument whatever it is.
    assert_eq!(
        control(&["--check", "--pid-file", "--stop.pid"]).0,
        Ok(run(Action::Check, "--stop.pid", "--stop.lock"))
    );
    // `=` keeps everything after the first `=`, even another `=`.
    assert_eq!(
        control(&["--check", "--pid-file=a=b.pid"]).0,
        Ok(run(Action::Check, "a=b.pid", "a=b.lock"))
    );
    // The last value of a repeated option wins (getopt_long, LibUCW).
    assert_eq!(
        control(&["--check", "--pid-file=a.pid", "--pid-file=b.pid"]).0,
        Ok(run(Action::Check, "b.pid", "b.lock"))
    );
}

#[test]
fn permutation_like_getopt_long() {
    // Operands before, between and after options are gathered (in order) as the command.
    let (parsed, operands) = control(&["prog", "--start", "arg1", "--pid-file", "x.pid", "arg2"]);
    assert_eq!(parsed, Ok(run(Action::Start, "x.pid", "x.lock")));
    assert_eq!(operands, ["prog", "arg1", "arg2"]);
    // `--` ends the options: what follows is the command, options included.
    let (parsed, operands) = control(&["sh", "--start", "--", "-c", "--stop", "--", "x"]);
    assert_eq!(parsed, Err("--pid-file is required".to_string()));
    assert!(operands.is_empty());
    let (parsed, operands) = control(&[
        "sh",
        "--pid-file=x.pid",
        "--start",
        "--",
        "-c",
        "--stop",
        "--",
        "x",
    ]);
    assert_eq!(parsed, Ok(run(Action::Start, "x.pid", "x.lock")));
    assert_eq!(operands, ["sh", "-c", "--stop", "--", "x"]);
    // Without `--`, an option-looking daemon argument is an option (as with LibUCW): one
    // the tool does not know is an error, one it knows is the tool's.
    assert_eq!(
        error_of(&["--start", "--pid-file=x.pid", "daemon", "--foreground"]),
        "unrecognized option '--foreground'"
    );
    let (parsed, operands) = control(&["--start", "--pid-file=x.pid", "daemon", "--verbose"]);
    assert_eq!(
        parsed,
        Ok(Parsed::Run {
            action: Action::Start,
            pid_file: "x.pid".into(),
            guard_file: "x.lock".into(),
            signal: None,
            timeout: None,
            escalate: false,
            verbose: true,
        })
    );
    assert_eq!(operands, ["daemon"]);
    // `-` and the empty string are operands.
    let (parsed, operands) = control(&["--start", "-", "--pid-file=x.pid", ""]);
    assert_eq!(parsed, Ok(run(Action::Start, "x.pid", "x.lock")));
    assert_eq!(operands, ["-", ""]);
}

#[test]
fn posixly_correct_stops_at_the_first_operand() {
    let (parsed, operands) = control_with(
        &["--start", "--pid-file=x.pid", "daemon", "--verbose"],
        false,
    );
    assert_eq!(parsed, Ok(run(Action::Start, "x.pid", "x.lock")));
    assert_eq!(operands, ["daemon", "--verbose"]);
    let (parsed, _) = control_with(&["daemon", "--start", "--pid-file=x.pid"], false);
    assert_eq!(
        parsed,
        Err("one of --start --stop --restart --check --reload is required".into())
    );
}

#[test]
fn action_rules() {
    assert_eq!(
        error_of(&["--pid-file=x.pid"]),
        "one of --start --stop --restart --check --reload is required"
    );
    assert_eq!(
        error_of(&["--start", "--stop", "--pid-file=x.pid", "d"]),
        "only one action may be given"
    );
    // Repeating the same action is harmless.
    assert_eq!(
        control(&["--stop", "--stop", "--pid-file=x.pid"]).0,
        Ok(run(Action::Stop, "x.pid", "x.lock"))
    );
    assert_eq!(error_of(&["--check"]), "--pid-file is required");
    assert_eq!(
        error_of(&["--start", "--pid-file=x.pid"]),
        "--start needs the daemon's command"
    );
    assert_eq!(
        error_of(&["--start", "--pid-file=x.pid", "--"]),
        "--start needs the daemon's command"
    );
    assert_eq!(
        error_of(&["--stop", "--pid-file=x.pid", "extra"]),
        "unexpected argument 'extra'"
    );
}

#[test]
fn help_and_version_act_when_seen() {
    assert_eq!(control(&["--help"]).0, Ok(Parsed::Help));
    assert_eq!(control(&["--he", "--bogus"]).0, Ok(Parsed::Help));
    assert_eq!(control(&["--vers"]).0, Ok(Parsed::Version));
    assert_eq!(
        control(&["--bogus", "--help"]).0,
        Err("unrecognized option '--bogus'".into())
    );
}

#[test]
fn signals_by_name_and_number() {
    for (text, number) in [
        ("TERM", 15),
        ("SIGTERM", 15),
        ("sigusr1", 10),
        ("9", 9),
        ("RTMIN+1", 33),
    ] {
        let signal_option = format!("--signal={text}");
        let (parsed, _) = control(&["--stop", "--pid-file=x.pid", &signal_option]);
        match parsed {
            Ok(Parsed::Run { signal, .. }) => assert_eq!(signal, Some(number), "{text}"),
            other => panic!("{text}: {other:?}"),
        }
    }
    assert_eq!(
        error_of(&["--reload", "--pid-file=x.pid", "--signal", "FOO"]),
        "Unknown signal 'FOO'"
    );
    assert_eq!(
        error_of(&["--reload", "--pid-file=x.pid", "--signal=0"]),
        "Unknown signal '0'"
    );
    // LibUCW accepts (and ignores) --signal with --check.
    assert!(control(&["--check", "--pid-file=x.pid", "--signal=HUP"])
        .0
        .is_ok());
}

#[test]
fn timeout_and_escalation() {
    let (parsed, _) = control(&[
        "--stop",
        "--pid-file=x.pid",
        "--timeout",
        "0.5",
        "--kill-after-timeout",
    ]);
    assert_eq!(
        parsed,
        Ok(Parsed::Run {
            action: Action::Stop,
            pid_file: "x.pid".into(),
            guard_file: "x.lock".into(),
            signal: None,
            timeout: Some(Duration::from_millis(500)),
            escalate: true,
            verbose: false,
        })
    );
    // `--restart` stops first, so it may escalate too.
    let (parsed, operands) = control(&[
        "--restart",
        "--pid-file=x.pid",
        "--timeout=2",
        "--kill-after-timeout",
        "daemon",
    ]);
    assert_eq!(
        parsed,
        Ok(Parsed::Run {
            action: Action::Restart,
            pid_file: "x.pid".into(),
            guard_file: "x.lock".into(),
            signal: None,
            timeout: Some(Duration::from_secs(2)),
            escalate: true,
            verbose: false,
        })
    );
    assert_eq!(operands, ["daemon"]);
    assert_eq!(
        error_of(&["--stop", "--pid-file=x.pid", "--timeout=soon"]),
        "invalid --timeout 'soon'"
    );
    assert_eq!(
        error_of(&["--stop", "--pid-file=x.pid", "--kill-after-timeout"]),
        "--kill-after-timeout needs --stop or --restart, and --timeout"
    );
    assert_eq!(
        error_of(&["--check", "--pid-file=x.pid", "--timeout=1", "--kill"]),
        "--kill-after-timeout needs --stop or --restart, and --timeout"
    );
}

#[test]
fn seconds_parsing() {
    assert_eq!(parse_seconds(b"0"), Some(Duration::ZERO));
    assert_eq!(parse_seconds(b"5"), Some(Duration::from_secs(5)));
    assert_eq!(parse_seconds(b"0.5"), Some(Duration::from_millis(500)));
    assert_eq!(parse_seconds(b"2.125"), Some(Duration::from_millis(2125)));
    assert_eq!(parse_seconds(b"1.000000001"), Some(Duration::new(1, 1)));
    assert_eq!(
        parse_seconds(b"4294967295"),
        Some(Duration::from_secs(4_294_967_295))
    );
    for bad in [
        &b""[..],
        b".5",
        b"5.",
        b"1.0000000001",
        b"-1",
        b"+1",
        b"1e3",
        b"1,5",
        b"4294967296",
        b" 1",
        b"1.2.3",
    ] {
        assert_eq!(
            parse_seconds(bad),
            None,
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn option_table_has_no_duplicate_or_prefix_trouble() {
    // Every full name must resolve to itself (no name is ambiguous with another).
    for (index, option) in CONTROL_OPTIONS.iter().enumerate() {
        let word = format!("--{}", String::from_utf8_lossy(option.name));
        let storage = owned(&[&word, "value"]);
        let mut arguments: Vec<&CStr> = storage.iter().map(|text| text.as_c_str()).collect();
        let mut scanner = Scanner::new(CONTROL_OPTIONS, &mut arguments, true);
        assert_eq!(scanner.next_option().unwrap().unwrap().index, index);
    }
}

#[test]
fn arbitrary_input_never_panics() {
    // A small deterministic fuzz: random words from an alphabet of option fragments.
    let pieces = [
        "--",
        "-",
        "--start",
        "--st",
        "--pid-file",
        "--pid-file=",
        "x.pid",
        "--signal",
        "=",
        "--timeout",
        "0.",
        "--kill",
        "--help",
        "",
        "a",
        "--guard-file",
        "--reload",
        "-x",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..5000 {
        let mut words = Vec::new();
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let count = (state % 7) as usize;
        for _ in 0..count {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            words.push(pieces[(state % pieces.len() as u64) as usize]);
        }
        let (parsed, operands) = control(&words);
        if let Ok(Parsed::Run { action, .. }) = parsed {
            let launches = matches!(action, Action::Start | Action::Restart);
            assert_eq!(launches, !operands.is_empty(), "{words:?}");
        }
    }
}

#[test]
fn a_huge_command_line_is_parsed_in_linear_time() {
    use std::ffi::CString;
    use std::time::Instant;
    // 80,000 operands and 80,000 options, interleaved: the old permutation rotated the
    // operands once per option (quadratic: 4.5 s in a release build, minutes in this one).
    let words: Vec<CString> = (0..80_000)
        .flat_map(|index| {
            [
                CString::new(format!("word{index}")).unwrap(),
                CString::new("--check").unwrap(),
            ]
        })
        .chain([CString::new("--pid-file=/run/x.pid").unwrap()])
        .collect();
    let mut arguments: Vec<&std::ffi::CStr> = words.iter().map(CString::as_c_str).collect();
    let mut guard = [0u8; PATH_CAPACITY];
    let began = Instant::now();
    let parsed = parse_control(&mut arguments, true, &mut guard);
    let took = began.elapsed();
    // --check with operands is a usage error; what matters is how fast it is found, and that
    // the operands were gathered in order.
    assert!(!matches!(parsed, Ok(ControlInvocation::Run(_))));
    assert_eq!(arguments[0].to_bytes(), b"word0");
    assert_eq!(arguments[79_999].to_bytes(), b"word79999");
    assert!(took < Duration::from_secs(10), "{took:?}");
}
