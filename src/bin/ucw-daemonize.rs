//! `ucw-daemon-control`: placeholder entry until the controller lands.
#![no_std]
#![no_main]

#[path = "../rt/mod.rs"]
mod rt;

fn main(startup: rt::Startup) -> i32 {
    let _ = startup;
    rt::write_all(1, b"hello\n");
    0
}
