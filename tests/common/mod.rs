//! Shared test harness: makes the test process a child subreaper (orphaned daemons are
//! re-parented to us instead of to PID 1, which reaps slowly here) and runs one reaper thread
//! that is the only caller of `wait` in the process. Programs are spawned with
//! [`Harness::spawn`] / [`Harness::run`], never with `Command::output`/`wait` directly.
//!
//! Output goes to files, never to pipes: a daemon keeps stderr open, so waiting for a pipe's
//! EOF would wait for the daemon.
//!
//! Every wait here for something that must happen ([`Harness::wait`], [`wait_gone`],
//! [`eventually`]) takes its limit as a margin and scales it with the machine's load
//! ([`margin`]), so a loaded machine never turns a slow success into a failure.
#![allow(dead_code)]

mod margin;

// Not every test file prints the factor.
#[allow(unused_imports)]
pub use margin::{margin, slowdown};

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Reaped exit statuses of the children we spawned (by pid), and the pids we spawned; and
/// how the orphans the reaper collected ended (the latest for each number), for reports.
struct Table {
    spawned: HashMap<i32, Option<ExitStatus>>,
    orphans: HashMap<i32, ExitStatus>,
}

/// The process-wide harness.
pub struct Harness {
    table: Mutex<Table>,
    changed: Condvar,
}

static HARNESS: OnceLock<&'static Harness> = OnceLock::new();

/// The harness of this test process (installed on first use).
pub fn harness() -> &'static Harness {
    HARNESS.get_or_init(|| {
        rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
            .expect("PR_SET_CHILD_SUBREAPER");
        let harness: &'static Harness = Box::leak(Box::new(Harness {
            table: Mutex::new(Table {
                spawned: HashMap::new(),
                orphans: HashMap::new(),
            }),
            changed: Condvar::new(),
        }));
        std::thread::spawn(move || harness.reap_forever());
        harness
    })
}

/// What a finished program left behind.
#[derive(Debug)]
pub struct Output {
    /// Exit code, or `None` when killed by a signal.
    pub code: Option<i32>,
    /// The terminating signal, if any.
    pub signal: Option<i32>,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl Harness {
    fn reap_forever(&self) {
        loop {
            match rustix::process::wait(rustix::process::WaitOptions::empty()) {
                Ok(Some((pid, status))) => {
                    let mut table = self.table.lock().unwrap();
                    let raw = pid.as_raw_nonzero().get();
                    let status = ExitStatus::from_raw(status.as_raw());
                    if let Some(slot) = table.spawned.get_mut(&raw) {
                        *slot = Some(status);
                        self.changed.notify_all();
                    } else {
                        table.orphans.insert(raw, status);
                    }
                }
                Ok(None) => {}
                Err(rustix::io::Errno::CHILD) => std::thread::sleep(Duration::from_millis(5)),
                Err(rustix::io::Errno::INTR) => {}
                Err(error) => panic!("wait: {error}"),
            }
        }
    }

    /// How the orphan `pid` (a process this test did not spawn, re-parented to it) ended,
    /// when the reaper collected one with that number.
    pub fn end_of_orphan(&self, pid: i32) -> Option<ExitStatus> {
        self.table.lock().unwrap().orphans.get(&pid).copied()
    }

    /// Spawns `command` with stdout/stderr to files in `dir`; returns its pid and the paths.
    pub fn spawn(&self, mut command: Command, dir: &Path) -> Spawned {
        let id = COUNTER.fetch_add(1, Ordering::Relaxed);
        let stdout_path = dir.join(format!("out.{id}"));
        let stderr_path = dir.join(format!("err.{id}"));
        command.stdin(Stdio::null());
        command.stdout(fs::File::create(&stdout_path).unwrap());
        command.stderr(fs::File::create(&stderr_path).unwrap());
        // The lock is held across spawn and registration, so the reaper cannot record (and
        // drop) the exit of a child it does not know yet.
        let mut table = self.table.lock().unwrap();
        let child = command.spawn().expect("spawn");
        let pid = child.id() as i32;
        table.spawned.insert(pid, None);
        drop(table);
        std::mem::forget(child);
        Spawned {
            pid,
            stdout_path,
            stderr_path,
        }
    }

    /// Waits (at most `limit`, a margin scaled by [`margin`]) for a spawned process to exit.
    pub fn wait(&self, spawned: &Spawned, limit: Duration) -> Output {
        let limit = margin(limit);
        let deadline = Instant::now() + limit;
        let mut table = self.table.lock().unwrap();
        let status = loop {
            if let Some(Some(status)) = table.spawned.get(&spawned.pid) {
                break *status;
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "process {} did not exit within {limit:?}",
                spawned.pid
            );
            table = self.changed.wait_timeout(table, deadline - now).unwrap().0;
        };
        table.spawned.remove(&spawned.pid);
        drop(table);
        Output {
            code: status.code(),
            signal: status.signal(),
            stdout: fs::read_to_string(&spawned.stdout_path).unwrap_or_default(),
            stderr: fs::read_to_string(&spawned.stderr_path).unwrap_or_default(),
        }
    }

    /// Runs a program to completion (at most 30 s).
    pub fn run<I, S>(&self, program: impl AsRef<OsStr>, args: I, dir: &Path) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(program);
        command.args(args);
        let spawned = self.spawn(command, dir);
        self.wait(&spawned, Duration::from_secs(30))
    }
}

