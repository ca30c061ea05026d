//! Account lookup in the passwd and group files (the glibc "files" backend only): users by
//! name or uid, groups by name, and every group that lists a user as a member.
//!
//! This module owns the rules of those two files: which lines are entries, which are
//! malformed and why, first match wins, members matched exactly. Every lookup is one pass over
//! one file through a fixed buffer searched sixteen bytes at a time (`scanner`): a line is
//! left as soon as its name or member list cannot match, and a user switch needs one pass over
//! each file ([`find_group_with_memberships`] finds the explicit group and the memberships
//! together). Lines of any length cost the same memory. It must never allocate, never consult
//! NSS or anything but the two paths it is given, and never change credentials (that is
//! [`crate::credentials`]' job). A missing file is an empty database.

mod group_list;
mod scanner;

pub use group_list::GroupList;

use crate::error::{Error, Message, Result, Subject};
use crate::text::parse_decimal;
use core::ffi::CStr;
use scanner::{End, Scanner, Seek, Sought};

/// The largest user or group id we accept: 4,294,967,295 (`-1`) means "no change" to the
/// kernel's set*id calls.
pub const ID_MAX: u32 = 4_294_967_294;

/// The kernel's limit on supplementary groups (`NGROUPS_MAX`).
pub const NGROUPS_MAX: usize = 65_536;

/// Bytes a user name can have (longer names are refused, never cut).
pub const NAME_CAPACITY: usize = 256;

/// Bytes a home directory can have (`PATH_MAX`, the terminating NUL not counted).
pub const HOME_CAPACITY: usize = 4095;

/// Characters an id field may have (more, such as leading zeros, make the line malformed).
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

    /// The home directory (may be empty: the line had none).
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

/// Parses the number of a `#uid` / `#gid` argument (the text after `#`): decimal, no sign,
/// at most [`ID_MAX`].
pub fn parse_id(digits: &[u8]) -> Option<u32> {
    parse_decimal(digits, ID_MAX as u64).map(|value| value as u32)
}

/// The value of an id field (at most [`ID_FIELD_CAPACITY`] characters, [`parse_id`]'s rules).
fn id_value(scanner: &Scanner<'_>, sought: &Sought) -> Option<u32> {
    sought
        .field
        .clone()
        .and_then(|range| parse_id(scanner.bytes(range)))
}

/// Whether the line starting with `first` is an entry at all: its name is not empty, not a
/// comment, not a NIS compat marker (`+` / `-`).
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

/// Which passwd entry a lookup wants.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum UserKey<'n> {
    Name(&'n [u8]),
    Uid(u32),
}

/// What one passwd line turned out to be.
enum PasswdLine {
    /// The wanted entry (now in the caller's [`UserEntry`]).
    Wanted,
    /// The wanted entry, with a home directory longer than [`HOME_CAPACITY`].
    HomeTooLong,
    /// A line for the wanted name that is not an entry.
    Flawed(Flaw),
    /// Anything else.
    Other,
}

/// Finds the first passwd entry `key` wants and writes it into `entry` (which holds
/// unspecified content when the lookup does not find it).
pub(crate) fn find_user_into(
    files: &AccountFiles<'_>,
    key: UserKey<'_>,
    entry: &mut UserEntry,
) -> Result<Lookup<()>> {
    // By name, only the lines of that name are looked at.
    let named = match key {
        UserKey::Name(name) if can_be_name(name, false) => Some(name),
        _ => None,
    };
    // A line for the wanted name that is not an entry: reported if no entry follows.
    let mut flaw = None;
    let mut found = None;
    let exists = each_line(files.passwd, Subject::PasswdFile, &mut |scanner| {
        if let Some(name) = named {
            if !scanner.seek(Seek::Named(name)).listed {
                return false;
            }
        }
        match passwd_line(scanner, key, entry) {
            PasswdLine::Other => true,
            PasswdLine::Flawed(why) => {
                flaw.get_or_insert(why);
                true
            }
            line => {
                found = Some(line);
                false
            }
        }
    })?;
    let message = match (exists, found, flaw) {
        (false, _, _) => return Ok(Lookup::NoDatabase),
        (true, Some(PasswdLine::Wanted), _) => return Ok(Lookup::Found(())),
        (true, Some(_), _) => Message::HomeTooLong,
        (true, None, None) => return Ok(Lookup::NotFound),
        (true, None, Some(Flaw::Fields)) => Message::MalformedUserFields,
        (true, None, Some(Flaw::Uid)) => Message::MalformedUserUid,
        (true, None, Some(Flaw::Gid)) => Message::MalformedUserGid,
    };
    Err(Error::new(message, Subject::User))
}

