//! A user's supplementary groups as `setgroups` takes them, in caller storage.
//!
//! This module owns the list's invariants: sorted, unique, within its storage and `NGROUPS_MAX`,
//! built in O(n log n). It must never allocate.

use super::NGROUPS_MAX;
use rustix::process::Gid;

/// Group ids in caller storage (at most [`NGROUPS_MAX`]), sorted and unique after every lookup.
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
    /// `gids[..sorted]` is sorted and unique; the rest was appended since.
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
    /// An empty list of at most `storage.len()` ids (never more than [`NGROUPS_MAX`]).
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

    /// Adds `gid` unless present; `false` when full. [`GroupList::sort`] sorts again.
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

    /// Sorts and drops duplicates; a full list sorts at most once per id gained.
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

/// Heap sort: O(n log n), a few dozen instructions (core's sort adds kilobytes).
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
