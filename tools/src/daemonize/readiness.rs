//! Readiness (the `readiness` feature): with `--notify-fd N` the program writes a newline to
//! descriptor N when it is ready (s6's convention); with `--notify-socket` it sends `READY=1`
//! to `$NOTIFY_SOCKET` (systemd's `sd_notify`), an abstract datagram socket we create. Its name
//! is no secret, so a datagram counts only from the program's uid (`SO_PASSCRED`) and from the
//! service: the program, or a live process of its group or of our session, checked on the
//! sender's pidfd where the kernel sends one (`SCM_PIDFD`; no `/proc` needed). The launcher —
//! and so `ucw-daemon-control --start` — returns only then; a program that exits or closes its
//! notification channel first makes the launcher exit 102 saying so (what it said before it
//! ended counts: "was ready, then exited").
//!
//! This file owns the channel and what counts as "ready". It must never take a datagram from
//! another user or from outside the service for readiness, and never block on the channel.
//! Without the feature only [`Readiness::Exec`] is left: ready once the program runs.

#[cfg(feature = "readiness")]
use super::messages::Failure;
use super::supervisor::Job;
use crate::cli::daemonize::Notify;
#[cfg(feature = "readiness")]
use crate::output::Line;
#[cfg(feature = "readiness")]
use crate::rt;
#[cfg(feature = "readiness")]
use rustix::event::{PollFd, PollFlags};
#[cfg(feature = "readiness")]
use rustix::fd::AsFd;
use rustix::fd::{BorrowedFd, OwnedFd};
use rustix::process::Pid;
use ucw_daemon::Error;
#[cfg(feature = "readiness")]
use ucw_daemon::Subject;

#[cfg(feature = "readiness")]
/// Bytes of a `NOTIFY_SOCKET` name: `@ucw-daemonize.<pid>.<16 hexadecimal digits>`.
pub(super) const SOCKET_NAME_CAPACITY: usize = 64;

/// A name for the notification socket, unique on the machine (the supervisor's PID is not
/// known yet: the launcher's PID, which no other live process has, and 64 random bits, which
/// no earlier launcher's leftover supervisor of the same PID can have drawn too). Random bits
/// that cannot be had (`getrandom` refused) leave the PID alone: a clash then fails the bind
/// (EADDRINUSE), it never joins someone else's socket.
#[cfg(feature = "readiness")]
pub(super) fn unique_socket_name(buffer: &mut [u8; SOCKET_NAME_CAPACITY]) -> &[u8] {
    let mut random = [0u8; 8];
    // Never blocks, even before the kernel's random pool is ready (Linux 5.6).
    let _ = rustix::rand::getrandom(&mut random, rustix::rand::GetRandomFlags::INSECURE);
    let mut line = Line::new(buffer);
    line.push(b"@ucw-daemonize.");
    line.push_decimal(rustix::process::getpid().as_raw_nonzero().get() as u64);
    line.push(b".");
    for byte in random {
        line.push(&[HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 15)]]);
    }
    let length = line.len();
    &buffer[..length]
}

/// Hexadecimal digits.
#[cfg(feature = "readiness")]
const HEX: &[u8; 16] = b"0123456789abcdef";

/// The channel through which the program says it is ready.
pub(super) enum Readiness {
    /// Nothing to wait for beyond the exec.
    Exec,
    /// The read end of the `--notify-fd` pipe.
    #[cfg(feature = "readiness")]
    Pipe(OwnedFd),
    /// The `--notify-socket` socket.
    #[cfg(feature = "readiness")]
    Socket(OwnedFd),
}

impl Readiness {
    /// The channel's descriptor, to poll; none when there is nothing to wait for.
    pub(super) fn fd(&self) -> Option<BorrowedFd<'_>> {
        match self {
            Readiness::Exec => None,
            #[cfg(feature = "readiness")]
            Readiness::Pipe(fd) | Readiness::Socket(fd) => Some(fd.as_fd()),
        }
    }
}

/// What reading the readiness channel found.
#[cfg_attr(not(feature = "readiness"), allow(dead_code))]
pub(super) enum Heard {
    /// Not ready yet.
    Nothing,
    /// `READY=1`, or a newline.
    Ready,
    /// The program closed its end of the pipe before writing a newline.
    Closed,
}

