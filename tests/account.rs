//! Account parsing on crafted passwd/group files: lookups, long lines, prefixes, duplicates,
//! malformed lines and their messages, glibc's field counts (against getent), missing/empty
//! files, bad numbers, the group limit and smaller group storage, reads of any size through
//! FIFOs (one pass per file), and credentials on a 64 KiB thread stack.

mod common;

use rustix::process::Gid;
use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;
use ucw_daemon::account::{self, AccountFiles, GroupList, Lookup, NGROUPS_MAX};
use ucw_daemon::credentials::{Credentials, Identity};
use ucw_daemon::daemon::Params;
use ucw_daemon::{Context, ErrorKind, Subject};

/// Owned paths of a crafted passwd/group pair.
struct Files {
    passwd: CString,
    group: CString,
}

impl Files {
    fn new(dir: &Path, passwd: Option<&[u8]>, group: Option<&[u8]>) -> Self {
        let passwd_path = dir.join("passwd");
        let group_path = dir.join("group");
        if let Some(content) = passwd {
            fs::write(&passwd_path, content).unwrap();
        }
        if let Some(content) = group {
            fs::write(&group_path, content).unwrap();
        }
        Self {
            passwd: CString::new(passwd_path.as_os_str().as_bytes()).unwrap(),
            group: CString::new(group_path.as_os_str().as_bytes()).unwrap(),
        }
    }

    fn files(&self) -> AccountFiles<'_> {
        AccountFiles {
            passwd: &self.passwd,
            group: &self.group,
        }
    }
}

fn user(files: &AccountFiles<'_>, name: &[u8]) -> Option<(u32, u32, Vec<u8>)> {
    match account::find_user_by_name(files, name).unwrap() {
        Lookup::Found(entry) => Some((entry.uid(), entry.gid(), entry.home().to_vec())),
        _ => None,
    }
}

/// `--user NAME` / `--group NAME` as a tool parses them: `#123` is an id, anything else a
/// name.
fn user_id(text: &[u8]) -> Identity<'_> {
    Identity::parse(text, Subject::User).unwrap()
}

fn group_id(text: &[u8]) -> Identity<'_> {
    Identity::parse(text, Subject::Group).unwrap()
}

/// The names a tool gives an error's subjects: the user and group as typed, the files.
struct Typed<'a> {
    user: Option<&'a [u8]>,
    group: Option<&'a [u8]>,
    files: &'a AccountFiles<'a>,
}

impl Context for Typed<'_> {
    fn name(&self, subject: Subject) -> Option<&[u8]> {
        match subject {
            Subject::User => self.user,
            Subject::Group => self.group,
            Subject::PasswdFile => Some(self.files.passwd.to_bytes()),
            Subject::GroupFile => Some(self.files.group.to_bytes()),
            _ => None,
        }
    }
}

/// Group storage with room for every group the kernel allows.
fn all_groups() -> Vec<Gid> {
    vec![Gid::ROOT; NGROUPS_MAX]
}

fn memberships(files: &AccountFiles<'_>, name: &[u8]) -> Vec<u32> {
    let mut storage = all_groups();
    let mut list = GroupList::new(&mut storage);
    assert!(account::add_memberships(files, name, &mut list).unwrap());
    list.iter().map(|gid| gid.as_raw()).collect()
}

/// The error of parsing and resolving `user` and `group` as typed, rendered as a program
/// prints it: a parse error against the typed text (as the tools do), a resolve error
/// against the `daemon::Params` that would carry these identities (the embedder's way).
fn resolve_error(files: &AccountFiles<'_>, user: Option<&[u8]>, group: Option<&[u8]>) -> String {
    let parsed = user
        .map(|text| Identity::parse(text, Subject::User))
        .transpose()
        .and_then(|user| {
            Ok((
                user,
                group
                    .map(|text| Identity::parse(text, Subject::Group))
                    .transpose()?,
            ))
        });
    let (user, group) = match parsed {
        Ok(identities) => identities,
        Err(error) => return error.display(&Typed { user, group, files }).to_string(),
    };
    let mut storage = all_groups();
    let mut credentials = Credentials::new(&mut storage);
    let error = credentials.resolve(user, group, files).unwrap_err();
    assert!(credentials.uid().is_none() && credentials.gid().is_none());
    let params = Params {
        user,
        group,
        account_files: *files,
        ..Params::default()
    };
    error.display(&params).to_string()
}

