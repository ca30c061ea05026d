//! Rendering an [`Error`] into words at the edge: [`Error::render`] into a fixed buffer,
//! [`Error::display`] and `Display` for std programs; without the `messages` feature, a short code
//! line.
//!
//! This file owns the wording rules: lossless escaping, names cut in the middle when short of room
//! (never the errno), one measuring pass and one writing. It must never allocate or use `core::fmt`
//! outside `Display`.

#[cfg(not(feature = "messages"))]
use super::messages::{NAMES, NAME_ALPHABET};
#[cfg(feature = "messages")]
use super::phrases::{self, UNPACKED_CAPACITY};
#[cfg(feature = "messages")]
use super::MESSAGES;
use super::{Context, Error, Subject};
use crate::text::{errno_stem, five_bits, Writer};
#[cfg(all(feature = "messages", feature = "environment"))]
use crate::text::{packed_field, RESOURCE_LIMIT_NAMES};

impl Error {
    /// Writes the message into `out` and returns its length: the sentence with `context`'s names
    /// (`\xNN` for non-UTF-8 bytes), ending with the errno's name and description. When `out` is
    /// short, names are cut in the middle (`/very/lo...ng/path`) first. No newline, no NUL.
    pub fn render(&self, context: &dyn Context, out: &mut [u8]) -> usize {
        // A pass that writes nothing measures the fixed part and each name, to share the room.
        let mut widths = [0usize; 4];
        let mut probe = Writer::new(&mut []);
        self.expand(context, &mut probe, &mut widths);
        let room = out.len().saturating_sub(probe.wanted());
        // A short code line has one name: it gets the room there is.
        #[cfg(not(feature = "messages"))]
        let mut budgets = [room, 0, 0, 0];
        #[cfg(feature = "messages")]
        let mut budgets = share(room, widths);
        let mut writer = Writer::new(out);
        self.expand(context, &mut writer, &mut budgets);
        writer.len()
    }

    /// Writes the message, name `i` in at most `names[i]` bytes; sets `names[i]` to its full width.
    #[cfg(feature = "messages")]
    #[inline(never)]
    fn expand(&self, context: &dyn Context, writer: &mut Writer<'_>, names: &mut [usize; 4]) {
        let mut unpacked = [0u8; UNPACKED_CAPACITY];
        let template = match self.custom_code() {
            Some(code) => match context.template(code) {
                Some(template) => template,
                None => {
                    writer.push(b"error ");
                    writer.push_decimal(u64::from(code));
                    if self.subject() == Subject::None {
                        &b""[..]
                    } else {
                        b" %s"
                    }
                }
            },
            None => phrases::unpack(usize::from(self.message()), &mut unpacked),
        };
        let mut name_index = 0;
        let mut position = 0;
        while position < template.len() {
            let byte = template[position];
            position += 1;
            if byte != b'%' {
                writer.push(&[byte]);
                continue;
            }
            let code = template.get(position).copied().unwrap_or(b'%');
            position += 1;
            let subject = match code {
                b's' | b'r' | b'n' => self.subject(),
                b'P' => Subject::PidFile,
                b'W' => Subject::PasswdFile,
                b'R' => Subject::GroupFile,
                _ => {
                    // `%1`..`%3` in decimal, `%t` a duration, else a letter and the number's digit.
                    let digit = if code.is_ascii_digit() {
                        code
                    } else {
                        template.get(position).copied().unwrap_or(b'1')
                    };
                    if !code.is_ascii_digit() && code != b't' {
                        position += 1;
                    }
                    let value = self.number(usize::from(digit.wrapping_sub(b'1')).min(2));
                    match code {
                        b'k' => {
                            match crate::signal::Signal::from_number(value).and_then(|s| s.name()) {
                                Some(name) => writer.push(name.as_bytes()),
                                None => writer.push_decimal(u64::from(value)),
                            }
                        }
                        #[cfg(feature = "environment")]
                        b'l' => match packed_field(RESOURCE_LIMIT_NAMES, value as usize) {
                            Some(name) => writer.push(name),
                            None => writer.push_decimal(u64::from(value)),
                        },
                        b'o' => writer.push_radix(value, 8, 4),
                        b'x' => writer.push_radix(value, 16, 1),
                        b't' => {
                            writer.push_decimal(u64::from(self.number(1)));
                            if self.number(2) != 0 {
                                writer.push(b".");
                                writer.push_radix(self.number(2), 10, 3);
                            }
                            writer.push(b" s");
                        }
                        _ => writer.push_decimal(u64::from(value)),
                    }
                    continue;
                }
            };
            let role = subject.role();
            let name = if code == b'r' {
                None
            } else {
                context.name(subject)
            };
            let Some(name) = name else {
                if matches!(code, b'P' | b'W' | b'R') {
                    writer.push(b"the ");
                }
                writer.push(role);
                continue;
            };
            let quoted = code == b's' && matches!(subject, Subject::User | Subject::Group);
            if code == b's' && subject != Subject::Program {
                writer.push(role);
                writer.push(b" ");
            }
            if quoted {
                writer.push(b"`");
            }
            let slot = &mut names[name_index.min(3)];
            *slot = writer.push_name(name, *slot);
            name_index += 1;
            if quoted {
                writer.push(b"`");
            }
        }
        if self.errno_number() != 0 {
            self.push_errno(writer);
            if let Some(number) = crate::text::description_number(self.errno_number()) {
                writer.push(b" (");
                writer.push(phrases::unpack(MESSAGES + number, &mut unpacked));
                writer.push(b")");
            }
        }
    }

