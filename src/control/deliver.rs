//! Signal delivery for STOP and SIGNAL (docs/design.md §3): only to a process proven to hold the
//! PID file's lock (`proof.rs`), through its pidfd or the `/proc/<n>` directory the proof read;
//! without `pidfd_open`, `kill`.
//!
//! This file owns the sending. It must never signal a process the proof has not called a holder,
//! nor by a number read in `/proc`.

use super::deadline::{Deadline, FIRST_PAUSE};
use super::holders::{holds, process_error, Holding};
use super::procfs::{group_and_session, open_proc};
use super::proof::{foreign_proc, lock_of, proc_is_ours, prove, LockId, Proof};
use super::{Held, Params, Status};
use crate::error::{Error, Message, Result, Subject};
use crate::pidfile::{self, FileId, Inspected, PidState};
use crate::signal::Signal;
use crate::sys;
use crate::text::parse_decimal;
use core::mem::MaybeUninit;
use core::time::Duration;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{Mode, OFlags, RawDir};
use rustix::io::Errno;
use rustix::process::Pid;

/// A process proven to hold the lock, and how to reach it.
pub(crate) struct Target {
    /// The number messages name: ours for the named process, `/proc`'s for a scanned holder.
    pub(super) number: u32,
    /// How a signal reaches it.
    pub(super) reach: Reach,
    /// Its `/proc` directory (`/proc/<n>`, or the named process's `/proc/<n>/fdinfo`) and number.
    pub(super) process: Option<(OwnedFd, u32)>,
    /// The named process's pidfd fdinfo, closed with the rest.
    pub(super) translation: Option<OwnedFd>,
}

/// How a signal reaches a [`Target`].
pub(super) enum Reach {
    /// Its pidfd (the named process).
    Pidfd(OwnedFd),
    /// Its `/proc/<n>` directory (a holder found by scanning `/proc`).
    Directory,
    /// `kill(number)`: the named process where `pidfd_open` is unavailable.
    Kill,
}

/// Who got the signal.
pub(crate) enum Delivered {
    /// The process the PID file names.
    Named(Target),
    /// That process has exited; this many other holders in its session got the signal.
    Others(u32),
    /// The daemon has exited meanwhile: the PID file is no longer locked.
    Exited,
}

/// SIGNAL on RUNNING(pid): deliver and say what happened; descriptors go to `held`.
pub(crate) fn signal_daemon(
    pid: Pid,
    file: FileId,
    inspected: Option<Inspected>,
    signal: Signal,
    params: &Params<'_>,
    held: &mut Held,
) -> Result<Status> {
    let lock = match &inspected {
        Some(inspected) => lock_of(inspected.fd.as_fd(), file.inode)?.lock,
        // Cannot be: RUNNING is a locked file, whose descriptor the look hands on.
        None => return Err(Error::new(Message::NotHolding, Subject::PidFile)),
    };
    held.keep_inspected(inspected);
    match deliver(params, pid, file, lock.as_ref(), signal, false)? {
        Delivered::Exited => Ok(Status::NotRunning),
        Delivered::Named(target) => {
            target.keep_in(held);
            Ok(Status::Ok)
        }
        Delivered::Others(_) => Ok(Status::Ok),
    }
}

/// Proves that `pid` (or, once it exited, other processes of the daemon) holds the lock and sends
/// `signal` (then SIGCONT when `then_continue`).
pub(crate) fn deliver(
    params: &Params<'_>,
    pid: Pid,
    file: FileId,
    lock: Option<&LockId>,
    signal: Signal,
    then_continue: bool,
) -> Result<Delivered> {
    let pid_number = pid.as_raw_nonzero().get() as u32;
    let (gone, session) = match prove(pid, lock, params.pid_file)? {
        Proof::Holder(target) => {
            if target.send(signal)? {
                if then_continue {
                    let _ = target.send(Signal::CONT);
                }
                return Ok(Delivered::Named(target));
            }
            (true, target.process.map(|(_, number)| number))
        }
        Proof::Gone(number) => (true, number),
        Proof::NotHolding => (false, None),
    };
    // Gone or not holding: the lock, looked at again, tells an exit from an impostor.
    if !still_locked(params, file)? {
        return Ok(Delivered::Exited);
    }
    if !gone {
        return Err(Error::new(Message::NotHolding, Subject::PidFile).with(1, pid_number));
    }
    // No holder proven: the lock tells a just-exited last holder from others still holding it.
    let no_holder = || match released(params, file)? {
        true => Ok(Delivered::Exited),
        false => Err(Error::new(Message::HeldByOthers, Subject::PidFile).with(1, pid_number)),
    };
    // Without /proc nobody else can be proven.
    let Some(lock) = lock else {
        return no_holder();
    };
    // The named process's `/proc` number.
    let session = match session {
        Some(number) => number,
        None => match proc_is_ours()? {
            Some(true) => pid_number,
            Some(false) => return Err(foreign_proc()),
            None => return no_holder(),
        },
    };
    let what = ToHolders::Signal(signal, then_continue);
    if signal_others(Some(session), lock, params.pid_file, what)? > 0 {
        return Ok(Delivered::Others(session));
    }
    // Still locked with none in the session: holders that called `setsid`, each alone.
    if released(params, file)? {
        return Ok(Delivered::Exited);
    }
    match signal_others(None, lock, params.pid_file, what)? {
        0 => no_holder(),
        _ => Ok(Delivered::Others(session)),
    }
}

