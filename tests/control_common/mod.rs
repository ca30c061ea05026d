//! Helpers shared by the tests/control_*.rs files: a private directory with a PID file,
//! guard, sentinel and violation log, the fixture programs, and `control()` called
//! in-process with owned strings.
//!
//! These tests do not use `common::harness()`: its reaper thread calls `wait(-1)` and would
//! steal the exit status of the launcher that `control()` waits for by PID. Instead the test
//! process is a child subreaper without a reaper thread, tests of one file run one at a
//! time ([`Setup`] holds a process-wide lock), and adopted daemons that have exited are
//! reaped by PID when no `control()` call is in flight ([`reap_zombies`]).
#![allow(dead_code)]

use crate::common::{self, TempDir};
use std::ffi::{CStr, CString};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use ucw_daemon::control::{control, Action, Params, Status, StringList};
use ucw_daemon::signal::Signal;

/// `<target>/<profile>/examples/<name>`: a fixture program (tests/fixtures), built first if
/// this test run did not build it.
pub fn example(name: &str) -> PathBuf {
    crate::fixture_programs::example(name, crate::fixture_programs::run_plainly)
}

/// Serialises the tests of one test binary (see the module docs).
static SERIAL: Mutex<()> = Mutex::new(());

/// Reaps every child of this process that has exited (adopted daemons, decoys); returns how
/// many. Only call it while no `control()` call is in flight.
pub fn reap_zombies() -> usize {
    let mut reaped = 0;
    for pid in common::children_of_self() {
        if !common::is_alive(pid) {
            let pid = rustix::process::Pid::from_raw(pid).unwrap();
            if let Ok(Some(_)) =
                rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::NOHANG)
            {
                reaped += 1;
            }
        }
    }
    reaped
}

/// Children of this process still alive after reaping the dead ones.
pub fn live_children() -> Vec<i32> {
    reap_zombies();
    common::children_of_self()
        .into_iter()
        .filter(|&pid| common::is_alive(pid))
        .collect()
}

/// Sends SIGKILL to `pid` (a test's own fixture process).
pub fn kill(pid: i32) {
    let _ = rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid).unwrap(),
        rustix::process::Signal::KILL,
    );
}

/// A PID file, guard file, sentinel and violation log in a private directory.
pub struct Setup {
    _serial: MutexGuard<'static, ()>,
    pub dir: TempDir,
    pub pid_file: CString,
    pub guard_file: CString,
    pub sentinel: PathBuf,
    pub violations: PathBuf,
    pub hup_log: PathBuf,
}

/// What an action gets besides its files.
#[derive(Clone, Default)]
pub struct Options {
    pub program: Vec<CString>,
    pub environment: Vec<CString>,
    pub signal: Option<Signal>,
    pub timeout: Option<Duration>,
    pub escalate: bool,
}

impl Options {
    pub fn program(mut self, argv: &[&str]) -> Self {
        self.program = argv.iter().map(|arg| CString::new(*arg).unwrap()).collect();
        if self.environment.is_empty() {
            self.environment = vec![CString::new("PATH=/usr/bin:/bin").unwrap()];
        }
        self
    }
    pub fn environment(mut self, variables: &[&str]) -> Self {
        self.environment = variables
            .iter()
            .map(|variable| CString::new(*variable).unwrap())
            .collect();
        self
    }
    pub fn signal(mut self, signal: Signal) -> Self {
        self.signal = Some(signal);
        self
    }
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
    pub fn escalate(mut self) -> Self {
        self.escalate = true;
        self
    }
}

impl Setup {
    pub fn new(label: &str) -> Self {
        let serial = SERIAL
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
            .expect("PR_SET_CHILD_SUBREAPER");
        reap_zombies();
        let dir = TempDir::new(label);
        let path = |name: &str| dir.join(name);
        Self {
            _serial: serial,
            pid_file: CString::new(path("daemon.pid").to_str().unwrap()).unwrap(),
            guard_file: CString::new(path("daemon.lock").to_str().unwrap()).unwrap(),
            sentinel: path("sentinel"),
            violations: path("violations"),
            hup_log: path("hup.log"),
            dir,
        }
    }

    pub fn pid_path(&self) -> PathBuf {
        PathBuf::from(self.pid_file.to_str().unwrap())
    }