const PASSWD: &[u8] = b"root:x:0:0:root:/root:/bin/sh\n\
alice:x:61001:61001:Alice:/home/alice:/bin/sh\n\
al:x:61002:61002::/home/al:/bin/sh\n\
alice:x:61999:61999:second alice:/nowhere:/bin/sh\n\
dup:x:61003:61003::/first:/bin/sh\n\
dup:x:61004:61004::/second:/bin/sh\n";

#[test]
fn lookups_by_name_and_uid_first_match_wins() {
    let dir = common::TempDir::new("account-basic");
    let files = Files::new(
        dir.path(),
        Some(PASSWD),
        Some(b"staff:x:61100:alice,bob\nstaff:x:61101:al\n"),
    );
    let files = files.files();
    assert_eq!(
        user(&files, b"alice"),
        Some((61001, 61001, b"/home/alice".to_vec()))
    );
    assert_eq!(
        user(&files, b"al"),
        Some((61002, 61002, b"/home/al".to_vec()))
    );
    assert_eq!(
        user(&files, b"dup"),
        Some((61003, 61003, b"/first".to_vec()))
    );
    assert_eq!(user(&files, b"ali"), None);
    assert_eq!(user(&files, b"alicex"), None);
    match account::find_user_by_uid(&files, 61999).unwrap() {
        Lookup::Found(entry) => assert_eq!(entry.name(), b"alice"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        account::find_user_by_uid(&files, 62000).unwrap(),
        Lookup::NotFound
    ));
    // Duplicate group names: the first wins for a lookup...
    assert_eq!(
        account::find_group_by_name(&files, b"staff").unwrap(),
        Lookup::Found(61100)
    );
    // ...and every line counts for membership.
    assert_eq!(memberships(&files, b"al"), vec![61101]);
    assert_eq!(memberships(&files, b"alice"), vec![61100]);
    assert_eq!(memberships(&files, b"bob"), vec![61100]);
    assert_eq!(memberships(&files, b"ali"), Vec::<u32>::new());
}

#[test]
fn prefix_names_never_match() {
    let dir = common::TempDir::new("account-prefix");
    let files = Files::new(
        dir.path(),
        Some(b"alice:x:61001:61001::/:/bin/sh\n"),
        Some(b"g1:x:61101:alice2,xalice,alic\ng2:x:61102:alicealice\ng3:x:61103:,alice,\nalice:x:61104:\n"),
    );
    let files = files.files();
    assert_eq!(memberships(&files, b"alice"), vec![61103]);
    assert_eq!(
        account::find_group_by_name(&files, b"alic").unwrap(),
        Lookup::NotFound
    );
    assert_eq!(
        account::find_group_by_name(&files, b"alice").unwrap(),
        Lookup::Found(61104)
    );
    assert_eq!(user(&files, b"alic"), None);
}

#[test]
fn one_mebibyte_group_line() {
    let dir = common::TempDir::new("account-long");
    let mut group = Vec::new();
    group.extend_from_slice(b"huge:x:61200:");
    let mut index = 0;
    while group.len() < 1 << 20 {
        group.extend_from_slice(format!("member{index},").as_bytes());
        index += 1;
    }
    group.extend_from_slice(b"target\n");
    // A long line must not confuse the lines after it.
    group.extend_from_slice(b"after:x:61201:target\n");
    let mut name_line = vec![b'n'; 1 << 20];
    name_line.extend_from_slice(b":x:61202:target\n");
    group.extend_from_slice(&name_line);
    group.extend_from_slice(b"last:x:61203:other,target");
    let files = Files::new(dir.path(), Some(b""), Some(&group));
    let files = files.files();
    assert_eq!(
        memberships(&files, b"target"),
        vec![61200, 61201, 61202, 61203]
    );
    assert_eq!(memberships(&files, b"member77"), vec![61200]);
    assert_eq!(memberships(&files, b"member"), Vec::<u32>::new());
    assert_eq!(
        account::find_group_by_name(&files, b"last").unwrap(),
        Lookup::Found(61203)
    );
    assert_eq!(
        account::find_group_by_name(&files, b"n").unwrap(),
        Lookup::NotFound
    );
}

