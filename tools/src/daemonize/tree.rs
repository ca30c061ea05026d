//! The program's tree (docs/design.md §5): the supervisor is a child subreaper, so every
//! process its program leaves behind (a worker, a `setsid` helper, a double-forked daemon, any
//! process group) is re-parented to it, and the service is exactly the supervisor's
//! descendants. [`Tree::end`] ends them by passes: list the supervisor's children, signal each
//! and its own descendants, reap; SIGTERM (with SIGCONT) first, SIGKILL once the grace
//! (`--kill-tree-after`) is over. It is done when `waitid(P_ALL)` answers ECHILD, which for a
//! subreaper proves that no descendant is left.
//!
//! This file owns the subreaper, the walk of the descendants and the passes. It must never
//! signal a number it has not proven to be a descendant (docs/design.md §3's identity rule):
//! a direct child not yet reaped keeps its number, so it is signalled by number; a deeper one
//! only through a pidfd opened first and then verified (its parent in `/proc` is still the
//! process walked from, and that process is still alive), else it is left to be re-parented to
//! the supervisor and met as a direct child in a later pass. It reads `/proc` only through the
//! directory descriptor opened before the daemon's setup (a chroot may follow), and it never
//! allocates. Descendants that changed to another uid refuse the supervisor's signals (EPERM):
//! the supervisor then waits for them, and `--cgroup` is what reaches them.

use super::cgroup::Cgroup;
use crate::rt;
use core::ffi::CStr;
use core::mem::MaybeUninit;
use core::time::Duration;
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{Mode, OFlags, RawDir};
use rustix::io::Errno;
use rustix::process::{Pid, PidfdFlags, Signal, WaitId, WaitIdOptions};
use ucw_daemon::signal::Signals;

/// `statfs` magic of procfs.
const PROC_MAGIC: u32 = 0x9fa0;

/// How deep below a direct child the walk follows verified pidfds in one pass (deeper
/// processes are met in later passes, as their ancestors die and they are re-parented).
const WALK_DEPTH: u32 = 16;

/// How long the supervisor waits between passes (it also passes at once when a child ends).
const PASS_INTERVAL: Duration = Duration::from_millis(50);

/// How many processes the walk remembers as already sent SIGTERM (a fuller list sends it
/// again, which is harmless).
const TOLD_CAPACITY: usize = 128;

/// Opens `/proc` for the supervisor's walks, before the daemon's setup; `None` when it is not
/// mounted (the supervisor then lists nothing: it reaps what ends and waits for the rest).
pub(super) fn open_proc() -> Option<OwnedFd> {
    let fd = rustix::fs::open(
        c"/proc",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
        Mode::empty(),
    )
    .ok()?;
    let fd = rt::above_standard_streams(fd).ok()?;
    (rustix::fs::fstatfs(&fd).ok()?.f_type as u32 == PROC_MAGIC).then_some(fd)
}

/// `prctl(PR_SET_CHILD_SUBREAPER)`: every orphan among this process's descendants becomes its
/// child instead of init's. Called before the first fork, with this process's PID (any
/// non-zero value turns the attribute on).
///
/// Every Linux since 3.4 has it; EINVAL comes only from an emulator that does not pass it on
/// (qemu-user 7). There the supervisor goes on without it: orphans go to init, the walks
/// still end every descendant whose parent chain leads to us, and `--cgroup` ends the rest
/// (docs/design.md §5).
pub(super) fn become_subreaper(supervisor: Pid) -> Result<(), Errno> {
    match rustix::process::set_child_subreaper(Some(supervisor)) {
        Err(Errno::INVAL) => Ok(()),
        done => done,
    }
}

/// Reaps every descendant that has ended, without blocking; `true` once none is left
/// (`waitid(P_ALL, WEXITED)` answers ECHILD).
pub(super) fn reap_all() -> bool {
    loop {
        match rustix::process::waitid(WaitId::All, WaitIdOptions::EXITED | WaitIdOptions::NOHANG) {
            Ok(Some(_)) => {}
            Ok(None) => return false,
            Err(Errno::INTR) => {}
            Err(_) => return true,
        }
    }
}

/// The supervisor's view of its descendants.
pub(super) struct Tree<'a> {
    /// `/proc`, opened before the daemon's setup.
    proc: Option<BorrowedFd<'a>>,
    /// `--cgroup`: the directory that holds the tree.
    cgroup: Option<&'a Cgroup<'a>>,
    /// The supervisor's PID, as a number and as a `Pid`.
    me: u32,
    supervisor: Pid,
    /// Processes already sent SIGTERM in this ending.
    told: [u32; TOLD_CAPACITY],
    told_count: usize,
}

