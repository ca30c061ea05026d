//! Argument and environment lists, and executing a program as a shell finds it, in the child of a
//! fork.
//!
//! This module owns [`StringList`] and the search rules (docs/design.md §3 "Launch"). Running
//! between `fork` and `execve`, it must never allocate, take a lock, use `core::fmt` or touch
//! global state, and never fall back to `/bin/sh` on ENOEXEC.

use core::ffi::{c_char, CStr};
use rustix::io::Errno;

/// The longest path the kernel accepts, NUL included (`PATH_MAX`).
pub(crate) const PATH_MAX: usize = 4096;

/// The search path without `PATH` (`execvp`'s, minus the current directory).
pub(crate) const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";

/// Most entries of a slice list handed to `execve` (its pointer vector is on the child's stack).
pub(crate) const MAX_LIST_ENTRIES: usize = 1024;

/// A null-terminated list of C strings as handed to a program (`argv`, `envp`, `environ`), or a
/// slice.
#[derive(Clone, Copy)]
pub struct StringList<'a> {
    source: ListSource<'a>,
}

#[derive(Clone, Copy)]
enum ListSource<'a> {
    Raw(*const *const c_char),
    Slice(&'a [&'a CStr]),
}

impl<'a> From<&'a [&'a CStr]> for StringList<'a> {
    fn from(strings: &'a [&'a CStr]) -> Self {
        Self::from_slice(strings)
    }
}

impl<'a> StringList<'a> {
    /// The empty list.
    pub(crate) const EMPTY: StringList<'static> = StringList {
        source: ListSource::Slice(&[]),
    };

    pub(crate) const fn from_slice(strings: &'a [&'a CStr]) -> Self {
        Self {
            source: ListSource::Slice(strings),
        }
    }

    /// A null-terminated pointer array (`argv`, `envp`, `environ`).
    ///
    /// # Safety
    /// `vector` must be null or a null-terminated array of pointers to C strings, valid and
    /// unchanged for `'a`.
    pub const unsafe fn from_raw(vector: *const *const c_char) -> Self {
        Self {
            source: ListSource::Raw(vector),
        }
    }

    /// Entry `index`, if the list has that many.
    pub(crate) fn get(&self, index: usize) -> Option<&'a CStr> {
        match self.source {
            ListSource::Slice(strings) => strings.get(index).copied(),
            ListSource::Raw(vector) => {
                if vector.is_null() {
                    return None;
                }
                for position in 0..=index {
                    // SAFETY: `from_raw`'s contract: null-terminated; we never read past the null.
                    let entry = unsafe { *vector.add(position) };
                    if entry.is_null() {
                        return None;
                    }
                    if position == index {
                        // SAFETY: entries are NUL-terminated strings valid for `'a`.
                        return Some(unsafe { CStr::from_ptr(entry) });
                    }
                }
                None
            }
        }
    }

    /// The entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a CStr> + 'a {
        let list = *self;
        (0..).map_while(move |index| list.get(index))
    }

    /// Whether the list has no entries.
    pub(crate) fn is_empty(&self) -> bool {
        self.get(0).is_none()
    }

    /// The value of environment variable `name` in this list (`NAME=value`), if set.
    pub fn variable(&self, name: &[u8]) -> Option<&'a CStr> {
        self.iter().find_map(|entry| {
            let text = entry.to_bytes_with_nul();
            if text.len() > name.len() && text.starts_with(name) && text[name.len()] == b'=' {
                // SAFETY: a C string's tail is a C string (no rescan: ~250 bytes).
                Some(unsafe { CStr::from_bytes_with_nul_unchecked(&text[name.len() + 1..]) })
            } else {
                None
            }
        })
    }

    /// Replaces the process with this list's program and `environment` (`execve`), searched as a
    /// shell does (docs/design.md §3 "Launch": a name with `/` as it is, else each `PATH` entry,
    /// `/bin:/usr/bin` without one; EACCES goes on; no `/bin/sh` fallback). Returns only on
    /// failure, with the errno (E2BIG for a slice over 1,024 entries). Safe after `fork`.
    pub fn exec(&self, environment: &StringList<'_>) -> Errno {
        self.exec_with(environment, None)
    }

    /// [`StringList::exec`] with `NAME=value` first in the environment (replacing its `NAME=` entries). A raw environment over [`MAX_LIST_ENTRIES`] entries is passed as it is, without it.
    pub(crate) fn exec_with(&self, environment: &StringList<'_>, extra: Option<&CStr>) -> Errno {
        if self.too_long() || environment.too_long() {
            return Errno::TOOBIG;
        }
        let mut arguments = [core::ptr::null(); MAX_LIST_ENTRIES + 1];
        let mut variables = [core::ptr::null(); MAX_LIST_ENTRIES + 1];
        let argv = self.vector(&mut arguments);
        let envp = match extra {
            Some(extra) => environment
                .vector_with(extra, &mut variables)
                .unwrap_or_else(|| environment.vector(&mut variables)),
            None => environment.vector(&mut variables),
        };
        // SAFETY: null-terminated arrays of C strings living through the call.
        unsafe { execute(argv, envp) }
    }

    /// `extra`, then the entries not starting with `NAME=`, in `storage`; `None` when too many.
    fn vector_with(
        &self,
        extra: &CStr,
        storage: &mut [*const c_char; MAX_LIST_ENTRIES + 1],
    ) -> Option<*const *const c_char> {
        let text = extra.to_bytes();
        let key = &text[..=text.iter().position(|&byte| byte == b'=')?];
        storage[0] = extra.as_ptr();
        let mut count = 1;
        for entry in self.iter() {
            if entry.to_bytes().starts_with(key) {
                continue;
            }
            if count == MAX_LIST_ENTRIES {
                return None;
            }
            storage[count] = entry.as_ptr();
            count += 1;
        }
        storage[count] = core::ptr::null();
        Some(storage.as_ptr())
    }

    /// Whether a slice list exceeds the child's stack vector (raw lists have no limit).
    pub(crate) fn too_long(&self) -> bool {
        matches!(self.source, ListSource::Slice(strings) if strings.len() > MAX_LIST_ENTRIES)
    }

    /// `execve`'s pointer vector: a raw list as it is, a slice copied into `storage`.
    pub(crate) fn vector(
        &self,
        storage: &mut [*const c_char; MAX_LIST_ENTRIES + 1],
    ) -> *const *const c_char {
        match self.source {
            ListSource::Raw(vector) if !vector.is_null() => vector,
            ListSource::Raw(_) => {
                storage[0] = core::ptr::null();
                storage.as_ptr()
            }
            ListSource::Slice(strings) => {
                for (slot, string) in storage
                    .iter_mut()
                    .zip(strings.iter().take(MAX_LIST_ENTRIES))
                {
                    *slot = string.as_ptr();
                }
                storage[strings.len().min(MAX_LIST_ENTRIES)] = core::ptr::null();
                storage.as_ptr()
            }
        }
    }
}

