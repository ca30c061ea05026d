//! Account lookup in the passwd and group files (the glibc "files" backend only): users by
//! name or uid, groups by name, and every group that lists a user as a member.
//!
//! This module owns reading and parsing those two files. It streams them through one fixed
//! read buffer, so a line of any length (a group with 100,000 members) costs constant memory;
//! fields are matched byte by byte and never copied whole, except the few a caller keeps (user
//! name, home directory), which live in fixed buffers. It must never allocate, never consult
//! NSS or anything but the two paths it is given, and never change credentials (that is
//! [`crate::credentials`]' job). A missing file is an empty database.

use crate::error::{Error, Message, Result, Subject};
use crate::text::parse_decimal;
use core::ffi::CStr;
use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::process::Gid;

/// The largest user or group id we accept: 4,294,967,295 (`-1`) means "no change" to the
/// kernel's set*id calls.
pub const ID_MAX: u32 = 4_294_967_294;

/// The kernel's limit on supplementary groups (`NGROUPS_MAX`).
pub const NGROUPS_MAX: usize = 65_536;

/// Bytes a user name can have (longer names are refused, never cut).
pub const NAME_CAPACITY: usize = 256;

/// Bytes a home directory can have (`PATH_MAX`, the terminating NUL not counted).
pub const HOME_CAPACITY: usize = 4095;

/// Size of the read buffer every lookup streams its file through.
const READ_BUFFER_SIZE: usize = 4096;

/// The two account databases, by path.
#[derive(Clone, Copy, Debug)]
pub struct AccountFiles<'a> {
    /// The passwd file (`/etc/passwd`).
    pub passwd: &'a CStr,
    /// The group file (`/etc/group`).
    pub group: &'a CStr,
}

impl AccountFiles<'static> {
    /// `/etc/passwd` and `/etc/group`.
    pub const SYSTEM: Self = Self {
        passwd: c"/etc/passwd",
        group: c"/etc/group",
    };
}

impl Default for AccountFiles<'static> {
    fn default() -> Self {
        Self::SYSTEM
    }
}

/// The outcome of a lookup that did not fail with an I/O error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup<T> {
    /// The first matching entry.
    Found(T),
    /// The file exists and has no matching entry.
    NotFound,
    /// The file does not exist (an empty database).
    NoDatabase,
}

/// Bytes of a fixed capacity, remembering whether more were offered than fit.
#[derive(Clone, Copy)]
struct Field<const N: usize> {
    bytes: [u8; N],
    length: usize,
    overflowed: bool,
}

impl<const N: usize> Field<N> {
    const fn new() -> Self {
        Self {
            bytes: [0; N],
            length: 0,
            overflowed: false,
        }
    }

    fn push(&mut self, byte: u8) {
        push_byte(
            &mut self.bytes,
            &mut self.length,
            &mut self.overflowed,
            byte,
        );
    }

    fn clear(&mut self) {
        self.length = 0;
        self.overflowed = false;
    }

    /// The content, or `None` when it did not fit.
    fn get(&self) -> Option<&[u8]> {
        if self.overflowed {
            None
        } else {
            Some(&self.bytes[..self.length])
        }
    }

    /// The content as an id (`parse_decimal` rules, at most [`ID_MAX`]).
    fn id(&self) -> Option<u32> {
        self.get()
            .and_then(|text| parse_decimal(text, ID_MAX as u64))
            .map(|value| value as u32)
    }
}

/// [`Field::push`], not generic over the capacity and out of line: one copy of the body
/// for every field size and every call site.
#[inline(never)]
fn push_byte(bytes: &mut [u8], length: &mut usize, overflowed: &mut bool, byte: u8) {
    match bytes.get_mut(*length) {
        Some(slot) => {
            *slot = byte;
            *length += 1;
        }
        None => *overflowed = true,
    }
}

/// A passwd entry: the fields a daemon needs (name, uid, gid, home directory).
#[derive(Clone, Copy)]
pub struct UserEntry {
    name: Field<NAME_CAPACITY>,
    uid: u32,
    gid: u32,
    home: Field<HOME_CAPACITY>,
}

impl UserEntry {
    /// The user name.
    pub fn name(&self) -> &[u8] {
        &self.name.bytes[..self.name.length]
    }

