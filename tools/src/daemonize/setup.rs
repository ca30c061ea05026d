//! The environment options (the `environment` feature) as the library's daemon parameters,
//! resolved by the launcher before anything changes: the resource limits as the daemon will
//! set them (a kept hard limit read, `nofile`'s `unlimited` made `fs.nr_open`), refused here
//! when the kernel would refuse them (a soft limit above the hard one, `nofile` above
//! `fs.nr_open`, a hard limit raised without `CAP_SYS_RESOURCE`); the kept capabilities
//! checked against the bounding set.
//!
//! This file owns those decisions. It must never change the process (it only reads limits,
//! capabilities and `/proc/sys/fs/nr_open`), so that `--dry-run` and a refused start leave
//! everything as it was.

use super::messages::Failure;
use crate::cli::environment::{Settings, NOFILE, RESOURCE_LIMITS, UNLIMITED};
use crate::cli::UsageError;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::process::{Resource, Rlimit};
use rustix::thread::CapabilitySet;
use ucw_daemon::daemon::Params;
use ucw_daemon::{Error, Subject};

/// The resource limits by number (`RLIMIT_CPU` is 0).
const RESOURCES: [Resource; RESOURCE_LIMITS] = [
    Resource::Cpu,
    Resource::Fsize,
    Resource::Data,
    Resource::Stack,
    Resource::Core,
    Resource::Rss,
    Resource::Nproc,
    Resource::Nofile,
    Resource::Memlock,
    Resource::As,
    Resource::Locks,
    Resource::Sigpending,
    Resource::Msgqueue,
    Resource::Nice,
    Resource::Rtprio,
    Resource::Rttime,
];

/// The resource limits the daemon sets, in the library's form.
pub(super) type Limits = [(Resource, Rlimit); RESOURCE_LIMITS];

/// An empty [`Limits`].
pub(super) const NO_LIMITS: Limits = [(
    Resource::Cpu,
    Rlimit {
        current: None,
        maximum: None,
    },
); RESOURCE_LIMITS];

/// `--keep-caps` against the bounding set: a capability outside it can never be kept (the
/// kernel refuses it in the inheritable set), so it is refused with the command line, before
/// anything is done.
pub(super) fn check_bounding_set(settings: &Settings<'_>) -> Result<(), UsageError<'static>> {
    for number in 0..64 {
        if settings.keep_capabilities & 1 << number == 0 {
            continue;
        }
        let capability = CapabilitySet::from_bits_retain(1 << number);
        if rustix::thread::capability_is_in_bounding_set(capability) != Ok(true) {
            return Err(UsageError::Capability(
                crate::cli::environment::name_at(crate::cli::environment::CAPABILITY_NAMES, number),
                b"is not in this process's bounding set",
            ));
        }
    }
    Ok(())
}

/// A limit in the kernel's form (`None` for unlimited).
fn kernel(value: u64) -> Option<u64> {
    (value != UNLIMITED).then_some(value)
}

/// A limit in ours.
fn ours(value: Option<u64>) -> u64 {
    value.unwrap_or(UNLIMITED)
}

/// The error about resource limit `number`.
fn refused(failure: Failure, number: usize) -> Error {
    failure.about(Subject::None).with(1, number as u32)
}

/// Resolves `--rlimit` into `limits` (see the module docs); returns how many there are.
#[inline(never)]
pub(super) fn resolve_limits(settings: &Settings<'_>, limits: &mut Limits) -> Result<usize, Error> {
    let mut count = 0;
    for (number, request) in settings.limits.iter().enumerate() {
        if !request.given {
            continue;
        }
        let resource = RESOURCES[number];
        let current = rustix::process::getrlimit(resource);
        let mut soft = request.soft;
        let mut hard = request.hard.unwrap_or(ours(current.maximum));
        if number == NOFILE {
            let nr_open = read_nr_open();
            for value in [&mut soft, &mut hard] {
                match (*value, nr_open) {
                    (UNLIMITED, Ok(most)) => *value = most,
                    (UNLIMITED, Err(errno)) => {
                        return Err(Failure::ReadNrOpen.system(Subject::None, errno))
                    }
                    (value, Ok(most)) if value > most => {
                        return Err(refused(Failure::AboveNrOpen, number)
                            .with(2, most.min(u64::from(u32::MAX)) as u32))
                    }
                    _ => {}
                }
            }
        }
        if soft > hard {
            return Err(refused(Failure::SoftAboveHard, number));
        }
        if hard > ours(current.maximum) && !can_raise_hard_limits() {
            return Err(Failure::RaiseHardLimit
                .system(Subject::None, Errno::PERM)
                .with(1, number as u32));
        }
        limits[count] = (
            resource,
            Rlimit {
                current: kernel(soft),
                maximum: kernel(hard),
            },
        );
        count += 1;
    }
    Ok(count)
}

/// Whether `CAP_SYS_RESOURCE` is in our effective set (raising a hard limit needs it).
fn can_raise_hard_limits() -> bool {
    rustix::thread::capabilities(None)
        .is_ok_and(|sets| sets.effective.contains(CapabilitySet::SYS_RESOURCE))
}

/// `fs.nr_open`, the most open files a process may be allowed, from `/proc/sys/fs/nr_open`.
#[inline(never)]
fn read_nr_open() -> Result<u64, Errno> {
    let file = rustix::fs::open(
        c"/proc/sys/fs/nr_open",
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )?;
    let mut text = [0u8; 24];
    let length = rustix::io::read(&file, &mut text)?;
    // Without its newline (not `strip_suffix`, an out-of-line comparison).
    let end = match length.checked_sub(1) {
        Some(last) if text[last] == b'\n' => last,
        _ => length,
    };
    crate::cli::options::parse_decimal(&text[..end], u64::from(u32::MAX)).ok_or(Errno::INVAL)
}

/// The library's parameters for what `settings` asks (the limits resolved in `limits`).
#[inline(never)]
pub(super) fn apply<'a>(
    settings: &Settings<'a>,
    limits: &'a [(Resource, Rlimit)],
    params: &mut Params<'a>,
) {
    params.limits = limits;
    params.nice = settings.nice;
    params.oom_score_adj = settings.oom_score_adj;
    params.umask = settings.umask.map(Mode::from_raw_mode);
    params.root_directory = settings.root_directory;
    params.working_directory = settings.working_directory;
    params.no_new_privs = settings.no_new_privs;
    params.keep_capabilities = CapabilitySet::from_bits_retain(settings.keep_capabilities);
}
