//! Resolving a user and/or group (names or `#id`) into the exact credentials a daemon will
//! run with, and switching to them irreversibly.
//!
//! This module owns the credential rules of DESIGN.md §6 (initgroups semantics, explicit
//! group, `#uid`, group alone) and the order and proof of the switch (setgroups →
//! setresgid → setresuid, ambient capabilities cleared, regaining root proven impossible).
//! It must never allocate, never switch a multi-threaded process through its public entry
//! point (raw set*id calls change one thread only), and never leave a half-switched process
//! running silently: every surprise is an error.

use crate::account::{
    self, AccountFiles, GroupList, Lookup, UserEntry, HOME_CAPACITY, NAME_CAPACITY,
};
use crate::error::{Error, Result};
use crate::text::parse_decimal;
use core::ffi::CStr;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::process::{Gid, Uid};

/// The credentials a daemon switches to: uid, primary gid, supplementary groups, and for a
/// user found in passwd its name and home directory (for `USER`, `LOGNAME`, `HOME`).
///
/// A value is about 260 KiB (the group list has room for `NGROUPS_MAX` ids), so it is
/// resolved in place: create one with [`Credentials::new`] (or in a `static`, or boxed),
/// fill it with [`Credentials::resolve`], and pass it by reference.
pub struct Credentials {
    uid: Option<Uid>,
    gid: Option<Gid>,
    groups: GroupList,
    user_name: [u8; NAME_CAPACITY],
    user_name_length: usize,
    home: [u8; HOME_CAPACITY],
    home_length: usize,
    from_passwd: bool,
}

impl Default for Credentials {
    fn default() -> Self {
        Self::new()
    }
}

/// Which kind of account a `#id` or name designates, for messages.
#[derive(Clone, Copy)]
enum Kind {
    User,
    Group,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Group => "group",
        }
    }
}

/// Splits `#123` into `Some(Ok(123))`, `#junk` into `Some(Err(..))`, and a name into `None`.
fn numeric_id(text: &[u8], kind: Kind) -> Option<Result<u32>> {
    let digits = text.strip_prefix(b"#")?;
    Some(account::parse_id(digits).ok_or_else(|| {
        Error::new("Invalid ")
            .push(kind.word())
            .push(" id `")
            .push(text)
            .push("`: expected # and a number from 0 to 4294967294")
    }))
}

fn check_name(text: &[u8], kind: Kind) -> Result<()> {
    // Not `contains`: its memchr costs the static tool ~200 bytes for a 32-byte name.
    #[allow(clippy::manual_contains)]
    let has_newline = text.iter().any(|&byte| byte == b'\n');
    if text.is_empty() || text.len() > NAME_CAPACITY || has_newline {
        return Err(Error::new("Invalid ")
            .push(kind.word())
            .push(" name `")
            .push(text)
            .push("`"));
    }
    Ok(())
}

fn not_found(kind: Kind, text: &[u8], path: &CStr, no_database: bool) -> Error {
    let error = Error::new("No such ")
        .push(kind.word())
        .push(" `")
        .push(text)
        .push(if no_database { "` (no " } else { "` in " })
        .push(path.to_bytes());
    if no_database {
        error.push(")")
    } else {
        error
    }
}

impl Credentials {
    /// "No change": switching to these credentials does nothing.
    pub const fn new() -> Self {
        Self {
            uid: None,
            gid: None,
            groups: GroupList::new(),
            user_name: [0; NAME_CAPACITY],
            user_name_length: 0,
            home: [0; HOME_CAPACITY],
            home_length: 0,
            from_passwd: false,
        }
    }

    /// Resolves `user` and `group` (each a name or `#id`, each optional) with the account
    /// files, replacing what `self` held:
    ///
    /// - a user (a name, or a `#uid` listed in passwd): that uid; primary gid = `group` when
    ///   given, else the passwd gid; supplementary groups = the primary gid plus every group
    ///   listing the user by name (initgroups, like start-stop-daemon's `--chuid u:g`);
    /// - a `#uid` not in passwd: `group` is required, supplementary groups = `[gid]`;
    /// - a group alone: that gid, supplementary groups = `[gid]`, uid unchanged;
    /// - neither: no change.
    ///
    /// Ids above 4,294,967,294 are refused (`-1` means "no change" to the kernel). A missing
    /// passwd or group file is an empty database. On error `self` is "no change".
    pub fn resolve(
        &mut self,
        user: Option<&[u8]>,
        group: Option<&[u8]>,
        files: &AccountFiles<'_>,
    ) -> Result<()> {
        self.clear();
        let result = self.resolve_inner(user, group, files);
        if result.is_err() {
            self.clear();
        }
        result
    }

    fn clear(&mut self) -> &mut Self {
        self.uid = None;
        self.gid = None;
        self.groups.clear();
        self.user_name_length = 0;
        self.home_length = 0;
        self.from_passwd = false;
        self
    }

