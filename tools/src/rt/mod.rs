//! The runtime of the multi-call binary: typed access to the command line and environment the
//! kernel placed on the initial stack ([`Startup`]), the end of the process ([`exit`]), the
//! standard streams by number ([`write_all`]), numbers in decimal ([`decimal`]), the `.bss` storage for resolved credentials
//! and for `--log`'s line buffer, and the few raw system calls only the tools make ([`sys`]). The entry point itself (`_start`, the panic handler and the memory functions
//! the compiler calls) is in `entry.rs`, which only the binaries include: the library part of
//! this crate links into the tests as ordinary code.
//!
//! It must never allocate, read the auxiliary vector, or touch anything but the stack the
//! kernel hands to `_start`. Together with the library's `src/sys`, this is the only home of
//! `unsafe` code: the raw stack layout, the standard streams by number and the credentials'
//! storage.

// Each program that includes this file uses its own subset of it (see entry.rs).
#![allow(dead_code)]

#[path = "sys.rs"]
pub mod sys;

use core::ffi::{c_char, CStr};
use rustix::fd::{AsRawFd, BorrowedFd, OwnedFd};
use rustix::io::Errno;
use rustix::process::Pid;
use ucw_daemon::control::StringList;
use ucw_daemon::daemon::Fork;

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

impl CommandLineArgument {
    /// The argument's text.
    pub fn text(self) -> &'static CStr {
        // SAFETY: the pointer comes from the kernel's argument vector (see
        // `Startup::arguments`): a NUL-terminated string alive for the whole process.
        unsafe { CStr::from_ptr(self.0) }
    }
}

impl Startup {
    /// The startup state at `stack`, the stack pointer the kernel handed to `_start`.
    ///
    /// # Safety
    /// `stack` must be that pointer, and this must be the only `Startup` made from it.
    pub unsafe fn from_stack(stack: *const usize) -> Self {
        // SAFETY: the System V / Linux process-entry layout: argc, argv[argc], NULL,
        // envp..., NULL; the caller passes the entry stack pointer.
        unsafe {
            let argc = *stack;
            let argv = stack.add(1) as *mut *const c_char;
            Self::from_vectors(argc, argv, argv.add(argc + 1))
        }
    }

    /// The startup state of a program whose C library's startup code called its C `main`
    /// with `argc`, `argv` and `envp`.
    ///
    /// # Safety
    /// The three must be what the C library passed to `main` (the kernel's vectors: `argc`
    /// strings and a null, the environment null-terminated, all writable and alive for the
    /// whole process), and this must be the only `Startup` made from them.
    pub unsafe fn from_vectors(
        argc: usize,
        argv: *mut *const c_char,
        envp: *const *const c_char,
    ) -> Self {
        Startup { argc, argv, envp }
    }

    /// The first argument (`argv[0]`, the name the program was started as), if any.
    pub fn first(&self) -> Option<&'static CStr> {
        (self.argc > 0).then(|| {
            // SAFETY: the kernel guarantees `argc` valid pointers to NUL-terminated strings
            // at `argv`, alive for the whole life of the process.
            unsafe { CStr::from_ptr(*self.argv) }
        })
    }

    /// Drops the first argument: what was `argv[1]` becomes the program name (the
    /// multi-call form `ucw-daemon control ...`). Nothing happens without arguments.
    pub fn shift(&mut self) {
        if self.argc > 0 {
            // SAFETY: `argv[1..=argc]` is inside the vector (its last slot is the null).
            self.argv = unsafe { self.argv.add(1) };
            self.argc -= 1;
        }
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

/// `value` in decimal, written at the end of `digits`.
pub fn decimal(mut value: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    &digits[start..]
}

/// How this libc-free, single-threaded program creates processes and ends.
// SAFETY: the multi-call binary has no C library and never starts a thread.
pub const HOST: Fork = unsafe { Fork::raw_clone() };

/// Ends the process at once with `code` (`exit_group`), as `_start` does after `main`.
pub fn exit(code: i32) -> ! {
    sys::exit_group(code)
}

/// Creates a process (`clone(SIGCHLD)`): `Ok(None)` in the child, which makes only system
/// calls until it execs or exits, the child's PID in the parent.
pub fn fork() -> Result<Option<Pid>, Errno> {
    // SAFETY: the multi-call binary has no C library and never starts a thread.
    unsafe { sys::fork() }
}

/// Writes all of `bytes` to standard stream `fd` (1 or 2), retrying on EINTR and short
/// writes; gives up silently on other errors (a closed stream: nowhere to report).
pub fn write_all(fd: u32, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match sys::write(fd, bytes) {
            Ok(0) => return,
            Ok(written) => bytes = &bytes[written..],
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return,
        }
    }
}

/// Writes the concatenation of `parts` (at most eight) to standard stream `fd` (1 or 2) in
/// one `writev`, retrying what a short write or EINTR leaves with [`write_all`]; gives up
/// silently on other errors.
pub fn write_parts(fd: u32, parts: &[&[u8]]) {
    let mut written = match sys::write_vectored(fd, parts) {
        Ok(written) => written,
        Err(rustix::io::Errno::INTR) => 0,
        Err(_) => return,
    };
    for part in parts {
        let skip = written.min(part.len());
        written -= skip;
        write_all(fd, &part[skip..]);
    }
}