/// A passwd entry has at least four fields, as glibc's parser wants: `name:password:uid:gid`,
/// then the gecos, the home directory and the shell when they are there (the shell is the
/// rest of the line, colons included).
#[test]
fn passwd_lines_need_four_fields_and_numeric_ids() {
    let dir = common::TempDir::new("account-passwd-fields");
    let passwd = b"three:x:61301\n\
four:x:61302:61302\n\
five:x:61303:61303:gecos\n\
six:x:61304:61304:gecos:/six\n\
eight:x:61305:61305::/eight:/bin/sh:extra\n\
nohome:x:4243:4243::\n\
three:x:61308:61308::/three:/bin/sh\n";
    let files = Files::new(dir.path(), Some(passwd), Some(b""));
    let files = files.files();
    for (name, expected) in [
        (&b"four"[..], (61302, 61302, &b""[..])),
        (b"five", (61303, 61303, b"")),
        (b"six", (61304, 61304, b"/six")),
        (b"eight", (61305, 61305, b"/eight")),
        (b"nohome", (4243, 4243, b"")),
        // A line with too few fields is skipped: a later entry for the name wins.
        (b"three", (61308, 61308, b"/three")),
    ] {
        let (uid, gid, home) = expected;
        assert_eq!(
            user(&files, name),
            Some((uid, gid, home.to_vec())),
            "{}",
            String::from_utf8_lossy(name)
        );
    }
    match account::find_user_by_uid(&files, 4243).unwrap() {
        Lookup::Found(entry) => assert_eq!(entry.name(), b"nohome"),
        other => panic!("{other:?}"),
    }
    // An entry without a home directory resolves; the credentials say its home is empty.
    let mut storage = all_groups();
    let mut credentials = Credentials::new(&mut storage);
    credentials
        .resolve(Some(user_id(b"nohome")), None, &files)
        .unwrap();
    assert_eq!(credentials.home(), Some(&b""[..]));
    assert_eq!(credentials.user_name(), Some(&b"nohome"[..]));
}

#[test]
fn malformed_lines_are_skipped_and_named() {
    let dir = common::TempDir::new("account-malformed");
    let passwd = b"\n\
# comment:x:61300:61300::/:/bin/sh\n\
short:x:61301\n\
badid:x:abc:61303::/:/bin/sh\n\
negative:x:-1:61304::/:/bin/sh\n\
huge:x:4294967295:61305::/:/bin/sh\n\
badgid:x:61320:x::/:/bin/sh\n\
emptygid:x:61321:\n\
one\n\
two:x\n\
mixed:x:61322\n\
mixed:x:abc:61322::/:/bin/sh\n\
+nis:x:61306:61306::/:/bin/sh\n\
:x:61307:61307::/:/bin/sh\n\
short:x:61308:61308::/short:/bin/sh\n\
nonl:x:61310:61310::/nonl:/bin/sh";
    let group = b"bad1:x:61401\nbad2:x:x:nonl\nbad3:x:61403:nonl:extra\n#c:x:61404:nonl\n\
ok:x:61405:nonl\n:x:61406:nonl\nbad4\nbad5:x\nlast:x:61407:nonl";
    let files = Files::new(dir.path(), Some(passwd), Some(group));
    let files = files.files();
    assert_eq!(
        user(&files, b"short"),
        Some((61308, 61308, b"/short".to_vec()))
    );
    assert_eq!(
        user(&files, b"nonl"),
        Some((61310, 61310, b"/nonl".to_vec()))
    );
    // Comments and NIS markers are no entries at all: nobody of that name.
    for skipped in [&b"+nis"[..], b"# comment"] {
        assert_eq!(user(&files, skipped), None, "{skipped:?}");
    }
    // A name whose only lines are malformed is skipped too, but said so: not "no such user",
    // and the message names what is wrong with the first of them.
    let passwd_path = files.passwd.to_str().unwrap();
    for (malformed, why) in [
        (&b"badid"[..], "uid not a number from 0 to 4294967294"),
        (b"negative", "uid not a number from 0 to 4294967294"),
        (b"huge", "uid not a number from 0 to 4294967294"),
        (b"badgid", "gid not a number from 0 to 4294967294"),
        (b"emptygid", "gid not a number from 0 to 4294967294"),
        (b"one", "fewer than 4 fields"),
        (b"two", "fewer than 4 fields"),
        (b"mixed", "fewer than 4 fields"),
    ] {
        let error = account::find_user_by_name(&files, malformed).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::MalformedAccount, "{malformed:?}");
        let text = String::from_utf8_lossy(malformed);
        assert_eq!(
            resolve_error(&files, Some(malformed), None),
            format!("The entry of user `{text}` in {passwd_path} is malformed ({why})")
        );
    }
    for uid in [61300, 61301, 61303, 61306, 61307, 61320] {
        assert!(
            matches!(
                account::find_user_by_uid(&files, uid).unwrap(),
                Lookup::NotFound
            ),
            "{uid}"
        );
    }
    assert_eq!(memberships(&files, b"nonl"), vec![61405, 61407]);
    let group_path = files.group.to_str().unwrap();
    for (malformed, why) in [
        (&b"bad1"[..], "not 4 fields"),
        (b"bad2", "gid not a number from 0 to 4294967294"),
        (b"bad3", "not 4 fields"),
        (b"bad4", "not 4 fields"),
        (b"bad5", "not 4 fields"),
    ] {
        let error = account::find_group_by_name(&files, malformed).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::MalformedAccount, "{malformed:?}");
        let text = String::from_utf8_lossy(malformed);
        assert_eq!(
            resolve_error(&files, None, Some(malformed)),
            format!("The entry of group `{text}` in {group_path} is malformed ({why})")
        );
    }
    assert_eq!(
        account::find_group_by_name(&files, b"#c").unwrap(),
        Lookup::NotFound
    );
    assert_eq!(
        account::find_group_by_name(&files, b"ok").unwrap(),
        Lookup::Found(61405)
    );
}

