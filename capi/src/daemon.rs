//! The daemonization helper of `<ucw/daemon.h>`: `daemon_init`, `daemon_run`, `daemon_exit`,
//! `daemon_resolve_ugid` and `daemon_switch_ugid`, on `ucw_daemon::daemon` and
//! `ucw_daemon::credentials`.
//!
//! This module owns the process-wide state between the calls — the resolved credentials
//! (about 260 KiB, in `.bss`), the initialized `Daemon` and, in the daemon, its `Running` —
//! and the order the calls may come in: one daemonization per process. It must never let
//! two calls touch that state at once (a second one is a fatal misuse), never hand out a
//! mutable view of the credentials once a `Daemon` borrows them, never hold a view of the
//! state while the program's body runs (the body calls `daemon_exit`), and never return to
//! the program after a failure that `<ucw/daemon.h>` calls fatal.

use crate::abi::{DaemonParams, DAEMON_FLAG_PRESERVE_CWD, DAEMON_FLAG_SIMULATE};
use crate::fatal::{die_misuse, die_with};
use crate::host;
use core::cell::UnsafeCell;
use core::ffi::{c_char, c_int, CStr};
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, Ordering};
use rustix::fd::AsRawFd;
use rustix::process::Gid;
use ucw_daemon::account::{AccountFiles, NGROUPS_MAX};
use ucw_daemon::credentials::{Credentials, Identity};
use ucw_daemon::daemon::{self, Daemon, Flags, Launched, Running};
use ucw_daemon::{Context, Error, Subject};

/// The body `daemon_run` calls in the daemon: `void (*body)(struct daemon_params *dp)`.
pub type Body = unsafe extern "C" fn(*mut DaemonParams);

/// Where the process is in its one daemonization.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing initialized: `daemon_resolve_ugid` may (re)fill the credentials.
    Fresh,
    /// `daemon_init` succeeded: a [`Daemon`] borrows the credentials until the end.
    Initialized,
    /// `daemon_run` took the daemon (in the launcher: it has returned; in the daemon: the
    /// body runs), or `daemon_exit` released it before any run.
    Finished,
}

/// The state between the calls.
struct State {
    phase: Phase,
    /// From `daemon_init` until `daemon_run` (or a `daemon_exit` before it).
    daemon: Option<Daemon<'static>>,
    /// In the daemon (or a simulated body): from the body's start until `daemon_exit`.
    running: Option<Running>,
    /// Whether [`CREDENTIALS`] was made.
    credentials_made: bool,
}

/// A process-wide cell; [`with_state`] makes the accesses to [`STATE`] exclusive, and the
/// phase decides how [`CREDENTIALS`] may be viewed.
struct Static<T>(UnsafeCell<T>);

// SAFETY: every access goes through `with_state`, which admits one caller at a time (a
// concurrent call is a fatal error, not a wait), so the contents are never shared between
// threads at once.
unsafe impl<T> Sync for Static<T> {}

/// Room for every supplementary group the kernel allows (256 KiB of `.bss`).
static GROUPS: Static<[Gid; NGROUPS_MAX]> = Static(UnsafeCell::new([Gid::ROOT; NGROUPS_MAX]));

/// The resolved credentials (their groups in [`GROUPS`]), made by the first call that needs
/// them, so until then nothing: `.bss`, not file size. Mutable only in [`Phase::Fresh`],
/// inside [`with_state`]; shared (by the `Daemon` and `daemon_switch_ugid`) afterwards.
static CREDENTIALS: Static<MaybeUninit<Credentials<'static>>> =
    Static(UnsafeCell::new(MaybeUninit::uninit()));

static STATE: Static<State> = Static(UnsafeCell::new(State {
    phase: Phase::Fresh,
    daemon: None,
    running: None,
    credentials_made: false,
}));

/// Held while a call looks at [`STATE`] or [`CREDENTIALS`].
static STATE_IN_USE: AtomicBool = AtomicBool::new(false);