/// Whether the PID file is still the locked file `file`.
fn still_locked(params: &Params<'_>, file: FileId) -> Result<bool> {
    let inspection = pidfile::inspect(params.pid_file)?;
    Ok(
        matches!(inspection.state, PidState::Running(_) | PidState::Busy)
            && inspection.file == file,
    )
}

/// How long an unproven lock gets to go before it counts as held by others.
const RELEASE_GRACE: Duration = Duration::from_millis(100);

/// Whether the PID file's lock goes within [`RELEASE_GRACE`] (looked at with backoff).
fn released(params: &Params<'_>, file: FileId) -> Result<bool> {
    let grace = Deadline::start(Some(RELEASE_GRACE));
    let mut step = FIRST_PAUSE;
    loop {
        if !still_locked(params, file)? {
            return Ok(true);
        }
        if !grace.pause(&mut step) {
            return Ok(false);
        }
    }
}

/// What [`signal_others`] sends to each holder.
#[derive(Clone, Copy)]
pub(crate) enum ToHolders {
    /// The signal, followed by SIGCONT when the flag says so (STOP).
    Signal(Signal, bool),
    /// SIGKILL to the holder's whole process group (STOP's escalation).
    KillGroup,
}

/// Sends `what` through `/proc/<n>` to every holder of `lock` in `session` (any when `None`);
/// returns how many.
pub(crate) fn signal_others(
    session: Option<u32>,
    lock: &LockId,
    pid_file: &core::ffi::CStr,
    what: ToHolders,
) -> Result<u32> {
    let mut found = 0;
    for_each_process(&mut |process, number, (_, of)| {
        if session.is_some_and(|session| session != of) {
            return Ok(());
        }
        let infos = match rustix::fs::openat(
            process.as_fd(),
            c"fdinfo",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(infos) => infos,
            // Gone (or its /proc entry, in a zombie's last moments).
            Err(Errno::NOENT) | Err(Errno::SRCH) => return Ok(()),
            // Any session: a process we may not look at is not ours to prove.
            Err(_) if session.is_none() => return Ok(()),
            Err(errno) => return Err(process_error(number, errno)),
        };
        let holding = match holds(infos.as_fd(), number, lock, pid_file) {
            Err(_) if session.is_none() => Holding::No,
            holding => holding?,
        };
        if let Holding::Yes = holding {
            found += 1;
            let target = Target {
                number,
                reach: Reach::Directory,
                process: Some((process, number)),
                translation: None,
            };
            match what {
                ToHolders::KillGroup => {
                    target.send_group(Signal::KILL)?;
                }
                ToHolders::Signal(signal, then_continue) => {
                    if target.send(signal)? && then_continue {
                        let _ = target.send(Signal::CONT);
                    }
                }
            }
        }
        Ok(())
    })?;
    Ok(found)
}

/// SIGKILL through `/proc/<n>` for every process of `session`: STOP's escalation.
pub(crate) fn kill_session(session: u32) -> Result<()> {
    for_each_process(&mut |member, _, (_, of)| {
        if of == session {
            let _ = sys::pidfd_send_signal(member.as_fd(), Signal::KILL.number(), 0);
        }
        Ok(())
    })
}

