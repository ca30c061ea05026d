//! Fuzzes the streaming passwd/group parser (`account`) against a plain std reference of the
//! documented rules (docs/design.md §6): passwd lines `name:password:uid:gid` with the gecos,
//! home and shell optional (glibc's rule: fewer than four fields is malformed, the shell is
//! the rest of the line), group lines `name:password:gid:members` (exactly four fields),
//! malformed lines skipped, first match wins, members matched exactly, ids decimal and at most
//! 4,294,967,294. A by-name lookup whose only lines for the name are malformed fails with a
//! malformed-entry error naming the first one's flaw (too few fields, the uid, the gid)
//! instead of "no such user/group". The one-pass lookup of a group and a user's memberships
//! must answer what the two separate lookups answer, and a list too small for the
//! memberships is an error after the group's own.
//!
//! In fuzzing builds the library reads its files a few bytes at a time, so every field and
//! member crosses reads.
//!
//! Input: one byte `n`, then `n` bytes of query (a name, and a uid when it is decimal), then
//! the file content, which serves as both the passwd and the group file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rustix::process::Gid;
use std::collections::BTreeSet;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::sync::OnceLock;
use ucw_daemon::account::{
    add_memberships, find_group_by_name, find_group_with_memberships, find_user_by_name,
    find_user_by_uid, AccountFiles, GroupList, Lookup, NGROUPS_MAX,
};
use ucw_daemon::{Context, ErrorKind, Subject};

/// Bytes a user name can have in the library (longer names are refused, never cut).
const NAME_CAPACITY: usize = 256;

/// Bytes a home directory can have in the library (`PATH_MAX` less the NUL).
const HOME_CAPACITY: usize = 4095;

/// Longest id field the parser reads (ids with more characters, i.e. leading zeros, are
/// malformed for it; glibc would accept `000…01`: reported, see tests/README.md).
const ID_FIELD_CAPACITY: usize = 16;

fn id_field(text: &[u8]) -> Option<u32> {
    if text.len() > ID_FIELD_CAPACITY {
        return None;
    }
    parse_id(text)
}

/// An id as docs/design.md §6 has it: decimal digits only, at most 4,294,967,294.
fn parse_id(text: &[u8]) -> Option<u32> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text)
        .ok()?
        .parse::<u64>()
        .ok()
        .filter(|&id| id <= 4_294_967_294)
        .map(|id| id as u32)
}

fn is_entry_name(name: &[u8]) -> bool {
    !matches!(name.first(), None | Some(b'#') | Some(b'+') | Some(b'-'))
}

fn lines(content: &[u8]) -> impl Iterator<Item = Vec<&[u8]>> {
    let body = content.strip_suffix(b"\n").unwrap_or(content);
    let pieces: Vec<&[u8]> = if content.is_empty() {
        Vec::new()
    } else {
        body.split(|&byte| byte == b'\n').collect()
    };
    pieces
        .into_iter()
        .map(|line| line.split(|&byte| byte == b':').collect())
}

/// Why a line for the wanted name is not an entry (the first such line's is reported).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flaw {
    /// passwd: fewer than 4 fields; group: not exactly 4.
    Fields,
    Uid,
    Gid,
}

/// Why a lookup failed (the reference's view of the library's errors).
#[derive(Debug, PartialEq, Eq)]
enum Failure {
    /// The matching entry's home directory is longer than `HOME_CAPACITY`.
    HomeTooLong,
    /// Lines for the wanted name exist, none of them well-formed.
    Malformed(Flaw),
    /// More memberships than the list holds.
    TooManyGroups,
}

/// The first passwd line that matches (name, uid, gid, home), or why the lookup fails.
type UserAnswer = Result<Option<(Vec<u8>, u32, u32, Vec<u8>)>, Failure>;

/// Which passwd entry a lookup wants.
#[derive(Clone, Copy)]
enum UserKey<'q> {
    Name(&'q [u8]),
    Uid(u32),
}

