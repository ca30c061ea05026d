//! Every sentence the library can say: one line each, its name, its [`ErrorKind`] and its
//! template (the `messages` feature; without it, the name's words). The renderer
//! (`render.rs`) fills the templates in; `phrases.rs` packs them at compile time.

use super::ErrorKind::{self, *};
#[cfg(not(feature = "messages"))]
use crate::text::five_bits::{self, Alphabet};

macro_rules! messages {
    ($($(#[$doc:meta])* $name:ident = $kind:expr, $text:literal;)*
     @environment {
         $($(#[$setup_doc:meta])* $setup_name:ident = $setup_kind:expr, $setup_text:literal;)*
     }) => {
        /// Every sentence the library can say, each with its [`ErrorKind`] and template.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u8)]
        pub(crate) enum Message {
            $($(#[$doc])* $name,)*
            $($(#[$setup_doc])* #[cfg(feature = "environment")] $setup_name,)*
        }

        /// Every [`Message`], in order.
        pub(super) const ALL_MESSAGES: &[Message] = &[
            $(Message::$name,)*
            $(#[cfg(feature = "environment")] Message::$setup_name,)*
        ];

        /// Number of [`Message`] values.
        pub(super) const MESSAGES: usize = ALL_MESSAGES.len();

        /// The kind of each message, in order.
        pub(super) const KINDS: [ErrorKind; MESSAGES] = [
            $($kind,)*
            $(#[cfg(feature = "environment")] $setup_kind,)*
        ];

        /// The template of each message, in order, NUL-terminated (see [`Error::render`](super::Error::render)).
        #[cfg(all(feature = "messages", not(feature = "environment")))]
        pub(super) const TEMPLATES: &[u8] = concat!($($text, "\0",)*).as_bytes();
        /// The template of each message, in order, NUL-terminated (see [`Error::render`](super::Error::render)).
        #[cfg(all(feature = "messages", feature = "environment"))]
        pub(super) const TEMPLATES: &[u8] =
            concat!($($text, "\0",)* $($setup_text, "\0",)*).as_bytes();

        /// The name of each message, in order, NUL-terminated: without the `messages`
        /// feature, its words say what failed (`RefuseSymlink`: "refuse symlink").
        #[cfg(all(not(feature = "messages"), not(feature = "environment")))]
        const CAMEL_NAMES: &[u8] = concat!($(stringify!($name), "\0",)*).as_bytes();
        /// The name of each message, in order, NUL-terminated: without the `messages`
        /// feature, its words say what failed (`RefuseSymlink`: "refuse symlink").
        #[cfg(all(not(feature = "messages"), feature = "environment"))]
        const CAMEL_NAMES: &[u8] =
            concat!($(stringify!($name), "\0",)* $(stringify!($setup_name), "\0",)*).as_bytes();
    };
}

// Templates: `%s` the subject ("PID file /run/x.pid", "user `www`", or the role alone),
// `%r` its role alone, `%n` its name alone (the role when unknown), `%P` `%W` `%R` the name of
// the PID file, the passwd file, the group file, `%1`–`%3` the numbers in decimal, `%k1`–`%k3`
// one as a signal ("TERM" or "40"), `%l1`–`%l3` one as a resource limit's name ("nofile"), `%o1` octal, `%x1` hex, `%t` numbers 2 and 3 as seconds and
// milliseconds ("1 s", "0.250 s"). A failed system call's `: EACCES (Permission denied)` is
// appended to every message that has an errno.
messages! {
    Open = System, "Cannot open %s";
    Stat = System, "Cannot stat %s";
    StatFileSystem = System, "Cannot stat the file system of %s";
    Lock = System, "Cannot lock %s";
    Read = System, "Cannot read %s";
    Write = System, "Cannot write %s";
    Execute = System, "Cannot execute %n";
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
    AlreadyRunningLocked = AlreadyRunning, "Daemon is already running (%s is locked)";
    RefuseNotRegular = Refused, "Refusing %s: not a regular file";
    RefuseOwnerNotUs = Refused, "Refusing %s: owned by uid %1, not by us (uid %2)";
    RefuseOwner = Refused, "Refusing %s: owned by uid %1, neither root nor us (uid %2)";
    RefuseWritable = Refused,
        "Refusing %s: writable by group or others (mode %o1)";
    RefuseSymlink = Refused, "Refusing %s: it is a symbolic link";
    RefusePseudo = Refused,
        "Refusing %s: it is on a pseudo file system (type 0x%x1), not a place for a PID file";
    RefuseRelative = Refused,
        "Refusing %s: a relative path needs PRESERVE_CWD (the daemon changes to /)";
    RefuseGuardIsPidFile = Refused, "Refusing %s: it is the PID file %P";
    RefuseHardLinks = Refused, "Refusing %s: it has %1 hard links";
    InvalidPidContent = InvalidPid, "%s does not contain a valid PID";
    NotHolding = NotLockHolder, "process %1 does not hold the lock on %P";
    ForeignProc = ForeignProcNamespace, "/proc shows another PID namespace; not signalling";
    HeldByOthers = LockedByOthers,
        "daemon %1 has exited, but other processes of the daemon still hold the lock on %P";
    HeldByOthersWithin = LockedByOthers,
        "daemon %1 has exited, but other processes of the daemon held the lock on %P for %t";
    GuardTimeout = Timeout, "Cannot lock %s: another controller held it for %t";
    LaunchTimeout = Timeout, "%n did not finish within %t";
    LaunchTimeoutUnlocked = Timeout,
        "%n did not finish within %t and never locked the PID file %P: it looks like a foreground program (ucw-daemonize puts one under the protocol)";
    StopTimeout = Timeout, "daemon %1 did not stop within %t";
    StopTimeoutAfterKill = Timeout, "daemon %1 did not stop within %t, not even after SIGKILL";
    BusyTimeout = Timeout, "daemon did not write its PID to %P within %t";
    BusyTimeoutAfterKill = Timeout,
        "%P stayed locked without a PID for %t, not even after SIGKILL of the lock's holders";
    NoProgramGiven = NoProgram, "No program given to start the daemon";
    TooManyEntries = TooLong, "Cannot start %n: more than %1 arguments or environment entries";
    LauncherKilled = LaunchFailed, "%n was killed by signal %1 (%k1)";
    LauncherFailed = LaunchFailed, "%n could not start the daemon (exit status 102)";
    LauncherExited = LaunchFailed, "%n exited with status %1";
    DidNotLock = LaunchFailed, "daemon did not lock its %s";
    LooksForeground = Timeout,
        "%n has run for %t without locking the PID file %P: it looks like a foreground program (ucw-daemonize puts one under the protocol); still waiting";
    ExitedRightAfterStart = LaunchFailed,
        "the daemon's program exited with status %1 right after it started";
    KilledRightAfterStart = LaunchFailed,
        "the daemon's program was killed by signal %1 (%k1) right after it started";
    DidNotWritePid = LaunchFailed, "daemon did not write its PID to %P";
    EndedBeforeReport = DaemonEnded,
        "Cannot start the daemon: process %1 ended before reporting its setup";
    EndedBeforeConfirm = DaemonEnded,
        "Cannot start the daemon: process %1 ended before confirming its start";
    BodyCouldNotStart = BodyFailed, "The daemon could not start";
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
    // The process setup of `daemon::Params` beyond LibUCW's: only with the `environment`
    // feature.
    @environment {
        SetLimit = System, "Cannot set resource limit %l1";
        SetNice = System, "Cannot change the nice value";
        SetOomScore = System, "Cannot write /proc/self/oom_score_adj";
        ChangeRoot = System, "Cannot change root to %n";
        ChangeDirectoryTo = System, "Cannot change directory to %n";
        SetNoNewPrivs = System, "Cannot set no_new_privs";
        KeepCapabilities = System, "Cannot keep capabilities across the switch";
        KeepNeedsUser = InvalidParams,
            "Cannot keep capabilities without a switch to a user other than root";
        KeepUndoes = InvalidParams,
            "Refusing to keep capabilities that could undo the switch (setuid, setgid, setpcap, sys_admin, dac_override, sys_ptrace, sys_module)";
        RootWithPreservedDirectory = InvalidParams,
            "Refusing a root directory with PRESERVE_CWD (the working directory would stay outside it)";
        KeptCapabilitiesDiffer = PrivilegesRemain,
            "Cannot keep capabilities: after the switch the permitted, inheritable and ambient sets are not exactly the kept ones";
    }
}

/// The characters of the messages' names as words.
#[cfg(not(feature = "messages"))]
pub(super) const NAME_ALPHABET: Alphabet = *b"\0abcdefghijklmnopqrstuvwxyz \0\0\0\0";

/// The messages' names as words (`refuse symlink`), in order, NUL-terminated.
#[cfg(not(feature = "messages"))]
pub(super) const SPACED_NAMES: [u8; spaced_length(CAMEL_NAMES)] = spaced(CAMEL_NAMES);

/// [`SPACED_NAMES`] packed five bits a character at compile time: what the short code lines
/// say (`refuse symlink PID file /run/x.pid`).
#[cfg(not(feature = "messages"))]
pub(super) static NAMES: [u8; five_bits::packed_length(&SPACED_NAMES)] =
    five_bits::pack(&SPACED_NAMES, &NAME_ALPHABET);

/// Bytes of `names` once [`spaced`].
#[cfg(not(feature = "messages"))]
const fn spaced_length(names: &[u8]) -> usize {
    let mut length = names.len();
    let mut position = 1;
    while position < names.len() {
        if names[position].is_ascii_uppercase() && names[position - 1] != 0 {
            length += 1;
        }
        position += 1;
    }
    length
}

/// `names` (CamelCase, NUL-terminated) as lowercase words: a space before every capital that
/// does not start a name.
#[cfg(not(feature = "messages"))]
const fn spaced<const N: usize>(names: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let (mut from, mut to) = (0, 0);
    while from < names.len() {
        let byte = names[from];
        if byte.is_ascii_uppercase() && from > 0 && names[from - 1] != 0 {
            out[to] = b' ';
            to += 1;
        }
        out[to] = byte.to_ascii_lowercase();
        to += 1;
        from += 1;
    }
    out
}

impl Message {
    /// The message numbered `number`, if there is one.
    #[cfg(test)]
    pub(super) fn from_number(number: u8) -> Option<Message> {
        ALL_MESSAGES.get(usize::from(number)).copied()
    }
}

/// Added to a caller's code ([`Error::custom`](super::Error::custom)) to make the error's message number: the
/// library's own messages are numbered below it.
pub(super) const CUSTOM: u8 = 0x80;

/// The library's messages fit below [`CUSTOM`].
const _: () = assert!(MESSAGES <= CUSTOM as usize);