    /// The short code line: message name, subject role and name, set numbers, errno name (`not
    /// holding PID file /run/x.pid (1234)`); only the name is cut.
    #[cfg(not(feature = "messages"))]
    #[inline(never)]
    fn expand(&self, context: &dyn Context, writer: &mut Writer<'_>, names: &mut [usize; 4]) {
        match self.custom_code() {
            Some(code) => match context.template(code) {
                Some(words) => writer.push(words),
                None => {
                    writer.push(b"error ");
                    writer.push_decimal(u64::from(code));
                }
            },
            None => {
                let mut name = [0u8; five_bits::NAME_CAPACITY];
                let index = usize::from(self.message());
                writer.push(five_bits::unpack(&NAMES, &NAME_ALPHABET, index, &mut name));
            }
        }
        let subject = self.subject();
        if subject != Subject::None {
            writer.push(b" ");
            writer.push(subject.role());
            if let Some(name) = context.name(subject) {
                writer.push(b" ");
                names[0] = writer.push_name(name, names[0]);
            }
        }
        let numbers = [self.number(0), self.number(1), self.number(2)];
        let shown = numbers.iter().rposition(|&number| number != 0);
        if let Some(last) = shown {
            writer.push(b" (");
            for (index, &number) in numbers[..=last].iter().enumerate() {
                if index > 0 {
                    writer.push(b", ");
                }
                writer.push_decimal(u64::from(number));
            }
            writer.push(b")");
        }
        if self.errno_number() != 0 {
            self.push_errno(writer);
        }
    }

    /// `: EACCES`, or `: errno 200` for a number without a name.
    fn push_errno(&self, writer: &mut Writer<'_>) {
        writer.push(b": ");
        let mut stem = [0u8; five_bits::NAME_CAPACITY];
        match errno_stem(self.errno_number(), &mut stem) {
            Some(stem) => {
                writer.push(b"E");
                writer.push(stem);
            }
            None => {
                writer.push(b"errno ");
                writer.push_decimal(u64::from(self.errno_number()));
            }
        }
    }

    /// The message as [`Display`](core::fmt::Display): `error.display(&params)`.
    pub fn display<'e>(&'e self, context: &'e dyn Context) -> Rendered<'e> {
        Rendered {
            error: self,
            context,
        }
    }
}

#[cfg(feature = "messages")]
/// Shares `room`: all names whole when they fit, else the narrow keep theirs and the wide split the
/// rest.
fn share(room: usize, widths: [usize; 4]) -> [usize; 4] {
    let mut budgets = widths;
    let mut left = room;
    let mut open = [true; 4];
    loop {
        let count = open.iter().filter(|&&is_open| is_open).count();
        if count == 0 {
            return budgets;
        }
        let each = left / count;
        let mut settled = false;
        for index in 0..4 {
            if open[index] && widths[index] <= each {
                open[index] = false;
                left -= widths[index];
                settled = true;
            }
        }
        if !settled {
            for index in 0..4 {
                if open[index] {
                    budgets[index] = each;
                }
            }
            return budgets;
        }
    }
}

/// An error with the context naming its subjects ([`Error::display`]).
pub struct Rendered<'e> {
    error: &'e Error,
    context: &'e dyn Context,
}

/// `Display`'s buffer (mostly enough for an escaped `PATH_MAX` path).
const DISPLAY_CAPACITY: usize = 1024;

impl core::fmt::Display for Rendered<'_> {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut buffer = [0u8; DISPLAY_CAPACITY];
        let length = self.error.render(self.context, &mut buffer);
        // Escaped names make valid UTF-8.
        formatter.write_str(core::str::from_utf8(&buffer[..length]).unwrap_or("(invalid)"))
    }
}

impl core::fmt::Display for Error {
    /// The message, subjects named by role (`Cannot open PID file: ...`).
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.display(&()).fmt(formatter)
    }
}

impl core::fmt::Debug for Error {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter
            .debug_struct("Error")
            .field("kind", &self.kind())
            .field("subject", &self.subject())
            .field("errno", &self.errno())
            .field("message", &format_args!("{self}"))
            .finish()
    }
}

#[cfg(test)]
mod tests;