/// `bytes` as a C string, when their only NUL is the last byte. (A loop: core's
/// `CStr::from_bytes_with_nul` costs the tools ~280 bytes with its `memchr`.)
pub fn c_string(bytes: &[u8]) -> Option<&CStr> {
    let (&last, body) = bytes.split_last()?;
    #[allow(clippy::manual_contains)]
    if last != 0 || body.iter().any(|&byte| byte == 0) {
        return None;
    }
    // SAFETY: checked just above: the one NUL is the last byte.
    Some(unsafe { CStr::from_bytes_with_nul_unchecked(bytes) })
}

/// `fd` itself when it is above 2, else a duplicate that is (and `fd` is closed): a file of
/// ours on 0, 1 or 2 would receive what a program writes to its standard streams.
pub fn above_standard_streams(fd: OwnedFd) -> Result<OwnedFd, rustix::io::Errno> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    rustix::io::fcntl_dupfd_cloexec(&fd, 3)
}

/// Puts a copy of `fd` at descriptor number `target`, without close-on-exec, for the program
/// the daemonizer's child execs next (`--notify-fd N`): whatever was at `target` is closed.
///
/// Only for the program's child between `fork` and `execve`, which never uses or closes a
/// descriptor of its own at `target` afterwards (the PID file's lock, the one it keeps, is
/// moved away first): it execs or exits next.
pub(crate) fn place_for_program(fd: BorrowedFd<'_>, target: u32) -> Result<(), rustix::io::Errno> {
    // SAFETY: the caller is that child (see above): no live `OwnedFd`/`BorrowedFd` of the
    // process refers to `target` after this call.
    unsafe { sys::dup_to(fd, target) }
}

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

/// Bytes of the storage for the variables read from `--env-file` files.
pub const ENVIRONMENT_ARENA_BYTES: usize = 64 * 1024;

/// Storage for the variables `ucw-daemonize` reads from `--env-file` files (64 KiB, in `.bss`:
/// no bytes of the file, no page touched until used); handed out once.
pub fn environment_arena() -> Option<&'static mut [u8]> {
    use core::sync::atomic::{AtomicBool, Ordering};
    static mut ARENA: [u8; ENVIRONMENT_ARENA_BYTES] = [0; ENVIRONMENT_ARENA_BYTES];
    static TAKEN: AtomicBool = AtomicBool::new(false);
    // A load and a store, not a swap (see `credentials`).
    if TAKEN.load(Ordering::Acquire) {
        return None;
    }
    TAKEN.store(true, Ordering::Release);
    // SAFETY: `TAKEN` lets this reference be made once in this single-threaded process, so
    // it is the only one.
    Some(unsafe { &mut *core::ptr::addr_of_mut!(ARENA) })
}

/// Takes descriptor `number`, inherited from whoever started this process, as ours when it is
/// open and a pipe (or FIFO), and makes it close-on-exec; `None` otherwise (a number that
/// names nothing, or a file of another kind, is left alone).
pub fn adopt_pipe(number: u32) -> Option<OwnedFd> {
    if number <= 2 || number > i32::MAX as u32 {
        return None;
    }
    // SAFETY: only borrowed for the two checks below, while nothing else in this
    // single-threaded process can close it.
    let borrowed = unsafe { BorrowedFd::borrow_raw(number as i32) };
    let stat = rustix::fs::fstat(borrowed).ok()?;
    if rustix::fs::FileType::from_raw_mode(stat.st_mode) != rustix::fs::FileType::Fifo {
        return None;
    }
    rustix::io::fcntl_setfd(borrowed, rustix::io::FdFlags::CLOEXEC).ok()?;
    // SAFETY: the descriptor is open (fstat answered) and no other owner of it exists in
    // this process: nothing opened it, it came with the process.
    Some(unsafe { <OwnedFd as rustix::fd::FromRawFd>::from_raw_fd(number as i32) })
}

/// When standard input is a terminal, makes this process's group the terminal's foreground
/// group: for the program's child under `--init`, which leads its own group and has SIGTTOU
/// blocked (so a background group may do this). Not a terminal (ENOTTY), or not ours: nothing.
pub fn take_terminal() {
    let _ = sys::set_foreground_group(0, rustix::process::getpid());
}

/// Time on the monotonic clock (zero when it cannot be read, which the real system call never
/// refuses).
pub fn monotonic_time() -> core::time::Duration {
    sys::monotonic_time().unwrap_or(core::time::Duration::ZERO)
}

/// Bytes of [`log_buffer`].
pub const LOG_BUFFER: usize = 16 * 1024;

/// Storage for `ucw-daemonize --log`'s line buffer, in `.bss` rather than on the supervisor's
/// stack (a stack frame that large would push every deeper call's pages down, resident with
/// or without `--log`); untouched, hence not resident, until the log is used. Handed out once.
pub fn log_buffer() -> Option<&'static mut [u8; LOG_BUFFER]> {
    use core::sync::atomic::{AtomicBool, Ordering};
    static mut BUFFER: [u8; LOG_BUFFER] = [0; LOG_BUFFER];
    static TAKEN: AtomicBool = AtomicBool::new(false);
    // A load and a store, not a swap: see `credentials`.
    if TAKEN.load(Ordering::Acquire) {
        return None;
    }
    TAKEN.store(true, Ordering::Release);
    // SAFETY: `TAKEN` lets this reference be made once in this single-threaded process, so it
    // is the only one.
    Some(unsafe { &mut *core::ptr::addr_of_mut!(BUFFER) })
}
