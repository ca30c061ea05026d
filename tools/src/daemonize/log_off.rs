//! The log's stand-ins in a build without the `log` feature (`--log` is then a usage error):
//! uninhabited types with the same methods as `log.rs`'s, so that the supervisor's hooks
//! compile to nothing and none of the log's code is in the file.
//!
//! This file owns nothing else. It must never do anything: no value of its types can exist.

use crate::cli::daemonize::Request;
use core::convert::Infallible;
use core::marker::PhantomData;
use rustix::fd::BorrowedFd;
use ucw_daemon::Error;

/// No log can be asked for.
pub(super) struct LogTarget<'a>(Infallible, PhantomData<&'a ()>);

/// No log can be open.
pub(super) struct Log<'a>(Infallible, PhantomData<&'a ()>);

/// Always `None`: the command line cannot ask for a log.
pub(super) fn open_directory<'a>(_request: &Request<'a>) -> Result<Option<LogTarget<'a>>, Error> {
    Ok(None)
}

/// Never called: no program gets the log's pipe.
pub(super) fn redirect(_writer: BorrowedFd<'_>) {}

impl<'a> Log<'a> {
    pub(super) fn open(target: &'a LogTarget<'a>) -> Result<Self, Error> {
        match target.0 {}
    }

    pub(super) fn reader(&self) -> BorrowedFd<'_> {
        match self.0 {}
    }

    pub(super) fn writer(&self) -> BorrowedFd<'_> {
        match self.0 {}
    }

    pub(super) fn timeout(&self) -> Option<rustix::event::Timespec> {
        match self.0 {}
    }

    pub(super) fn pump(&mut self) -> bool {
        match self.0 {}
    }

    pub(super) fn finish(&mut self) {
        match self.0 {}
    }

    pub(super) fn flush(&mut self) {
        match self.0 {}
    }

    pub(super) fn reopen(&mut self) {
        match self.0 {}
    }
}
