//! The program's environment: the inherited one, with `USER`, `LOGNAME` and `HOME` from the
//! passwd entry under `--user` (FreeBSD's daemon(8) does the same), and `NOTIFY_SOCKET` under
//! `--notify-socket`; the inherited values of those variables removed.
//!
//! This file owns that list. It must never shorten the environment silently (more entries
//! than it holds is an error), never pass on an inherited `USER`/`LOGNAME`/`HOME` that would
//! describe another user, and never allocate: the new entries live in a fixed buffer.

use super::messages::Failure;
use core::ffi::c_char;
use ucw_daemon::control::StringList;
use ucw_daemon::credentials::Credentials;
use ucw_daemon::{Error, Subject};

/// Entries the program's environment may have when it is rewritten; more is an error rather
/// than a silently shortened environment.
const ENVIRONMENT_CAPACITY: usize = 1024;

/// The variables `--user` sets from the passwd entry (and removes from the inherited
/// environment).
const ACCOUNT_VARIABLES: [&[u8]; 3] = [b"USER=", b"LOGNAME=", b"HOME="];
/// The variable `--notify-socket` sets.
const NOTIFY_VARIABLE: &[u8] = b"NOTIFY_SOCKET=";
/// The variable that names the pipe end of the controller that started us
/// (docs/design.md §3): ours, never the program's.
pub(super) const CONTROLLER_NAME: &[u8] = b"UCW_DAEMON_CONTROLLER_FD";
const CONTROLLER_VARIABLE: &[u8] = b"UCW_DAEMON_CONTROLLER_FD=";

/// Bytes of the variables the daemonizer sets: `USER=` and `LOGNAME=` with a name of up to
/// 256 bytes, `HOME=` with a path of up to 4,095 (the library's limits for a passwd entry),
/// `NOTIFY_SOCKET=` with a name of up to 64, each NUL-terminated. A longer value (a library
/// with other limits) is an error, never a cut.
const TEXT_CAPACITY: usize = 2 * (8 + 256 + 1) + 5 + 4095 + 1 + 14 + 64 + 1;

/// The program's environment: the inherited one, with `USER`, `LOGNAME` and `HOME` from the
/// passwd entry under `--user`, and `NOTIFY_SOCKET` under `--notify-socket`.
pub(super) struct Environment {
    entries: [*const c_char; ENVIRONMENT_CAPACITY + 1],
    text: [u8; TEXT_CAPACITY],
}

impl Environment {
    pub(super) fn new() -> Self {
        Self {
            entries: [core::ptr::null(); ENVIRONMENT_CAPACITY + 1],
            text: [0; TEXT_CAPACITY],
        }
    }

    /// The environment for the program, pointing into `self` (which must not move while it
    /// is in use). Without a passwd entry (`--user '#uid'` unknown to passwd) the three
    /// account variables are only removed: inherited values would describe another user.
    /// Nothing to change: the inherited list as it is.
    pub(super) fn build<'e>(
        &'e mut self,
        inherited: StringList<'e>,
        credentials: &Credentials<'_>,
        socket_name: &[u8],
    ) -> Result<StringList<'e>, Error> {
        let switching = credentials.uid().is_some();
        let controlled = inherited
            .iter()
            .any(|entry| entry.to_bytes().starts_with(CONTROLLER_VARIABLE));
        if !switching && socket_name.is_empty() && !controlled {
            return Ok(inherited);
        }
        let mut offsets = [0usize; 4];
        let mut own = 0;
        let mut length = 0;
        let mut add = |text: &mut [u8], parts: [&[u8]; 2]| {
            let end = length + parts[0].len() + parts[1].len() + 1;
            if end > text.len() {
                return Err(too_many());
            }
            offsets[own] = length;
            own += 1;
            for part in parts.iter().chain([&&b"\0"[..]]) {
                text[length..length + part.len()].copy_from_slice(part);
                length += part.len();
            }
            Ok(())
        };
        if let (Some(name), Some(home)) = (credentials.user_name(), credentials.home()) {
            // An entry without a home directory leaves `HOME` unset (the name is never empty).
            for (key, value) in ACCOUNT_VARIABLES.iter().zip([name, name, home]) {
                if !value.is_empty() {
                    add(&mut self.text, [key, value])?;
                }
            }
        }
        if !socket_name.is_empty() {
            add(&mut self.text, [NOTIFY_VARIABLE, socket_name])?;
        }
        let base = self.text.as_ptr() as *const c_char;
        let mut count = 0;
        for offset in &offsets[..own] {
            // SAFETY: every offset lies inside `text`, at the start of a NUL-terminated entry.
            self.entries[count] = unsafe { base.add(*offset) };
            count += 1;
        }
        for entry in inherited.iter() {
            let text = entry.to_bytes();
            let replaced = (switching && ACCOUNT_VARIABLES.iter().any(|key| text.starts_with(key)))
                || (!socket_name.is_empty() && text.starts_with(NOTIFY_VARIABLE))
                || text.starts_with(CONTROLLER_VARIABLE);
            if replaced {
                continue;
            }
            if count == ENVIRONMENT_CAPACITY {
                return Err(too_many());
            }
            self.entries[count] = entry.as_ptr();
            count += 1;
        }
        self.entries[count] = core::ptr::null();
        // SAFETY: a null-terminated vector of NUL-terminated strings: ours in `self.text`
        // and the inherited ones, all alive while `self` and `inherited` are (`'e`).
        Ok(unsafe { StringList::from_raw(self.entries.as_ptr()) })
    }
}

/// The error for an environment that does not fit.
fn too_many() -> Error {
    Failure::TooManyVariables
        .about(Subject::None)
        .with(1, ENVIRONMENT_CAPACITY as u32)
}
