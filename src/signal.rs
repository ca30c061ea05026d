//! Signals: names and numbers (`TERM`, `SIGTERM`, `15`, `RTMIN+3`), sets, and waiting without
//! handlers ([`block`], [`Signals`]).
//!
//! This module owns the name–number mapping, the typed mask, and a child's signal reset before
//! exec. It must never send a signal (`control`'s business) nor block or reset the C libraries'
//! signals (32–34) in a process that goes on running.

use crate::sys;
use crate::text::{packed_field, parse_decimal, parse_hex};
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

/// A signal number, 1–64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signal(u8);

/// Names of signals 1–31, NUL-terminated, in order: one packed string, not 31 references.
const NAMES: &[u8] = b"HUP\0INT\0QUIT\0ILL\0TRAP\0ABRT\0BUS\0FPE\0KILL\0USR1\0SEGV\0USR2\0\
    PIPE\0ALRM\0TERM\0STKFLT\0CHLD\0CONT\0STOP\0TSTP\0TTIN\0TTOU\0URG\0\
    XCPU\0XFSZ\0VTALRM\0PROF\0WINCH\0IO\0PWR\0SYS\0";

fn names() -> impl Iterator<Item = &'static [u8]> {
    (0..31).map_while(|index| packed_field(NAMES, index))
}

/// First real-time signal as the kernel (and musl's `kill -l`) counts; glibc's `SIGRTMIN` is 34.
const RTMIN: u32 = 32;
const RTMAX: u32 = 64;

impl TryFrom<u32> for Signal {
    type Error = Errno;

    /// EINVAL unless `number` is 1–64 (kill(2)).
    fn try_from(number: u32) -> Result<Self, Errno> {
        Signal::from_number(number).ok_or(Errno::INVAL)
    }
}

impl Signal {
    /// SIGHUP, the default of `--reload` / SIGNAL.
    pub const HUP: Signal = Signal(1);
    /// SIGKILL, used when a stop deadline escalates.
    pub const KILL: Signal = Signal(9);
    /// SIGTERM, the default of STOP.
    pub const TERM: Signal = Signal(15);
    /// SIGCONT, sent after STOP's signal so a stopped daemon can act on it.
    pub(crate) const CONT: Signal = Signal(18);
    /// SIGCHLD, which the supervisor reads to learn that its program ended.
    pub const CHLD: Signal = Signal(17);
    /// SIGSTOP, which no process can catch (a supervisor cannot forward it).
    pub const STOP: Signal = Signal(19);

    /// The signal numbered `number`, if 1–64.
    pub(crate) const fn from_number(number: u32) -> Option<Signal> {
        if number >= 1 && number <= RTMAX {
            Some(Signal(number as u8))
        } else {
            None
        }
    }

    /// The signal's number.
    pub const fn number(self) -> u32 {
        self.0 as u32
    }

    /// Parses a number (`15`), a name with or without `SIG` (any case), or `RTMIN`, `RTMIN+n`,
    /// `RTMAX`, `RTMAX-n`.
    pub fn parse(text: &[u8]) -> Option<Signal> {
        if text.first().is_some_and(u8::is_ascii_digit) {
            return Signal::from_number(parse_decimal(text, RTMAX as u64)? as u32);
        }
        let name = strip_prefix_ignore_case(text, b"SIG").unwrap_or(text);
        if let Some(index) = names().position(|known| same_ignoring_case(known, name)) {
            return Some(Signal(index as u8 + 1));
        }
        for alias in [(&b"IOT"[..], 6u8), (b"POLL", 29), (b"CLD", 17)] {
            if same_ignoring_case(alias.0, name) {
                return Some(Signal(alias.1));
            }
        }
        if let Some(rest) = strip_prefix_ignore_case(name, b"RTMIN") {
            let offset = offset_after(rest, b'+')?;
            return Signal::from_number(RTMIN.checked_add(offset)?)
                .filter(|signal| signal.number() <= RTMAX);
        }
        if let Some(rest) = strip_prefix_ignore_case(name, b"RTMAX") {
            let offset = offset_after(rest, b'-')?;
            return Signal::from_number(RTMAX.checked_sub(offset)?)
                .filter(|signal| signal.number() >= RTMIN);
        }
        None
    }

