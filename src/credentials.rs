//! Resolving a user and/or group (names or `#id`) into a daemon's credentials, and switching to
//! them irreversibly.
//!
//! This module owns the rules of docs/design.md §6 and the switch's order and proof. It must never
//! allocate, switch a multi-threaded process through its public entry point, or leave a
//! half-switched process running silently.

mod capabilities;

#[cfg(feature = "environment")]
pub(crate) use capabilities::UNDOING;

use crate::account::{self, AccountFiles, GroupList, Lookup, UserEntry, UserKey, NAME_CAPACITY};
use crate::error::{Error, Message, Result, Subject};
use crate::text::parse_decimal;
use core::ffi::CStr;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::process::{Gid, Uid};
use rustix::thread::CapabilitySet;

/// A user or group by name (looked up in the account files) or by number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identity<'a> {
    /// A user or group name (`www-data`).
    Name(&'a [u8]),
    /// A uid or gid; 4,294,967,295 (`-1`, "no change" to the kernel) is refused.
    Id(u32),
}

impl<'a> Identity<'a> {
    /// Parses a command-line value, LibUCW's way: `#123` is an id, anything else a name (`subject`
    /// names a bad id).
    pub fn parse(text: &'a [u8], subject: Subject) -> Result<Self> {
        match text.strip_prefix(b"#") {
            None => Ok(Identity::Name(text)),
            Some(digits) => account::parse_id(digits)
                .map(Identity::Id)
                .ok_or(Error::new(Message::InvalidUserOrGroupId, subject)),
        }
    }
}

/// The credentials a daemon switches to: uid, primary gid, supplementary groups, and for a passwd
/// user its name and home (for `USER`, `LOGNAME`, `HOME`).
///
/// The groups live in caller storage (1,024 ids cover ordinary systems, [`account::NGROUPS_MAX`]
/// all; more is an error); the value itself is about 4.4 KiB. Keep both off small stacks:
///
/// ```no_run
/// use rustix::process::Gid;
/// use ucw_daemon::account::AccountFiles;
/// use ucw_daemon::credentials::{Credentials, Identity};
///
/// let mut groups = vec![Gid::ROOT; 1024];
/// let mut credentials = Box::new(Credentials::new(&mut groups));
/// credentials.resolve(Some(Identity::Name(b"www-data")), None, &AccountFiles::SYSTEM)?;
/// # Ok::<(), ucw_daemon::Error>(())
/// ```
pub struct Credentials<'g> {
    uid: Option<Uid>,
    gid: Option<Gid>,
    groups: GroupList<'g>,
    user: UserEntry,
    from_passwd: bool,
    /// Kept across the switch ([`daemon::Params::keep_capabilities`](crate::daemon::Params::keep_capabilities)).
    #[cfg(feature = "environment")]
    kept: CapabilitySet,
}

/// Refuses an impossible name: empty, longer than [`NAME_CAPACITY`], or with a newline.
fn check_name(text: &[u8], subject: Subject) -> Result<()> {
    // Not `contains`: its memchr costs the static tool ~200 bytes.
    #[allow(clippy::manual_contains)]
    let has_newline = text.iter().any(|&byte| byte == b'\n');
    if text.is_empty() || text.len() > NAME_CAPACITY || has_newline {
        return Err(Error::new(Message::InvalidUserOrGroupName, subject));
    }
    Ok(())
}

/// `id` unless it is `-1` ("no change" to the kernel).
fn valid_id(id: u32, subject: Subject) -> Result<u32> {
    if id > account::ID_MAX {
        return Err(Error::new(Message::IdOutOfRange, subject).with(1, id));
    }
    Ok(id)
}

/// The found value, or the not-found error.
fn not_found<T>(lookup: Lookup<T>, subject: Subject) -> Result<T> {
    let message = match (lookup, subject) {
        (Lookup::Found(value), _) => return Ok(value),
        (Lookup::NotFound, Subject::Group) => Message::NoSuchGroupIn,
        (Lookup::NoDatabase, Subject::Group) => Message::NoSuchGroupNoFile,
        (Lookup::NotFound, _) => Message::NoSuchUserIn,
        (Lookup::NoDatabase, _) => Message::NoSuchUserNoFile,
    };
    Err(Error::new(message, subject))
}

impl<'g> Credentials<'g> {
    /// "No change" credentials whose groups go in `group_storage`.
    pub const fn new(group_storage: &'g mut [Gid]) -> Self {
        Self {
            uid: None,
            gid: None,
            groups: GroupList::new(group_storage),
            user: UserEntry::new(),
            from_passwd: false,
            #[cfg(feature = "environment")]
            kept: CapabilitySet::empty(),
        }
    }

