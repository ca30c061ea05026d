//! The account files' reader (docs/design.md §6 "Lookup"): one file streamed through a fixed
//! buffer, searched sixteen bytes at a time ([`crate::sys::bytes`]).
//!
//! This module owns the buffer, its refills, and [`Scanner::seek`]. It must never hold more of a
//! line than the field asked for, never allocate, and never interpret a field ([`super`]'s lookups
//! do).

use super::NAME_CAPACITY;
use crate::error::{Error, Message, Result, Subject};
use crate::sys::bytes::equal_mask;
use core::ffi::CStr;
use core::ops::Range;
use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

/// Bytes per read: 16 KiB (4 KiB doubles the kernel time), within a 64 KiB thread stack.
const CONTENT_CAPACITY: usize = 16 * 1024;

/// Room a block comparison may read past the content: 15 bytes, plus a member's length.
const SLACK: usize = 16 + NAME_CAPACITY;

/// The buffer a [`Scanner`] reads through, owned once by the lookup.
pub(super) type Buffer = [u8; CONTENT_CAPACITY + SLACK];

/// A zeroed [`Buffer`] (the slack is read, so it must be initialised).
pub(super) const fn new_buffer() -> Buffer {
    [0; CONTENT_CAPACITY + SLACK]
}

/// The largest field [`Seek::Field`] can keep whole.
// Used only in a `const _` assertion (account.rs), which rustc 1.83 does not count.
#[allow(dead_code)]
pub(super) const FIELD_CAPACITY_LIMIT: usize = CONTENT_CAPACITY - 1;

/// What [`Scanner::seek`] looks for from the reading position.
#[derive(Clone, Copy)]
pub(super) enum Seek<'m> {
    /// The end of the field, kept whole up to this many bytes ([`FIELD_CAPACITY_LIMIT`] at most).
    Field(usize),
    /// The end of the line.
    Line,
    /// The end of a comma-separated list, and whether a member is exactly this name.
    Member(&'m [u8]),
    /// From a line's start: the first line named exactly this, or the end of the file.
    Named(&'m [u8]),
}

/// How a field ended.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    /// At a `:`: the line has another field.
    Field,
    /// At a newline or the end of the file: the line is over.
    Line,
}

/// Where [`Scanner::seek`] stopped and what it saw.
pub(super) struct Sought {
    /// The field's bytes for [`Scanner::bytes`]; `None` when too long or not asked for.
    pub(super) field: Option<Range<usize>>,
    /// How the field ended (after [`Seek::Line`]: [`End::Line`]).
    pub(super) end: End,
    /// Whether the list names the member ([`Seek::Member`]) or a line has the name
    /// ([`Seek::Named`]; the position is at its start).
    pub(super) listed: bool,
}

/// One open account file: `buffer[position..end]` is content not yet looked at. A read error ends
/// the file and is kept for [`Scanner::finish`].
pub(super) struct Scanner<'b> {
    fd: OwnedFd,
    subject: Subject,
    buffer: &'b mut Buffer,
    position: usize,
    end: usize,
    failure: Option<Errno>,
}

/// A member's candidate places: its first, middle and last bytes at their distances.
#[derive(Clone, Copy)]
struct Probe {
    first: u8,
    middle_at: usize,
    middle: u8,
    last_at: usize,
    last: u8,
}

impl Probe {
    /// The probe of `member`; `None` when it is empty.
    fn of(member: &[u8]) -> Option<Self> {
        let (middle_at, last_at) = (member.len() / 2, member.len().checked_sub(1)?);
        Some(Self {
            first: member[0],
            middle_at,
            middle: member[middle_at],
            last_at,
            last: member[last_at],
        })
    }
}

impl<'b> Scanner<'b> {
    /// Opens `path` (named by `subject`) to be read through `buffer`; `Ok(None)` when missing.
    pub(super) fn open(
        path: &CStr,
        subject: Subject,
        buffer: &'b mut Buffer,
    ) -> Result<Option<Self>> {
        let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY;
        match rustix::fs::open(path, flags, Mode::empty()) {
            Ok(fd) => Ok(Some(Self {
                fd,
                subject,
                buffer,
                position: 0,
                end: 0,
                failure: None,
            })),
            Err(Errno::NOENT) => Ok(None),
            Err(errno) => Err(Error::system(Message::Open, subject, errno)),
        }
    }

    /// The read error that ended the file early, if one did.
    pub(super) fn finish(&self) -> Result<()> {
        match self.failure {
            None => Ok(()),
            Some(errno) => Err(Error::system(Message::Read, self.subject, errno)),
        }
    }

    /// The bytes of a field [`Scanner::seek`] returned.
    #[inline(never)]
    pub(super) fn bytes(&self, range: Range<usize>) -> &[u8] {
        self.buffer.get(range).unwrap_or_default()
    }

    /// The 16 bytes from `at` (within the buffer, thanks to the slack).
    #[inline(always)]
    fn block(&self, at: usize) -> &[u8; 16] {
        match self.buffer.get(at..).and_then(<[u8]>::first_chunk) {
            Some(block) => block,
            None => &[0; 16],
        }
    }

