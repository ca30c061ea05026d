//! The memory functions the compiler emits calls to (`memcpy`, `memmove`, `memset`,
//! `memcmp`, `bcmp`, `strlen`), for programs linked without libc: the tools (through
//! `src/rt`), `examples/tiny_daemon.rs` and the size-report probes include this file with
//! `#[path]`.
//!
//! It owns nothing but these six functions. They must never call libc, nor contain a loop
//! the optimiser could turn back into a call to themselves: `rep movsb`/`rep stosb` on
//! x86_64, volatile byte loops elsewhere.

use core::ffi::c_char;

/// `memcpy`: copy `count` bytes; the areas do not overlap.
///
/// # Safety
/// Both pointers must be valid for `count` bytes.
#[no_mangle]
pub unsafe extern "C" fn memcpy(destination: *mut u8, source: *const u8, count: usize) -> *mut u8 {
    // SAFETY: forwarded from the caller; memmove handles the non-overlapping case too.
    unsafe { memmove(destination, source, count) }
}

/// `memmove`: copy `count` bytes; the areas may overlap.
///
/// # Safety
/// Both pointers must be valid for `count` bytes.
#[no_mangle]
pub unsafe extern "C" fn memmove(destination: *mut u8, source: *const u8, count: usize) -> *mut u8 {
    if (destination as usize).wrapping_sub(source as usize) >= count {
        // Forward copy is safe: destination is before source or the areas are disjoint.
        #[cfg(target_arch = "x86_64")]
        // SAFETY: valid for `count` bytes by the caller's guarantee; the direction flag is
        // clear per the ABI.
        unsafe {
            core::arch::asm!("rep movsb", inout("rcx") count => _, inout("rdi") destination => _,
                inout("rsi") source => _, options(nostack, preserves_flags));
        }
        #[cfg(not(target_arch = "x86_64"))]
        for index in 0..count {
            // SAFETY: index < count, inside both areas.
            unsafe {
                core::ptr::write_volatile(
                    destination.add(index),
                    core::ptr::read_volatile(source.add(index)),
                )
            };
        }
    } else {
        let mut index = count;
        while index > 0 {
            index -= 1;
            // SAFETY: index < count, inside both areas; backwards because they overlap.
            unsafe {
                core::ptr::write_volatile(
                    destination.add(index),
                    core::ptr::read_volatile(source.add(index)),
                )
            };
        }
    }
    destination
}

/// `memset`: fill `count` bytes with `value`.
///
/// # Safety
/// `destination` must be valid for `count` bytes.
#[no_mangle]
pub unsafe extern "C" fn memset(destination: *mut u8, value: i32, count: usize) -> *mut u8 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: valid for `count` bytes by the caller's guarantee.
    unsafe {
        core::arch::asm!("rep stosb", inout("rcx") count => _, inout("rdi") destination => _,
            in("al") value as u8, options(nostack, preserves_flags));
    }
    #[cfg(not(target_arch = "x86_64"))]
    for index in 0..count {
        // SAFETY: index < count.
        unsafe { core::ptr::write_volatile(destination.add(index), value as u8) };
    }
    destination
}

/// `memcmp`: compare `count` bytes.
///
/// # Safety
/// Both pointers must be valid for `count` bytes.
#[no_mangle]
pub unsafe extern "C" fn memcmp(left: *const u8, right: *const u8, count: usize) -> i32 {
    for index in 0..count {
        // SAFETY: index < count.
        let (a, b) = unsafe {
            (
                core::ptr::read_volatile(left.add(index)),
                core::ptr::read_volatile(right.add(index)),
            )
        };
        if a != b {
            return a as i32 - b as i32;
        }
    }
    0
}

/// `bcmp`: whether `count` bytes differ (non-zero) or not (zero).
///
/// # Safety
/// Both pointers must be valid for `count` bytes.
#[no_mangle]
pub unsafe extern "C" fn bcmp(left: *const u8, right: *const u8, count: usize) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe { memcmp(left, right, count) }
}

/// `strlen`: bytes before the NUL.
///
/// # Safety
/// `text` must point to a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn strlen(text: *const c_char) -> usize {
    let mut length = 0;
    // SAFETY: the string is NUL-terminated, so every byte up to the NUL is readable.
    while unsafe { core::ptr::read_volatile(text.add(length)) } != 0 {
        length += 1;
    }
    length
}
