//! Text in fixed buffers: the fatal line and `daemon_control`'s `error_msg` are assembled
//! with [`Writer`].
//!
//! This module owns the bounded writer (decimal numbers come from the library's formatter). It must never allocate, never use
//! `core::fmt` (it costs kilobytes in every C program linked with us), and never write past
//! the buffer it was given: what does not fit is dropped.

use ucw_daemon::{Context, Error};

/// Text assembled in a caller's fixed buffer; what does not fit is dropped.
pub struct Writer<'a> {
    buffer: &'a mut [u8],
    length: usize,
}

impl<'a> Writer<'a> {
    /// An empty text in `buffer`.
    pub fn new(buffer: &'a mut [u8]) -> Self {
        Self { buffer, length: 0 }
    }

    /// The bytes written so far.
    pub fn length(&self) -> usize {
        self.length
    }

    /// Appends `bytes`, as many as fit.
    pub fn push(&mut self, bytes: &[u8]) -> &mut Self {
        let count = bytes.len().min(self.buffer.len() - self.length);
        self.buffer[self.length..self.length + count].copy_from_slice(&bytes[..count]);
        self.length += count;
        self
    }

    /// Appends `value` in decimal, a minus sign first when it is negative.
    pub fn push_decimal(&mut self, value: i64) -> &mut Self {
        if value < 0 {
            self.push(b"-");
        }
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        let mut rest = value.unsigned_abs();
        loop {
            start -= 1;
            digits[start] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        self.push(&digits[start..])
    }

    /// Appends `error` rendered against `context`: the whole sentence, errno included, with
    /// names cut in the middle when the room is short.
    pub fn push_error(&mut self, error: &Error, context: &dyn Context) -> &mut Self {
        self.length += error.render(context, &mut self.buffer[self.length..]);
        self
    }
}