    /// The user id.
    pub fn uid(&self) -> u32 {
        self.uid
    }

    /// The primary group id.
    pub fn gid(&self) -> u32 {
        self.gid
    }

    /// The home directory (may be empty).
    pub fn home(&self) -> &[u8] {
        &self.home.bytes[..self.home.length]
    }
}

impl core::fmt::Debug for UserEntry {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter
            .debug_struct("UserEntry")
            .field("name", &self.name())
            .field("uid", &self.uid)
            .field("gid", &self.gid)
            .field("home", &self.home())
            .finish()
    }
}

/// A set of group ids with room for [`NGROUPS_MAX`] of them, kept sorted and without
/// duplicates, as `setgroups` will receive it.
///
/// It is 256 KiB: keep one, pass it by reference, never several copies on a small stack.
pub struct GroupList {
    gids: [Gid; NGROUPS_MAX],
    count: usize,
}

impl Default for GroupList {
    fn default() -> Self {
        Self::new()
    }
}

impl GroupList {
    /// An empty list.
    pub const fn new() -> Self {
        Self {
            gids: [Gid::ROOT; NGROUPS_MAX],
            count: 0,
        }
    }

    /// Adds `gid` unless present; returns `false` (and adds nothing) when the list is full
    /// ([`NGROUPS_MAX`] ids).
    pub fn insert(&mut self, gid: u32) -> bool {
        let list = &self.gids[..self.count];
        // Files usually list groups by increasing gid: check the end first.
        let position = match list.last() {
            Some(last) if last.as_raw() < gid => self.count,
            _ => match list.binary_search_by_key(&gid, |known| known.as_raw()) {
                Ok(_) => return true,
                Err(position) => position,
            },
        };
        if self.count == NGROUPS_MAX {
            return false;
        }
        self.gids.copy_within(position..self.count, position + 1);
        self.gids[position] = Gid::from_raw_unchecked(gid);
        self.count += 1;
        true
    }

    /// Forgets every id.
    pub fn clear(&mut self) {
        self.count = 0;
    }

    /// The ids, in increasing order.
    pub fn as_slice(&self) -> &[Gid] {
        &self.gids[..self.count]
    }
}

/// Parses the number of a `#uid` / `#gid` argument (the text after `#`): decimal, no sign,
/// at most [`ID_MAX`].
pub fn parse_id(digits: &[u8]) -> Option<u32> {
    parse_decimal(digits, ID_MAX as u64).map(|value| value as u32)
}

/// A file read through a fixed buffer, byte by byte, and split into lines and `:` fields.
struct FieldReader {
    fd: OwnedFd,
    subject: Subject,
    buffer: [u8; READ_BUFFER_SIZE],
    start: usize,
    end: usize,
}

/// What the reader found next.
enum Event {
    /// A byte of the current field.
    Byte(u8),
    /// The end of a field (`:`), the line continues.
    FieldEnd,
    /// The end of a line (newline, or end of file after at least one byte).
    LineEnd,
    /// The end of the file.
    End,
}

impl FieldReader {
    /// Opens `path`, the file `subject` names; `Ok(None)` when it does not exist.
    fn open(path: &CStr, subject: Subject) -> Result<Option<Self>> {
        let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY;
        match rustix::fs::open(path, flags, Mode::empty()) {
            Ok(fd) => Ok(Some(Self {
                fd,
                subject,
                buffer: [0; READ_BUFFER_SIZE],
                start: 0,
                end: 0,
            })),
            Err(Errno::NOENT) => Ok(None),
            Err(errno) => Err(Error::system(Message::Open, subject, errno)),
        }
    }

    /// Returns the next byte, or `None` at end of file.
    fn next_byte(&mut self) -> core::result::Result<Option<u8>, Errno> {
        if self.start == self.end {
            loop {
                match rustix::io::read(&self.fd, &mut self.buffer) {
                    Ok(0) => return Ok(None),
                    Ok(count) => {
                        self.start = 0;
                        self.end = count;
                        break;
                    }
                    Err(Errno::INTR) => {}
                    Err(errno) => return Err(errno),
                }
            }
        }
        let byte = self.buffer[self.start];
        self.start += 1;
        Ok(Some(byte))
    }

