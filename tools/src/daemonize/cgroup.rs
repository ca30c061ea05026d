//! `ucw-daemonize --cgroup DIR` (docs/design.md §5): the program's tree in a cgroup2 directory
//! of its own, which reaches what the supervisor's signals cannot (a descendant that changed
//! its uid, one that escaped while `/proc` was missing) and what a SIGKILLed supervisor leaves
//! (the controller's escalation writes `cgroup.kill` of the directory the status file names).
//!
//! This file owns the directory: the launcher creates it before the credential switch (its
//! parent must be a cgroup2 directory, writable by the daemon's user under `--user`: a
//! delegated subtree) and opens everything the supervisor needs later (a chroot may follow);
//! the program's child moves itself in through `cgroup.procs` before it execs (the supervisor
//! stays outside); the ending writes `cgroup.kill` (before Linux 5.14: freeze, SIGKILL every
//! PID of `cgroup.procs`, thaw, again), waits for `populated 0` in `cgroup.events`, and removes
//! the directory. It must never kill through a directory that is not on cgroup2, and never
//! signal a PID of `cgroup.procs` unless the cgroup is frozen (a frozen member cannot exit, so
//! its number cannot be recycled meanwhile).

use super::messages::Failure;
use core::ffi::CStr;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;
use ucw_daemon::{Error, Subject};

/// `statfs` magic of cgroup2.
const CGROUP2_MAGIC: u32 = 0x6367_7270;

/// The longest path the kernel takes, NUL included (`PATH_MAX`).
const PATH_CAPACITY: usize = 4096;

/// The longest name of the directory itself (the last component of DIR).
const NAME_CAPACITY: usize = 256;

/// The cgroup directory of the program's tree, with what the supervisor needs of it.
pub(super) struct Cgroup<'a> {
    /// DIR as given (an absolute path), for the status file.
    path: &'a CStr,
    /// DIR's parent and DIR's name in it, for the removal.
    parent: OwnedFd,
    name: [u8; NAME_CAPACITY],
    /// `cgroup.procs` for writing (the child's move) and for reading (the fallback kill).
    procs: OwnedFd,
    members: OwnedFd,
    /// `cgroup.kill` (Linux 5.14) or, before it, `cgroup.freeze`.
    kill: Option<OwnedFd>,
    freeze: Option<OwnedFd>,
    /// `cgroup.events`.
    events: OwnedFd,
}

impl<'a> Cgroup<'a> {
    /// Creates (or takes, when it exists and is empty) the cgroup directory `path`; `owner`
    /// is the daemon's uid and gid under `--user`, who must be able to write DIR's parent and
    /// is given DIR. Never inlined: its path buffer would enlarge the launcher's frame, whose
    /// touched pages the supervisor inherits.
    #[inline(never)]
    pub(super) fn create(path: &'a CStr, owner: Option<(u32, u32)>) -> Result<Self, Error> {
        let refuse = |failure: Failure| failure.about(Subject::Cgroup);
        let system = |failure: Failure, errno| failure.system(Subject::Cgroup, errno);
        let bytes = path.to_bytes();
        let slash = bytes
            .iter()
            .rposition(|&byte| byte == b'/')
            .filter(|_| bytes.first() == Some(&b'/'))
            .ok_or(refuse(Failure::CgroupNotAbsolute))?;
        let name = &bytes[slash + 1..];
        if name.is_empty() || name == b"." || name == b".." || name.len() >= NAME_CAPACITY {
            return Err(refuse(Failure::CgroupNotAbsolute));
        }
        let mut name_buffer = [0u8; NAME_CAPACITY];
        name_buffer[..name.len()].copy_from_slice(name);
        let name_c = CStr::from_bytes_until_nul(&name_buffer).unwrap_or(c"");
        let mut parent_buffer = [0u8; PATH_CAPACITY];
        let parent_path = &bytes[..slash.max(1)];
        if parent_path.len() >= parent_buffer.len() {
            return Err(system(Failure::CgroupCreate, Errno::NAMETOOLONG));
        }
        parent_buffer[..parent_path.len()].copy_from_slice(parent_path);
        let parent_c = CStr::from_bytes_until_nul(&parent_buffer).unwrap_or(c"/");
        let directory_flags =
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
        let parent = rustix::fs::open(parent_c, directory_flags, Mode::empty())
            .map_err(|errno| system(Failure::CgroupCreate, errno))?;
        if !on_cgroup2(parent.as_fd()) {
            return Err(refuse(Failure::CgroupNotCgroup2));
        }
        if let Some((uid, gid)) = owner {
            let stat =
                rustix::fs::fstat(&parent).map_err(|errno| system(Failure::CgroupCreate, errno))?;
            let mode = stat.st_mode;
            let writable = (stat.st_uid == uid && mode & 0o200 != 0)
                || (stat.st_gid == gid && mode & 0o020 != 0)
                || mode & 0o002 != 0;
            if !writable {
                return Err(refuse(Failure::CgroupNotDelegated).with(1, uid));
            }
        }
        match rustix::fs::mkdirat(&parent, name_c, Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(errno) => return Err(system(Failure::CgroupCreate, errno)),
        }
        let directory = rustix::fs::openat(&parent, name_c, directory_flags, Mode::empty())
            .map_err(|errno| system(Failure::CgroupCreate, errno))?;
        if !on_cgroup2(directory.as_fd()) {
            return Err(refuse(Failure::CgroupNotCgroup2));
        }
        let open = |file: &CStr, flags: OFlags| {
            rustix::fs::openat(&directory, file, flags | OFlags::CLOEXEC, Mode::empty())
        };
        let opened = |file: &CStr, flags| {
            open(file, flags).map_err(|errno| system(Failure::CgroupCreate, errno))
        };
        let cgroup = Self {
            path,
            procs: opened(c"cgroup.procs", OFlags::WRONLY)?,
            members: opened(c"cgroup.procs", OFlags::RDONLY)?,
            kill: open(c"cgroup.kill", OFlags::WRONLY).ok(),
            freeze: open(c"cgroup.freeze", OFlags::WRONLY).ok(),
            events: opened(c"cgroup.events", OFlags::RDONLY)?,
            parent,
            name: name_buffer,
        };
        if cgroup.populated() {
            return Err(refuse(Failure::CgroupPopulated));
        }
        if let Some((uid, gid)) = owner {
            // The program may make cgroups of its own below DIR (nested delegation).
            let _ = rustix::fs::fchown(
                &directory,
                Some(rustix::process::Uid::from_raw(uid)),
                Some(rustix::process::Gid::from_raw(gid)),
            );
        }
        Ok(cgroup)
    }

