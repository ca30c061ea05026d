//! `ucw-daemon-control`: the multi-call binary (`src/main.rs`) under the name of LibUCW's
//! control tool, so that `cargo install` gives users the name they type.
#![no_std]
#![no_main]

#[path = "../main.rs"]
mod multicall;