/// A spawned program.
pub struct Spawned {
    /// Its pid.
    pub pid: i32,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
}

/// A fresh private directory under /tmp (mode 0700), removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Makes a new directory named after `label`.
    pub fn new(label: &str) -> Self {
        let id = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("ucw-test-{label}-{}-{id}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o700)).unwrap();
        Self(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A path inside it.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// SIGKILLs the processes it names when dropped, whatever the test's outcome: a test that
/// fails halfway leaves nothing running.
pub struct KillOnDrop(pub Vec<i32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for &pid in &self.0 {
            if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
    }
}

/// Whether `pid` is a live process (not a zombie, not gone).
pub fn is_alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().next());
            !matches!(state, Some("Z") | Some("X") | None)
        }
        Err(_) => false,
    }
}

/// Waits up to `limit` (a margin scaled by [`margin`]) for `pid` to be gone (or a zombie);
/// returns whether it went.
pub fn wait_gone(pid: i32, limit: Duration) -> bool {
    let deadline = Instant::now() + margin(limit);
    while Instant::now() < deadline {
        if !is_alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    !is_alive(pid)
}

/// The pids whose parent is this test process (children and adopted orphans), excluding
/// threads.
pub fn children_of_self() -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) else {
            continue;
        };
        let ppid = status
            .lines()
            .find_map(|line| line.strip_prefix("PPid:"))
            .and_then(|value| value.trim().parse::<i32>().ok());
        if ppid == Some(me) {
            found.push(pid);
        }
    }
    found
}

/// Fails the test with a clear message unless it runs as root (CI is root): the second line
/// of defence behind `#[cfg_attr(not(ucw_test_as_root), ignore = "needs root: <why>")]`,
/// which build.rs turns on when the build runs as root. Never skip silently.
pub fn require_root(what: &str) {
    if !rustix::process::geteuid().is_root() {
        panic!("{what} needs root (user switching/chroot); run the tests as root as CI does");
    }
}

/// The directory this test program was built in: `<target>/[<triple>/]<profile>` (the
/// program itself is `<profile>/deps/<name>-<hash>`); the tools and the fixtures are built
/// there too.
fn profile_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let program = std::env::current_exe().expect("the test program's path");
        program
            .parent()
            .and_then(Path::parent)
            .expect("a test program lives in <target>/<profile>/deps/")
            .to_path_buf()
    })
}

