//! Account lookup in the passwd and group files (glibc's "files" backend only, docs/design.md §6):
//! users by name or uid, groups by name, every group listing a user.
//!
//! This module owns those files' rules; lookups are in `passwd.rs`, `group.rs` and `group_list.rs`,
//! each one pass through `scanner.rs`. It must never allocate, read anything but the two paths
//! given (no NSS), or change credentials. A missing file is an empty database.

mod group;
mod group_list;
mod passwd;
mod scanner;

pub use group::{add_memberships, find_group_by_name};
// Only the fuzz targets (tests/fuzz) call this one-pass lookup.
#[cfg(fuzzing)]
pub use group::find_group_with_memberships;
pub(crate) use group::{add_primary_group, find_group};
pub use group_list::GroupList;
pub use passwd::{find_user_by_name, find_user_by_uid};
pub(crate) use passwd::{find_user_into, UserKey};

use crate::error::{Result, Subject};
use crate::text::parse_decimal;
use core::ffi::CStr;
use scanner::{Scanner, Sought};

/// The largest id we accept: `-1` means "no change" to set*id calls.
pub(crate) const ID_MAX: u32 = 4_294_967_294;

/// The kernel's limit on supplementary groups (`NGROUPS_MAX`).
pub const NGROUPS_MAX: usize = 65_536;

/// Bytes a user name can have (longer ones are refused, never cut).
pub(crate) const NAME_CAPACITY: usize = 256;

/// Bytes a home directory can have (`PATH_MAX` without the NUL).
pub(crate) const HOME_CAPACITY: usize = 4095;

/// Characters of an id field (more, such as leading zeros, is malformed).
const ID_FIELD_CAPACITY: usize = 16;

const _: () = assert!(HOME_CAPACITY <= scanner::FIELD_CAPACITY_LIMIT);

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

/// A lookup's outcome, short of an I/O error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup<T> {
    /// The first matching entry.
    Found(T),
    /// The file exists and has no matching entry.
    NotFound,
    /// The file does not exist (an empty database).
    NoDatabase,
}

/// A passwd entry: the fields a daemon needs (name, uid, gid, home directory).
#[derive(Clone, Copy)]
pub struct UserEntry {
    name: [u8; NAME_CAPACITY],
    name_length: usize,
    uid: u32,
    gid: u32,
    home: [u8; HOME_CAPACITY],
    home_length: usize,
}

impl UserEntry {
    /// An empty entry, to be filled by a lookup.
    pub(crate) const fn new() -> Self {
        Self {
            name: [0; NAME_CAPACITY],
            name_length: 0,
            uid: 0,
            gid: 0,
            home: [0; HOME_CAPACITY],
            home_length: 0,
        }
    }

    /// The user name.
    pub fn name(&self) -> &[u8] {
        &self.name[..self.name_length]
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
        &self.home[..self.home_length]
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

/// Parses a `#uid` / `#gid` number (after `#`): decimal, no sign, at most [`ID_MAX`].
pub(crate) fn parse_id(digits: &[u8]) -> Option<u32> {
    parse_decimal(digits, ID_MAX as u64).map(|value| value as u32)
}

/// An id field's value ([`ID_FIELD_CAPACITY`] characters at most, [`parse_id`]'s rules).
fn id_value(scanner: &Scanner<'_>, sought: &Sought) -> Option<u32> {
    sought
        .field
        .clone()
        .and_then(|range| parse_id(scanner.bytes(range)))
}

/// Whether a line starting with `first` is an entry: a name, not a comment or NIS `+`/`-`.
fn is_entry(first: u8) -> bool {
    !matches!(first, b':' | b'\n' | b'#' | b'+' | b'-')
}

/// Why a line for the wanted name is not an entry.
#[derive(Clone, Copy)]
enum Flaw {
    /// Too few fields (passwd: fewer than 4; group: not exactly 4).
    Fields,
    /// The uid is not a number from 0 to [`ID_MAX`].
    Uid,
    /// The gid is not a number from 0 to [`ID_MAX`].
    Gid,
}

/// Calls `line` at each line start of `path` until it says stop or the file ends. Returns whether
/// the file exists.
fn each_line(
    path: &CStr,
    subject: Subject,
    line: &mut dyn FnMut(&mut Scanner<'_>) -> bool,
) -> Result<bool> {
    let mut buffer = scanner::new_buffer();
    let Some(mut scanner) = Scanner::open(path, subject, &mut buffer)? else {
        return Ok(false);
    };
    while scanner.next_line() && line(&mut scanner) {}
    scanner.finish()?;
    Ok(true)
}

/// Whether `name` can be a line's name (or a `member`): 1 to [`NAME_CAPACITY`] bytes, no `:`,
/// newline (or `,`).
fn can_be_name(name: &[u8], member: bool) -> bool {
    !name.is_empty()
        && name.len() <= NAME_CAPACITY
        && !name
            .iter()
            .any(|&byte| matches!(byte, b':' | b'\n') || (member && byte == b','))
}
