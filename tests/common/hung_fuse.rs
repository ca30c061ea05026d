//! A FUSE file system that hangs on demand, for tests of code that must not block on a hung
//! file system (the server is `tests/fixtures/hung_fuse.c`, built here with `cc` and
//! libfuse3).
//!
//! ```ignore
//! #[path = "common/hung_fuse.rs"]
//! mod hung_fuse;
//! let fs = hung_fuse::HungFs::mount();   // mounted and answering
//! let file = fs.file();                   // a regular file inside ("hello\n")
//! // ... let some process open `file` ...
//! fs.hang();                              // from now on no request is ever answered
//! // ... code under test: stat() of /proc/<pid>/fd/<n> now blocks, fdinfo does not ...
//! drop(fs);                               // abort + lazy unmount + kill server; never blocks
//! ```
//!
//! Needs root, `/dev/fuse`, `cc`, `pkg-config` and libfuse3 (`apt-get install -y fuse3
//! libfuse3-dev pkg-config`); without them [`HungFs::mount`] panics with the reason (it never
//! skips). Uses std only (no libc): helper programs run through `sh`, which writes their exit
//! status to a file, so the module also works in test binaries whose harness reaps every child
//! (`tests/common` does: its reaper thread may collect our children's statuses first).
//!
//! Safety net: the server gets SIGTERM when the thread that called [`HungFs::mount`] exits
//! (parent-death signal) and then detaches the mount and exits, which aborts the connection.
//! So keep a `HungFs` in the thread that made it, and a test process that dies without
//! dropping it still leaves nothing stuck.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant};

const SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/hung_fuse.c");
const INSTALL_HINT: &str = "apt-get install -y fuse3 libfuse3-dev pkg-config";
const FUSECTL: &str = "/sys/fs/fuse/connections";

static COUNTER: AtomicUsize = AtomicUsize::new(0);
static BINARY: OnceLock<PathBuf> = OnceLock::new();

/// A mounted `hung_fuse` file system; see the module documentation.
pub struct HungFs {
    /// Private directory holding `mnt/` and the server's log.
    dir: PathBuf,
    mountpoint: PathBuf,
    server: Mutex<Child>,
    server_pid: u32,
    /// Field 22 of the server's /proc/<pid>/stat, to never signal a reused pid.
    server_start: String,
    /// The connection number: the minor of the mount's device `0:N`.
    conn: u32,
    /// The mount id (first field of /proc/self/mountinfo).
    mount_id: u32,
    hung: AtomicBool,
    aborted: AtomicBool,
    unmounted: AtomicBool,
}