    /// The name without `SIG` for 1–31 (`TERM`); `None` for real-time signals.
    pub fn name(self) -> Option<&'static str> {
        let name = names().nth((self.0 as usize).checked_sub(1)?)?;
        // SAFETY: `NAMES` is ASCII, cut at NUL bytes (ASCII too).
        Some(unsafe { core::str::from_utf8_unchecked(name) })
    }
}

/// A set of signals (1–64), as a signal mask holds them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignalSet(u64);

impl SignalSet {
    /// The empty set.
    pub const EMPTY: Self = Self(0);

    /// Every signal a process may block or read (not SIGKILL, SIGSTOP, 32–34).
    pub const ALL_CATCHABLE: Self =
        Self(!((1u64 << (Signal::KILL.0 - 1)) | (1u64 << (Signal::STOP.0 - 1)) | (0b111u64 << 31)));

    /// The set with `signal` added.
    pub const fn with(self, signal: Signal) -> Self {
        Self(self.0 | 1u64 << (signal.0 - 1))
    }

    #[cfg(test)]
    const fn contains(self, signal: Signal) -> bool {
        self.0 & (1u64 << (signal.0 - 1)) != 0
    }

    /// The set without 32–34, as the kernel takes it.
    pub(crate) const fn mask(self) -> u64 {
        self.0 & !(0b111u64 << 31)
    }
}

/// `rt_sigprocmask(SIG_BLOCK)`: blocks `set` (never 32–34) in the calling thread so its signals
/// wait for a [`Signals`] reader; blocked before the fork, one sent during startup is queued for
/// the body.
///
/// # References
/// [sigprocmask(2)](https://man7.org/linux/man-pages/man2/sigprocmask.2.html)
pub fn block(set: SignalSet) -> Result<(), Errno> {
    sys::signal_mask(sys::MaskChange::Block, set.mask()).map(|_| ())
}

/// In a child right before `execve`: every signal not at its default back to default (32–34 too)
/// and an empty mask, so no parent handler runs and nothing stays ignored or blocked (`execve`
/// keeps those). Which need it comes from `/proc/self/status` (its close-on-exec descriptor is left
/// to the exec); without it, all are reset.
///
/// # References
/// [sigaction(2)](https://man7.org/linux/man-pages/man2/sigaction.2.html),
/// [sigprocmask(2)](https://man7.org/linux/man-pages/man2/sigprocmask.2.html),
/// [proc_pid_status(5)](https://man7.org/linux/man-pages/man5/proc_pid_status.5.html)
pub fn reset_for_exec() {
    let state = SignalState::read();
    // Dispositions first: a signal unblocked earlier would run the caller's handler here.
    sys::reset_signal_dispositions(state.map_or(u64::MAX, |state| state.not_default));
    if state.is_none_or(|state| state.blocked != 0) {
        let _ = sys::signal_mask(sys::MaskChange::Replace, 0);
    }
}

/// Before a daemon's body ([`RESET_SIGNALS`](crate::daemon::Flags::RESET_SIGNALS)): default
/// dispositions (not 32–34 when `hosted`), empty mask.
pub(crate) fn reset_in_daemon(hosted: bool) -> Result<(), Errno> {
    sys::reset_signal_dispositions(if hosted { !LIBC_SIGNALS } else { u64::MAX });
    sys::signal_mask(sys::MaskChange::Replace, 0).map(|_| ())
}

/// The signals C libraries reserve (32–34), as a mask.
const LIBC_SIGNALS: u64 = 0b111 << 31;

/// What `/proc/self/status` shows of the calling process's signals.
#[derive(Clone, Copy)]
struct SignalState {
    /// `SigBlk` (of the reading thread, a child's only one).
    blocked: u64,
    /// `SigIgn | SigCgt`: every disposition that is not the default.
    not_default: u64,
}

