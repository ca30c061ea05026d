//! Raw system-call instructions for aarch64: `svc 0` with the number in `x8`, arguments in
//! `x0`–`x5`, the result in `x0`. Nothing here knows what a call means.

use core::arch::asm;

/// Enters the kernel with up to six arguments and returns its raw result (`-errno` on error).
///
/// # Safety
/// The caller must pass a valid system-call number and arguments that are valid for it
/// (pointers to live memory of the right size).
#[inline(always)]
pub unsafe fn syscall6(
    nr: usize,
    a0: usize,
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
    a5: usize,
) -> isize {
    let ret: isize;
    // SAFETY: the caller guarantees the call and its arguments are valid; the asm follows
    // the aarch64 Linux system-call ABI.
    unsafe {
        asm!(
            "svc 0",
            in("x8") nr,
            inlateout("x0") a0 as isize => ret,
            in("x1") a1, in("x2") a2, in("x3") a3, in("x4") a4, in("x5") a5,
            options(nostack, preserves_flags)
        );
    }
    ret
}

/// Enters the kernel for a call that never returns (`exit_group`).
///
/// # Safety
/// `nr` must be a system call that does not return.
#[inline(always)]
pub unsafe fn syscall1_noreturn(nr: usize, a0: usize) -> ! {
    // SAFETY: the caller guarantees the call does not return; `brk` traps if it ever did.
    unsafe { asm!("svc 0", "brk #0x1", in("x8") nr, in("x0") a0, options(nostack, noreturn)) }
}