    fn resolve_inner(
        &mut self,
        user: Option<&[u8]>,
        group: Option<&[u8]>,
        files: &AccountFiles<'_>,
    ) -> Result<()> {
        // The explicit group first: its errors do not depend on the user.
        let explicit_gid = match group {
            None => None,
            Some(text) => Some(match numeric_id(text, Kind::Group) {
                Some(gid) => gid?,
                None => {
                    check_name(text, Kind::Group)?;
                    match account::find_group_by_name(files, text)? {
                        Lookup::Found(gid) => gid,
                        Lookup::NotFound => {
                            return Err(not_found(Kind::Group, text, files.group, false))
                        }
                        Lookup::NoDatabase => {
                            return Err(not_found(Kind::Group, text, files.group, true))
                        }
                    }
                }
            }),
        };
        let Some(user_text) = user else {
            if let Some(gid) = explicit_gid {
                self.set_ids(None, gid)?;
            }
            return Ok(());
        };
        let entry: Option<UserEntry> = match numeric_id(user_text, Kind::User) {
            Some(uid) => {
                let uid = uid?;
                match account::find_user_by_uid(files, uid)? {
                    Lookup::Found(entry) => Some(entry),
                    Lookup::NotFound | Lookup::NoDatabase => {
                        let Some(gid) = explicit_gid else {
                            return Err(Error::new("User ")
                                .push(user_text)
                                .push(" is not listed in ")
                                .push(files.passwd.to_bytes())
                                .push(": give a group too"));
                        };
                        self.set_ids(Some(uid), gid)?;
                        return Ok(());
                    }
                }
            }
            None => {
                check_name(user_text, Kind::User)?;
                match account::find_user_by_name(files, user_text)? {
                    Lookup::Found(entry) => Some(entry),
                    Lookup::NotFound => {
                        return Err(not_found(Kind::User, user_text, files.passwd, false))
                    }
                    Lookup::NoDatabase => {
                        return Err(not_found(Kind::User, user_text, files.passwd, true))
                    }
                }
            }
        };
        let Some(entry) = entry else {
            return Ok(());
        };
        let gid = explicit_gid.unwrap_or(entry.gid());
        self.set_ids(Some(entry.uid()), gid)?;
        account::add_memberships(files, entry.name(), &mut self.groups)?;
        let name = entry.name();
        self.user_name[..name.len()].copy_from_slice(name);
        self.user_name_length = name.len();
        let home = entry.home();
        self.home[..home.len()].copy_from_slice(home);
        self.home_length = home.len();
        self.from_passwd = true;
        Ok(())
    }

    fn set_ids(&mut self, uid: Option<u32>, gid: u32) -> Result<()> {
        self.uid = uid.map(Uid::from_raw_unchecked);
        self.gid = Some(Gid::from_raw_unchecked(gid));
        self.groups.clear();
        // An empty list always has room.
        self.groups.insert(gid);
        Ok(())
    }

    /// The uid to switch to (`None`: keep ours).
    pub fn uid(&self) -> Option<Uid> {
        self.uid
    }

    /// The primary gid to switch to (`None`: keep ours).
    pub fn gid(&self) -> Option<Gid> {
        self.gid
    }

    /// The supplementary groups to set (sorted, primary gid included; empty when no group
    /// changes).
    pub fn groups(&self) -> &[Gid] {
        self.groups.as_slice()
    }

    /// The user's name, when the user was found in passwd.
    pub fn user_name(&self) -> Option<&[u8]> {
        self.from_passwd
            .then(|| &self.user_name[..self.user_name_length])
    }

    /// The user's home directory, when the user was found in passwd.
    pub fn home(&self) -> Option<&[u8]> {
        self.from_passwd.then(|| &self.home[..self.home_length])
    }

    /// Whether switching would change nothing at all (nothing was asked).
    pub fn is_no_change(&self) -> bool {
        self.uid.is_none() && self.gid.is_none()
    }

    /// Switches the whole process to these credentials: `setgroups`, `setresgid`,
    /// `setresuid` (each only when asked), then clears the ambient capabilities; when this
    /// leaves root, proves that `setresuid(0, 0, 0)` now fails and that the permitted and
    /// effective capability sets are empty. A non-root process may "switch" to the ids it
    /// already has: it then keeps its supplementary groups (only root may set them), but its
    /// saved ids are still replaced, so a saved set-user-ID of 0 cannot survive; root always
    /// gets the supplementary groups reset.
    ///
    /// Raw `setresuid` and friends change the calling thread only, so this refuses a
    /// multi-threaded process, as counted by the `Threads:` line of `/proc/self/status`.
    /// Without `/proc` mounted the count cannot be read and the switch proceeds: the caller
    /// must then know the process is single-threaded.
    pub fn switch(&self) -> Result<()> {
        if self.is_no_change() {
            return Ok(());
        }
        if let Some(threads) = thread_count()? {
            if threads != 1 {
                return Err(Error::new("Cannot switch user/group: the process has ")
                    .push_number(threads)
                    .push(" threads (set*id would change only one of them)"));
            }
        }
        self.switch_single_threaded()
    }