/// Calls `visit` with `/proc/<n>`, `n`, group and session of every process (exiting ones skipped).
fn for_each_process(visit: &mut dyn FnMut(OwnedFd, u32, (u32, u32)) -> Result<()>) -> Result<()> {
    let root_error = |errno| Error::system(Message::ReadProcDirectory, Subject::None, errno);
    let root = match open_proc(c"/proc", OFlags::DIRECTORY) {
        Ok(root) => root,
        // No /proc: no process to be found.
        Err(Errno::NOENT) => return Ok(()),
        Err(errno) => return Err(root_error(errno)),
    };
    let mut buffer = [MaybeUninit::<u8>::uninit(); 2048];
    let mut entries = RawDir::new(root.as_fd(), &mut buffer);
    while let Some(entry) = entries.next() {
        let entry = entry.map_err(root_error)?;
        let name = entry.file_name();
        let Some(number) = parse_decimal(name.to_bytes(), pidfile::PID_MAX) else {
            continue;
        };
        let number = number as u32;
        let process = match rustix::fs::openat(
            root.as_fd(),
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(process) => process,
            Err(Errno::NOENT) | Err(Errno::SRCH) => continue,
            Err(errno) => return Err(process_error(number, errno)),
        };
        let Some(ids) = group_and_session(process.as_fd(), c"stat") else {
            continue;
        };
        visit(process, number, ids)?;
    }
    Ok(())
}

impl Target {
    /// Whether it still lives (pidfd not readable); taken to live without a pidfd.
    pub(super) fn is_alive(&self) -> Result<bool> {
        let Some(pidfd) = self.pidfd() else {
            return Ok(true);
        };
        super::deadline::wait_readable(pidfd, &super::deadline::Deadline::now())
            .map(|exited| !exited)
            .map_err(|errno| Error::system(Message::PollPidfd, Subject::None, errno))
    }

    /// The process's `stat` file, relative to [`Target::process`]'s directory.
    pub(super) fn stat_path(&self) -> &'static core::ffi::CStr {
        match self.reach {
            Reach::Directory => c"stat",
            _ => c"../stat",
        }
    }

    /// Keeps the descriptors that reach the process until the action's outcome drops.
    pub(crate) fn keep_in(self, held: &mut Held) {
        if let Reach::Pidfd(pidfd) = self.reach {
            held.keep(pidfd);
        }
        if let Some((process, _)) = self.process {
            held.keep(process);
        }
        if let Some(translation) = self.translation {
            held.keep(translation);
        }
    }

    /// The pidfd, when there is one.
    pub(crate) fn pidfd(&self) -> Option<BorrowedFd<'_>> {
        match &self.reach {
            Reach::Pidfd(pidfd) => Some(pidfd.as_fd()),
            _ => None,
        }
    }

    /// `/proc`'s number for it (for a daemon, the session it leads), when known.
    pub(crate) fn proc_number(&self) -> Option<u32> {
        self.process.as_ref().map(|(_, number)| *number)
    }

    /// Sends `signal`; `Ok(false)` when the process has already exited.
    pub(crate) fn send(&self, signal: Signal) -> Result<bool> {
        self.send_with(signal, 0)
    }

    /// Signals the process group (`PIDFD_SIGNAL_PROCESS_GROUP`, Linux 6.9; else each member `/proc`
    /// lists). `Ok(false)` when gone.
    pub(crate) fn send_group(&self, signal: Signal) -> Result<bool> {
        match self.send_with(signal, sys::PIDFD_SIGNAL_PROCESS_GROUP) {
            Ok(true) => return Ok(true),
            Ok(false) => {}
            Err(error) if error.errno() == Some(Errno::INVAL) => {}
            Err(error) => return Err(error),
        }
        if let (Some((process, _)), true) = (&self.process, self.is_alive()?) {
            if let Some((group, _)) = group_and_session(process.as_fd(), self.stat_path()) {
                for_each_process(&mut |member, _, (of, _)| {
                    if of == group {
                        let _ = sys::pidfd_send_signal(member.as_fd(), signal.number(), 0);
                    }
                    Ok(())
                })?;
            }
        }
        self.send(signal)
    }

    /// Through the pidfd, `/proc/<n>`, or `kill` (with the PID file's number, in our namespace).
    fn send_with(&self, signal: Signal, flags: u32) -> Result<bool> {
        let number = signal.number();
        let result = match (&self.reach, &self.process) {
            (Reach::Pidfd(handle), _) | (Reach::Directory, Some((handle, _))) => {
                sys::pidfd_send_signal(handle.as_fd(), number, flags)
            }
            _ => {
                let pid = Pid::from_raw(self.number as i32).ok_or(Errno::SRCH);
                // SAFETY: `Signal` holds 1–64, all valid Linux signals.
                let kernel = unsafe { rustix::process::Signal::from_raw_unchecked(number as i32) };
                pid.and_then(|pid| {
                    if flags == 0 {
                        rustix::process::kill_process(pid, kernel)
                    } else {
                        rustix::process::kill_process_group(pid, kernel)
                    }
                })
            }
        };
        match result {
            Ok(()) => Ok(true),
            Err(Errno::SRCH) => Ok(false),
            Err(errno) => Err(Error::system(Message::SendSignal, Subject::None, errno)
                .with(1, number)
                .with(2, self.number)),
        }
    }
}
