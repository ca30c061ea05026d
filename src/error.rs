//! The library's one error type: a 16-byte `Copy` value saying *what* failed (a `Message`, giving
//! [`Error::kind`]), *on what* (a [`Subject`]), *why* (an errno), and a few numbers. No text, no
//! pointer.
//!
//! Words come only at the edge: [`Error::render`] writes the sentence into a caller's fixed buffer
//! (LibUCW's `error_msg[DAEMON_ERR_LEN]`) with names from the [`Context`]: `Cannot open PID file
//! /run/x.pid: EACCES (Permission denied)`. `Display` names subjects by role; [`Error::display`]
//! gives the full line.
//!
//! This module owns the type, its kinds and subjects; wording is `messages.rs` (packed by
//! `phrases.rs`), rendering `render.rs`. It must never allocate, store a name, or use `core::fmt`
//! outside `Display`.

use crate::text::packed_field;
use core::num::NonZeroU64;
use core::time::Duration;
use rustix::io::Errno;

mod messages;
#[cfg(feature = "messages")]
mod phrases;
mod render;

pub(crate) use messages::Message;
#[cfg(feature = "messages")]
use messages::TEMPLATES;
use messages::{CUSTOM, KINDS, MESSAGES};

/// Why an operation failed: kind, subject, errno and numbers, put into words by [`Error::render`].
/// Two machine words, so a `Result` travels in registers:
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Error {
    /// Bits 0–7: a [`Message`], or [`CUSTOM`] plus the caller's code; 8–15: the [`Subject`] plus
    /// one (a niche for `Result<(), Error>`); 16–31: the errno (0: none); 32–63: number 1.
    head: NonZeroU64,
    /// Numbers 2 (bits 0–31) and 3 (bits 32–63).
    tail: u64,
}

pub(crate) type Result<T, E = Error> = core::result::Result<T, E>;

/// What an error is about, by role; its name comes from the [`Context`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
#[non_exhaustive]
pub enum Subject {
    /// Nothing in particular (the daemon, a pipe, the process itself).
    None,
    /// The daemon's PID file.
    PidFile,
    /// The guard file that serialises controllers.
    GuardFile,
    /// The program being started.
    Program,
    /// The user to run as.
    User,
    /// The group to run as.
    Group,
    /// The passwd file (`/etc/passwd`).
    PasswdFile,
    /// The group file (`/etc/group`).
    GroupFile,
    /// The file the daemon's standard output goes to.
    OutputFile,
    /// The file the daemon's standard error goes to.
    ErrorFile,
    /// The socket on which the daemon announces readiness.
    NotifySocket,
    /// The cgroup directory that holds the daemon's processes.
    Cgroup,
    /// The file the supervisor writes the daemon's output to (`ucw-daemonize --log`).
    LogFile,
    #[cfg(feature = "environment")]
    /// The directory the daemon changes its root to (`chroot`).
    RootDirectory,
    #[cfg(feature = "environment")]
    /// The directory the daemon changes to.
    WorkingDirectory,
    #[cfg(feature = "environment")]
    /// A file of environment variables for the daemon's program.
    EnvironmentFile,
}

/// Every [`Subject`], in declaration order (which is their numbering).
const ALL_SUBJECTS: &[Subject] = &[
    Subject::None,
    Subject::PidFile,
    Subject::GuardFile,
    Subject::Program,
    Subject::User,
    Subject::Group,
    Subject::PasswdFile,
    Subject::GroupFile,
    Subject::OutputFile,
    Subject::ErrorFile,
    Subject::NotifySocket,
    Subject::Cgroup,
    Subject::LogFile,
    #[cfg(feature = "environment")]
    Subject::RootDirectory,
    #[cfg(feature = "environment")]
    Subject::WorkingDirectory,
    #[cfg(feature = "environment")]
    Subject::EnvironmentFile,
];

impl Subject {
    /// The subject's role, said when its name is unknown or follows.
    fn role(self) -> &'static [u8] {
        packed_field(SUBJECT_ROLES, self as usize).unwrap_or(b"")
    }
}

/// The role of each [`Subject`], in order.
#[cfg(not(feature = "environment"))]
const SUBJECT_ROLES: &[u8] = b"\0PID file\0guard file\0program\0user\0group\0passwd file\0\
    group file\0output file\0error file\0notification socket\0cgroup\0log file\0";
/// The role of each [`Subject`], in order.
#[cfg(feature = "environment")]
const SUBJECT_ROLES: &[u8] = b"\0PID file\0guard file\0program\0user\0group\0passwd file\0\
    group file\0output file\0error file\0notification socket\0cgroup\0log file\0root directory\0\
    working directory\0environment file\0";