fn reference_user(content: &[u8], key: UserKey<'_>) -> UserAnswer {
    let mut flaw = None;
    for fields in lines(content) {
        let name = fields[0];
        let name_ok = name.len() <= NAME_CAPACITY && is_entry_name(name);
        let named = matches!(key, UserKey::Name(wanted) if name_ok && name == wanted);
        let uid = fields.get(2).and_then(|field| id_field(field));
        let gid = fields.get(3).and_then(|field| id_field(field));
        let line_flaw = match (fields.len() >= 4, uid, gid) {
            (false, _, _) => Some(Flaw::Fields),
            (true, None, _) => Some(Flaw::Uid),
            (true, _, None) => Some(Flaw::Gid),
            (true, Some(_), Some(_)) => None,
        };
        if let (None, true, Some(uid), Some(gid)) = (line_flaw, name_ok, uid, gid) {
            if named || matches!(key, UserKey::Uid(wanted) if wanted == uid) {
                let home = fields.get(5).copied().unwrap_or_default();
                if home.len() > HOME_CAPACITY {
                    return Err(Failure::HomeTooLong);
                }
                return Ok(Some((name.to_vec(), uid, gid, home.to_vec())));
            }
        }
        if named && flaw.is_none() {
            flaw = line_flaw;
        }
    }
    match flaw {
        Some(flaw) => Err(Failure::Malformed(flaw)),
        None => Ok(None),
    }
}

fn reference_group(content: &[u8], name: &[u8]) -> Result<Option<u32>, Failure> {
    let mut flaw = None;
    for fields in lines(content) {
        if fields[0].len() > NAME_CAPACITY || !is_entry_name(fields[0]) || fields[0] != name {
            continue;
        }
        let gid = fields.get(2).and_then(|field| id_field(field));
        let line_flaw = match (fields.len(), gid) {
            (0..=3, _) => Flaw::Fields,
            (_, None) => Flaw::Gid,
            (4, Some(gid)) => return Ok(Some(gid)),
            (_, Some(_)) => Flaw::Fields,
        };
        flaw.get_or_insert(line_flaw);
    }
    match flaw {
        Some(flaw) => Err(Failure::Malformed(flaw)),
        None => Ok(None),
    }
}

fn reference_memberships(content: &[u8], user: &[u8]) -> BTreeSet<u32> {
    lines(content)
        .filter(|fields| {
            fields.len() == 4
                && is_entry_name(fields[0])
                && !user.is_empty()
                && user.len() <= NAME_CAPACITY
        })
        .filter(|fields| {
            fields[3]
                .split(|&byte| byte == b',')
                .any(|member| member == user)
        })
        .filter_map(|fields| id_field(fields[2]))
        .collect()
}

/// Names the subjects of the lookups' errors: the queried name and the one database file.
struct Names<'a> {
    query: &'a [u8],
    path: &'a [u8],
}

impl Context for Names<'_> {
    fn name(&self, subject: Subject) -> Option<&[u8]> {
        match subject {
            Subject::User | Subject::Group => Some(self.query),
            Subject::PasswdFile | Subject::GroupFile => Some(self.path),
            _ => None,
        }
    }
}

/// The failure an error stands for, after checking that it says so in words.
fn failure(error: ucw_daemon::Error, subject: Subject, names: &Names<'_>) -> Failure {
    let message = error.display(names).to_string();
    assert!(
        message.contains(&*String::from_utf8_lossy(names.path)),
        "{message} does not name the file"
    );
    if error.kind() == ErrorKind::TooManyGroups {
        assert_eq!(error.subject(), Subject::User, "{message}");
        return Failure::TooManyGroups;
    }
    assert_eq!(
        error.kind(),
        ErrorKind::MalformedAccount,
        "unexpected error {message}"
    );
    assert_eq!(error.subject(), subject, "{message}");
    if message.contains("home directory longer than 4095 bytes") {
        return Failure::HomeTooLong;
    }
    let flaw = if message.ends_with("is malformed (fewer than 4 fields)")
        || message.ends_with("is malformed (not 4 fields)")
    {
        Flaw::Fields
    } else if message.ends_with("is malformed (uid not a number from 0 to 4294967294)") {
        Flaw::Uid
    } else if message.ends_with("is malformed (gid not a number from 0 to 4294967294)") {
        Flaw::Gid
    } else {
        panic!("unexpected error {message}");
    };
    Failure::Malformed(flaw)
}

fn user_answer(
    result: Result<Lookup<ucw_daemon::account::UserEntry>, ucw_daemon::Error>,
    names: &Names<'_>,
) -> UserAnswer {
    match result {
        Ok(Lookup::Found(entry)) => Ok(Some((
            entry.name().to_vec(),
            entry.uid(),
            entry.gid(),
            entry.home().to_vec(),
        ))),
        Ok(Lookup::NotFound) => Ok(None),
        Ok(Lookup::NoDatabase) => panic!("the file exists"),
        Err(error) => Err(failure(error, Subject::User, names)),
    }
}

