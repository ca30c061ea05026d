//! Probe: the same "argc <n>\n" through `core::fmt` (`writeln!` into a fixed buffer).
#![no_std]
#![no_main]

#[path = "rt.rs"]
mod rt;

use core::fmt::Write;

struct Fixed {
    bytes: [u8; 32],
    length: usize,
}

impl Write for Fixed {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        let end = self.length + text.len();
        if end > self.bytes.len() {
            return Err(core::fmt::Error);
        }
        self.bytes[self.length..end].copy_from_slice(text.as_bytes());
        self.length = end;
        Ok(())
    }
}

fn run(argc: usize) -> i32 {
    let mut out = Fixed {
        bytes: [0; 32],
        length: 0,
    };
    if writeln!(out, "argc {argc}").is_err() {
        return 1;
    }
    rt::write(&out.bytes[..out.length]);
    0
}