impl Job<'_> {
    /// The readiness channel the program gets (`--notify-fd`: a pipe whose writing end goes
    /// to the program; `--notify-socket`: the socket), and the descriptor for the program.
    pub(super) fn readiness(&self) -> Result<(Readiness, Option<OwnedFd>), Error> {
        match self.notify {
            Notify::Exec => Ok((Readiness::Exec, None)),
            #[cfg(feature = "readiness")]
            Notify::Descriptor(_) => {
                let (reader, writer) = super::supervisor::pipe()?;
                Ok((Readiness::Pipe(reader), Some(writer)))
            }
            #[cfg(feature = "readiness")]
            Notify::Socket => Ok((Readiness::Socket(self.bind_socket()?), None)),
        }
    }

    #[cfg(feature = "readiness")]
    /// The abstract datagram socket `$NOTIFY_SOCKET` names, receiving senders' credentials.
    fn bind_socket(&self) -> Result<OwnedFd, Error> {
        let error = |errno| Failure::CreateSocket.system(Subject::NotifySocket, errno);
        let socket = rustix::net::socket_with(
            rustix::net::AddressFamily::UNIX,
            rustix::net::SocketType::DGRAM,
            rustix::net::SocketFlags::CLOEXEC | rustix::net::SocketFlags::NONBLOCK,
            None,
        )
        .and_then(rt::above_standard_streams)
        .map_err(error)?;
        let address = rustix::net::SocketAddrUnix::new_abstract_name(&self.socket_name[1..])
            .map_err(error)?;
        rustix::net::bind(&socket, &address).map_err(error)?;
        rustix::net::sockopt::set_socket_passcred(&socket, true).map_err(error)?;
        // A pidfd of each sender, where the kernel has it (Linux 6.5).
        let _ = rt::sys::set_pass_pidfd(socket.as_fd());
        Ok(socket)
    }

    /// Reads what the readiness channel has.
    #[cfg_attr(not(feature = "readiness"), allow(unused_variables))]
    pub(super) fn hear(&self, readiness: &Readiness, child: Pid, foreground: bool) -> Heard {
        match readiness {
            Readiness::Exec => Heard::Ready,
            #[cfg(feature = "readiness")]
            Readiness::Pipe(reader) => {
                let mut bytes = [0u8; 64];
                match rustix::io::read(reader, &mut bytes) {
                    Ok(0) => Heard::Closed,
                    Ok(count) if bytes[..count].contains(&b'\n') => Heard::Ready,
                    _ => Heard::Nothing,
                }
            }
            #[cfg(feature = "readiness")]
            Readiness::Socket(socket) => self.hear_datagram(socket.as_fd(), child, foreground),
        }
    }

    /// Without the feature there is no channel to read.
    #[cfg(not(feature = "readiness"))]
    pub(super) fn heard_before_exit(&self, _: &Readiness, _: Pid, _: bool) -> bool {
        false
    }

    /// Whether the program had said it was ready by the time its exit was noticed: reads
    /// what the channel still holds (a bounded number of times; a spammer cannot keep us).
    #[cfg(feature = "readiness")]
    pub(super) fn heard_before_exit(
        &self,
        readiness: &Readiness,
        child: Pid,
        foreground: bool,
    ) -> bool {
        let Some(fd) = readiness.fd() else {
            return false;
        };
        for _ in 0..16 {
            let mut fds = [PollFd::from_borrowed_fd(fd, PollFlags::IN)];
            if !matches!(
                rustix::event::poll(&mut fds, Some(&rustix::event::Timespec::default())),
                Ok(1)
            ) {
                return false;
            }
            match self.hear(readiness, child, foreground) {
                Heard::Ready => return true,
                Heard::Closed => return false,
                Heard::Nothing => {}
            }
        }
        false
    }

    /// Reads one `sd_notify` datagram: `READY=1` on a line of its own, from the program's
    /// uid and from the service ([`from_the_service`]), means ready; everything else (other
    /// assignments, other senders) is ignored, and descriptors sent along are closed.
    #[cfg(feature = "readiness")]
    fn hear_datagram(&self, socket: BorrowedFd<'_>, child: Pid, foreground: bool) -> Heard {
        let mut bytes = [0u8; 4096];
        let Ok((length, Some(sender))) = rt::sys::receive_datagram(socket, &mut bytes) else {
            return Heard::Nothing;
        };
        let ready = bytes[..length.min(bytes.len())]
            .split(|&byte| byte == b'\n')
            .any(|line| line == b"READY=1");
        if ready && sender.uid == self.program_uid && from_the_service(&sender, child, foreground) {
            Heard::Ready
        } else {
            Heard::Nothing
        }
    }
}

/// Whether a datagram's `sender` is the service (docs/design.md §5, readiness): the program
/// itself, or a live process of the program's process group or of our session (only our
/// descendants can be in it: we lead it, except in the foreground). Any other process of the
/// same uid could find the socket's name (`/proc/net/unix`, the program's environment) and
/// claim readiness. The check runs on the sender's number in our namespace; with its pidfd
/// (`SCM_PIDFD`, Linux 6.5) the sender must still live afterwards, so the number was its own
/// throughout (a helper that has already exited is refused: it should stay until the
/// datagram is read, or use `--notify-fd`).
#[cfg(feature = "readiness")]
fn from_the_service(sender: &rt::sys::Sender, child: Pid, foreground: bool) -> bool {
    // 0: the sender has no number in our namespace.
    let Some(pid) = Pid::from_raw(sender.pid) else {
        return false;
    };
    if pid == child {
        // Never reused before we collect it, even once it has exited.
        return true;
    }
    // 0: a group or session that began outside our PID namespace, never ours.
    let same = |ours: Result<u32, _>, theirs: Result<u32, _>| matches!((ours, theirs), (Ok(ours), Ok(theirs)) if ours != 0 && ours == theirs);
    let in_group = same(
        rt::sys::group_or_session(child, false),
        rt::sys::group_or_session(pid, false),
    );
    let in_session = !foreground
        && same(
            Ok(rustix::process::getpid().as_raw_nonzero().get() as u32),
            rt::sys::group_or_session(pid, true),
        );
    if !(in_group || in_session) {
        return false;
    }
    match &sender.pidfd {
        Some(pidfd) => {
            let mut fds = [PollFd::new(pidfd, PollFlags::IN)];
            matches!(
                rustix::event::poll(&mut fds, Some(&rustix::event::Timespec::default())),
                Ok(0)
            )
        }
        // The kernel could not make a pidfd of it (it already exited): not vouched for.
        None if sender.pidfd_failed => false,
        // Before Linux 6.5 the number is all there is.
        None => true,
    }
}
