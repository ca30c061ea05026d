//! Soak and chaos test: many controllers of both tools in parallel on a few daemons, random
//! actions, and faults injected at exact points through fail points (a process that reaches
//! the armed point stops itself; the fault thread finds it stopped and kills or continues it),
//! plus daemons killed at random while they run.
//!
//! Invariants, checked independently of the PID file: each daemon body
//! (`tests/fixtures/soak_daemon.rs`, `fixture_soak_daemon`) holds a sentinel lock on a file
//! of its own, so "at most one daemon alive" is witnessed by the body itself, and checks that
//! it inherited no descriptor but 0–2 and the PID file's read-only lock description (which
//! `ucw-daemonize` hands its program); `/proc/locks` tells the test who holds the PID file
//! and the sentinel, so every state a check reports in a quiet moment is compared with the
//! truth; every start/stop that no fault disturbed must succeed, and at the end every
//! instance must stop, start and stop again; no process, zombie or descriptor may be left
//! behind.
//!
//! Size: `UCW_SOAK_OPERATIONS` (default 1000) tool runs within `UCW_SOAK_SECONDS` (default
//! 170); it needs at least one injected fault per 25 operations. CI runs 10,000 operations
//! (about 20 s on a 2-core machine).
//! It prints `operations N, faults N, violations N`.

mod common;

// Plain `cargo test` builds the tools with fail points (the package's dev-dependency on
// itself enables `failpoints`).
mod soak {
    use crate::common::{self, harness, Output, TempDir};
    use std::collections::BTreeMap;
    use std::fs;
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    const CONTROL: &str = env!("CARGO_BIN_EXE_ucw-daemon-control");
    const DAEMONIZE: &str = env!("CARGO_BIN_EXE_ucw-daemonize");
    const WORKERS: usize = 8;
    const INSTANCES: usize = 4;
    /// Fail points a tool run may arm (one at a time). Points that an operation does not pass
    /// never fire; the per-point counts in the summary show which ones did.
    const POINTS: &[&str] = &[
        // ucw-daemon-control
        "control-guard-held",
        "control-launcher-forked",
        "control-stop-signalled",
        // the launcher and the daemon (src/daemon.rs, run by ucw-daemonize)
        "launcher-before-fork",
        "launcher-after-fork",
        "daemon-after-setup",
        "daemon-before-body",
        // ucw-daemonize's supervisor
        "supervisor-before-confirm",
        "supervisor-program-exited",
    ];

    fn fixture() -> PathBuf {
        common::built_example("fixture_soak_daemon")
    }

    /// A small xorshift generator: the test needs no dependency for its dice.
    struct Dice(u64);

