//! The library's one error type: a small `Copy` value saying *what* failed (a `Message`, from
//! which [`Error::kind`] follows), *on what* (a [`Subject`]: the PID file, the guard file, the
//! program, an account…), *why* (the errno of a failed system call) and a few numbers (a pid,
//! a uid, a mode, a duration). It holds no text and no pointer: 16 bytes.
//!
//! The words come only at the edge. [`Error::render`] writes the whole sentence into a
//! caller's fixed buffer (LibUCW's `error_msg[DAEMON_ERR_LEN]`), taking the subjects' names
//! from the parameters that produced the error ([`Context`]): `Cannot open PID file
//! /run/x.pid: EACCES (Permission denied)`. Names are escaped losslessly (`\xNN` for bytes
//! that are not UTF-8 text, `\\` for a backslash); a name too long for the buffer is cut in
//! the middle, never the errno at the end. `Display` names the subjects by their role
//! (`Cannot open PID file: EACCES (Permission denied)`); [`Error::display`] gives the full
//! line.
//!
//! This module owns the wording of every message (one packed table of templates) and the
//! renderer. It must never allocate, never store a name, and never use `core::fmt` outside
//! the `Display` implementations (the static tools call [`Error::render`]).

use crate::text::{errno_text, packed_field, Writer};
use core::time::Duration;
use rustix::io::Errno;

/// Why an operation failed: the kind, its subject, the errno of a failed system call and a
/// few numbers, rendered into words only when asked ([`Error::render`]).
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Error {
    message: Message,
    subject: Subject,
    /// The errno of the failed system call, 0 when none failed.
    errno: u16,
    /// What the message's `%1`, `%2`, `%3` show.
    numbers: [u32; 3],
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// What an error is about, by its role; its name (a path, a program, an account name) comes
/// from the [`Context`] it is rendered against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
#[non_exhaustive]
pub enum Subject {
    /// Nothing in particular (the daemon, a pipe, the process itself).
    None,
    /// The daemon's PID file.
    PidFile,
    /// The guard file that serialises controllers.
    GuardFile,
    /// The program being started.
    Program,
    /// The user to run as.
    User,
    /// The group to run as.
    Group,
    /// The passwd file (`/etc/passwd`).
    PasswdFile,
    /// The group file (`/etc/group`).
    GroupFile,
    /// The file the daemon's standard output goes to.
    OutputFile,
    /// The file the daemon's standard error goes to.
    ErrorFile,
    /// The socket on which the daemon announces readiness.
    NotifySocket,
}

/// Every [`Subject`], in declaration order (which is their numbering).
const ALL_SUBJECTS: &[Subject] = &[
    Subject::None,
    Subject::PidFile,
    Subject::GuardFile,
    Subject::Program,
    Subject::User,
    Subject::Group,
    Subject::PasswdFile,
    Subject::GroupFile,
    Subject::OutputFile,
    Subject::ErrorFile,
    Subject::NotifySocket,
];

impl Subject {
    /// How the subject is called when its name is unknown or follows: its role.
    fn role(self) -> &'static [u8] {
        packed_field(SUBJECT_ROLES, self as usize).unwrap_or(b"")
    }
}

/// The role of each [`Subject`], in order.
const SUBJECT_ROLES: &[u8] = b"\0PID file\0guard file\0program\0user\0group\0passwd file\0\
    group file\0output file\0error file\0notification socket\0";

/// Where an error's subjects get their names: the parameters of the call that failed
/// (`control::Params`, `daemon::Params` implement it), or `()` for none.
pub trait Context {
    /// The caller's name for `subject` (a path, a program, an account name), if it has one.
    fn name(&self, subject: Subject) -> Option<&[u8]>;
}

impl Context for () {
    fn name(&self, _subject: Subject) -> Option<&[u8]> {
        None
    }
}

