//! The supervisor's status file (docs/design.md §5): `X.pid.status` beside PID file `X.pid`,
//! a few `key=value` lines that tell a controller what the PID file cannot (LibUCW's tools read
//! the PID file, so its format never changes): the supervisor's PID and start time, which
//! prove that the file still describes a living supervisor, and the cgroup of its program's
//! tree (`--cgroup`), which STOP's escalation kills after it SIGKILLed the supervisor.
//!
//! This file owns the writing. The launcher opens the file before the credential switch
//! (`Daemon::open_status_file`: the PID file's rules); the supervisor keeps the descriptor and
//! rewrites the file in place (`pwrite` + `ftruncate`) under `flock(LOCK_EX)` on it, so a
//! reader, which takes `LOCK_SH`, never sees half a rewrite (a reader reads at most 4,352
//! bytes: a path of up to 4,095 and short lines). A line is one entry of
//! [`LINES`]. It must never block on anything but that lock, never allocate, and never write a
//! line it cannot write whole.

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::FlockOperation;
use rustix::io::Errno;

/// What the status file says.
pub(super) struct Status<'a> {
    /// The supervisor's PID.
    pub(super) supervisor: u32,
    /// Its start time (field 22 of `/proc/<pid>/stat`).
    pub(super) start_time: u64,
    /// The cgroup directory of the program's tree (`--cgroup`), as an absolute path.
    pub(super) cgroup: Option<&'a [u8]>,
}

/// One line's value.
enum Value<'a> {
    Number(u64),
    Text(&'a [u8]),
    /// No line.
    Absent,
}

/// A line: its key, and how its value comes from the [`Status`].
type Line = (&'static [u8], for<'s> fn(&Status<'s>) -> Value<'s>);

/// The lines, in order: adding one is adding an entry here (and a field to [`Status`]).
const LINES: &[Line] = &[
    (b"supervisor", |status| {
        Value::Number(u64::from(status.supervisor))
    }),
    (b"start_time", |status| Value::Number(status.start_time)),
    (b"cgroup", |status| {
        status.cgroup.map_or(Value::Absent, Value::Text)
    }),
];

/// The status file, open for the supervisor.
pub(super) struct StatusFile {
    fd: OwnedFd,
}

impl StatusFile {
    pub(super) fn new(fd: OwnedFd) -> Self {
        Self { fd }
    }

    /// Rewrites the file with `status`, line by line at increasing offsets (no buffer of the
    /// whole file: the supervisor's stack stays small), then cuts it to what was written; a
    /// value with a newline leaves its line out.
    pub(super) fn write(&self, status: &Status<'_>) -> Result<(), Errno> {
        self.locked(|fd| {
            let mut offset = 0;
            for (key, value) in LINES {
                let mut digits = [0u8; 20];
                let value = match value(status) {
                    Value::Absent => continue,
                    Value::Text(text) => text,
                    Value::Number(number) => decimal(&mut digits, number),
                };
                if value.contains(&b'\n') {
                    continue;
                }
                // A short line in one write, a long one (a path) in its parts.
                let mut line = [0u8; 64];
                let parts = [*key, b"=", value, b"\n"];
                let length: usize = parts.iter().map(|part| part.len()).sum();
                if length <= line.len() {
                    let mut end = 0;
                    for part in parts {
                        line[end..end + part.len()].copy_from_slice(part);
                        end += part.len();
                    }
                    write_at(fd, &line[..end], offset)?;
                    offset += end as u64;
                } else {
                    for part in parts {
                        write_at(fd, part, offset)?;
                        offset += part.len() as u64;
                    }
                }
            }
            rustix::fs::ftruncate(fd, offset)
        })
    }

    /// Empties the file: nothing it said holds any more.
    pub(super) fn clear(&self) {
        let _ = self.locked(|fd| rustix::fs::ftruncate(fd, 0));
    }

    /// Runs `change` on the file under `LOCK_EX`.
    fn locked(&self, change: impl FnOnce(&OwnedFd) -> Result<(), Errno>) -> Result<(), Errno> {
        loop {
            match rustix::fs::flock(&self.fd, FlockOperation::LockExclusive) {
                Ok(()) => break,
                Err(Errno::INTR) => {}
                Err(errno) => return Err(errno),
            }
        }
        let changed = change(&self.fd);
        let _ = rustix::fs::flock(&self.fd, FlockOperation::Unlock);
        changed
    }
}

/// `pwrite`s all of `content` at `offset`.
fn write_at(fd: &OwnedFd, content: &[u8], offset: u64) -> Result<(), Errno> {
    let mut written = 0;
    while written < content.len() {
        match rustix::io::pwrite(fd.as_fd(), &content[written..], offset + written as u64) {
            Ok(0) => return Err(Errno::IO),
            Ok(count) => written += count,
            Err(Errno::INTR) => {}
            Err(errno) => return Err(errno),
        }
    }
    Ok(())
}

/// `number` in decimal, in `digits`.
fn decimal(digits: &mut [u8; 20], mut number: u64) -> &[u8] {
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (number % 10) as u8;
        number /= 10;
        if number == 0 {
            return &digits[start..];
        }
    }
}
