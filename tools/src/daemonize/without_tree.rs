//! What a build without the `tree` feature has in place of `--cgroup` (docs/design.md §5): a
//! `Cgroup` type with no values, so that every path of the supervisor through a cgroup is
//! provably dead and compiled out, while the tree itself (subreaper, ending every descendant,
//! the unlock after the last reap) stays as it is in every build. The option is refused as not
//! built before anything runs (`cli/daemonize.rs`).
//!
//! This file owns only that stand-in. It must never gain a value or a constructor: a
//! `Cgroup` here would be a cgroup that does nothing.

use core::convert::Infallible;
use core::marker::PhantomData;
use rustix::io::Errno;

/// No cgroup: the type cannot be made.
pub(super) struct Cgroup<'a> {
    never: Infallible,
    lifetime: PhantomData<&'a ()>,
}

impl Cgroup<'_> {
    /// Never called: there is no value to call it on.
    pub(super) fn path(&self) -> &[u8] {
        match self.never {}
    }

    /// Never called: there is no value to call it on.
    pub(super) fn join(&self) -> Result<(), Errno> {
        match self.never {}
    }

    /// Never called: there is no value to call it on.
    pub(super) fn populated(&self) -> bool {
        match self.never {}
    }

    /// Never called: there is no value to call it on.
    pub(super) fn kill(&self) {
        match self.never {}
    }

    /// Never called: there is no value to call it on.
    pub(super) fn remove(&self) {
        match self.never {}
    }
}