/// The root of the workspace (the library's package, where the tools' workspace is too).
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Adds the profile and target of this test program to a `cargo build`.
fn same_profile_and_target(command: &mut Command, target_dir: &Path, triple: Option<String>) {
    command
        .arg("--manifest-path")
        .arg(workspace_root().join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    match profile_dir().file_name().and_then(OsStr::to_str) {
        Some("debug") => {}
        Some("release") => {
            command.arg("--release");
        }
        Some(profile) => {
            command.args(["--profile", profile]);
        }
        None => {}
    }
    if let Some(triple) = triple {
        command.args(["--target", &triple]);
    }
}

/// The cargo target directory (`--target-dir`) and the target triple the tools were built
/// for, when one was given (`<target>/<triple>/<profile>/`).
fn target_dir_and_triple() -> (PathBuf, Option<String>) {
    let above = profile_dir()
        .parent()
        .expect("the tool lives in <target>/<profile>/");
    match above.file_name().and_then(OsStr::to_str) {
        Some(name) if names_a_target_of_this_machine(name) && above.parent().is_some() => {
            (above.parent().unwrap().to_path_buf(), Some(name.to_owned()))
        }
        _ => (above.to_path_buf(), None),
    }
}

/// Whether a directory name is a target triple for the architecture this test runs on
/// (`x86_64-unknown-linux-gnu`, `aarch64-unknown-linux-musl`): the directory of a cross build
/// under its target directory. Any other name (`target`, `gnu-ld`, a `CARGO_TARGET_DIR` made
/// before cargo ran, so without cargo's CACHEDIR.TAG) is the target directory itself.
fn names_a_target_of_this_machine(name: &str) -> bool {
    name.split('-').next() == Some(std::env::consts::ARCH) && name.contains("-linux")
}

/// Runs a build command to completion (at most 10 min) and fails the test if it fails. Under
/// the harness (its reaper thread would take the exit status of any other child) it is
/// spawned through it; a test binary that never installs the harness waits itself.
fn run_build(mut command: Command, what: &str) {
    let output = match HARNESS.get() {
        Some(harness) => {
            let logs = TempDir::new("build");
            let spawned = harness.spawn(command, logs.path());
            let output = harness.wait(&spawned, Duration::from_secs(600));
            (output.code, output.stderr)
        }
        None => {
            let output = command.output().expect("spawn cargo");
            (
                output.status.code(),
                String::from_utf8_lossy(&output.stderr).into_owned(),
            )
        }
    };
    assert_eq!(output.0, Some(0), "cannot build {what}: {}", output.1);
}

/// `<target>/<profile>/examples/<name>` (a fixture of tests/fixtures or an example), built
/// first with `cargo build --example <name>` for the tools' profile and target: `cargo test
/// --test X` builds only X and the tools, so an example could be missing or, worse, stale
/// (built from older sources). Cargo's own locks make concurrent builds safe; each name is
/// built once per test process.
pub fn built_example(name: &str) -> PathBuf {
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let path = profile_dir().join("examples").join(name);
    let mut built = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if built.iter().any(|known| known == name) {
        return path;
    }
    let (target_dir, triple) = target_dir_and_triple();
    let mut command = Command::new(option_env!("CARGO").unwrap_or("cargo"));
    command.args(["build", "--quiet", "-p", "ucw-daemon", "--example", name]);
    same_profile_and_target(&mut command, &target_dir, triple);
    run_build(command, &format!("the example {name}"));
    assert!(path.is_file(), "cargo built no {}", path.display());
    built.push(name.to_string());
    path
}

/// A static, libc-free sleeper for the host (tests/aarch64-sleeper, built once per test
/// process into `<target>/sleeper`): a program whose descriptors are exactly what it
/// inherited from its first instruction on (a dynamic `/bin/sleep`'s loader briefly opens
/// `ld.so.cache` and libc, on the lowest free numbers). It blocks SIGHUP, SIGINT and SIGTERM
/// and waits for them: SIGHUP writes `reload` to stderr, SIGINT or SIGTERM `stop`, then it
/// exits 0. It takes no arguments and never ends by itself.
pub fn static_sleeper() -> PathBuf {
    static SLEEPER: OnceLock<PathBuf> = OnceLock::new();
    SLEEPER
        .get_or_init(|| {
            let manifest =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/aarch64-sleeper/Cargo.toml");
            let sleeper_target = target_dir_and_triple().0.join("sleeper");
            let mut command = Command::new(option_env!("CARGO").unwrap_or("cargo"));
            command
                .args(["build", "--quiet", "--release", "--manifest-path"])
                .arg(&manifest)
                .arg("--target-dir")
                .arg(&sleeper_target)
                // The main package's flags (a linker for another target) are not the
                // sleeper's.
                .env_remove("RUSTFLAGS")
                .env_remove("CARGO_ENCODED_RUSTFLAGS");
            run_build(command, "the static test sleeper");
            let path = sleeper_target.join("release/ucw-test-sleeper");
            assert!(path.is_file(), "cargo built no {}", path.display());
            path
        })
        .clone()
}

/// Reads a `Key:\tvalue` line of `/proc/<pid>/status`.
pub fn proc_status_field(pid: i32, key: &str) -> Option<String> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| {
            line.strip_prefix(key)
                .and_then(|rest| rest.strip_prefix(':'))
        })
        .map(|value| value.trim().to_string())
}

