//! `ucw-daemon-control --check --json` and `--check --lsb` (the `status` feature): CHECK told
//! in full, for programs and init scripts.
//!
//! `--json` prints one object on one line of stdout, with every key always present and
//! `null` for what cannot be known:
//! `{"state":"running","pid":812,"pid_file":"/run/x.pid","since":1765100000,"program_pid":813,
//! "restarts":0,"last_exit":null,"ready":true}`. `state` is `running`, `starting` (locked, no
//! PID yet or any more), `not-running` or `stale`; `since` is the lock holder's start time in
//! Unix seconds; `program_pid`, `restarts`, `last_exit` (`{"code":N}` or
//! `{"signal":"TERM"}`, `{"signal":34}` for a signal without a name) and `ready` come from a
//! `ucw-daemonize` supervisor's status file that names the proven holder. Strings are escaped
//! as RFC 8259 says (`"` and `\` with a backslash, control characters as `\u00XX`); a path
//! is bytes, not text: each byte that does not belong to a valid UTF-8 sequence becomes U+FFFD
//! (`\ufffd`). The exit code stays CHECK's (0, 101, 103; 102 on errors, with
//! nothing on stdout).
//!
//! `--lsb` exits with the LSB init-script codes of `status`: 0 running (or starting), 1 dead
//! with a stale PID file, 3 not running, 4 unknown (an error, reported on stderr). With
//! `--json` too, the object is printed and the exit code is LSB's.
//!
//! This file owns that output. It must never use `core::fmt` or allocate (the object is
//! written through a fixed buffer, flushed when full), and never print a partial object for
//! an error.

use crate::output::print_error;
use crate::rt::decimal;
use crate::rt::write_all;
use core::mem::forget;
use ucw_daemon::control::{self, Outcome, Params, Status, ERROR_EXIT_CODE};

/// LSB's "program is not running" (no PID file, or an empty one).
const LSB_NOT_RUNNING: i32 = 3;
/// LSB's "program is dead and the PID file exists".
const LSB_DEAD_WITH_PID_FILE: i32 = 1;
/// LSB's "program or service status is unknown".
const LSB_UNKNOWN: i32 = 4;

/// `--check` with `--json` (CHECK in full, [`control::report`]) and/or `--lsb`; returns the
/// exit code.
pub fn check(program: &[u8], params: &Params<'_>, json: bool, lsb: bool) -> i32 {
    let outcome = if json {
        control::report(params)
    } else {
        control::control(params)
    };
    match outcome {
        Ok(outcome) => {
            if json {
                print_json(params.pid_file.to_bytes(), &outcome);
            }
            let code = if lsb {
                lsb_code(outcome.status)
            } else {
                outcome.status as i32
            };
            // The guard is released by the exit itself, as plain --check does.
            forget(outcome);
            code
        }
        Err(error) => {
            print_error(program, &error, params);
            if lsb {
                LSB_UNKNOWN
            } else {
                ERROR_EXIT_CODE
            }
        }
    }
}

/// LSB's code for CHECK's status.
fn lsb_code(status: Status) -> i32 {
    match status {
        Status::Ok | Status::AlreadyDone => 0,
        Status::NotRunning => LSB_NOT_RUNNING,
        Status::Stale => LSB_DEAD_WITH_PID_FILE,
    }
}

/// The report as one JSON object on one line of stdout.
fn print_json(pid_file: &[u8], report: &Outcome) {
    let mut out = Json {
        buffer: [0; 512],
        length: 0,
    };
    out.raw(b"{\"state\":\"");
    out.raw(match (report.status, report.pid) {
        (Status::Ok, Some(_)) => b"running",
        (Status::Ok, None) => b"starting",
        (Status::Stale, _) => b"stale",
        _ => b"not-running",
    });
    out.raw(b"\",\"pid\":");
    out.number(report.pid.map(|pid| pid.as_raw_nonzero().get() as u64));
    out.raw(b",\"pid_file\":");
    out.string(pid_file);
    out.raw(b",\"since\":");
    out.number(report.since);
    out.raw(b",\"program_pid\":");
    out.number(report.program_pid.map(u64::from));
    out.raw(b",\"restarts\":");
    out.number(report.restarts.map(u64::from));
    out.raw(b",\"last_exit\":");
    match (report.last_exit_code, report.last_exit_signal) {
        (Some(code), _) => {
            out.raw(b"{\"code\":");
            out.number(Some(u64::from(code)));
            out.raw(b"}");
        }
        (None, None) => out.raw(b"null"),
        (None, Some(signal)) => {
            out.raw(b"{\"signal\":");
            match signal.name() {
                Some(name) => out.string(name.as_bytes()),
                None => out.number(Some(u64::from(signal.number()))),
            }
            out.raw(b"}");
        }
    }
    out.raw(b",\"ready\":");
    out.raw(match report.ready {
        None => b"null",
        Some(true) => b"true",
        Some(false) => b"false",
    });
    out.raw(b"}\n");
    out.flush();
}

/// JSON text through a fixed buffer, written to stdout whenever it fills.
struct Json {
    buffer: [u8; 512],
    length: usize,
}

impl Json {
    fn byte(&mut self, byte: u8) {
        if self.length == self.buffer.len() {
            self.flush();
        }
        self.buffer[self.length] = byte;
        self.length += 1;
    }

    fn raw(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.byte(byte);
        }
    }

    fn flush(&mut self) {
        write_all(1, &self.buffer[..self.length]);
        self.length = 0;
    }

    /// A number, or `null`.
    fn number(&mut self, value: Option<u64>) {
        let mut digits = [0u8; 20];
        match value {
            Some(value) => self.raw(decimal(value, &mut digits)),
            None => self.raw(b"null"),
        }
    }

    /// `bytes` as a JSON string (see the module docs for the escapes).
    fn string(&mut self, bytes: &[u8]) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.byte(b'"');
        let mut at = 0;
        while at < bytes.len() {
            let byte = bytes[at];
            let length = utf8_length(&bytes[at..]);
            match (byte, length) {
                (b'"' | b'\\', _) => {
                    self.byte(b'\\');
                    self.byte(byte);
                }
                (0..=0x1f, _) => {
                    self.raw(b"\\u00");
                    self.byte(HEX[usize::from(byte >> 4)]);
                    self.byte(HEX[usize::from(byte & 0xf)]);
                }
                (_, 0) => self.raw(b"\\ufffd"),
                _ => self.raw(&bytes[at..at + length]),
            }
            at += length.max(1);
        }
        self.byte(b'"');
    }
}

/// The length of the UTF-8 sequence `bytes` starts with (1 for ASCII), or 0 when it starts
/// with none (a stray continuation byte, an overlong form, a surrogate, past U+10FFFF, or a
/// sequence cut short).
fn utf8_length(bytes: &[u8]) -> usize {
    let (length, least) = match bytes[0] {
        0..=0x7f => return 1,
        0xc2..=0xdf => (2, 0x80),
        0xe0..=0xef => (3, 0x800),
        0xf0..=0xf4 => (4, 0x1_0000),
        _ => return 0,
    };
    if bytes.len() < length {
        return 0;
    }
    let mut code = u32::from(bytes[0]) & (0x7f >> length);
    for &byte in &bytes[1..length] {
        if byte & 0xc0 != 0x80 {
            return 0;
        }
        code = code << 6 | u32::from(byte & 0x3f);
    }
    if code < least || code > 0x10_ffff || (0xd800..=0xdfff).contains(&code) {
        return 0;
    }
    length
}