/// What kind of failure an error is, for programs that react to some of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A system call failed: [`Error::errno`] says why.
    System,
    /// The PID file is locked by another process: the daemon already runs.
    AlreadyRunning,
    /// A file was refused as unsafe to use, for the reason given.
    Refused(Refusal),
    /// No such user in the passwd file.
    NoSuchUser,
    /// No such group in the group file.
    NoSuchGroup,
    /// A `#uid` that the passwd file does not list was given without a group.
    UserNeedsGroup,
    /// The account entry for the requested user or group is malformed.
    MalformedAccount,
    /// The user belongs to more groups than the kernel allows (`NGROUPS_MAX`) or than the
    /// caller's group storage holds.
    TooManyGroups,
    /// A `#uid` or `#gid` that is not a number from 0 to 4,294,967,294.
    InvalidId,
    /// A user or group name that cannot be one (empty, too long, with a newline).
    InvalidName,
    /// The locked PID file does not contain a valid PID.
    InvalidPid,
    /// The process the PID file names does not hold the lock on it.
    NotLockHolder,
    /// The process the PID file names has exited, but other processes of the daemon still
    /// hold the lock.
    LockedByOthers,
    /// `/proc` is the procfs of a PID namespace the caller is not in: no proof about the
    /// daemon can be read there, so it is not signalled.
    ForeignProcNamespace,
    /// Something did not happen within the deadline.
    Timeout,
    /// The launched program failed (an exit status, a signal, no locked PID file after it).
    LaunchFailed,
    /// The daemon ended before it reported, confirmed or became ready.
    DaemonEnded,
    /// The credential switch left a way back to the old privileges.
    PrivilegesRemain,
    /// The process has threads, and the operation needs a single-threaded one.
    MultiThreaded,
    /// More arguments, environment entries or bytes than the fixed buffers hold.
    TooLong,
    /// START without a program.
    NoProgram,
    /// A channel between the library's processes carried something unexpected.
    Protocol,
    /// The daemon's body could not start ([`Error::body_failed`]).
    BodyFailed,
}

/// Why a file was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// Not a regular file (a directory, a FIFO, a device).
    NotRegularFile,
    /// Owned by a user other than the ones allowed.
    Owner,
    /// Writable by group or others.
    WritableByOthers,
    /// The path names a symbolic link.
    SymbolicLink,
    /// The file lies on a pseudo file system (procfs, sysfs, cgroup, …).
    PseudoFileSystem,
    /// A relative PID-file path without `PRESERVE_CWD`.
    RelativePath,
    /// The guard file is the PID file.
    GuardIsPidFile,
    /// A file with more than one hard link.
    HardLinks,
}