/// Runs `job` with the only view of the state. Never held while the program's code runs,
/// so a body that calls `daemon_exit` finds it free; a call from another thread meanwhile
/// is a fatal error.
fn with_state<R>(job: impl FnOnce(&mut State) -> R) -> R {
    if STATE_IN_USE.swap(true, Ordering::Acquire) {
        die_misuse(b"ucw/daemon.h: daemon_* functions called from two threads at once");
    }
    // SAFETY: `STATE_IN_USE` was false and is ours now: no other reference to the state
    // exists until we clear it below.
    let result = job(unsafe { &mut *STATE.0.get() });
    STATE_IN_USE.store(false, Ordering::Release);
    result
}

/// Makes [`CREDENTIALS`] ("no change") unless it was made.
fn make_credentials(state: &mut State) {
    if !state.credentials_made {
        // SAFETY: not made yet, so no view of `CREDENTIALS` or `GROUPS` exists, and
        // `with_state` (the caller holds `state`) keeps other calls out; `GROUPS` is borrowed
        // here only, for good, by the credentials.
        unsafe { (*CREDENTIALS.0.get()).write(Credentials::new(&mut *GROUPS.0.get())) };
        state.credentials_made = true;
    }
}

/// The credentials for resolving: only in [`Phase::Fresh`], where nothing borrows them.
fn credentials_to_fill(state: &mut State) -> Option<&'static mut Credentials<'static>> {
    make_credentials(state);
    // SAFETY: made above. In the fresh phase no `Daemon` exists yet and every shared view
    // (from `daemon_switch_ugid`) ended with its call; `with_state` keeps other calls out,
    // and the caller holds `state` for as long as it uses the reference (or gives it to the
    // `Daemon`, ending the fresh phase for good).
    (state.phase == Phase::Fresh).then(|| unsafe { (*CREDENTIALS.0.get()).assume_init_mut() })
}

/// The credentials for reading.
fn resolved_credentials(state: &mut State) -> &'static Credentials<'static> {
    make_credentials(state);
    // SAFETY: made above. A mutable view exists only inside a `with_state` job of the fresh
    // phase, and the caller is in another one (it holds `state`).
    unsafe { (*CREDENTIALS.0.get()).assume_init_ref() }
}

/// A failure of a call, reported once the state is released.
enum Failure {
    /// The library's error, rendered against the parameters.
    Library(Error),
    /// The program called the functions in an order or with values the API does not allow.
    Misuse(&'static [u8]),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Library(error)
    }
}

/// `struct daemon_params`' strings, as the library's parameters and as the names its errors
/// show (the user and group as written, `#uid` included).
struct Names {
    pid_file: Option<&'static CStr>,
    user: Option<&'static CStr>,
    group: Option<&'static CStr>,
}

impl Context for Names {
    fn name(&self, subject: Subject) -> Option<&[u8]> {
        match subject {
            Subject::PidFile => self.pid_file.map(CStr::to_bytes),
            Subject::User => self.user.map(CStr::to_bytes),
            Subject::Group => self.group.map(CStr::to_bytes),
            Subject::PasswdFile => Some(AccountFiles::SYSTEM.passwd.to_bytes()),
            Subject::GroupFile => Some(AccountFiles::SYSTEM.group.to_bytes()),
            _ => None,
        }
    }
}

/// A C string member, or `None` for null.
///
/// # Safety
/// `pointer` is null or a NUL-terminated string that stays valid and unchanged until
/// `daemon_exit` (the header's contract for the members of `struct daemon_params`).
unsafe fn member(pointer: *const c_char) -> Option<&'static CStr> {
    // SAFETY: the caller's contract.
    (!pointer.is_null()).then(|| unsafe { CStr::from_ptr(pointer) })
}

