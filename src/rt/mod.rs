//! The runtime of the static tools: the `_start` entry point, the panic handler and the
//! memory functions the compiler calls (`memcpy`, `memmove`, `memset`, `memcmp`, `bcmp`,
//! `strlen`) that libc would otherwise provide, plus typed access to the command line and
//! environment the kernel placed on the initial stack ([`Startup`]).
//!
//! This file is not part of the library: each tool includes it with `#[path]`, so that no
//! library user ever gets a second `_start` or `memcpy`. It must never allocate, read the
//! auxiliary vector, or touch anything but the stack the kernel hands to `_start`.
//!
//! With the `failpoints` feature (tests only), `_start` arms the fail point named by the
//! environment variable `UCW_FAILPOINT` before the tool's `main` runs.
//!
//! Together with `src/sys`, this is the only home of `unsafe` code: the raw stack layout the
//! kernel hands to `_start`, and the one `.bss` storage for resolved credentials.

// Each tool uses a different subset of these helpers.
#![allow(dead_code)]

use core::ffi::{c_char, CStr};
use ucw_daemon::control::StringList;
use ucw_daemon::tool::options::Argument;

/// The command line and environment the kernel placed on the initial stack. Not `Copy`:
/// [`Startup::arguments`] hands out the (writable) argument vector once at a time.
pub struct Startup {
    argc: usize,
    argv: *mut *const c_char,
    envp: *const *const c_char,
}

/// One entry of the kernel's argument vector: a pointer to a NUL-terminated string that
/// lives as long as the process. Same layout as the pointer, so the vector itself can be
/// parsed (and its operands gathered) in place and then handed to `execve` as it is.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct CommandLineArgument(*const c_char);

impl Argument<'static> for CommandLineArgument {
    fn text(self) -> &'static CStr {
        // SAFETY: the pointer comes from the kernel's argument vector (see
        // `Startup::arguments`): a NUL-terminated string alive for the whole process.
        unsafe { CStr::from_ptr(self.0) }
    }
}

impl Startup {
    /// The program name for messages: the last component of `argv[0]`, or `fallback`.
    pub fn program_name(&self, fallback: &'static [u8]) -> &'static [u8] {
        let first = (self.argc > 0).then(|| {
            // SAFETY: the kernel guarantees `argc` valid pointers to NUL-terminated strings
            // at `argv`, alive for the whole life of the process.
            unsafe { CStr::from_ptr(*self.argv) }
        });
        ucw_daemon::tool::program_name(first, fallback)
    }

    /// The arguments after the program name, writable in place: the parser gathers the
    /// operands at their front, ready for [`Startup::operands`].
    pub fn arguments(&mut self) -> &mut [CommandLineArgument] {
        if self.argc == 0 {
            return &mut [];
        }
        // SAFETY: `argv[1..argc]` are `argc - 1` valid pointers on the initial stack, which
        // is writable and lives as long as the process; `CommandLineArgument` is a
        // transparent wrapper of the pointer; the `&mut self` borrow keeps this the only
        // view of the vector while it lives.
        unsafe {
            core::slice::from_raw_parts_mut(
                self.argv.add(1) as *mut CommandLineArgument,
                self.argc - 1,
            )
        }
    }

    /// The first `count` arguments after the program name (where the parser gathered the
    /// operands), as a null-terminated list for `execve`: the slot after them is set to null.
    pub fn operands(&mut self, count: usize) -> StringList<'static> {
        let count = count.min(self.argc.saturating_sub(1));
        // SAFETY: `1 + count <= argc`, so the slot is inside the vector (at worst its
        // terminating null); the vector is writable and nobody else looks at it now.
        unsafe { *self.argv.add(1 + count) = core::ptr::null() };
        // SAFETY: `argv[1..=count]` are the kernel's strings, alive and unchanged for the
        // whole process, followed by the null just written.
        unsafe { StringList::from_raw(self.argv.add(1) as *const *const c_char) }
    }