    /// The protocol-following daemon's command line, with `extra` options.
    pub fn daemon(&self, extra: &[&str]) -> Options {
        let mut argv = vec![
            example("fixture_control_daemon")
                .to_str()
                .unwrap()
                .to_owned(),
            self.pid_file.to_str().unwrap().to_owned(),
            self.sentinel.to_str().unwrap().to_owned(),
            self.violations.to_str().unwrap().to_owned(),
            format!("hup-log={}", self.hup_log.display()),
        ];
        argv.extend(extra.iter().map(|arg| (*arg).to_owned()));
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        Options::default().program(&argv)
    }

    /// Runs `action` in-process; an ERROR becomes its message, rendered against the params
    /// (so that it names the PID file, the guard file and the program).
    pub fn control(&self, action: Action, options: &Options) -> Result<Status, String> {
        let program: Vec<&CStr> = options.program.iter().map(CString::as_c_str).collect();
        let environment: Vec<&CStr> = options.environment.iter().map(CString::as_c_str).collect();
        let params = Params {
            program: StringList::from(&program[..]),
            environment: StringList::from(&environment[..]),
            signal: options.signal,
            timeout: options.timeout,
            escalate: options.escalate,
            ..Params::new(&self.pid_file, &self.guard_file, action)
        };
        control(&params)
            .map(|outcome| outcome.status)
            .map_err(|error| error.display(&params).to_string())
    }

    /// The PID written in the PID file, if it holds one.
    pub fn written_pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.pid_path())
            .ok()?
            .trim_end()
            .parse()
            .ok()
    }

    /// Lines of the violation log.
    pub fn violations(&self) -> String {
        std::fs::read_to_string(&self.violations).unwrap_or_default()
    }

    /// Starts the daemon (with `extra` options) and returns its PID.
    pub fn start_daemon(&self, extra: &[&str]) -> i32 {
        assert_eq!(
            self.control(Action::Start, &self.daemon(extra)),
            Ok(Status::Ok)
        );
        self.written_pid().expect("daemon PID")
    }
}

impl Drop for Setup {
    /// Kills what a failed test may have left running and reaps it.
    fn drop(&mut self) {
        for pid in live_children() {
            kill(pid);
        }
        for pid in common::children_of_self() {
            let _ = common::wait_gone(pid, std::time::Duration::from_secs(2));
        }
        reap_zombies();
    }
}

/// Polls `condition` for up to `limit` (a margin scaled by `common::margin`).
pub fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + common::margin(limit);
    while std::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    condition()
}

/// A decoy process holding the PID file locked with `content` (see the fixture's docs);
/// killed and reaped on drop.
pub struct Decoy {
    pub child: std::process::Child,
}

impl Decoy {
    pub fn start(setup: &Setup, content: &str, later: Option<&str>) -> Self {
        Self::spawn(setup, content, later, false)
    }

    /// A decoy that hands the lock on to an heir once it is gone (`UCW_DECOY_HEIR`, see the
    /// fixture); the heir's PID is [`Decoy::heir`].
    pub fn start_with_heir(setup: &Setup, content: &str) -> Self {
        Self::spawn(setup, content, None, true)
    }

    /// The heir's PID (a decoy started with [`Decoy::start_with_heir`]).
    pub fn heir(setup: &Setup) -> i32 {
        let path = format!("{}.heir", setup.pid_file.to_str().unwrap());
        std::fs::read_to_string(path).unwrap().parse().unwrap()
    }

    fn spawn(setup: &Setup, content: &str, later: Option<&str>, heir: bool) -> Self {
        let ready = PathBuf::from(format!("{}.ready", setup.pid_file.to_str().unwrap()));
        let _ = std::fs::remove_file(&ready);
        let mut command = std::process::Command::new(example("fixture_control_decoy"));
        command.arg(setup.pid_path()).arg(content);
        if let Some(later) = later {
            command.arg(later);
        }
        if heir {
            command.env("UCW_DECOY_HEIR", "1");
        }
        let child = command.spawn().expect("spawn decoy");
        assert!(
            eventually(Duration::from_secs(10), || ready.exists()),
            "decoy not ready"
        );
        Self { child }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }
}

impl Drop for Decoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A long-sleeping process that is nothing to the protocol (a "stranger" whose PID a PID
/// file may name); killed and reaped on drop.
pub struct Stranger {
    pub child: std::process::Child,
}

impl Stranger {
    pub fn start() -> Self {
        let child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .expect("spawn sleep");
        Self { child }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Whether it is still running (it dies from any signal a controller would send).
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Stranger {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