impl<'a> Tree<'a> {
    /// The view of `supervisor` (this process).
    pub(super) fn new(
        proc: Option<BorrowedFd<'a>>,
        cgroup: Option<&'a Cgroup<'a>>,
        supervisor: Pid,
    ) -> Self {
        Self {
            proc,
            cgroup,
            me: supervisor.as_raw_nonzero().get() as u32,
            supervisor,
            told: [0; TOLD_CAPACITY],
            told_count: 0,
        }
    }

    /// The supervisor's PID.
    pub(super) fn supervisor(&self) -> Pid {
        self.supervisor
    }

    /// The supervisor's start time (field 22 of its `/proc/<pid>/stat`), which with its PID
    /// tells it from a later process with the same number.
    pub(super) fn start_time(&self) -> Option<u64> {
        stat_field(self.proc?, self.me, 22)
    }

    /// Ends every descendant (see the module docs): SIGTERM and SIGCONT first, SIGKILL after
    /// `grace` (at once when it is zero); returns when none is left. Signals that arrive
    /// meanwhile are read and dropped: the service is ending already. With `--cgroup` the
    /// SIGKILL is also `cgroup.kill`, the end also needs `populated 0`, and the directory is
    /// removed after it.
    pub(super) fn end(&mut self, signals: &Signals, grace: Duration) {
        let _ = self.end_keeping_cgroup(signals, grace);
        if let Some(cgroup) = self.cgroup {
            cgroup.remove();
        }
    }

    /// [`Tree::end`] without removing the cgroup (`--respawn`: the next incarnation joins
    /// it); returns whether a stop signal (SIGTERM, SIGINT, SIGQUIT) arrived meanwhile.
    pub(super) fn end_keeping_cgroup(&mut self, signals: &Signals, grace: Duration) -> bool {
        let mut stop = false;
        self.told_count = 0;
        let start = now();
        loop {
            if self.ended() {
                break;
            }
            let elapsed = now().saturating_sub(start);
            let killing = elapsed >= grace;
            if let (true, Some(cgroup)) = (killing, self.cgroup) {
                cgroup.kill();
            }
            self.pass(if killing { Signal::KILL } else { Signal::TERM }, true);
            if self.ended() {
                break;
            }
            let pause = if killing {
                PASS_INTERVAL
            } else {
                (grace - elapsed).min(PASS_INTERVAL)
            };
            stop |= wait_for_signal(signals, pause);
        }
        stop
    }

    /// Whether nothing of the tree is left: no descendant, and an empty cgroup.
    fn ended(&self) -> bool {
        reap_all() && !self.cgroup.is_some_and(Cgroup::populated)
    }

    /// `--cgroup`'s directory as given, for the status file.
    pub(super) fn cgroup_path(&self) -> Option<&[u8]> {
        self.cgroup.map(Cgroup::path)
    }

    /// Sends `signal` to every process of the tree (a signal for a self-backgrounding program
    /// whose main process is not known).
    pub(super) fn signal_all(&mut self, signal: Signal) {
        self.pass(signal, false);
    }

    /// A pidfd of process `pid` once it is proven a descendant of the supervisor: opened
    /// first, then its chain of parents in `/proc` leads to the supervisor, and it is still
    /// alive after that walk (so the number was still its own when the chain was read).
    pub(super) fn descendant(&self, pid: u32) -> Option<OwnedFd> {
        let proc = self.proc?;
        let pidfd =
            rustix::process::pidfd_open(Pid::from_raw(pid as i32)?, PidfdFlags::empty()).ok()?;
        let mut number = pid;
        for _ in 0..WALK_DEPTH * 4 {
            let parent = stat_field(proc, number, 4)? as u32;
            if parent == self.me {
                return alive(pidfd.as_fd()).then_some(pidfd);
            }
            if parent <= 1 {
                return None;
            }
            number = parent;
        }
        None
    }

    /// One pass: `signal` to every child of the supervisor and to their verified descendants
    /// (SIGTERM `once` per process in an ending, with SIGCONT).
    fn pass(&mut self, signal: Signal, once: bool) {
        let Some(proc) = self.proc else {
            return;
        };
        let me = self.me;
        let mut children = [0u32; 64];
        let mut count = 0;
        // More children than one pass holds: the rest get theirs in a later pass (the first
        // ones die meanwhile and are reaped).
        for_each_child_of_thread(proc, me, me, &mut |child| {
            if count < children.len() {
                children[count] = child;
                count += 1;
            }
        });
        for &child in &children[..count] {
            // A child of ours not yet reaped: its number cannot have been recycled.
            if let Some(pid) = Pid::from_raw(child as i32) {
                if !once || self.first_time(child, signal) {
                    let _ = rustix::process::kill_process(pid, signal);
                    if once && signal == Signal::TERM {
                        let _ = rustix::process::kill_process(pid, Signal::CONT);
                    }
                }
                self.signal_descendants(proc, child, None, signal, once, 0);
            }
        }
    }