// --- The tools and the hostile fixture, as the tool-level test files run them -----------

/// The directory of the multi-call binary as the tests run it: `<profile>/tools/` holds
/// `ucw-daemon` and two hard links to it, `ucw-daemon-control` and `ucw-daemonize`, so every
/// test of either tool runs the one file under the name users type. The binary is built
/// first (`cargo build -p ucw-daemon-tools --bins`, all default features, for this test
/// program's profile and target; a no-op when fresh): `cargo test --test X` could otherwise
/// run a missing or stale tool.
pub fn tools_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        harness();
        let (target_dir, triple) = target_dir_and_triple();
        let mut command = Command::new(option_env!("CARGO").unwrap_or("cargo"));
        command.args(["build", "--quiet", "-p", "ucw-daemon-tools", "--bins"]);
        same_profile_and_target(&mut command, &target_dir, triple);
        run_build(command, "the tools (ucw-daemon-tools)");
        let built = profile_dir().join("ucw-daemon");
        assert!(built.is_file(), "cargo built no {}", built.display());
        let dir = profile_dir().join("tools");
        fs::create_dir_all(&dir).unwrap();
        for name in ["ucw-daemon", "ucw-daemon-control", "ucw-daemonize"] {
            // A fresh link under a private name, renamed over the old one: another test
            // program may be running the old one right now.
            let fresh = dir.join(format!(".{name}.{}", std::process::id()));
            let _ = fs::remove_file(&fresh);
            fs::hard_link(&built, &fresh).expect("hard link to the multi-call binary");
            fs::rename(&fresh, dir.join(name)).unwrap();
        }
        dir
    })
}

/// The multi-call binary built with `cargo build -p ucw-daemon-tools --no-default-features
/// [--features FEATURES]` in a target directory of its own (`<target>/tools-<label>`), for
/// this test program's profile; its path. A build of the tools alone: no other crate's
/// features are unified into it (without `messages`, the library's errors are short lines).
pub fn tools_built_with(label: &str, features: &[&str]) -> PathBuf {
    harness();
    let (target_dir, triple) = target_dir_and_triple();
    let own = target_dir.join(format!("tools-{label}"));
    let mut command = Command::new(option_env!("CARGO").unwrap_or("cargo"));
    command.args([
        "build",
        "--quiet",
        "-p",
        "ucw-daemon-tools",
        "--bin",
        "ucw-daemon",
        "--no-default-features",
    ]);
    if !features.is_empty() {
        command.args(["--features", &features.join(",")]);
    }
    let profile = profile_dir().file_name().unwrap().to_owned();
    let built = match &triple {
        Some(triple) => own.join(triple).join(&profile),
        None => own.join(&profile),
    }
    .join("ucw-daemon");
    same_profile_and_target(&mut command, &own, triple);
    run_build(
        command,
        &format!("the tools without default features ({label})"),
    );
    assert!(built.is_file(), "cargo built no {}", built.display());
    built
}

