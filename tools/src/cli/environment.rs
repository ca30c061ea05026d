//! The values of `ucw-daemonize`'s options for the program's environment (the `environment`
//! feature, docs/design.md §5): `--rlimit`, `--nice`, `--oom-score-adj`, `--umask`, `--chdir`,
//! `--chroot`, `--keep-caps`, `--no-new-privs`, the variables (`--env`, `--unset`,
//! `--env-file`, `--clear-env`) and `--dry-run`, checked and gathered in [`Settings`]; and the
//! names of the resource limits and capabilities.
//!
//! This file owns the syntax of those values. It must never make a system call (what depends on
//! the running system — `fs.nr_open`, the current limits, the bounding set — is the applet's
//! to decide), and never accept a value it would have to cut, wrap or guess at.

#[cfg(feature = "environment")]
use super::options::UsageError;
use core::ffi::CStr;

/// Resource limits the kernel has (`RLIMIT_CPU` = 0 … `RLIMIT_RTTIME` = 15).
pub const RESOURCE_LIMITS: usize = 16;

/// The resource limits' names by number, as prlimit(1) calls them, each NUL-terminated (the
/// library's renderer names them the same way).
pub const LIMIT_NAMES: &[u8] = b"cpu\0fsize\0data\0stack\0core\0rss\0nproc\0nofile\0\
    memlock\0as\0locks\0sigpending\0msgqueue\0nice\0rtprio\0rttime\0";

/// The limits measured in bytes, which take `K`, `M` and `G` (×1024): fsize, data, stack, core,
/// rss, memlock, as, msgqueue (bit `n` for limit `n`).
#[cfg(feature = "environment")]
const BYTE_LIMITS: u32 = 1 << 1 | 1 << 2 | 1 << 3 | 1 << 4 | 1 << 5 | 1 << 8 | 1 << 9 | 1 << 12;

/// `RLIMIT_NOFILE`, whose `unlimited` means `fs.nr_open`.
pub const NOFILE: usize = 7;

/// A limit given as `unlimited` (the kernel's `RLIM_INFINITY`).
pub const UNLIMITED: u64 = u64::MAX;

/// The capabilities' names by number, as capabilities(7) calls them without `CAP_`, each
/// NUL-terminated (`chown` is 0, `checkpoint_restore` 40).
pub const CAPABILITY_NAMES: &[u8] = b"chown\0dac_override\0dac_read_search\0fowner\0fsetid\0\
    kill\0setgid\0setuid\0setpcap\0linux_immutable\0net_bind_service\0net_broadcast\0\
    net_admin\0net_raw\0ipc_lock\0ipc_owner\0sys_module\0sys_rawio\0sys_chroot\0sys_ptrace\0\
    sys_pacct\0sys_admin\0sys_boot\0sys_nice\0sys_resource\0sys_time\0sys_tty_config\0mknod\0\
    lease\0audit_write\0audit_control\0setfcap\0mac_override\0mac_admin\0syslog\0wake_alarm\0\
    block_suspend\0audit_read\0perfmon\0bpf\0checkpoint_restore\0";

/// Capabilities that could undo the user switch, refused by `--keep-caps`: setuid, setgid,
/// setpcap, sys_admin, dac_override, sys_ptrace, sys_module (bit `n` for capability `n`; the
/// library refuses the same set).
pub const UNDOING_CAPABILITIES: u64 =
    1 << 7 | 1 << 6 | 1 << 8 | 1 << 21 | 1 << 1 | 1 << 19 | 1 << 16;

/// Most `--env`, `--unset` and `--env-file` options one command line may have.
pub const VARIABLE_OPTIONS: usize = if cfg!(feature = "environment") {
    256
} else {
    0
};

/// One `--rlimit`: the soft limit and, when given, the hard one ([`UNLIMITED`] for
/// `unlimited`; without a hard limit the current one is kept). All zero (the default): not
/// given, so that an empty [`Settings`] is zeroed memory, not a constant in the binary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limit {
    /// Whether `--rlimit` named this limit.
    pub given: bool,
    /// The soft limit.
    pub soft: u64,
    /// The hard limit, when given.
    pub hard: Option<u64>,
}

/// One `--env`, `--unset` or `--env-file` as [`Settings`] stores it, applied in command-line
/// order: its kind (0 `--env NAME=VALUE`, the whole entry; 1 `--unset NAME`; 2 `--env-file
/// FILE`) and its value, all zero when unused.
pub type StoredVariable<'a> = (u8, Option<&'a CStr>);

