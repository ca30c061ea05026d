//! Unit tests of `signal` (left out of the published package): its private behaviour checked
//! in isolation; they must never touch files or processes outside a test's own.

use super::*;

#[test]
fn names_and_numbers() {
    assert_eq!(Signal::parse(b"TERM"), Some(Signal::TERM));
    assert_eq!(Signal::parse(b"sigterm"), Some(Signal::TERM));
    assert_eq!(Signal::parse(b"SIGHUP"), Some(Signal::HUP));
    assert_eq!(Signal::parse(b"15"), Some(Signal::TERM));
    assert_eq!(Signal::parse(b"64").map(Signal::number), Some(64));
    assert_eq!(Signal::parse(b"RTMIN+2").map(Signal::number), Some(34));
    assert_eq!(Signal::parse(b"RTMAX-1").map(Signal::number), Some(63));
    assert_eq!(Signal::parse(b"RTMIN").map(Signal::number), Some(32));
    for bad in [
        &b""[..],
        b"0",
        b"65",
        b"-1",
        b"SIG",
        b"TERMX",
        b"RTMIN+33",
        b"RTMAX-33",
        b"RTMIN-1",
        b"1x",
        b"+1",
    ] {
        assert_eq!(Signal::parse(bad), None, "{bad:?}");
    }
    assert_eq!(Signal::TERM.name(), Some("TERM"));
    assert_eq!(Signal::from_number(40).unwrap().name(), None);
}

#[test]
fn sets_never_hold_the_libc_signals() {
    let set = SignalSet::EMPTY
        .with(Signal::TERM)
        .with(Signal::from_number(33).unwrap());
    assert!(set.contains(Signal::TERM));
    assert_eq!(set.mask(), 1 << 14);
    assert!(!SignalSet::ALL_CATCHABLE.contains(Signal::KILL));
    assert!(!SignalSet::ALL_CATCHABLE.contains(Signal::STOP));
    assert!(SignalSet::ALL_CATCHABLE.contains(Signal::from_number(35).unwrap()));
    assert_eq!(SignalSet::ALL_CATCHABLE.mask(), SignalSet::ALL_CATCHABLE.0);
}

#[test]
fn every_name_round_trips() {
    assert_eq!(names().count(), 31);
    for number in 1..=31 {
        let signal = Signal::from_number(number).unwrap();
        let name = signal.name().unwrap();
        assert!(!name.is_empty(), "{number}");
        assert_eq!(Signal::parse(name.as_bytes()), Some(signal), "{name}");
    }
    assert_eq!(Signal::from_number(31).unwrap().name(), Some("SYS"));
    assert_eq!(Signal::KILL.name(), Some("KILL"));
}
