//! The daemon-control protocol (DESIGN.md §3): CHECK, START, STOP and SIGNAL on a daemon
//! identified by its PID file, serialised by a guard file.
//!
//! This module owns the decisions of the action table: what each action does for each class
//! of PID file, how a daemon is launched, signalled and waited for. It must never write the
//! PID file except to empty it after a confirmed stop, never hold the PID file open while it
//! launches a daemon, and never signal a process it has not proven to hold the PID file.

use crate::error::{Error, Result};
use crate::signal::Signal;
use core::ffi::{c_char, CStr};
use core::time::Duration;

/// What to do to the daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Launch it unless it runs.
    Start,
    /// Signal it (SIGTERM by default) and wait until it has released its PID file.
    Stop,
    /// Report whether it runs.
    Check,
    /// Send it a signal (SIGHUP by default).
    Signal,
}

/// The outcome of an action that did not fail (failure is the `Err` of [`control`], status
/// ERROR, exit code [`EXIT_ERROR`]). The numeric values are LibUCW's exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    /// The action was performed (CHECK: the daemon runs).
    Ok = 0,
    /// The daemon was already in the requested state.
    AlreadyDone = 100,
    /// The daemon does not run, so the action could not be performed.
    NotRunning = 101,
    /// The PID file was stale (the daemon died without cleaning up); for START this means
    /// the daemon was started.
    Stale = 103,
}

impl Status {
    /// The tool's exit code for this status.
    pub const fn exit_code(self) -> i32 {
        self as i32
    }
}

/// Exit code of the ERROR status.
pub const EXIT_ERROR: i32 = 102;
/// Exit code for bad usage of the tools.
pub const EXIT_USAGE: i32 = 1;

/// A null-terminated list of C strings (an argument vector or an environment), either as
/// the kernel handed it to a program or as a slice.
#[derive(Clone, Copy)]
pub struct StringList<'a> {
    source: ListSource<'a>,
}

#[derive(Clone, Copy)]
enum ListSource<'a> {
    Raw(*const *const c_char),
    Slice(&'a [&'a CStr]),
}

impl<'a> StringList<'a> {
    /// The empty list.
    pub const EMPTY: StringList<'static> = StringList {
        source: ListSource::Slice(&[]),
    };

    /// A list made of `strings`.
    pub const fn from_slice(strings: &'a [&'a CStr]) -> Self {
        Self {
            source: ListSource::Slice(strings),
        }
    }

    /// A list given as a null-terminated array of pointers (`argv`, `envp`).
    ///
    /// # Safety
    /// `vector` must point to a null-terminated array of pointers to NUL-terminated strings,
    /// all valid and unchanged for `'a`.
    pub const unsafe fn from_raw(vector: *const *const c_char) -> Self {
        Self {
            source: ListSource::Raw(vector),
        }
    }
}

/// Everything an action needs.
#[derive(Clone, Copy)]
pub struct Params<'a> {
    /// The daemon's PID file.
    pub pid_file: &'a CStr,
    /// The guard file that serialises controllers (created if missing).
    pub guard_file: &'a CStr,
    /// What to do.
    pub action: Action,
    /// START: the program and its arguments (`program[0]` is searched in `PATH`).
    pub program: StringList<'a>,
    /// START: the environment the program gets (and where `PATH` is looked up).
    pub environment: StringList<'a>,
    /// STOP/SIGNAL: the signal to send instead of SIGTERM/SIGHUP.
    pub signal: Option<Signal>,
    /// One deadline for every wait of the action; `None` waits as long as it takes.
    pub timeout: Option<Duration>,
    /// STOP: when the deadline expires, send SIGKILL and wait again (bounded by another
    /// `timeout`) instead of failing.
    pub escalate: bool,
}

/// Performs `params.action`; see the crate docs for the full action table.
pub fn control(params: &Params<'_>) -> Result<Status> {
    let _ = params;
    Err(Error::new("not implemented yet"))
}