/// A path under [`tools_dir`] as a `&'static str`.
fn tool_path(cell: &'static OnceLock<String>, name: &str) -> &'static str {
    cell.get_or_init(|| tools_dir().join(name).to_str().unwrap().to_string())
}

/// `ucw-daemon-control`: the multi-call binary under that name (a hard link).
pub fn control_tool() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    tool_path(&PATH, "ucw-daemon-control")
}

/// `ucw-daemonize`: the multi-call binary under that name (a hard link).
pub fn daemonize_tool() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    tool_path(&PATH, "ucw-daemonize")
}

/// `ucw-daemon`: the multi-call binary under its own name.
pub fn multicall_tool() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    tool_path(&PATH, "ucw-daemon")
}

/// A fixture program, built for this test process if needed; the harness is installed first,
/// so that its reaper cannot start between the build's spawn and its wait.
pub fn fixture(name: &str) -> PathBuf {
    harness();
    built_example(name)
}

/// A path as the `&str` a command line takes (the tests' paths are UTF-8).
pub fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Runs `ucw-daemon-control` with `arguments` (at most 30 s).
pub fn run_control(dir: &TempDir, arguments: &[&str]) -> Output {
    harness().run(control_tool(), arguments, dir.path())
}

/// `ucw-daemon-control [control options] --start --pid-file P -- ucw-daemonize --pid-file P
/// [options] -- command...`: a START of `command` under `ucw-daemonize`.
pub fn start_supervised(
    dir: &TempDir,
    pid: &Path,
    control_options: &[&str],
    options: &[&str],
    command: &[&str],
) -> Output {
    let mut arguments = vec!["--start", "--pid-file", text(pid)];
    arguments.extend_from_slice(control_options);
    arguments.extend_from_slice(&["--", daemonize_tool(), "--pid-file", text(pid)]);
    arguments.extend_from_slice(options);
    arguments.push("--");
    arguments.extend_from_slice(command);
    run_control(dir, &arguments)
}

/// [`start_supervised`] of `fixture_hostile_program [words]`
/// (tests/fixtures/hostile_program.rs).
pub fn start_hostile(
    dir: &TempDir,
    pid: &Path,
    control_options: &[&str],
    options: &[&str],
    words: &[&str],
) -> Output {
    let program = fixture("fixture_hostile_program");
    let command = [&[text(&program)][..], words].concat();
    start_supervised(dir, pid, control_options, options, &command)
}

/// The `key=` numbers a hostile program appended to its report file.
pub fn reported(report: &Path, key: &str) -> Vec<i32> {
    fs::read_to_string(report)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.strip_prefix(key))
        .filter_map(|value| value.parse().ok())
        .collect()
}

/// Polls `condition` every 10 ms for up to `limit` (a margin scaled by [`margin`]).
pub fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + margin(limit);
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    condition()
}

/// `--check` of the daemon of `pid`: its exit code.
pub fn check(dir: &TempDir, pid: &Path) -> Option<i32> {
    run_control(dir, &["--check", "--pid-file", text(pid)]).code
}

/// `--stop` of the daemon of `pid` (no deadline): its exit code.
pub fn stop(dir: &TempDir, pid: &Path) -> Option<i32> {
    run_control(dir, &["--stop", "--pid-file", text(pid)]).code
}
