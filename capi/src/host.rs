//! The program's C library: the only symbols this static library takes from it, and the
//! typed wrappers the rest of the crate uses.
//!
//! This module owns the list of imports — `fork`, `exit`, `environ` and `__errno_location`
//! (besides the `memcpy`/`memmove`/`memset`/`memcmp`/`bcmp`/`strlen` that compiled Rust code
//! calls implicitly) — and why each is needed. It must never import anything else from the C
//! library (every other system call goes through rustix's raw backend), and never call these
//! functions where the C library's state is not the process's own (the control launcher's
//! raw clone child never reaches here).
//!
//! - `fork`: the daemon is forked through the program's libc, so that its cached thread state
//!   and atfork handlers are right in the child (`ucw_daemon::daemon::Fork::hosted`).
//! - `exit`: after the body returns and for fatal errors, so that `atexit` handlers run and
//!   stdio buffers are flushed, as LibUCW's `exit(0)` and `die()` do.
//! - `environ`: START passes the program's environment to the daemon it launches (LibUCW's
//!   `execvp` inherits it) and searches its `PATH`.
//! - `__errno_location`: the errno of a failed `fork()` (the message names it); glibc and musl
//!   both export it, as the location behind their `errno` macro.

use core::ffi::{c_char, c_int};
use rustix::io::Errno;
use rustix::process::Pid;
use ucw_daemon::control::StringList;
use ucw_daemon::daemon::Fork;

extern "C" {
    /// fork(3) of the program's C library.
    fn fork() -> c_int;
    /// exit(3) of the program's C library: `atexit` handlers, stdio flush, then `_exit`.
    fn exit(status: c_int) -> !;
    /// The program's environment (environ(7)), as its C library keeps it.
    static environ: *const *const c_char;
    /// The calling thread's `errno` (glibc's and musl's `errno` macro expands to it).
    fn __errno_location() -> *mut c_int;
}

/// The C library's `fork()`: the child's PID, `None` in the child, or the errno.
fn libc_fork() -> Result<Option<Pid>, Errno> {
    // SAFETY: the program's own fork(3); `Daemon::run` calls it only after checking that the
    // process has a single thread.
    let pid = unsafe { fork() };
    if pid < 0 {
        // SAFETY: `__errno_location` returns the calling thread's errno slot, always valid.
        let errno = unsafe { *__errno_location() };
        return Err(Errno::from_raw_os_error(errno));
    }
    Ok(Pid::from_raw(pid))
}

/// Ends the process the way the program's C library does: `exit(code)`.
pub fn exit_process(code: i32) -> ! {
    // SAFETY: exit(3) may be called at any time; it does not return.
    unsafe { exit(code) }
}

/// How `daemon_run` forks and ends the daemon: the C library's `fork()` and `exit()`.
pub fn daemon_fork() -> Fork {
    // SAFETY: `libc_fork` calls this process's C library fork(3) and reports its result as
    // `Fork::hosted` wants it; `exit_process` is that library's exit(3).
    unsafe { Fork::hosted(libc_fork, exit_process) }
}

/// The program's current environment (`environ`, read at the call: `setenv` may have moved
/// it), for the START of `daemon_control`.
///
/// The list borrows the C library's vector: it is valid until the program next changes its
/// environment, which it cannot do while `daemon_control` runs (the C API is not to be
/// called concurrently with `setenv`, as `execvp` is not).
pub fn environment() -> StringList<'static> {
    // SAFETY: reading the C library's `environ` pointer (a plain global it owns).
    let vector = unsafe { environ };
    // SAFETY: `environ` is null or a null-terminated array of NUL-terminated strings that
    // stays unchanged while `daemon_control` uses it (see above).
    unsafe { StringList::from_raw(vector) }
}