    /// Resolves `user` and `group` (each optional), replacing what `self` held (docs/design.md §6):
    ///
    /// - a user (a name, or an id in passwd): its uid; gid = `group` or the passwd gid; groups =
    ///   the gid plus every group listing the user;
    /// - a user id not in passwd: `group` is required, groups = `[gid]`;
    /// - a group alone: that gid, groups = `[gid]`;
    /// - neither: no change.
    ///
    /// Errors name [`Subject::User`] or [`Subject::Group`] and the file (an explicit group's
    /// first); on error `self` is "no change".
    pub fn resolve(
        &mut self,
        user: Option<Identity<'_>>,
        group: Option<Identity<'_>>,
        files: &AccountFiles<'_>,
    ) -> Result<()> {
        self.clear();
        let result = self.resolve_inner(user, group, files);
        if result.is_err() {
            self.clear();
        }
        result
    }

    fn clear(&mut self) {
        self.uid = None;
        self.gid = None;
        self.groups.clear();
        self.from_passwd = false;
        #[cfg(feature = "environment")]
        {
            self.kept = CapabilitySet::empty();
        }
    }

    fn resolve_inner(
        &mut self,
        user: Option<Identity<'_>>,
        group: Option<Identity<'_>>,
        files: &AccountFiles<'_>,
    ) -> Result<()> {
        // The explicit group's errors come first: they do not depend on the user.
        let group = match group {
            None => None,
            Some(Identity::Id(gid)) => Some(Identity::Id(valid_id(gid, Subject::Group)?)),
            Some(Identity::Name(name)) => {
                check_name(name, Subject::Group)?;
                Some(Identity::Name(name))
            }
        };
        let uid = match user {
            None => None,
            Some(identity) => {
                let key = match identity {
                    Identity::Id(uid) => UserKey::Uid(valid_id(uid, Subject::User)?),
                    Identity::Name(name) => {
                        check_name(name, Subject::User)?;
                        UserKey::Name(name)
                    }
                };
                match (account::find_user_into(files, key, &mut self.user), key) {
                    (Ok(Lookup::Found(())), _) => {
                        self.from_passwd = true;
                        Some(self.user.uid())
                    }
                    // A `#uid` passwd does not list: the group is all there is.
                    (Ok(_), UserKey::Uid(uid)) if group.is_some() => Some(uid),
                    (lookup, key) => {
                        // No user: an explicit group's error still comes first.
                        if let Some(Identity::Name(name)) = group {
                            not_found(account::find_group(files, name, None)?, Subject::Group)?;
                        }
                        let message = match (lookup?, key) {
                            (_, UserKey::Uid(uid)) => {
                                let error = Error::new(Message::UserNotListed, Subject::User);
                                return Err(error.with(1, uid));
                            }
                            (Lookup::NoDatabase, _) => Message::NoSuchUserNoFile,
                            _ => Message::NoSuchUserIn,
                        };
                        return Err(Error::new(message, Subject::User));
                    }
                }
            }
        };
        // One pass over the group file: the explicit group and the user's memberships.
        let member = match self.from_passwd {
            true => Some((self.user.name(), &mut self.groups)),
            false => None,
        };
        let gid = match (group, member) {
            (Some(Identity::Name(name)), member) => {
                not_found(account::find_group(files, name, member)?, Subject::Group)?
            }
            (Some(Identity::Id(gid)), member) => {
                if let Some((name, groups)) = member {
                    account::add_memberships(files, name, groups)?;
                }
                gid
            }
            (None, Some((name, groups))) => {
                account::add_memberships(files, name, groups)?;
                self.user.gid()
            }
            (None, None) => return Ok(()),
        };
        account::add_primary_group(&mut self.groups, gid)?;
        self.uid = uid.map(Uid::from_raw_unchecked);
        self.gid = Some(Gid::from_raw_unchecked(gid));
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

    /// The supplementary groups (sorted, primary gid included; empty when no group changes).
    pub fn groups(&self) -> &[Gid] {
        &self.groups
    }

    /// The user's name, when the user was found in passwd.
    pub fn user_name(&self) -> Option<&[u8]> {
        self.from_passwd.then(|| self.user.name())
    }

    /// The user's home directory, when found in passwd (possibly empty).
    pub fn home(&self) -> Option<&[u8]> {
        self.from_passwd.then(|| self.user.home())
    }

    /// Whether nothing was asked.
    pub(crate) fn is_no_change(&self) -> bool {
        self.uid.is_none() && self.gid.is_none()
    }

    /// Keeps `kept` across the switch to a non-root user (docs/design.md §6); never [`UNDOING`].
    #[cfg(feature = "environment")]
    pub(crate) fn keep_capabilities(&mut self, kept: CapabilitySet) -> Result<()> {
        self.kept = CapabilitySet::empty();
        if kept.is_empty() {
            return Ok(());
        }
        if self.uid.is_none_or(|uid| uid.is_root()) {
            return Err(Error::new(Message::KeepNeedsUser, Subject::User));
        }
        if kept.intersects(UNDOING) {
            return Err(Error::new(Message::KeepUndoes, Subject::None));
        }
        self.kept = kept;
        Ok(())
    }

    /// Switches the whole process: `setgroups`, `setresgid`, `setresuid` (each when asked), ambient
    /// capabilities cleared (but kept ones, `daemon::Params::keep_capabilities`), then proves root
    /// is gone. Saved ids are always replaced; only root may reset the groups, which it always
    /// does (a non-root process staying on its own gid keeps them).
    ///
    /// A multi-threaded process is refused (by `/proc/self/status`: raw `setresuid` changes one
    /// thread); without `/proc` the caller must know it has one.
    pub fn switch(&self) -> Result<()> {
        if self.is_no_change() {
            return Ok(());
        }
        if let Some(threads) = thread_count()? {
            if threads != 1 {
                return Err(Error::new(Message::SwitchThreads, Subject::None)
                    .with(1, threads.min(u32::MAX as u64) as u32));
            }
        }
        self.switch_single_threaded()
    }

    /// [`Credentials::switch`] without counting threads: the caller guarantees one (after `fork`).
    pub(crate) fn switch_single_threaded(&self) -> Result<()> {
        // Asked only when a switch needs it.
        let leaving_uid = self.uid.is_some_and(|uid| !uid.is_root());
        let was_root = (self.gid.is_some() || leaving_uid) && rustix::process::geteuid().is_root();
        #[cfg(feature = "environment")]
        let kept = self.kept;
        #[cfg(not(feature = "environment"))]
        let kept = CapabilitySet::empty();
        #[cfg(feature = "environment")]
        if !kept.is_empty() {
            capabilities::keep_across_switch()?;
        }
        if let Some(gid) = self.gid {
            // Only root may call setgroups; others keep their groups on their own gid.
            let gid_unchanged =
                rustix::process::getgid() == gid && rustix::process::getegid() == gid;
            if was_root || !gid_unchanged {
                rustix::thread::set_thread_groups(&self.groups)
                    .map_err(|errno| Error::system(Message::SetGroups, Subject::Group, errno))?;
            }
            // Always, even to the same ids: this replaces a saved set-group-ID.
            rustix::thread::set_thread_res_gid(gid, gid, gid).map_err(|errno| {
                Error::system(Message::SetGid, Subject::Group, errno).with(1, gid.as_raw())
            })?;
        }
        if let Some(uid) = self.uid {
            // Always: a saved set-user-ID of 0 would otherwise be a way back to root.
            rustix::thread::set_thread_res_uid(uid, uid, uid).map_err(|errno| {
                Error::system(Message::SetUid, Subject::User, errno).with(1, uid.as_raw())
            })?;
        }
        match rustix::thread::clear_ambient_capability_set() {
            // EINVAL: a kernel older than 4.3 has no ambient set.
            Ok(()) | Err(Errno::INVAL) => {}
            Err(errno) => return Err(Error::system(Message::ClearAmbient, Subject::None, errno)),
        }
        #[cfg(feature = "environment")]
        if !kept.is_empty() {
            capabilities::raise_kept(kept)?;
        }
        // Every switch to a non-root uid is proven: a saved set-user-ID of 0 is a way back too.
        if leaving_uid {
            prove_root_is_gone(was_root, kept)?;
        }
        Ok(())
    }
}

/// Proves the switch final: `setresuid(0, 0, 0)` fails with EPERM and, leaving root or keeping
/// capabilities, exactly `kept` are permitted, inheritable and ambient, none effective.
fn prove_root_is_gone(left_root: bool, kept: CapabilitySet) -> Result<()> {
    match rustix::thread::set_thread_res_uid(Uid::ROOT, Uid::ROOT, Uid::ROOT) {
        Err(Errno::PERM) => {}
        Ok(()) => return Err(Error::new(Message::RootRemains, Subject::None)),
        Err(errno) => return Err(Error::system(Message::ProveRootGone, Subject::None, errno)),
    }
    if !left_root && kept.is_empty() {
        return Ok(());
    }
    capabilities::prove_exactly(kept)
}

/// The `Threads:` count of `/proc/self/status`; `None` when /proc is not mounted.
pub(crate) fn thread_count() -> Result<Option<u64>> {
    const PATH: &CStr = c"/proc/self/status";
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY;
    let fd = match rustix::fs::open(PATH, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(None),
        Err(errno) => return Err(Error::system(Message::ReadThreads, Subject::None, errno)),
    };
    // A few KiB: read in chunks, look at line starts.
    let mut buffer = [0u8; 1024];
    let mut line = [0u8; 64];
    let mut line_length = 0usize;
    let mut line_cut = false;
    loop {
        let count = match rustix::io::read(&fd, &mut buffer) {
            Ok(0) => return Ok(None),
            Ok(count) => count,
            Err(Errno::INTR) => continue,
            Err(errno) => return Err(Error::system(Message::ReadThreads, Subject::None, errno)),
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