impl Names {
    /// The strings of `dp`.
    ///
    /// # Safety
    /// As for [`member`], for each of `dp`'s strings.
    unsafe fn of(dp: &DaemonParams) -> Self {
        // SAFETY: the caller's contract, member by member.
        unsafe {
            Names {
                pid_file: member(dp.pid_file),
                user: member(dp.run_as_user),
                group: member(dp.run_as_group),
            }
        }
    }

    /// The user and group as the library takes them.
    fn identities(&self) -> Result<(Option<Identity<'static>>, Option<Identity<'static>>), Error> {
        let parse = |text: Option<&'static CStr>, subject| {
            text.map(|text| Identity::parse(text.to_bytes(), subject))
                .transpose()
        };
        Ok((
            parse(self.user, Subject::User)?,
            parse(self.group, Subject::Group)?,
        ))
    }

    /// The library's parameters for `daemon_init`.
    // The library's `environment` feature adds fields (on when the tools share the build).
    #[allow(clippy::needless_update)]
    fn params(&self, flags: u32) -> Result<daemon::Params<'static>, Failure> {
        if flags & !(DAEMON_FLAG_PRESERVE_CWD | DAEMON_FLAG_SIMULATE) != 0 {
            return Err(Failure::Misuse(
                b"daemon_init: unknown bits in daemon_params.flags \
                  (only DAEMON_FLAG_PRESERVE_CWD and DAEMON_FLAG_SIMULATE exist)",
            ));
        }
        let mut library_flags = Flags::default();
        if flags & DAEMON_FLAG_PRESERVE_CWD != 0 {
            library_flags = library_flags | Flags::PRESERVE_CWD;
        }
        if flags & DAEMON_FLAG_SIMULATE != 0 {
            library_flags = library_flags | Flags::SIMULATE;
        }
        let (user, group) = self.identities()?;
        Ok(daemon::Params {
            flags: library_flags,
            pid_file: self.pid_file,
            user,
            group,
            account_files: AccountFiles::SYSTEM,
            // LibUCW's parameters have no process setup beyond its own.
            ..daemon::Params::default()
        })
    }
}

/// Dies with `failure`, naming `dp`'s strings.
fn die_of(failure: Failure, names: &Names) -> ! {
    match failure {
        Failure::Library(error) => die_with(&error, names),
        Failure::Misuse(message) => die_misuse(message),
    }
}

/// The caller's `dp`, or a fatal error for a null pointer.
///
/// # Safety
/// `dp` is null or points to a `struct daemon_params` that no one else uses during the call.
unsafe fn params_of<'a>(dp: *mut DaemonParams, function: &'static [u8]) -> &'a mut DaemonParams {
    if dp.is_null() {
        die_misuse(function);
    }
    // SAFETY: not null, and the caller's contract.
    unsafe { &mut *dp }
}

/// Writes the resolved ids into `dp`'s internal members, with LibUCW's meanings:
/// `want_setgid` is 1 for an explicit group, 2 for the user's passwd group.
fn publish_ids(dp: &mut DaemonParams, credentials: &Credentials<'_>) {
    let uid = credentials.uid();
    let gid = credentials.gid();
    dp.want_setuid = c_int::from(uid.is_some());
    dp.run_as_uid = uid.map_or(0, |uid| uid.as_raw());
    dp.want_setgid = match gid {
        None => 0,
        Some(_) if !dp.run_as_group.is_null() => 1,
        Some(_) => 2,
    };
    dp.run_as_gid = gid.map_or(0, |gid| gid.as_raw());
}