    impl Dice {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, bound: u64) -> u64 {
            self.next() % bound
        }

        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }
    }

    /// One daemon identity: its PID file (guard derived as `X.lock`), sentinel and log.
    struct Instance {
        index: usize,
        pid_file: PathBuf,
        sentinel: PathBuf,
        log: PathBuf,
        /// Operations and faults in flight that may change the state.
        busy: AtomicUsize,
        /// Bumped when a state-changing operation or fault begins or ends.
        generation: AtomicU64,
        /// Bumped when the fault thread starts killing a process of this instance and again
        /// once that process and its children are gone (odd: a kill is in flight).
        kills: AtomicU64,
        /// Bumped when a direct `ucw-daemonize` start (which bypasses the guard) begins and
        /// when it ends.
        direct_starts: AtomicU64,
    }

    impl Instance {
        /// Marks a state change in flight; returns the generation it made, and whether it
        /// was the only one.
        fn enter(&self) -> (u64, bool) {
            let alone = self.busy.fetch_add(1, Ordering::SeqCst) == 0;
            (self.generation.fetch_add(1, Ordering::SeqCst) + 1, alone)
        }

        fn leave(&self) {
            self.generation.fetch_add(1, Ordering::SeqCst);
            self.busy.fetch_sub(1, Ordering::SeqCst);
        }

        fn pid_file_text(&self) -> Option<String> {
            fs::read_to_string(&self.pid_file).ok()
        }
    }

    /// What the test sees of an instance, from `/proc/locks` and the files.
    #[derive(Debug, PartialEq, Eq)]
    enum Truth {
        /// PID file unlocked and sentinel free; `stale` when the PID file has content.
        Stopped { stale: bool },
        /// PID file locked by the supervisor whose PID it holds, sentinel held by its child.
        Running { supervisor: i32 },
        /// Anything else (in transition, or broken).
        Unsettled(String),
    }

    struct Soak {
        tag: String,
        dir: TempDir,
        instances: Vec<Instance>,
        operations: AtomicU64,
        faults: AtomicU64,
        per_point: Mutex<BTreeMap<String, u64>>,
        outcomes: Mutex<BTreeMap<String, u64>>,
        violations: Mutex<Vec<String>>,
        verified_checks: AtomicU64,
        verified_actions: AtomicU64,
        /// No more random kills (the final recovery runs).
        calm: AtomicBool,
        stop: AtomicBool,
    }

    impl Soak {
        fn violation(&self, text: String) {
            eprintln!("soak: VIOLATION {text}");
            self.violations.lock().unwrap().push(text);
        }

        fn count(&self, map: &Mutex<BTreeMap<String, u64>>, key: String) {
            *map.lock().unwrap().entry(key).or_default() += 1;
        }

        /// Runs one tool with the soak's environment (and a fail point, if any).
        fn run(
            &self,
            instance: &Instance,
            program: &str,
            args: &[&str],
            point: Option<&str>,
        ) -> Output {
            let logs = self.dir.join("logs");
            let mut command = Command::new(program);
            command
                .args(args)
                .env("UCW_SOAK_RUN", &self.tag)
                .env("UCW_SOAK_INSTANCE", instance.index.to_string());
            match point {
                Some(point) => command.env("UCW_FAILPOINT", point),
                None => command.env_remove("UCW_FAILPOINT"),
            };
            let spawned = harness().spawn(command, &logs);
            let output = harness().wait(&spawned, Duration::from_secs(60));
            self.operations.fetch_add(1, Ordering::Relaxed);
            if output.stderr.contains("internal error (panic)") {
                self.violation(format!("{program} {args:?} panicked: {}", output.stderr));
            }
            output
        }

        fn control(&self, instance: &Instance, action: &str, point: Option<&str>) -> Output {
            let pid_file = instance.pid_file.to_str().unwrap();
            let sentinel = instance.sentinel.to_str().unwrap();
            let log = instance.log.to_str().unwrap();
            let fixture = fixture();
            let fixture = fixture.to_str().unwrap();
            let mut args = vec![action, "--pid-file", pid_file, "--timeout=5"];
            if action == "--start" {
                args.extend_from_slice(&[
                    "--",
                    DAEMONIZE,
                    "--pid-file",
                    pid_file,
                    "--",
                    fixture,
                    sentinel,
                    log,
                    // The body may have the PID file's lock open (ucw-daemonize hands it
                    // the read-only lock description), nothing else.
                    pid_file,
                ]);
            }
            self.run(instance, CONTROL, &args, point)
        }

        fn direct_start(&self, instance: &Instance, point: Option<&str>) -> Output {
            let fixture = fixture();
            let args = [
                "--pid-file",
                instance.pid_file.to_str().unwrap(),
                "--",
                fixture.to_str().unwrap(),
                instance.sentinel.to_str().unwrap(),
                instance.log.to_str().unwrap(),
                instance.pid_file.to_str().unwrap(),
            ];
            self.run(instance, DAEMONIZE, &args, point)
        }

        /// Whether the PID file is locked exclusively, its content, and who holds the
        /// sentinel.
        fn facts(&self, instance: &Instance) -> (bool, String, Vec<i32>) {
            let locks = flock_holders();
            let holders_of = |path: &Path| -> Vec<i32> {
                use std::os::unix::fs::MetadataExt;
                fs::metadata(path).map_or(Vec::new(), |metadata| {
                    locks
                        .iter()
                        .filter(|(device, inode, _)| {
                            *inode == metadata.ino() && *device == metadata.dev()
                        })
                        .map(|(_, _, pid)| *pid)
                        .collect()
                })
            };
            let locked = !holders_of(&instance.pid_file).is_empty();
            let content = instance.pid_file_text().unwrap_or_default();
            (locked, content, holders_of(&instance.sentinel))
        }

        /// The state of `instance` as the kernel knows it.
        fn truth(&self, instance: &Instance) -> Truth {
            let locks = flock_holders();
            let holders_of = |path: &Path| -> Vec<i32> {
                match fs::metadata(path) {
                    Ok(metadata) => {
                        use std::os::unix::fs::MetadataExt;
                        locks
                            .iter()
                            .filter(|(device, inode, _)| {
                                *inode == metadata.ino() && *device == metadata.dev()
                            })
                            .map(|(_, _, pid)| *pid)
                            .collect()
                    }
                    Err(_) => Vec::new(),
                }
            };
            let pid_lockers = holders_of(&instance.pid_file);
            let sentinel_lockers = holders_of(&instance.sentinel);
            let content = instance.pid_file_text().unwrap_or_default();
            // `/proc/locks` names the process that took a lock, which for the PID file is
            // the launcher (gone by now): who holds it is proven through /proc/<pid>/fd.
            match (&pid_lockers[..], &sentinel_lockers[..]) {
                ([], []) => Truth::Stopped {
                    stale: !content.is_empty(),
                },
                ([_], [body]) => {
                    let named = content.trim_end().parse::<i32>().ok();
                    let parent = common::proc_status_field(*body, "PPid")
                        .and_then(|value| value.parse::<i32>().ok());
                    match named {
                        Some(supervisor)
                            if parent == Some(supervisor)
                                && content.ends_with('\n')
                                && holds(supervisor, &instance.pid_file)
                                && common::is_alive(*body) =>
                        {
                            Truth::Running { supervisor }
                        }
                        _ => Truth::Unsettled(format!(
                            "PID file {content:?} locked, sentinel by {} (parent {parent:?}); \
                             named: {}",
                            describe_processes(&[*body]),
                            describe_processes(&named.into_iter().collect::<Vec<_>>())
                        )),
                    }
                }
                _ => Truth::Unsettled(format!(
                    "PID file {content:?} locked by {}, sentinel by {}",
                    describe_processes(&pid_lockers),
                    describe_processes(&sentinel_lockers)
                )),
            }
        }

        /// Waits up to 5 s for `instance` to be settled (stopped or running), provided that
        /// nothing else entered or left since the caller entered (`entered` is the generation
        /// its `enter` returned); returns the settled truth, or `None` when something else
        /// overlapped.
        fn settle(&self, instance: &Instance, entered: u64) -> Option<Truth> {
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                let generation = instance.generation.load(Ordering::SeqCst);
                if instance.busy.load(Ordering::SeqCst) != 1 || generation != entered {
                    return None;
                }
                let truth = self.truth(instance);
                let still_alone = instance.busy.load(Ordering::SeqCst) == 1
                    && instance.generation.load(Ordering::SeqCst) == generation;
                if !still_alone {
                    return None;
                }
                if !matches!(truth, Truth::Unsettled(_)) {
                    return Some(truth);
                }
                if Instant::now() > deadline {
                    self.violation(format!(
                        "instance {} did not settle within 5 s: {truth:?}",
                        instance.index
                    ));
                    return Some(truth);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }

        /// One random operation on a random instance.
        fn operate(&self, dice: &mut Dice) {
            let instance = &self.instances[dice.below(INSTANCES as u64) as usize];
            let point = dice
                .chance(35)
                .then(|| POINTS[dice.below(POINTS.len() as u64) as usize]);
            let roll = dice.below(100);
            let action = match roll {
                0..=29 => "--check",
                30..=56 => "--start",
                57..=81 => "--stop",
                82..=96 => "--reload",
                _ => "direct",
            };
            if action == "--check" {
                self.check(instance, point);
                return;
            }
            let (entered, alone) = instance.enter();
            let kills = instance.kills.load(Ordering::SeqCst);
            let directs = instance.direct_starts.load(Ordering::SeqCst);
            let (output, own_direct_marks) = if action == "direct" {
                instance.direct_starts.fetch_add(1, Ordering::SeqCst);
                let output = self.direct_start(instance, point);
                instance.direct_starts.fetch_add(1, Ordering::SeqCst);
                (output, 2)
            } else {
                (self.control(instance, action, point), 0)
            };
            // Both counters are bumped when a disturbance begins and when it ends: an odd
            // value means one is in flight.
            let disturbed = kills % 2 == 1 || instance.kills.load(Ordering::SeqCst) != kills;
            let bypassed = directs % 2 == 1
                || instance.direct_starts.load(Ordering::SeqCst) != directs + own_direct_marks;
            self.count(&self.outcomes, format!("{action} -> {}", describe(&output)));
            let allowed: &[i32] = match action {
                "--start" => &[0, 100, 103],
                "--stop" => &[0, 100, 103],
                "--reload" => &[0, 101],
                _ => &[0],
            };
            let fine = output.code.is_some_and(|code| allowed.contains(&code))
                || (action == "direct"
                    && output.code == Some(102)
                    && (output.stderr.contains("already running")
                        // A controller stopped the daemon before its release: reported.
                        || output.stderr.contains("ended before its release")));
            // A kill by the fault thread excuses any outcome; a direct start (which takes no
            // guard) excuses a stop or start that timed out behind it.
            let excused = disturbed || (bypassed && output.code == Some(102));
            if !fine && !excused {
                self.violation(format!(
                    "instance {}: {action} (fail point {point:?}) ended {} with {:?}",
                    instance.index,
                    describe(&output),
                    output.stderr
                ));
            }
            if fine && !disturbed && !bypassed && alone {
                if let Some(truth) = self.settle(instance, entered) {
                    self.verified_actions.fetch_add(1, Ordering::Relaxed);
                    let want_running = match (action, output.code) {
                        ("--start", Some(0 | 100 | 103)) | ("direct", Some(0)) => Some(true),
                        ("--stop", Some(0 | 100 | 103)) => Some(false),
                        _ => None,
                    };
                    let running = matches!(truth, Truth::Running { .. });
                    if want_running.is_some_and(|want| want != running)
                        && instance.kills.load(Ordering::SeqCst) == kills
                    {
                        self.violation(format!(
                            "instance {}: {action} succeeded ({}) but the daemon is {truth:?}",
                            instance.index,
                            describe(&output)
                        ));
                    }
                }
            }
            self.leave_settled(instance);
        }

        /// A check, verified against the truth when nothing else happened meanwhile.
        fn check(&self, instance: &Instance, point: Option<&str>) {
            let before = instance.generation.load(Ordering::SeqCst);
            let quiet_before = instance.busy.load(Ordering::SeqCst) == 0;
            let kills = instance.kills.load(Ordering::SeqCst);
            let output = self.control(instance, "--check", point);
            let disturbed = kills % 2 == 1 || instance.kills.load(Ordering::SeqCst) != kills;
            // Read the truth before judging the moment quiet: an operation that begins after
            // the judgement must not change what is compared.
            let (pid_locked, content, sentinel) = self.facts(instance);
            let truth = self.truth(instance);
            let quiet = quiet_before
                && instance.busy.load(Ordering::SeqCst) == 0
                && instance.generation.load(Ordering::SeqCst) == before;
            self.count(&self.outcomes, format!("--check -> {}", describe(&output)));
            if output.signal == Some(9) && point.is_some() {
                return; // the controller was the fault
            }
            if !matches!(output.code, Some(0 | 101 | 103)) {
                if !disturbed {
                    // A check only reads: nothing but a kill excuses an error.
                    self.violation(format!(
                        "instance {}: check ended {}: {:?}",
                        instance.index,
                        describe(&output),
                        output.stderr
                    ));
                }
                return;
            }
            if !quiet {
                return;
            }
            // The protocol's meaning of each answer: 0 = the PID file is locked (RUNNING or
            // BUSY), 101 = unlocked and empty (or absent), 103 = unlocked with content.
            let code = output.code.unwrap();
            let agrees = match code {
                0 => pid_locked,
                101 => !pid_locked && content.is_empty(),
                _ => !pid_locked && !content.is_empty(),
            };
            self.verified_checks.fetch_add(1, Ordering::Relaxed);
            if !agrees {
                self.violation(format!(
                    "instance {}: check said {code} but the PID file is {} with {content:?} ({truth:?})",
                    instance.index,
                    if pid_locked { "locked" } else { "unlocked" },
                ));
            }
            if !pid_locked && !sentinel.is_empty() {
                // A body outliving its supervisor (PDEATHSIG) is gone within milliseconds.
                std::thread::sleep(Duration::from_millis(100));
                let (pid_locked, _, sentinel) = self.facts(instance);
                if !pid_locked && !sentinel.is_empty() && quiet_now(instance, before) {
                    self.violation(format!(
                        "instance {}: a daemon body runs although the PID file is free: {}",
                        instance.index,
                        describe_processes(&sentinel)
                    ));
                }
            }
        }

        /// Leaves the state-changing section; the last one out first waits (at most 2 s, best
        /// effort) for the instance to settle, so that a quiet moment never starts in the
        /// middle of a transition (a body not yet holding its sentinel, a supervisor still
        /// reaping its killed program).
        fn leave_settled(&self, instance: &Instance) {
            if instance.busy.load(Ordering::SeqCst) == 1 {
                let deadline = Instant::now() + Duration::from_secs(2);
                while matches!(self.truth(instance), Truth::Unsettled(_))
                    && instance.busy.load(Ordering::SeqCst) == 1
                    && Instant::now() < deadline
                {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            instance.leave();
        }

        /// The fault thread: handles processes stopped at fail points and kills running
        /// daemons at random.
        fn inject_faults(&self, mut dice: Dice) {
            let mut last_random_kill = Instant::now();
            while !self.stop.load(Ordering::SeqCst) {
                for (pid, instance_index, point) in stopped_processes(&self.tag) {
                    let instance = &self.instances[instance_index];
                    instance.enter();
                    let kill = dice.chance(75);
                    let signal = if kill {
                        rustix::process::Signal::KILL
                    } else {
                        rustix::process::Signal::CONT
                    };
                    if kill {
                        instance.kills.fetch_add(1, Ordering::SeqCst);
                    }
                    let mut children = children_of(pid);
                    if point == "control-stop-signalled" {
                        // The daemon already has its SIGTERM: it stops after the controller
                        // is gone, which belongs to this disturbance too.
                        let daemon = instance
                            .pid_file_text()
                            .and_then(|text| text.trim_end().parse::<i32>().ok());
                        children.extend(daemon.filter(|daemon| belongs_to(*daemon, &self.tag)));
                    }
                    if let Some(target) = rustix::process::Pid::from_raw(pid) {
                        let _ = rustix::process::kill_process(target, signal);
                    }
                    if kill {
                        common::wait_gone(pid, Duration::from_secs(5));
                        // Its children end on their own (EOF, PDEATHSIG, or a launch that
                        // completes): give them the time before the moment counts as quiet.
                        for child in children {
                            common::wait_gone(child, Duration::from_secs(2));
                        }
                        instance.kills.fetch_add(1, Ordering::SeqCst);
                    }
                    self.faults.fetch_add(1, Ordering::Relaxed);
                    self.count(
                        &self.per_point,
                        format!("{point} -> {}", if kill { "SIGKILL" } else { "SIGCONT" }),
                    );
                    self.leave_settled(instance);
                }
                if !self.calm.load(Ordering::SeqCst)
                    && last_random_kill.elapsed() > Duration::from_millis(150)
                {
                    last_random_kill = Instant::now();
                    self.kill_a_running_daemon(&mut dice);
                }
                std::thread::sleep(Duration::from_millis(3));
            }
        }

        /// SIGKILLs the supervisor or the body of a running daemon, if one runs.
        fn kill_a_running_daemon(&self, dice: &mut Dice) {
            let instance = &self.instances[dice.below(INSTANCES as u64) as usize];
            instance.enter();
            if let Truth::Running { supervisor } = self.truth(instance) {
                let body = fs::read_to_string(&instance.sentinel)
                    .ok()
                    .and_then(|text| text.split_whitespace().next()?.parse::<i32>().ok());
                // A supervisor with a fail point armed would stop itself once its program is
                // killed, while this thread waits for it: kill the supervisor itself then.
                let armed = environment_of(supervisor)
                    .iter()
                    .any(|entry| entry.starts_with("UCW_FAILPOINT="));
                let (victim, other, what) = match body {
                    Some(body) if !armed && dice.chance(50) => {
                        (body, Some(supervisor), "running body")
                    }
                    _ => (supervisor, body, "running supervisor"),
                };
                if belongs_to(victim, &self.tag) {
                    instance.kills.fetch_add(1, Ordering::SeqCst);
                    if let Some(target) = rustix::process::Pid::from_raw(victim) {
                        let _ =
                            rustix::process::kill_process(target, rustix::process::Signal::KILL);
                    }
                    common::wait_gone(victim, Duration::from_secs(5));
                    // The supervisor's death kills the body (PR_SET_PDEATHSIG); the body's
                    // death makes the supervisor empty the PID file and exit: let it go.
                    if let Some(other) = other {
                        common::wait_gone(other, Duration::from_secs(2));
                    }
                    instance.kills.fetch_add(1, Ordering::SeqCst);
                    self.faults.fetch_add(1, Ordering::Relaxed);
                    self.count(&self.per_point, format!("{what} -> SIGKILL"));
                }
            }
            self.leave_settled(instance);
        }
    }

    fn describe(output: &Output) -> String {
        match (output.code, output.signal) {
            (Some(code), _) => format!("exit {code}"),
            (None, Some(signal)) => format!("signal {signal}"),
            _ => "unknown".to_string(),
        }
    }

    /// `(device, inode, pid)` of every granted exclusive flock in `/proc/locks`.
    fn flock_holders() -> Vec<(u64, u64, i32)> {
        // One big read: seq_file builds each read from a fresh walk of the lock list, so
        // reading in small pieces while locks come and go duplicates or skips entries.
        let mut buffer = vec![0u8; 1 << 20];
        let mut length = 0;
        if let Ok(mut file) = fs::File::open("/proc/locks") {
            use std::io::Read;
            while let Ok(count) = file.read(&mut buffer[length..]) {
                if count == 0 || length + count == buffer.len() {
                    length += count;
                    break;
                }
                length += count;
            }
        }
        let text = String::from_utf8_lossy(&buffer[..length]);
        let mut found = Vec::new();
        for line in text.lines() {
            // `1: FLOCK  ADVISORY  WRITE 1234 00:1f:5678 0 EOF`; waiters have `->`.
            let fields: Vec<&str> = line.split_whitespace().collect();
            // Shared locks are controllers probing (`LOCK_SH|LOCK_NB`), not holders.
            if fields.len() < 6
                || fields[1] != "FLOCK"
                || fields[3] != "WRITE"
                || fields.contains(&"->")
            {
                continue;
            }
            let Ok(pid) = fields[4].parse::<i32>() else {
                continue;
            };
            let parts: Vec<&str> = fields[5].split(':').collect();
            if parts.len() != 3 {
                continue;
            }
            let (Ok(major), Ok(minor), Ok(inode)) = (
                u32::from_str_radix(parts[0], 16),
                u32::from_str_radix(parts[1], 16),
                parts[2].parse::<u64>(),
            ) else {
                continue;
            };
            found.push((rustix::fs::makedev(major, minor), inode, pid));
        }
        found
    }

    /// Whether nothing state-changing began or ended on `instance` since `generation`.
    fn quiet_now(instance: &Instance, generation: u64) -> bool {
        instance.busy.load(Ordering::SeqCst) == 0
            && instance.generation.load(Ordering::SeqCst) == generation
    }

    /// `pid (command, state, parent)` for each pid, for violation messages.
    fn describe_processes(pids: &[i32]) -> String {
        let described: Vec<String> = pids
            .iter()
            .map(|pid| {
                let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                let command = stat
                    .split_once('(')
                    .and_then(|(_, rest)| rest.rsplit_once(')'))
                    .map_or("gone", |(name, _)| name)
                    .to_string();
                let state = stat.rsplit(')').next().unwrap_or("").trim().to_string();
                let state: Vec<&str> = state.split_whitespace().take(2).collect();
                format!("{pid} ({command} {state:?})")
            })
            .collect();
        format!("[{}]", described.join(", "))
    }

    /// The pids whose parent is `pid`.
    fn children_of(pid: i32) -> Vec<i32> {
        let Ok(entries) = fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| entry.file_name().to_string_lossy().parse::<i32>().ok())
            .filter(|child| {
                common::proc_status_field(*child, "PPid").and_then(|ppid| ppid.parse().ok())
                    == Some(pid)
            })
            .collect()
    }

    /// Whether live process `pid` has `path` open.
    fn holds(pid: i32, path: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        let Ok(wanted) = fs::metadata(path) else {
            return false;
        };
        let Ok(entries) = fs::read_dir(format!("/proc/{pid}/fd")) else {
            return false;
        };
        common::is_alive(pid)
            && entries.flatten().any(|entry| {
                fs::metadata(entry.path()).is_ok_and(|metadata| {
                    metadata.dev() == wanted.dev() && metadata.ino() == wanted.ino()
                })
            })
    }

    fn environment_of(pid: i32) -> Vec<String> {
        fs::read(format!("/proc/{pid}/environ"))
            .map(|bytes| {
                bytes
                    .split(|&byte| byte == 0)
                    .map(|entry| String::from_utf8_lossy(entry).into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn belongs_to(pid: i32, tag: &str) -> bool {
        let marker = format!("UCW_SOAK_RUN={tag}");
        environment_of(pid).contains(&marker)
    }

    /// Processes of this run stopped (state `T`): `(pid, instance, armed point)`.
    fn stopped_processes(tag: &str) -> Vec<(i32, usize, String)> {
        let mut found = Vec::new();
        let Ok(entries) = fs::read_dir("/proc") else {
            return found;
        };
        let marker = format!("UCW_SOAK_RUN={tag}");
        for entry in entries.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().next());
            if state != Some("T") {
                continue;
            }
            let environment = environment_of(pid);
            if !environment.contains(&marker) {
                continue;
            }
            let value = |key: &str| {
                environment
                    .iter()
                    .find_map(|entry| entry.strip_prefix(key).map(str::to_string))
            };
            let instance = value("UCW_SOAK_INSTANCE=").and_then(|text| text.parse().ok());
            if let Some(instance) = instance {
                let point = value("UCW_FAILPOINT=").unwrap_or_else(|| "unarmed".to_string());
                found.push((pid, instance, point));
            }
        }
        found
    }

    /// Marks every descriptor above 2 of the test process close-on-exec (cargo hands tests its
    /// jobserver pipe, for instance): then any descriptor a daemon body finds beyond 0–2 was
    /// leaked by the tools.
    fn close_inherited_descriptors_on_exec() {
        let numbers: Vec<i32> = fs::read_dir("/proc/self/fd")
            .unwrap()
            .flatten()
            .filter_map(|entry| entry.file_name().to_string_lossy().parse().ok())
            .filter(|number| *number > 2)
            .collect();
        for number in numbers {
            // SAFETY: only the flags of a descriptor number are changed; a number that was
            // the directory reader's and is closed by now yields EBADF, which is ignored.
            let descriptor = unsafe { rustix::fd::BorrowedFd::borrow_raw(number) };
            if let Ok(flags) = rustix::io::fcntl_getfd(descriptor) {
                let _ = rustix::io::fcntl_setfd(descriptor, flags | rustix::io::FdFlags::CLOEXEC);
            }
        }
    }

    fn open_descriptors() -> usize {
        fs::read_dir("/proc/self/fd")
            .map(|entries| entries.count())
            .unwrap_or(0)
    }

    fn setting(name: &str, default: u64) -> u64 {
        std::env::var(name)
            .ok()
            .and_then(|text| text.parse().ok())
            .unwrap_or(default)
    }

    /// The final proof for one instance: it stops, starts and stops again on demand.
    fn recover(soak: &Soak, instance: &Instance) {
        let (mut entered, _) = instance.enter();
        let sequence: [(&str, &[i32]); 5] = [
            ("--stop", &[0, 100, 103]),
            ("--check", &[101, 103]),
            ("--start", &[0, 103]),
            ("--check", &[0]),
            ("--stop", &[0]),
        ];
        for (action, allowed) in sequence {
            let output = soak.control(instance, action, None);
            if !output.code.is_some_and(|code| allowed.contains(&code)) {
                soak.violation(format!(
                    "instance {} final {action} ended {} (allowed {allowed:?}): {:?}",
                    instance.index,
                    describe(&output),
                    output.stderr
                ));
            }
        }
        // The fault thread may still be handling a process stopped at a point: retry.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut settled = soak.settle(instance, entered);
        while settled.is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
            instance.leave();
            entered = instance.enter().0;
            settled = soak.settle(instance, entered);
        }
        match settled {
            Some(Truth::Stopped { stale: false }) => {}
            other => soak.violation(format!(
                "instance {} is not cleanly stopped at the end: {other:?}",
                instance.index
            )),
        }
        instance.leave();
    }

    /// Regression test for a bug the soak found: a daemon killed between the launcher's PID
    /// write and its release byte never runs its body; the launcher used to die
    /// of SIGPIPE writing the release byte. It now sends it with MSG_NOSIGNAL on a socket
    /// pair and reports the lost daemon (exit 102). Only guard-less starts (`ucw-daemonize`
    /// run directly) can meet a stop there.
    /// The tests of this file run one at a time: the soak counts the test process's
    /// descriptors and children, which a concurrent test would change.
    fn serial() -> std::sync::MutexGuard<'static, ()> {
        static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
        SERIAL
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    #[test]
    fn launcher_reports_a_daemon_that_died_before_its_release() {
        let _serial = serial();
        let dir = TempDir::new("soak-sigpipe");
        let pid_file = dir.join("daemon.pid");
        let fixture = fixture();
        let mut command = Command::new(DAEMONIZE);
        command
            .args(["--pid-file", pid_file.to_str().unwrap(), "--"])
            .arg(&fixture)
            .arg(dir.join("sentinel"))
            .arg(dir.join("log"))
            .arg(&pid_file)
            .env("UCW_FAILPOINT", "launcher-after-fork");
        let launcher = harness().spawn(command, dir.path());
        let deadline = Instant::now() + Duration::from_secs(5);
        while process_state(launcher.pid).as_deref() != Some("T") {
            assert!(
                Instant::now() < deadline,
                "the launcher never reached its fail point"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        let daemon = children_of(launcher.pid);
        assert_eq!(daemon.len(), 1, "the launcher has one child, the daemon");
        // Let the daemon finish its setup and report, then kill it. (A controller's SIGTERM
        // no longer kills it here: the supervised daemon starts with every catchable signal
        // blocked and queued for its supervisor; only SIGKILL ends it before its release.)
        std::thread::sleep(Duration::from_millis(300));
        let daemon = rustix::process::Pid::from_raw(daemon[0]).unwrap();
        rustix::process::kill_process(daemon, rustix::process::Signal::KILL).unwrap();
        assert!(common::wait_gone(
            daemon.as_raw_nonzero().get(),
            Duration::from_secs(5)
        ));
        let target = rustix::process::Pid::from_raw(launcher.pid).unwrap();
        rustix::process::kill_process(target, rustix::process::Signal::CONT).unwrap();
        let output = harness().wait(&launcher, Duration::from_secs(10));
        assert_eq!(
            (output.code, output.signal),
            (Some(102), None),
            "the launcher must report the lost daemon, not die: {output:?}"
        );
        assert!(output.stderr.starts_with("ucw-daemonize: "), "{output:?}");
    }

    /// Regression test for a bug the soak found: a daemon that exits while STOP reads its
    /// descriptors in /proc (now `/proc/<pid>/fdinfo`) to prove it holds the PID file's lock
    /// made the read fail with ENOENT and STOP report an error (102); the proof now takes that
    /// as "gone" and STOP returns 0.
    #[test]
    fn stop_treats_a_daemon_exiting_during_the_proof_as_stopped() {
        let _serial = serial();
        let dir = TempDir::new("soak-proof");
        let pid_file = dir.join("daemon.pid");
        let pid_text = pid_file.to_str().unwrap();
        let fixture = fixture();
        let start = harness().run(
            CONTROL,
            [
                "--start",
                "--pid-file",
                pid_text,
                "--",
                DAEMONIZE,
                "--pid-file",
                pid_text,
                "--",
                fixture.to_str().unwrap(),
                dir.join("sentinel").to_str().unwrap(),
                dir.join("log").to_str().unwrap(),
                pid_text,
            ],
            dir.path(),
        );
        assert_eq!(start.code, Some(0), "{start:?}");
        let supervisor: i32 = fs::read_to_string(&pid_file)
            .unwrap()
            .trim_end()
            .parse()
            .unwrap();
        let mut command = Command::new(CONTROL);
        command
            .args(["--stop", "--pid-file", pid_text, "--timeout=5"])
            .env("UCW_FAILPOINT", "control-proving-holder");
        let stopper = harness().spawn(command, dir.path());
        let deadline = Instant::now() + Duration::from_secs(5);
        while process_state(stopper.pid).as_deref() != Some("T") {
            assert!(
                Instant::now() < deadline,
                "the controller never reached its fail point"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        // The daemon exits (here: is killed) while the controller looks at its descriptors.
        let target = rustix::process::Pid::from_raw(supervisor).unwrap();
        rustix::process::kill_process(target, rustix::process::Signal::KILL).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Path::new(&format!("/proc/{supervisor}")).exists() {
            assert!(Instant::now() < deadline, "the supervisor was never reaped");
            std::thread::sleep(Duration::from_millis(2));
        }
        let target = rustix::process::Pid::from_raw(stopper.pid).unwrap();
        rustix::process::kill_process(target, rustix::process::Signal::CONT).unwrap();
        let output = harness().wait(&stopper, Duration::from_secs(10));
        assert_eq!(
            output.code,
            Some(0),
            "a daemon that exited during STOP is stopped: {output:?}"
        );
    }

    fn process_state(pid: i32) -> Option<String> {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        Some(
            stat.rsplit(')')
                .next()?
                .split_whitespace()
                .next()?
                .to_string(),
        )
    }

    #[test]
    fn many_controllers_random_actions_and_faults() {
        let _serial = serial();
        let target = setting("UCW_SOAK_OPERATIONS", 1000);
        let seconds = setting("UCW_SOAK_SECONDS", 170);
        let wanted_faults = (target / 25).max(1);
        let seed = setting(
            "UCW_SOAK_SEED",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1,
        );
        assert!(
            fixture().exists(),
            "missing fixture {}",
            fixture().display()
        );
        let harness_ready = harness();
        let _ = harness_ready;
        close_inherited_descriptors_on_exec();
        let descriptors_before = open_descriptors();
        let dir = TempDir::new("soak");
        fs::create_dir_all(dir.join("logs")).unwrap();
        let instances = (0..INSTANCES)
            .map(|index| Instance {
                index,
                pid_file: dir.join(&format!("daemon{index}.pid")),
                sentinel: dir.join(&format!("daemon{index}.sentinel")),
                log: dir.join(&format!("daemon{index}.log")),
                busy: AtomicUsize::new(0),
                generation: AtomicU64::new(0),
                kills: AtomicU64::new(0),
                direct_starts: AtomicU64::new(0),
            })
            .collect();
        let soak = Arc::new(Soak {
            tag: format!("{}-{seed}", std::process::id()),
            dir,
            instances,
            operations: AtomicU64::new(0),
            faults: AtomicU64::new(0),
            per_point: Mutex::new(BTreeMap::new()),
            outcomes: Mutex::new(BTreeMap::new()),
            violations: Mutex::new(Vec::new()),
            verified_checks: AtomicU64::new(0),
            verified_actions: AtomicU64::new(0),
            calm: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        println!("soak: seed {seed} (UCW_SOAK_SEED), {target} operations within {seconds} s");
        let started = Instant::now();
        let fault_thread = {
            let soak = Arc::clone(&soak);
            std::thread::spawn(move || soak.inject_faults(Dice(seed.rotate_left(17) | 1)))
        };
        let workers: Vec<_> = (0..WORKERS)
            .map(|worker| {
                let soak = Arc::clone(&soak);
                std::thread::spawn(move || {
                    let mut dice =
                        Dice((seed ^ (worker as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1);
                    while soak.operations.load(Ordering::Relaxed) < target
                        && started.elapsed() < Duration::from_secs(seconds)
                    {
                        soak.operate(&mut dice);
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().expect("worker panicked");
        }
        let chaos_time = started.elapsed();
        soak.calm.store(true, Ordering::SeqCst);
        // Faults still pending (a daemon stopped at a point) are handled before the end.
        std::thread::sleep(Duration::from_millis(100));
        for instance in &soak.instances {
            recover(&soak, instance);
        }
        soak.stop.store(true, Ordering::SeqCst);
        fault_thread.join().expect("fault thread panicked");

        // Nothing of this run may be left: no process, no zombie, no descriptor.
        std::thread::sleep(Duration::from_millis(300));
        for entry in fs::read_dir("/proc").unwrap().flatten() {
            if let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() {
                if pid != std::process::id() as i32
                    && belongs_to(pid, &soak.tag)
                    && common::is_alive(pid)
                {
                    soak.violation(format!("process {pid} of this run is still alive"));
                }
            }
        }
        let zombies: Vec<i32> = common::children_of_self()
            .into_iter()
            .filter(|pid| !common::is_alive(*pid) && Path::new(&format!("/proc/{pid}")).exists())
            .collect();
        if !zombies.is_empty() {
            soak.violation(format!("zombies left: {zombies:?}"));
        }
        let descriptors_after = open_descriptors();
        if descriptors_after != descriptors_before {
            soak.violation(format!(
                "the test process had {descriptors_before} descriptors before and {descriptors_after} after"
            ));
        }
        let mut overlaps = Vec::new();
        for instance in &soak.instances {
            let log = fs::read_to_string(&instance.log).unwrap_or_default();
            for line in log.lines() {
                if line.starts_with("VIOLATION") {
                    soak.violation(format!("instance {}: {line}", instance.index));
                } else if let Some(milliseconds) = line.strip_prefix("OVERLAP ") {
                    overlaps.push(milliseconds.to_string());
                }
            }
        }

        let operations = soak.operations.load(Ordering::Relaxed);
        let faults = soak.faults.load(Ordering::Relaxed);
        let violations = soak.violations.lock().unwrap().clone();
        println!("soak: outcomes:");
        for (outcome, count) in soak.outcomes.lock().unwrap().iter() {
            println!("soak:   {outcome}: {count}");
        }
        println!("soak: faults by point:");
        for (point, count) in soak.per_point.lock().unwrap().iter() {
            println!("soak:   {point}: {count}");
        }
        println!(
            "soak: verified against the truth: {} checks, {} start/stop/reload results; brief overlaps of a dying body (ms): {overlaps:?}",
            soak.verified_checks.load(Ordering::Relaxed),
            soak.verified_actions.load(Ordering::Relaxed)
        );
        println!(
            "soak: operations {operations}, faults {faults}, violations {} ({:.1} s of chaos)",
            violations.len(),
            chaos_time.as_secs_f64()
        );
        assert!(violations.is_empty(), "violations: {violations:#?}");
        assert!(
            operations >= target,
            "only {operations} operations in {seconds} s (wanted {target})"
        );
        assert!(
            faults >= wanted_faults,
            "only {faults} faults injected (wanted {wanted_faults})"
        );
    }
}
