//! `ucw-test-sleeper`: the smallest well-behaved daemon body for the test environments that
//! have no libc, no /proc and no /etc (a chroot, an aarch64 binary under qemu).
//!
//! It blocks SIGHUP, SIGINT and SIGTERM and waits for them with `rt_sigtimedwait`: each
//! SIGHUP writes `reload\n` to stderr (the tests read it to prove that a reload reached the
//! program), SIGINT or SIGTERM writes `stop\n` and exits 0. Any other signal keeps its
//! default action. It must never allocate, read the auxiliary vector, or open a file.
#![no_std]
#![no_main]

const SIGHUP: u64 = 1;
const SIGINT: u64 = 2;
const SIGTERM: u64 = 15;
const SIG_BLOCK: usize = 0;

#[cfg(target_arch = "x86_64")]
mod number {
    pub const WRITE: usize = 1;
    pub const RT_SIGPROCMASK: usize = 14;
    pub const RT_SIGTIMEDWAIT: usize = 128;
    pub const EXIT_GROUP: usize = 231;
}

#[cfg(target_arch = "aarch64")]
mod number {
    pub const WRITE: usize = 64;
    pub const RT_SIGPROCMASK: usize = 135;
    pub const RT_SIGTIMEDWAIT: usize = 137;
    pub const EXIT_GROUP: usize = 94;
}

/// A raw four-argument system call; returns the kernel's result (negative errno on error).
///
/// # Safety
/// The arguments must be valid for system call `number` (pointers to live memory of the
/// sizes the call expects).
#[cfg(target_arch = "x86_64")]
unsafe fn syscall4(number: usize, a: usize, b: usize, c: usize, d: usize) -> isize {
    let result: isize;
    // SAFETY: the caller guarantees valid arguments; rcx and r11 are clobbered by `syscall`.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") number as isize => result,
            in("rdi") a, in("rsi") b, in("rdx") c, in("r10") d,
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    result
}

/// A raw four-argument system call; returns the kernel's result (negative errno on error).
///
/// # Safety
/// The arguments must be valid for system call `number` (pointers to live memory of the
/// sizes the call expects).
#[cfg(target_arch = "aarch64")]
unsafe fn syscall4(number: usize, a: usize, b: usize, c: usize, d: usize) -> isize {
    let result: isize;
    // SAFETY: the caller guarantees valid arguments.
    unsafe {
        core::arch::asm!(
            "svc 0",
            in("x8") number,
            inlateout("x0") a as isize => result,
            in("x1") b, in("x2") c, in("x3") d,
            options(nostack),
        );
    }
    result
}

/// `write(2, text)`, once (a short write to a test's log file does not happen).
fn write_stderr(text: &[u8]) {
    // SAFETY: the pointer and length describe `text`, alive for the call.
    unsafe { syscall4(number::WRITE, 2, text.as_ptr() as usize, text.len(), 0) };
}

/// `exit_group(code)`.
fn exit(code: usize) -> ! {
    loop {
        // SAFETY: exit_group takes a plain integer and does not return.
        unsafe { syscall4(number::EXIT_GROUP, code, 0, 0, 0) };
    }
}

/// Called by `_start`; never returns.
extern "C" fn sleeper_main() -> ! {
    let waited: u64 = (1 << (SIGHUP - 1)) | (1 << (SIGINT - 1)) | (1 << (SIGTERM - 1));
    // SAFETY: `waited` is an 8-byte signal set, the size passed; no old set is requested.
    let blocked = unsafe {
        syscall4(
            number::RT_SIGPROCMASK,
            SIG_BLOCK,
            &waited as *const u64 as usize,
            0,
            8,
        )
    };
    if blocked < 0 {
        write_stderr(b"ucw-test-sleeper: Cannot block signals\n");
        exit(111);
    }
    loop {
        // SAFETY: `waited` is an 8-byte set; no siginfo and no timeout are requested.
        let signal = unsafe {
            syscall4(
                number::RT_SIGTIMEDWAIT,
                &waited as *const u64 as usize,
                0,
                0,
                8,
            )
        };
        match signal {
            1 => write_stderr(b"reload\n"),
            2 | 15 => {
                write_stderr(b"stop\n");
                exit(0);
            }
            _ => {} // EINTR (after SIGCONT of a stopped sleeper) and the like: wait again.
        }
    }
}

#[cfg(target_arch = "x86_64")]
core::arch::global_asm!(
    ".globl _start",
    "_start:",
    "xor ebp, ebp",
    "and rsp, -16",
    "call {main}",
    main = sym sleeper_main,
);

#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".globl _start",
    "_start:",
    "mov x29, xzr",
    "mov x30, xzr",
    "bl {main}",
    main = sym sleeper_main,
);

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    write_stderr(b"ucw-test-sleeper: internal error (panic)\n");
    exit(111);
}