impl HungFs {
    /// Builds `tests/fixtures/hung_fuse.c` (once per test process, into the cargo target
    /// tmpdir), mounts it on a fresh directory under the temp dir and waits until it answers.
    pub fn mount() -> HungFs {
        let binary = BINARY.get_or_init(|| {
            preflight();
            build()
        });
        require_root_and_fusectl();
        let id = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("ucw-hung-fuse-{}-{id}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mountpoint = dir.join("mnt");
        fs::create_dir_all(&mountpoint).expect("create the FUSE mount point");
        let log = dir.join("server.log");
        let child = Command::new(binary)
            .arg(&mountpoint)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&log).expect("create the server log"))
            .stderr(fs::File::create(dir.join("server.err")).expect("create the server log"))
            .spawn()
            .unwrap_or_else(|e| panic!("HungFs: cannot start {}: {e}", binary.display()));
        let server_pid = child.id();
        let server_start = start_time(server_pid).unwrap_or_default();
        let mut this = HungFs {
            dir,
            mountpoint,
            server: Mutex::new(child),
            server_pid,
            server_start,
            conn: 0,
            mount_id: 0,
            hung: AtomicBool::new(false),
            aborted: AtomicBool::new(false),
            unmounted: AtomicBool::new(false),
        };
        // From here on, a panic drops `this`, which kills the server and cleans up.
        let deadline = Instant::now() + crate::common::margin(Duration::from_secs(10));
        let (mount_id, conn) = loop {
            if let Some(found) = find_mount(&this.mountpoint) {
                break found;
            }
            if !this.server_alive() || Instant::now() > deadline {
                panic!(
                    "HungFs: the FUSE server did not mount {} (alive: {}); its log:\n{}",
                    this.mountpoint.display(),
                    this.server_alive(),
                    this.log()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        this.mount_id = mount_id;
        this.conn = conn;
        let file = this.file();
        let answer = with_timeout(crate::common::margin(Duration::from_secs(10)), move || {
            fs::read(&file).map_err(|e| e.to_string())
        });
        match answer {
            Some(Ok(content)) if content == b"hello\n" => {}
            other => panic!(
                "HungFs: the mounted file system does not answer as expected ({other:?}); log:\n{}",
                this.log()
            ),
        }
        this
    }

    /// The regular file inside the file system (6 bytes, "hello\n"; writes are discarded).
    pub fn file(&self) -> PathBuf {
        self.mountpoint.join("file")
    }

    /// The mount point.
    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    /// The FUSE connection number (`/sys/fs/fuse/connections/<N>`, the mount's device 0:N).
    pub fn connection(&self) -> u32 {
        self.conn
    }

    /// The server's pid.
    pub fn server_pid(&self) -> u32 {
        self.server_pid
    }

    /// From now on every request (stat, open, read, close's flush, ...) blocks forever, until
    /// [`abort`](Self::abort) or drop. Returns once the server has switched (a lookup of
    /// `hang` is the trigger; its ENOENT answer is the acknowledgement). Idempotent.
    pub fn hang(&self) {
        if self.aborted.load(Ordering::SeqCst) || self.hung.swap(true, Ordering::SeqCst) {
            return;
        }
        let trigger = self.mountpoint.join("hang");
        let answer = with_timeout(crate::common::margin(Duration::from_secs(10)), move || {
            fs::metadata(&trigger).map(|_| ()).map_err(|e| e.kind())
        });
        if answer != Some(Err(ErrorKind::NotFound)) {
            panic!(
                "HungFs: the hang trigger was not acknowledged ({answer:?}); log:\n{}",
                self.log()
            );
        }
    }

    /// Aborts the connection: every waiting and future request fails at once (ECONNABORTED /
    /// ENOTCONN), so processes stuck on the file system continue or die. Idempotent; touches
    /// nothing on the FUSE file system itself, so it cannot block.
    pub fn abort(&self) {
        if self.unmounted.load(Ordering::SeqCst) {
            return;
        }
        // Only while our mount is still there is connection N ours.
        if self.mount_id == 0 {
            self.kill_server(); // not mounted yet (a failing mount()): the kill aborts
        } else if find_mount(&self.mountpoint) == Some((self.mount_id, self.conn)) {
            let control = format!("{FUSECTL}/{}/abort", self.conn);
            if fs::write(&control, "1").is_err() {
                // No fusectl: the server's death closes /dev/fuse, which aborts as well.
                self.kill_server();
            }
        }
        self.aborted.store(true, Ordering::SeqCst);
    }

    /// The server's stdout and stderr so far.
    pub fn log(&self) -> String {
        let out = fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let err = fs::read_to_string(self.dir.join("server.err")).unwrap_or_default();
        format!("{out}{err}")
    }

    fn server_alive(&self) -> bool {
        matches!(proc_state(self.server_pid), Some(state) if state != "Z" && state != "X")
            && start_time(self.server_pid).as_deref() == Some(self.server_start.as_str())
    }

    /// SIGKILLs the server (unless gone or its pid reused) and reaps it, waiting at most 5 s.
    fn kill_server(&self) -> bool {
        let mut child = self.server.lock().unwrap_or_else(|e| e.into_inner());
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        if start_time(self.server_pid).as_deref() == Some(self.server_start.as_str()) {
            let _ = child.kill();
        }
        let deadline = Instant::now() + crate::common::margin(Duration::from_secs(5));
        loop {
            match child.try_wait() {
                Ok(Some(_)) => return true,
                // Reaped by someone else (a harness's reaper thread): gone once /proc says so.
                Err(_) if !self.server_alive() => return true,
                _ => {}
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for HungFs {
    /// Abort, kill and reap the server, lazily unmount, remove the directory. Never blocks
    /// (every wait is bounded); panics afterwards (unless already panicking) if something
    /// could not be cleaned up.
    fn drop(&mut self) {
        let mut problems = Vec::new();
        self.abort();
        if !self.kill_server() {
            problems.push(format!("server {} did not die", self.server_pid));
        }
        if let Some((id, _)) = find_mount(&self.mountpoint) {
            let umount = run(
                &self.dir,
                "umount",
                ["-l".as_ref(), self.mountpoint.as_os_str()],
            );
            let deadline = Instant::now() + crate::common::margin(Duration::from_secs(5));
            while find_mount(&self.mountpoint).map(|(id, _)| id) == Some(id) {
                if Instant::now() > deadline {
                    problems.push(format!(
                        "{} is still mounted (umount -l: {umount:?})",
                        self.mountpoint.display()
                    ));
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        self.unmounted.store(true, Ordering::SeqCst);
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            if e.kind() != ErrorKind::NotFound {
                problems.push(format!("cannot remove {}: {e}", self.dir.display()));
            }
        }
        if !problems.is_empty() {
            let message = format!("HungFs cleanup: {}", problems.join("; "));
            if std::thread::panicking() {
                eprintln!("{message}");
            } else {
                panic!("{message}");
            }
        }
    }
}

/// Root, and fusectl mounted (mounted here if not).
fn require_root_and_fusectl() {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .unwrap_or("?");
    if euid != "0" {
        panic!("HungFs needs root to mount a FUSE file system (effective uid {euid}); run the tests as root as CI does");
    }
    let mounts = fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    if !mounts
        .lines()
        .any(|line| line.split(' ').nth(2) == Some("fusectl"))
    {
        // Without it abort() falls back to killing the server, which aborts as well.
        let _ = run(
            &std::env::temp_dir(),
            "mount",
            ["-t", "fusectl", "fusectl", FUSECTL],
        );
    }
}

/// Root, /dev/fuse, cc, pkg-config and libfuse3 (checked once per process, before building).
fn preflight() {
    require_root_and_fusectl();
    if !Path::new("/dev/fuse").exists() {
        panic!("HungFs needs /dev/fuse (the kernel's FUSE support); it is missing");
    }
    let dir = std::env::temp_dir();
    match run(&dir, "pkg-config", ["--exists", "fuse3"]) {
        Ok(_) => {}
        Err(e) => {
            panic!("HungFs needs libfuse3 and pkg-config ({e}); install them: {INSTALL_HINT}")
        }
    }
    if let Err(e) = run(&dir, "cc", ["--version"]) {
        panic!("HungFs needs a C compiler `cc` ({e}); apt-get install -y gcc");
    }
    let mounts = fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    if !mounts
        .lines()
        .any(|line| line.split(' ').nth(2) == Some("fusectl"))
    {
        // Without it abort() falls back to killing the server, which aborts as well.
        let _ = run(&dir, "mount", ["-t", "fusectl", "fusectl", FUSECTL]);
    }
}

/// Compiles the server; the binary is replaced atomically (test processes may run at once).
fn build() -> PathBuf {
    let out_dir =
        PathBuf::from(option_env!("CARGO_TARGET_TMPDIR").unwrap_or("/tmp")).join("hung_fuse");
    fs::create_dir_all(&out_dir).expect("create the hung_fuse build directory");
    let binary = out_dir.join("hung_fuse");
    let temporary = out_dir.join(format!("hung_fuse.{}.tmp", std::process::id()));
    let flags = run(&out_dir, "pkg-config", ["--cflags", "--libs", "fuse3"])
        .unwrap_or_else(|e| panic!("pkg-config fuse3: {e}; install: {INSTALL_HINT}"));
    let mut args: Vec<&OsStr> = vec![
        "-O2".as_ref(),
        "-Wall".as_ref(),
        "-o".as_ref(),
        temporary.as_os_str(),
        SOURCE.as_ref(),
    ];
    args.extend(flags.split_whitespace().map(OsStr::new));
    if let Err(e) = run(&out_dir, "cc", args) {
        panic!("HungFs: cannot build {SOURCE}: {e}");
    }
    fs::rename(&temporary, &binary).expect("install the hung_fuse binary");
    binary
}

/// Runs `program args` through `sh`, which records the exit status in a file (so a reaper
/// elsewhere in the process cannot hide it). Ok(output) on exit 0, Err(description) otherwise.
/// At most 120 s.
fn run<I, S>(dir: &Path, program: &str, args: I) -> Result<String, String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let id = COUNTER.fetch_add(1, Ordering::Relaxed);
    let out = dir.join(format!(".hung-fuse-run.{}.{id}.out", std::process::id()));
    let status = dir.join(format!(".hung-fuse-run.{}.{id}.status", std::process::id()));
    let script =
        r#"out=$1 st=$2; shift 2; "$@" >"$out" 2>&1; echo $? >"$st.tmp" && mv "$st.tmp" "$st""#;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(&out)
        .arg(&status)
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run sh: {e}"))?;
    let deadline = Instant::now() + crate::common::margin(Duration::from_secs(120));
    let code = loop {
        if let Ok(text) = fs::read_to_string(&status) {
            break text.trim().to_string();
        }
        if let Ok(Some(_)) = child.try_wait() {
            // sh exited; the status file is written before that, so one more look decides.
            break fs::read_to_string(&status)
                .map(|t| t.trim().to_string())
                .unwrap_or_else(|_| "?".into());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break "timeout".to_string();
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let deadline = Instant::now() + crate::common::margin(Duration::from_secs(5));
    while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    let output = fs::read_to_string(&out).unwrap_or_default();
    let _ = fs::remove_file(&out);
    let _ = fs::remove_file(&status);
    if code == "0" {
        Ok(output)
    } else if code == "127" {
        Err(format!("`{program}` not found"))
    } else {
        Err(format!("`{program}` exited with {code}: {}", output.trim()))
    }
}

/// Runs `f` in a thread; its result, or None when it has not returned within `limit` (the
/// thread is left behind, stuck: abort the file system to free it).
fn with_timeout<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit).ok()
}

/// (mount id, connection number) of the FUSE mount on `mountpoint`, from /proc/self/mountinfo.
fn find_mount(mountpoint: &Path) -> Option<(u32, u32)> {
    let wanted = mountpoint.to_str()?;
    let info = fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().rev().find_map(|line| {
        let fields: Vec<&str> = line.split(' ').collect();
        let separator = fields.iter().position(|f| *f == "-")?;
        if fields.get(4) != Some(&wanted) || fields.get(separator + 1) != Some(&"fuse.hung_fuse") {
            return None;
        }
        let (major, minor) = fields.get(2)?.split_once(':')?;
        if major != "0" {
            return None;
        }
        Some((fields[0].parse().ok()?, minor.parse().ok()?))
    })
}

/// The state letter of /proc/<pid>/stat (the field after the last ')').
fn proc_state(pid: u32) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(
        stat.rsplit_once(')')?
            .1
            .split_whitespace()
            .next()?
            .to_string(),
    )
}

/// Field 22 (starttime) of /proc/<pid>/stat.
fn start_time(pid: u32) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(
        stat.rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(19)?
            .to_string(),
    )
}