    /// Reads the next event; `in_line` says whether the current line has content, so that
    /// a last line without a newline still ends.
    fn next_event(&mut self, in_line: &mut bool) -> Result<Event> {
        let byte = self
            .next_byte()
            .map_err(|errno| Error::system(Message::Read, self.subject, errno))?;
        Ok(match byte {
            None if *in_line => {
                *in_line = false;
                Event::LineEnd
            }
            None => Event::End,
            Some(b'\n') => {
                *in_line = false;
                Event::LineEnd
            }
            Some(byte) => {
                *in_line = true;
                if byte == b':' {
                    Event::FieldEnd
                } else {
                    Event::Byte(byte)
                }
            }
        })
    }
}

/// Whether a line whose first field is `name` is an entry at all: not empty, not a comment,
/// not a NIS compat marker (`+` / `-`).
fn is_entry_name(name: &[u8]) -> bool {
    !matches!(name.first(), None | Some(b'#') | Some(b'+') | Some(b'-'))
}

/// Which passwd entry a lookup wants.
#[derive(Clone, Copy, PartialEq, Eq)]
enum UserKey<'n> {
    Name(&'n [u8]),
    Uid(u32),
}

/// Fields of a passwd line: `name:password:uid:gid:gecos:home:shell`.
const PASSWD_FIELDS: usize = 7;
/// Fields of a group line: `name:password:gid:members`.
const GROUP_FIELDS: usize = 4;

fn find_user(files: &AccountFiles<'_>, key: UserKey<'_>) -> Result<Lookup<UserEntry>> {
    let Some(mut reader) = FieldReader::open(files.passwd, Subject::PasswdFile)? else {
        return Ok(Lookup::NoDatabase);
    };
    let mut entry = UserEntry {
        name: Field::new(),
        uid: 0,
        gid: 0,
        home: Field::new(),
    };
    let mut uid = Field::<16>::new();
    let mut gid = Field::<16>::new();
    let mut field = 0usize;
    let mut in_line = false;
    // A line for the wanted name that is not a valid entry: reported if no valid one follows.
    let mut malformed = false;
    loop {
        match reader.next_event(&mut in_line)? {
            Event::Byte(byte) => match field {
                0 => entry.name.push(byte),
                2 => uid.push(byte),
                3 => gid.push(byte),
                5 => entry.home.push(byte),
                _ => {}
            },
            Event::FieldEnd => field += 1,
            Event::LineEnd => {
                let name = entry.name.get().filter(|name| is_entry_name(name));
                let ids = (uid.id(), gid.id());
                let named =
                    matches!((key, name), (UserKey::Name(wanted), Some(name)) if name == wanted);
                match (field + 1 == PASSWD_FIELDS, name, ids) {
                    (true, Some(_), (Some(uid), Some(gid)))
                        if named || key == UserKey::Uid(uid) =>
                    {
                        if entry.home.overflowed {
                            return Err(Error::new(Message::HomeTooLong, Subject::User));
                        }
                        entry.uid = uid;
                        entry.gid = gid;
                        return Ok(Lookup::Found(entry));
                    }
                    _ if named => malformed = true,
                    _ => {}
                }
                entry.name.clear();
                entry.home.clear();
                uid.clear();
                gid.clear();
                field = 0;
            }
            Event::End if malformed => {
                return Err(Error::new(Message::MalformedUser, Subject::User))
            }
            Event::End => return Ok(Lookup::NotFound),
        }
    }
}

/// The first passwd entry called `name` (glibc's files backend: first match wins; malformed
/// lines are skipped, but when the only lines for `name` are malformed the lookup fails
/// with [`ErrorKind::MalformedAccount`](crate::ErrorKind::MalformedAccount) instead of
/// "no such user"). Errors name [`Subject::User`] and the passwd file.
pub fn find_user_by_name(files: &AccountFiles<'_>, name: &[u8]) -> Result<Lookup<UserEntry>> {
    find_user(files, UserKey::Name(name))
}

/// The first passwd entry with user id `uid`.
pub fn find_user_by_uid(files: &AccountFiles<'_>, uid: u32) -> Result<Lookup<UserEntry>> {
    find_user(files, UserKey::Uid(uid))
}