#[test]
fn empty_and_missing_files() {
    let dir = common::TempDir::new("account-empty");
    let empty = Files::new(dir.path(), Some(b""), Some(b""));
    let files = empty.files();
    assert!(matches!(
        account::find_user_by_name(&files, b"x").unwrap(),
        Lookup::NotFound
    ));
    assert_eq!(
        account::find_group_by_name(&files, b"x").unwrap(),
        Lookup::NotFound
    );
    assert_eq!(
        resolve_error(&files, Some(b"x"), None),
        format!("No such user `x` in {}", empty.passwd.to_str().unwrap())
    );

    let missing_dir = common::TempDir::new("account-missing");
    let missing = Files::new(missing_dir.path(), None, None);
    let files = missing.files();
    assert!(matches!(
        account::find_user_by_name(&files, b"x").unwrap(),
        Lookup::NoDatabase
    ));
    let mut storage = all_groups();
    let mut list = GroupList::new(&mut storage);
    assert!(!account::add_memberships(&files, b"x", &mut list).unwrap());
    assert_eq!(
        resolve_error(&files, Some(b"x"), None),
        format!("No such user `x` (no {})", missing.passwd.to_str().unwrap())
    );
    assert_eq!(
        resolve_error(&files, None, Some(b"g")),
        format!("No such group `g` (no {})", missing.group.to_str().unwrap())
    );
    // Numeric ids still work without the databases.
    let mut storage = all_groups();
    let mut credentials = Credentials::new(&mut storage);
    credentials
        .resolve(Some(user_id(b"#61500")), Some(group_id(b"#61501")), &files)
        .unwrap();
    assert_eq!(credentials.uid().unwrap().as_raw(), 61500);
    assert_eq!(credentials.gid().unwrap().as_raw(), 61501);
    assert_eq!(credentials.groups().len(), 1);
    assert_eq!(credentials.user_name(), None);
    // A directory where a file should be is an I/O error naming it.
    let dir_files = AccountFiles {
        passwd: c"/",
        group: c"/",
    };
    let message = resolve_error(&dir_files, Some(b"x"), None);
    assert_eq!(
        message,
        "Cannot read passwd file /: EISDIR (Is a directory)"
    );
}

#[test]
fn bad_numbers_are_rejected() {
    let dir = common::TempDir::new("account-numbers");
    let files = Files::new(dir.path(), Some(PASSWD), Some(b""));
    let files = files.files();
    for bad in [
        &b"#"[..],
        b"#-1",
        b"#abc",
        b"#4294967295",
        b"#99999999999",
        b"#+1",
        b"# 1",
    ] {
        let text = String::from_utf8_lossy(bad);
        assert_eq!(
            resolve_error(&files, Some(bad), Some(b"#1")),
            format!("Invalid user id `{text}`: expected # and a number from 0 to 4294967294")
        );
        assert_eq!(
            resolve_error(&files, None, Some(bad)),
            format!("Invalid group id `{text}`: expected # and a number from 0 to 4294967294")
        );
    }
    assert_eq!(
        Identity::parse(b"#4294967294", Subject::User),
        Ok(Identity::Id(4_294_967_294))
    );
    assert!(Identity::parse(b"#4294967295", Subject::User).is_err());
    assert_eq!(Identity::parse(b"#0", Subject::Group), Ok(Identity::Id(0)));
}

