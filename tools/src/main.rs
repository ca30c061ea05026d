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

/// An applet and the names it answers to.
struct Applet {
    /// The name a link to the binary carries (also the name in its messages).
    link: &'static [u8],
    /// The word `ucw-daemon` takes.
    word: &'static [u8],
    /// The name in its messages in that form.
    program: &'static [u8],
    /// Runs it as the given name on the command line (whose first argument is the program
    /// name); returns the exit code.
    main: fn(&'static [u8], Startup) -> i32,
}

/// The applets.
const APPLETS: [Applet; 2] = [
    Applet {
        link: b"ucw-daemon-control",
        word: b"control",
        program: b"ucw-daemon control",
        main: control::main,
    },
    Applet {
        link: b"ucw-daemonize",
        word: b"daemonize",
        program: b"ucw-daemon daemonize",
        main: daemonize::main,
    },
];

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
    for applet in &APPLETS {
        if name == applet.link {
            return (applet.main)(applet.link, startup);
        }
    }
    startup.shift();
    let word = startup.first().map_or(&b""[..], |word| word.to_bytes());
    for applet in &APPLETS {
        if word == applet.word {
            return (applet.main)(applet.program, startup);
        }
    }
    if word == b"--help" {
        print(1, &USAGE);
        return EXIT_OK;
    }
    if word == b"--version" {
        print(
            1,
            &[concat!("ucw-daemon ", env!("CARGO_PKG_VERSION"), "\n").as_bytes()],
        );
        return EXIT_OK;
    }
    if startup.first().is_some() {
        print(2, &[b"ucw-daemon: unknown applet '", word, b"'\n"]);
    }
    print(2, &USAGE);
    EXIT_USAGE
}

/// The last component of a path (`/usr/bin/ucw-daemonize` → `ucw-daemonize`).
fn basename(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&byte| byte == b'/') {
        Some(slash) => &path[slash + 1..],
        None => path,
    }
}
