//! The library's one error type: a complete, human-readable sentence in a fixed buffer
//! (`Cannot open PID file /run/x.pid: EACCES (Permission denied)`), plus the errno when a
//! system call failed.
//!
//! This module owns how errors are worded and stored. It must never allocate; `Display` is
//! provided for std users, but the static tools print [`Error::as_bytes`] directly and never
//! pull in `core::fmt`.

use crate::text::Message;
use rustix::io::Errno;

/// Bytes an error message can hold; longer messages (very long paths) are cut.
pub const ERROR_CAPACITY: usize = 512;

/// Why an operation failed, worded for a human, with the errno of the failing system call.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct Error {
    /// The raw errno, 0 when no system call failed (no niche: `Result`s keep a separate
    /// tag and copy the error as one block).
    errno: i32,
    text: Message<ERROR_CAPACITY>,
}

impl Error {
    /// An error whose message starts with `text`; extend it with [`Error::push`] and friends.
    pub fn new(text: &str) -> Self {
        let mut message = Message::new();
        message.push_str(text);
        Self {
            text: message,
            errno: 0,
        }
    }

    /// Appends text (a word, a path given as bytes).
    #[inline(always)]
    pub fn push(self, text: impl AsRef<[u8]>) -> Self {
        self.pushed(text.as_ref())
    }

    /// [`Error::push`], not generic and out of line: a chain of builders then hands each
    /// intermediate error by reference to one shared body, instead of copying 500-odd bytes
    /// at every step of every error site.
    #[cold]
    #[inline(never)]
    fn pushed(mut self, bytes: &[u8]) -> Self {
        self.text.push_bytes(bytes);
        self
    }

    /// Appends a decimal number.
    #[cold]
    #[inline(never)]
    pub fn push_number(mut self, value: u64) -> Self {
        self.text.push_u64(value);
        self
    }

    /// Appends `: NAME (description)` and records `errno` as the cause.
    #[cold]
    #[inline(never)]
    pub fn with_errno(mut self, errno: Errno) -> Self {
        self.text.push_str(": ").push_errno(errno);
        self.errno = errno.raw_os_error();
        self
    }

    /// `Cannot <what> <path>: <ERRNO> (<text>)`, the shape of every failed system call.
    #[inline(always)]
    pub fn system(what: &str, path: impl AsRef<[u8]>, errno: Errno) -> Self {
        Self::system_bytes(what, path.as_ref(), errno)
    }

    /// [`Error::system`] without the generic path: one copy in the program.
    #[cold]
    #[inline(never)]
    fn system_bytes(what: &str, path: &[u8], errno: Errno) -> Self {
        Self::new("Cannot ")
            .push(what)
            .push(" ")
            .push(path)
            .with_errno(errno)
    }

    /// The message as text (a path with invalid UTF-8 is cut at the first bad byte).
    pub fn message(&self) -> &str {
        self.text.as_str()
    }

    /// The message as raw bytes, exactly as built.
    pub fn as_bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    /// The errno of the system call that failed, if a system call failed.
    pub fn errno(&self) -> Option<Errno> {
        (self.errno != 0).then(|| Errno::from_raw_os_error(self.errno))
    }
}

impl core::fmt::Debug for Error {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter
            .debug_tuple("Error")
            .field(&self.message())
            .finish()
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter.write_str(self.message())
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_error_wording() {
        let error = Error::system("open PID file", "/run/x.pid", Errno::ACCESS);
        assert_eq!(
            error.message(),
            "Cannot open PID file /run/x.pid: EACCES (Permission denied)"
        );
        assert_eq!(error.errno(), Some(Errno::ACCESS));
    }
}