    /// DIR as given.
    pub(super) fn path(&self) -> &[u8] {
        self.path.to_bytes()
    }

    /// In the program's child, before its exec: moves this process into the cgroup.
    pub(super) fn join(&self) -> Result<(), Errno> {
        rustix::io::write(&self.procs, b"0").map(|_| ())
    }

    /// Whether a process is still in the cgroup (`populated 1` in `cgroup.events`); a file
    /// that cannot be read counts as empty (the directory is gone).
    pub(super) fn populated(&self) -> bool {
        let mut text = [0u8; 128];
        let Ok(length) = rustix::io::pread(&self.events, &mut text, 0) else {
            return false;
        };
        text[..length]
            .split(|&byte| byte == b'\n')
            .any(|line| line == b"populated 1")
    }

    /// SIGKILL for every process of the cgroup: `cgroup.kill`, or freeze, kill each member,
    /// thaw.
    pub(super) fn kill(&self) {
        if let Some(kill) = &self.kill {
            if rustix::io::write(kill, b"1").is_ok() {
                return;
            }
        }
        let Some(freeze) = &self.freeze else {
            return;
        };
        if rustix::io::write(freeze, b"1").is_err() {
            return;
        }
        // Frozen, no member can exit: the numbers read are theirs while we signal them.
        wait_frozen(self.events.as_fd());
        let mut buffer = [0u8; 64];
        let mut number: u32 = 0;
        let mut offset = 0u64;
        while let Ok(read @ 1..) = rustix::io::pread(&self.members, &mut buffer, offset) {
            offset += read as u64;
            for &byte in &buffer[..read] {
                if byte.is_ascii_digit() {
                    number = number
                        .saturating_mul(10)
                        .saturating_add(u32::from(byte - b'0'));
                } else {
                    kill_member(number);
                    number = 0;
                }
            }
        }
        kill_member(number);
        let _ = rustix::io::write(freeze, b"0");
    }

    /// Removes the directory (once it is empty).
    pub(super) fn remove(&self) {
        let name = CStr::from_bytes_until_nul(&self.name).unwrap_or(c"");
        let _ = rustix::fs::unlinkat(&self.parent, name, AtFlags::REMOVEDIR);
    }
}

/// Whether `fd` lies on cgroup2.
fn on_cgroup2(fd: BorrowedFd<'_>) -> bool {
    matches!(rustix::fs::fstatfs(fd), Ok(info) if info.f_type as u32 == CGROUP2_MAGIC)
}

/// Waits (1 s at most) until `cgroup.events` says `frozen 1`.
fn wait_frozen(events: BorrowedFd<'_>) {
    for _ in 0..500 {
        let mut text = [0u8; 128];
        if let Ok(length) = rustix::io::pread(events, &mut text, 0) {
            if text[..length]
                .split(|&byte| byte == b'\n')
                .any(|line| line == b"frozen 1")
            {
                return;
            }
        }
        let _ = rustix::thread::nanosleep(&rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: 2_000_000,
        });
    }
}

/// SIGKILL for member `number` of a frozen cgroup.
fn kill_member(number: u32) {
    if let Some(pid) = rustix::process::Pid::from_raw(number as i32) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
}