#[test]
fn too_many_groups_is_a_clear_error() {
    let dir = common::TempDir::new("account-many");
    let mut group = Vec::new();
    // NGROUPS_MAX - 1 memberships plus the primary gid fit exactly.
    for index in 0..NGROUPS_MAX as u32 - 1 {
        group.extend_from_slice(format!("g{index}:x:{}:many\n", 100_000 + index).as_bytes());
    }
    let passwd = b"many:x:61600:61600::/:/bin/sh\n";
    let fitting = Files::new(dir.path(), Some(passwd), Some(&group));
    let mut storage = all_groups();
    let mut credentials = Credentials::new(&mut storage);
    credentials
        .resolve(Some(user_id(b"many")), None, &fitting.files())
        .unwrap();
    assert_eq!(credentials.groups().len(), NGROUPS_MAX);

    group.extend_from_slice(b"onemore:x:99999:many\n");
    let overflowing = Files::new(dir.path(), Some(passwd), Some(&group));
    assert_eq!(
        resolve_error(&overflowing.files(), Some(b"many"), None),
        format!(
            "User `many` belongs to more than 65536 groups (NGROUPS_MAX) in {}",
            overflowing.group.to_str().unwrap()
        )
    );
}

/// Storage for fewer groups than the kernel allows: exactly full is fine (the primary gid
/// among the memberships takes no extra room), one more is a clear error, never a cut list;
/// an explicit group that does not exist is said first.
#[test]
fn group_storage_smaller_than_the_kernel_limit() {
    let dir = common::TempDir::new("account-capacity");
    let files = Files::new(
        dir.path(),
        Some(b"small:x:61610:61610::/:/bin/sh\n"),
        Some(b"a:x:61611:small\nb:x:61612:small\nown:x:61610:small\nb2:x:61612:small\n"),
    );
    let files = files.files();
    let mut storage = [Gid::ROOT; 3];
    let mut credentials = Credentials::new(&mut storage);
    credentials
        .resolve(Some(user_id(b"small")), None, &files)
        .unwrap();
    let groups: Vec<u32> = credentials
        .groups()
        .iter()
        .map(|gid| gid.as_raw())
        .collect();
    assert_eq!(groups, vec![61610, 61611, 61612]);
    let mut storage = [Gid::ROOT; 2];
    let mut credentials = Credentials::new(&mut storage);
    let error = credentials
        .resolve(Some(user_id(b"small")), None, &files)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::TooManyGroups);
    assert!(credentials.uid().is_none() && credentials.gid().is_none());
    let typed = Typed {
        user: Some(b"small"),
        group: None,
        files: &files,
    };
    assert_eq!(
        error.display(&typed).to_string(),
        format!(
            "User `small` belongs to more than 2 groups in {} (the room its credentials were given)",
            files.group.to_str().unwrap()
        )
    );
    let error = credentials
        .resolve(Some(user_id(b"small")), Some(group_id(b"nosuch")), &files)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NoSuchGroup);
    // The explicit group need not be among the memberships: it is added after them.
    let mut storage = [Gid::ROOT; 3];
    let mut credentials = Credentials::new(&mut storage);
    let error = credentials
        .resolve(Some(user_id(b"small")), Some(group_id(b"#5")), &files)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::TooManyGroups);
}

#[test]
fn credential_rules() {
    let dir = common::TempDir::new("account-rules");
    let files = Files::new(
        dir.path(),
        Some(PASSWD),
        Some(
            b"staff:x:61100:alice\nwheel:x:61101:bob,alice\nstaff2:x:61100:alice\nother:x:61102:\n",
        ),
    );
    let files = files.files();
    let mut storage = all_groups();
    let mut credentials = Credentials::new(&mut storage);
    let groups = |credentials: &Credentials| -> Vec<u32> {
        credentials
            .groups()
            .iter()
            .map(|gid| gid.as_raw())
            .collect()
    };
    // User alone: passwd gid + memberships (deduplicated, sorted).
    credentials
        .resolve(Some(user_id(b"alice")), None, &files)
        .unwrap();
    assert_eq!(credentials.uid().unwrap().as_raw(), 61001);
    assert_eq!(credentials.gid().unwrap().as_raw(), 61001);
    assert_eq!(groups(&credentials), vec![61001, 61100, 61101]);
    assert_eq!(credentials.user_name(), Some(&b"alice"[..]));
    assert_eq!(credentials.home(), Some(&b"/home/alice"[..]));
    // User + explicit group: initgroups with that gid.
    credentials
        .resolve(Some(user_id(b"alice")), Some(group_id(b"other")), &files)
        .unwrap();
    assert_eq!(credentials.gid().unwrap().as_raw(), 61102);
    assert_eq!(groups(&credentials), vec![61100, 61101, 61102]);
    // #uid listed in passwd behaves as the user (first entry with that uid).
    credentials
        .resolve(Some(user_id(b"#61999")), None, &files)
        .unwrap();
    assert_eq!(credentials.uid().unwrap().as_raw(), 61999);
    assert_eq!(credentials.gid().unwrap().as_raw(), 61999);
    assert_eq!(credentials.home(), Some(&b"/nowhere"[..]));
    assert_eq!(credentials.user_name(), Some(&b"alice"[..]));
    // #uid not listed: a group is required.
    assert_eq!(
        resolve_error(&files, Some(b"#62000"), None),
        format!(
            "User #62000 is not listed in {}: give a group too",
            files.passwd.to_str().unwrap()
        )
    );
    credentials
        .resolve(Some(user_id(b"#62000")), Some(group_id(b"wheel")), &files)
        .unwrap();
    assert_eq!(groups(&credentials), vec![61101]);
    assert_eq!(credentials.user_name(), None);
    // Group alone.
    credentials
        .resolve(None, Some(group_id(b"#0")), &files)
        .unwrap();
    assert!(credentials.uid().is_none());
    assert_eq!(groups(&credentials), vec![0]);
    // Nothing.
    credentials.resolve(None, None, &files).unwrap();
    assert!(credentials.uid().is_none() && credentials.gid().is_none());
    assert!(credentials.groups().is_empty());
    // Unknown names.
    assert_eq!(
        resolve_error(&files, Some(b"alice"), Some(b"nogroup")),
        format!(
            "No such group `nogroup` in {}",
            files.group.to_str().unwrap()
        )
    );
    assert_eq!(
        resolve_error(&files, Some(b""), None),
        "Invalid user name ``"
    );
}

