//! `ucw-daemon`: the multi-call binary under its own name (`ucw-daemon control ...`,
//! `ucw-daemon daemonize ...`); the program is `src/main.rs`.
#![no_std]
#![no_main]

#[path = "../main.rs"]
mod multicall;
