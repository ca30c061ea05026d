//! The probes' runtime: `_start`, `write(1, ...)`, `exit_group` and the panic handler,
//! hand-written so that only the technique under test differs; the memory functions are the
//! tools' own (`tools/src/rt/memory.rs`).
use core::arch::{asm, global_asm};

global_asm!(
    ".globl _start",
    "_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {entry}",
    "ud2",
    entry = sym entry,
);

unsafe extern "C" fn entry(stack: *const usize) -> ! {
    // SAFETY: the kernel puts argc at the initial stack pointer.
    let argc = unsafe { *stack };
    exit(crate::run(argc))
}

/// write(2) to standard output; errors ignored.
pub fn write(bytes: &[u8]) {
    // SAFETY: the buffer is valid for its length; write(2) does not touch other memory.
    unsafe {
        asm!("syscall", inlateout("rax") 1usize => _, in("rdi") 1usize,
            in("rsi") bytes.as_ptr(), in("rdx") bytes.len(),
            lateout("rcx") _, lateout("r11") _, options(nostack));
    }
}

/// exit_group(2).
pub fn exit(code: i32) -> ! {
    // SAFETY: exit_group never returns.
    unsafe {
        asm!("syscall", in("rax") 231usize, in("rdi") code as isize, options(noreturn, nostack))
    }
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    exit(101)
}

// The memory functions: the tools' own, so the probes differ from them only in the technique
// under test (size-report/run copies that file next to the probes, at the same relative path).
#[path = "../../../tools/src/rt/memory.rs"]
mod memory;

#[no_mangle]
extern "C" fn rust_eh_personality() {}