/// A `Credentials` lives on the stack of a small thread (64 KiB, half of a musl thread's
/// default) and resolves a user with supplementary groups there: the value is a few KiB and
/// the lookups read through a 16 KiB buffer. (When the value held room for every group it
/// was 260 KiB and overflowed such a stack.)
#[test]
fn credentials_fit_a_64_kib_thread_stack() {
    let dir = common::TempDir::new("account-stack");
    let files = Files::new(
        dir.path(),
        Some(PASSWD),
        Some(b"staff:x:61100:alice\nwheel:x:61101:bob,alice\n"),
    );
    let passwd = files.passwd.clone();
    let group = files.group.clone();
    let groups = std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(move || {
            let files = AccountFiles {
                passwd: &passwd,
                group: &group,
            };
            let mut storage = [Gid::ROOT; 1024];
            let mut credentials = Credentials::new(&mut storage);
            credentials
                .resolve(Some(user_id(b"alice")), Some(group_id(b"wheel")), &files)
                .unwrap();
            let groups: Vec<u32> = credentials
                .groups()
                .iter()
                .map(|gid| gid.as_raw())
                .collect();
            (credentials.uid().unwrap().as_raw(), groups)
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(groups, (61001, vec![61100, 61101]));
}

/// What glibc's files backend makes of the user `name` in the passwd file at `passwd`:
/// `(uid, gid, home)` (`home` is `None` where `getent` cannot print the entry: a shell with
/// a `:`), or `None` when it finds no such user. Asked through `id` and `getent passwd`, in
/// a mount namespace of their own where `passwd` is bind-mounted over `/etc/passwd`.
fn glibc_users(passwd: &Path, names: &[&str]) -> Vec<Option<(u32, u32, Option<String>)>> {
    const SCRIPT: &str = r#"mount --bind "$1" /etc/passwd || exit 99
shift
for name; do
    if uid=$(id -u -- "$name" 2>/dev/null); then
        line=$(getent passwd -- "$name" 2>/dev/null)
        echo "found $uid $(id -g -- "$name") ${line:+$(printf '%s' "$line" | cut -d: -f6)/}"
    else
        echo missing
    fi
done"#;
    let output = std::process::Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            SCRIPT,
            "sh",
        ])
        .arg(passwd)
        .args(names)
        .output()
        .expect("unshare (util-linux) runs");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let answers: Vec<_> = stdout
        .lines()
        .map(|line| {
            let words: Vec<&str> = line.split(' ').collect();
            match words[..] {
                ["missing"] => None,
                ["found", uid, gid, home] => Some((
                    uid.parse().unwrap(),
                    gid.parse().unwrap(),
                    // `getent` printed the entry: its home directory, marked with a `/`.
                    home.strip_suffix('/').map(str::to_string),
                )),
                _ => panic!("unexpected line {line:?}"),
            }
        })
        .collect();
    assert_eq!(answers.len(), names.len(), "{stdout}");
    answers
}