impl SignalState {
    /// The three masks, in one `open` and usually one `read` (the descriptor is left to the exec).
    fn read() -> Option<Self> {
        let fd = rustix::fs::open(
            c"/proc/self/status",
            OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY,
            Mode::empty(),
        )
        .ok()?;
        // In the file's order; SigCgt is the last of them.
        const KEYS: [&[u8]; 3] = [b"SigBlk:", b"SigIgn:", b"SigCgt:"];
        let mut masks = [None; 3];
        let _ = crate::io::for_each_line(fd.as_fd(), true, &mut |line| {
            for (mask, key) in masks.iter_mut().zip(KEYS) {
                if let Some(value) = line.strip_prefix(key) {
                    *mask = parse_hex(value.trim_ascii(), 16);
                }
            }
            masks[2].is_none()
        });
        // Closed by the caller's `execve` (or exit).
        core::mem::forget(fd);
        Some(Self {
            blocked: masks[0]?,
            not_default: masks[1]? | masks[2]?,
        })
    }
}

/// `rt_sigaction(signal, SIG_DFL)` (an inherited ignored SIGCHLD reaps children unseen); 32–34 are
/// EINVAL.
///
/// # References
/// [sigaction(2)](https://man7.org/linux/man-pages/man2/sigaction.2.html)
pub fn set_default_action(signal: Signal) -> Result<(), Errno> {
    if LIBC_SIGNALS & 1 << (signal.0 - 1) != 0 {
        return Err(Errno::INVAL);
    }
    sys::set_default_disposition(signal.number())
}

/// A signalfd: signals of a set, read one at a time as values instead of being handled.
pub struct Signals {
    fd: OwnedFd,
}

/// Bytes of a `struct signalfd_siginfo`: the signal is its first `u32`, `si_code` its third `i32`.
pub(crate) const SIGINFO_SIZE: usize = 128;

impl Signals {
    /// Blocks `set` ([`block`]) and opens a signalfd for it (`signalfd4`, close-on-exec).
    ///
    /// # References
    /// [signalfd(2)](https://man7.org/linux/man-pages/man2/signalfd.2.html)
    pub fn new(set: SignalSet) -> Result<Self, Errno> {
        block(set)?;
        Ok(Self {
            fd: sys::signalfd(set.mask(), false)?,
        })
    }

    /// Waits for the next signal of the set and returns it.
    pub fn wait(&self) -> Result<Signal, Errno> {
        loop {
            if let Some((signal, _code)) = self.read()? {
                return Ok(signal);
            }
        }
    }

    /// One non-blocking `read` (after `poll` said readable): the signal and its `si_code`
    /// (`SI_USER` 0 for `kill`, `SI_KERNEL` 0x80 for the kernel's); `None` when interrupted.
    pub fn read(&self) -> Result<Option<(Signal, i32)>, Errno> {
        let mut record = [0u8; SIGINFO_SIZE];
        match rustix::io::read(&self.fd, &mut record) {
            Ok(SIGINFO_SIZE) => {
                let number = u32::from_ne_bytes([record[0], record[1], record[2], record[3]]);
                let code = i32::from_ne_bytes([record[8], record[9], record[10], record[11]]);
                Ok(Signal::from_number(number).map(|signal| (signal, code)))
            }
            Ok(_) | Err(Errno::INTR) => Ok(None),
            Err(errno) => Err(errno),
        }
    }
}

impl AsFd for Signals {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// ASCII case-insensitive equality (core's is unrolled: ~250 bytes of the tool's budget).
#[inline(never)]
fn same_ignoring_case(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .all(|(a, b)| a.eq_ignore_ascii_case(b))
}

/// `text` without `prefix` (ASCII case-insensitive), if it starts with it.
fn strip_prefix_ignore_case<'t>(text: &'t [u8], prefix: &[u8]) -> Option<&'t [u8]> {
    if text.len() >= prefix.len() && same_ignoring_case(&text[..prefix.len()], prefix) {
        Some(&text[prefix.len()..])
    } else {
        None
    }
}

/// `""` → 0, `"<sign><digits>"` → digits; anything else → `None`.
fn offset_after(rest: &[u8], sign: u8) -> Option<u32> {
    match rest.split_first() {
        None => Some(0),
        Some((&first, digits)) if first == sign => {
            parse_decimal(digits, RTMAX as u64).map(|value| value as u32)
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests;
