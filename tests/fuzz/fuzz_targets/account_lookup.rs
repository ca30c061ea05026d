//! Fuzzes the streaming passwd/group parser (`account`) against a plain std reference of the
//! documented rules (DESIGN.md §6): `name:password:uid:gid:gecos:home:shell` and
//! `name:password:gid:members` lines, malformed lines skipped, first match wins, members
//! matched exactly, ids decimal and at most 4,294,967,294.
//!
//! Input: one byte `n`, then `n` bytes of query (a name, and a uid when it is decimal), then
//! the file content, which serves as both the passwd and the group file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::BTreeSet;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::sync::OnceLock;
use ucw_daemon::account::{
    add_memberships, find_group_by_name, find_user_by_name, find_user_by_uid, parse_id,
    AccountFiles, GroupList, Lookup, HOME_CAPACITY, NAME_CAPACITY,
};

/// Longest id field the parser reads (ids with more characters, i.e. leading zeros, are
/// malformed for it; glibc would accept `000…01`: reported, see tests/README.md).
const ID_FIELD_CAPACITY: usize = 16;

fn id_field(text: &[u8]) -> Option<u32> {
    if text.len() > ID_FIELD_CAPACITY {
        return None;
    }
    parse_id(text)
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

/// The first passwd line that matches, or Err(()) when its home directory is too long.
type UserAnswer = Result<Option<(Vec<u8>, u32, u32, Vec<u8>)>, ()>;

fn reference_user(content: &[u8], matches: impl Fn(&[u8], u32) -> bool) -> UserAnswer {
    for fields in lines(content) {
        if fields.len() != 7 || fields[0].len() > NAME_CAPACITY {
            continue;
        }
        let (Some(uid), Some(gid)) = (id_field(fields[2]), id_field(fields[3])) else {
            continue;
        };
        if is_entry_name(fields[0]) && matches(fields[0], uid) {
            if fields[5].len() > HOME_CAPACITY {
                return Err(());
            }
            return Ok(Some((fields[0].to_vec(), uid, gid, fields[5].to_vec())));
        }
    }
    Ok(None)
}

fn reference_group(content: &[u8], name: &[u8]) -> Option<u32> {
    lines(content)
        .filter(|fields| fields.len() == 4 && fields[0].len() <= NAME_CAPACITY)
        .filter(|fields| is_entry_name(fields[0]) && fields[0] == name)
        .find_map(|fields| id_field(fields[2]))
}

fn reference_memberships(content: &[u8], user: &[u8]) -> BTreeSet<u32> {
    lines(content)
        .filter(|fields| fields.len() == 4 && is_entry_name(fields[0]) && !user.is_empty())
        .filter(|fields| fields[3].split(|&byte| byte == b',').any(|member| member == user))
        .filter_map(|fields| id_field(fields[2]))
        .collect()
}

fn user_answer(result: ucw_daemon::Result<Lookup<ucw_daemon::account::UserEntry>>) -> UserAnswer {
    match result {
        Ok(Lookup::Found(entry)) => Ok(Some((
            entry.name().to_vec(),
            entry.uid(),
            entry.gid(),
            entry.home().to_vec(),
        ))),
        Ok(Lookup::NotFound) => Ok(None),
        Ok(Lookup::NoDatabase) => panic!("the file exists"),
        Err(error) => {
            assert!(
                error.message().contains("home directory longer"),
                "unexpected error {}",
                error.message()
            );
            Err(())
        }
    }
}

/// One file per fuzzing process (libFuzzer may run several jobs), in memory when /dev/shm
/// exists (ten times the executions of a disk-backed /tmp).
fn database_path() -> &'static CString {
    static PATH: OnceLock<CString> = OnceLock::new();
    PATH.get_or_init(|| {
        let shm = std::path::Path::new("/dev/shm");
        let base = if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() };
        let dir = base.join(format!("ucw-fuzz-account-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        CString::new(dir.join("db").into_os_string().into_encoded_bytes()).unwrap()
    })
}

fn group_list() -> &'static mut GroupList {
    // A GroupList is 256 KiB: one per process, on the heap.
    static mut LIST: Option<Box<GroupList>> = None;
    // SAFETY: libFuzzer calls the target from one thread at a time.
    unsafe {
        let slot = &mut *std::ptr::addr_of_mut!(LIST);
        slot.get_or_insert_with(|| Box::new(GroupList::new()))
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

    let got = user_answer(find_user_by_name(&files, query));
    let want = reference_user(content, |name, _| name == query);
    assert_eq!(got, want, "user by name {query:?}");

    let uid = parse_id(query).unwrap_or_else(|| query.first().copied().unwrap_or(0) as u32);
    let got = user_answer(find_user_by_uid(&files, uid));
    let want = reference_user(content, |_, line_uid| line_uid == uid);
    assert_eq!(got, want, "user by uid {uid}");

    let got = match find_group_by_name(&files, query).expect("no I/O error") {
        Lookup::Found(gid) => Some(gid),
        Lookup::NotFound => None,
        Lookup::NoDatabase => panic!("the file exists"),
    };
    assert_eq!(got, reference_group(content, query), "group {query:?}");

    let list = group_list();
    list.clear();
    assert!(add_memberships(&files, query, list).expect("no I/O error"));
    let got: Vec<u32> = list.as_slice().iter().map(|gid| gid.as_raw()).collect();
    let want: Vec<u32> = reference_memberships(content, query).into_iter().collect();
    assert_eq!(got, want, "memberships of {query:?}");
});
