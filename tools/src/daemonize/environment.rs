//! The program's environment: the inherited one (none with `--clear-env`); under `--user`,
//! `USER`, `LOGNAME` and `HOME` from the passwd entry instead of the inherited ones (FreeBSD's
//! daemon(8) does the same); then every `--env`, `--unset` and `--env-file` in command-line
//! order, each replacing what came before for its names; under `--notify-socket`,
//! `NOTIFY_SOCKET` last (nothing may point the readiness elsewhere).
//!
//! This file owns that list and its order. It must never shorten the environment silently
//! (more entries than it holds is an error), never pass on an inherited `USER`/`LOGNAME`/`HOME`
//! that would describe another user, and never allocate: the entries are a fixed array of
//! references (to the inherited strings, the command line, the files' arena and the fixed
//! buffer of the variables it makes itself).

use super::messages::Failure;
#[cfg(feature = "environment")]
use crate::cli::environment::{variable_name_length, Settings};
use crate::rt::c_string;
use core::ffi::CStr;
use ucw_daemon::control::StringList;
use ucw_daemon::credentials::Credentials;
use ucw_daemon::{Error, Subject};

#[cfg(feature = "environment")]
pub(super) use super::env_file::Arena;

/// Entries the program's environment may have when it is rewritten (what the library's `exec`
/// passes on); more is an error rather than a silently shortened environment.
const ENVIRONMENT_CAPACITY: usize = 1024;

/// The variables `--user` sets from the passwd entry (and removes from the inherited
/// environment), each with its `=`.
const ACCOUNT_VARIABLES: [&[u8]; 3] = [b"USER=", b"LOGNAME=", b"HOME="];
/// The variable `--notify-socket` sets, with its `=`.
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

/// The program's environment (see the module docs).
pub(super) struct Environment<'e> {
    entries: [&'e CStr; ENVIRONMENT_CAPACITY],
    text: [u8; TEXT_CAPACITY],
}

/// The entries being gathered.
struct List<'l, 'e> {
    entries: &'l mut [&'e CStr; ENVIRONMENT_CAPACITY],
    count: usize,
}

impl<'e> List<'_, 'e> {
    /// Appends `entry`.
    fn push(&mut self, entry: &'e CStr) -> Result<(), Error> {
        let slot = self.entries.get_mut(self.count).ok_or_else(too_many)?;
        *slot = entry;
        self.count += 1;
        Ok(())
    }

    /// Removes every entry of the variable `name` (`name=...`), keeping the others' order.
    #[cfg(feature = "environment")]
    fn remove(&mut self, name: &[u8]) {
        let mut kept = 0;
        for index in 0..self.count {
            let entry = self.entries[index];
            let text = entry.to_bytes();
            // Byte by byte: `starts_with` is an out-of-line comparison at opt-level "z".
            let named = text.get(name.len()) == Some(&b'=')
                && name.iter().zip(text).all(|(&wanted, &byte)| wanted == byte);
            if !named {
                self.entries[kept] = entry;
                kept += 1;
            }
        }
        self.count = kept;
    }

    /// Sets `entry` (`NAME=VALUE`), replacing every entry of that name.
    #[cfg(feature = "environment")]
    fn set(&mut self, entry: &'e CStr) -> Result<(), Error> {
        let text = entry.to_bytes();
        if let Some(length) = variable_name_length(text) {
            self.remove(&text[..length]);
        }
        self.push(entry)
    }
}

impl<'e> Environment<'e> {
    pub(super) fn new() -> Self {
        Self {
            entries: [c""; ENVIRONMENT_CAPACITY],
            text: [0; TEXT_CAPACITY],
        }
    }

    /// The environment for the program, borrowing `self` (which must not move while it is in
    /// use). Without a passwd entry (`--user '#uid'` unknown to passwd) the three account
    /// variables are only removed: inherited values would describe another user. Nothing to
    /// change: the inherited list as it is. An error while reading an `--env-file` comes
    /// with that file.
    pub(super) fn build(
        &'e mut self,
        inherited: StringList<'e>,
        credentials: &Credentials<'_>,
        socket_name: &[u8],
        #[cfg(feature = "environment")] settings: &Settings<'e>,
        #[cfg(feature = "environment")] arena: &mut Arena,
    ) -> Result<StringList<'e>, (Error, Option<&'e CStr>)> {
        let switching = credentials.uid().is_some();
        let notify = !socket_name.is_empty();
        let controlled = inherited.variable(CONTROLLER_NAME).is_some();
        #[cfg(feature = "environment")]
        let (changing, clearing) = (settings.change_variables(), settings.clear_environment);
        #[cfg(not(feature = "environment"))]
        let (changing, clearing) = (false, false);
        if !switching && !notify && !controlled && !changing {
            return Ok(inherited);
        }
        let Environment { entries, text } = self;
        let mut list = List { entries, count: 0 };
        let unlisted = |error| (error, None);
        // The inherited entries, without those we replace: the account variables when
        // switching, `NOTIFY_SOCKET` when we set it, and always the controller's pipe.
        let replaced = |text: &[u8]| {
            (switching && ACCOUNT_VARIABLES.iter().any(|name| text.starts_with(name)))
                || (notify && text.starts_with(NOTIFY_VARIABLE))
                || text.starts_with(CONTROLLER_VARIABLE)
        };
        if !clearing {
            for entry in inherited.iter() {
                if !replaced(entry.to_bytes()) {
                    list.push(entry).map_err(unlisted)?;
                }
            }
        }
        // The variables we make (`prefix`, `NAME=`, then the value), NUL-terminated, one
        // after the other in `text`.
        let mut free: &'e mut [u8] = text;
        let mut make = |prefix: &[u8], value: &[u8]| {
            let length = prefix.len() + value.len() + 1;
            if length > free.len() {
                return Err(too_many());
            }
            let (made, rest) = core::mem::take(&mut free).split_at_mut(length);
            made[..prefix.len()].copy_from_slice(prefix);
            made[prefix.len()..length - 1].copy_from_slice(value);
            made[length - 1] = 0;
            free = rest;
            c_string(made).ok_or_else(too_many)
        };
        if let (Some(user), Some(home)) = (credentials.user_name(), credentials.home()) {
            // An entry without a home directory leaves `HOME` unset (the name is never empty).
            for (name, value) in ACCOUNT_VARIABLES.into_iter().zip([user, user, home]) {
                if !value.is_empty() {
                    list.push(make(name, value).map_err(unlisted)?)
                        .map_err(unlisted)?;
                }
            }
        }
        #[cfg(feature = "environment")]
        for &(kind, value) in &settings.stored_variables[..settings.variable_count] {
            let value = value.unwrap_or_default();
            match kind {
                0 => list.set(value).map_err(unlisted)?,
                1 => list.remove(value.to_bytes()),
                _ => super::env_file::read(value, arena, |entry| list.set(entry))
                    .map_err(|error| (error, Some(value)))?,
            }
        }
        if notify {
            // Last: no option may point the readiness elsewhere.
            #[cfg(feature = "environment")]
            list.remove(&NOTIFY_VARIABLE[..NOTIFY_VARIABLE.len() - 1]);
            list.push(make(NOTIFY_VARIABLE, socket_name).map_err(unlisted)?)
                .map_err(unlisted)?;
        }
        let count = list.count;
        let entries: &'e [&'e CStr] = list.entries;
        Ok(StringList::from(&entries[..count]))
    }
}

/// The error for an environment that does not fit.
fn too_many() -> Error {
    Failure::TooManyVariables
        .about(Subject::None)
        .with(1, ENVIRONMENT_CAPACITY as u32)
}
