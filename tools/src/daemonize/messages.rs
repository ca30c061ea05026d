//! The daemonizer's own failures ([`Failure`]): errors of the library's kind made with
//! `Error::custom`, so that they travel from the supervisor to the launcher in the library's
//! 16 bytes, and their words, which the library's renderer takes from [`Names`], the context of
//! every error the applet prints.
//!
//! This file owns those words and the names they mention. With the `messages` feature they are
//! sentences (the library's template syntax: `%s` the subject, `%n` its name, `%1` a number,
//! `%k1` a signal); without it, the few words of a short code line (`open output file
//! /var/log/x: EACCES`). It must never word one of the library's errors.

use super::Request;
use core::ffi::CStr;
use rustix::io::Errno;
use ucw_daemon::{daemon, Context, Error, Subject};

/// What failed, in the daemonizer's own code.
#[derive(Clone, Copy)]
#[repr(u8)]
#[cfg_attr(
    not(all(
        feature = "readiness",
        feature = "output-files",
        feature = "environment",
        feature = "log",
        feature = "tree"
    )),
    allow(dead_code)
)]
pub(super) enum Failure {
    Open,
    Stat,
    SetFlags,
    RefuseSymlink,
    RefuseHardLinks,
    RefuseOwnerNotTarget,
    RefuseNotRegularOrDevice,
    CreatePipe,
    CreateSocket,
    ForkFor,
    Execute,
    SetUpNotifyFd,
    ForwardSignals,
    TooManyVariables,
    EndedBeforeReady,
    KilledBeforeReady,
    EndedAfterReady,
    KilledAfterReady,
    ClosedBeforeReady,
    BecomeSubreaper,
    ControllerGone,
    CgroupNotAbsolute,
    CgroupNotCgroup2,
    CgroupNotDelegated,
    CgroupCreate,
    CgroupPopulated,
    JoinCgroup,
    OpenStatusFile,
    RefuseStatusFile,
    WriteLogDirectory,
    RefuseNotRegular,
    #[cfg(feature = "environment")]
    Read,
    #[cfg(feature = "environment")]
    MalformedLine,
    #[cfg(feature = "environment")]
    LineTooLong,
    #[cfg(feature = "environment")]
    VariablesTooLarge,
    #[cfg(feature = "environment")]
    ReadNrOpen,
    #[cfg(feature = "environment")]
    SoftAboveHard,
    #[cfg(feature = "environment")]
    AboveNrOpen,
    #[cfg(feature = "environment")]
    RaiseHardLimit,
}

/// The words of each [`Failure`], in order, each NUL-terminated, with `$long` (sentences) or
/// `$short` (code lines) after the words every build has.
macro_rules! failure_words {
    ($($long:literal, $short:literal)?) => {
        (if cfg!(feature = "messages") {
            concat!("Cannot open %s\0\
    Cannot stat %s\0\
    Cannot set flags of %s\0\
    Refusing %s: it is a symbolic link\0\
    Refusing %s: it has %1 hard links\0\
    Refusing %s: owned by uid %1, neither root nor the daemon's user (uid %2)\0\
    Refusing %s: not a regular file or character device\0\
    Cannot create a pipe\0\
    Cannot create a socket\0\
    Cannot fork for %n\0\
    Cannot execute %n\0\
    Cannot set up readiness descriptor %1 for %n\0\
    Cannot set up signal forwarding\0\
    Cannot pass the environment on: more than %1 variables\0\
    %n exited with status %1 before it was ready\0\
    %n was killed by signal %1 (%k1) before it was ready\0\
    %n was ready, then exited with status %1\0\
    %n was ready, then was killed by signal %1 (%k1)\0\
    %n closed its notification channel before it was ready\0\
    Cannot become the subreaper of %n's processes\0\
    %n was not ready when its starter ended\0\
    Refusing %s: not an absolute path of a directory below a cgroup2 directory\0\
    Refusing %s: its parent is not a cgroup2 directory\0\
    Refusing %s: its parent is not writable by the daemon's user (uid %1); delegate it\0\
    Cannot create %s\0\
    Refusing %s: it already holds processes\0\
    Cannot move %n into its cgroup\0\
    Cannot open the status file of %s\0\
    Refusing the status file of %s: a symbolic link, not a regular file with one link, not owned by root or us, writable by others, or on another file system\0\
    Cannot write to the directory of %s\0\
    Refusing %s: not a regular file\0", $($long)?)
        } else {
            concat!("open\0stat\0set flags\0refuse symlink\0refuse hard links\0refuse owner\0\
    refuse not regular or device\0create pipe\0create socket\0fork\0execute\0\
    set up notify fd\0forward signals\0too many variables\0ended before ready\0\
    killed before ready\0ended after ready\0killed after ready\0closed before ready\0\
    become subreaper\0starter ended\0cgroup not absolute\0cgroup not cgroup2\0\
    cgroup not delegated\0create cgroup\0cgroup populated\0join cgroup\0open status file\0\
    refuse status file\0write directory\0refuse not regular\0", $($short)?)
        })
        .as_bytes()
    };
}