/// glibc and we agree on every field count of a passwd line: fewer than 4 fields is not an
/// entry; the gecos, home directory and shell may be missing; the shell is the rest of the
/// line, colons included (8 and 9 fields; `getent` then refuses to print the entry, `id`
/// still finds it). Compared with `getent passwd` and `id` on a crafted `/etc/passwd`.
/// glibc's number parser (`strtoul`) is looser than ours: it also takes blanks, a sign and
/// more than 16 digits, which we refuse (documented in tests/README.md).
#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: bind-mounts a crafted /etc/passwd in a mount namespace for getent"
)]
fn passwd_field_counts_agree_with_glibc() {
    common::require_root("bind-mounting a crafted /etc/passwd");
    let dir = common::TempDir::new("account-glibc");
    let passwd = b"one\n\
two:x\n\
three:x:61701\n\
four:x:61702:61702\n\
five:x:61703:61703:gecos\n\
six:x:61704:61704:gecos:/six\n\
seven:x:61705:61705:gecos:/seven:/bin/sh\n\
eight:x:61706:61706:gecos:/eight:/bin/sh:extra\n\
nine:x:61707:61707:gecos:/nine:/bin/sh:a:b\n\
nohome:x:4243:4243::\n\
emptyuid:x::61708::/:/bin/sh\n\
emptygid:x:61709:::/:/bin/sh\n\
letters:x:6a:61710::/:/bin/sh\n\
blank:x: 61711:61711::/:/bin/sh\n\
plus:x:+61712:61712::/:/bin/sh\n\
zeros:x:00000000000000061713:61713::/:/bin/sh\n";
    let files = Files::new(dir.path(), Some(passwd), Some(b""));
    let names = [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "nohome",
        "emptyuid", "emptygid", "letters",
    ];
    let glibc = glibc_users(&dir.join("passwd"), &names);
    let files = files.files();
    for (name, glibc) in names.iter().zip(&glibc) {
        // Not an entry: "no such user" or, the only line for the name being malformed, said so.
        let ours = match account::find_user_by_name(&files, name.as_bytes()) {
            Ok(Lookup::Found(entry)) => Some((entry.uid(), entry.gid(), entry.home().to_vec())),
            Ok(_) => None,
            Err(error) => {
                assert_eq!(error.kind(), ErrorKind::MalformedAccount, "{name}");
                None
            }
        };
        match (glibc, &ours) {
            (None, None) => {}
            (Some((uid, gid, home)), Some((our_uid, our_gid, our_home))) => {
                assert_eq!((uid, gid), (our_uid, our_gid), "{name}");
                if let Some(home) = home {
                    assert_eq!(home.as_bytes(), &our_home[..], "{name}");
                }
            }
            _ => panic!("{name}: glibc {glibc:?}, ours {ours:?}"),
        }
    }
    assert_eq!(
        glibc.iter().filter(|answer| answer.is_some()).count(),
        7,
        "four to nine fields and nohome are entries for glibc: {glibc:?}"
    );
    // Looser numbers: entries for glibc, malformed for us.
    let looser = ["blank", "plus", "zeros"];
    for (name, glibc) in looser.iter().zip(glibc_users(&dir.join("passwd"), &looser)) {
        assert!(glibc.is_some(), "{name}: glibc no longer accepts it");
        let error = account::find_user_by_name(&files, name.as_bytes()).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::MalformedAccount, "{name}");
    }
}

/// A FIFO that serves `content` to the one reader that opens it, in chunks whose sizes cycle
/// through `chunks`, each written only once the reader has taken the one before (so every
/// read returns at most one chunk, whatever the reader asks for). As soon as the reader has
/// opened it, a directory takes its place: a second pass over the file cannot read it
/// (`EISDIR`).
struct Fifo {
    serving: std::thread::JoinHandle<()>,
}

