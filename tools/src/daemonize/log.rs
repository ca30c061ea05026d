//! `--log FILE` (the `log` feature): the program's standard output and standard error go
//! through a pipe to the supervisor, which appends them to FILE and rotates it by size
//! (`--log-max`, `--log-keep`: FILE → FILE.1 → … → FILE.N), reopens it on SIGUSR2 (for an
//! external rotation: `mv FILE FILE.old; kill -USR2 <supervisor>`), and never blocks the
//! program for long: when the disk is full (or any write fails) the output is dropped and
//! counted, and once a write works again one line says how much was lost:
//! `ucw-daemonize: dropped N bytes of output`.
//!
//! The launcher opens FILE's directory before the credential switch and any `--chroot`
//! ([`open_directory`]); every later name is looked up relative to that descriptor (`openat`,
//! `renameat`), so rotation works in a root-owned tree and inside a chroot. The supervisor,
//! already running as the daemon's user, checks that it may write in that directory (the
//! kernel's own answer, `faccessat`, so ACLs and read-only mounts count) and opens FILE
//! there; a failure is the launcher's error (exit 102). FILE is never a symbolic link, never
//! a file with more than one link, never owned by anyone but root or the daemon's user.
//!
//! Lines are kept whole: the pipe is made as large as the supervisor's buffer
//! ([`BUFFER`], 16 KiB), only complete lines are written while more may follow, and a
//! rotation happens between lines, so a line shorter than the buffer is never split between
//! two files. A line still without its newline is written after [`PARTIAL_WAIT`] of quiet,
//! when the buffer is full, or when the program ends.
//!
//! This file owns the log's files and the pipe. It must never write anywhere but through the
//! directory descriptor, never block on the log (the pipe's reading end is non-blocking and
//! a failed write drops), never allocate, and never use `core::fmt`.

use super::messages::Failure;
use crate::cli::daemonize::Request;
use crate::output::Line;
use core::ffi::CStr;
use core::time::Duration;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{Access, AtFlags, Mode, OFlags};
use rustix::io::Errno;
use ucw_daemon::{Error, Subject};

/// The supervisor's buffer (in `.bss`: [`crate::rt::log_buffer`]), and the pipe's size: a
/// line shorter than this is never split.
pub(super) const BUFFER: usize = crate::rt::LOG_BUFFER;

/// How long a line without its newline waits for the rest before it is written as it is.
pub(super) const PARTIAL_WAIT: Duration = Duration::from_secs(1);

/// How many reads one [`Log::pump`] makes before it lets the supervisor look at its signals.
const READS_PER_PUMP: u32 = 8;

/// The longest file name (`NAME_MAX`) plus `.NN` and the NUL.
const NAME_CAPACITY: usize = 255 + 4;

/// Linux's `PATH_MAX`, NUL included.
const PATH_CAPACITY: usize = 4096;

/// What the launcher prepares for the log: FILE's directory, opened before the switch.
pub(super) struct LogTarget<'a> {
    directory: OwnedFd,
    /// FILE's last component.
    name: &'a CStr,
    /// `--log-max`.
    max: u64,
    /// `--log-keep`.
    keep: u32,
}

/// `--log FILE`: opens FILE's directory (in the launcher, before the credential switch and
/// any `--chroot`); `None` without `--log`.
pub(super) fn open_directory<'a>(request: &Request<'a>) -> Result<Option<LogTarget<'a>>, Error> {
    let Some(path) = request.log else {
        return Ok(None);
    };
    let bytes = path.to_bytes_with_nul();
    let slash = bytes.iter().rposition(|&byte| byte == b'/');
    let name_start = slash.map_or(0, |slash| slash + 1);
    let name = CStr::from_bytes_until_nul(&bytes[name_start..])
        .map_err(|_| Failure::Open.about(Subject::LogFile))?;
    if name.is_empty() {
        // `dir/`: a directory, not a file.
        return Err(Failure::Open.system(Subject::LogFile, Errno::ISDIR));
    }
    let mut buffer = [0u8; PATH_CAPACITY];
    let directory: &[u8] = match slash {
        None => b".",
        Some(0) => b"/",
        Some(slash) => &bytes[..slash],
    };
    if directory.len() >= PATH_CAPACITY {
        return Err(Failure::Open.system(Subject::LogFile, Errno::NAMETOOLONG));
    }
    buffer[..directory.len()].copy_from_slice(directory);
    let directory =
        CStr::from_bytes_until_nul(&buffer).map_err(|_| Failure::Open.about(Subject::LogFile))?;
    let directory = rustix::fs::open(
        directory,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .and_then(crate::rt::above_standard_streams)
    .map_err(|errno| Failure::Open.system(Subject::LogFile, errno))?;
    Ok(Some(LogTarget {
        directory,
        name,
        max: request.log_max,
        keep: request.log_keep,
    }))
}

