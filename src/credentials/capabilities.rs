//! The capabilities a daemon keeps across its switch to a user (docs/design.md §6): kept in the
//! permitted, inheritable and ambient sets, so that a program it execs starts with them in its
//! effective set (a web server that binds port 80 as `www-data`), and the part of the switch's
//! proof that says the switch left exactly those.
//!
//! This file owns that sequence and its proof. It must never keep a capability that could undo
//! the switch (`UNDOING`), never leave a capability in the switching process's effective set,
//! and never leave `PR_SET_KEEPCAPS` on.

use crate::error::{Error, Message, Result, Subject};
use rustix::thread::CapabilitySet;
#[cfg(feature = "environment")]
use rustix::thread::CapabilitySets;

#[cfg(feature = "environment")]
/// Capabilities that could undo the switch or reach around it: a way back to root (`setuid`,
/// `setgid`, `setpcap`), root's powers under another name (`sys_admin`, `sys_module`), or the
/// files and processes of every other user (`dac_override`, `sys_ptrace`). Never kept.
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
/// Before the switch: `prctl(PR_SET_KEEPCAPS, 1)`, so that leaving root keeps the permitted set
/// (the effective and ambient sets are cleared all the same).
///
/// # References
/// [prctl(2)](https://man7.org/linux/man-pages/man2/prctl.2.html) (`PR_SET_KEEPCAPS`)
pub(super) fn keep_across_switch() -> Result<()> {
    rustix::thread::set_keep_capabilities(true).map_err(failed)
}

#[cfg(feature = "environment")]
/// After the switch: `capset` with permitted = inheritable = `kept` and an empty effective set,
/// `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap)` for each kept capability (a program
/// exec'd without file capabilities starts with the ambient set as its permitted and
/// effective ones), then `prctl(PR_SET_KEEPCAPS, 0)`.
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

/// Proves that the capability sets after the switch are exactly what the switch leaves:
/// nothing effective, `kept` permitted and, when something is kept, `kept` inheritable and
/// ambient (read back with `capget` and `PR_CAP_AMBIENT_IS_SET` — no `/proc`, which a root
/// directory may lack; the kernel keeps the ambient set within permitted ∩ inheritable, so
/// each kept one being set makes it exact).
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

/// The rest of [`prove_exactly`] when something is kept: `kept` permitted, inheritable and
/// ambient.
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