    /// Sends `signal` to the children of `parent` (alive as `parent_fd` when it is not a
    /// direct child of ours) and, recursively, to theirs, each through a verified pidfd.
    fn signal_descendants(
        &mut self,
        proc: BorrowedFd<'_>,
        parent: u32,
        parent_fd: Option<BorrowedFd<'_>>,
        signal: Signal,
        once: bool,
        depth: u32,
    ) {
        if depth >= WALK_DEPTH {
            return;
        }
        let mut found = [0u32; 32];
        let mut count = 0;
        for_each_child(proc, parent, &mut |child| {
            if count < found.len() {
                found[count] = child;
                count += 1;
            }
        });
        for &child in &found[..count] {
            let Some(pid) = Pid::from_raw(child as i32) else {
                continue;
            };
            let Ok(pidfd) = rustix::process::pidfd_open(pid, PidfdFlags::empty()) else {
                continue;
            };
            // The proof: after the open, the number's parent is still `parent`, and `parent`
            // is still alive (so the number `parent` was still its own when we looked).
            if stat_field(proc, child, 4) != Some(u64::from(parent))
                || parent_fd.is_some_and(|parent| !alive(parent))
            {
                continue;
            }
            if !once || self.first_time(child, signal) {
                let _ = rustix::process::pidfd_send_signal(&pidfd, signal);
                if once && signal == Signal::TERM {
                    let _ = rustix::process::pidfd_send_signal(&pidfd, Signal::CONT);
                }
            }
            self.signal_descendants(proc, child, Some(pidfd.as_fd()), signal, once, depth + 1);
        }
    }

    /// Whether `pid` is to be sent `signal` now: SIGKILL always, SIGTERM once per ending.
    fn first_time(&mut self, pid: u32, signal: Signal) -> bool {
        if signal != Signal::TERM {
            return true;
        }
        if self.told[..self.told_count].contains(&pid) {
            return false;
        }
        if self.told_count < TOLD_CAPACITY {
            self.told[self.told_count] = pid;
            self.told_count += 1;
        }
        true
    }
}

/// Monotonic time.
fn now() -> Duration {
    rt::monotonic_time()
}

/// Waits at most `pause` for a signal (a child's SIGCHLD among them), then reads and drops
/// every signal pending on `signals`; returns whether one of them was a stop signal
/// (SIGTERM, SIGINT, SIGQUIT).
fn wait_for_signal(signals: &Signals, pause: Duration) -> bool {
    let mut stop = false;
    let timeout = Timespec {
        tv_sec: pause.as_secs() as i64,
        tv_nsec: i64::from(pause.subsec_nanos()),
    };
    let mut timeout = Some(timeout);
    loop {
        let mut fds = [PollFd::new(signals, PollFlags::IN)];
        match rustix::event::poll(&mut fds, timeout.as_ref()) {
            Ok(0) | Err(_) => return stop,
            Ok(_) => {
                if let Ok(Some((signal, _))) = signals.read() {
                    stop |= is_stop(signal);
                }
            }
        }
        timeout = Some(Timespec::default());
    }
}

/// Whether `signal` asks the service to stop: SIGTERM, SIGINT or SIGQUIT (after one of them
/// `--respawn` starts nothing again).
pub(super) fn is_stop(signal: ucw_daemon::signal::Signal) -> bool {
    use linux_raw_sys::general::{SIGINT, SIGQUIT, SIGTERM};
    matches!(signal.number(), SIGTERM | SIGINT | SIGQUIT)
}

/// Whether the process of `pidfd` has not ended (its pidfd is not readable).
pub(super) fn alive(pidfd: BorrowedFd<'_>) -> bool {
    let mut fds = [PollFd::from_borrowed_fd(pidfd, PollFlags::IN)];
    matches!(
        rustix::event::poll(&mut fds, Some(&Timespec::default())),
        Ok(0)
    )
}

/// A path below `/proc` (`<pid>/task`, `<pid>/task/<tid>/children`, `<pid>/stat`) in a fixed
/// buffer.
struct ProcPath {
    bytes: [u8; 48],
    length: usize,
}

impl ProcPath {
    fn new() -> Self {
        Self {
            bytes: [0; 48],
            length: 0,
        }
    }

    fn text(mut self, text: &[u8]) -> Self {
        let end = (self.length + text.len()).min(self.bytes.len() - 1);
        self.bytes[self.length..end].copy_from_slice(&text[..end - self.length]);
        self.length = end;
        self
    }

    fn number(self, number: u32) -> Self {
        let mut digits = [0u8; 20];
        self.text(crate::rt::decimal(u64::from(number), &mut digits))
    }