impl Fifo {
    fn serve(path: &Path, content: Vec<u8>, chunks: Vec<usize>) -> Self {
        let path = CString::new(path.as_os_str().as_bytes()).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            path.as_c_str(),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let serving = std::thread::spawn(move || {
            // Blocks until the reader opens it.
            let pipe = rustix::fs::open(
                path.as_c_str(),
                rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            )
            .unwrap();
            rustix::fs::unlink(path.as_c_str()).unwrap();
            rustix::fs::mkdir(path.as_c_str(), rustix::fs::Mode::from_raw_mode(0o700)).unwrap();
            let reader_gone = || {
                let mut poll = [rustix::event::PollFd::new(
                    &pipe,
                    rustix::event::PollFlags::OUT,
                )];
                rustix::event::poll(&mut poll, Some(&rustix::event::Timespec::default())).unwrap();
                poll[0].revents().contains(rustix::event::PollFlags::ERR)
            };
            let mut sizes = chunks.iter().cycle();
            let mut rest = &content[..];
            while !rest.is_empty() && !reader_gone() {
                // The reader has taken everything so far.
                while rustix::io::ioctl_fionread(&pipe).unwrap() > 0 && !reader_gone() {
                    std::thread::sleep(Duration::from_micros(50));
                }
                let (chunk, after) = rest.split_at((*sizes.next().unwrap()).min(rest.len()));
                let mut unwritten = chunk;
                while let Ok(count @ 1..) = rustix::io::write(&pipe, unwritten) {
                    unwritten = &unwritten[count..];
                }
                rest = after;
            }
        });
        Self { serving }
    }

    fn finish(self) {
        self.serving.join().unwrap();
    }
}

/// A user switch with an explicit group reads each account file once, in one pass, and
/// gets the same answer whatever size the reads return: both files are FIFOs that hand
/// out their content a few bytes at a time (and once a chunk larger than the lookup's
/// buffer), and that say whether they were opened again.
#[test]
fn each_file_is_read_once_whatever_the_reads_return() {
    let dir = common::TempDir::new("account-fifo");
    let mut passwd = Vec::new();
    for index in 0..2000 {
        passwd.extend_from_slice(
            format!(
                "user{index}:x:{}:{}:User {index}:/home/user{index}:/bin/sh\n",
                62000 + index,
                62000 + index
            )
            .as_bytes(),
        );
    }
    passwd.extend_from_slice(b"fifouser:x:61900:61900:FIFO user:/home/fifouser:/bin/sh\n");
    let mut group = Vec::new();
    for index in 0..1500u32 {
        // The user in every 97th group, among members that look alike.
        let members = (0..8)
            .map(|member| {
                if member == 3 && index % 97 == 0 {
                    "fifouser".to_string()
                } else {
                    format!("fifouse{member}")
                }
            })
            .collect::<Vec<_>>()
            .join(",");
        group.extend_from_slice(format!("g{index}:x:{}:{members}\n", 63000 + index).as_bytes());
    }
    // A line longer than the lookup's buffer, the user last; the explicit group; a line of
    // the group's name after it (first match wins).
    group.extend_from_slice(b"long:x:61950:");
    for member in 0..4000 {
        group.extend_from_slice(format!("m{member},").as_bytes());
    }
    group.extend_from_slice(b"fifouser\nwanted:x:61960:nobody\nwanted:x:61961:fifouser\n");
    let expected_groups: Vec<u32> = (0..1500u32)
        .filter(|index| index % 97 == 0)
        .map(|index| 63000 + index)
        .chain([61950, 61961])
        .collect();
    let passwd_path = dir.join("passwd");
    let group_path = dir.join("group");
    // Chunks of 1 to 23 bytes, and now and then one of 20,000 (more than the lookup's buffer
    // holds).
    let chunks: Vec<usize> = [1, 2, 3, 5, 7, 11, 13, 17, 19, 23]
        .repeat(60)
        .into_iter()
        .chain([20_000])
        .collect();
    let passwd_fifo = Fifo::serve(&passwd_path, passwd, chunks.clone());
    let group_fifo = Fifo::serve(&group_path, group, chunks);
    let files = Files {
        passwd: CString::new(passwd_path.as_os_str().as_bytes()).unwrap(),
        group: CString::new(group_path.as_os_str().as_bytes()).unwrap(),
    };
    let mut storage = all_groups();
    let mut credentials = Credentials::new(&mut storage);
    let resolved = credentials.resolve(
        Some(user_id(b"fifouser")),
        Some(group_id(b"wanted")),
        &files.files(),
    );
    passwd_fifo.finish();
    group_fifo.finish();
    if let Err(error) = resolved {
        if error.errno() == Some(rustix::io::Errno::ISDIR) {
            panic!("an account file was read a second time: {error}");
        }
        panic!("{error}");
    }
    assert_eq!(credentials.uid().unwrap().as_raw(), 61900);
    assert_eq!(credentials.gid().unwrap().as_raw(), 61960);
    let mut want = expected_groups;
    want.push(61960);
    want.sort_unstable();
    let groups: Vec<u32> = credentials
        .groups()
        .iter()
        .map(|gid| gid.as_raw())
        .collect();
    assert_eq!(groups, want);
    assert_eq!(credentials.home(), Some(&b"/home/fifouser"[..]));
}