/// One file per fuzzing process (libFuzzer may run several jobs), in memory when /dev/shm
/// exists (ten times the executions of a disk-backed /tmp).
fn database_path() -> &'static CString {
    static PATH: OnceLock<CString> = OnceLock::new();
    PATH.get_or_init(|| {
        let shm = std::path::Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("ucw-fuzz-account-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        CString::new(dir.join("db").into_os_string().into_encoded_bytes()).unwrap()
    })
}

/// Group storage with room for every group the kernel allows (one per process: 256 KiB).
fn group_storage() -> &'static mut [Gid] {
    static mut STORAGE: Option<Vec<Gid>> = None;
    // SAFETY: libFuzzer calls the target from one thread at a time, and each call takes the
    // reference once.
    unsafe {
        let slot = &mut *std::ptr::addr_of_mut!(STORAGE);
        slot.get_or_insert_with(|| vec![Gid::ROOT; NGROUPS_MAX])
    }
}

/// A group lookup's answer, in the reference's terms.
fn group_answer(
    result: Result<Lookup<u32>, ucw_daemon::Error>,
    names: &Names<'_>,
) -> Result<Option<u32>, Failure> {
    match result {
        Ok(Lookup::Found(gid)) => Ok(Some(gid)),
        Ok(Lookup::NotFound) => Ok(None),
        Ok(Lookup::NoDatabase) => panic!("the file exists"),
        Err(error) => Err(failure(error, Subject::Group, names)),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&length, rest)) = data.split_first() else {
        return;
    };
    let split = (length as usize).min(rest.len());
    let (query, content) = rest.split_at(split);
    let path = database_path();
    std::fs::write(std::ffi::OsStr::from_bytes(path.as_bytes()), content).unwrap();
    let files = AccountFiles {
        passwd: path.as_c_str(),
        group: path.as_c_str(),
    };

    let names = Names {
        query,
        path: path.as_bytes(),
    };

    let got = user_answer(find_user_by_name(&files, query), &names);
    let want = reference_user(content, UserKey::Name(query));
    assert_eq!(got, want, "user by name {query:?}");

    let uid = parse_id(query).unwrap_or_else(|| query.first().copied().unwrap_or(0) as u32);
    let got = user_answer(find_user_by_uid(&files, uid), &names);
    let want = reference_user(content, UserKey::Uid(uid));
    assert_eq!(got, want, "user by uid {uid}");

    let got = group_answer(find_group_by_name(&files, query), &names);
    let want_group = reference_group(content, query);
    assert_eq!(got, want_group, "group {query:?}");

    let want: Vec<u32> = reference_memberships(content, query).into_iter().collect();
    let mut list = GroupList::new(group_storage());
    assert!(add_memberships(&files, query, &mut list).expect("no I/O error"));
    let got: Vec<u32> = list.iter().map(|gid| gid.as_raw()).collect();
    assert_eq!(got, want, "memberships of {query:?}");

    // The one-pass lookup answers what the two lookups answer.
    let mut list = GroupList::new(group_storage());
    let got = group_answer(
        find_group_with_memberships(&files, query, query, &mut list),
        &names,
    );
    assert_eq!(got, want_group, "group and memberships of {query:?}");
    let got: Vec<u32> = list.iter().map(|gid| gid.as_raw()).collect();
    assert_eq!(got, want, "memberships with the group {query:?}");

    // A list too small for the memberships: an error, after the group's own.
    let capacity = 1 + usize::from(length % 3);
    let mut small = [Gid::ROOT; 3];
    let mut list = GroupList::new(&mut small[..capacity]);
    let overflow = want.len() > capacity;
    match add_memberships(&files, query, &mut list) {
        Ok(exists) => assert!(exists && !overflow, "{capacity} {want:?}"),
        Err(error) => {
            assert!(overflow, "{error}");
            assert_eq!(
                failure(error, Subject::User, &names),
                Failure::TooManyGroups
            );
        }
    }
    let mut list = GroupList::new(&mut small[..capacity]);
    let got = group_answer(
        find_group_with_memberships(&files, query, query, &mut list),
        &names,
    );
    let want_combined = match want_group {
        Ok(Some(_)) if overflow => Err(Failure::TooManyGroups),
        other => other,
    };
    assert_eq!(
        got, want_combined,
        "group and {capacity} memberships of {query:?}"
    );
});