/// The words of each [`Failure`], in order, each NUL-terminated.
#[cfg(not(feature = "environment"))]
const WORDS: &[u8] = failure_words!();
/// The words of each [`Failure`], in order, each NUL-terminated (the environment options'
/// after the others).
#[cfg(feature = "environment")]
const WORDS: &[u8] = failure_words!(
    "Cannot read %s\0\
    Malformed line %1 in %s: expected NAME=VALUE (a name without blanks)\0\
    Line %1 in %s is longer than %2 bytes\0\
    Cannot read %s: the variables of the environment files exceed %1 bytes\0\
    Cannot read /proc/sys/fs/nr_open (the unlimited of resource limit nofile)\0\
    Cannot set resource limit %l1: the soft limit would be above the hard limit\0\
    Cannot set resource limit %l1: above fs.nr_open (%2)\0\
    Cannot raise the hard limit of resource limit %l1 without CAP_SYS_RESOURCE\0",
    "read\0malformed line\0line too long\0variables too large\0read nr_open\0\
    soft above hard\0above nr_open\0raise hard limit\0"
);

impl Failure {
    /// The error, about `subject`.
    pub(super) fn about(self, subject: Subject) -> Error {
        Error::custom(self as u8, subject, None)
    }

    /// The error, about `subject`, caused by a system call that failed with `errno`.
    pub(super) fn system(self, subject: Subject, errno: Errno) -> Error {
        Error::custom(self as u8, subject, Some(errno))
    }
}

/// The words of failure `code`.
fn words(code: u8) -> Option<&'static [u8]> {
    WORDS
        .split(|&byte| byte == 0)
        .nth(usize::from(code))
        .filter(|words| !words.is_empty())
}

/// The names a `ucw-daemonize` error may mention: the daemon's params, the program, the
/// user and group as given, the output files; and the daemonizer's own words.
pub(super) struct Names<'a> {
    pub(super) params: &'a daemon::Params<'a>,
    pub(super) request: &'a Request<'a>,
    pub(super) program: &'a [u8],
    /// The `--env-file` an error is about.
    #[cfg(feature = "environment")]
    pub(super) environment_file: Option<&'a [u8]>,
}

impl Context for Names<'_> {
    fn name(&self, subject: Subject) -> Option<&[u8]> {
        match subject {
            Subject::Program => Some(self.program),
            Subject::User => self.request.user.map(CStr::to_bytes),
            Subject::Group => self.request.group.map(CStr::to_bytes),
            Subject::OutputFile => self.request.stdout.map(CStr::to_bytes),
            Subject::ErrorFile => self.request.stderr.map(CStr::to_bytes),
            Subject::Cgroup => self.request.cgroup.map(CStr::to_bytes),
            Subject::LogFile => self.request.log.map(CStr::to_bytes),
            #[cfg(feature = "environment")]
            Subject::EnvironmentFile => self.environment_file,
            other => self.params.name(other),
        }
    }

    fn template(&self, code: u8) -> Option<&[u8]> {
        words(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_has_its_words() {
        let count = WORDS.iter().filter(|&&byte| byte == 0).count();
        #[cfg(feature = "environment")]
        let last = Failure::RaiseHardLimit;
        #[cfg(not(feature = "environment"))]
        let last = Failure::RefuseNotRegular;
        assert_eq!(count, last as usize + 1);
        for code in 0..count as u8 {
            assert!(words(code).is_some(), "{code}");
        }
        assert_eq!(words(count as u8), None);
    }
}