/// Reads the file at `path` (which `subject` names) line by line: `line` reads the line at
/// the reading position and leaves the scanner at the next one, until it says to stop or the
/// file ends. Returns whether the file exists; a read error is the error.
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

/// Reads one passwd line, `name:password:uid:gid[:gecos[:home[:shell]]]` (glibc's rule: the
/// first four fields are required, the others may be missing, and the shell is the rest of
/// the line, colons included), and leaves the scanner at the next line. A line is left as
/// soon as it cannot be the wanted one.
fn passwd_line(scanner: &mut Scanner<'_>, key: UserKey<'_>, entry: &mut UserEntry) -> PasswdLine {
    let listed = is_entry(scanner.first_byte());
    let first = scanner.seek(Seek::Field(NAME_CAPACITY));
    let mut end = first.end;
    let line = 'line: {
        // A name longer than a name can be is never the wanted one.
        let (true, Some(range)) = (listed, first.field) else {
            break 'line PasswdLine::Other;
        };
        let name = scanner.bytes(range);
        let by_name = match key {
            UserKey::Name(wanted) if name != wanted => break 'line PasswdLine::Other,
            UserKey::Name(_) => true,
            UserKey::Uid(_) => false,
        };
        entry.name[..name.len()].copy_from_slice(name);
        entry.name_length = name.len();
        // By name, a line for that name that is not an entry is worth reporting.
        let flawed = |why| match by_name {
            true => PasswdLine::Flawed(why),
            false => PasswdLine::Other,
        };
        // The password, the uid and the gid.
        let mut ids = [None; 3];
        for id in &mut ids {
            if end == End::Line {
                break 'line flawed(Flaw::Fields);
            }
            let field = scanner.seek(Seek::Field(ID_FIELD_CAPACITY));
            *id = id_value(scanner, &field);
            end = field.end;
        }
        let (uid, gid) = match ids {
            [_, None, _] => break 'line flawed(Flaw::Uid),
            [_, _, None] => break 'line flawed(Flaw::Gid),
            [_, Some(uid), Some(gid)] => (uid, gid),
        };
        if key == UserKey::Uid(uid) || by_name {
            entry.uid = uid;
            entry.gid = gid;
            entry.home_length = 0;
        } else {
            break 'line PasswdLine::Other;
        }
        // The gecos, then the home directory.
        for capacity in [0, HOME_CAPACITY] {
            if end == End::Line {
                break;
            }
            let field = scanner.seek(Seek::Field(capacity));
            end = field.end;
            if capacity != 0 {
                let Some(home) = field.field.map(|range| scanner.bytes(range)) else {
                    break 'line PasswdLine::HomeTooLong;
                };
                entry.home[..home.len()].copy_from_slice(home);
                entry.home_length = home.len();
            }
        }
        PasswdLine::Wanted
    };
    if end == End::Field {
        scanner.seek(Seek::Line);
    }
    line
}

/// The first passwd entry called `name` (glibc's files backend: first match wins; malformed
/// lines are skipped, but when the only lines for `name` are malformed the lookup fails
/// with [`ErrorKind::MalformedAccount`](crate::ErrorKind::MalformedAccount), naming the
/// first one's flaw, instead of "no such user"). A line needs at least four fields
/// (`name:password:uid:gid`) with a uid and gid from 0 to [`ID_MAX`]; a missing home
/// directory is empty. Errors name [`Subject::User`] and the passwd file.
pub fn find_user_by_name(files: &AccountFiles<'_>, name: &[u8]) -> Result<Lookup<UserEntry>> {
    find_user(files, UserKey::Name(name))
}

/// The first passwd entry with user id `uid`.
pub fn find_user_by_uid(files: &AccountFiles<'_>, uid: u32) -> Result<Lookup<UserEntry>> {
    find_user(files, UserKey::Uid(uid))
}

fn find_user(files: &AccountFiles<'_>, key: UserKey<'_>) -> Result<Lookup<UserEntry>> {
    let mut entry = UserEntry::new();
    Ok(match find_user_into(files, key, &mut entry)? {
        Lookup::Found(()) => Lookup::Found(entry),
        Lookup::NotFound => Lookup::NotFound,
        Lookup::NoDatabase => Lookup::NoDatabase,
    })
}

