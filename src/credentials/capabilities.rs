//! The capabilities a daemon keeps across its switch to a user (docs/design.md §6), permitted,
//! inheritable and ambient, so a program it execs has them; and that part of the switch's proof.
//!
//! This file owns that sequence and its proof. It must never keep a capability that could undo the
//! switch (`UNDOING`), leave one effective in the switching process, or leave `PR_SET_KEEPCAPS` on.

use crate::error::{Error, Message, Result, Subject};
use rustix::thread::CapabilitySet;
#[cfg(feature = "environment")]
use rustix::thread::CapabilitySets;

#[cfg(feature = "environment")]
/// Never kept: ways back to root (`setuid`, `setgid`, `setpcap`), root's powers (`sys_admin`,
/// `sys_module`), every user's files and processes (`dac_override`, `sys_ptrace`).
pub(crate) const UNDOING: CapabilitySet = CapabilitySet::SETUID
    .union(CapabilitySet::SETGID)
    .union(CapabilitySet::SETPCAP)
    .union(CapabilitySet::SYS_ADMIN)
    .union(CapabilitySet::DAC_OVERRIDE)
    .union(CapabilitySet::SYS_PTRACE)
    .union(CapabilitySet::SYS_MODULE);

#[cfg(feature = "environment")]
/// The error of every step of the sequence.
fn failed(errno: rustix::io::Errno) -> Error {
    Error::system(Message::KeepCapabilities, Subject::None, errno)
}

#[cfg(feature = "environment")]
/// Before the switch: `prctl(PR_SET_KEEPCAPS, 1)`, so leaving root keeps the permitted set.
///
/// # References
/// [prctl(2)](https://man7.org/linux/man-pages/man2/prctl.2.html) (`PR_SET_KEEPCAPS`)
pub(super) fn keep_across_switch() -> Result<()> {
    rustix::thread::set_keep_capabilities(true).map_err(failed)
}

#[cfg(feature = "environment")]
/// After the switch: `capset` (permitted = inheritable = `kept`, none effective),
/// `PR_CAP_AMBIENT_RAISE` for each, then `prctl(PR_SET_KEEPCAPS, 0)`.
///
/// # References
/// [capset(2)](https://man7.org/linux/man-pages/man2/capset.2.html),
/// [prctl(2)](https://man7.org/linux/man-pages/man2/prctl.2.html) (`PR_CAP_AMBIENT`),
/// [capabilities(7)](https://man7.org/linux/man-pages/man7/capabilities.7.html)
pub(super) fn raise_kept(kept: CapabilitySet) -> Result<()> {
    rustix::thread::set_capabilities(
        None,
        CapabilitySets {
            effective: CapabilitySet::empty(),
            permitted: kept,
            inheritable: kept,
        },
    )
    .map_err(failed)?;
    for bit in 0..64 {
        let capability = CapabilitySet::from_bits_retain(1 << bit);
        if kept.contains(capability) {
            rustix::thread::configure_capability_in_ambient_set(capability, true)
                .map_err(failed)?;
        }
    }
    rustix::thread::set_keep_capabilities(false).map_err(failed)
}

/// Proves the sets after the switch: none effective, `kept` permitted and (when any) inheritable
/// and ambient, read with `capget` and `PR_CAP_AMBIENT_IS_SET` (no `/proc`).
///
/// # References
/// [capget(2)](https://man7.org/linux/man-pages/man2/capget.2.html),
/// [prctl(2)](https://man7.org/linux/man-pages/man2/prctl.2.html) (`PR_CAP_AMBIENT_IS_SET`)
pub(super) fn prove_exactly(kept: CapabilitySet) -> Result<()> {
    let sets = rustix::thread::capabilities(None)
        .map_err(|errno| Error::system(Message::ReadCapabilities, Subject::None, errno))?;
    let extra = sets.permitted.difference(kept);
    if !extra.is_empty() || !sets.effective.is_empty() {
        return Err(Error::new(Message::CapabilitiesRemain, Subject::None)
            .with(1, extra.bits().count_ones())
            .with(2, sets.effective.bits().count_ones()));
    }
    if kept.is_empty() {
        return Ok(());
    }
    #[cfg(feature = "environment")]
    return prove_kept(sets, kept);
    #[cfg(not(feature = "environment"))]
    Ok(())
}

/// The rest of [`prove_exactly`] when something is kept.
#[cfg(feature = "environment")]
fn prove_kept(sets: CapabilitySets, kept: CapabilitySet) -> Result<()> {
    let mut exact = sets.permitted == kept && sets.inheritable == kept;
    for bit in 0..64 {
        let capability = CapabilitySet::from_bits_retain(1 << bit);
        if kept.contains(capability) {
            exact &= rustix::thread::capability_is_in_ambient_set(capability) == Ok(true);
        }
    }
    match exact {
        true => Ok(()),
        false => Err(Error::new(Message::KeptCapabilitiesDiffer, Subject::None)),
    }
}
