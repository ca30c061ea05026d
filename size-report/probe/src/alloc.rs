//! Probe: the same "argc <n>\n" built in a heap `Vec` (a bump allocator over a static array),
//! i.e. what "use alloc instead of fixed buffers" would cost.
#![no_std]
#![no_main]

extern crate alloc;

#[path = "rt.rs"]
mod rt;

use alloc::vec::Vec;
use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicUsize, Ordering};

struct Bump {
    heap: UnsafeCell<[u8; 4096]>,
    next: AtomicUsize,
}

// SAFETY: allocation only bumps an atomic offset; areas handed out never overlap.
unsafe impl Sync for Bump {}

// SAFETY: returns non-overlapping, suitably aligned areas inside `heap`, or null.
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let base = self.heap.get() as usize;
        let start =
            (base + self.next.load(Ordering::Relaxed) + layout.align() - 1) & !(layout.align() - 1);
        let end = start + layout.size();
        if end > base + 4096 {
            return core::ptr::null_mut();
        }
        self.next.store(end - base, Ordering::Relaxed);
        start as *mut u8
    }

    unsafe fn dealloc(&self, _pointer: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static ALLOCATOR: Bump = Bump {
    heap: UnsafeCell::new([0; 4096]),
    next: AtomicUsize::new(0),
};

fn run(argc: usize) -> i32 {
    let mut text = Vec::new();
    text.extend_from_slice(b"argc ");
    let mut digits = Vec::new();
    let mut value = argc;
    loop {
        digits.push(b'0' + (value % 10) as u8);
        value /= 10;
        if value == 0 {
            break;
        }
    }
    digits.reverse();
    text.extend_from_slice(&digits);
    text.push(b'\n');
    rt::write(&text);
    0
}