/// What one group line turned out to be.
enum GroupLine {
    /// An entry that is the wanted group (`named`) or lists the member (`listed`), or both.
    Entry { gid: u32, named: bool, listed: bool },
    /// A line for the wanted name that is not an entry.
    Flawed(Flaw),
    /// Anything else.
    Other,
}

/// Reads one group line, `name:password:gid:members` (exactly four fields), looking for the
/// group called `name` and for `member` in the member list, and leaves the scanner at the
/// next line. A line is left as soon as it can be neither.
fn group_line(scanner: &mut Scanner<'_>, name: Option<&[u8]>, member: Option<&[u8]>) -> GroupLine {
    let entry = is_entry(scanner.first_byte());
    let first = scanner.seek(Seek::Field(NAME_CAPACITY));
    let mut end = first.end;
    let line = 'line: {
        if !entry {
            break 'line GroupLine::Other;
        }
        // A name longer than a name can be is never the wanted one, but its line counts for
        // the members.
        let named = first
            .field
            .is_some_and(|range| name == Some(scanner.bytes(range)));
        if !named && member.is_none() {
            break 'line GroupLine::Other;
        }
        let flawed = |why| match named {
            true => GroupLine::Flawed(why),
            false => GroupLine::Other,
        };
        // The password, then the gid.
        let mut gid = None;
        for _ in 0..2 {
            if end == End::Line {
                break 'line flawed(Flaw::Fields);
            }
            let field = scanner.seek(Seek::Field(ID_FIELD_CAPACITY));
            gid = id_value(scanner, &field);
            end = field.end;
        }
        if end == End::Line {
            break 'line flawed(Flaw::Fields);
        }
        let Some(gid) = gid else {
            break 'line flawed(Flaw::Gid);
        };
        let members = scanner.seek(member.map_or(Seek::Field(0), Seek::Member));
        end = members.end;
        if end == End::Field {
            break 'line flawed(Flaw::Fields);
        }
        GroupLine::Entry {
            gid,
            named,
            listed: members.listed,
        }
    };
    if end == End::Field {
        scanner.seek(Seek::Line);
    }
    line
}

/// What one pass over the group file found.
struct GroupScan {
    /// Whether the file exists.
    database: bool,
    /// The wanted group's gid.
    gid: Option<u32>,
    /// The flaw of the first line for the wanted name that is not an entry.
    flaw: Option<Flaw>,
    /// The member's groups did not fit in the list.
    overflow: bool,
}

/// Whether `name` can be the name of a line (`member` false) or a member (`member` true) at
/// all: not empty, not longer than [`NAME_CAPACITY`], without the separators `:` and newline
/// (and, for a member, `,`).
fn can_be_name(name: &[u8], member: bool) -> bool {
    !name.is_empty()
        && name.len() <= NAME_CAPACITY
        && !name
            .iter()
            .any(|&byte| matches!(byte, b':' | b'\n') || (member && byte == b','))
}