/// Executes `argv[0]` with `argv` and `envp`; returns only on failure, with the errno.
///
/// A name with `/` is executed as it is; else each `PATH` entry of `envp` ([`DEFAULT_PATH`] when
/// unset; empty is the current directory), in order:
/// - ENOENT, ENOTDIR, ESTALE, ENODEV, ETIMEDOUT: next entry;
/// - EACCES: next entry, reported if no later one has the program;
/// - anything else (ENOEXEC, E2BIG, ...): reported at once;
/// - a path of `PATH_MAX` bytes or more: ENAMETOOLONG.
///
/// An empty name is ENOENT, an empty `argv` EINVAL.
///
/// # Safety
/// `argv` and `envp` must be null-terminated arrays of pointers to C strings, valid for the call.
pub(crate) unsafe fn execute(argv: *const *const c_char, envp: *const *const c_char) -> Errno {
    // SAFETY: the caller guarantees `argv` is a null-terminated vector.
    let first = unsafe { *argv };
    if first.is_null() {
        return Errno::INVAL;
    }
    // SAFETY: entries are NUL-terminated strings.
    let program = unsafe { CStr::from_ptr(first) };
    let name = program.to_bytes();
    if name.is_empty() {
        return Errno::NOENT;
    }
    // Not `contains`: its memchr costs the tools ~170 bytes.
    #[allow(clippy::manual_contains)]
    let has_slash = name.iter().any(|&byte| byte == b'/');
    if has_slash {
        // SAFETY: forwarded from the caller's guarantee.
        return unsafe { crate::sys::execve(program, argv, envp) };
    }
    // SAFETY: forwarded from the caller's guarantee.
    let environment = unsafe { StringList::from_raw(envp) };
    let search = environment
        .variable(b"PATH")
        .map_or(DEFAULT_PATH, CStr::to_bytes);
    let mut denied = false;
    for directory in search.split(|&byte| byte == b':') {
        let mut candidate = [0u8; PATH_MAX];
        let Some(path) = join(&mut candidate, directory, name) else {
            return Errno::NAMETOOLONG;
        };
        // SAFETY: forwarded from the caller's guarantee; `path` is NUL-terminated.
        match unsafe { crate::sys::execve(path, argv, envp) } {
            Errno::ACCESS => denied = true,
            Errno::NOENT | Errno::NOTDIR | Errno::STALE | Errno::NODEV | Errno::TIMEDOUT => {}
            other => return other,
        }
    }
    if denied {
        Errno::ACCESS
    } else {
        Errno::NOENT
    }
}

/// `directory/name\0` (`name\0` for an empty directory) in `buffer`; `None` past [`PATH_MAX`].
fn join<'b>(buffer: &'b mut [u8; PATH_MAX], directory: &[u8], name: &[u8]) -> Option<&'b CStr> {
    let slash = usize::from(!directory.is_empty());
    let length = directory.len() + slash + name.len();
    if length >= PATH_MAX {
        return None;
    }
    buffer[..directory.len()].copy_from_slice(directory);
    if slash == 1 {
        buffer[directory.len()] = b'/';
    }
    buffer[directory.len() + slash..length].copy_from_slice(name);
    buffer[length] = 0;
    // SAFETY: `buffer[length]` is the NUL just written, the only one (C-string parts, `/`). No
    // rescan: ~260 bytes.
    Some(unsafe { CStr::from_bytes_with_nul_unchecked(&buffer[..=length]) })
}

#[cfg(test)]
mod tests;
