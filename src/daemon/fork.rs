//! How the daemon process is created and ended ([`Fork`], docs/design.md §4 "Fork is host-aware").
//!
//! This file owns that choice only. It must never fork a process that has a C library without that
//! library.

use crate::sys;
use rustix::io::Errno;
use rustix::process::Pid;

/// How the daemon process is created and ended, chosen by the program:
///
/// - libc-free (the tools, `no_std` + `no_main`): [`Fork::raw_clone`];
/// - with a C library (Rust std, C): its own `fork()`, or the child's cached thread state names the
///   parent: [`Fork::hosted`], or `Fork::std`.
#[derive(Clone, Copy)]
pub struct Fork {
    pub(super) fork: fn() -> core::result::Result<Option<Pid>, Errno>,
    exit: fn(i32) -> !,
    /// Whether the process has a C library (its reserved signals keep their handlers).
    pub(super) hosted: bool,
}

impl Fork {
    /// `clone(SIGCHLD)` and `exit_group`, with no C library's bookkeeping.
    ///
    /// # Safety
    /// The process has no C library whose state the child would use, and one thread.
    pub const unsafe fn raw_clone() -> Self {
        Self {
            fork: raw_fork,
            exit: sys::exit_group,
            hosted: false,
        }
    }

    /// Forks with the host's `fork` and ends the daemon with its `exit` (its exit handlers run).
    /// `run` refuses a multi-threaded process.
    ///
    /// # Safety
    /// `fork` must be this process's C library `fork(3)` (the child's PID, `None` in the child, or
    /// the errno), and `exit` must end the process as that library does.
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

    /// The C library's `fork()` and `std::process::exit`, for a std program (the `std` feature).
    #[cfg(feature = "std")]
    pub const fn std() -> Self {
        // SAFETY: a std program has a C library; this is its fork, and std's exit.
        unsafe { Self::hosted(std_fork, std::process::exit) }
    }

    /// Creates a process: `Ok(None)` in the child, its PID in the parent.
    pub(crate) fn fork(&self) -> core::result::Result<Option<Pid>, Errno> {
        (self.fork)()
    }

    /// Ends the process with `code`: `exit_group` without a C library, the host's exit otherwise.
    pub(crate) fn exit(&self, code: i32) -> ! {
        (self.exit)(code)
    }
}

fn raw_fork() -> core::result::Result<Option<Pid>, Errno> {
    // SAFETY: `Fork::raw_clone`'s contract: libc-free, single-threaded.
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