/// One pass over the group file: the gid of the first entry called `name`, and the gid of
/// every entry whose member list names `member` added to its list. It stops early once
/// nothing is left to look for.
fn scan_groups(
    files: &AccountFiles<'_>,
    mut name: Option<&[u8]>,
    mut member: Option<(&[u8], &mut GroupList<'_>)>,
) -> Result<GroupScan> {
    let mut scan = GroupScan {
        database: false,
        gid: None,
        flaw: None,
        overflow: false,
    };
    if member
        .as_ref()
        .is_some_and(|(user, _)| !can_be_name(user, true))
    {
        member = None;
    }
    scan.database = each_line(files.group, Subject::GroupFile, &mut |scanner| {
        let user = member.as_ref().map(|(user, _)| *user);
        // Without a member to find, only the lines of the wanted name are looked at.
        if user.is_none() {
            let Some(name) = name else {
                return false;
            };
            if can_be_name(name, false) && !scanner.seek(Seek::Named(name)).listed {
                return false;
            }
        }
        match group_line(scanner, name, user) {
            GroupLine::Other => {}
            GroupLine::Flawed(why) => {
                scan.flaw.get_or_insert(why);
            }
            GroupLine::Entry { gid, named, listed } => {
                if named {
                    scan.gid = Some(gid);
                    name = None;
                }
                if let (true, Some((_, groups))) = (listed, &mut member) {
                    if !groups.insert(gid) {
                        // Only the wanted group (if still unknown) is looked for from here on.
                        scan.overflow = true;
                        member = None;
                    }
                }
            }
        }
        true
    })?;
    Ok(scan)
}

/// The gid of the first group called `name` (malformed lines are skipped; when the only
/// lines for `name` are malformed the lookup fails with
/// [`ErrorKind::MalformedAccount`](crate::ErrorKind::MalformedAccount), naming the first
/// one's flaw). A group line has exactly four fields, `name:password:gid:members`. Errors
/// name [`Subject::Group`] and the group file.
pub fn find_group_by_name(files: &AccountFiles<'_>, name: &[u8]) -> Result<Lookup<u32>> {
    find_group(files, name, None)
}

/// The wanted group's lookup result from a scan.
fn group_lookup(scan: &GroupScan) -> Result<Lookup<u32>> {
    match (scan.database, scan.gid, scan.flaw) {
        (false, _, _) => Ok(Lookup::NoDatabase),
        (true, Some(gid), _) => Ok(Lookup::Found(gid)),
        (true, None, None) => Ok(Lookup::NotFound),
        (true, None, Some(why)) => Err(Error::new(
            match why {
                Flaw::Fields => Message::MalformedGroupFields,
                Flaw::Uid | Flaw::Gid => Message::MalformedGroup,
            },
            Subject::Group,
        )),
    }
}

/// The error for a member of more groups than `groups` has room for.
fn overflow(groups: &GroupList<'_>) -> Error {
    let capacity = groups.capacity();
    let message = if capacity == NGROUPS_MAX {
        Message::GroupsOverflow
    } else {
        Message::GroupsOverCapacity
    };
    Error::new(message, Subject::User).with(1, capacity as u32)
}

/// Adds to `groups` the gid of every well-formed group line whose member list names `user`
/// (every line counts, duplicates included: initgroups semantics); `groups` stays sorted and
/// without duplicates. Returns whether the group file exists. Fails when the list would hold
/// more than [`GroupList::capacity`] ids. A `user` that cannot be a member (empty, longer
/// than [`NAME_CAPACITY`], or holding `,` `:` or a newline) is in no group.
pub fn add_memberships(
    files: &AccountFiles<'_>,
    user: &[u8],
    groups: &mut GroupList<'_>,
) -> Result<bool> {
    let scan = scan_groups(files, None, Some((user, groups)));
    groups.sort();
    let scan = scan?;
    if scan.overflow {
        return Err(overflow(groups));
    }
    Ok(scan.database)
}

/// [`find_group_by_name`] and [`add_memberships`] in one pass over the group file, as a user
/// switch with an explicit group needs them: the gid of the first group called `name`, and
/// every group listing `user` added to `groups`. The group's own errors (not found,
/// malformed, no file) come first; then too many groups.
pub fn find_group_with_memberships(
    files: &AccountFiles<'_>,
    name: &[u8],
    user: &[u8],
    groups: &mut GroupList<'_>,
) -> Result<Lookup<u32>> {
    find_group(files, name, Some((user, groups)))
}

/// The group called `name`, and with a `member`, its memberships in one pass (see
/// [`find_group_with_memberships`]).
pub(crate) fn find_group(
    files: &AccountFiles<'_>,
    name: &[u8],
    member: Option<(&[u8], &mut GroupList<'_>)>,
) -> Result<Lookup<u32>> {
    let (scan, overflow) = match member {
        None => (scan_groups(files, Some(name), None), None),
        Some((user, groups)) => {
            let scan = scan_groups(files, Some(name), Some((user, &mut *groups)));
            groups.sort();
            let overflow = overflow(groups);
            (scan, Some(overflow))
        }
    };
    let scan = scan?;
    let lookup = group_lookup(&scan)?;
    match (overflow, lookup) {
        (Some(error), Lookup::Found(_)) if scan.overflow => Err(error),
        _ => Ok(lookup),
    }
}

/// The error for a user whose groups (with `gid`, the primary one) do not fit in `groups`,
/// for [`crate::credentials`], which adds the primary gid after the scan.
pub(crate) fn add_primary_group(groups: &mut GroupList<'_>, gid: u32) -> Result<()> {
    let fits = groups.insert(gid);
    groups.sort();
    if fits {
        Ok(())
    } else {
        Err(overflow(groups))
    }
}
