//! The command lines of both applets: GNU `getopt_long`-style scanning ([`options`]) and what
//! each applet accepts ([`control`] for `ucw-daemon-control`, [`daemonize`] for
//! `ucw-daemonize`, with the values of its environment options in [`environment`]), with
//! their usage errors.
//!
//! This module owns the syntax and meaning of the tools' command lines. It must never make a
//! system call or print: it works on arguments it is handed, so that it can be fuzzed and
//! unit-tested as plain code.

pub mod control;
pub mod daemonize;
pub mod environment;
pub mod options;

pub use options::UsageError;

impl options::Argument<'static> for crate::rt::CommandLineArgument {
    fn text(self) -> &'static core::ffi::CStr {
        crate::rt::CommandLineArgument::text(self)
    }
}