/// `void daemon_resolve_ugid(struct daemon_params *dp)`: resolves `run_as_user` and
/// `run_as_group` into the process-wide credentials and `dp`'s internal members; a fatal
/// error if a name is unknown, an id does not parse, or `daemon_init` already ran.
///
/// # Safety
/// `dp` points to a `struct daemon_params` whose strings are null or NUL-terminated and stay
/// valid until `daemon_exit`.
#[no_mangle]
pub unsafe extern "C" fn daemon_resolve_ugid(dp: *mut DaemonParams) {
    // SAFETY: the caller's contract.
    let dp = unsafe { params_of(dp, b"daemon_resolve_ugid: dp is NULL") };
    // SAFETY: the caller's contract for the strings.
    let names = unsafe { Names::of(dp) };
    let outcome = with_state(|state| {
        let Some(credentials) = credentials_to_fill(state) else {
            return Err(Failure::Misuse(
                b"daemon_resolve_ugid: called after daemon_init() \
                  (one daemonization per process; the resolved ids are in use)",
            ));
        };
        let (user, group) = names.identities()?;
        credentials.resolve(user, group, &AccountFiles::SYSTEM)?;
        publish_ids(dp, credentials);
        Ok(())
    });
    if let Err(failure) = outcome {
        die_of(failure, &names);
    }
}

/// `void daemon_init(struct daemon_params *dp)`: resolves the user and group, then opens,
/// checks, locks and fills the PID file (`ucw_daemon::daemon::init`); a fatal error on any
/// failure, and on a second call in the process.
///
/// # Safety
/// As for [`daemon_resolve_ugid`].
#[no_mangle]
pub unsafe extern "C" fn daemon_init(dp: *mut DaemonParams) {
    // SAFETY: the caller's contract.
    let dp = unsafe { params_of(dp, b"daemon_init: dp is NULL") };
    // SAFETY: the caller's contract for the strings.
    let names = unsafe { Names::of(dp) };
    let outcome = with_state(|state| {
        let Some(credentials) = credentials_to_fill(state) else {
            return Err(Failure::Misuse(
                b"daemon_init: called a second time (one daemonization per process)",
            ));
        };
        // Whatever happens now, the process does not initialize again.
        state.phase = Phase::Finished;
        let params = names.params(dp.flags)?;
        let daemon = daemon::init(&params, credentials)?;
        publish_ids(dp, daemon.credentials());
        dp.pid_fd = daemon.lock_fd().map_or(-1, |lock| lock.as_raw_fd());
        state.daemon = Some(daemon);
        state.phase = Phase::Initialized;
        Ok(())
    });
    if let Err(failure) = outcome {
        die_of(failure, &names);
    }
}

/// `void daemon_run(struct daemon_params *dp, void (*body)(struct daemon_params *dp))`:
/// forks the daemon through the program's `fork()` (`Daemon::run` with a hosted fork). In
/// the daemon: `body(dp)`, the PID file released if the body left it locked, then the
/// program's `exit(0)`. In the launcher: returns once the PID is in the PID file. A fatal
/// error on failure, or without a successful `daemon_init` before.
///
/// # Safety
/// As for [`daemon_resolve_ugid`]; `body` is a function that takes `dp`.
#[no_mangle]
pub unsafe extern "C" fn daemon_run(dp: *mut DaemonParams, body: Option<Body>) {
    // SAFETY: the caller's contract.
    let dp = unsafe { params_of(dp, b"daemon_run: dp is NULL") };
    // SAFETY: the caller's contract for the strings.
    let names = unsafe { Names::of(dp) };
    let Some(body) = body else {
        die_misuse(b"daemon_run: body is NULL");
    };
    let daemon = with_state(|state| match state.phase {
        Phase::Initialized => {
            state.phase = Phase::Finished;
            state
                .daemon
                .take()
                .ok_or(Failure::Misuse(b"daemon_run: no daemon"))
        }
        Phase::Fresh => Err(Failure::Misuse(
            b"daemon_run: daemon_init() has not been called",
        )),
        Phase::Finished => Err(Failure::Misuse(
            b"daemon_run: the daemon has already been run or released \
              (one daemonization per process)",
        )),
    });
    let daemon = daemon.unwrap_or_else(|failure| die_of(failure, &names));
    let dp_pointer: *mut DaemonParams = dp;
    // SAFETY (for the closure's calls): `dp` is the caller's structure, valid for the whole
    // call (and in the daemon, a copy made by fork); `body` is the caller's function.
    let outcome = daemon.run(host::daemon_fork(), |running| unsafe {
        run_body(dp_pointer, body, running)
    });
    // SAFETY: `dp` is still the caller's structure (the closure's borrow has ended).
    let dp = unsafe { &mut *dp_pointer };
    match outcome {
        // The launcher's descriptors of the PID file are closed.
        Ok(Launched::Daemon { .. }) => dp.pid_fd = -1,
        Ok(Launched::Simulated { .. }) => {}
        Err(error) => die_with(&error, &names),
    }
}