/// The gid of the first group called `name` (malformed lines are skipped; when the only
/// lines for `name` are malformed the lookup fails with
/// [`ErrorKind::MalformedAccount`](crate::ErrorKind::MalformedAccount)). Errors name
/// [`Subject::Group`] and the group file.
pub fn find_group_by_name(files: &AccountFiles<'_>, name: &[u8]) -> Result<Lookup<u32>> {
    let Some(mut reader) = FieldReader::open(files.group, Subject::GroupFile)? else {
        return Ok(Lookup::NoDatabase);
    };
    // Only names of the wanted length can match; a longer one just overflows.
    let mut line_name = Field::<NAME_CAPACITY>::new();
    let mut gid = Field::<16>::new();
    let mut field = 0usize;
    let mut in_line = false;
    let mut malformed = false;
    loop {
        match reader.next_event(&mut in_line)? {
            Event::Byte(byte) => match field {
                0 => line_name.push(byte),
                2 => gid.push(byte),
                _ => {}
            },
            Event::FieldEnd => field += 1,
            Event::LineEnd => {
                let named = line_name.get() == Some(name) && is_entry_name(name);
                match (field + 1 == GROUP_FIELDS, gid.id()) {
                    (true, Some(gid)) if named => return Ok(Lookup::Found(gid)),
                    _ if named => malformed = true,
                    _ => {}
                }
                line_name.clear();
                gid.clear();
                field = 0;
            }
            Event::End if malformed => {
                return Err(Error::new(Message::MalformedGroup, Subject::Group))
            }
            Event::End => return Ok(Lookup::NotFound),
        }
    }
}

/// Matches one comma-separated member list against a user name, streaming.
struct MemberMatcher<'n> {
    name: &'n [u8],
    matched: usize,
    mismatch: bool,
    found: bool,
}

impl<'n> MemberMatcher<'n> {
    fn new(name: &'n [u8]) -> Self {
        Self {
            name,
            matched: 0,
            mismatch: false,
            found: false,
        }
    }

    fn byte(&mut self, byte: u8) {
        if byte == b',' {
            self.end_member();
        } else if !self.mismatch
            && self.matched < self.name.len()
            && self.name[self.matched] == byte
        {
            self.matched += 1;
        } else {
            self.mismatch = true;
        }
    }

    fn end_member(&mut self) {
        if !self.mismatch && !self.name.is_empty() && self.matched == self.name.len() {
            self.found = true;
        }
        self.matched = 0;
        self.mismatch = false;
    }

    fn reset(&mut self) {
        self.matched = 0;
        self.mismatch = false;
        self.found = false;
    }
}

/// Adds to `groups` the gid of every well-formed group line whose member list names `user`
/// (every line counts, duplicates included: initgroups semantics). Returns whether the group
/// file exists. Fails when the list would exceed [`NGROUPS_MAX`].
pub fn add_memberships(
    files: &AccountFiles<'_>,
    user: &[u8],
    groups: &mut GroupList,
) -> Result<bool> {
    let Some(mut reader) = FieldReader::open(files.group, Subject::GroupFile)? else {
        return Ok(false);
    };
    let mut line_name = Field::<1>::new();
    let mut gid = Field::<16>::new();
    let mut members = MemberMatcher::new(user);
    let mut field = 0usize;
    let mut in_line = false;
    loop {
        match reader.next_event(&mut in_line)? {
            Event::Byte(byte) => match field {
                // Only the first byte of the name matters here (comment, NIS marker).
                0 => line_name.push(byte),
                2 => gid.push(byte),
                3 => members.byte(byte),
                _ => {}
            },
            Event::FieldEnd => {
                if field == 3 {
                    members.end_member();
                }
                field += 1;
            }
            Event::LineEnd => {
                if field == 3 {
                    members.end_member();
                }
                let first = &line_name.bytes[..line_name.length];
                if field + 1 == GROUP_FIELDS && members.found && is_entry_name(first) {
                    if let Some(gid) = gid.id() {
                        if !groups.insert(gid) {
                            return Err(Error::new(Message::GroupsOverflow, Subject::User)
                                .with(1, NGROUPS_MAX as u32));
                        }
                    }
                }
                line_name.clear();
                gid.clear();
                members.reset();
                field = 0;
            }
            Event::End => return Ok(true),
        }
    }
}