/// The supervisor's end of the log: the pipe, the open FILE, and the bytes not written yet.
pub(super) struct Log<'a> {
    target: &'a LogTarget<'a>,
    reader: OwnedFd,
    writer: OwnedFd,
    /// FILE, or `None` while it cannot be opened (output is dropped and counted meanwhile).
    file: Option<OwnedFd>,
    /// FILE's size as far as we know (its size when opened plus what we appended).
    size: u64,
    /// Bytes dropped since the last write that worked.
    dropped: u64,
    /// Whether FILE's last byte is a newline (or FILE is empty).
    at_line_start: bool,
    /// `buffer[..pending]`: read from the pipe, not written yet.
    pending: usize,
    buffer: &'static mut [u8; BUFFER],
}

impl<'a> Log<'a> {
    /// In the supervisor, after the credential switch: checks that the directory is writable,
    /// opens FILE and creates the pipe.
    pub(super) fn open(target: &'a LogTarget<'a>) -> Result<Self, Error> {
        rustix::fs::accessat(
            &target.directory,
            c".",
            Access::WRITE_OK | Access::EXEC_OK,
            AtFlags::empty(),
        )
        .map_err(|errno| Failure::WriteLogDirectory.system(Subject::LogFile, errno))?;
        // Handed out once: a second log in one process cannot be (one `--log` per run).
        let buffer =
            crate::rt::log_buffer().ok_or_else(|| Failure::CreatePipe.about(Subject::LogFile))?;
        let (reader, writer) = super::supervisor::pipe()?;
        // Never blocks the supervisor; the program's end blocks, as a terminal would.
        rustix::fs::fcntl_setfl(&reader, OFlags::NONBLOCK)
            .map_err(|errno| Failure::CreatePipe.system(Subject::None, errno))?;
        // As large as the buffer, so that what the pipe holds always fits (it rounds up to a
        // page; a pipe already larger keeps working, lines shorter than the buffer still whole).
        let _ = rustix::pipe::fcntl_setpipe_size(&reader, BUFFER);
        let mut log = Log {
            target,
            reader,
            writer,
            file: None,
            size: 0,
            dropped: 0,
            at_line_start: true,
            pending: 0,
            buffer,
        };
        log.open_file()?;
        Ok(log)
    }