    /// The environment as a list for the library.
    pub fn environment(&self) -> StringList<'static> {
        // SAFETY: the kernel's environment vector is null-terminated and lives as long as
        // the process; nothing modifies it.
        unsafe { StringList::from_raw(self.envp) }
    }
}

/// Called by `_start` with the initial stack pointer; runs the tool's `main` and exits.
///
/// # Safety
/// `stack` must be the stack pointer the kernel passed to the process entry point.
unsafe extern "C" fn start_rust(stack: *const usize) -> ! {
    // SAFETY: the System V / Linux process-entry layout: argc, argv[argc], NULL, envp..., NULL.
    let startup = unsafe {
        let argc = *stack;
        let argv = stack.add(1) as *mut *const c_char;
        Startup {
            argc,
            argv,
            envp: argv.add(argc + 1),
        }
    };
    #[cfg(feature = "failpoints")]
    if let Some(name) = startup.environment().variable(b"UCW_FAILPOINT") {
        ucw_daemon::failpoint::arm(name.to_bytes());
    }
    let code = crate::main(startup);
    ucw_daemon::tool::exit(code)
}

#[cfg(target_arch = "x86_64")]
core::arch::global_asm!(
    ".globl _start",
    ".type _start,@function",
    "_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {entry}",
    "ud2",
    entry = sym start_rust,
);

#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".globl _start",
    ".type _start,%function",
    "_start:",
    "mov x29, xzr",
    "mov x30, xzr",
    "mov x0, sp",
    "and sp, x0, #-16",
    "bl {entry}",
    "brk #0x1",
    entry = sym start_rust,
);

// With the library's `std` feature (enabled by `--all-features`), std brings its own panic
// handler. The tools cannot be linked that way anyway (std needs libc, we link with
// `-nostdlib`), but `cargo clippy --all-features` still type-checks them.
#[cfg(not(feature = "std"))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    ucw_daemon::tool::write_all(2, b"internal error (panic)\n");
    ucw_daemon::tool::exit(102)
}

// Symbols an unwinding core may still reference in unoptimised builds; never called
// because every panic aborts above.
#[cfg(not(test))]
#[no_mangle]
extern "C" fn rust_eh_personality() {}

#[allow(non_snake_case)]
#[no_mangle]
extern "C" fn _Unwind_Resume() -> ! {
    ucw_daemon::tool::exit(102)
}

mod memory;

/// Storage for the credentials `ucw-daemonize` resolves, with room for every supplementary
/// group the kernel allows (256 KiB), so in `.bss`, not on the stack; handed out once.
pub fn credentials() -> Option<&'static mut ucw_daemon::credentials::Credentials<'static>> {
    use core::sync::atomic::{AtomicBool, Ordering};
    use ucw_daemon::account::NGROUPS_MAX;
    use ucw_daemon::credentials::Credentials;
    static mut GROUPS: [rustix::process::Gid; NGROUPS_MAX] =
        [rustix::process::Gid::ROOT; NGROUPS_MAX];
    // Made when handed out: until then nothing, so `.bss`, not file size.
    static mut CREDENTIALS: core::mem::MaybeUninit<Credentials<'static>> =
        core::mem::MaybeUninit::uninit();
    static TAKEN: AtomicBool = AtomicBool::new(false);
    // A load and a store, not a swap: the tools are single-threaded, and an atomic
    // read-modify-write compiles on aarch64 to a helper that asks libc's getauxval for the CPU's
    // features (outline atomics), which a libc-free program does not have.
    if TAKEN.load(Ordering::Acquire) {
        return None;
    }
    TAKEN.store(true, Ordering::Release);
    // SAFETY: `TAKEN` lets these references be made once in this single-threaded process, so
    // they are the only ones.
    let (groups, credentials) = unsafe {
        (
            &mut *core::ptr::addr_of_mut!(GROUPS),
            &mut *core::ptr::addr_of_mut!(CREDENTIALS),
        )
    };
    Some(credentials.write(Credentials::new(groups)))
}
