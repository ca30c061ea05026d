//! How the daemon process is created and ended ([`Fork`]): with a raw `clone` and
//! `exit_group` in a libc-free program, through the host's C library otherwise
//! (docs/design.md §4 "Fork is host-aware").
//!
//! This file owns that choice and nothing else. It must never fork a process that has a C
//! library without that library (its cached thread state would name the parent in the child).

use crate::sys;
use rustix::io::Errno;
use rustix::process::Pid;

/// How the daemon process is created and ended: the way the host's C library expects, if
/// the program has one. Chosen by the caller of [`Daemon::run`](super::Daemon::run), because only the program
/// knows.
///
/// - A libc-free program (the tools, a `no_std` + `no_main` program) forks with a raw
///   `clone` and ends with `exit_group`: [`Fork::raw_clone`].
/// - A program with a C library (a Rust std program, a C program) must fork through that
///   library's `fork()`, or the library's cached thread state in the child still names the
///   parent (`abort()` in a musl daemon would signal the launcher; glibc's `pthread_kill` of
///   the main thread fails): [`Fork::hosted`], or `Fork::std` with the `std` feature.
#[derive(Clone, Copy)]
pub struct Fork {
    pub(super) fork: fn() -> core::result::Result<Option<Pid>, Errno>,
    exit: fn(i32) -> !,
    /// Whether the process has a C library (its reserved signals keep their handlers).
    pub(super) hosted: bool,
}

impl Fork {
    /// `clone(SIGCHLD)` and `exit_group`, without any C library's bookkeeping.
    ///
    /// # Safety
    /// The process has no C library whose state the child would inherit (it is a libc-free
    /// program: its libc-using code, if any, is never run in the daemon), and it has a single
    /// thread (threads of a libc-free program are its own raw clones, which the library cannot
    /// count without `/proc`).
    pub const unsafe fn raw_clone() -> Self {
        Self {
            fork: raw_fork,
            exit: sys::exit_group,
            hosted: false,
        }
    }

    /// Forks with `fork` and ends the daemon (after its body returns) with `exit`: the host's
    /// own, so that the C library's per-process state is right in the child and its exit
    /// handlers (stdio buffers, `atexit`) run. `run` refuses a process that has more than one
    /// thread (as `/proc/self/status` counts them), since only the forking thread goes on in
    /// the child, with whatever locks the others held.
    ///
    /// # Safety
    /// `fork` must call the C library's `fork(3)` of this very process (returning the
    /// child's PID, `None` in the child, or the errno), and `exit` must end the process the
    /// way that library does (`exit(3)`, `std::process::exit`).
    pub const unsafe fn hosted(
        fork: fn() -> core::result::Result<Option<Pid>, Errno>,
        exit: fn(i32) -> !,
    ) -> Self {
        Self {
            fork,
            exit,
            hosted: true,
        }
    }

    /// The C library's `fork()` of a Rust std program, and `std::process::exit` (which also
    /// flushes std's buffered stdout). Needs the `std` feature.
    #[cfg(feature = "std")]
    pub const fn std() -> Self {
        // SAFETY: a std program has a C library; this is its fork, and std's exit.
        unsafe { Self::hosted(std_fork, std::process::exit) }
    }

    /// Creates a process the way this host does: `Ok(None)` in the child, the child's PID in
    /// the parent. Without a C library the child is a raw copy (`clone(SIGCHLD)`): it may make
    /// system calls and exec, and it ends with [`Fork::exit`].
    pub(crate) fn fork(&self) -> core::result::Result<Option<Pid>, Errno> {
        (self.fork)()
    }

    /// Ends the process with `code` the way this host does: `exit_group` without a C
    /// library (what a libc-free program's `_start` does after its `main`), the host's own
    /// exit otherwise.
    pub(crate) fn exit(&self, code: i32) -> ! {
        (self.exit)(code)
    }
}

/// [`sys::fork`] as a [`Fork`] function.
fn raw_fork() -> core::result::Result<Option<Pid>, Errno> {
    // SAFETY: `Fork::raw_clone`'s contract: a libc-free, single-threaded process; the child
    // only makes system calls until the body, which is the caller's libc-free code.
    unsafe { sys::fork() }
}

#[cfg(feature = "std")]
fn std_fork() -> core::result::Result<Option<Pid>, Errno> {
    extern "C" {
        fn fork() -> core::ffi::c_int;
    }
    // SAFETY: the C library's fork; `run` has checked that the process has one thread.
    match unsafe { fork() } {
        -1 => Err(Errno::from_raw_os_error(
            std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
        )),
        0 => Ok(None),
        pid => Ok(Pid::from_raw(pid)),
    }
}
