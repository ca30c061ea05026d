//! Fuzzes `Signal::parse`: never panics, only yields signals 1–64, ignores ASCII case, and
//! agrees with the names and numbers it prints (every parsed signal's number and name parse
//! back to it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ucw_daemon::signal::Signal;

fuzz_target!(|data: &[u8]| {
    let parsed = Signal::parse(data);
    if let Some(signal) = parsed {
        let number = signal.number();
        assert!((1..=64).contains(&number), "{data:?} gave signal {number}");
        assert_eq!(Signal::parse(number.to_string().as_bytes()), Some(signal));
        if let Some(name) = signal.name() {
            assert_eq!(Signal::parse(name.as_bytes()), Some(signal));
            assert_eq!(Signal::parse(format!("SIG{name}").as_bytes()), Some(signal));
        }
    }
    assert_eq!(Signal::parse(&data.to_ascii_uppercase()), parsed, "case of {data:?}");
    assert_eq!(Signal::parse(&data.to_ascii_lowercase()), parsed, "case of {data:?}");
});