    /// The pipe's reading end, for the supervisor's `poll`.
    pub(super) fn reader(&self) -> BorrowedFd<'_> {
        self.reader.as_fd()
    }

    /// The pipe's writing end: the program's stdout and stderr ([`redirect`]). The supervisor
    /// keeps it open, so the pipe never reports its end while the supervisor lives.
    pub(super) fn writer(&self) -> BorrowedFd<'_> {
        self.writer.as_fd()
    }

    /// How long `poll` may sleep: [`PARTIAL_WAIT`] while a line waits for its newline.
    pub(super) fn timeout(&self) -> Option<rustix::event::Timespec> {
        (self.pending > 0).then(|| rustix::event::Timespec {
            tv_sec: PARTIAL_WAIT.as_secs() as i64,
            tv_nsec: 0,
        })
    }

    /// Reads what the pipe holds (a few reads at most) and writes the complete lines;
    /// returns whether the pipe may hold more (it stopped after [`READS_PER_PUMP`] reads).
    pub(super) fn pump(&mut self) -> bool {
        for _ in 0..READS_PER_PUMP {
            if self.pending == BUFFER {
                // A line longer than the buffer: written in pieces.
                self.flush();
            }
            match rustix::io::read(&self.reader, &mut self.buffer[self.pending..]) {
                Ok(0) => return false,
                Ok(count) => {
                    self.pending += count;
                    self.write_lines();
                }
                Err(Errno::INTR) => {}
                // EAGAIN: the pipe is empty.
                Err(_) => return false,
            }
        }
        true
    }

    /// The program has ended: what the pipe still holds, and the last line even without its
    /// newline.
    pub(super) fn finish(&mut self) {
        // Bounded: the program's children may still write (the tree rules end them).
        for _ in 0..BUFFER / 512 {
            if !self.pump() {
                break;
            }
        }
        self.flush();
    }

    /// Writes whatever waits, complete line or not (the [`PARTIAL_WAIT`] has passed).
    pub(super) fn flush(&mut self) {
        let pending = self.pending;
        self.pending = 0;
        self.write_bytes(pending);
    }

    /// SIGUSR2: closes FILE and opens it again by name (after an external rotation it is a
    /// new file). A file that cannot be opened drops output, counted, until it can.
    pub(super) fn reopen(&mut self) {
        self.file = None;
        let _ = self.open_file();
    }

    /// Writes the complete lines of the buffer and keeps the rest.
    fn write_lines(&mut self) {
        let Some(last) = self.buffer[..self.pending]
            .iter()
            .rposition(|&byte| byte == b'\n')
        else {
            return;
        };
        self.write_bytes(last + 1);
        self.buffer.copy_within(last + 1..self.pending, 0);
        self.pending -= last + 1;
    }

    /// Writes `buffer[..length]`, rotating between lines whenever FILE would grow past the
    /// maximum.
    fn write_bytes(&mut self, length: usize) {
        let mut start = 0;
        while start < length {
            let rest = &self.buffer[start..length];
            let room = self.target.max.saturating_sub(self.size);
            if rest.len() as u64 <= room {
                self.emit(start, length);
                return;
            }
            // The lines that fit; else, in an empty file, the first line whole.
            let cut = match rest[..room as usize]
                .iter()
                .rposition(|&byte| byte == b'\n')
            {
                Some(newline) => Some(newline + 1),
                None if self.size > 0 && self.file.is_some() => None,
                None => Some(
                    rest.iter()
                        .position(|&byte| byte == b'\n')
                        .map_or(rest.len(), |newline| newline + 1),
                ),
            };
            if let Some(cut) = cut {
                self.emit(start, start + cut);
                start += cut;
                if start == length {
                    return;
                }
            }
            if !self.rotate() {
                // Never lose output over a rotation: FILE grows past the maximum instead.
                self.emit(start, length);
                return;
            }
        }
    }

    /// Appends `buffer[start..end]` to FILE, after the line about dropped output if there is
    /// one to write; what cannot be written is dropped and counted.
    fn emit(&mut self, start: usize, end: usize) {
        let length = (end - start) as u64;
        if self.file.is_none() && self.open_file().is_err() {
            self.dropped += length;
            return;
        }
        if self.dropped > 0 && !self.write_dropped_line() {
            self.dropped += length;
            return;
        }
        let Some(file) = &self.file else {
            return;
        };
        let bytes = &self.buffer[start..end];
        let written = write_all(file.as_fd(), bytes);
        self.size += written as u64;
        self.dropped += length - written as u64;
        if written > 0 {
            self.at_line_start = written == bytes.len() && bytes.last() == Some(&b'\n');
        }
    }

    /// `ucw-daemonize: dropped N bytes of output` on a line of its own; whether it was
    /// written whole (the count is kept otherwise).
    fn write_dropped_line(&mut self) -> bool {
        let Some(file) = &self.file else {
            return false;
        };
        let mut text = [0u8; 80];
        let mut line = Line::new(&mut text);
        if !self.at_line_start {
            line.push(b"\n");
        }
        line.push(b"ucw-daemonize: dropped ");
        line.push_decimal(self.dropped);
        line.push(b" bytes of output\n");
        let length = line.len();
        let written = write_all(file.as_fd(), &text[..length]);
        self.size += written as u64;
        if written == length {
            self.dropped = 0;
            self.at_line_start = true;
            return true;
        }
        if written > 0 {
            self.at_line_start = false;
        }
        false
    }

    /// FILE → FILE.1 → … → FILE.keep (the oldest is replaced), then a new FILE; with
    /// `--log-keep 0` FILE is emptied instead. Whether FILE has room again.
    fn rotate(&mut self) -> bool {
        let target = self.target;
        // Nothing open (output is being dropped): nothing to rotate, never shift the old files.
        let Some(file) = &self.file else {
            return false;
        };
        if target.keep == 0 {
            if rustix::fs::ftruncate(file, 0).is_err() {
                return false;
            }
            self.size = 0;
            self.at_line_start = true;
            return true;
        }
        let (mut older, mut newer) = ([0u8; NAME_CAPACITY], [0u8; NAME_CAPACITY]);
        for number in (1..target.keep).rev() {
            if let (Some(from), Some(to)) = (
                numbered(target.name, number, &mut older),
                numbered(target.name, number + 1, &mut newer),
            ) {
                // A missing one leaves a gap, filled as rotations go on.
                let _ = rustix::fs::renameat(&target.directory, from, &target.directory, to);
            }
        }
        let Some(first) = numbered(target.name, 1, &mut newer) else {
            return false;
        };
        match rustix::fs::renameat(&target.directory, target.name, &target.directory, first) {
            // Gone already (moved away without SIGUSR2): a new FILE is what is needed.
            Ok(()) | Err(Errno::NOENT) => {}
            Err(_) => return false,
        }
        self.file = None;
        self.size = 0;
        // A FILE that cannot be created drops output, counted, until it can.
        let _ = self.open_file();
        true
    }

    /// Opens FILE in the directory (created 0640 when missing) and checks it
    /// (`outputs::open_appending`): a regular file with one link, owned by root or us; not a
    /// symbolic link.
    fn open_file(&mut self) -> Result<(), Error> {
        let (file, size) = super::outputs::open_appending(
            self.target.directory.as_fd(),
            self.target.name,
            Subject::LogFile,
            rustix::process::geteuid().as_raw(),
            true,
        )?;
        self.size = size;
        // An existing FILE is taken to end its last line (a new line starts there).
        self.at_line_start = true;
        self.file = Some(file);
        Ok(())
    }
}

