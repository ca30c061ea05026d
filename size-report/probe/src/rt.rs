//! The probes' runtime: `_start`, `write(1, ...)`, `exit_group`, the panic handler and the
//! memory functions, all hand-written so that only the technique under test differs.
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

/// # Safety
/// Both areas valid for `count` bytes and disjoint.
#[no_mangle]
pub unsafe extern "C" fn memcpy(destination: *mut u8, source: *const u8, count: usize) -> *mut u8 {
    for index in 0..count {
        // SAFETY: index < count.
        unsafe { core::ptr::write_volatile(destination.add(index), *source.add(index)) };
    }
    destination
}

/// # Safety
/// `destination` valid for `count` bytes.
#[no_mangle]
pub unsafe extern "C" fn memset(destination: *mut u8, value: i32, count: usize) -> *mut u8 {
    for index in 0..count {
        // SAFETY: index < count.
        unsafe { core::ptr::write_volatile(destination.add(index), value as u8) };
    }
    destination
}

/// # Safety
/// Both areas valid for `count` bytes.
#[no_mangle]
pub unsafe extern "C" fn memcmp(left: *const u8, right: *const u8, count: usize) -> i32 {
    for index in 0..count {
        // SAFETY: index < count.
        let (a, b) = unsafe { (core::ptr::read_volatile(left.add(index)), *right.add(index)) };
        if a != b {
            return a as i32 - b as i32;
        }
    }
    0
}

/// # Safety
/// Both areas valid for `count` bytes.
#[no_mangle]
pub unsafe extern "C" fn bcmp(left: *const u8, right: *const u8, count: usize) -> i32 {
    // SAFETY: forwarded.
    unsafe { memcmp(left, right, count) }
}

/// # Safety
/// Both areas valid for `count` bytes.
#[no_mangle]
pub unsafe extern "C" fn memmove(destination: *mut u8, source: *const u8, count: usize) -> *mut u8 {
    if (destination as usize) < (source as usize) {
        // SAFETY: forward copy is safe when the destination starts first.
        return unsafe { memcpy(destination, source, count) };
    }
    let mut index = count;
    while index > 0 {
        index -= 1;
        // SAFETY: index < count.
        unsafe { core::ptr::write_volatile(destination.add(index), *source.add(index)) };
    }
    destination
}

#[no_mangle]
extern "C" fn rust_eh_personality() {}
