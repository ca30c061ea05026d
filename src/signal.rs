//! Signals: numbers and names (`TERM`, `SIGTERM`, `15`, `RTMIN+3` all name a [`Signal`]), sets
//! of them, and what a daemon body needs to wait for them without handlers: [`block`] and a
//! signalfd reader, [`Signals`].
//!
//! This module owns the mapping between names and numbers (Linux x86_64/aarch64 numbering,
//! which agree), the typed face of the signal mask, and the reset of a child's signals before
//! it execs (learned from `/proc/self/status`: only what differs from the defaults is reset).
//! It must never send a signal (that is `control`'s business) and never block or reset the
//! signals C libraries reserve for themselves (32–34) in a process that goes on running: the
//! library also runs in processes that have a libc (a child about to exec is replaced whole,
//! so its reset covers them too).

use crate::sys;
use crate::text::{packed_field, parse_decimal, parse_hex};
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

/// A signal number, 1–64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signal(u8);

/// Names of signals 1–31, each followed by a NUL, in numeric order (x86_64 and aarch64
/// agree): one packed ASCII string rather than 31 string references of 16 bytes each.
const NAMES: &[u8] = b"HUP\0INT\0QUIT\0ILL\0TRAP\0ABRT\0BUS\0FPE\0KILL\0USR1\0SEGV\0USR2\0\
    PIPE\0ALRM\0TERM\0STKFLT\0CHLD\0CONT\0STOP\0TSTP\0TTIN\0TTOU\0URG\0\
    XCPU\0XFSZ\0VTALRM\0PROF\0WINCH\0IO\0PWR\0SYS\0";

/// The names in [`NAMES`], signal 1 first.
fn names() -> impl Iterator<Item = &'static [u8]> {
    (0..31).map_while(|index| packed_field(NAMES, index))
}

/// First real-time signal number as the kernel counts (glibc reserves 32 and 33 and calls
/// 34 `SIGRTMIN`; we follow the kernel: `RTMIN` = 32, as `kill -l` on musl does).
const RTMIN: u32 = 32;
const RTMAX: u32 = 64;

impl TryFrom<u32> for Signal {
    type Error = Errno;

    /// The signal numbered `number`; EINVAL unless it is 1–64 (as `kill(2)` says).
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

    /// The signal numbered `number`, if it is 1–64 (`Signal::try_from(number)` outside).
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

    /// Parses a number (`15`), a name with or without `SIG` (`TERM`, `SIGTERM`, any case),
    /// or `RTMIN`, `RTMIN+n`, `RTMAX`, `RTMAX-n`.
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

    /// Every signal a process may block or read: all but SIGKILL, SIGSTOP and the ones C
    /// libraries reserve (32–34). For a supervisor that forwards everything.
    pub const ALL_CATCHABLE: Self =
        Self(!((1u64 << (Signal::KILL.0 - 1)) | (1u64 << (Signal::STOP.0 - 1)) | (0b111u64 << 31)));

    /// The set with `signal` added.
    pub const fn with(self, signal: Signal) -> Self {
        Self(self.0 | 1u64 << (signal.0 - 1))
    }

    /// Whether `signal` is in the set.
    #[cfg(test)]
    const fn contains(self, signal: Signal) -> bool {
        self.0 & (1u64 << (signal.0 - 1)) != 0
    }

    /// The set without the signals C libraries reserve (32–34), as the kernel takes it.
    pub(crate) const fn mask(self) -> u64 {
        self.0 & !(0b111u64 << 31)
    }
}

/// `rt_sigprocmask(SIG_BLOCK)`: adds `set` to the calling thread's blocked signals, so that
/// they wait (for a [`Signals`] reader) instead of running their default action. The
/// signals C libraries reserve (32–34) are never blocked. Block before forking the daemon,
/// and a signal sent while it starts is queued for its body.
///
/// # References
/// [sigprocmask(2)](https://man7.org/linux/man-pages/man2/sigprocmask.2.html)
pub fn block(set: SignalSet) -> Result<(), Errno> {
    sys::signal_mask(sys::MaskChange::Block, set.mask()).map(|_| ())
}

/// In a child about to exec a program (after `fork`, before `execve`): the default action for
/// every signal whose disposition is not the default (the C libraries' 32–34 too: the process
/// is replaced next), and an empty signal mask. Without it, a handler of the parent could run
/// in the child before the exec, and signals ignored or blocked here would stay so in the
/// program (the kernel resets handlers at `execve`, but keeps what is ignored or blocked).
///
/// Which signals need it is read from `/proc/self/status` (`SigIgn`, `SigCgt`, `SigBlk`) in
/// one `open` and `read`; its descriptor is close-on-exec and left to the `execve` (or to the
/// exit after a failed one), so call this right before `execve`. Where `/proc/self` does not
/// resolve (no `/proc`, or the `/proc` of a PID namespace that cannot see us), every signal is
/// reset one by one and the mask emptied.
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

/// In a daemon about to run its body ([`RESET_SIGNALS`](crate::daemon::Flags::RESET_SIGNALS)):
/// every disposition back to its default, one by one, except that a process with a C library
/// (`hosted`) keeps that library's signals (32–34), and an empty mask. (Not learned from
/// `/proc` as [`reset_for_exec`] does: it runs once in a daemon's life, and the reader would
/// cost every small daemon its bytes.)
pub(crate) fn reset_in_daemon(hosted: bool) -> Result<(), Errno> {
    sys::reset_signal_dispositions(if hosted { !LIBC_SIGNALS } else { u64::MAX });
    sys::signal_mask(sys::MaskChange::Replace, 0).map(|_| ())
}

/// The signals C libraries reserve (32–34), as a mask.
const LIBC_SIGNALS: u64 = 0b111 << 31;

/// What `/proc/self/status` shows of the calling process's signals.
#[derive(Clone, Copy)]
struct SignalState {
    /// `SigBlk`: the blocked signals (of the thread that reads, the only one of a child).
    blocked: u64,
    /// `SigIgn | SigCgt`: the ignored and the caught signals, every disposition that is not
    /// the default.
    not_default: u64,
}

impl SignalState {
    /// Reads the three masks in one `open` and (usually) one `read`; `None` when
    /// `/proc/self/status` cannot be opened or lacks one of them. The descriptor is left open
    /// (close-on-exec): only a child about to exec reads them.
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
        // Close-on-exec: the caller's `execve` closes it (or its exit, after a failed one).
        core::mem::forget(fd);
        Some(Self {
            blocked: masks[0]?,
            not_default: masks[1]? | masks[2]?,
        })
    }
}

/// `rt_sigaction(signal, SIG_DFL)`: the default action for `signal` again (an inherited
/// "ignore" of SIGCHLD, for one, would make the kernel reap children unseen). The signals C
/// libraries reserve (32–34) are left alone (EINVAL).
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

/// Bytes of one `struct signalfd_siginfo`; the signal number is its first `u32`, `si_code`
/// its third `i32`.
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

    /// One `read` of the signalfd: the signal and its `si_code` (`SI_USER` 0 for `kill`,
    /// `SI_KERNEL` 0x80 for one the kernel sent, such as a terminal's SIGINT to its foreground
    /// process group; see sigaction(2)); `None` when interrupted. A non-blocking reader
    /// ([`AsFd`] for `poll`) after the descriptor said it is readable.
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

/// Whether `left` and `right` are equal ignoring ASCII case. (core's `eq_ignore_ascii_case`
/// is unrolled for speed: ~250 bytes of the tool's budget for a handful of short names.)
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