    fn as_c_str(&mut self) -> &CStr {
        self.bytes[self.length] = 0;
        CStr::from_bytes_until_nul(&self.bytes[..=self.length]).unwrap_or(c"")
    }
}

/// Opens `path` below `/proc` for reading.
fn open_below(proc: BorrowedFd<'_>, path: ProcPath, flags: OFlags) -> Option<OwnedFd> {
    let mut path = path;
    rustix::fs::openat(
        proc,
        path.as_c_str(),
        OFlags::RDONLY | OFlags::CLOEXEC | flags,
        Mode::empty(),
    )
    .ok()
}

/// Calls `each` with every child of the supervisor's thread (it has one): its `children` file,
/// or where the kernel has none (built without `CONFIG_PROC_CHILDREN`) every process whose
/// `PPid` is the supervisor.
fn for_each_child_of_thread(proc: BorrowedFd<'_>, pid: u32, task: u32, each: &mut dyn FnMut(u32)) {
    if !for_each_child_of_task(proc, pid, task, each) {
        for_each_process_with_parent(proc, pid, each);
    }
}

/// Calls `each` with every process whose parent is `parent` (field 4 of its `stat`).
fn for_each_process_with_parent(proc: BorrowedFd<'_>, parent: u32, each: &mut dyn FnMut(u32)) {
    let Some(listing) = open_below(proc, ProcPath::new().text(b"."), OFlags::DIRECTORY) else {
        return;
    };
    let mut buffer = [MaybeUninit::<u8>::uninit(); 512];
    let mut entries = RawDir::new(listing.as_fd(), &mut buffer);
    while let Some(Ok(entry)) = entries.next() {
        if let Some(number) = parse_number(entry.file_name().to_bytes()) {
            let number = number as u32;
            if stat_field(proc, number, 4) == Some(u64::from(parent)) {
                each(number);
            }
        }
    }
}

/// Calls `each` with every child of every thread of process `pid`.
fn for_each_child(proc: BorrowedFd<'_>, pid: u32, each: &mut dyn FnMut(u32)) {
    let path = ProcPath::new().number(pid).text(b"/task");
    let Some(tasks) = open_below(proc, path, OFlags::DIRECTORY) else {
        return;
    };
    let mut buffer = [MaybeUninit::<u8>::uninit(); 256];
    let mut entries = RawDir::new(tasks.as_fd(), &mut buffer);
    while let Some(Ok(entry)) = entries.next() {
        if let Some(task) = parse_number(entry.file_name().to_bytes()) {
            for_each_child_of_thread(proc, pid, task as u32, each);
        }
    }
}

/// Calls `each` with every number in `/proc/<pid>/task/<task>/children`; `false` when that
/// file cannot be opened.
fn for_each_child_of_task(
    proc: BorrowedFd<'_>,
    pid: u32,
    task: u32,
    each: &mut dyn FnMut(u32),
) -> bool {
    let path = ProcPath::new()
        .number(pid)
        .text(b"/task/")
        .number(task)
        .text(b"/children");
    let Some(file) = open_below(proc, path, OFlags::empty()) else {
        return false;
    };
    let mut buffer = [0u8; 64];
    let mut number: Option<u32> = None;
    loop {
        let read = match rustix::io::read(&file, &mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        for &byte in &buffer[..read] {
            if byte.is_ascii_digit() {
                let digit = u32::from(byte - b'0');
                number = Some(number.unwrap_or(0).saturating_mul(10).saturating_add(digit));
            } else if let Some(done) = number.take() {
                each(done);
            }
        }
    }
    if let Some(done) = number {
        each(done);
    }
    true
}

/// Field `index` (counted from 1, as proc(5) does; 3 and above) of `/proc/<pid>/stat`, read
/// after the name in parentheses (which may hold spaces and parentheses itself).
fn stat_field(proc: BorrowedFd<'_>, pid: u32, index: usize) -> Option<u64> {
    let file = open_below(
        proc,
        ProcPath::new().number(pid).text(b"/stat"),
        OFlags::empty(),
    )?;
    let mut stat = [0u8; 512];
    let length = rustix::io::read(&file, &mut stat).ok()?;
    let stat = &stat[..length];
    let after_name = stat.iter().rposition(|&byte| byte == b')')?;
    // The kernel separates the fields by one space each: ") S 1 ...".
    let field = stat
        .get(after_name + 2..)?
        .split(|&byte| byte == b' ')
        .nth(index.checked_sub(3)?)?;
    parse_number(field)
}

/// A decimal number of ASCII digits only.
fn parse_number(text: &[u8]) -> Option<u64> {
    crate::cli::options::parse_decimal(text, u64::MAX)
}