macro_rules! messages {
    ($($(#[$doc:meta])* $name:ident = $kind:expr, $text:literal;)*) => {
        /// Every sentence the library can say, each with its [`ErrorKind`] and template.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u8)]
        pub(crate) enum Message { $($(#[$doc])* $name),* }

        /// Every [`Message`], in order.
        const ALL_MESSAGES: &[Message] = &[$(Message::$name),*];

        /// Number of [`Message`] values.
        const MESSAGES: usize = ALL_MESSAGES.len();

        /// The kind of each message, in order.
        const KINDS: [ErrorKind; MESSAGES] = [$($kind),*];

        /// The template of each message, in order, NUL-terminated (see [`Error::render`]).
        const TEMPLATES: &[u8] = concat!($($text, "\0"),*).as_bytes();
    };
}

use ErrorKind::*;
use Refusal::*;

// Templates: `%s` the subject ("PID file /run/x.pid", "user `www`", or the role alone),
// `%r` its role alone, `%n` its name alone (the role when unknown), `%P` `%W` `%R` the name of
// the PID file, the passwd file, the group file, `%1`–`%3` the numbers in decimal, `%k1`–`%k3`
// one as a signal ("TERM" or "40"), `%o1` octal, `%x1` hex, `%t` numbers 2 and 3 as seconds and
// milliseconds ("1 s", "0.250 s"). A failed system call's `: EACCES (Permission denied)` is
// appended to every message that has an errno.
messages! {
    Open = System, "Cannot open %s";
    Stat = System, "Cannot stat %s";
    StatFileSystem = System, "Cannot stat the file system of %s";
    Lock = System, "Cannot lock %s";
    Read = System, "Cannot read %s";
    Write = System, "Cannot write %s";
    SetFlags = System, "Cannot set flags of %s";
    Execute = System, "Cannot execute %n";
    SetUpNotifyFd = System, "Cannot set up readiness descriptor %1 for %n";
    CreatePipe = System, "Cannot create a pipe";
    CreateSocket = System, "Cannot create a socket";
    ForkDaemon = System, "Cannot fork the daemon";
    ForkFor = System, "Cannot fork for %n";
    NewSession = System, "Cannot start a new session (setsid)";
    RedirectStandardStreams = System, "Cannot redirect stdin and stdout to /dev/null";
    OpenDevNull = System, "Cannot open /dev/null";
    ResetSignals = System, "Cannot reset the signal mask";
    CloseInherited = System, "Cannot close inherited descriptors";
    ChangeDirectory = System, "Cannot change directory to /";
    CheckDescriptor = System, "Cannot check descriptor %1";
    SetGroups = System, "Cannot set supplementary groups";
    SetGid = System, "Cannot set group id to %1";
    SetUid = System, "Cannot set user id to %1";
    ClearAmbient = System, "Cannot clear ambient capabilities";
    ReadCapabilities = System, "Cannot read capabilities (capget)";
    ProveRootGone = System, "Cannot drop privileges: setresuid(0, 0, 0) failed unexpectedly";
    OpenPidfd = System, "Cannot open a pidfd for process %1";
    PollPidfd = System, "Cannot poll a pidfd";
    SendSignal = System, "Cannot send signal %k1 to process %2";
    ReadProcess = System, "Cannot read /proc/%1/fdinfo";
    ReadOwnFdinfo = System, "Cannot read /proc/self/fdinfo/%1";
    ReadMountinfo = System, "Cannot read /proc/self/mountinfo";
    ReadProcDirectory = System, "Cannot read /proc";
    ReadThreads = System, "Cannot read /proc/self/status";
    WaitFor = System, "Cannot wait for %n";
    ReadExecReport = System, "Cannot read the exec report of %n";
    ReleaseDaemon = System, "Cannot release the daemon (process %1, ended before its release)";
    ReadConfirmation = System, "Cannot read the daemon's confirmation";
    ForwardSignals = System, "Cannot set up signal forwarding";
    AlreadyRunningLocked = AlreadyRunning, "Daemon is already running (%s is locked)";
    RefuseNotRegular = Refused(NotRegularFile), "Refusing %s: not a regular file";
    RefuseNotRegularOrDevice = Refused(NotRegularFile),
        "Refusing %s: not a regular file or character device";
    RefuseOwnerNotUs = Refused(Owner), "Refusing %s: owned by uid %1, not by us (uid %2)";
    RefuseOwner = Refused(Owner), "Refusing %s: owned by uid %1, neither root nor us (uid %2)";
    RefuseOwnerNotTarget = Refused(Owner),
        "Refusing %s: owned by uid %1, neither root nor the daemon's user (uid %2)";
    RefuseWritable = Refused(WritableByOthers),
        "Refusing %s: writable by group or others (mode %o1)";
    RefuseSymlink = Refused(SymbolicLink), "Refusing %s: it is a symbolic link";
    RefusePseudo = Refused(PseudoFileSystem),
        "Refusing %s: it is on a pseudo file system (type 0x%x1), not a place for a PID file";
    RefuseRelative = Refused(RelativePath),
        "Refusing %s: a relative path needs PRESERVE_CWD (the daemon changes to /)";
    RefuseGuardIsPidFile = Refused(GuardIsPidFile), "Refusing %s: it is the PID file %P";
    RefuseHardLinks = Refused(HardLinks), "Refusing %s: it has %1 hard links";
    InvalidPidContent = InvalidPid, "%s does not contain a valid PID";
    NotHolding = NotLockHolder, "process %1 does not hold the lock on %P";
    ForeignProc = ForeignProcNamespace, "/proc shows another PID namespace; not signalling";
    HeldByOthers = LockedByOthers,
        "daemon %1 has exited, but other processes of the daemon still hold the lock on %P";
    HeldByOthersWithin = LockedByOthers,
        "daemon %1 has exited, but other processes of the daemon held the lock on %P for %t";
    GuardTimeout = Timeout, "Cannot lock %s: another controller held it for %t";
    LaunchTimeout = Timeout, "%n did not finish within %t";
    StopTimeout = Timeout, "daemon %1 did not stop within %t";
    StopTimeoutAfterKill = Timeout, "daemon %1 did not stop within %t, not even after SIGKILL";
    BusyTimeout = Timeout, "daemon did not write its PID to %P within %t";
    NoProgramGiven = NoProgram, "No program given to start the daemon";
    TooManyEntries = TooLong, "Cannot start %n: more than %1 arguments or environment entries";
    TooManyVariables = TooLong, "Cannot pass the environment on: more than %1 variables";
    LauncherKilled = LaunchFailed, "%n was killed by signal %1 (%k1)";
    LauncherFailed = LaunchFailed, "%n could not start the daemon (exit status 102)";
    LauncherExited = LaunchFailed, "%n exited with status %1";
    DidNotLock = LaunchFailed, "daemon did not lock its %s";
    DidNotWritePid = LaunchFailed, "daemon did not write its PID to %P";
    EndedBeforeReport = DaemonEnded,
        "Cannot start the daemon: process %1 ended before reporting its setup";
    EndedBeforeConfirm = DaemonEnded,
        "Cannot start the daemon: process %1 ended before confirming its start";
    EndedBeforeReady = DaemonEnded, "%n exited with status %1 before it was ready";
    KilledBeforeReady = DaemonEnded, "%n was killed by signal %1 (%k1) before it was ready";
    EndedAfterReady = DaemonEnded, "%n was ready, then exited with status %1";
    KilledAfterReady = DaemonEnded, "%n was ready, then was killed by signal %1 (%k1)";
    BodyCouldNotStart = BodyFailed, "The daemon could not start";
    ClosedBeforeReady = DaemonEnded, "%n closed its notification channel before it was ready";
    UnexpectedConfirmation = Protocol,
        "Cannot confirm the daemon: unexpected data on its confirmation channel";
    InvalidUserOrGroupId = InvalidId, "Invalid %r id `%n`: expected # and a number from 0 to 4294967294";
    IdOutOfRange = InvalidId, "Invalid %r id %1: expected a number from 0 to 4294967294";
    InvalidUserOrGroupName = InvalidName, "Invalid %r name `%n`";
    NoSuchUserIn = NoSuchUser, "No such %s in %W";
    NoSuchUserNoFile = NoSuchUser, "No such %s (no %W)";
    NoSuchGroupIn = NoSuchGroup, "No such %s in %R";
    NoSuchGroupNoFile = NoSuchGroup, "No such %s (no %R)";
    UserNotListed = UserNeedsGroup, "User #%1 is not listed in %W: give a group too";
    MalformedUserFields = MalformedAccount, "The entry of %s in %W is malformed (fewer than 4 fields)";
    MalformedUserUid = MalformedAccount, "The entry of %s in %W is malformed (uid not a number from 0 to 4294967294)";
    MalformedUserGid = MalformedAccount, "The entry of %s in %W is malformed (gid not a number from 0 to 4294967294)";
    MalformedGroupFields = MalformedAccount, "The entry of %s in %R is malformed (not 4 fields)";
    MalformedGroup = MalformedAccount, "The entry of %s in %R is malformed (gid not a number from 0 to 4294967294)";
    HomeTooLong = MalformedAccount,
        "Cannot use passwd entry of %s in %W: home directory longer than 4095 bytes";
    GroupsOverflow = TooManyGroups, "User `%n` belongs to more than %1 groups (NGROUPS_MAX) in %R";
    GroupsOverCapacity = TooManyGroups, "User `%n` belongs to more than %1 groups in %R (the room its credentials were given)";
    SwitchThreads = MultiThreaded,
        "Cannot switch user/group: the process has %1 threads (set*id would change only one of them)";
    ForkThreads = MultiThreaded,
        "Cannot fork the daemon: the process has %1 threads (only the calling one would go on)";
    RootRemains = PrivilegesRemain,
        "Cannot drop privileges: setresuid(0, 0, 0) still succeeds after the switch";
    CapabilitiesRemain = PrivilegesRemain,
        "Cannot drop privileges: capabilities remain after the switch (%1 permitted, %2 effective)";
}

impl Message {
    /// The message numbered `number`, if there is one.
    fn from_number(number: u8) -> Option<Message> {
        ALL_MESSAGES.get(usize::from(number)).copied()
    }
}

impl Subject {
    /// The subject numbered `number`, if there is one.
    fn from_number(number: u8) -> Option<Subject> {
        ALL_SUBJECTS.get(usize::from(number)).copied()
    }
}

/// Bytes of [`Error::to_bytes`].
pub(crate) const ERROR_BYTES: usize = 16;

impl Error {
    /// An error saying `message` about `subject`, with no errno and zero numbers.
    pub(crate) const fn new(message: Message, subject: Subject) -> Self {
        Self {
            message,
            subject,
            errno: 0,
            numbers: [0; 3],
        }
    }

    /// `message` about `subject`, caused by a system call that failed with `errno`.
    pub(crate) const fn system(message: Message, subject: Subject, errno: Errno) -> Self {
        Self::new(message, subject).with_errno(errno)
    }

    /// The same error, caused by `errno`.
    pub(crate) const fn with_errno(mut self, errno: Errno) -> Self {
        self.errno = errno.raw_os_error() as u16;
        self
    }

    /// The same error, with `value` as number `index` (1–3) of the message.
    pub(crate) const fn with(mut self, index: usize, value: u32) -> Self {
        self.numbers[index - 1] = value;
        self
    }

    /// The same error, with `limit` as its duration (`%t`: numbers 2 and 3).
    pub(crate) fn with_duration(self, limit: Option<Duration>) -> Self {
        let limit = limit.unwrap_or(Duration::ZERO);
        let seconds = u32::try_from(limit.as_secs()).unwrap_or(u32::MAX);
        self.with(2, seconds).with(3, limit.subsec_millis())
    }

    /// The error a daemon's body reports when it cannot start
    /// ([`Running::report_failure`](crate::daemon::Running::report_failure)): "The daemon
    /// could not start", with the errno of what failed, if a system call did.
    pub fn body_failed(errno: Option<Errno>) -> Self {
        let error = Self::new(Message::BodyCouldNotStart, Subject::None);
        match errno {
            Some(errno) => error.with_errno(errno),
            None => error,
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        KINDS[self.message as usize]
    }

    /// What the error is about (its name comes from the [`Context`] it is rendered with).
    pub fn subject(&self) -> Subject {
        self.subject
    }

    /// The errno of the system call that failed, if one failed.
    pub fn errno(&self) -> Option<Errno> {
        (self.errno != 0).then(|| Errno::from_raw_os_error(i32::from(self.errno)))
    }

    /// Writes the message into `out` and returns its length: the whole sentence with the
    /// subjects' names from `context` (escaped: `\xNN` for bytes that are not UTF-8 text),
    /// always ending with the errno's name and description when a system call failed. When
    /// `out` is too small, names are cut in the middle (`/very/lo...ng/path`) before anything
    /// else is lost. No newline, no NUL.
    pub fn render(&self, context: &dyn Context, out: &mut [u8]) -> usize {
        // First a pass that writes nothing: with every name's budget at 0 it measures the
        // fixed part (everything but the names) and each name's full width; those decide
        // how much room each name gets in the real pass.
        let mut widths = [0usize; 4];
        let mut probe = Writer::new(&mut []);
        self.expand(context, &mut probe, &mut widths);
        let fixed = probe.wanted();
        let mut budgets = share(out.len().saturating_sub(fixed), widths);
        let mut writer = Writer::new(out);
        self.expand(context, &mut writer, &mut budgets);
        writer.len()
    }

    /// Writes the message to `writer`; names get at most `names[i]` bytes each, in order,
    /// and `names[i]` is set to each name's full escaped width.
    #[inline(never)]
    fn expand(&self, context: &dyn Context, writer: &mut Writer<'_>, names: &mut [usize; 4]) {
        let template = packed_field(TEMPLATES, self.message as usize).unwrap_or(b"");
        let mut name_index = 0;
        let mut position = 0;
        while position < template.len() {
            let byte = template[position];
            position += 1;
            if byte != b'%' {
                writer.push(&[byte]);
                continue;
            }
            let code = template.get(position).copied().unwrap_or(b'%');
            position += 1;
            let subject = match code {
                b's' | b'r' | b'n' => self.subject,
                b'P' => Subject::PidFile,
                b'W' => Subject::PasswdFile,
                b'R' => Subject::GroupFile,
                _ => {
                    // A number: `%1`..`%3` in decimal, `%t` a duration, else a letter and
                    // the number's digit.
                    let digit = if code.is_ascii_digit() {
                        code
                    } else {
                        template.get(position).copied().unwrap_or(b'1')
                    };
                    if !code.is_ascii_digit() && code != b't' {
                        position += 1;
                    }
                    let value = self.numbers[usize::from(digit.wrapping_sub(b'1')).min(2)];
                    match code {
                        b'k' => {
                            match crate::signal::Signal::from_number(value).and_then(|s| s.name()) {
                                Some(name) => writer.push(name.as_bytes()),
                                None => writer.push_decimal(u64::from(value)),
                            }
                        }
                        b'o' => writer.push_radix(value, 8, 4),
                        b'x' => writer.push_radix(value, 16, 1),
                        b't' => {
                            writer.push_decimal(u64::from(self.numbers[1]));
                            if self.numbers[2] != 0 {
                                writer.push(b".");
                                writer.push_radix(self.numbers[2], 10, 3);
                            }
                            writer.push(b" s");
                        }
                        _ => writer.push_decimal(u64::from(value)),
                    }
                    continue;
                }
            };
            let role = subject.role();
            let name = if code == b'r' {
                None
            } else {
                context.name(subject)
            };
            let Some(name) = name else {
                if matches!(code, b'P' | b'W' | b'R') {
                    writer.push(b"the ");
                }
                writer.push(role);
                continue;
            };
            let quoted = code == b's' && matches!(subject, Subject::User | Subject::Group);
            if code == b's' && subject != Subject::Program {
                writer.push(role);
                writer.push(b" ");
            }
            if quoted {
                writer.push(b"`");
            }
            let slot = &mut names[name_index.min(3)];
            writer.push_name(name, *slot);
            *slot = crate::text::escaped_width(name);
            name_index += 1;
            if quoted {
                writer.push(b"`");
            }
        }
        if let Some(errno) = self.errno() {
            let (name, description) = errno_text(errno);
            writer.push(b": ");
            match name {
                Some(name) => writer.push(name),
                None => {
                    writer.push(b"errno ");
                    writer.push_decimal(u64::from(self.errno));
                }
            }
            if let Some(description) = description {
                writer.push(b" (");
                writer.push(description);
                writer.push(b")");
            }
        }
    }

    /// The message as [`Display`](core::fmt::Display), with the subjects' names from
    /// `context`: `error.display(&params)`.
    pub fn display<'e>(&'e self, context: &'e dyn Context) -> Rendered<'e> {
        Rendered {
            error: self,
            context,
        }
    }

    /// The 16 bytes that carry the error between processes (the daemon's setup report).
    pub(crate) fn to_bytes(self) -> [u8; ERROR_BYTES] {
        let mut bytes = [0u8; ERROR_BYTES];
        bytes[0] = self.message as u8;
        bytes[1] = self.subject as u8;
        bytes[2..4].copy_from_slice(&self.errno.to_ne_bytes());
        for (index, number) in self.numbers.iter().enumerate() {
            bytes[4 + 4 * index..8 + 4 * index].copy_from_slice(&number.to_ne_bytes());
        }
        bytes
    }

    /// The error [`Error::to_bytes`] encoded, if `bytes` are one.
    pub(crate) fn from_bytes(bytes: &[u8; ERROR_BYTES]) -> Option<Self> {
        let number = |index: usize| {
            let start = 4 + 4 * index;
            u32::from_ne_bytes([
                bytes[start],
                bytes[start + 1],
                bytes[start + 2],
                bytes[start + 3],
            ])
        };
        Some(Self {
            message: Message::from_number(bytes[0])?,
            subject: Subject::from_number(bytes[1])?,
            errno: u16::from_ne_bytes([bytes[2], bytes[3]]),
            numbers: [number(0), number(1), number(2)],
        })
    }
}

/// Shares `room` bytes among names of the given full widths: each gets its full width when
/// all fit, else the narrow ones keep theirs and the wide ones split the rest evenly.
fn share(room: usize, widths: [usize; 4]) -> [usize; 4] {
    let mut budgets = widths;
    let mut left = room;
    let mut open = [true; 4];
    loop {
        let count = open.iter().filter(|&&is_open| is_open).count();
        if count == 0 {
            return budgets;
        }
        let each = left / count;
        let mut settled = false;
        for index in 0..4 {
            if open[index] && widths[index] <= each {
                open[index] = false;
                left -= widths[index];
                settled = true;
            }
        }
        if !settled {
            for index in 0..4 {
                if open[index] {
                    budgets[index] = each;
                }
            }
            return budgets;
        }
    }
}

/// An error with the context that names its subjects, as [`Display`](core::fmt::Display).
pub struct Rendered<'e> {
    error: &'e Error,
    context: &'e dyn Context,
}

/// Bytes `Display` renders into (enough for a `PATH_MAX` path once escaped, mostly).
const DISPLAY_CAPACITY: usize = 1024;

impl core::fmt::Display for Rendered<'_> {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut buffer = [0u8; DISPLAY_CAPACITY];
        let length = self.error.render(self.context, &mut buffer);
        // Rendering escapes every name, so the text is valid UTF-8.
        formatter.write_str(core::str::from_utf8(&buffer[..length]).unwrap_or("(invalid)"))
    }
}

impl core::fmt::Display for Error {
    /// The message with its subjects named by their roles (`Cannot open PID file: ...`).
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.display(&()).fmt(formatter)
    }
}

impl core::fmt::Debug for Error {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter
            .debug_struct("Error")
            .field("kind", &self.kind())
            .field("subject", &self.subject)
            .field("errno", &self.errno())
            .field("message", &format_args!("{self}"))
            .finish()
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::{String, ToString};

    struct Names<'a>(&'a [(Subject, &'a [u8])]);

    impl Context for Names<'_> {
        fn name(&self, subject: Subject) -> Option<&[u8]> {
            self.0
                .iter()
                .find(|(known, _)| *known == subject)
                .map(|(_, name)| *name)
        }
    }

    fn rendered(error: Error, names: &[(Subject, &[u8])], capacity: usize) -> String {
        let mut buffer = std::vec![0u8; capacity];
        let length = error.render(&Names(names), &mut buffer);
        String::from_utf8(buffer[..length].to_vec()).unwrap()
    }

    #[test]
    fn small_and_plain() {
        assert!(core::mem::size_of::<Error>() <= 16);
        assert_eq!(core::mem::size_of::<Result<()>>(), 16);
    }

    #[test]
    fn system_error_wording() {
        let error = Error::system(Message::Open, Subject::PidFile, Errno::ACCESS);
        assert_eq!(error.kind(), ErrorKind::System);
        assert_eq!(error.errno(), Some(Errno::ACCESS));
        assert_eq!(
            rendered(error, &[(Subject::PidFile, b"/run/x.pid")], 256),
            "Cannot open PID file /run/x.pid: EACCES (Permission denied)"
        );
        assert_eq!(
            error.to_string(),
            "Cannot open PID file: EACCES (Permission denied)"
        );
    }

    #[test]
    fn numbers_modes_signals_and_durations() {
        let error = Error::new(Message::RefuseWritable, Subject::PidFile).with(1, 0o620);
        assert_eq!(
            rendered(error, &[(Subject::PidFile, b"/x")], 256),
            "Refusing PID file /x: writable by group or others (mode 0620)"
        );
        let error = Error::new(Message::LauncherKilled, Subject::Program).with(1, 9);
        assert_eq!(
            rendered(error, &[(Subject::Program, b"prog")], 256),
            "prog was killed by signal 9 (KILL)"
        );
        let error = Error::new(Message::StopTimeout, Subject::None)
            .with(1, 1234)
            .with_duration(Some(Duration::from_millis(250)));
        assert_eq!(
            rendered(error, &[], 256),
            "daemon 1234 did not stop within 0.250 s"
        );
        let error = Error::new(Message::NoSuchUserIn, Subject::User);
        assert_eq!(
            rendered(
                error,
                &[(Subject::User, b"x"), (Subject::PasswdFile, b"/etc/passwd")],
                256
            ),
            "No such user `x` in /etc/passwd"
        );
        assert_eq!(error.to_string(), "No such user in the passwd file");
        let error = Error::system(Message::SendSignal, Subject::None, Errno::PERM)
            .with(1, 40)
            .with(2, 7);
        assert_eq!(
            error.to_string(),
            "Cannot send signal 40 to process 7: EPERM (Operation not permitted)"
        );
    }

    #[test]
    fn long_and_invalid_names_keep_the_errno() {
        let error = Error::system(Message::Open, Subject::PidFile, Errno::NOENT);
        let long = [b'x'; 900];
        let text = rendered(error, &[(Subject::PidFile, &long)], 256);
        assert_eq!(text.len(), 256);
        assert!(
            text.ends_with(": ENOENT (No such file or directory)"),
            "{text}"
        );
        assert!(text.contains("..."));
        let text = rendered(error, &[(Subject::PidFile, b"/run/\xff.pid")], 256);
        assert_eq!(
            text,
            "Cannot open PID file /run/\\xff.pid: ENOENT (No such file or directory)"
        );
    }

    #[test]
    fn two_names_share_the_room() {
        let error = Error::new(Message::RefuseGuardIsPidFile, Subject::GuardFile);
        let long = [b'g'; 300];
        let text = rendered(
            error,
            &[
                (Subject::GuardFile, &long),
                (Subject::PidFile, b"/run/x.pid"),
            ],
            120,
        );
        assert!(text.len() <= 120);
        assert!(text.ends_with("it is the PID file /run/x.pid"), "{text}");
    }

    #[test]
    fn every_errno_is_named() {
        let error = Error::system(Message::Open, Subject::None, Errno::from_raw_os_error(29));
        assert!(error.to_string().ends_with(": ESPIPE (Illegal seek)"));
        let error = Error::system(Message::Open, Subject::None, Errno::from_raw_os_error(64));
        assert!(error.to_string().ends_with(": ENONET"), "{error}");
    }

    #[test]
    fn bytes_round_trip_and_reject_garbage() {
        let error = Error::system(Message::SetUid, Subject::User, Errno::PERM).with(1, 4242);
        assert_eq!(Error::from_bytes(&error.to_bytes()), Some(error));
        let mut bytes = error.to_bytes();
        bytes[0] = 255;
        assert_eq!(Error::from_bytes(&bytes), None);
        let mut bytes = error.to_bytes();
        bytes[1] = ALL_SUBJECTS.len() as u8;
        assert_eq!(Error::from_bytes(&bytes), None);
    }

    #[test]
    fn every_template_renders() {
        for number in 0..MESSAGES as u8 {
            let message = Message::from_number(number).unwrap();
            let text = Error::new(message, Subject::PidFile).to_string();
            assert!(
                !text.is_empty() && !text.contains('%'),
                "{message:?}: {text}"
            );
        }
        assert_eq!(
            TEMPLATES.iter().filter(|&&byte| byte == 0).count(),
            MESSAGES
        );
    }
}