/// Names an error's subjects: the failed call's parameters (`control::Params`, `daemon::Params`) or
/// `()`; and words for a program's own errors ([`Error::custom`]).
pub trait Context {
    /// The caller's name for `subject` (a path, a program, an account name), if it has one.
    fn name(&self, subject: Subject) -> Option<&[u8]>;

    /// The words of the caller's error `code`. With `messages`, a template like the library's: `%s`
    /// the subject (`PID file /run/x.pid`), `%r` its role, `%n` its name, `%P` the PID file's name,
    /// `%1`–`%3` the numbers, `%k1` a signal name, `%o1` octal, `%x1` hex, `%t` numbers 2 and 3 as
    /// seconds and milliseconds; the errno is appended. Without it, a few words (`open`). `None`
    /// (default): `error <code>`.
    fn template(&self, code: u8) -> Option<&[u8]> {
        let _ = code;
        None
    }
}

impl Context for () {
    fn name(&self, _subject: Subject) -> Option<&[u8]> {
        None
    }
}

/// What kind of failure an error is, for programs that react to some of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A system call failed: [`Error::errno`] says why.
    System,
    /// The PID file is locked by another process: the daemon already runs.
    AlreadyRunning,
    /// A file was refused as unsafe (docs/design.md §2); the message says why.
    Refused,
    /// No such user in the passwd file.
    NoSuchUser,
    /// No such group in the group file.
    NoSuchGroup,
    /// A `#uid` that the passwd file does not list was given without a group.
    UserNeedsGroup,
    /// The account entry for the requested user or group is malformed.
    MalformedAccount,
    /// More groups than `NGROUPS_MAX` or the caller's group storage.
    TooManyGroups,
    /// A `#uid` or `#gid` that is not a number from 0 to 4,294,967,294.
    InvalidId,
    /// A user or group name that cannot be one (empty, too long, with a newline).
    InvalidName,
    /// The locked PID file does not contain a valid PID.
    InvalidPid,
    /// The process the PID file names does not hold the lock on it.
    NotLockHolder,
    /// The named process has exited, but other processes of the daemon hold the lock.
    LockedByOthers,
    /// `/proc` belongs to another PID namespace: no proof can be read, so nothing is signalled.
    ForeignProcNamespace,
    /// Something did not happen within the deadline.
    Timeout,
    /// The launched program failed (an exit status, a signal, no locked PID file after it).
    LaunchFailed,
    /// The daemon ended before it reported, confirmed or became ready.
    DaemonEnded,
    /// The credential switch left a way back to the old privileges.
    PrivilegesRemain,
    /// The process has threads, and the operation needs a single-threaded one.
    MultiThreaded,
    /// More arguments, environment entries or bytes than the fixed buffers hold.
    TooLong,
    /// START without a program.
    NoProgram,
    /// A channel between the library's processes carried something unexpected.
    Protocol,
    #[cfg(feature = "environment")]
    /// Unsafe parameters: capabilities that cannot be kept (docs/design.md §6), or a root directory
    /// with `PRESERVE_CWD`.
    InvalidParams,
    /// The daemon's body could not start ([`Error::body_failed`]).
    BodyFailed,
    /// An error the calling program made, with its code ([`Error::custom`]).
    Custom(u8),
}

impl Subject {
    /// The subject numbered `number`, if there is one.
    fn from_number(number: u8) -> Option<Subject> {
        ALL_SUBJECTS.get(usize::from(number)).copied()
    }
}

/// Bytes of [`Error::to_bytes`].
pub(crate) const ERROR_BYTES: usize = 16;

impl Error {
    /// An error with message number `message` about `subject`, no errno, zero numbers.
    const fn from_parts(message: u8, subject: Subject) -> Self {
        let head = message as u64 | (subject as u64 + 1) << 8;
        Self {
            // The subject's byte is at least 1.
            head: match NonZeroU64::new(head) {
                Some(head) => head,
                None => NonZeroU64::MIN,
            },
            tail: 0,
        }
    }

    /// An error saying `message` about `subject`, with no errno and zero numbers.
    pub(crate) const fn new(message: Message, subject: Subject) -> Self {
        Self::from_parts(message as u8, subject)
    }

    const fn message(&self) -> u8 {
        self.head.get() as u8
    }

    const fn errno_number(&self) -> u16 {
        (self.head.get() >> 16) as u16
    }

    /// Number `index` (0–2) of the message.
    const fn number(&self, index: usize) -> u32 {
        match index {
            0 => (self.head.get() >> 32) as u32,
            1 => self.tail as u32,
            _ => (self.tail >> 32) as u32,
        }
    }

