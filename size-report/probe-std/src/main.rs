//! Probe: "argc <n>\n" formatted by hand, written with std's `write_all` from `fn main`.
use std::io::Write;

fn main() {
    let argc = std::env::args_os().len();
    let mut text = *b"argc                    ";
    let mut digits = [0u8; 20];
    let mut count = 0;
    let mut value = argc;
    loop {
        digits[count] = b'0' + (value % 10) as u8;
        count += 1;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    let mut length = 5;
    while count > 0 {
        count -= 1;
        text[length] = digits[count];
        length += 1;
    }
    text[length] = b'\n';
    let _ = std::io::stdout().write_all(&text[..length + 1]);
}
