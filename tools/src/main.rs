//! The multi-call binary `ucw-daemon`: the three binary roots (`src/bin/*.rs`) include this
//! file, so `ucw-daemon`, `ucw-daemon-control` and `ucw-daemonize` are one program that picks
//! its applet by the name it was started as, the last component of `argv[0]`:
//!
//! - `ucw-daemon-control` → the control applet ([`ucw_daemon_tools::control`]);
//! - `ucw-daemonize` → the daemonizer ([`ucw_daemon_tools::daemonize`]);
//! - any other name (`ucw-daemon` itself, or a link named otherwise) is `ucw-daemon`, which
//!   takes the applet as its first argument (`ucw-daemon control --check ...`), prints its
//!   usage for `--help`, and refuses anything else with its usage (exit 1).
//!
//! Hard links and symbolic links both work: the kernel passes the name that was executed.
//!
//! This file owns the dispatch and `ucw-daemon`'s own usage. It must never look at anything
//! but `argv[0]` and, for `ucw-daemon`, `argv[1]`; the applets own the rest.

#[path = "rt/entry.rs"]
mod entry;

use ucw_daemon_tools::output::{print, EXIT_OK, EXIT_USAGE};
use ucw_daemon_tools::rt::{self, Startup};
use ucw_daemon_tools::{control, daemonize};

/// The applets' names, as links to the binary carry them.
const CONTROL: &[u8] = b"ucw-daemon-control";
const DAEMONIZE: &[u8] = b"ucw-daemonize";

/// `ucw-daemon`'s usage: the two applets' synopses, and how else to reach them.
const USAGE: [&[u8]; 5] = [
    b"Usage: ucw-daemon control",
    control::SYNOPSIS,
    b"       ucw-daemon daemonize",
    daemonize::SYNOPSIS,
    b"The same program is ucw-daemon-control and ucw-daemonize when started by those names
(hard or symbolic links). '--help' after an applet's name tells its options.
",
];

fn main(mut startup: Startup) -> i32 {
    let name = startup
        .first()
        .map_or(&b""[..], |name| basename(name.to_bytes()));
    if name == CONTROL {
        return control::main(CONTROL, startup);
    }
    if name == DAEMONIZE {
        return daemonize::main(DAEMONIZE, startup);
    }
    startup.shift();
    match startup.first().map(|applet| applet.to_bytes()) {
        Some(b"control") => control::main(b"ucw-daemon control", startup),
        Some(b"daemonize") => daemonize::main(b"ucw-daemon daemonize", startup),
        Some(b"--help") => {
            print(1, &USAGE);
            EXIT_OK
        }
        Some(b"--version") => {
            print(
                1,
                &[concat!("ucw-daemon ", env!("CARGO_PKG_VERSION"), "\n").as_bytes()],
            );
            EXIT_OK
        }
        Some(other) => {
            let [first, second, third, fourth, fifth] = USAGE;
            let unknown: &[&[u8]] = &[b"ucw-daemon: unknown applet '", other, b"'\n"];
            print(
                2,
                &[
                    unknown[0], unknown[1], unknown[2], first, second, third, fourth, fifth,
                ],
            );
            EXIT_USAGE
        }
        None => {
            print(2, &USAGE);
            EXIT_USAGE
        }
    }
}

/// The last component of a path (`/usr/bin/ucw-daemonize` → `ucw-daemonize`).
fn basename(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&byte| byte == b'/') {
        Some(slash) => &path[slash + 1..],
        None => path,
    }
}