/// In the daemon (or in this process with `DAEMON_FLAG_SIMULATE`): the program's body, with
/// the `Running` kept in the state for `daemon_exit`, then released if the body left it.
///
/// # Safety
/// `dp` points to the caller's `struct daemon_params` (see [`daemon_run`]); `body` takes it.
unsafe fn run_body(dp: *mut DaemonParams, body: Body, running: Running) -> i32 {
    let lock_fd = running.lock_fd().map_or(-1, |lock| lock.as_raw_fd());
    // SAFETY: `dp` is valid (the caller's contract) and nobody else looks at it now.
    unsafe { (*dp).pid_fd = lock_fd };
    with_state(|state| state.running = Some(running));
    // SAFETY: the program's body, called as `<ucw/daemon.h>` documents; no view of the state
    // is held meanwhile.
    unsafe { body(dp) };
    if let Some(running) = with_state(|state| state.running.take()) {
        // SAFETY: as above.
        unsafe { release(&mut *dp, running) };
    }
    0
}

/// Empties and unlocks the PID file (`Running::exit`); a fatal error if that fails.
///
/// # Safety
/// `dp`'s strings satisfy [`member`]'s contract.
unsafe fn release(dp: &mut DaemonParams, running: Running) {
    dp.pid_fd = -1;
    if let Err(error) = running.exit() {
        // SAFETY: the caller's contract.
        die_with(&error, &unsafe { Names::of(dp) });
    }
}

/// `void daemon_exit(struct daemon_params *dp)`: in the daemon, empties the PID file and
/// releases its lock (a fatal error if the truncation fails, as in LibUCW); after
/// `daemon_init` without `daemon_run`, releases the PID file the same way (empty, unlocked);
/// otherwise (the launcher after `daemon_run`, no PID file) does nothing.
///
/// # Safety
/// As for [`daemon_resolve_ugid`].
#[no_mangle]
pub unsafe extern "C" fn daemon_exit(dp: *mut DaemonParams) {
    // SAFETY: the caller's contract.
    let dp = unsafe { params_of(dp, b"daemon_exit: dp is NULL") };
    let (running, daemon) = with_state(|state| {
        let running = state.running.take();
        let daemon = state.daemon.take();
        if daemon.is_some() {
            state.phase = Phase::Finished;
        }
        (running, daemon)
    });
    if let Some(running) = running {
        // SAFETY: the caller's contract.
        unsafe { release(dp, running) };
    }
    if let Some(daemon) = daemon {
        // Dropping a daemon that never ran empties its PID file and closes it.
        drop(daemon);
        dp.pid_fd = -1;
    }
}

/// `void daemon_switch_ugid(struct daemon_params *dp)`: switches the process to the
/// credentials `daemon_resolve_ugid` (or `daemon_init`) resolved (`Credentials::switch`:
/// refused in a multi-threaded process); nothing when none were asked for; a fatal error on
/// failure.
///
/// # Safety
/// As for [`daemon_resolve_ugid`].
#[no_mangle]
pub unsafe extern "C" fn daemon_switch_ugid(dp: *mut DaemonParams) {
    // SAFETY: the caller's contract.
    let dp = unsafe { params_of(dp, b"daemon_switch_ugid: dp is NULL") };
    let outcome = with_state(|state| resolved_credentials(state).switch());
    if let Err(error) = outcome {
        // SAFETY: the caller's contract for the strings.
        die_with(&error, &unsafe { Names::of(dp) });
    }
}
