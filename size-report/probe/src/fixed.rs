//! Probe: "argc <n>\n" formatted by hand into a fixed stack buffer (what the tools do).
#![no_std]
#![no_main]

#[path = "rt.rs"]
mod rt;

fn run(argc: usize) -> i32 {
    let mut buffer = [0u8; 32];
    buffer[..5].copy_from_slice(b"argc ");
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
        buffer[length] = digits[count];
        length += 1;
    }
    buffer[length] = b'\n';
    rt::write(&buffer[..length + 1]);
    0
}
