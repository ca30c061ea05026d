//! The group lookups: the first group with a name, every group listing a member, and both in one
//! pass.
//!
//! This module owns the group line rule (`name:password:gid:members`, exactly four fields) and a
//! combined lookup's error order (the group's own first, then too many groups). It must never read
//! the passwd file.

use super::scanner::{End, Scanner, Seek};
use super::{
    can_be_name, each_line, id_value, is_entry, AccountFiles, Flaw, GroupList, Lookup,
    ID_FIELD_CAPACITY, NAME_CAPACITY, NGROUPS_MAX,
};
use crate::error::{Error, Message, Result, Subject};

/// What one group line turned out to be.
enum GroupLine {
    /// An entry that is the wanted group (`named`) or lists the member (`listed`), or both.
    Entry { gid: u32, named: bool, listed: bool },
    /// A line for the wanted name that is not an entry.
    Flawed(Flaw),
    /// Anything else.
    Other,
}

/// Reads one group line for group `name` and `member`, leaving it as soon as it can be neither.
fn group_line(scanner: &mut Scanner<'_>, name: Option<&[u8]>, member: Option<&[u8]>) -> GroupLine {
    let entry = is_entry(scanner.first_byte());
    let first = scanner.seek(Seek::Field(NAME_CAPACITY));
    let mut end = first.end;
    let line = 'line: {
        if !entry {
            break 'line GroupLine::Other;
        }
        // A too-long name is never the wanted one, but its line counts for members.
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
    /// The flaw of the first non-entry line for the wanted name.
    flaw: Option<Flaw>,
    /// The member's groups did not fit in the list.
    overflow: bool,
}

/// One pass: the first entry called `name`, and every gid listing `member` added to `list`.
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
        // Without a member, only lines of the wanted name are looked at.
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
                        // From here on, only the wanted group (if still unknown).
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

/// The gid of the first group called `name`; if all its lines are malformed,
/// [`ErrorKind::MalformedAccount`](crate::ErrorKind::MalformedAccount) names the first flaw. Errors
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

/// Adds the gid of every well-formed group listing `user` (initgroups) to `groups`. Returns whether
/// the file exists; fails past the list's capacity. An impossible member name is in no group.
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

/// [`find_group_by_name`] and [`add_memberships`] in one pass, for a user switch with an explicit group. The group's own errors (not found, malformed, no file) come first; then too many groups.
#[cfg_attr(not(fuzzing), allow(dead_code))]
pub fn find_group_with_memberships(
    files: &AccountFiles<'_>,
    name: &[u8],
    user: &[u8],
    groups: &mut GroupList<'_>,
) -> Result<Lookup<u32>> {
    find_group(files, name, Some((user, groups)))
}

/// The group called `name`, and with a `member` its memberships, in one pass.
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

/// Adds the primary `gid` and sorts; errs when the groups no longer fit.
pub(crate) fn add_primary_group(groups: &mut GroupList<'_>, gid: u32) -> Result<()> {
    let fits = groups.insert(gid);
    groups.sort();
    if fits {
        Ok(())
    } else {
        Err(overflow(groups))
    }
}