/// In the program's child: the pipe's writing end becomes its stdout and stderr.
pub(super) fn redirect(writer: BorrowedFd<'_>) {
    let _ = rustix::stdio::dup2_stdout(writer);
    let _ = rustix::stdio::dup2_stderr(writer);
}

/// `name.number` in `buffer`; `None` when it does not fit.
fn numbered<'b>(name: &CStr, number: u32, buffer: &'b mut [u8; NAME_CAPACITY]) -> Option<&'b CStr> {
    let name = name.to_bytes();
    let mut digits = [0u8; 20];
    let digits = crate::rt::decimal(u64::from(number), &mut digits);
    let end = name.len() + 1 + digits.len();
    if end >= NAME_CAPACITY {
        return None;
    }
    buffer[..name.len()].copy_from_slice(name);
    buffer[name.len()] = b'.';
    buffer[name.len() + 1..end].copy_from_slice(digits);
    buffer[end] = 0;
    CStr::from_bytes_until_nul(&buffer[..=end]).ok()
}

/// Writes `bytes` to `fd` until done or a write fails; returns how many were written.
fn write_all(fd: BorrowedFd<'_>, bytes: &[u8]) -> usize {
    let mut written = 0;
    while written < bytes.len() {
        match rustix::io::write(fd, &bytes[written..]) {
            Ok(0) => break,
            Ok(count) => written += count,
            Err(Errno::INTR) => {}
            Err(_) => break,
        }
    }
    written
}
