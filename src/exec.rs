//! Executing a program the way a shell finds it: `execve` with a `PATH` search, for the
//! child of a fork (the controller's launcher, `ucw-daemonize`'s program).
//!
//! This module owns the search rules (DESIGN.md §3 "Launch"). It runs between `fork` and
//! `execve`, so it must never allocate, never take a lock, never format with `core::fmt`
//! and never touch global state: candidate paths are built in a fixed `PATH_MAX` buffer on
//! the stack. It must never fall back to `/bin/sh` on ENOEXEC (running an arbitrary file as
//! a shell script is how glibc's `execvp` surprises people).

use core::ffi::{c_char, CStr};
use rustix::io::Errno;

/// The longest path the kernel accepts, NUL included (`PATH_MAX`).
pub const PATH_MAX: usize = 4096;

/// The search path when the environment has no `PATH` (what `execvp` uses, minus the
/// current directory).
pub const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";

/// Finds the value of `PATH` in the null-terminated environment vector `envp`.
///
/// # Safety
/// `envp` must be null or point to a null-terminated array of pointers to NUL-terminated
/// strings, valid for `'a`.
pub unsafe fn find_path<'a>(envp: *const *const c_char) -> Option<&'a [u8]> {
    if envp.is_null() {
        return None;
    }
    let mut cursor = envp;
    loop {
        // SAFETY: the caller guarantees a null-terminated vector; we stop at the null.
        let entry = unsafe { *cursor };
        if entry.is_null() {
            return None;
        }
        // SAFETY: every entry is a NUL-terminated string valid for `'a`.
        let text = unsafe { CStr::from_ptr(entry) }.to_bytes();
        if let Some(value) = text.strip_prefix(b"PATH=") {
            return Some(value);
        }
        // SAFETY: not yet at the terminating null, so the next slot exists.
        cursor = unsafe { cursor.add(1) };
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
pub unsafe fn execute(argv: *const *const c_char, envp: *const *const c_char) -> Errno {
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
    let search = unsafe { find_path(envp) }.unwrap_or(DEFAULT_PATH);
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
mod tests {
    use super::*;

    #[test]
    fn join_builds_candidates_and_refuses_overlong_ones() {
        let mut buffer = [0u8; PATH_MAX];
        assert_eq!(
            join(&mut buffer, b"/usr/bin", b"true").unwrap().to_bytes(),
            b"/usr/bin/true"
        );
        assert_eq!(join(&mut buffer, b"", b"true").unwrap().to_bytes(), b"true");
        let long = [b'x'; PATH_MAX - 5];
        assert!(join(&mut buffer, &long, b"true").is_none());
        let fits = [b'x'; PATH_MAX - 7];
        assert!(join(&mut buffer, &fits, b"ab").is_some());
    }

    #[test]
    fn path_lookup_in_environment() {
        let entries = [
            c"HOME=/root".as_ptr(),
            c"PATH=/a:/b".as_ptr(),
            core::ptr::null(),
        ];
        // SAFETY: a null-terminated vector of static strings.
        assert_eq!(unsafe { find_path(entries.as_ptr()) }, Some(&b"/a:/b"[..]));
        let empty = [core::ptr::null::<c_char>()];
        // SAFETY: as above.
        assert_eq!(unsafe { find_path(empty.as_ptr()) }, None);
    }
}
