//! Raw system-call instructions for x86_64: `syscall` with the number in `rax`, arguments in
//! `rdi rsi rdx r10 r8 r9`, `rcx`/`r11` clobbered. Nothing here knows what a call means.

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
    // the x86_64 Linux system-call ABI and declares every register the kernel clobbers.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a0, in("rsi") a1, in("rdx") a2, in("r10") a3, in("r8") a4, in("r9") a5,
            lateout("rcx") _, lateout("r11") _,
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
    // SAFETY: the caller guarantees the call does not return; `ud2` traps if it ever did.
    unsafe { asm!("syscall", "ud2", in("rax") nr, in("rdi") a0, options(nostack, noreturn)) }
}
