//! `ucw-daemonize`: the multi-call binary (`src/main.rs`) under the name of the daemonizer,
//! so that `cargo install` gives users the name they type.
#![no_std]
#![no_main]

#[path = "../main.rs"]
mod multicall;
