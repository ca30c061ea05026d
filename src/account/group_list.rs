//! The supplementary groups of a user, as `setgroups` will receive them, in storage the caller
//! provides.
//!
//! This module owns the list's invariants: sorted, without duplicates, never more ids than
//! its storage (or the kernel's `NGROUPS_MAX`) holds, and building it costs O(n log n) however
//! the group file orders its lines. It must never allocate and never grow past its storage.

use super::NGROUPS_MAX;
use rustix::process::Gid;

/// A set of group ids in caller-provided storage, sorted and without duplicates after every
/// lookup that fills it.
///
/// Its capacity is the storage's length, at most [`NGROUPS_MAX`] (65,536, 256 KiB of
/// storage: a `static` or the heap; a few hundred ids are plenty on a stack).
///
/// ```
/// use rustix::process::Gid;
/// use ucw_daemon::account::GroupList;
///
/// let mut storage = [Gid::ROOT; 64];
/// let groups = GroupList::new(&mut storage);
/// assert!(groups.is_empty()); // the ids, in increasing order, as a slice
/// ```
pub struct GroupList<'g> {
    gids: &'g mut [Gid],
    /// `gids[..sorted]` is sorted and without duplicates; `gids[sorted..count]` was appended
    /// since (ids not in the sorted part), until [`GroupList::sort`].
    sorted: usize,
    count: usize,
}

/// The ids, in increasing order.
impl core::ops::Deref for GroupList<'_> {
    type Target = [Gid];

    fn deref(&self) -> &[Gid] {
        &self.gids[..self.sorted]
    }
}

impl<'g> GroupList<'g> {
    /// An empty list holding at most `storage.len()` ids (and never more than
    /// [`NGROUPS_MAX`]).
    pub const fn new(storage: &'g mut [Gid]) -> Self {
        Self {
            gids: storage,
            sorted: 0,
            count: 0,
        }
    }

    /// How many ids the list can hold.
    pub(crate) fn capacity(&self) -> usize {
        self.gids.len().min(NGROUPS_MAX)
    }

    /// Forgets every id.
    pub(crate) fn clear(&mut self) {
        self.sorted = 0;
        self.count = 0;
    }

    /// Adds `gid` unless present; `false` (nothing added) when the list is full. The list is
    /// sorted again by [`GroupList::sort`].
    pub(crate) fn insert(&mut self, gid: u32) -> bool {
        if self.contains_sorted(gid) {
            return true;
        }
        if self.count == self.capacity() {
            self.sort();
            if self.contains_sorted(gid) {
                return true;
            }
            if self.count == self.capacity() {
                return false;
            }
        }
        self.gids[self.count] = Gid::from_raw_unchecked(gid);
        self.count += 1;
        true
    }

    /// Whether the sorted part holds `gid`.
    fn contains_sorted(&self, gid: u32) -> bool {
        self.gids[..self.sorted]
            .binary_search_by_key(&gid, |known| known.as_raw())
            .is_ok()
    }

    /// Sorts the ids and drops the duplicates. A full list is sorted at most once per id the
    /// sorted part gains, so building a list of n ids costs O(n log n) whatever the order.
    pub(crate) fn sort(&mut self) {
        if self.sorted == self.count {
            return;
        }
        let gids = &mut self.gids[..self.count];
        heap_sort(gids);
        let mut kept = 0;
        for index in 0..gids.len() {
            if kept == 0 || gids[kept - 1] != gids[index] {
                gids[kept] = gids[index];
                kept += 1;
            }
        }
        self.count = kept;
        self.sorted = kept;
    }
}

/// Sorts `gids` in place by value: a heap sort, O(n log n) in every case and a few dozen
/// instructions (core's sort would add kilobytes to the static tools).
fn heap_sort(gids: &mut [Gid]) {
    fn sift_down(gids: &mut [Gid], mut root: usize, end: usize) {
        loop {
            let mut child = 2 * root + 1;
            if child >= end {
                return;
            }
            if child + 1 < end && gids[child].as_raw() < gids[child + 1].as_raw() {
                child += 1;
            }
            if gids[root].as_raw() >= gids[child].as_raw() {
                return;
            }
            gids.swap(root, child);
            root = child;
        }
    }
    let count = gids.len();
    for root in (0..count / 2).rev() {
        sift_down(gids, root, count);
    }
    for end in (1..count).rev() {
        gids.swap(0, end);
        sift_down(gids, 0, end);
    }
}
