//! `daemon_control()` of `<ucw/daemon.h>`, on `ucw_daemon::control::control`.
//!
//! This module owns the translation between `struct daemon_control_params` and the library's
//! `control::Params` (action numbers, the default signals, START's program and the
//! program's `environ`), and the promise about `error_msg`: NUL-terminated on every return,
//! empty unless the status is ERROR, never written past `DAEMON_ERR_LEN`. It must never die
//! or exit (a controller reports every failure as `DAEMON_STATUS_ERROR`), and never keep
//! anything between calls.

use crate::abi::{
    DaemonControlParams, DaemonControlStatus, DAEMON_CONTROL_CHECK, DAEMON_CONTROL_SIGNAL,
    DAEMON_CONTROL_START, DAEMON_CONTROL_STOP, DAEMON_ERR_LEN, DAEMON_STATUS_ERROR,
};
use crate::host;
use crate::text::Writer;
use core::ffi::{c_char, c_int, CStr};
use ucw_daemon::control::{self, Action, Params, StringList};
use ucw_daemon::signal::Signal;
use ucw_daemon::Error;

/// Why an action was not performed.
enum Failure {
    /// The library's error, rendered against the action's parameters.
    Library(Error),
    /// A member of `struct daemon_control_params` the library never sees was wrong.
    Invalid(&'static [u8], Option<c_int>),
}

/// `enum daemon_control_status daemon_control(struct daemon_control_params *dc)`: performs
/// `dc->action` (docs/design.md §3's table) and returns LibUCW's status; on ERROR, `error_msg`
/// holds the message (cut to `DAEMON_ERR_LEN - 1` bytes), otherwise the empty string.
///
/// # Safety
/// `dc` is null or points to a `struct daemon_control_params` that no one else uses during
/// the call, whose `pid_file` and `guard_file` are null or NUL-terminated strings, and whose
/// `argv` (for START) is null or a null-terminated array of NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn daemon_control(dc: *mut DaemonControlParams) -> DaemonControlStatus {
    if dc.is_null() {
        // No error_msg to fill.
        return DAEMON_STATUS_ERROR;
    }
    // SAFETY: not null, and the caller's contract.
    let dc = unsafe { &mut *dc };
    dc.error_msg[0] = 0;
    // SAFETY: the caller's contract for the strings and argv.
    let pid_file = unsafe { member(dc.pid_file) };
    // SAFETY: as above.
    let guard_file = unsafe { member(dc.guard_file) };
    let (Some(pid_file), Some(guard_file)) = (pid_file, guard_file) else {
        let which: &[u8] = if pid_file.is_none() {
            b"daemon_control: pid_file is NULL"
        } else {
            b"daemon_control: guard_file is NULL"
        };
        return report(dc, Failure::Invalid(which, None), None);
    };
    // SAFETY: as above (LibUCW reads argv only for START; so do we).
    let program = unsafe { StringList::from_raw(dc.argv) };
    let params = match params(pid_file, guard_file, dc.action, dc.signal, program) {
        Ok(params) => params,
        Err(failure) => return report(dc, failure, None),
    };
    match control::control(&params) {
        Ok(outcome) => outcome.status as DaemonControlStatus,
        Err(error) => report(dc, Failure::Library(error), Some(&params)),
    }
}

/// A C string member, or `None` for null.
///
/// # Safety
/// `pointer` is null or a NUL-terminated string valid for `'a`.
unsafe fn member<'a>(pointer: *const c_char) -> Option<&'a CStr> {
    // SAFETY: the caller's contract.
    (!pointer.is_null()).then(|| unsafe { CStr::from_ptr(pointer) })
}

/// The library's parameters for the C ones.
fn params<'a>(
    pid_file: &'a CStr,
    guard_file: &'a CStr,
    action: c_int,
    signal: c_int,
    program: StringList<'a>,
) -> Result<Params<'a>, Failure> {
    let action = match action {
        DAEMON_CONTROL_CHECK => Action::Check,
        // LibUCW's child execvp()s, inheriting the program's environment.
        DAEMON_CONTROL_START => {
            return Ok(Params {
                program,
                environment: host::environment(),
                ..Params::new(pid_file, guard_file, Action::Start)
            })
        }
        DAEMON_CONTROL_STOP => Action::Stop,
        DAEMON_CONTROL_SIGNAL => Action::Signal,
        other => {
            return Err(Failure::Invalid(
                b"daemon_control: unknown action ",
                Some(other),
            ))
        }
    };
    let mut params = Params::new(pid_file, guard_file, action);
    // 0: the action's default (SIGTERM for STOP, SIGHUP for SIGNAL), as `dc->signal ? : ...`.
    if signal != 0 {
        let number = u32::try_from(signal).ok();
        match number.and_then(|number| Signal::try_from(number).ok()) {
            Some(signal) => params.signal = Some(signal),
            None => {
                return Err(Failure::Invalid(
                    b"daemon_control: invalid signal number ",
                    Some(signal),
                ))
            }
        }
    }
    Ok(params)
}

/// Fills `error_msg` with `failure` (NUL-terminated, at most `DAEMON_ERR_LEN - 1` bytes of
/// text) and returns `DAEMON_STATUS_ERROR`.
fn report(
    dc: &mut DaemonControlParams,
    failure: Failure,
    params: Option<&Params<'_>>,
) -> DaemonControlStatus {
    let mut message = Writer::new(&mut dc.error_msg[..DAEMON_ERR_LEN - 1]);
    match failure {
        Failure::Library(error) => match params {
            Some(params) => message.push_error(&error, params),
            None => message.push_error(&error, &()),
        },
        Failure::Invalid(text, number) => {
            message.push(text);
            if let Some(number) = number {
                message.push_decimal(i64::from(number));
            }
            &mut message
        }
    };
    let length = message.length();
    dc.error_msg[length] = 0;
    DAEMON_STATUS_ERROR
}
