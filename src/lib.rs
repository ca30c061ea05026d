//! # ucw-daemon
//!
//! LibUCW's daemonization helper and its race-free daemon-control protocol, `#![no_std]` and
//! without libc: every system call goes through rustix's `linux_raw` backend or our own
//! minimal [`sys`] layer.
//!
//! ## Daemonization (LibUCW's `daemon_init` / `daemon_run` / `daemon_exit`)
//!
//! - [`daemon`]: [`daemon::init`] resolves the credentials and locks the PID file in the
//!   launching process; [`daemon::Daemon::run`] forks, and the child detaches (`setsid`),
//!   switches credentials, points stdin/stdout at `/dev/null`, sets `umask(022)` and
//!   `chdir("/")`, reports its setup to the launcher and waits to be released once its PID
//!   is in the PID file; [`daemon::Running::exit`] empties the PID file.
//!   [`daemon::Daemon::run_confirmed`] also waits for the body's confirmation (exec
//!   succeeded, or an explicit confirm / failure report), for `ucw-daemonize`.
//! - [`credentials`]: user/group (name or `#id`) → uid, gid, supplementary groups
//!   (initgroups rules), and the irreversible switch.
//! - [`account`]: streaming, constant-memory lookups in passwd/group files given by path.
//!
//! Where we differ from LibUCW, on purpose: the credentials are dropped in the daemon, not
//! in the launcher; `#uid` and `#gid` work (LibUCW hands the `#` to its number parser);
//! an explicit group still gets the user's supplementary groups (initgroups with that gid;
//! LibUCW keeps root's); ids above 4,294,967,294 (`#-1`) are refused; the PID file is
//! truncated, never unlinked, on exit; the daemon does not run its body when the launcher
//! died before publishing the PID; a setup error in the daemon is returned by the launcher.
//!
//! What it will not do: consult NSS (LDAP, systemd-userdb…): only the passwd and group
//! files; switch credentials of a multi-threaded process (set*id is per thread without
//! libc's broadcast); reset signal dispositions or close inherited descriptors unless asked
//! ([`daemon::Flags`]).
//!
//! ## Controlling a daemon: [`control::control`]
//!
//! Every action first locks the guard file (created `0600`; refused when it is the PID file's
//! inode), then classifies the PID file ([`pidfile::inspect`], DESIGN.md §2) and acts:
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
//! guard, the launcher, BUSY, the stop); STOP can escalate to SIGKILL when it expires.
//!
//! Where we differ from LibUCW's `daemon_control()`, and why:
//! - a signal goes only to a process proven to hold the PID file open (`/proc/<pid>/fd`),
//!   through a pidfd, so a recycled PID or a decoy is never signalled (LibUCW trusts the
//!   number; it even accepts `-1` and calls `kill(-1, sig)`);
//! - STOP sends SIGCONT after its signal (a stopped daemon could never exit) and empties the
//!   PID file once it holds the lock (the next CHECK says "not running", not "stale");
//! - an unlocked PID file with over-long content is STALE, not an error;
//! - the launcher's failures are reported precisely (exec errno, exit status, signal, a
//!   launcher that exited 0 without leaving a locked PID file);
//! - `PATH` search has no `/bin/sh` fallback on ENOEXEC.
//!
//! ## Module map
//!
//! Data flows one way: the tools (`src/bin`) → [`control`] / [`daemon`] → [`pidfile`],
//! [`credentials`], [`exec`] → [`account`], [`signal`], [`text`], [`error`] → [`sys`]. No
//! module reaches upward.
//!
//! | module | owns |
//! |---|---|
//! | [`daemon`] | init → run → exit (DESIGN.md §4) |
//! | [`control`] | the action table (§3): guard, classify, launch, prove, signal, wait |
//! | [`pidfile`] | safe open/lock/read/write of the PID and guard files; the §2 classes |
//! | [`credentials`] | resolving user/group and the irreversible switch (§6) |
//! | [`account`] | streaming passwd/group lookups |
//! | [`exec`] | `PATH` search and `execve` |
//! | [`cli`] | GNU `getopt_long`-style parsing for the tools |
//! | [`signal`] | signal names ↔ numbers |
//! | [`text`], [`error`] | fixed-capacity text, errno names, the one `Error` type |
//! | [`failpoint`] | named stop points for fault tests (feature `failpoints` only) |
//! | [`sys`] | raw system calls rustix does not expose |
//!
//! The tools' runtime (`_start`, panic handler, `memcpy` & co.) lives in `src/rt` and is
//! included by each tool, never by the library: linking this crate into an ordinary program
//! adds no entry point and no memory functions.
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod account;
pub mod cli;
pub mod control;
pub mod credentials;
pub mod daemon;
pub mod error;
pub mod exec;
pub mod failpoint;
pub mod pidfile;
pub mod signal;
pub mod sys;
pub mod text;

pub use error::{Error, Result};

// The README's Rust examples compile as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
