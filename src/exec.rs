//! Argument and environment lists, and executing a program the way a shell finds it:
//! `execve` with a `PATH` search, for the child of a fork (the controller's launcher,
//! `ucw-daemonize`'s program).
//!
//! This module owns [`StringList`] (an `argv` or `envp`, as the kernel handed it to a program
//! or as a slice) and the search rules (docs/design.md §3 "Launch"). It runs between `fork` and
//! `execve`, so it must never allocate, never take a lock, never format with `core::fmt`
//! and never touch global state: candidate paths are built in a fixed `PATH_MAX` buffer on
//! the stack. It must never fall back to `/bin/sh` on ENOEXEC (running an arbitrary file as
//! a shell script is how glibc's `execvp` surprises people).

use core::ffi::{c_char, CStr};
use rustix::io::Errno;

/// The longest path the kernel accepts, NUL included (`PATH_MAX`).
pub(crate) const PATH_MAX: usize = 4096;

/// The search path when the environment has no `PATH` (what `execvp` uses, minus the
/// current directory).
pub(crate) const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";

/// Most entries a list made from a slice may have when it is handed to `execve`
/// (the pointer vector is built on the stack of the child).
pub(crate) const MAX_LIST_ENTRIES: usize = 1024;

/// A null-terminated list of C strings (an argument vector or an environment), either as
/// the kernel or the C library handed it to a program (`argv`, `envp`, `environ`) or as a
/// slice (`StringList::from(&strings[..])`).
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
    /// A list made of `strings`.
    fn from(strings: &'a [&'a CStr]) -> Self {
        Self::from_slice(strings)
    }
}

impl<'a> StringList<'a> {
    /// The empty list.
    pub(crate) const EMPTY: StringList<'static> = StringList {
        source: ListSource::Slice(&[]),
    };

    /// A list made of `strings`.
    pub(crate) const fn from_slice(strings: &'a [&'a CStr]) -> Self {
        Self {
            source: ListSource::Slice(strings),
        }
    }

    /// A list given as a null-terminated array of pointers (`argv`, `envp`, `environ`).
    ///
    /// # Safety
    /// `vector` must be null or point to a null-terminated array of pointers to
    /// NUL-terminated strings, all valid and unchanged for `'a`.
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
                    // SAFETY: `from_raw`'s contract: a null-terminated vector; we never read
                    // past the first null.
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
                // SAFETY: the tail of a C string is a C string: it ends with the entry's only
                // NUL. (`from_bytes_with_nul` would scan for it again: ~250 bytes of code.)
                Some(unsafe { CStr::from_bytes_with_nul_unchecked(&text[name.len() + 1..]) })
            } else {
                None
            }
        })
    }

    /// Replaces the calling process with the program this argument list names, its
    /// environment `environment` (`execve`), finding it the way a shell does (docs/design.md §3
    /// "Launch": a name with a `/` as it is, else every entry of the environment's `PATH`,
    /// `/bin:/usr/bin` when it has none; EACCES on one entry goes on searching; never a
    /// `/bin/sh` fallback on ENOEXEC). Returns only on failure, with the errno to report
    /// (E2BIG for a slice list of more than 1,024 entries). Safe in the child of a fork:
    /// it allocates nothing and takes no lock (a slice list's pointers are copied to the
    /// stack).
    pub fn exec(&self, environment: &StringList<'_>) -> Errno {
        self.exec_with(environment, None)
    }

    /// [`StringList::exec`] with one more variable, `NAME=value`, first in the environment
    /// (the environment's own `NAME=` entries left out). An environment given by pointer
    /// that has more than [`MAX_LIST_ENTRIES`] entries (too many to copy to the stack)
    /// is passed on as it is, without the extra variable.
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
        // SAFETY: both vectors are null-terminated arrays of NUL-terminated strings that live
        // until the call returns (`StringList`'s contract, or the stack copies just made).
        unsafe { execute(argv, envp) }
    }

    /// `extra` (`NAME=value`) and then every entry but those starting with `NAME=`, copied
    /// into `storage` and null-terminated; `None` when they do not all fit.
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

    /// Whether a slice list has more entries than the child's stack vector holds (raw
    /// lists are passed to `execve` as they are, so they have no such limit).
    pub(crate) fn too_long(&self) -> bool {
        matches!(self.source, ListSource::Slice(strings) if strings.len() > MAX_LIST_ENTRIES)
    }

    /// The null-terminated pointer vector `execve` wants: a raw list as it is, a slice
    /// copied into `storage` (at most [`MAX_LIST_ENTRIES`] entries; callers check first).
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

/// Executes `argv[0]` with arguments `argv` and environment `envp`; returns only on failure,
/// with the errno to report.
///
/// A program name containing `/` is executed as it is. Otherwise every entry of `PATH`
/// (taken from `envp`; [`DEFAULT_PATH`] when unset; an empty entry means the current
/// directory) is tried in order, and:
/// - ENOENT, ENOTDIR, ESTALE, ENODEV and ETIMEDOUT move on to the next entry;
/// - EACCES moves on too, but is reported if no later entry has the program;
/// - any other error (ENOEXEC, E2BIG, ETXTBSY, ENOMEM, ...) is reported at once; there is
///   no `/bin/sh` fallback for ENOEXEC;
/// - an entry that would make a path of `PATH_MAX` bytes or more fails with ENAMETOOLONG
///   (an error, not something to skip: the search would silently differ from a shell's).
///
/// An empty program name fails with ENOENT, an empty `argv` with EINVAL.
///
/// # Safety
/// `argv` and `envp` must point to null-terminated arrays of pointers to NUL-terminated
/// strings that stay valid for the call.
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
    // SAFETY: forwarded from the caller's guarantee (a null-terminated vector of strings that
    // outlive this call).
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

/// Writes `directory/name\0` (`name\0` for an empty directory) into `buffer`; `None` when it
/// does not fit in [`PATH_MAX`] bytes.
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
    // SAFETY: `buffer[length]` is the NUL just written, and no byte before it is one: the
    // directory comes from a C string (PATH) and so does the name (no NUL within either),
    // and the separator is a slash. (Not `from_bytes_with_nul`: its scan costs the tools
    // ~260 bytes.)
    Some(unsafe { CStr::from_bytes_with_nul_unchecked(&buffer[..=length]) })
}

#[cfg(test)]
mod tests;
