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

// Each tool uses a different subset of these helpers.
#![allow(dead_code)]

use core::ffi::{c_char, CStr};
use ucw_daemon::cli::Argument;
use ucw_daemon::control::StringList;

/// The command line and environment the kernel placed on the initial stack. Not `Copy`:
/// [`Startup::arguments`] hands out the (writable) argument vector once at a time.
pub struct Startup {
    argc: usize,
    argv: *const *const c_char,
    envp: *const *const c_char,
}

/// One entry of the kernel's argument vector: a pointer to a NUL-terminated string that
/// lives as long as the process. Same layout as the pointer, so the vector itself can be
/// parsed (and permuted) in place and then handed to `execve` as it is.
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
    /// Number of arguments, the program name included.
    pub fn len(&self) -> usize {
        self.argc
    }

    /// Argument `index` (0 is the program name), if there is one.
    pub fn arg(&self, index: usize) -> Option<&'static CStr> {
        if index >= self.argc {
            return None;
        }
        // SAFETY: the kernel guarantees `argc` valid pointers to NUL-terminated strings at
        // `argv`, alive for the whole life of the process.
        unsafe { Some(CStr::from_ptr(*self.argv.add(index))) }
    }

    /// The program name for messages: the last component of `argv[0]`, or `fallback` when
    /// the program was started without one.
    pub fn program_name(&self, fallback: &'static [u8]) -> &'static [u8] {
        let full = match self.arg(0) {
            Some(name) if !name.is_empty() => name.to_bytes(),
            _ => return fallback,
        };
        match full.iter().rposition(|&byte| byte == b'/') {
            Some(slash) if slash + 1 < full.len() => &full[slash + 1..],
            _ => full,
        }
    }

    /// The arguments after the program name, writable in place: the parser permutes them
    /// as GNU `getopt_long` does, so that operands end up contiguous at the end, ready for
    /// [`Startup::argv_from`].
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

    /// The null-terminated argument vector, as `execve` wants it, from `index` on.
    pub fn argv_from(&self, index: usize) -> *const *const c_char {
        // SAFETY: `index <= argc` keeps the pointer inside the vector (at worst on its null).
        unsafe { self.argv.add(index.min(self.argc)) }
    }

    /// The null-terminated environment vector, as `execve` wants it.
    pub fn envp(&self) -> *const *const c_char {
        self.envp
    }

    /// The arguments from `index` on, as a list for the library.
    pub fn argument_list(&self, index: usize) -> StringList<'static> {
        // SAFETY: `argv_from` points into the kernel's null-terminated vector, whose strings
        // live (unchanged: nobody writes them) as long as the process.
        unsafe { StringList::from_raw(self.argv_from(index)) }
    }

    /// The environment as a list for the library.
    pub fn environment(&self) -> StringList<'static> {
        // SAFETY: the kernel's environment vector is null-terminated and lives as long as
        // the process; nothing modifies it.
        unsafe { StringList::from_raw(self.envp) }
    }

    /// The value of environment variable `name`, if set.
    pub fn env(&self, name: &[u8]) -> Option<&'static CStr> {
        let mut cursor = self.envp;
        loop {
            // SAFETY: the environment vector is null-terminated and lives as long as we do.
            let entry = unsafe { *cursor };
            if entry.is_null() {
                return None;
            }
            // SAFETY: each entry is a NUL-terminated string placed by the kernel.
            let text = unsafe { CStr::from_ptr(entry) }.to_bytes_with_nul();
            if text.len() > name.len() && text.starts_with(name) && text[name.len()] == b'=' {
                // SAFETY: the suffix after `=` is still NUL-terminated.
                return Some(unsafe {
                    CStr::from_bytes_with_nul_unchecked(&text[name.len() + 1..])
                });
            }
            // SAFETY: not yet at the terminating null, so the next slot exists.
            cursor = unsafe { cursor.add(1) };
        }
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
        let argv = stack.add(1) as *const *const c_char;
        Startup {
            argc,
            argv,
            envp: argv.add(argc + 1),
        }
    };
    #[cfg(feature = "failpoints")]
    if let Some(name) = startup.env(b"UCW_FAILPOINT") {
        ucw_daemon::failpoint::arm(name.to_bytes());
    }
    let code = crate::main(startup);
    ucw_daemon::sys::exit_group(code)
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

/// Writes all of `bytes` to descriptor `fd`, retrying on EINTR and short writes; gives up
/// silently on other errors (there is nowhere left to report them).
pub fn write_all(fd: i32, mut bytes: &[u8]) {
    // SAFETY: 0, 1 and 2 are the standard descriptors; borrowing them does not close them.
    let fd = unsafe { rustix::fd::BorrowedFd::borrow_raw(fd) };
    while !bytes.is_empty() {
        match rustix::io::write(fd, bytes) {
            Ok(0) => return,
            Ok(written) => bytes = &bytes[written..],
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return,
        }
    }
}

// With the library's `std` feature (enabled by `--all-features`), std brings its own panic
// handler. The tools cannot be linked that way anyway (std needs libc, we link with
// `-nostdlib`), but `cargo clippy --all-features` still type-checks them.
#[cfg(not(feature = "std"))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    write_all(2, b"internal error (panic)\n");
    ucw_daemon::sys::exit_group(102)
}

// Symbols an unwinding core may still reference in unoptimised builds; never called
// because every panic aborts above.
#[cfg(not(test))]
#[no_mangle]
extern "C" fn rust_eh_personality() {}

#[allow(non_snake_case)]
#[no_mangle]
extern "C" fn _Unwind_Resume() -> ! {
    ucw_daemon::sys::exit_group(102)
}

mod memory;