/// Everything the environment options ask for; [`Settings::NONE`] asks for nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings<'a> {
    /// `--rlimit`, by limit number (a later option for the same limit replaces an earlier).
    pub limits: [Limit; RESOURCE_LIMITS],
    /// `--nice` (−20…19, added to the current value).
    pub nice: i32,
    /// `--oom-score-adj` (−1000…1000).
    pub oom_score_adj: Option<i16>,
    /// `--umask`.
    pub umask: Option<u32>,
    /// `--chroot`.
    pub root_directory: Option<&'a CStr>,
    /// `--chdir`.
    pub working_directory: Option<&'a CStr>,
    /// `--no-new-privs`.
    pub no_new_privs: bool,
    /// `--keep-caps`: bit `n` for capability `n`.
    pub keep_capabilities: u64,
    /// `--clear-env`.
    pub clear_environment: bool,
    /// `--env`, `--unset`, `--env-file`, in order: the first `variable_count` entries.
    pub stored_variables: [StoredVariable<'a>; VARIABLE_OPTIONS],
    /// How many of `variables` are used.
    pub variable_count: usize,
    /// `--dry-run`.
    pub dry_run: bool,
}

impl<'a> Settings<'a> {
    /// No environment option given.
    pub const NONE: Self = Self {
        limits: [Limit {
            given: false,
            soft: 0,
            hard: None,
        }; RESOURCE_LIMITS],
        nice: 0,
        oom_score_adj: None,
        umask: None,
        root_directory: None,
        working_directory: None,
        no_new_privs: false,
        keep_capabilities: 0,
        clear_environment: false,
        stored_variables: [(0, None); VARIABLE_OPTIONS],
        variable_count: 0,
        dry_run: false,
    };

    /// Whether the program's environment is anything but the inherited one (as far as these
    /// options go: `--user` and `--notify-socket` change it too).
    pub fn change_variables(&self) -> bool {
        self.clear_environment || self.variable_count > 0
    }

    /// Adds a variable option of kind `kind` (0 `--env`, 1 `--unset`, 2 `--env-file`, as
    /// [`StoredVariable`]); more than [`VARIABLE_OPTIONS`] is a usage error.
    #[cfg(feature = "environment")]
    pub fn add_variable(&mut self, kind: u8, value: &'a CStr) -> Result<(), UsageError<'a>> {
        let slot = self
            .stored_variables
            .get_mut(self.variable_count)
            .ok_or(UsageError::TooManyVariableOptions)?;
        *slot = (kind, Some(value));
        self.variable_count += 1;
        Ok(())
    }
}

#[cfg(feature = "environment")]
/// The error for `--option value`, which needs `expected`.
fn invalid<'a>(option: &'static [u8], value: &'a CStr, expected: &'static [u8]) -> UsageError<'a> {
    UsageError::Invalid(option, value, expected)
}

#[cfg(feature = "environment")]
/// Parses `--rlimit NAME=SOFT[:HARD]` into `settings`: a name of [`LIMIT_NAMES`] (in any
/// case), limits as decimal numbers (with `K`, `M` or `G`, ×1024, for the limits measured in
/// bytes) or `unlimited`.
pub fn parse_limit<'a>(value: &'a CStr, settings: &mut Settings<'a>) -> Result<(), UsageError<'a>> {
    let text = value.to_bytes();
    let (name, limits) = split_once(text, b'=').unwrap_or((text, b""));
    let Some(number) = find_name(LIMIT_NAMES, name) else {
        return Err(invalid(
            b"rlimit",
            value,
            b"NAME=SOFT[:HARD], NAME one of as core cpu data fsize locks memlock msgqueue nice nofile nproc rss rtprio rttime sigpending stack",
        ));
    };
    let bytes = BYTE_LIMITS & 1 << number != 0;
    let (soft, hard) = match split_once(limits, b':') {
        Some((soft, hard)) => (soft, Some(hard)),
        None => (limits, None),
    };
    let soft = parse_amount(soft, bytes);
    let hard = hard.map(|hard| parse_amount(hard, bytes));
    match (soft, hard) {
        (Some(soft), None | Some(Some(_))) => {
            settings.limits[number] = Limit {
                given: true,
                soft,
                hard: hard.flatten(),
            };
            Ok(())
        }
        _ => Err(invalid(
            b"rlimit",
            value,
            b"limits as numbers (K, M, G for the limits in bytes) or unlimited",
        )),
    }
}

#[cfg(feature = "environment")]
/// `text` split at the first `separator`.
fn split_once(text: &[u8], separator: u8) -> Option<(&[u8], &[u8])> {
    let at = text.iter().position(|&byte| byte == separator)?;
    Some((&text[..at], &text[at + 1..]))
}

