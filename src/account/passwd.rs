//! The passwd lookups: the first entry with a name or uid, and the flaw of a wanted name's
//! malformed lines.
//!
//! This module owns the passwd line rule (glibc's: `name:password:uid:gid`, then optional gecos,
//! home and shell, the shell being the rest of the line). It must never read the group file or keep
//! more of a line than the name and home.

use super::scanner::{End, Scanner, Seek};
use super::{
    can_be_name, each_line, id_value, is_entry, AccountFiles, Flaw, Lookup, UserEntry,
    HOME_CAPACITY, ID_FIELD_CAPACITY, NAME_CAPACITY,
};
use crate::error::{Error, Message, Result, Subject};

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
    /// The wanted entry, with a home over [`HOME_CAPACITY`].
    HomeTooLong,
    /// A line for the wanted name that is not an entry.
    Flawed(Flaw),
    /// Anything else.
    Other,
}

/// Writes the first passwd entry `key` wants into `entry` (unspecified when not found).
pub(crate) fn find_user_into(
    files: &AccountFiles<'_>,
    key: UserKey<'_>,
    entry: &mut UserEntry,
) -> Result<Lookup<()>> {
    // By name, only lines of that name are looked at.
    let named = match key {
        UserKey::Name(name) if can_be_name(name, false) => Some(name),
        _ => None,
    };
    // A non-entry line for the wanted name: reported if no entry follows.
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

/// Reads one passwd line, leaving it as soon as it cannot be the wanted one.
fn passwd_line(scanner: &mut Scanner<'_>, key: UserKey<'_>, entry: &mut UserEntry) -> PasswdLine {
    let entry_line = is_entry(scanner.first_byte());
    let first = scanner.seek(Seek::Field(NAME_CAPACITY));
    let mut end = first.end;
    let line = 'line: {
        // A too-long name is never the wanted one.
        let (true, Some(range)) = (entry_line, first.field) else {
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
        // By name, a non-entry line for it is worth reporting.
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

/// The first passwd entry called `name`; if all its lines are malformed,
/// [`ErrorKind::MalformedAccount`](crate::ErrorKind::MalformedAccount) names the first flaw. A
/// missing home is empty. Errors name [`Subject::User`] and the passwd file.
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