    /// Reads more; `false` at the end of the file or a (kept) read error.
    fn fill(&mut self) -> bool {
        if self.position == self.end {
            self.position = 0;
            self.end = 0;
        }
        // Fuzzing reads a few bytes at a time so fields and members cross reads.
        #[cfg(fuzzing)]
        let limit = CONTENT_CAPACITY.min(self.end + 1 + self.end % 7);
        #[cfg(not(fuzzing))]
        let limit = CONTENT_CAPACITY;
        while self.failure.is_none() {
            match rustix::io::read(&self.fd, &mut self.buffer[self.end..limit]) {
                Ok(0) => break,
                Ok(count) => {
                    self.end += count;
                    return true;
                }
                Err(Errno::INTR) => {}
                Err(errno) => self.failure = Some(errno),
            }
        }
        false
    }

    /// Whether a line starts at the reading position (`false`: the end of the file).
    pub(super) fn next_line(&mut self) -> bool {
        self.position < self.end || self.fill()
    }

    /// The byte at the reading position, once [`Scanner::next_line`] said a line starts.
    pub(super) fn first_byte(&self) -> u8 {
        self.buffer[self.position]
    }

    /// The first place from `at` with a newline, a `:` (with `colon`), or a `probe` candidate.
    #[inline(always)]
    fn next_event(
        &self,
        mut at: usize,
        newline: bool,
        colon: bool,
        probe: Option<Probe>,
    ) -> Option<usize> {
        while at < self.end {
            let block = self.block(at);
            let mut mask = 0;
            if newline {
                mask |= equal_mask(block, b'\n');
            }
            if colon {
                mask |= equal_mask(block, b':');
            }
            if let Some(probe) = probe {
                mask |= equal_mask(block, probe.first)
                    & equal_mask(self.block(at + probe.middle_at), probe.middle)
                    & equal_mask(self.block(at + probe.last_at), probe.last);
            }
            if self.end - at < 16 {
                // The last block: only its first bytes are content.
                mask &= (1 << (self.end - at)) - 1;
            }
            if mask != 0 {
                return Some(at + mask.trailing_zeros() as usize);
            }
            at += 16;
        }
        None
    }

    /// Moves past the end of the field (or line), reading as needed, and says what it saw.
    pub(super) fn seek(&mut self, seek: Seek<'_>) -> Sought {
        // What ends the seek, and what a candidate must be: a member or a line's name.
        let (capacity, delimiters, colon, mut member, separator) = match seek {
            Seek::Field(capacity) => (capacity, true, true, &[][..], 0),
            Seek::Line => (0, true, false, &[][..], 0),
            Seek::Member(member) => (0, true, true, member, b','),
            Seek::Named(name) => (0, false, false, name, b'\n'),
        };
        // The field's start while in the buffer: a name starts there.
        let mut start = Some(self.position);
        let mut at = self.position;
        let mut listed = false;
        let mut file_ended = false;
        let mut probe = Probe::of(member);
        // Where the field ends (or the line starts), where reading goes on, and how.
        let (stop, next, end) = 'found: loop {
            // Candidates below this have their bytes and the next one in the content.
            let complete_below = (self.end + usize::from(file_ended)).saturating_sub(member.len());
            while let Some(index) = self.next_event(at, delimiters, colon, probe) {
                let byte = self.buffer[index];
                if delimiters && matches!(byte, b'\n' | b':') {
                    let end = if byte == b':' { End::Field } else { End::Line };
                    break 'found (index, index + 1, end);
                }
                if index < complete_below && self.is_name_at(index, member, start, separator) {
                    listed = true;
                    if !delimiters {
                        break 'found (index, index, End::Field);
                    }
                    member = &[];
                    probe = None;
                }
                at = index + 1;
            }
            if file_ended {
                break 'found (self.end, self.end, End::Line);
            }
            // Keep a field that may still fit; for a name, the candidates from `resume` and the
            // separator before.
            let (resume, keep) = match start {
                _ if !member.is_empty() => {
                    let resume = complete_below.max(start.unwrap_or(0));
                    let keep = match start {
                        Some(start) if start == resume => start,
                        _ => resume.saturating_sub(1),
                    };
                    (resume, keep)
                }
                Some(start) if self.end - start <= capacity => (self.end, start),
                _ => (self.end, self.end),
            };
            self.buffer.copy_within(keep..self.end, 0);
            self.end -= keep;
            self.position = 0;
            start = start.and_then(|start| start.checked_sub(keep));
            at = resume - keep;
            file_ended = !self.fill();
        };
        self.position = next;
        Sought {
            field: start
                .filter(|&start| stop - start <= capacity)
                .map(|start| start..stop),
            end,
            listed,
        }
    }

    /// Whether `name` is whole at `index`: after `start` or `separator`, before the line's end, `,`
    /// or `:`.
    fn is_name_at(&self, index: usize, name: &[u8], start: Option<usize>, separator: u8) -> bool {
        let after = index + name.len();
        let starts = start == Some(index) || (index > 0 && self.buffer[index - 1] == separator);
        let next = if separator == b',' { b',' } else { b':' };
        let ends =
            after >= self.end || matches!(self.buffer[after], b'\n') || self.buffer[after] == next;
        starts && ends && self.buffer.get(index..after) == Some(name)
    }
}