    /// `message` about `subject`, caused by a system call that failed with `errno`.
    pub(crate) const fn system(message: Message, subject: Subject, errno: Errno) -> Self {
        Self::new(message, subject).with_errno(errno)
    }

    /// The same error, caused by `errno`.
    pub(crate) const fn with_errno(mut self, errno: Errno) -> Self {
        let head = self.head.get() & !(0xffff << 16) | (errno.raw_os_error() as u16 as u64) << 16;
        // The subject's byte is untouched, and at least 1.
        if let Some(head) = NonZeroU64::new(head) {
            self.head = head;
        }
        self
    }

    /// With `value` as number `index` (1–3); other indices change nothing.
    pub const fn with(mut self, index: usize, value: u32) -> Self {
        let value = value as u64;
        match index {
            1 => {
                let head = self.head.get() & 0xffff_ffff | value << 32;
                // The low half, the subject's byte included, is untouched.
                if let Some(head) = NonZeroU64::new(head) {
                    self.head = head;
                }
            }
            2 => self.tail = self.tail & !0xffff_ffff | value,
            3 => self.tail = self.tail & 0xffff_ffff | value << 32,
            _ => {}
        }
        self
    }

    /// A calling program's own error, `code` 0–127 (modulo 128), about `subject`, with `errno` if
    /// any. It travels and renders like the library's, worded by [`Context::template`]; its kind is
    /// [`ErrorKind::Custom`]. A body reports one with
    /// [`Running::report_failure`](crate::daemon::Running::report_failure).
    pub const fn custom(code: u8, subject: Subject, errno: Option<Errno>) -> Self {
        let error = Self::from_parts(CUSTOM | (code & !CUSTOM), subject);
        match errno {
            Some(errno) => error.with_errno(errno),
            None => error,
        }
    }

    /// The caller's code of an error made by [`Error::custom`].
    fn custom_code(&self) -> Option<u8> {
        self.message().checked_sub(CUSTOM)
    }

    /// The same error, with `limit` as its duration (`%t`: numbers 2 and 3).
    #[inline(never)]
    pub(crate) fn with_duration(self, limit: Option<Duration>) -> Self {
        let limit = limit.unwrap_or(Duration::ZERO);
        let seconds = u32::try_from(limit.as_secs()).unwrap_or(u32::MAX);
        self.with(2, seconds).with(3, limit.subsec_millis())
    }

    /// "The daemon could not start", with the failed call's errno, for
    /// [`Running::report_failure`](crate::daemon::Running::report_failure).
    pub fn body_failed(errno: Option<Errno>) -> Self {
        let error = Self::new(Message::BodyCouldNotStart, Subject::None);
        match errno {
            Some(errno) => error.with_errno(errno),
            None => error,
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self.custom_code() {
            Some(code) => ErrorKind::Custom(code),
            None => KINDS[usize::from(self.message())],
        }
    }

    /// What the error is about (its name comes from the [`Context`] it is rendered with).
    pub fn subject(&self) -> Subject {
        let number = (self.head.get() >> 8) as u8;
        // Stored plus one, from a `Subject`.
        Subject::from_number(number.wrapping_sub(1)).unwrap_or(Subject::None)
    }

    /// The errno of the system call that failed, if one failed.
    pub fn errno(&self) -> Option<Errno> {
        let errno = self.errno_number();
        (errno != 0).then(|| Errno::from_raw_os_error(i32::from(errno)))
    }

    /// The 16 bytes carrying the error between processes: both words in native order, `head` first.
    pub(crate) fn to_bytes(self) -> [u8; ERROR_BYTES] {
        // One 128-bit value, no slice copies (they stay calls at opt-level "z").
        let (low, high) = if cfg!(target_endian = "little") {
            (self.head.get(), self.tail)
        } else {
            (self.tail, self.head.get())
        };
        (u128::from(high) << 64 | u128::from(low)).to_ne_bytes()
    }

    /// The error [`Error::to_bytes`] encoded, if `bytes` are one.
    pub(crate) fn from_bytes(bytes: &[u8; ERROR_BYTES]) -> Option<Self> {
        let both = u128::from_ne_bytes(*bytes);
        let (low, high) = (both as u64, (both >> 64) as u64);
        let (head, tail) = if cfg!(target_endian = "little") {
            (low, high)
        } else {
            (high, low)
        };
        let message = head as u8;
        let subject = Subject::from_number(((head >> 8) as u8).checked_sub(1)?)?;
        if usize::from(message) >= MESSAGES && message < CUSTOM {
            return None;
        }
        let error = Self::from_parts(message, subject);
        Some(Self {
            head: NonZeroU64::new(head & !0xffff | error.head.get())?,
            tail,
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

#[cfg(test)]
mod tests;