#[cfg(feature = "environment")]
/// A limit: `unlimited`, or decimal digits, for byte limits optionally followed by `K`, `M`
/// or `G` (×1024, ×1024², ×1024³); never a value that overflows or is the kernel's
/// `RLIM_INFINITY` in disguise.
fn parse_amount(text: &[u8], bytes: bool) -> Option<u64> {
    if text == b"unlimited" {
        return Some(UNLIMITED);
    }
    let (digits, shift) = match text.last() {
        Some(b'K') if bytes => (&text[..text.len() - 1], 10),
        Some(b'M') if bytes => (&text[..text.len() - 1], 20),
        Some(b'G') if bytes => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    let value = super::options::parse_decimal(digits, (UNLIMITED - 1) >> shift)?;
    Some(value << shift)
}

#[cfg(feature = "environment")]
/// Parses a decimal number from `minimum` to `maximum`, with an optional sign (`-5`, `+3`).
pub fn parse_signed(text: &[u8], minimum: i32, maximum: i32) -> Option<i32> {
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = super::options::parse_decimal(digits, 1 << 31)? as i64;
    let value = if negative { -magnitude } else { magnitude };
    (i64::from(minimum)..=i64::from(maximum))
        .contains(&value)
        .then_some(value as i32)
}

#[cfg(feature = "environment")]
/// Parses an octal umask: one to four octal digits, at most 0777.
pub fn parse_umask(text: &[u8]) -> Option<u32> {
    if text.is_empty() || text.len() > 4 {
        return None;
    }
    let mut value = 0;
    for &digit in text {
        if !(b'0'..=b'7').contains(&digit) {
            return None;
        }
        value = value * 8 + u32::from(digit - b'0');
    }
    (value <= 0o777).then_some(value)
}

#[cfg(feature = "environment")]
/// Parses `--keep-caps CAP[,CAP...]`: names as capabilities(7) gives them, with or without
/// `cap_`, in any case. Unknown names, empty items and capabilities that could undo the
/// user switch ([`UNDOING_CAPABILITIES`]) are usage errors; the bounding set is the applet's
/// to check.
pub fn parse_capabilities(value: &CStr) -> Result<u64, UsageError<'_>> {
    let mut set = 0u64;
    for item in value.to_bytes().split(|&byte| byte == b',') {
        let name = match item.get(..4) {
            Some(prefix) if same_lowercase(b"cap_", prefix) => &item[4..],
            _ => item,
        };
        let number = find_name(CAPABILITY_NAMES, name).ok_or(invalid(
            b"keep-caps",
            value,
            b"capability names as capabilities(7) gives them, separated by commas",
        ))?;
        if UNDOING_CAPABILITIES & 1 << number != 0 {
            return Err(UsageError::Capability(item, b"could undo the user switch"));
        }
        set |= 1 << number;
    }
    Ok(set)
}

#[cfg(feature = "environment")]
/// The index of `name` among the NUL-terminated lower-case names of `table`, in any case;
/// empty names never match.
pub fn find_name(table: &'static [u8], name: &[u8]) -> Option<usize> {
    if name.is_empty() {
        return None;
    }
    super::options::fields(table).position(|known| same_lowercase(known, name))
}

#[cfg(feature = "environment")]
/// Whether `given` is `known` (lower case) in any case.
fn same_lowercase(known: &[u8], given: &[u8]) -> bool {
    known.len() == given.len()
        && known
            .iter()
            .zip(given)
            .all(|(&known, &given)| known == given.to_ascii_lowercase())
}

#[cfg(feature = "environment")]
/// Name `index` of `table`, NUL-terminated names (empty past its end).
pub fn name_at(table: &'static [u8], index: usize) -> &'static [u8] {
    super::options::field(table, index)
}

#[cfg(feature = "environment")]
/// The length of the name of environment entry `entry` (`NAME=VALUE`): the bytes before its
/// first `=`, which must be at least one and hold no blank; `None` for anything else.
pub fn variable_name_length(entry: &[u8]) -> Option<usize> {
    let length = entry.iter().position(|&byte| byte == b'=')?;
    let blank = entry[..length]
        .iter()
        .any(|&byte| byte == b' ' || byte == b'\t');
    (length > 0 && !blank).then_some(length)
}

#[cfg(feature = "environment")]
/// Whether `text` is a variable name for `--unset`: not empty, without `=` or blanks.
pub fn is_variable_name(text: &[u8]) -> bool {
    !text.is_empty()
        && !text
            .iter()
            .any(|&byte| byte == b'=' || byte == b' ' || byte == b'\t')
}