    /// [`Credentials::switch`] without counting threads.
    ///
    /// The caller guarantees that the process is single-threaded (right after `fork`).
    pub(crate) fn switch_single_threaded(&self) -> Result<()> {
        let was_root = rustix::process::geteuid().is_root();
        if let Some(gid) = self.gid {
            // Only root may call setgroups; anyone else keeps the groups it has when it
            // "switches" to the gid it already holds (real and effective).
            let gid_unchanged =
                rustix::process::getgid() == gid && rustix::process::getegid() == gid;
            if was_root || !gid_unchanged {
                rustix::thread::set_thread_groups(self.groups.as_slice())
                    .map_err(|errno| switch_error("set supplementary groups", errno))?;
            }
            // Always, even to the ids we already have: this also replaces a saved set-group-ID
            // (an unprivileged process may always set the ids it holds).
            rustix::thread::set_thread_res_gid(gid, gid, gid).map_err(|errno| {
                Error::new("Cannot set group id to ")
                    .push_number(gid.as_raw() as u64)
                    .with_errno(errno)
            })?;
        }
        if let Some(uid) = self.uid {
            // Always: a saved set-user-ID of 0 would otherwise be a way back to root.
            rustix::thread::set_thread_res_uid(uid, uid, uid).map_err(|errno| {
                Error::new("Cannot set user id to ")
                    .push_number(uid.as_raw() as u64)
                    .with_errno(errno)
            })?;
        }
        match rustix::thread::clear_ambient_capability_set() {
            // EINVAL: a kernel older than 4.3 has no ambient set.
            Ok(()) | Err(Errno::INVAL) => {}
            Err(errno) => return Err(switch_error("clear ambient capabilities", errno)),
        }
        // Any switch to a non-root uid is proven, not only one made by root: a saved
        // set-user-ID of 0 is a way back too.
        if self.uid.is_some_and(|uid| !uid.is_root()) {
            prove_root_is_gone(was_root)?;
        }
        Ok(())
    }
}

fn switch_error(what: &str, errno: Errno) -> Error {
    Error::new("Cannot ").push(what).with_errno(errno)
}

/// Proves the switch cannot be undone: `setresuid(0, 0, 0)` must fail with EPERM, and, when
/// the process was root (`left_root`), no permitted or effective capability may remain (a
/// non-root process may legitimately hold capabilities it was given, e.g. ambient ones its
/// launcher granted; those are its launcher's decision).
fn prove_root_is_gone(left_root: bool) -> Result<()> {
    match rustix::thread::set_thread_res_uid(Uid::ROOT, Uid::ROOT, Uid::ROOT) {
        Err(Errno::PERM) => {}
        Ok(()) => {
            return Err(Error::new(
                "Cannot drop privileges: setresuid(0, 0, 0) still succeeds after the switch",
            ))
        }
        Err(errno) => {
            return Err(Error::new(
                "Cannot drop privileges: setresuid(0, 0, 0) failed unexpectedly",
            )
            .with_errno(errno))
        }
    }
    if !left_root {
        return Ok(());
    }
    let sets = rustix::thread::capabilities(None)
        .map_err(|errno| switch_error("read capabilities (capget)", errno))?;
    if !sets.permitted.is_empty() || !sets.effective.is_empty() {
        return Err(Error::new(
            "Cannot drop privileges: capabilities remain after the switch (permitted ",
        )
        .push_number(sets.permitted.bits())
        .push(", effective ")
        .push_number(sets.effective.bits())
        .push(")"));
    }
    Ok(())
}

/// The `Threads:` count of `/proc/self/status`; `None` when /proc is not mounted.
fn thread_count() -> Result<Option<u64>> {
    const PATH: &CStr = c"/proc/self/status";
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY;
    let fd = match rustix::fs::open(PATH, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(None),
        Err(errno) => return Err(Error::system("open", PATH.to_bytes(), errno)),
    };
    // The status file is a few KiB; read it whole in chunks and look at line starts.
    let mut buffer = [0u8; 1024];
    let mut line = [0u8; 64];
    let mut line_length = 0usize;
    let mut line_cut = false;
    loop {
        let count = match rustix::io::read(&fd, &mut buffer) {
            Ok(0) => return Ok(None),
            Ok(count) => count,
            Err(Errno::INTR) => continue,
            Err(errno) => return Err(Error::system("read", PATH.to_bytes(), errno)),
        };
        for &byte in &buffer[..count] {
            if byte == b'\n' {
                if !line_cut {
                    if let Some(value) = line[..line_length].strip_prefix(b"Threads:") {
                        let start = value
                            .iter()
                            .position(|byte| !byte.is_ascii_whitespace())
                            .unwrap_or(value.len());
                        return Ok(parse_decimal(&value[start..], u64::MAX));
                    }
                }
                line_length = 0;
                line_cut = false;
            } else if line_length < line.len() {
                line[line_length] = byte;
                line_length += 1;
            } else {
                line_cut = true;
            }
        }
    }
}
