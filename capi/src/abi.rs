//! The C side's data: `struct daemon_params` and `struct daemon_control_params` with
//! LibUCW's members, order and types, and the numbers of `<ucw/daemon.h>` (flags, actions,
//! statuses, `DAEMON_ERR_LEN`), with compile-time checks of the LP64 layout that
//! `capi/tests/abi_check.c` asserts on the C side.
//!
//! This module owns the Rust mirror of `include/ucw/daemon.h`. It must never diverge from
//! that header (a change there is a change here, and both checks must agree), and never hold
//! behaviour: the functions live in `daemon` and `control`.

use core::ffi::{c_char, c_int, c_uint};
use core::mem::{offset_of, size_of};

/// `struct daemon_params`: the public members (set by the program), then the internal ones
/// (written by `daemon_resolve_ugid` and `daemon_init`). `run_as_gid` is a `uid_t` in LibUCW
/// (both are 32-bit unsigned on Linux).
#[repr(C)]
pub struct DaemonParams {
    /// `DAEMON_FLAG_*` bits.
    pub flags: c_uint,
    /// The PID file's path, or null.
    pub pid_file: *const c_char,
    /// A user name or `#uid`, or null.
    pub run_as_user: *const c_char,
    /// A group name or `#gid`, or null.
    pub run_as_group: *const c_char,
    /// The uid the daemon switches to, when `want_setuid`.
    pub run_as_uid: u32,
    /// The gid the daemon switches to, when `want_setgid`.
    pub run_as_gid: u32,
    /// 1: the uid changes.
    pub want_setuid: c_int,
    /// 1: the gid changes to `run_as_group`; 2: to the user's passwd gid (LibUCW's values).
    pub want_setgid: c_int,
    /// The descriptor that holds the PID file's lock, or -1.
    pub pid_fd: c_int,
}

/// `DAEMON_FLAG_PRESERVE_CWD`.
pub const DAEMON_FLAG_PRESERVE_CWD: c_uint = 1;
/// `DAEMON_FLAG_SIMULATE`.
pub const DAEMON_FLAG_SIMULATE: c_uint = 2;

/// `DAEMON_ERR_LEN`: the size of `error_msg`, its terminating NUL included.
pub const DAEMON_ERR_LEN: usize = 256;

/// `struct daemon_control_params`.
#[repr(C)]
pub struct DaemonControlParams {
    /// The daemon's PID file.
    pub pid_file: *const c_char,
    /// The guard file.
    pub guard_file: *const c_char,
    /// `DAEMON_CONTROL_*`.
    pub action: c_int,
    /// START: the daemon's command, null-terminated.
    pub argv: *const *const c_char,
    /// STOP, SIGNAL: the signal, 0 for the default.
    pub signal: c_int,
    /// Out: the message of `DAEMON_STATUS_ERROR`, NUL-terminated (C's `char`, signed or not,
    /// is a byte: the same layout as `u8`).
    pub error_msg: [u8; DAEMON_ERR_LEN],
}

/// `DAEMON_CONTROL_CHECK`.
pub const DAEMON_CONTROL_CHECK: c_int = 1;
/// `DAEMON_CONTROL_START`.
pub const DAEMON_CONTROL_START: c_int = 2;
/// `DAEMON_CONTROL_STOP`.
pub const DAEMON_CONTROL_STOP: c_int = 3;
/// `DAEMON_CONTROL_SIGNAL`.
pub const DAEMON_CONTROL_SIGNAL: c_int = 4;

/// `enum daemon_control_status` (GCC gives it type `unsigned int`: no negative value).
pub type DaemonControlStatus = c_uint;
/// `DAEMON_STATUS_OK`.
pub const DAEMON_STATUS_OK: DaemonControlStatus = 0;
/// `DAEMON_STATUS_ALREADY_DONE`.
pub const DAEMON_STATUS_ALREADY_DONE: DaemonControlStatus = 100;
/// `DAEMON_STATUS_NOT_RUNNING`.
pub const DAEMON_STATUS_NOT_RUNNING: DaemonControlStatus = 101;
/// `DAEMON_STATUS_ERROR`.
pub const DAEMON_STATUS_ERROR: DaemonControlStatus = 102;
/// `DAEMON_STATUS_STALE`.
pub const DAEMON_STATUS_STALE: DaemonControlStatus = 103;

// LibUCW's LP64 layout, as capi/NOTES.md computes it and capi/tests/abi_check.c asserts.
#[cfg(target_pointer_width = "64")]
const _: () = {
    assert!(size_of::<DaemonParams>() == 56);
    assert!(offset_of!(DaemonParams, flags) == 0);
    assert!(offset_of!(DaemonParams, pid_file) == 8);
    assert!(offset_of!(DaemonParams, run_as_user) == 16);
    assert!(offset_of!(DaemonParams, run_as_group) == 24);
    assert!(offset_of!(DaemonParams, run_as_uid) == 32);
    assert!(offset_of!(DaemonParams, run_as_gid) == 36);
    assert!(offset_of!(DaemonParams, want_setuid) == 40);
    assert!(offset_of!(DaemonParams, want_setgid) == 44);
    assert!(offset_of!(DaemonParams, pid_fd) == 48);

    assert!(size_of::<DaemonControlParams>() == 296);
    assert!(offset_of!(DaemonControlParams, pid_file) == 0);
    assert!(offset_of!(DaemonControlParams, guard_file) == 8);
    assert!(offset_of!(DaemonControlParams, action) == 16);
    assert!(offset_of!(DaemonControlParams, argv) == 24);
    assert!(offset_of!(DaemonControlParams, signal) == 32);
    assert!(offset_of!(DaemonControlParams, error_msg) == 36);

    // The statuses are the library's (and the tool's exit codes).
    use ucw_daemon::control::{Status, ERROR_EXIT_CODE};
    assert!(Status::Ok as c_uint == DAEMON_STATUS_OK);
    assert!(Status::AlreadyDone as c_uint == DAEMON_STATUS_ALREADY_DONE);
    assert!(Status::NotRunning as c_uint == DAEMON_STATUS_NOT_RUNNING);
    assert!(ERROR_EXIT_CODE as c_uint == DAEMON_STATUS_ERROR);
    assert!(Status::Stale as c_uint == DAEMON_STATUS_STALE);
};
