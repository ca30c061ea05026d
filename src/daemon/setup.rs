//! The setup a daemon makes in itself around the credential switch (docs/design.md §4): limits,
//! nice value, OOM score, umask, root and working directory before it, `no_new_privs` after.
//!
//! This file owns that order and those calls. It must never ask for anything [`Params`] does not,
//! leave a working directory outside a new root, or touch the credentials.

use super::{Flags, Params};
use crate::credentials::Credentials;
use crate::error::{Error, Message, Result, Subject};
use crate::text::format_decimal;
use rustix::fs::{Mode, OFlags};

const OOM_SCORE_ADJ: &core::ffi::CStr = c"/proc/self/oom_score_adj";

impl Params<'_> {
    /// [`init`](super::init)'s refusals before any file changes: kept capabilities without a
    /// switch to a non-root user or that could undo it, a root directory with
    /// [`Flags::PRESERVE_CWD`].
    #[inline(never)]
    pub(super) fn check_setup(&self, credentials: &mut Credentials<'_>) -> Result<()> {
        credentials.keep_capabilities(self.keep_capabilities)?;
        if self.root_directory.is_some() && self.flags.contains(Flags::PRESERVE_CWD) {
            return Err(Error::new(
                Message::RootWithPreservedDirectory,
                Subject::RootDirectory,
            ));
        }
        Ok(())
    }

    /// Everything before the switch, in order: `prlimit64` per limit, `setpriority`, the OOM score,
    /// `umask`, `chroot` and `chdir("/")`, `chdir` to the working directory. `daemonizing` adds
    /// LibUCW's umask 022 and `chdir("/")` (unless [`Flags::PRESERVE_CWD`]).
    ///
    /// # References
    /// [prlimit(2)](https://man7.org/linux/man-pages/man2/prlimit.2.html),
    /// [setpriority(2)](https://man7.org/linux/man-pages/man2/setpriority.2.html),
    /// [proc_pid_oom_score_adj(5)](https://man7.org/linux/man-pages/man5/proc_pid_oom_score_adj.5.html),
    /// [umask(2)](https://man7.org/linux/man-pages/man2/umask.2.html),
    /// [chroot(2)](https://man7.org/linux/man-pages/man2/chroot.2.html),
    /// [chdir(2)](https://man7.org/linux/man-pages/man2/chdir.2.html)
    pub(super) fn set_up_before_switch(&self, daemonizing: bool) -> Result<()> {
        for &(resource, limit) in self.limits {
            rustix::process::setrlimit(resource, limit).map_err(|errno| {
                Error::system(Message::SetLimit, Subject::None, errno).with(1, resource as u32)
            })?;
        }
        if self.nice != 0 {
            rustix::process::nice(self.nice)
                .map_err(|errno| Error::system(Message::SetNice, Subject::None, errno))?;
        }
        if let Some(score) = self.oom_score_adj {
            write_oom_score_adj(score)
                .map_err(|errno| Error::system(Message::SetOomScore, Subject::None, errno))?;
        }
        if let Some(mask) = self
            .umask
            .or(daemonizing.then_some(Mode::from_raw_mode(0o022)))
        {
            rustix::process::umask(mask);
        }
        if let Some(root) = self.root_directory {
            rustix::process::chroot(root).map_err(|errno| {
                Error::system(Message::ChangeRoot, Subject::RootDirectory, errno)
            })?;
            change_directory(c"/")?;
        }
        match self.working_directory {
            Some(directory) => rustix::process::chdir(directory).map_err(|errno| {
                Error::system(Message::ChangeDirectoryTo, Subject::WorkingDirectory, errno)
            }),
            None if daemonizing
                && self.root_directory.is_none()
                && !self.flags.contains(Flags::PRESERVE_CWD) =>
            {
                change_directory(c"/")
            }
            None => Ok(()),
        }
    }

    /// Everything after the switch: `prctl(PR_SET_NO_NEW_PRIVS, 1)`.
    ///
    /// # References
    /// [prctl(2)](https://man7.org/linux/man-pages/man2/prctl.2.html) (`PR_SET_NO_NEW_PRIVS`)
    pub(super) fn set_up_after_switch(&self) -> Result<()> {
        if self.no_new_privs {
            rustix::thread::set_no_new_privs(true)
                .map_err(|errno| Error::system(Message::SetNoNewPrivs, Subject::None, errno))?;
        }
        Ok(())
    }
}

/// `chdir("/")`.
fn change_directory(path: &core::ffi::CStr) -> Result<()> {
    rustix::process::chdir(path)
        .map_err(|errno| Error::system(Message::ChangeDirectory, Subject::None, errno))
}

/// `score` to `/proc/self/oom_score_adj` in one `write`.
fn write_oom_score_adj(score: i16) -> core::result::Result<(), rustix::io::Errno> {
    let mut digits = [0u8; 20];
    // The sign, when there is one, just before the digits (at most five of the twenty).
    let mut start =
        digits.len() - format_decimal(u64::from(score.unsigned_abs()), &mut digits).len();
    if score < 0 {
        start -= 1;
        digits[start] = b'-';
    }
    let file = rustix::fs::open(
        OOM_SCORE_ADJ,
        OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )?;
    rustix::io::write(&file, &digits[start..]).map(|_| ())
}
