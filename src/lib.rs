//! # ucw-daemon
//!
//! LibUCW's daemonization helper and its race-free daemon-control protocol, `#![no_std]`, with
//! no heap and without libc: every system call goes through rustix's `linux_raw` backend or a
//! few raw ones of our own.
//!
//! ## Daemonization (LibUCW's `daemon_init` / `daemon_run` / `daemon_exit`)
//!
//! - [`daemon`]: [`daemon::init`] resolves the credentials and locks the PID file in the
//!   launching process; [`daemon::Daemon::run`] forks — the way the program's C library
//!   expects, if it has one: the caller chooses ([`daemon::Fork`]) — and the child detaches
//!   (`setsid`), switches credentials, points stdin/stdout at `/dev/null`, sets `umask(022)`
//!   and `chdir("/")`, reports its setup to the launcher and waits to be released once its
//!   PID is in the PID file; [`daemon::Running::exit`] empties and unlocks the PID file.
//!   [`daemon::Daemon::run_until_ready`] also waits until the body says it is ready (or
//!   execs).
//! - [`credentials`]: a user/group ([`credentials::Identity`]: a name or an id) → uid, gid,
//!   supplementary groups (initgroups rules), and the irreversible switch.
//! - [`account`]: streaming, constant-memory lookups in passwd/group files given by path.
//!
//! ## Controlling a daemon: [`control::control`]
//!
//! Every action first locks the guard file (created `0600`; refused when it is the PID file's
//! inode), then classifies the PID file (docs/design.md §2) and acts:
//!
//! | class | CHECK | START | STOP | SIGNAL |
//! |---|---|---|---|---|
//! | ABSENT / NOT_RUNNING (empty) | 101 | launch → 0 | 100 | 101 |
//! | STALE (unlocked, any content) | 103 | launch → 103 (success) | 103 | 101 |
//! | RUNNING(pid) (locked, valid PID) | 0 | 100 | signal, wait → 0 | signal → 0 |
//! | BUSY (locked, no PID yet) | 0 | 100 | wait for a PID or for the lock to go, then as RUNNING or 0 | 101 |
//! | ERROR (bad file, locked garbage, `-1`, `0`, I/O error) | 102 | 102 | 102 | 102 |
//!
//! 0 is [`control::Status::Ok`], 100 `AlreadyDone`, 101 `NotRunning`, 103 `Stale`, 102 the
//! `Err` of [`control::control`]. One optional deadline bounds every wait of an action (the
//! guard, the launcher, BUSY, the proof, the stop); STOP can escalate to SIGKILL of the
//! daemon's process group when it expires.
//!
//! ## Errors: [`Error`]
//!
//! A 16-byte `Copy` value: a kind a program can match ([`ErrorKind`]), the role of what it
//! concerns ([`Subject`]), the errno, a few numbers. Words come at the edge:
//! `error.display(&params)` (or [`Error::render`] into a fixed buffer) names the subjects
//! from the parameters that produced the error — `Cannot open PID file /run/x.pid: EACCES
//! (Permission denied)`.
//!
//! ## Where we differ from LibUCW, and why
//!
//! - a signal goes only to a process proven to hold the PID file's *lock*
//!   (`/proc/<pid>/fdinfo`), through a pidfd, so a recycled PID or a decoy is never signalled
//!   (LibUCW trusts the number; it even accepts `-1` and calls `kill(-1, sig)`);
//! - STOP sends SIGCONT after its signal (a stopped daemon could never exit) and empties the
//!   PID file once it holds the lock; the daemon side truncates and unlocks it, never unlinks;
//! - PID and guard files: no symlinks, regular, owned by root or us, not writable by others,
//!   created `0600` and tightened to it (anyone who can read a file can hold its lock), never
//!   on descriptors 0–2, never written on a pseudo file system (`/proc/sys/...`);
//! - an unlocked PID file with over-long content is STALE, not an error;
//! - the launcher's failures are reported precisely (exec errno, exit status, signal, a
//!   launcher that exited 0 without leaving a locked PID file);
//! - `PATH` search has no `/bin/sh` fallback on ENOEXEC; the environment of a launched
//!   program is an explicit argument (LibUCW's `execvp` inherits the caller's: pass yours);
//! - the credentials are dropped in the daemon, not in the launcher; `#uid` and `#gid` work
//!   (LibUCW hands the `#` to its number parser); an explicit group still gets the user's
//!   supplementary groups (initgroups with that gid; LibUCW keeps root's); ids above
//!   4,294,967,294 (`#-1`) are refused; the switch is proven irreversible;
//! - the daemon does not run its body when the launcher died before publishing the PID.
//!
//! ## What this crate will not do
//!
//! - Consult NSS (LDAP, systemd-userdb…): only the passwd and group files.
//! - Switch the credentials of, or fork the daemon from, a multi-threaded process (raw
//!   set*id is per thread; only the forking thread goes on in a child): both refuse when
//!   `/proc/self/status` shows other threads.
//! - Reset signal dispositions or close inherited descriptors of an in-process body unless
//!   asked ([`daemon::Flags::RESET_SIGNALS`], [`daemon::Daemon::close_inherited_fds`]); Rust's
//!   std ignores SIGPIPE on purpose.
//! - Block, reset or take the signals C libraries reserve (32–34) in a process that has one.
//! - Run on anything but Linux x86_64 and aarch64.
//!
//! ## Module map: the public API
//!
//! - [`daemon`]: [`daemon::init`] → [`daemon::Daemon`] (`run`, `run_until_ready`,
//!   `close_inherited_fds`, `credentials`, `lock_fd`) → in the body [`daemon::Running`]
//!   (`ready`, `report_failure`, `exit`, `launcher`, `lock_fd`, `is_simulated`,
//!   `keep_lock_across_exec`); [`daemon::Params`], [`daemon::Flags`], [`daemon::Launched`],
//!   and [`daemon::Fork`], how the program creates processes and ends (`raw_clone`, `hosted`,
//!   `std`, `fork`, `exit`).
//! - [`credentials`]: [`credentials::Identity`] (a name or `#id`) and
//!   [`credentials::Credentials`] (resolve, switch).
//! - [`account`]: the passwd and group lookups ([`account::AccountFiles`]).
//! - [`control`]: [`control::control`] and [`control::perform`] (→ [`control::Outcome`]) with
//!   [`control::Params`], [`control::Action`], [`control::Status`] (and
//!   [`control::ERROR_EXIT_CODE`]); [`control::StringList`], an argument or environment list,
//!   which also execs a program the way START does (`exec`).
//! - [`signal`]: [`signal::Signal`] (names and numbers), [`signal::SignalSet`],
//!   [`signal::block`], [`signal::unblock`], [`signal::set_default_action`], and
//!   [`signal::Signals`], a signalfd.
//! - Errors, at the root: [`Error`] (`kind`, `subject`, `errno`, `render`, `display`,
//!   `custom`, `with`, `body_failed`), [`ErrorKind`], [`Refusal`], [`Subject`], [`Context`]
//!   (names and a program's own words), [`Result`].
//!
//! Data flows one way (docs/design.md §8): the tools (`tools/`) and the C ABI (`capi/`) use
//! this public face only → [`control`] / [`daemon`] → the private `pidfile` (open, lock,
//! classify), [`credentials`] → [`account`], `exec` (argument lists, `PATH` search) → the
//! private `error` and `text` (the one error type and its words) → `sys` (the few raw system
//! calls rustix lacks, the only home of `unsafe`). No module reaches upward. The tools'
//! runtime (`_start`, panic handler, `memcpy` & co.) is theirs: linking this crate into an
//! ordinary program adds no entry point and no memory functions.
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod account;
pub mod control;
pub mod credentials;
pub mod daemon;
pub mod signal;

mod error;
mod exec;
mod io;
mod sys;
mod text;

// The PID file's classification is the fuzz targets' (tests/fuzz) business too.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod pidfile;
#[cfg(not(fuzzing))]
mod pidfile;

// Fault injection for the tests' programs: public only in `--cfg ucw_failpoints` builds.
#[cfg(ucw_failpoints)]
#[doc(hidden)]
pub mod failpoint;
#[cfg(not(ucw_failpoints))]
mod failpoint;

pub use error::{Context, Error, ErrorKind, Refusal, Result, Subject};

// The README's Rust examples compile as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
