//! Soak and chaos test: many controllers of both tools in parallel on a few daemons, random
//! actions, and faults injected at exact points through fail points (a process that reaches
//! the armed point stops itself; the fault thread finds it stopped and kills or continues it),
//! plus daemons killed at random while they run — their programs, and their supervisors.
//!
//! The supervised programs (`tests/fixtures/soak_daemon.rs`, `fixture_soak_daemon`) are
//! chosen at random for each start: plain, or any mix of one that dies slowly on SIGTERM
//! (50–300 ms), one that changes its own uid to 65534 once started (the kernel then clears
//! the parent-death signal, so it survives its supervisor's SIGKILL), and one that leaves a
//! long-lived child (which inherits the PID file's lock description, not the sentinel, and
//! ignores SIGTERM), and one that is a tree (a worker, a `setsid` worker and a double-forked
//! `setsid` daemon, all holding the lock description: the supervisor ends them before it
//! unlocks, after its `--kill-tree-after` of 0.1 s).
//!
//! Invariants, checked independently of the PID file: each program holds a sentinel lock on
//! a file of its own, so "at most one program alive" is witnessed by the program itself, and
//! checks that it inherited no descriptor but 0–2 and the PID file's read-only lock
//! description (which `ucw-daemonize` hands its program); `/proc/locks` tells the test who
//! holds the PID file and the sentinel, so every state a check reports in a quiet moment is
//! compared with the truth; every start/stop that no fault disturbed must succeed, and at the
//! end every instance must stop, start and stop again; no process, zombie or descriptor may
//! be left behind.
//!
//! After every SIGKILLed supervisor (killed at random by the instance's cleaner thread while
//! its daemon runs, or by the fault thread at a `supervisor-*` fail point) the cleaner proves,
//! holding the instance's gate (no other tool run on that instance meanwhile), that the
//! daemon is still controlled:
//! - while the old program lives, or its child still holds the PID file's lock, START must
//!   answer 100, or, when the file is empty and locked (BUSY: emptied before the kill), time
//!   out waiting for a PID within a 1 s deadline (and must not answer 100 when the PID file
//!   was free); no worker's START that
//!   began after the kill may run a program either (now and then the workers get up to
//!   0.1 s with what is left before the cleaner takes the gate);
//! - `--stop --timeout 1 --kill-after-timeout` must end with 0 (100 or 103 when it was
//!   already gone) within its bound, and nothing of the old daemon may be alive afterwards
//!   (the pids the programs reported in their log, the pids known at the kill, and every
//!   process left in the dead supervisor's session);
//! - a `--check` after it must say 101 or 103.
//!
//! A handed-over kill closes its instance to new worker runs until the cleaner has the gate
//! (the workers would only wait out their deadlines on what is left). A stop gets a 3 s
//! deadline, the other runs 5 s: a stop that meets a child ignoring SIGTERM waits out its
//! deadline, and whatever queues behind it on the guard still gets through within its own.
//! A violation prints the latest events of every instance; `UCW_SOAK_TRACE=FILE` writes all
//! of them to FILE.
//!
//! The oracle (`Soak::judge`, tests/README.md "How the soak decides") accepts every outcome
//! the protocol allows under those deadlines and nothing else: an error must be one of the
//! lines the soak can meet, and each case needs its evidence — a guard timeout, other
//! controllers holding the guard for the whole deadline (a sampler thread reads the guards'
//! holders from `/proc/locks`); a launch, stop or busy timeout, the deadline gone to others
//! (the guard, processes stopped at fail points, a direct start that took the PID file); an
//! error caused by a fault, a kill of that instance meanwhile; SIGKILL, the fault thread's
//! kill of that very process. No run may outlive its deadline by more than a margin. Every
//! margin scales with the machine's load (`common::margin`). A stranger per instance holds
//! the PID file open (never locked) and must never be signalled.
//!
//! Size: `UCW_SOAK_OPERATIONS` (default 1000) tool runs within `UCW_SOAK_SECONDS` (default
//! 170); it needs at least one injected fault per 25 operations and, per 250 operations, one
//! random supervisor kill of a running daemon for each hostile kind of program (slow,
//! setuid, child, workers; a mix counts for each of its kinds): the workers go on past the operations
//! until there are (within the seconds), and the cleaners kill first the supervisors of the
//! kinds that lag behind, so that there are not many more (each kill costs its instance up
//! to a second or two). CI runs 10,000 operations (about 80 s on an idle 2-core machine,
//! 100–130 s with two CPU-bound processes beside it). Needs root (the uid changes).
//! It prints the supervisor kills by kind, what STOP and START did after them, the overlaps,
//! and `operations N, faults N, violations N`.

mod common;

// The soak arms fail points (UCW_FAILPOINT): it runs in the `--cfg ucw_failpoints` build
// (tests/run-all), and shows as ignored, with that reason, in a plain `cargo test`.
mod soak {
    use crate::common::{self, control_tool, daemonize_tool, harness, Output, TempDir};
    use std::collections::BTreeMap;
    use std::fs;
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
    use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
    use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
    use std::time::{Duration, Instant};

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
    /// The uid a `setuid` program takes (nobody).
    const PROGRAM_UID: u32 = 65534;
    /// The hostile kinds of program, each needed among the supervisor kills.
    const HOSTILE_KINDS: [&str; 4] = ["slow", "setuid", "child", "workers"];
    /// `--timeout` of the cleaner's STOP after a supervisor kill: small (a program with a
    /// child is killed only once it expires, and the instance is the cleaner's meanwhile),
    /// but longer than a slow program needs to die of its SIGTERM.
    const CLEANUP_TIMEOUT: u64 = 1;
    /// `--timeout` of a worker's STOP, and of every other worker run (see the module docs).
    const STOP_TIMEOUT: u64 = 3;
    /// `--kill-tree-after` of every supervisor: a `child=` program's child never reads
    /// SIGTERM, so the supervisor SIGKILLs it after this grace; the file is BUSY meanwhile,
    /// which must stay well within what the oracle grants a step for itself.
    const KILL_TREE_AFTER: &str = "0.1";
    const TIMEOUT: u64 = 5;
    /// How long after its deadline a controller may still run, beyond the scaled margin:
    /// START gives a launcher it killed at the deadline up to 1 s to let go of the PID file
    /// (src/control/launch.rs `SETTLE`), STOP takes one last look of 0.1 s (`LAST_LOOK`).
    const START_AFTER_DEADLINE: Duration = Duration::from_secs(1);
    const STOP_AFTER_DEADLINE: Duration = Duration::from_millis(100);
    /// The longest a controller polling for a lock sleeps between two tries
    /// (src/control/deadline.rs `LONGEST_PAUSE`): a guard that was free for less than this
    /// (plus a scaled margin) may have been missed by a waiting controller.
    const LOCK_POLL: Duration = Duration::from_millis(50);
    /// The slowest program of the soak (`slow=` up to 300 ms) needs this long to stop after
    /// its SIGTERM, on an idle machine (plus a scaled margin).
    const SLOWEST_STOP: Duration = Duration::from_millis(300);
    /// How often the guard sampler looks at `/proc/locks`.
    const GUARD_SAMPLE_PAUSE: Duration = Duration::from_millis(3);
    /// How many of the latest events a violation's report prints, and how many violations
    /// print them. (Every event is kept: the report also prints each earlier one that names a
    /// process the violation names, such as how a daemon that later misbehaved began.)
    const HISTORY_PRINTED: usize = 150;
    const HISTORY_REPORTS: usize = 3;

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

    /// The fixture's words for one start (see tests/fixtures/soak_daemon.rs): each hostile
    /// behaviour at random.
    fn program_words(dice: &mut Dice) -> Vec<String> {
        let mut words = Vec::new();
        if dice.chance(40) {
            words.push(format!("slow={}", 50 + dice.below(251)));
        }
        if dice.chance(50) {
            words.push(format!("setuid={PROGRAM_UID}"));
        }
        if dice.chance(40) {
            // How long the child lingers once it is a harmless leftover.
            words.push(format!("child={}", dice.below(801)));
        }
        if dice.chance(30) {
            // A tree: a worker, a `setsid` worker, a double-forked `setsid` daemon.
            words.push("workers=1".to_string());
        }
        words
    }

    /// The kind of program a fixture command line asks for, as the fixture itself names it
    /// (`plain`, or `slow`, `setuid`, `child` joined by `+`).
    fn kind_of_words(words: &[String]) -> String {
        let parts: Vec<&str> = ["slow=", "setuid=", "child=", "workers="]
            .iter()
            .filter(|prefix| words.iter().any(|word| word.starts_with(*prefix)))
            .map(|prefix| prefix.trim_end_matches('='))
            .collect();
        if parts.is_empty() {
            "plain".to_string()
        } else {
            parts.join("+")
        }
    }

    /// Disturbances of an instance (kills, direct starts): how many are in flight, and an
    /// epoch bumped when one begins and when one ends. Several may overlap.
    #[derive(Default)]
    struct Disturbances {
        active: AtomicUsize,
        epoch: AtomicU64,
    }

    /// What an operation saw of the disturbances when it began.
    #[derive(Clone, Copy)]
    struct Mark {
        active: bool,
        epoch: u64,
    }

    impl Disturbances {
        fn begin(&self) {
            self.active.fetch_add(1, Ordering::SeqCst);
            self.epoch.fetch_add(1, Ordering::SeqCst);
        }

        fn end(&self) {
            self.epoch.fetch_add(1, Ordering::SeqCst);
            self.active.fetch_sub(1, Ordering::SeqCst);
        }

        /// The epoch first, then the count: a disturbance that begins in between shows in one
        /// of them.
        fn mark(&self) -> Mark {
            let epoch = self.epoch.load(Ordering::SeqCst);
            Mark {
                active: self.active.load(Ordering::SeqCst) > 0,
                epoch,
            }
        }

        /// Whether a disturbance other than the caller's own (`own` epoch bumps) was in
        /// flight at any time since `mark`.
        fn since(&self, mark: Mark, own: u64) -> bool {
            mark.active
                || self.epoch.load(Ordering::SeqCst) != mark.epoch + own
                || self.active.load(Ordering::SeqCst) > 0
        }
    }

    /// A process of a daemon whose supervisor was SIGKILLed, identified across pid reuse by
    /// its start time.
    #[derive(Clone, Debug, PartialEq, Eq)]
    struct Orphan {
        pid: i32,
        started: u64,
        /// The program (it leads its process group), not a child it forked.
        program: bool,
    }

    impl Orphan {
        fn of(pid: i32) -> Option<Self> {
            let fields = stat_fields(pid)?;
            let started = fields.get(19)?.parse().ok()?;
            let group: i32 = fields.get(2)?.parse().ok()?;
            common::is_alive(pid).then_some(Orphan {
                pid,
                started,
                program: group == pid,
            })
        }

        fn alive(&self) -> bool {
            common::is_alive(self.pid) && start_time(self.pid) == Some(self.started)
        }

        /// Whether it lives and one of its descriptors carries the lock on `pid_file` (a
        /// `lock:` line in its fdinfo): it is part of the daemon then, not a leftover whose
        /// lock description the supervisor already unlocked (a supervisor stopped at
        /// `supervisor-program-exited` that a controller's SIGCONT resumes before the fault
        /// thread's SIGKILL lands).
        fn holds(&self, pid_file: &Path) -> bool {
            use std::os::unix::fs::MetadataExt;
            let Ok(file) = fs::metadata(pid_file) else {
                return false;
            };
            let carries = lock_lines(self.pid)
                .iter()
                .any(|&(device, inode)| device == file.dev() && inode == file.ino());
            carries && self.alive()
        }

        /// Whether it still belongs to the running daemon: the program while it lives (it
        /// holds the lock all its life, by design), a child while it holds the lock.
        fn part_of_daemon(&self, pid_file: &Path) -> bool {
            if self.program {
                self.alive()
            } else {
                self.holds(pid_file)
            }
        }
    }

    /// A SIGKILLed supervisor, handed to its instance's cleaner.
    struct Orphaned {
        supervisor: i32,
        /// The program's kind, when known.
        kind: Option<String>,
        /// Pids the daemon had before the kill (its program, the program's child).
        known: Vec<i32>,
        /// `running supervisor`, or the fail point it was stopped at.
        cause: String,
    }

    /// One tool run on an instance, kept for the judgement of timeouts: who else was there.
    struct RunRecord {
        /// The soak's number of the run (`UCW_SOAK_OPERATION` in its environment, which the
        /// launcher, daemon and supervisor it starts inherit).
        id: u64,
        pid: i32,
        /// `ucw-daemon-control` (it takes the guard), not `ucw-daemonize` run directly.
        controller: bool,
        began: Instant,
        /// `None` while it runs.
        ended: Option<Instant>,
        /// A direct start that started a daemon (exit 0).
        started: bool,
    }

    impl RunRecord {
        fn overlaps(&self, from: Instant, to: Instant) -> bool {
            self.began <= to && self.ended.is_none_or(|ended| ended >= from)
        }
    }

    /// Who held an instance's guard file in every sample the guard sampler took from `first`
    /// to `last` (`None`: nobody).
    struct GuardSegment {
        holder: Option<i32>,
        first: Instant,
        last: Instant,
    }

    /// One tool run as the test saw it: its output, and when it ran.
    struct Ran {
        output: Output,
        id: u64,
        pid: i32,
        began: Instant,
        ended: Instant,
    }

    impl Ran {
        fn took(&self) -> Duration {
            self.ended - self.began
        }
    }

    impl std::ops::Deref for Ran {
        type Target = Output;

        fn deref(&self) -> &Output {
            &self.output
        }
    }

    /// One daemon identity: its PID file (guard derived as `X.lock`), sentinel and log.
    struct Instance {
        index: usize,
        pid_file: PathBuf,
        /// The guard file every controller derives from the PID file (`X.pid` → `X.lock`).
        guard: PathBuf,
        sentinel: PathBuf,
        log: PathBuf,
        /// Operations and faults in flight that may change the state.
        busy: AtomicUsize,
        /// Bumped when a state-changing operation or fault begins or ends.
        generation: AtomicU64,
        /// Kills by the fault thread or the cleaner, from the kill until its process and
        /// children are gone, or until the cleanup after a supervisor kill has ended.
        kills: Disturbances,
        /// Direct `ucw-daemonize` starts (which bypass the guard).
        direct_starts: Disturbances,
        /// Every tool run on the instance, in the order they began.
        runs: Mutex<Vec<RunRecord>>,
        /// Who held the guard file over time, as the guard sampler saw it.
        guard_holders: Mutex<Vec<GuardSegment>>,
        /// Processes of the instance stopped at a fail point, as the fault thread found them:
        /// from the earliest moment they can have stopped to its SIGCONT or SIGKILL.
        stalls: Mutex<Vec<(Instant, Instant)>>,
        /// Every tool run on the instance holds it shared; the cleaner holds it exclusively
        /// while it proves that a daemon whose supervisor was killed is still controlled.
        gate: RwLock<()>,
        /// Held by whoever kills one of the instance's daemons at random (the fault thread
        /// with `try_lock`, the cleaner for a whole kill and cleanup).
        killer: Mutex<()>,
        /// Supervisor kills handed over or being cleaned up.
        pending: AtomicUsize,
        /// Supervisor kills handed over whose cleanup does not hold the gate yet: workers
        /// keep away meanwhile (they would only wait for what is left).
        closed: AtomicUsize,
        /// The processes of SIGKILLed supervisors' daemons, until their cleanup ends: no
        /// START that begins while one of them is part of the daemon (the program alive, a
        /// child holding the lock) may run a program.
        orphans: Mutex<Vec<Orphan>>,
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

        /// The sentinel's `<pid> <parent> <kind> <child>` line, as the running program wrote
        /// it once it reached its final state.
        fn report(&self) -> Option<Report> {
            let text = fs::read_to_string(&self.sentinel).ok()?;
            let mut fields = text.split_whitespace();
            let pid = fields.next()?.parse().ok()?;
            let _parent = fields.next()?;
            let kind = fields.next()?.to_string();
            let child = fields.next()?.parse().ok();
            Some(Report { pid, kind, child })
        }

        fn gate_exclusive(&self) -> RwLockWriteGuard<'_, ()> {
            self.gate
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        }
    }

    /// What a program wrote into its sentinel.
    struct Report {
        pid: i32,
        kind: String,
        child: Option<i32>,
    }

    /// What the test sees of an instance, from `/proc/locks` and the files.
    #[derive(Debug, PartialEq, Eq)]
    enum Truth {
        /// PID file unlocked and sentinel free; `stale` when the PID file has content.
        Stopped { stale: bool },
        /// PID file locked by the supervisor whose PID it holds, sentinel held by its child.
        Running { supervisor: i32, body: i32 },
        /// Anything else (in transition, or broken).
        Unsettled(String),
    }

    struct Soak {
        tag: String,
        dir: TempDir,
        instances: Vec<Instance>,
        /// Where supervisor kills are handed to each instance's cleaner.
        cleaners: Vec<Mutex<Sender<Orphaned>>>,
        operations: AtomicU64,
        target_operations: u64,
        /// Random supervisor kills wanted of each hostile kind.
        wanted_kills: u64,
        faults: AtomicU64,
        per_point: Mutex<BTreeMap<String, u64>>,
        outcomes: Mutex<BTreeMap<String, u64>>,
        /// Random kills of running daemons' supervisors, by the program's kind.
        supervisor_kills: Mutex<BTreeMap<String, u64>>,
        /// What the cleanups after supervisor kills saw and did.
        cleanups: Mutex<BTreeMap<String, u64>>,
        longest_cleanup_stop: Mutex<Duration>,
        violations: Mutex<Vec<String>>,
        /// Every event (time since `began`, what), for the violations' reports.
        history: Mutex<Vec<(Duration, String)>>,
        began: Instant,
        /// `UCW_SOAK_TRACE=FILE`: every event is also written there.
        trace: Option<Mutex<fs::File>>,
        verified_checks: AtomicU64,
        verified_actions: AtomicU64,
        /// The number of the next tool run.
        next_run: AtomicU64,
        /// Processes the fault thread SIGKILLed at a fail point, and when.
        killed: Mutex<Vec<(i32, Instant)>>,
        /// Errors the oracle accepted as allowed outcomes, by action and case.
        accepted: Mutex<BTreeMap<String, u64>>,
        /// For each accepted timeout case, the least evidence seen (how much of the deadline
        /// others held up, against how much was needed).
        closest: Mutex<BTreeMap<String, (Duration, String)>>,
        /// The run that came closest to its bound (deadline + fail-point stops + margin):
        /// how far past its deadline and fail-point stops it ended, and what it was.
        longest_overrun: Mutex<(Duration, String)>,
        /// The longest the fault thread took to handle a process stopped at a fail point
        /// (others stopped meanwhile wait for it).
        longest_fault_handling: Mutex<Duration>,
        /// No more kills, random or at fail points (the final recovery runs).
        calm: AtomicBool,
        stop: AtomicBool,
    }

    impl Soak {
        /// Records a violation; the first few print the latest events with it.
        fn violation(&self, text: String) {
            let mut violations = self.violations.lock().unwrap();
            if violations.len() < HISTORY_REPORTS {
                let history = self.history.lock().unwrap();
                let latest = history.len().saturating_sub(HISTORY_PRINTED);
                let show = |(at, line): &(Duration, String)| {
                    format!("soak:     {:9.3} {line}", at.as_secs_f64())
                };
                let named = process_numbers(&text);
                let earlier: Vec<String> = history[..latest]
                    .iter()
                    .filter(|(_, line)| {
                        process_numbers(line)
                            .iter()
                            .any(|number| named.contains(number))
                    })
                    .map(show)
                    .collect();
                let lines: Vec<String> = history[latest..].iter().map(show).collect();
                let ends: Vec<String> = named
                    .iter()
                    .map(|&number| match harness().end_of_orphan(number as i32) {
                        Some(status) => format!("{number} {status}"),
                        None if common::is_alive(number as i32) => format!("{number} alive"),
                        None => format!("{number} not reaped here"),
                    })
                    .collect();
                let panics = fs::read_to_string(self.dir.join("panics")).unwrap_or_default();
                eprintln!(
                    "soak: VIOLATION {text}\nsoak:   how its processes ended: {}\n\
                     soak:   panics of the tools so far: {panics:?}\n\
                     soak:   earlier events naming its processes:\n{}\n\
                     soak:   what happened just before (s, [instance]):\n{}",
                    ends.join(", "),
                    earlier.join("\n"),
                    lines.join("\n")
                );
            } else {
                eprintln!("soak: VIOLATION {text}");
            }
            violations.push(text);
        }

        /// Records an event for the history printed with a violation.
        fn note(&self, instance: &Instance, line: String) {
            let mut history = self.history.lock().unwrap();
            if let Some(trace) = &self.trace {
                use std::io::Write;
                let _ = writeln!(
                    trace.lock().unwrap(),
                    "{:9.3} [{}] {line}",
                    self.began.elapsed().as_secs_f64(),
                    instance.index
                );
            }
            history.push((self.began.elapsed(), format!("[{}] {line}", instance.index)));
        }

        fn count(&self, map: &Mutex<BTreeMap<String, u64>>, key: String) {
            *map.lock().unwrap().entry(key).or_default() += 1;
        }

        /// Random supervisor kills of programs of `kind` (`plain`, or one of
        /// [`HOSTILE_KINDS`], counting every mix that has it).
        fn supervisor_kills_of(&self, kind: &str) -> u64 {
            self.supervisor_kills
                .lock()
                .unwrap()
                .iter()
                .filter(|(mix, _)| mix.split('+').any(|part| part == kind))
                .map(|(_, count)| count)
                .sum()
        }

        /// Whether to kill the supervisor of a running program of `kind`. A kill takes the
        /// instance from the workers for a while (a second for a program with a child), so
        /// the kills go first to the hostile kinds that lag behind the run's progress (with a
        /// margin): each gets as many as the run needs, spread over it; other programs'
        /// supervisors are killed now and then.
        fn kill_wanted(&self, kind: &str, dice: &mut Dice) -> bool {
            let progress =
                self.operations.load(Ordering::Relaxed) as f64 / self.target_operations as f64;
            let due = self.wanted_kills as f64 * progress.min(1.0) * 1.2 + 2.0;
            let behind = kind.split('+').any(|part| {
                HOSTILE_KINDS.contains(&part) && (self.supervisor_kills_of(part) as f64) < due
            });
            behind || dice.chance(10)
        }

        fn fewest_hostile_kills(&self) -> u64 {
            HOSTILE_KINDS
                .iter()
                .map(|kind| self.supervisor_kills_of(kind))
                .min()
                .unwrap_or(0)
        }

        /// Runs one tool with the soak's environment (and a fail point, if any), recorded
        /// among the instance's runs.
        fn run(
            &self,
            instance: &Instance,
            program: &str,
            args: &[&str],
            point: Option<&str>,
        ) -> Ran {
            let logs = self.dir.join("logs");
            let id = self.next_run.fetch_add(1, Ordering::SeqCst);
            let mut command = Command::new(program);
            command
                .args(args)
                .env("UCW_SOAK_RUN", &self.tag)
                // A tool that panics (a daemon's stderr is gone) says where, in this file.
                .env("UCW_PANIC_LOG", self.dir.join("panics"))
                .env("UCW_SOAK_INSTANCE", instance.index.to_string())
                .env("UCW_SOAK_OPERATION", id.to_string())
                // How long a program waits for a dying predecessor's sentinel before it
                // calls the overlap a violation (tests/fixtures/soak_daemon.rs): 2 s, scaled
                // (the load is measured now; the machine was seen to stall for 3 s at once,
                // and a predecessor that is not dying holds it for ever anyway).
                .env(
                    "UCW_SOAK_OVERLAP_LIMIT_MS",
                    common::margin(Duration::from_secs(2))
                        .as_millis()
                        .to_string(),
                );
            match point {
                Some(point) => command.env("UCW_FAILPOINT", point),
                None => command.env_remove("UCW_FAILPOINT"),
            };
            let began = Instant::now();
            let name = program.rsplit('/').next().unwrap_or(program);
            let action = args.first().copied().unwrap_or("");
            let spawned = harness().spawn(command, &logs);
            instance.runs.lock().unwrap().push(RunRecord {
                id,
                pid: spawned.pid,
                controller: program == control_tool(),
                began,
                ended: None,
                started: false,
            });
            self.note(
                instance,
                format!(
                    "{name} {action} (pid {}, fail point {point:?}) begins",
                    spawned.pid
                ),
            );
            let output = harness().wait(&spawned, Duration::from_secs(60));
            let ended = Instant::now();
            let took = ended - began;
            if let Some(record) = instance
                .runs
                .lock()
                .unwrap()
                .iter_mut()
                .rev()
                .find(|record| record.id == id)
            {
                record.ended = Some(ended);
                record.started = program == daemonize_tool() && output.code == Some(0);
            }
            // Which daemon a successful start left (read after the fact, so only a hint for the
            // report: it names the supervisor a later violation may name).
            let started = if action == "--start" && output.code == Some(0) {
                let text = fs::read_to_string(&instance.pid_file).unwrap_or_default();
                format!(" (PID file now {:?})", text.trim_end())
            } else {
                String::new()
            };
            self.note(
                instance,
                format!(
                    "{name} {action} (pid {}) ended {}{started} after {:.3} s: {}",
                    spawned.pid,
                    describe(&output),
                    took.as_secs_f64(),
                    output.stderr.trim_end()
                ),
            );
            self.operations.fetch_add(1, Ordering::Relaxed);
            if output.stderr.contains("internal error (panic)") {
                self.violation(format!("{program} {args:?} panicked: {}", output.stderr));
            }
            Ran {
                output,
                id,
                pid: spawned.pid,
                began,
                ended,
            }
        }

        /// `ucw-daemon-control ACTION --pid-file P --timeout=5` (3 for a stop); a start runs
        /// the fixture with `words`.
        fn control(
            &self,
            instance: &Instance,
            action: &str,
            point: Option<&str>,
            words: &[String],
        ) -> Ran {
            self.control_within(instance, action, point, words, timeout_of(action))
        }

        /// [`Soak::control`] with a deadline of `timeout` seconds.
        fn control_within(
            &self,
            instance: &Instance,
            action: &str,
            point: Option<&str>,
            words: &[String],
            timeout: u64,
        ) -> Ran {
            let pid_file = instance.pid_file.to_str().unwrap();
            let sentinel = instance.sentinel.to_str().unwrap();
            let log = instance.log.to_str().unwrap();
            let fixture = fixture();
            let fixture = fixture.to_str().unwrap();
            let timeout = format!("--timeout={timeout}");
            let mut args = vec![action, "--pid-file", pid_file, &timeout];
            if action == "--start" {
                args.extend_from_slice(&[
                    "--",
                    daemonize_tool(),
                    "--pid-file",
                    pid_file,
                    "--kill-tree-after",
                    KILL_TREE_AFTER,
                    "--",
                    fixture,
                    sentinel,
                    log,
                    // The body may have the PID file's lock open (ucw-daemonize hands it
                    // the read-only lock description), nothing else.
                    pid_file,
                ]);
                args.extend(words.iter().map(String::as_str));
            }
            self.run(instance, control_tool(), &args, point)
        }

        fn direct_start(&self, instance: &Instance, point: Option<&str>, words: &[String]) -> Ran {
            let fixture = fixture();
            let mut args = vec![
                "--pid-file",
                instance.pid_file.to_str().unwrap(),
                "--kill-tree-after",
                KILL_TREE_AFTER,
                "--",
                fixture.to_str().unwrap(),
                instance.sentinel.to_str().unwrap(),
                instance.log.to_str().unwrap(),
                instance.pid_file.to_str().unwrap(),
            ];
            args.extend(words.iter().map(String::as_str));
            self.run(instance, daemonize_tool(), &args, point)
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
                            Truth::Running {
                                supervisor,
                                body: *body,
                            }
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

        /// Waits up to 5 s (a scaled margin) for `instance` to be settled (stopped or
        /// running), provided that nothing else entered or left since the caller entered
        /// (`entered` is the generation its `enter` returned); returns the settled truth, or
        /// `None` when something else overlapped.
        fn settle(&self, instance: &Instance, entered: u64) -> Option<Truth> {
            let limit = common::margin(Duration::from_secs(5));
            let deadline = Instant::now() + limit;
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
                        "instance {} did not settle within {limit:?}: {truth:?}",
                        instance.index
                    ));
                    return Some(truth);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }

        /// A random instance and its gate, shared; instances being cleaned up (their cleaner
        /// holds or waits for the gate) are passed over, and when every one is, the first to
        /// be free again is taken.
        fn pick(&self, dice: &mut Dice) -> (&Instance, RwLockReadGuard<'_, ()>) {
            loop {
                for _ in 0..2 * INSTANCES {
                    let instance = &self.instances[dice.below(INSTANCES as u64) as usize];
                    if instance.closed.load(Ordering::SeqCst) > 0 {
                        continue;
                    }
                    if let Ok(gate) = instance.gate.try_read() {
                        return (instance, gate);
                    }
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }

        /// One random operation on a random instance.
        fn operate(&self, dice: &mut Dice) {
            let (instance, _gate) = self.pick(dice);
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
            let words = program_words(dice);
            let (entered, alone) = instance.enter();
            let kills = instance.kills.mark();
            let directs = instance.direct_starts.mark();
            // Processes of daemons whose supervisor was killed, alive as this one begins.
            let orphans = instance.orphans.lock().unwrap().clone();
            let (ran, own_direct_marks) = if action == "direct" {
                instance.direct_starts.begin();
                let ran = self.direct_start(instance, point, &words);
                instance.direct_starts.end();
                (ran, 2)
            } else {
                (self.control(instance, action, point, &words), 0)
            };
            let disturbed = instance.kills.since(kills, 0);
            let bypassed = instance.direct_starts.since(directs, own_direct_marks);
            self.count(
                &self.outcomes,
                format!(
                    "{action} -> {}{}",
                    describe(&ran),
                    self.reason(instance, action, &ran)
                ),
            );
            // A start that ran a program while the old daemon's processes lived (0 or 103:
            // started; a direct start says 0) is a second program for the PID file, whatever
            // else happened meanwhile.
            let started = match action {
                "--start" => matches!(ran.code, Some(0 | 103)),
                "direct" => ran.code == Some(0),
                _ => false,
            };
            if started {
                // Alive (holding the lock) now, so all through this start.
                let alive: Vec<i32> = orphans
                    .iter()
                    .filter(|orphan| orphan.part_of_daemon(&instance.pid_file))
                    .map(|orphan| orphan.pid)
                    .collect();
                if !alive.is_empty() {
                    self.violation(format!(
                        "instance {}: {action} (fail point {point:?}) ran a program ({}) while \
                         the program or a child holding the lock ({}) of a daemon whose \
                         supervisor was SIGKILLed lived",
                        instance.index,
                        describe(&ran),
                        describe_processes(&alive)
                    ));
                }
            }
            let verdict = self.judge(instance, action, &ran, disturbed);
            match &verdict {
                Err(problem) => self.violation(format!(
                    "instance {}: {action} (fail point {point:?}) ended {} after {:.3} s: \
                     {problem}; stderr {:?}",
                    instance.index,
                    describe(&ran),
                    ran.took().as_secs_f64(),
                    ran.stderr
                )),
                Ok(Some(case)) => self.count(&self.accepted, format!("{action}: {case}")),
                Ok(None) => {}
            }
            if verdict.is_ok() && !disturbed && !bypassed && alone {
                // Whatever the outcome, the instance must settle (stopped or running); an
                // outcome that says what the daemon is now must match it.
                if let Some(truth) = self.settle(instance, entered) {
                    self.verified_actions.fetch_add(1, Ordering::Relaxed);
                    let want_running = match (action, ran.code) {
                        ("--start", Some(0 | 100 | 103)) | ("direct", Some(0)) => Some(true),
                        ("--stop", Some(0 | 100 | 103)) => Some(false),
                        _ => None,
                    };
                    let running = matches!(truth, Truth::Running { .. });
                    if want_running.is_some_and(|want| want != running)
                        && !instance.kills.since(kills, 0)
                    {
                        self.violation(format!(
                            "instance {}: {action} succeeded ({}) but the daemon is {truth:?}",
                            instance.index,
                            describe(&ran)
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
            let kills = instance.kills.mark();
            let ran = self.control(instance, "--check", point, &[]);
            let disturbed = instance.kills.since(kills, 0);
            // Read the truth before judging the moment quiet: an operation that begins after
            // the judgement must not change what is compared.
            let (pid_locked, content, sentinel) = self.facts(instance);
            let truth = self.truth(instance);
            let quiet = quiet_before
                && instance.busy.load(Ordering::SeqCst) == 0
                && instance.generation.load(Ordering::SeqCst) == before;
            self.count(
                &self.outcomes,
                format!(
                    "--check -> {}{}",
                    describe(&ran),
                    self.reason(instance, "--check", &ran)
                ),
            );
            // A check only reads: its errors are a guard held by others till the deadline,
            // or its own controller killed at its fail point.
            match self.judge(instance, "--check", &ran, disturbed) {
                Err(problem) => {
                    self.violation(format!(
                        "instance {}: check (fail point {point:?}) ended {} after {:.3} s: \
                         {problem}; stderr {:?}",
                        instance.index,
                        describe(&ran),
                        ran.took().as_secs_f64(),
                        ran.stderr
                    ));
                    return;
                }
                Ok(Some(case)) => {
                    self.count(&self.accepted, format!("--check: {case}"));
                    return;
                }
                Ok(None) => {}
            }
            if !quiet {
                return;
            }
            // The protocol's meaning of each answer: 0 = the PID file is locked (RUNNING or
            // BUSY), 101 = unlocked and empty (or absent), 103 = unlocked with content.
            let code = ran.code.unwrap();
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
                std::thread::sleep(common::margin(Duration::from_millis(100)));
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

        /// Leaves the state-changing section; the last one out first waits (at most 2 s, a
        /// scaled margin, best effort) for the instance to settle, so that a quiet moment
        /// never starts in the middle of a transition (a body not yet holding its sentinel, a
        /// supervisor still reaping its killed program). A process of the instance stopped
        /// at a fail point ends the wait: only the fault thread moves it on, and the fault
        /// thread may be the one waiting here.
        fn leave_settled(&self, instance: &Instance) {
            if instance.busy.load(Ordering::SeqCst) == 1 {
                let deadline = Instant::now() + common::margin(Duration::from_secs(2));
                let mut looks: u32 = 0;
                while matches!(self.truth(instance), Truth::Unsettled(_))
                    && instance.busy.load(Ordering::SeqCst) == 1
                    && Instant::now() < deadline
                {
                    looks += 1;
                    if looks % 16 == 0
                        && stopped_processes(&self.tag)
                            .iter()
                            .any(|(_, index, _, _)| *index == instance.index)
                    {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            instance.leave();
        }

        /// The fault thread: handles processes stopped at fail points and kills running
        /// programs at random (their supervisors are the cleaners' to kill).
        fn inject_faults(&self, mut dice: Dice) {
            let mut last_random_kill = Instant::now();
            // A process found stopped now stopped after the previous look began.
            let mut previous_look = Instant::now();
            while !self.stop.load(Ordering::SeqCst) {
                let look = Instant::now();
                for (pid, instance_index, point, operation) in stopped_processes(&self.tag) {
                    let instance = &self.instances[instance_index];
                    // ... and after the run that armed its fail point began.
                    let stopped_since = instance
                        .runs
                        .lock()
                        .unwrap()
                        .iter()
                        .rev()
                        .find(|record| Some(record.id) == operation)
                        .map_or(previous_look, |record| record.began.max(previous_look));
                    instance.enter();
                    // Once calm (the final recovery runs), a process still stopped at a point
                    // (a supervisor of a worker's daemon that the recovery stops) goes on: a
                    // kill now would start a cleanup beside the recovery.
                    let kill = dice.chance(75) && !self.calm.load(Ordering::SeqCst);
                    let signal = if kill {
                        rustix::process::Signal::KILL
                    } else {
                        rustix::process::Signal::CONT
                    };
                    if kill {
                        instance.kills.begin();
                    }
                    // Only a supervisor stops at a `supervisor-*` point (no other process
                    // passes them): its program, if still there, is among its children.
                    let supervisor = point.starts_with("supervisor-");
                    let mut children = children_of(pid);
                    let kind = children.iter().find_map(|child| kind_of_process(*child));
                    if point == "control-stop-signalled" {
                        // The daemon already has its SIGTERM: it stops after the controller
                        // is gone, which belongs to this disturbance too.
                        let daemon = instance
                            .pid_file_text()
                            .and_then(|text| text.trim_end().parse::<i32>().ok());
                        children.extend(daemon.filter(|daemon| belongs_to(*daemon, &self.tag)));
                    }
                    if kill && supervisor {
                        // From now on the workers keep away until the cleaner has the gate.
                        instance.pending.fetch_add(1, Ordering::SeqCst);
                        instance.closed.fetch_add(1, Ordering::SeqCst);
                    }
                    let handling = Instant::now();
                    self.note(
                        instance,
                        format!(
                            "fault: {} process {pid} stopped at {point} (children {children:?})",
                            if kill { "SIGKILL for" } else { "SIGCONT for" }
                        ),
                    );
                    if kill {
                        self.killed.lock().unwrap().push((pid, Instant::now()));
                    }
                    if let Some(target) = rustix::process::Pid::from_raw(pid) {
                        let _ = rustix::process::kill_process(target, signal);
                    }
                    // Stopped until now: the run that armed the point waited meanwhile.
                    instance
                        .stalls
                        .lock()
                        .unwrap()
                        .push((stopped_since, Instant::now()));
                    self.faults.fetch_add(1, Ordering::Relaxed);
                    self.count(
                        &self.per_point,
                        format!("{point} -> {}", if kill { "SIGKILL" } else { "SIGCONT" }),
                    );
                    if kill {
                        common::wait_gone(pid, Duration::from_secs(5));
                        if supervisor {
                            // What it leaves (a program that changed its uid, a child that
                            // keeps the lock) is the cleaner's: it ends this disturbance and
                            // leaves the instance.
                            self.hand_off(
                                instance,
                                Orphaned {
                                    supervisor: pid,
                                    kind,
                                    known: children,
                                    cause: point,
                                },
                            );
                            continue;
                        }
                        // Its children end on their own (EOF, PDEATHSIG, or a launch that
                        // completes): give them the time before the moment counts as quiet.
                        for child in children {
                            wait_gone_or_stopped(child, Duration::from_secs(2));
                        }
                        instance.kills.end();
                    }
                    self.leave_settled(instance);
                    self.note(
                        instance,
                        format!(
                            "fault: process {pid} at {point} handled in {:.3} s",
                            handling.elapsed().as_secs_f64()
                        ),
                    );
                    let mut longest = self.longest_fault_handling.lock().unwrap();
                    *longest = (*longest).max(handling.elapsed());
                }
                if !self.calm.load(Ordering::SeqCst)
                    && last_random_kill.elapsed() > Duration::from_millis(150)
                {
                    last_random_kill = Instant::now();
                    self.kill_a_running_program(&mut dice);
                }
                previous_look = look;
                std::thread::sleep(Duration::from_millis(3));
            }
        }

        /// The guard sampler: records who holds each instance's guard file (from
        /// `/proc/locks`) every few milliseconds, until the end, for the judgement of
        /// timeouts.
        fn sample_guards(&self) {
            use std::os::unix::fs::MetadataExt;
            let mut identities: Vec<Option<(u64, u64)>> = vec![None; INSTANCES];
            while !self.stop.load(Ordering::SeqCst) {
                let locks = flock_holders();
                let now = Instant::now();
                for (instance, identity) in self.instances.iter().zip(identities.iter_mut()) {
                    if identity.is_none() {
                        // Controllers create the guard on first use; it is never replaced.
                        *identity = fs::metadata(&instance.guard)
                            .ok()
                            .map(|metadata| (metadata.dev(), metadata.ino()));
                    }
                    let Some((device, inode)) = *identity else {
                        continue;
                    };
                    let holder = locks
                        .iter()
                        .find(|(locked_device, locked_inode, _)| {
                            *locked_device == device && *locked_inode == inode
                        })
                        .map(|(_, _, pid)| *pid);
                    let mut segments = instance.guard_holders.lock().unwrap();
                    match segments.last_mut() {
                        Some(last) if last.holder == holder => last.last = now,
                        _ => segments.push(GuardSegment {
                            holder,
                            first: now,
                            last: now,
                        }),
                    }
                }
                std::thread::sleep(GUARD_SAMPLE_PAUSE);
            }
        }

        /// Gives a SIGKILLed supervisor (already gone) to its instance's cleaner; the
        /// instance was closed to the workers before the kill.
        fn hand_off(&self, instance: &Instance, orphaned: Orphaned) {
            let _ = self.cleaners[instance.index].lock().unwrap().send(orphaned);
        }

        /// SIGKILLs the program of a running daemon, if one runs and no supervisor kill of
        /// that instance is in hand.
        fn kill_a_running_program(&self, dice: &mut Dice) {
            let instance = &self.instances[dice.below(INSTANCES as u64) as usize];
            let Ok(_killer) = instance.killer.try_lock() else {
                return;
            };
            if instance.pending.load(Ordering::SeqCst) > 0 {
                return;
            }
            instance.enter();
            if let Truth::Running { supervisor, body } = self.truth(instance) {
                // A supervisor with a fail point armed would stop itself once its program is
                // killed, while this thread waits for it: leave that one to the cleaner.
                let armed = environment_of(supervisor)
                    .iter()
                    .any(|entry| entry.starts_with("UCW_FAILPOINT="));
                if !armed && belongs_to(body, &self.tag) {
                    self.note(
                        instance,
                        format!("SIGKILL for the program {body} of supervisor {supervisor}"),
                    );
                    instance.kills.begin();
                    if let Some(target) = rustix::process::Pid::from_raw(body) {
                        let _ =
                            rustix::process::kill_process(target, rustix::process::Signal::KILL);
                    }
                    let killed = Instant::now();
                    common::wait_gone(body, Duration::from_secs(5));
                    self.note(
                        instance,
                        format!("program {body} gone after {:?}", killed.elapsed()),
                    );
                    // The body's death makes the supervisor empty the PID file, unlock it
                    // and exit (a child the program left keeps only a dead lock
                    // description): let it go.
                    wait_gone_or_stopped(supervisor, Duration::from_secs(2));
                    self.note(
                        instance,
                        format!(
                            "supervisor {supervisor} gone after {:?}: {}",
                            killed.elapsed(),
                            describe_processes(&[supervisor])
                        ),
                    );
                    instance.kills.end();
                    self.faults.fetch_add(1, Ordering::Relaxed);
                    self.count(&self.per_point, "running body -> SIGKILL".to_string());
                }
            }
            self.leave_settled(instance);
            self.note(instance, "random program kill done".to_string());
        }

        /// An instance's cleaner: kills the supervisor of its running daemon at random, and
        /// cleans up after every supervisor kill (its own, and those handed over by the
        /// fault thread).
        fn clean(&self, index: usize, orphans: Receiver<Orphaned>, mut dice: Dice) {
            let instance = &self.instances[index];
            let pause = |dice: &mut Dice| Duration::from_millis(100 + dice.below(300));
            let mut next_kill = Instant::now() + pause(&mut dice);
            loop {
                let wait = next_kill
                    .saturating_duration_since(Instant::now())
                    .clamp(Duration::from_millis(1), Duration::from_millis(20));
                match orphans.recv_timeout(wait) {
                    Ok(orphaned) => {
                        let _killer = instance.killer.lock().unwrap();
                        let gate = instance.gate_exclusive();
                        instance.closed.fetch_sub(1, Ordering::SeqCst);
                        self.clean_up(instance, orphaned, gate, None, &mut dice);
                    }
                    Err(RecvTimeoutError::Timeout) => {
                        if self.stop.load(Ordering::SeqCst) {
                            return;
                        }
                        if !self.calm.load(Ordering::SeqCst) && Instant::now() >= next_kill {
                            self.kill_a_supervisor(instance, &mut dice);
                            next_kill = Instant::now() + pause(&mut dice);
                        }
                    }
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        }

        /// SIGKILLs the supervisor of the instance's running daemon, once its program has
        /// reached its final state (uid changed, child forked), and cleans up. Mostly with
        /// the gate held throughout; sometimes the workers get a moment with what is left
        /// before the cleanup.
        fn kill_a_supervisor(&self, instance: &Instance, dice: &mut Dice) {
            let _killer = instance.killer.lock().unwrap();
            // Only a running daemon is worth the gate (which waits for the workers' runs).
            let Truth::Running { body, .. } = self.truth(instance) else {
                return;
            };
            match instance.report() {
                Some(report) if report.pid == body && self.kill_wanted(&report.kind, dice) => {}
                _ => return,
            }
            let window = dice.chance(10);
            let gate = instance.gate_exclusive();
            let Truth::Running { supervisor, body } = self.truth(instance) else {
                return;
            };
            let Some(report) = instance.report().filter(|report| report.pid == body) else {
                return;
            };
            if !belongs_to(supervisor, &self.tag) {
                return;
            }
            instance.pending.fetch_add(1, Ordering::SeqCst);
            instance.enter();
            instance.kills.begin();
            self.note(
                instance,
                format!(
                    "SIGKILL for supervisor {supervisor} (program {body}, {}, child {:?}); workers get a moment: {window}",
                    report.kind, report.child
                ),
            );
            if let Some(target) = rustix::process::Pid::from_raw(supervisor) {
                let _ = rustix::process::kill_process(target, rustix::process::Signal::KILL);
            }
            common::wait_gone(supervisor, Duration::from_secs(5));
            self.faults.fetch_add(1, Ordering::Relaxed);
            self.count(&self.per_point, "running supervisor -> SIGKILL".to_string());
            self.count(&self.supervisor_kills, report.kind.clone());
            let orphaned = Orphaned {
                supervisor,
                kind: Some(report.kind),
                known: [Some(body), report.child].into_iter().flatten().collect(),
                cause: "running supervisor".to_string(),
            };
            let window = window.then(|| Duration::from_millis(dice.below(100)));
            self.clean_up(instance, orphaned, gate, window, dice);
        }

        /// After a supervisor's SIGKILL: what is left of its daemon must never let a START
        /// run a second program, STOP with `--kill-after-timeout` must end all of it within
        /// its bound, and a check must then say "not running". With a `window`, the gate is
        /// given up for that long first (the workers meet what is left). Ends the kill's
        /// disturbance and leaves the instance (the killer entered it).
        fn clean_up<'i>(
            &self,
            instance: &'i Instance,
            orphaned: Orphaned,
            mut gate: RwLockWriteGuard<'i, ()>,
            window: Option<Duration>,
            dice: &mut Dice,
        ) {
            let session = orphaned.supervisor;
            // The pids the daemon's processes reported themselves (`pid=` and `child=` lines
            // with the supervisor's session), and those known at the kill.
            let mut orphans: Vec<Orphan> = Vec::new();
            let join = |orphans: &mut Vec<Orphan>| {
                let reported = reported_pids(&instance.log, session);
                let members = session_members(session, &self.tag);
                let known = orphaned.known.iter().chain(reported.iter()).copied();
                let found = known
                    .filter_map(Orphan::of)
                    .filter(|orphan| {
                        stat_fields(orphan.pid)
                            .and_then(|fields| fields.get(3)?.parse::<i32>().ok())
                            == Some(session)
                    })
                    .chain(members);
                for member in found {
                    if !orphans.iter().any(|known| known.pid == member.pid) {
                        orphans.push(member);
                    }
                }
            };
            join(&mut orphans);
            instance
                .orphans
                .lock()
                .unwrap()
                .extend(orphans.iter().cloned());
            if let Some(window) = window {
                drop(gate);
                std::thread::sleep(window);
                gate = instance.gate_exclusive();
            }
            // A program that was still starting may have forked its child since.
            join(&mut orphans);
            let kind = orphaned
                .kind
                .clone()
                .or_else(|| {
                    orphans
                        .iter()
                        .find_map(|orphan| kind_of_process(orphan.pid))
                })
                .unwrap_or_else(|| "gone".to_string());
            let what = format!(
                "instance {}: after the SIGKILL of supervisor {session} ({}, program {kind})",
                instance.index, orphaned.cause
            );
            self.note(
                instance,
                format!(
                    "cleanup of supervisor {session} ({}) with the gate: processes {orphans:?}",
                    orphaned.cause
                ),
            );
            let holding = |orphans: &[Orphan]| -> Vec<i32> {
                orphans
                    .iter()
                    .filter(|orphan| orphan.part_of_daemon(&instance.pid_file))
                    .map(|orphan| orphan.pid)
                    .collect()
            };

            // (c) START answers 100 while anything of the old daemon lives, or, when the
            // file is BUSY (locked without a PID: the launcher or the supervisor emptied it
            // before the kill), waits for a PID that never comes (START × BUSY, docs/design.md
            // §3): a busy timeout, with a short deadline.
            let (locked_before, content_before, _) = self.facts(instance);
            let busy =
                locked_before && (content_before.is_empty() || content_before == "(starting)\n");
            let words = program_words(dice);
            let timeout = if busy {
                CLEANUP_TIMEOUT
            } else {
                quiet_timeout()
            };
            let start = self.control_within(instance, "--start", None, &words, timeout);
            let living = holding(&orphans);
            let busy_timeout = busy
                && start.code == Some(102)
                && Said::parse(instance, timeout, &start.stderr)
                    .is_ok_and(|said| said == [Said::BusyTimeout]);
            let start_outcome = if !living.is_empty() && busy_timeout {
                "busy timeout while the old daemon's leftovers held an empty file".to_string()
            } else if !living.is_empty() {
                if start.code != Some(100) {
                    self.violation(format!(
                        "{what}: START ended {} while {} of the old daemon lived (the program, or a child holding the lock): {:?}",
                        describe(&start),
                        describe_processes(&living),
                        start.stderr
                    ));
                }
                "100 while the old daemon lived".to_string()
            } else {
                if !matches!(start.code, Some(0 | 100 | 103)) {
                    self.violation(format!(
                        "{what}: START ended {} (the old daemon was gone): {:?}",
                        describe(&start),
                        start.stderr
                    ));
                }
                if !locked_before && start.code == Some(100) {
                    self.violation(format!(
                        "{what}: START said already running although the PID file was free"
                    ));
                }
                format!("{} (the old daemon was gone)", describe(&start))
            };
            self.count(&self.cleanups, format!("START -> {start_outcome}"));

            // (b) STOP stops all of it, within its bound.
            let pid_file = instance.pid_file.to_str().unwrap();
            let timeout = CLEANUP_TIMEOUT.to_string();
            let began = Instant::now();
            let stop = self.run(
                instance,
                control_tool(),
                &[
                    "--stop",
                    "--pid-file",
                    pid_file,
                    "--timeout",
                    &timeout,
                    "--kill-after-timeout",
                ],
                None,
            );
            let took = began.elapsed();
            // The product's bound (T, then at most max(T, 1 s) after the SIGKILL, and a last
            // look after each) plus a scaled margin.
            let limit = Duration::from_secs(2 * CLEANUP_TIMEOUT)
                + 2 * STOP_AFTER_DEADLINE
                + common::margin(Duration::from_secs(2));
            {
                let mut longest = self.longest_cleanup_stop.lock().unwrap();
                *longest = (*longest).max(took);
            }
            let how = if took >= Duration::from_secs(CLEANUP_TIMEOUT) {
                "after its deadline, by SIGKILL"
            } else {
                "within its deadline"
            };
            self.count(
                &self.cleanups,
                format!("STOP -> {} ({how})", describe(&stop)),
            );
            // Its second wait (after the SIGKILL) is bounded too: on a machine slowed down
            // for a moment the killed may let go of the lock a little after it; they must
            // then do so within a margin.
            let killed_late = stop.code == Some(102)
                && Said::parse(instance, CLEANUP_TIMEOUT, &stop.stderr)
                    .is_ok_and(|said| said == [Said::StopTimeoutAfterKill])
                && common::eventually(Duration::from_secs(2), || !self.facts(instance).0);
            // (A supervisor killed while it ended its program's tree leaves the file empty
            // and locked by what is left: STOP's escalation on BUSY kills those holders, so
            // this STOP must succeed like any other; tests/README.md, Findings.)
            join(&mut orphans);
            if killed_late {
                self.count(
                    &self.cleanups,
                    "STOP -> exit 102 (the killed let go of the lock after its deadline)"
                        .to_string(),
                );
            } else if !matches!(stop.code, Some(0 | 100 | 103)) {
                self.violation(format!(
                    "{what}: --stop --timeout {CLEANUP_TIMEOUT} --kill-after-timeout ended {} after {took:?}: {:?}; {}",
                    describe(&stop),
                    stop.stderr,
                    daemon_report(instance)
                ));
            }
            if took > limit {
                self.violation(format!(
                    "{what}: --stop --timeout {CLEANUP_TIMEOUT} --kill-after-timeout took {took:?} \
                     (limit {limit:?})"
                ));
            }
            // The lock goes as the last holder closes its files, a moment before it is a
            // zombie.
            join(&mut orphans);
            let left: Vec<i32> = orphans
                .iter()
                .filter(|orphan| {
                    let deadline = Instant::now() + common::margin(Duration::from_secs(1));
                    while orphan.alive() && Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    orphan.alive()
                })
                .map(|orphan| orphan.pid)
                .collect();
            if !left.is_empty() {
                self.violation(format!(
                    "{what}: STOP ended {} but left {} alive: {:?}",
                    describe(&stop),
                    describe_processes(&left),
                    stop.stderr
                ));
                // Do not let one failure turn into many.
                for pid in &left {
                    if let Some(target) = rustix::process::Pid::from_raw(*pid) {
                        let _ =
                            rustix::process::kill_process(target, rustix::process::Signal::KILL);
                    }
                }
            }
            self.count(
                &self.cleanups,
                format!(
                    "processes the killed supervisor left (program, child): {}",
                    orphans.len()
                ),
            );

            let check = self.control_within(instance, "--check", None, &[], quiet_timeout());
            if !matches!(check.code, Some(101 | 103)) {
                self.violation(format!(
                    "{what}: the check after STOP ended {}: {:?}",
                    describe(&check),
                    check.stderr
                ));
            }
            instance
                .orphans
                .lock()
                .unwrap()
                .retain(|orphan| !orphans.contains(orphan));
            self.note(instance, format!("cleanup of supervisor {session} done"));
            instance.kills.end();
            self.leave_settled(instance);
            instance.pending.fetch_sub(1, Ordering::SeqCst);
            drop(gate);
        }
    }

    /// The `--timeout` of a worker's run of `action`: 3 s for a stop, 5 s for the rest (a stop
    /// may meet what a SIGKILLed supervisor left, a child that ignores SIGTERM, and then waits
    /// out its whole deadline: it gets less than the others, so that whatever queues behind it
    /// on the guard still gets through within its own).
    fn timeout_of(action: &str) -> u64 {
        if action == "--stop" {
            STOP_TIMEOUT
        } else {
            TIMEOUT
        }
    }

    /// What a tool said on one line of its stderr, among what the soak's runs can say. A
    /// line that is none of these is a violation.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Said {
        // ucw-daemon-control
        GuardTimeout,
        LaunchTimeout,
        StopTimeout,
        StopTimeoutAfterKill,
        BusyTimeout,
        HeldByOthers,
        /// "still hold the lock": STOP found no holder left to signal and the lock still held
        /// after its grace. Never accepted: a last holder that exits during STOP's scan is a
        /// stopped daemon (the lock is looked at again).
        StillHeldByOthers,
        LauncherFailed,
        LauncherKilled,
        DidNotLock,
        /// "the daemon's program exited … right after it started": the program ended (a kill)
        /// before START looked at the PID file.
        EndedRightAfterStart,
        /// START's hint while it still waits for a launcher that has not locked the PID file
        /// (one held up at a fail point): never an outcome, [`Said::parse`] drops it.
        ForegroundHint,
        DidNotWritePid,
        NotHolding,
        // ucw-daemonize, run directly or as START's launcher
        AlreadyRunning,
        EndedBeforeReporting,
        EndedBeforeConfirming,
        EndedBeforeRelease,
    }

    impl Said {
        /// The lines of each case for `instance` and a deadline of `timeout` seconds, with
        /// the tool's prefix; `#` stands for a number.
        fn lines(instance: &Instance, timeout: u64) -> Vec<(Said, String)> {
            let pid_file = instance.pid_file.display();
            let guard = instance.guard.display();
            let control = "ucw-daemon-control: ";
            let daemonize = daemonize_tool();
            let launcher = "ucw-daemonize: ";
            vec![
                (
                    Said::GuardTimeout,
                    format!(
                        "{control}Cannot lock guard file {guard}: another controller held it \
                         for {timeout} s"
                    ),
                ),
                (
                    Said::LaunchTimeout,
                    format!("{control}{daemonize} did not finish within {timeout} s"),
                ),
                // A launcher held up before it locked the PID file (a fail point, a slow
                // machine) is told the way a foreground program is.
                (
                    Said::LaunchTimeout,
                    format!(
                        "{control}{daemonize} did not finish within {timeout} s and never locked the PID file \
                         {pid_file}: it looks like a foreground program (ucw-daemonize puts one \
                         under the protocol)"
                    ),
                ),
                (
                    Said::StopTimeout,
                    format!("{control}daemon # did not stop within {timeout} s"),
                ),
                (
                    Said::StopTimeoutAfterKill,
                    format!(
                        "{control}daemon # did not stop within {timeout} s, not even after \
                         SIGKILL"
                    ),
                ),
                (
                    Said::BusyTimeout,
                    format!(
                        "{control}daemon did not write its PID to {pid_file} within {timeout} s"
                    ),
                ),
                (
                    Said::HeldByOthers,
                    format!(
                        "{control}daemon # has exited, but other processes of the daemon held \
                         the lock on {pid_file} for {timeout} s"
                    ),
                ),
                (
                    Said::StillHeldByOthers,
                    format!(
                        "{control}daemon # has exited, but other processes of the daemon still \
                         hold the lock on {pid_file}"
                    ),
                ),
                (
                    Said::LauncherFailed,
                    format!("{control}{daemonize} could not start the daemon (exit status 102)"),
                ),
                (
                    Said::LauncherKilled,
                    format!("{control}{daemonize} was killed by signal 9 (KILL)"),
                ),
                (
                    Said::DidNotLock,
                    format!("{control}daemon did not lock its PID file {pid_file}"),
                ),
                (
                    Said::EndedRightAfterStart,
                    format!(
                        "{control}the daemon's program exited with status # right after it \
                         started"
                    ),
                ),
                (
                    Said::EndedRightAfterStart,
                    format!(
                        "{control}the daemon's program was killed by signal 9 (KILL) right after \
                         it started"
                    ),
                ),
                (
                    Said::EndedRightAfterStart,
                    format!(
                        "{control}the daemon's program was killed by signal 15 (TERM) right \
                         after it started"
                    ),
                ),
                (
                    Said::ForegroundHint,
                    format!(
                        "{control}{daemonize} has run for 2 s without locking the PID file \
                         {pid_file}: it looks like a foreground program (ucw-daemonize puts one \
                         under the protocol); still waiting"
                    ),
                ),
                (
                    Said::DidNotWritePid,
                    format!("{control}daemon did not write its PID to {pid_file}"),
                ),
                (
                    Said::NotHolding,
                    format!("{control}process # does not hold the lock on {pid_file}"),
                ),
                (
                    Said::AlreadyRunning,
                    format!("{launcher}Daemon is already running (PID file {pid_file} is locked)"),
                ),
                (
                    Said::EndedBeforeReporting,
                    format!(
                        "{launcher}Cannot start the daemon: process # ended before reporting its \
                         setup"
                    ),
                ),
                (
                    Said::EndedBeforeConfirming,
                    format!(
                        "{launcher}Cannot start the daemon: process # ended before confirming \
                         its start"
                    ),
                ),
                (
                    Said::EndedBeforeRelease,
                    format!(
                        "{launcher}Cannot release the daemon (process #, ended before its \
                         release): EPIPE (Broken pipe)"
                    ),
                ),
            ]
        }

        /// Every line of `stderr`, classified; the first unknown line is the error.
        fn parse(instance: &Instance, timeout: u64, stderr: &str) -> Result<Vec<Said>, String> {
            let known = Said::lines(instance, timeout);
            stderr
                .lines()
                .filter(|line| !line.is_empty())
                .map(|line| {
                    known
                        .iter()
                        .find(|(_, pattern)| matches_pattern(pattern, line))
                        .map(|(said, _)| *said)
                        .ok_or_else(|| format!("unexpected message {line:?}"))
                })
                .filter(|said| *said != Ok(Said::ForegroundHint))
                .collect()
        }

        fn by_launcher(self) -> bool {
            matches!(
                self,
                Said::AlreadyRunning
                    | Said::EndedBeforeReporting
                    | Said::EndedBeforeConfirming
                    | Said::EndedBeforeRelease
            )
        }

        /// The controller actions that can say it.
        fn said_by(self, action: &str) -> bool {
            match self {
                Said::GuardTimeout => true,
                Said::LaunchTimeout
                | Said::LauncherFailed
                | Said::LauncherKilled
                | Said::DidNotLock
                | Said::EndedRightAfterStart
                | Said::ForegroundHint
                | Said::DidNotWritePid => action == "--start",
                // START waits on a BUSY file too (docs/design.md §3).
                Said::BusyTimeout => action == "--stop" || action == "--start",
                Said::StopTimeout
                | Said::StopTimeoutAfterKill
                | Said::HeldByOthers
                | Said::StillHeldByOthers => action == "--stop",
                Said::NotHolding => action == "--stop" || action == "--reload",
                _ => false,
            }
        }

        /// A few words for the summary.
        fn words(self) -> &'static str {
            match self {
                Said::GuardTimeout => "guard timeout",
                Said::LaunchTimeout => "launch timeout",
                Said::StopTimeout => "daemon did not stop",
                Said::StopTimeoutAfterKill => "daemon did not stop after SIGKILL",
                Said::BusyTimeout => "busy timeout",
                Said::HeldByOthers => "held by other processes of the daemon",
                Said::StillHeldByOthers => "still held by others, none of them found",
                Said::LauncherFailed => "launcher failed",
                Said::LauncherKilled => "launcher killed",
                Said::DidNotLock => "daemon did not lock its PID file",
                Said::EndedRightAfterStart => "the program ended right after it started",
                Said::ForegroundHint => "hint: looks like a foreground program",
                Said::DidNotWritePid => "daemon did not write its PID",
                Said::NotHolding => "process does not hold the lock",
                Said::AlreadyRunning => "already running",
                Said::EndedBeforeReporting => "ended before reporting",
                Said::EndedBeforeConfirming => "ended before confirming",
                Said::EndedBeforeRelease => "ended before its release",
            }
        }
    }

    /// Whether `text` is `pattern`, where each `#` in the pattern stands for one or more
    /// decimal digits.
    fn matches_pattern(pattern: &str, text: &str) -> bool {
        let mut parts = pattern.split('#');
        let Some(mut rest) = text.strip_prefix(parts.next().unwrap_or("")) else {
            return false;
        };
        for part in parts {
            let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if digits == 0 {
                return false;
            }
            let Some(after) = rest[digits..].strip_prefix(part) else {
                return false;
            };
            rest = after;
        }
        rest.is_empty()
    }

    /// The total length of the union of `intervals`, each clipped to `from..to`.
    fn union_length(
        mut intervals: Vec<(Instant, Instant)>,
        from: Instant,
        to: Instant,
    ) -> Duration {
        intervals.retain(|(begin, end)| *end > from && *begin < to);
        intervals.sort();
        let mut total = Duration::ZERO;
        let mut covered_to = from;
        for (begin, end) in intervals {
            let (begin, end) = (begin.max(covered_to), end.min(to));
            if end > begin {
                total += end - begin;
                covered_to = end;
            }
        }
        total
    }

    /// The oracle: which outcomes each run may have, given what happened meanwhile (see
    /// tests/README.md, "How the soak decides").
    impl Soak {
        /// Judges one worker run of `action` (`direct`: `ucw-daemonize` without a
        /// controller). `Ok(None)`: an answer the action always allows; `Ok(Some(case))`: an
        /// error the protocol allows in what happened meanwhile (the case names it and its
        /// evidence); `Err(why)`: a violation. `disturbed`: a kill by the fault thread or a
        /// cleaner touched the instance during the run.
        fn judge(
            &self,
            instance: &Instance,
            action: &str,
            ran: &Ran,
            disturbed: bool,
        ) -> Result<Option<String>, String> {
            self.within_bound(instance, action, ran)?;
            if let Some(signal) = ran.signal {
                if signal == 9 && self.killed_by_fault(ran) {
                    return Ok(Some("killed at its fail point".to_string()));
                }
                return Err(format!(
                    "killed by signal {signal}, not by the fault thread"
                ));
            }
            let Some(code) = ran.code else {
                return Err("no exit status".to_string());
            };
            let answers: &[i32] = match action {
                "--check" => &[0, 101, 103],
                "--start" | "--stop" => &[0, 100, 103],
                "--reload" => &[0, 101],
                _ => &[0],
            };
            if answers.contains(&code) {
                return Ok(None);
            }
            if code != 102 {
                return Err(format!("{action} never answers {code}"));
            }
            let timeout = timeout_of(action);
            let said = Said::parse(instance, timeout, &ran.stderr)?;
            let (launcher, control): (Vec<Said>, Vec<Said>) =
                said.iter().partition(|said| said.by_launcher());
            let by_kill = |case: Said| {
                if disturbed {
                    Ok(Some(format!("{} (a kill meanwhile)", case.words())))
                } else {
                    Err(format!("{} without a kill meanwhile", case.words()))
                }
            };
            if action == "direct" {
                return match (&control[..], &launcher[..]) {
                    // The lock is taken: a daemon, a starting launcher or a finishing STOP.
                    ([], [Said::AlreadyRunning]) => Ok(None),
                    (
                        [],
                        [case @ (Said::EndedBeforeReporting
                        | Said::EndedBeforeConfirming
                        | Said::EndedBeforeRelease)],
                    ) => by_kill(*case),
                    _ => Err(format!("ucw-daemonize said {said:?}")),
                };
            }
            let [case] = control[..] else {
                return Err(format!(
                    "expected one message of the controller, got {said:?}"
                ));
            };
            if !case.said_by(action) {
                return Err(format!("{action} cannot say {case:?}"));
            }
            if !launcher.is_empty() && case != Said::LauncherFailed {
                return Err(format!(
                    "a launcher spoke, yet the controller said {case:?}"
                ));
            }
            let deadline = Duration::from_secs(timeout);
            let expired = |case: Said| -> Result<(), String> {
                if ran.took() < deadline {
                    return Err(format!(
                        "{} after {:.3} s, before its deadline of {timeout} s",
                        case.words(),
                        ran.took().as_secs_f64()
                    ));
                }
                Ok(())
            };
            match case {
                Said::GuardTimeout => {
                    expired(case)?;
                    let (held, tolerance) = self.guard_held_by_others(instance, ran);
                    let needed = deadline.saturating_sub(tolerance);
                    self.closest_evidence("guard timeout: others held the guard", held, needed);
                    if held < needed {
                        return Err(format!(
                            "guard timeout, but other controllers of the instance held the guard \
                             for at most {:.3} s in a row (handovers up to {:.3} s included): \
                             {}",
                            held.as_secs_f64(),
                            tolerance.as_secs_f64(),
                            self.guard_story(instance, ran)
                        ));
                    }
                    Ok(Some(format!("{} (others held the guard)", case.words())))
                }
                Said::LaunchTimeout | Said::StopTimeout | Said::BusyTimeout => {
                    expired(case)?;
                    if disturbed {
                        return Ok(Some(format!("{} (a kill meanwhile)", case.words())));
                    }
                    if case == Said::StopTimeout {
                        // It did signal: the daemon goes (a slow one a little later).
                        self.signalled_daemon_went(ran)?;
                    }
                    if case != Said::LaunchTimeout && self.direct_start_during(instance, ran, true)
                    {
                        // A start without the guard took the PID file's lock as the old
                        // daemon let go of it (or before the PID was written): STOP waits
                        // for a lock that the new daemon holds.
                        return Ok(Some(format!(
                            "{} (a direct start took the PID file)",
                            case.words()
                        )));
                    }
                    // What the step needs for itself on this machine; the rest of the
                    // deadline must have gone to others: the guard, a process stopped at a
                    // fail point, a direct start the daemon was still busy with.
                    let (needs, direct_starts_count) = match case {
                        Said::LaunchTimeout => (common::margin(Duration::from_secs(1)), false),
                        Said::StopTimeout => (
                            SLOWEST_STOP + common::margin(Duration::from_millis(700)),
                            true,
                        ),
                        _ => (common::margin(Duration::from_millis(500)), true),
                    };
                    let held_up = self.held_up(instance, ran, direct_starts_count);
                    let needed = deadline.saturating_sub(needs);
                    self.closest_evidence(&format!("{}: held up", case.words()), held_up, needed);
                    if held_up < needed {
                        return Err(format!(
                            "{}, but only {:.3} s of its {timeout} s went to waiting for others \
                             (the guard, stopped processes, direct starts); the step itself \
                             needs at most {:.3} s here: {}",
                            case.words(),
                            held_up.as_secs_f64(),
                            needs.as_secs_f64(),
                            self.guard_story(instance, ran)
                        ));
                    }
                    Ok(Some(format!("{} (held up by others)", case.words())))
                }
                Said::LauncherFailed => match launcher[..] {
                    // The PID file was free when START looked and locked when its launcher
                    // came: only something that takes no guard can have locked it.
                    [Said::AlreadyRunning] if disturbed => Ok(Some(
                        "launcher found it running (a kill meanwhile)".to_string(),
                    )),
                    [Said::AlreadyRunning] if self.direct_start_during(instance, ran, false) => Ok(
                        Some("launcher found it running (a direct start meanwhile)".to_string()),
                    ),
                    [case @ (Said::EndedBeforeReporting | Said::EndedBeforeConfirming)] => {
                        by_kill(case)
                    }
                    _ => Err(format!("the launcher failed and said {launcher:?}")),
                },
                Said::HeldByOthers
                | Said::NotHolding
                | Said::LauncherKilled
                | Said::DidNotLock
                | Said::EndedRightAfterStart
                | Said::DidNotWritePid => by_kill(case),
                // A last holder that exits while STOP looks for the holders leaves the lock
                // free: STOP looks at it again and reports the daemon stopped.
                Said::StillHeldByOthers => Err("STOP found no holder left to signal and \
                    reported the lock still held, although the lock went with the last holder"
                    .to_string()),
                _ => Err(format!("{case:?} is never allowed here")),
            }
        }

        /// For the outcome counts: what an error said, in a few words.
        fn reason(&self, instance: &Instance, action: &str, ran: &Ran) -> String {
            if ran.code != Some(102) {
                return String::new();
            }
            match Said::parse(instance, timeout_of(action), &ran.stderr) {
                Ok(said) => {
                    let words: Vec<&str> = said.iter().map(|said| said.words()).collect();
                    format!(" ({})", words.join(": "))
                }
                Err(_) => " (unexpected message)".to_string(),
            }
        }

        /// No run outlives its deadline by more than a scaled margin, once the time that
        /// processes of the instance spent stopped at fail points is added (a stopped
        /// launcher or daemon holds its controller up; nothing else may). `direct` runs
        /// have no deadline: only the margin.
        fn within_bound(&self, instance: &Instance, action: &str, ran: &Ran) -> Result<(), String> {
            // A controller that reached its deadline ends within a few milliseconds of it
            // (the summary prints the largest overrun seen): 1 s, scaled, is plenty.
            let (deadline, after, slack) = match action {
                "--start" => (
                    Duration::from_secs(TIMEOUT),
                    START_AFTER_DEADLINE,
                    Duration::from_secs(1),
                ),
                "--stop" => (
                    Duration::from_secs(STOP_TIMEOUT),
                    STOP_AFTER_DEADLINE,
                    Duration::from_secs(1),
                ),
                "--check" | "--reload" => (
                    Duration::from_secs(TIMEOUT),
                    Duration::ZERO,
                    Duration::from_secs(1),
                ),
                _ => (Duration::ZERO, Duration::ZERO, Duration::from_secs(3)),
            };
            let stalled = union_length(
                instance.stalls.lock().unwrap().clone(),
                ran.began,
                ran.ended,
            );
            let margin = common::margin(slack);
            let bound = deadline + after + stalled + margin;
            let overrun = ran.took().saturating_sub(deadline + after + stalled);
            {
                let mut longest = self.longest_overrun.lock().unwrap();
                if overrun > longest.0 {
                    *longest = (
                        overrun,
                        format!(
                            "{action} took {:.3} s, {:.3} s of it stopped at fail points",
                            ran.took().as_secs_f64(),
                            stalled.as_secs_f64()
                        ),
                    );
                }
            }
            if ran.took() > bound {
                return Err(format!(
                    "a hang: it took {:.3} s, beyond its deadline {:.3} s + {:.3} s + {:.3} s \
                     that processes of the instance spent stopped at fail points + a margin of \
                     {:.3} s",
                    ran.took().as_secs_f64(),
                    deadline.as_secs_f64(),
                    after.as_secs_f64(),
                    stalled.as_secs_f64(),
                    margin.as_secs_f64()
                ));
            }
            Ok(())
        }

        /// Whether the fault thread SIGKILLed this run's process (stopped at its fail point).
        fn killed_by_fault(&self, ran: &Ran) -> bool {
            self.killed
                .lock()
                .unwrap()
                .iter()
                .any(|(pid, at)| *pid == ran.pid && *at >= ran.began && *at <= ran.ended)
        }

        /// Whether a direct start (no guard) of the instance ran during `ran` (`started`:
        /// and started a daemon).
        fn direct_start_during(&self, instance: &Instance, ran: &Ran, started: bool) -> bool {
            instance.runs.lock().unwrap().iter().any(|record| {
                !record.controller
                    && record.id != ran.id
                    && record.overlaps(ran.began, ran.ended)
                    && (record.started || !started)
            })
        }

        /// After "daemon N did not stop": N got its signal, so it goes within a scaled margin
        /// (or sits stopped at a fail point, which the fault thread ends).
        fn signalled_daemon_went(&self, ran: &Ran) -> Result<(), String> {
            let daemon: Option<i32> = ran.stderr.lines().find_map(|line| {
                let rest = line.strip_prefix("ucw-daemon-control: daemon ")?;
                rest.split_whitespace().next()?.parse().ok()
            });
            let Some(daemon) = daemon else {
                return Err("no daemon named".to_string());
            };
            if common::wait_gone(daemon, Duration::from_secs(2))
                || process_state(daemon).as_deref() == Some("T")
            {
                return Ok(());
            }
            Err(format!(
                "the daemon it said it signalled still runs: {}",
                describe_processes(&[daemon])
            ))
        }

        /// The longest time in a row during `ran` that the guard sampler saw the guard held
        /// by other controller runs of the instance, and the tolerance used: a guard seen
        /// free for at most the tolerance is a handover (a waiting controller polls, and may
        /// sleep through it) and does not break the stretch; a guard seen free for longer,
        /// held by this run itself, or by a process that is no controller run of the
        /// instance, does.
        fn guard_held_by_others(&self, instance: &Instance, ran: &Ran) -> (Duration, Duration) {
            let tolerance = LOCK_POLL + common::margin(Duration::from_millis(150));
            let runs = instance.runs.lock().unwrap();
            // A controller holds the guard only while it runs: its run must cover every
            // sample that names it (a lock left behind by a dead controller, in a descriptor
            // some other process inherited, still names it).
            let other_controller = |pid: i32, first: Instant, last: Instant| {
                runs.iter().any(|record| {
                    record.controller
                        && record.pid == pid
                        && record.id != ran.id
                        && record.began <= first
                        && record.ended.is_none_or(|ended| ended >= last)
                })
            };
            let segments = instance.guard_holders.lock().unwrap();
            let from = segments.partition_point(|segment| segment.last < ran.began);
            let mut longest = Duration::ZERO;
            let mut stretch: Option<Instant> = None;
            for segment in segments[from..]
                .iter()
                .take_while(|segment| segment.first <= ran.ended)
            {
                let first = segment.first.max(ran.began);
                let last = segment.last.min(ran.ended);
                match segment.holder {
                    Some(pid) if other_controller(pid, segment.first, segment.last) => {
                        let began = *stretch.get_or_insert(first);
                        longest = longest.max(last.saturating_duration_since(began));
                    }
                    None if segment.last - segment.first <= tolerance => {}
                    _ => stretch = None,
                }
            }
            (longest, tolerance)
        }

        /// How much of `ran` went to waiting for others: until it held the guard (the first
        /// sample naming it; the last sample of the run when none did), then the time
        /// processes of the instance spent stopped at fail points, and (`direct_starts`)
        /// direct starts in flight.
        fn held_up(&self, instance: &Instance, ran: &Ran, direct_starts: bool) -> Duration {
            let acquired = {
                let segments = instance.guard_holders.lock().unwrap();
                let from = segments.partition_point(|segment| segment.last < ran.began);
                let during: Vec<&GuardSegment> = segments[from..]
                    .iter()
                    .take_while(|segment| segment.first <= ran.ended)
                    .collect();
                during
                    .iter()
                    .find(|segment| segment.holder == Some(ran.pid))
                    .map(|segment| segment.first.max(ran.began))
                    .or_else(|| during.last().map(|segment| segment.last.min(ran.ended)))
                    .unwrap_or(ran.began)
            };
            let mut others = instance.stalls.lock().unwrap().clone();
            if direct_starts {
                others.extend(
                    instance
                        .runs
                        .lock()
                        .unwrap()
                        .iter()
                        .filter(|record| !record.controller && record.id != ran.id)
                        .map(|record| (record.began, record.ended.unwrap_or(ran.ended))),
                );
            }
            (acquired - ran.began) + union_length(others, acquired, ran.ended)
        }

        /// Who held the guard during `ran`, for a violation's message.
        fn guard_story(&self, instance: &Instance, ran: &Ran) -> String {
            let segments = instance.guard_holders.lock().unwrap();
            let from = segments.partition_point(|segment| segment.last < ran.began);
            let story: Vec<String> = segments[from..]
                .iter()
                .take_while(|segment| segment.first <= ran.ended)
                .map(|segment| {
                    let holder = segment
                        .holder
                        .map_or("free".to_string(), |pid| format!("pid {pid}"));
                    format!(
                        "{holder} {:.3}–{:.3}",
                        segment.first.duration_since(self.began).as_secs_f64(),
                        segment.last.duration_since(self.began).as_secs_f64()
                    )
                })
                .collect();
            format!(
                "the guard (run pid {}, {:.3}–{:.3} s): {}",
                ran.pid,
                ran.began.duration_since(self.began).as_secs_f64(),
                ran.ended.duration_since(self.began).as_secs_f64(),
                story.join(", ")
            )
        }

        /// Keeps, for the summary, the accepted case whose evidence came closest to the
        /// limit.
        fn closest_evidence(&self, case: &str, seen: Duration, needed: Duration) {
            if seen < needed {
                return;
            }
            let spare = seen - needed;
            let mut closest = self.closest.lock().unwrap();
            if closest.get(case).is_none_or(|(known, _)| spare < *known) {
                let text = format!(
                    "{:.3} s seen, {:.3} s needed",
                    seen.as_secs_f64(),
                    needed.as_secs_f64()
                );
                closest.insert(case.to_string(), (spare, text));
            }
        }
    }

    /// The numbers of four or more digits in `text`: the process IDs an event or a violation
    /// names (durations and exit codes are shorter, or have a decimal point).
    fn process_numbers(text: &str) -> Vec<u32> {
        text.split(|c: char| !c.is_ascii_digit() && c != '.')
            .filter(|word| word.len() >= 4 && !word.contains('.'))
            .filter_map(|word| word.parse().ok())
            .collect()
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
        // reading in small pieces while locks come and go duplicates or skips entries. The
        // buffer is kept per thread (the guard sampler reads every few milliseconds).
        thread_local! {
            static BUFFER: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; 1 << 20]);
        }
        BUFFER.with_borrow_mut(|buffer| parse_flock_holders(buffer))
    }

    fn parse_flock_holders(buffer: &mut [u8]) -> Vec<(u64, u64, i32)> {
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

    /// The deadline of a run on an instance nobody else uses (the cleanup after a supervisor
    /// kill, the final recovery): they prove that the daemon is controlled, not how fast, so
    /// a machine slowed down a hundredfold for a moment (seen: a START of 20 ms taking 2.6 s)
    /// must not make them time out. 10 s, scaled.
    fn quiet_timeout() -> u64 {
        common::margin(Duration::from_secs(10)).as_secs()
    }

    /// What the daemon of `instance` is doing, for a violation's message: the PID file, and
    /// for the process it names and that process's children (and theirs) the state, the
    /// signals pending, blocked and caught, and where they wait.
    fn daemon_report(instance: &Instance) -> String {
        let content = instance.pid_file_text().unwrap_or_default();
        let mut pids: Vec<i32> = content.trim_end().parse().into_iter().collect();
        let mut index = 0;
        while index < pids.len() && pids.len() < 16 {
            let children = children_of(pids[index]);
            pids.extend(children);
            index += 1;
        }
        let described: Vec<String> = pids
            .iter()
            .map(|pid| {
                let status: Vec<String> = ["State", "SigPnd", "ShdPnd", "SigBlk", "SigCgt"]
                    .iter()
                    .map(|key| {
                        format!(
                            "{key} {}",
                            common::proc_status_field(*pid, key).unwrap_or_default()
                        )
                    })
                    .collect();
                let waits = fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
                format!(
                    "{} [{}, wchan {waits}]",
                    describe_processes(&[*pid]),
                    status.join(", ")
                )
            })
            .collect();
        let log = fs::read_to_string(&instance.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(4).collect();
        format!(
            "PID file {content:?}; processes: {}; log ends {tail:?}",
            described.join("; ")
        )
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

    /// The fields of `/proc/<pid>/stat` after the command name (state first).
    fn stat_fields(pid: i32) -> Option<Vec<String>> {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (_, rest) = stat.rsplit_once(')')?;
        Some(rest.split_whitespace().map(str::to_string).collect())
    }

    /// The start time of `pid` (field 22 of its stat, in clock ticks since boot).
    fn start_time(pid: i32) -> Option<u64> {
        stat_fields(pid)?.get(19)?.parse().ok()
    }

    /// The live processes of this run in session `session` (a daemon's: its supervisor's
    /// pid, the supervisor itself excluded).
    fn session_members(session: i32, tag: &str) -> Vec<Orphan> {
        let Ok(entries) = fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| entry.file_name().to_string_lossy().parse::<i32>().ok())
            .filter(|pid| *pid != session)
            .filter(|pid| {
                stat_fields(*pid).and_then(|fields| fields.get(3)?.parse::<i32>().ok())
                    == Some(session)
            })
            .filter(|pid| belongs_to(*pid, tag))
            .filter_map(Orphan::of)
            .collect()
    }

    /// The pids that programs (`pid=`) and their children (`child=`) of session `session`
    /// reported in `log`.
    fn reported_pids(log: &Path, session: i32) -> Vec<i32> {
        let text = fs::read_to_string(log).unwrap_or_default();
        let wanted = format!("session={session}");
        text.lines()
            .filter(|line| line.split_whitespace().any(|word| word == wanted))
            .filter_map(|line| {
                let first = line.split_whitespace().next()?;
                let number = first
                    .strip_prefix("pid=")
                    .or_else(|| first.strip_prefix("child="))?;
                number.parse().ok()
            })
            .collect()
    }

    /// The kind of a running fixture program (or its child), from its command line:
    /// `fixture_soak_daemon SENTINEL LOG PID_FILE WORD...`.
    fn kind_of_process(pid: i32) -> Option<String> {
        let bytes = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let words: Vec<String> = bytes
            .split(|&byte| byte == 0)
            .filter(|word| !word.is_empty())
            .map(|word| String::from_utf8_lossy(word).into_owned())
            .collect();
        if !words.first()?.ends_with("fixture_soak_daemon") {
            return None;
        }
        Some(kind_of_words(words.get(4..).unwrap_or(&[])))
    }

    /// `(device, inode)` of every flock that a descriptor of `pid` carries (its fdinfo's
    /// `lock:` lines).
    fn lock_lines(pid: i32) -> Vec<(u64, u64)> {
        let Ok(entries) = fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let Ok(info) = fs::read_to_string(entry.path()) else {
                continue;
            };
            for line in info.lines().filter(|line| line.starts_with("lock:")) {
                // `lock:\t1: FLOCK  ADVISORY  WRITE 1234 00:1f:5678 0 EOF`
                let fields: Vec<&str> = line.split_whitespace().collect();
                if fields.get(2) != Some(&"FLOCK") {
                    continue;
                }
                let Some(identity) = fields.get(6) else {
                    continue;
                };
                let parts: Vec<&str> = identity.split(':').collect();
                if let [major, minor, inode] = parts[..] {
                    if let (Ok(major), Ok(minor), Ok(inode)) = (
                        u32::from_str_radix(major, 16),
                        u32::from_str_radix(minor, 16),
                        inode.parse::<u64>(),
                    ) {
                        found.push((rustix::fs::makedev(major, minor), inode));
                    }
                }
            }
        }
        found
    }

    /// The live processes of this run (the test process aside).
    fn processes_of_run(tag: &str) -> Vec<i32> {
        fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|entry| entry.file_name().to_string_lossy().parse::<i32>().ok())
            .filter(|pid| {
                *pid != std::process::id() as i32 && belongs_to(*pid, tag) && common::is_alive(*pid)
            })
            .collect()
    }

    /// Processes of this run stopped (state `T`): `(pid, instance, armed point, the number of
    /// the tool run it belongs to)`.
    fn stopped_processes(tag: &str) -> Vec<(i32, usize, String, Option<u64>)> {
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
                let operation = value("UCW_SOAK_OPERATION=").and_then(|text| text.parse().ok());
                found.push((pid, instance, point, operation));
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

    /// A stranger per instance: a process that has the instance's PID file open (read-only,
    /// never locked) and is nothing to the daemon. No controller may ever signal it (the
    /// proof reads the lock, never mere open files), and the PID file must still be the same
    /// file at the end (nothing unlinks or replaces it). Returns each stranger and the PID
    /// file's inode.
    fn start_strangers(soak: &Soak) -> Vec<(common::Spawned, u64)> {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        soak.instances
            .iter()
            .map(|instance| {
                fs::write(&instance.pid_file, "").unwrap();
                fs::set_permissions(&instance.pid_file, fs::Permissions::from_mode(0o600)).unwrap();
                let mut command = Command::new("/bin/sh");
                command.args([
                    "-c",
                    "exec 3<\"$0\"; exec sleep 100000",
                    instance.pid_file.to_str().unwrap(),
                ]);
                let stranger = harness().spawn(command, &soak.dir.join("logs"));
                let pid_file = fs::metadata(&instance.pid_file).unwrap();
                assert!(
                    common::eventually(Duration::from_secs(5), || {
                        fs::metadata(format!("/proc/{}/fd/3", stranger.pid)).is_ok_and(|open| {
                            open.ino() == pid_file.ino() && open.dev() == pid_file.dev()
                        })
                    }),
                    "the stranger never opened the PID file"
                );
                (stranger, pid_file.ino())
            })
            .collect()
    }

    /// Each stranger must be alive (a signal from a controller would have ended its
    /// `sleep`) and its instance's PID file the same file as at the start; then the strangers
    /// go.
    fn end_strangers(soak: &Soak, strangers: Vec<(common::Spawned, u64)>) {
        use std::os::unix::fs::MetadataExt;
        for (instance, (stranger, inode)) in soak.instances.iter().zip(strangers) {
            if !common::is_alive(stranger.pid) {
                soak.violation(format!(
                    "instance {}: the stranger {} that only had the PID file open was signalled",
                    instance.index, stranger.pid
                ));
            }
            match fs::metadata(&instance.pid_file) {
                Ok(metadata) if metadata.ino() == inode => {}
                other => soak.violation(format!(
                    "instance {}: the PID file is no longer the file it was at the start \
                     (inode {inode}): {:?}",
                    instance.index,
                    other.map(|metadata| metadata.ino())
                )),
            }
            if let Some(target) = rustix::process::Pid::from_raw(stranger.pid) {
                let _ = rustix::process::kill_process(target, rustix::process::Signal::KILL);
            }
            harness().wait(&stranger, Duration::from_secs(10));
        }
    }

    fn setting(name: &str, default: u64) -> u64 {
        std::env::var(name)
            .ok()
            .and_then(|text| text.parse().ok())
            .unwrap_or(default)
    }

    /// The final proof for one instance: it stops, starts and stops again on demand.
    fn recover(soak: &Soak, instance: &Instance, dice: &mut Dice) {
        let (mut entered, _) = instance.enter();
        let sequence: [(&str, &[i32]); 5] = [
            ("--stop", &[0, 100, 103]),
            ("--check", &[101, 103]),
            ("--start", &[0, 103]),
            ("--check", &[0]),
            ("--stop", &[0]),
        ];
        for (action, allowed) in sequence {
            let output = soak.control_within(
                instance,
                action,
                None,
                &program_words(dice),
                quiet_timeout(),
            );
            if !output.code.is_some_and(|code| allowed.contains(&code)) {
                soak.violation(format!(
                    "instance {} final {action} ended {} (allowed {allowed:?}): {:?}; {}",
                    instance.index,
                    describe(&output),
                    output.stderr,
                    daemon_report(instance)
                ));
            }
        }
        // The fault thread may still be handling a process stopped at a point: retry.
        let deadline = Instant::now() + common::margin(Duration::from_secs(5));
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
    #[cfg_attr(
        not(ucw_failpoints),
        ignore = "needs --cfg ucw_failpoints: tests/run-all runs it"
    )]
    fn launcher_reports_a_daemon_that_died_before_its_release() {
        let _serial = serial();
        let dir = TempDir::new("soak-sigpipe");
        let pid_file = dir.join("daemon.pid");
        let fixture = fixture();
        let mut command = Command::new(daemonize_tool());
        command
            .args(["--pid-file", pid_file.to_str().unwrap(), "--"])
            .arg(&fixture)
            .arg(dir.join("sentinel"))
            .arg(dir.join("log"))
            .arg(&pid_file)
            .env("UCW_FAILPOINT", "launcher-after-fork");
        let launcher = harness().spawn(command, dir.path());
        let mut leftovers = common::KillOnDrop(vec![launcher.pid]);
        let deadline = Instant::now() + common::margin(Duration::from_secs(5));
        while process_state(launcher.pid).as_deref() != Some("T") {
            // Not stopped at the point (a build without fail points): whatever it started.
            if let Some(daemon) = fs::read_to_string(&pid_file)
                .ok()
                .and_then(|text| text.trim().parse().ok())
            {
                if !leftovers.0.contains(&daemon) {
                    leftovers.0.push(daemon);
                }
            }
            assert!(
                Instant::now() < deadline,
                "the launcher never reached its fail point"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        let daemon = children_of(launcher.pid);
        leftovers.0.extend(&daemon);
        assert_eq!(daemon.len(), 1, "the launcher has one child, the daemon");
        // Let the daemon finish its setup and report, then kill it. (A controller's SIGTERM
        // no longer kills it here: the supervised daemon starts with every catchable signal
        // blocked and queued for its supervisor; only SIGKILL ends it before its release.)
        std::thread::sleep(common::margin(Duration::from_millis(300)));
        let daemon = rustix::process::Pid::from_raw(daemon[0]).unwrap();
        rustix::process::kill_process(daemon, rustix::process::Signal::KILL).unwrap();
        assert!(common::wait_gone(
            daemon.as_raw_nonzero().get(),
            Duration::from_secs(5)
        ));
        let target = rustix::process::Pid::from_raw(launcher.pid).unwrap();
        if let Err(errno) = rustix::process::kill_process(target, rustix::process::Signal::CONT) {
            let output = harness().wait(&launcher, Duration::from_secs(10));
            panic!("the stopped launcher went on without our SIGCONT ({errno}): {output:?}");
        }
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
    #[cfg_attr(
        not(ucw_failpoints),
        ignore = "needs --cfg ucw_failpoints: tests/run-all runs it"
    )]
    fn stop_treats_a_daemon_exiting_during_the_proof_as_stopped() {
        let _serial = serial();
        let dir = TempDir::new("soak-proof");
        let pid_file = dir.join("daemon.pid");
        let pid_text = pid_file.to_str().unwrap();
        let fixture = fixture();
        let start = harness().run(
            control_tool(),
            [
                "--start",
                "--pid-file",
                pid_text,
                "--",
                daemonize_tool(),
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
        let mut command = Command::new(control_tool());
        command
            .args(["--stop", "--pid-file", pid_text, "--timeout=5"])
            .env("UCW_FAILPOINT", "control-proving-holder");
        let stopper = harness().spawn(command, dir.path());
        let deadline = Instant::now() + common::margin(Duration::from_secs(5));
        while process_state(stopper.pid).as_deref() != Some("T") {
            assert!(
                Instant::now() < deadline,
                "the controller never reached its fail point"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        // The daemon exits (here: is killed) while the controller looks at its descriptors,
        // and its program with it (PDEATHSIG): once the controller goes on, nothing holds
        // the lock. (Were the program still alive, the controller would prove it as the
        // remaining holder and stop at its fail point again.)
        let program = children_of(supervisor);
        let target = rustix::process::Pid::from_raw(supervisor).unwrap();
        rustix::process::kill_process(target, rustix::process::Signal::KILL).unwrap();
        let deadline = Instant::now() + common::margin(Duration::from_secs(5));
        while Path::new(&format!("/proc/{supervisor}")).exists() {
            assert!(Instant::now() < deadline, "the supervisor was never reaped");
            std::thread::sleep(Duration::from_millis(2));
        }
        for pid in program {
            assert!(
                common::wait_gone(pid, Duration::from_secs(5)),
                "the program outlived its supervisor"
            );
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

    /// Regression test for a bug the soak found: STOP with `--kill-after-timeout` SIGKILLed
    /// only the named supervisor's process group; a program that changed its uid (no
    /// parent-death signal) in a group of its own survived, holding the lock, unsupervised,
    /// and STOP said "did not stop ..., not even after SIGKILL". The holders' groups are now
    /// killed too.
    #[test]
    #[cfg_attr(
        not(ucw_test_as_root),
        ignore = "needs root: the program changes its uid"
    )]
    fn stop_kill_after_timeout_reaches_a_program_that_changed_its_uid() {
        let _serial = serial();
        common::require_root("a program that changes its uid");
        let dir = TempDir::new("soak-escalation");
        let pid_file = dir.join("daemon.pid");
        let pid_text = pid_file.to_str().unwrap();
        let sentinel = dir.join("sentinel");
        let fixture = fixture();
        // Its SIGTERM ends it only after 30 s: the deadline expires first.
        let start = harness().run(
            control_tool(),
            [
                "--start",
                "--pid-file",
                pid_text,
                "--",
                daemonize_tool(),
                "--pid-file",
                pid_text,
                "--",
                fixture.to_str().unwrap(),
                sentinel.to_str().unwrap(),
                dir.join("log").to_str().unwrap(),
                pid_text,
                "setuid=65534",
                "slow=30000",
            ],
            dir.path(),
        );
        assert_eq!(start.code, Some(0), "{start:?}");
        assert!(common::eventually(Duration::from_secs(5), || {
            fs::read_to_string(&sentinel).is_ok_and(|text| text.contains("setuid"))
        }));
        let supervisor: i32 = fs::read_to_string(&pid_file)
            .unwrap()
            .trim_end()
            .parse()
            .unwrap();
        let program = children_of(supervisor);
        assert_eq!(
            program.len(),
            1,
            "the supervisor has one child, the program"
        );
        let began = Instant::now();
        let stop = harness().run(
            control_tool(),
            [
                "--stop",
                "--pid-file",
                pid_text,
                "--timeout",
                "1",
                "--kill-after-timeout",
            ],
            dir.path(),
        );
        let took = began.elapsed();
        assert_eq!(stop.code, Some(0), "{stop:?}");
        // The deadline, then at most max(deadline, 1 s) for the killed to go, and a margin.
        assert!(
            took < Duration::from_secs(2) + common::margin(Duration::from_secs(1)),
            "{took:?}"
        );
        assert!(
            common::wait_gone(program[0], Duration::from_secs(5)),
            "the program outlived STOP"
        );
    }

    /// Regression (tests/README.md, Findings): when STOP finds the named daemon gone but its
    /// PID file still locked, it proves and signals the remaining holders; if the last of
    /// them exits while STOP scans for them, STOP finds none and must look at the lock
    /// again: free, so the daemon is stopped (0), never "other processes of the daemon still
    /// hold the lock" (102). Here STOP stops at its fail point while it proves the remaining
    /// holder (a program that survived its supervisor's SIGKILL), which then exits.
    #[test]
    #[cfg_attr(
        all(ucw_failpoints, not(ucw_test_as_root)),
        ignore = "needs root: the program changes its uid"
    )]
    #[cfg_attr(
        not(ucw_failpoints),
        ignore = "needs --cfg ucw_failpoints: tests/run-all runs it"
    )]
    fn stop_treats_the_last_holder_exiting_during_its_scan_as_stopped() {
        let _serial = serial();
        common::require_root("a program that changes its uid");
        let dir = TempDir::new("soak-last-holder");
        let pid_file = dir.join("daemon.pid");
        let pid_text = pid_file.to_str().unwrap();
        let sentinel = dir.join("sentinel");
        let fixture = fixture();
        let start = harness().run(
            control_tool(),
            [
                "--start",
                "--pid-file",
                pid_text,
                "--",
                daemonize_tool(),
                "--pid-file",
                pid_text,
                "--",
                fixture.to_str().unwrap(),
                sentinel.to_str().unwrap(),
                dir.join("log").to_str().unwrap(),
                pid_text,
                "setuid=65534",
            ],
            dir.path(),
        );
        assert_eq!(start.code, Some(0), "{start:?}");
        let supervisor: i32 = fs::read_to_string(&pid_file)
            .unwrap()
            .trim_end()
            .parse()
            .unwrap();
        // The program has changed its uid (its sentinel line is written after that): the
        // kernel cleared its parent-death signal, so it outlives its supervisor.
        assert!(common::eventually(Duration::from_secs(5), || {
            fs::read_to_string(&sentinel).is_ok_and(|text| text.contains("setuid"))
        }));
        let program = children_of(supervisor);
        assert_eq!(
            program.len(),
            1,
            "the supervisor has one child, the program"
        );
        let program = program[0];
        rustix::process::kill_process(
            rustix::process::Pid::from_raw(supervisor).unwrap(),
            rustix::process::Signal::KILL,
        )
        .unwrap();
        assert!(common::wait_gone(supervisor, Duration::from_secs(5)));
        assert!(common::is_alive(program));
        let mut command = Command::new(control_tool());
        command
            .args(["--stop", "--pid-file", pid_text, "--timeout=5"])
            .env("UCW_FAILPOINT", "control-proving-holder");
        let stopper = harness().spawn(command, dir.path());
        let deadline = Instant::now() + common::margin(Duration::from_secs(5));
        while process_state(stopper.pid).as_deref() != Some("T") {
            assert!(
                Instant::now() < deadline,
                "the controller never reached its fail point"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        // The last holder exits while the controller proves it.
        rustix::process::kill_process(
            rustix::process::Pid::from_raw(program).unwrap(),
            rustix::process::Signal::KILL,
        )
        .unwrap();
        assert!(common::wait_gone(program, Duration::from_secs(5)));
        rustix::process::kill_process(
            rustix::process::Pid::from_raw(stopper.pid).unwrap(),
            rustix::process::Signal::CONT,
        )
        .unwrap();
        let output = harness().wait(&stopper, Duration::from_secs(10));
        assert_eq!(
            output.code,
            Some(0),
            "a daemon whose last holder exited during STOP is stopped: {output:?}"
        );
    }

    /// Waits (a scaled margin at most) for `pid` to be gone, or stopped: a process stopped at
    /// a fail point waits for the fault thread, which may be the caller.
    fn wait_gone_or_stopped(pid: i32, limit: Duration) {
        let deadline = Instant::now() + common::margin(limit);
        while common::is_alive(pid)
            && process_state(pid).as_deref() != Some("T")
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(5));
        }
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
    #[cfg_attr(
        all(ucw_failpoints, not(ucw_test_as_root)),
        ignore = "needs root: the soak's programs change their uid"
    )]
    #[cfg_attr(
        not(ucw_failpoints),
        ignore = "needs --cfg ucw_failpoints: tests/run-all runs it"
    )]
    fn many_controllers_random_actions_and_faults() {
        let _serial = serial();
        let target = setting("UCW_SOAK_OPERATIONS", 1000);
        let seconds = setting("UCW_SOAK_SECONDS", 170);
        let wanted_faults = (target / 25).max(1);
        let wanted_kills = (target / 250).max(1);
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
        common::require_root("the soak's programs that change their uid");
        let harness_ready = harness();
        let _ = harness_ready;
        close_inherited_descriptors_on_exec();
        let trace = std::env::var_os("UCW_SOAK_TRACE")
            .map(|path| fs::File::create(path).expect("UCW_SOAK_TRACE"));
        let descriptors_before = open_descriptors();
        let dir = TempDir::new("soak");
        fs::create_dir_all(dir.join("logs")).unwrap();
        let instances = (0..INSTANCES)
            .map(|index| Instance {
                index,
                pid_file: dir.join(&format!("daemon{index}.pid")),
                guard: dir.join(&format!("daemon{index}.lock")),
                sentinel: dir.join(&format!("daemon{index}.sentinel")),
                log: dir.join(&format!("daemon{index}.log")),
                busy: AtomicUsize::new(0),
                generation: AtomicU64::new(0),
                kills: Disturbances::default(),
                direct_starts: Disturbances::default(),
                runs: Mutex::new(Vec::new()),
                guard_holders: Mutex::new(Vec::new()),
                stalls: Mutex::new(Vec::new()),
                gate: RwLock::new(()),
                killer: Mutex::new(()),
                pending: AtomicUsize::new(0),
                closed: AtomicUsize::new(0),
                orphans: Mutex::new(Vec::new()),
            })
            .collect();
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..INSTANCES)
            .map(|_| {
                let (sender, receiver) = mpsc::channel::<Orphaned>();
                (Mutex::new(sender), receiver)
            })
            .unzip();
        let soak = Arc::new(Soak {
            tag: format!("{}-{seed}", std::process::id()),
            dir,
            instances,
            cleaners: senders,
            operations: AtomicU64::new(0),
            target_operations: target.max(1),
            wanted_kills,
            faults: AtomicU64::new(0),
            per_point: Mutex::new(BTreeMap::new()),
            outcomes: Mutex::new(BTreeMap::new()),
            supervisor_kills: Mutex::new(BTreeMap::new()),
            cleanups: Mutex::new(BTreeMap::new()),
            longest_cleanup_stop: Mutex::new(Duration::ZERO),
            violations: Mutex::new(Vec::new()),
            history: Mutex::new(Vec::new()),
            began: Instant::now(),
            trace: trace.map(Mutex::new),
            verified_checks: AtomicU64::new(0),
            verified_actions: AtomicU64::new(0),
            next_run: AtomicU64::new(0),
            killed: Mutex::new(Vec::new()),
            accepted: Mutex::new(BTreeMap::new()),
            closest: Mutex::new(BTreeMap::new()),
            longest_overrun: Mutex::new((Duration::ZERO, String::new())),
            longest_fault_handling: Mutex::new(Duration::ZERO),
            calm: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        println!(
            "soak: seed {seed} (UCW_SOAK_SEED), {target} operations within {seconds} s, \
             at least {wanted_kills} supervisor kills of each hostile kind; timing margins \
             ×{:.2} now (load)",
            common::slowdown()
        );
        let strangers = start_strangers(&soak);
        let started = Instant::now();
        let sampler = {
            let soak = Arc::clone(&soak);
            std::thread::spawn(move || soak.sample_guards())
        };
        let fault_thread = {
            let soak = Arc::clone(&soak);
            std::thread::spawn(move || soak.inject_faults(Dice(seed.rotate_left(17) | 1)))
        };
        let cleaners: Vec<_> = receivers
            .into_iter()
            .enumerate()
            .map(|(index, receiver)| {
                let soak = Arc::clone(&soak);
                let dice = Dice(seed.rotate_left(29 + index as u32) | 1);
                std::thread::spawn(move || soak.clean(index, receiver, dice))
            })
            .collect();
        let workers: Vec<_> = (0..WORKERS)
            .map(|worker| {
                let soak = Arc::clone(&soak);
                std::thread::spawn(move || {
                    let mut dice =
                        Dice((seed ^ (worker as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1);
                    while (soak.operations.load(Ordering::Relaxed) < target
                        || soak.fewest_hostile_kills() < wanted_kills)
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
        // Faults still pending (a daemon stopped at a point, a supervisor kill being cleaned
        // up) are handled before the end.
        std::thread::sleep(Duration::from_millis(100));
        let deadline = Instant::now() + common::margin(Duration::from_secs(60));
        while soak
            .instances
            .iter()
            .any(|instance| instance.pending.load(Ordering::SeqCst) > 0)
        {
            if Instant::now() > deadline {
                soak.violation(format!(
                    "supervisor kills still not cleaned up after {:?}",
                    common::margin(Duration::from_secs(60))
                ));
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut dice = Dice(seed.rotate_left(41) | 1);
        for instance in &soak.instances {
            recover(&soak, instance, &mut dice);
        }
        soak.stop.store(true, Ordering::SeqCst);
        fault_thread.join().expect("fault thread panicked");
        sampler.join().expect("guard sampler panicked");
        end_strangers(&soak, strangers);
        for cleaner in cleaners {
            cleaner.join().expect("cleaner panicked");
        }
        match fs::read_to_string(soak.dir.join("panics")) {
            Ok(panics) if !panics.is_empty() => {
                soak.violation(format!("the tools panicked:\n{panics}"));
            }
            _ => {}
        }

        // Nothing of this run may be left: no process, no zombie, no descriptor. A child
        // that a program left behind at its normal exit lingers for up to 0.8 s.
        let deadline = Instant::now() + common::margin(Duration::from_secs(3));
        let mut left = processes_of_run(&soak.tag);
        while !left.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            left = processes_of_run(&soak.tag);
        }
        if !left.is_empty() {
            soak.violation(format!(
                "processes of this run are still alive: {}",
                describe_processes(&left)
            ));
        }
        std::thread::sleep(common::margin(Duration::from_millis(300)));
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
        let (mut programs, mut children) = (0, 0);
        for instance in &soak.instances {
            let log = fs::read_to_string(&instance.log).unwrap_or_default();
            for line in log.lines() {
                if line.starts_with("VIOLATION") {
                    soak.violation(format!("instance {}: {line}", instance.index));
                } else if let Some(milliseconds) = line.strip_prefix("OVERLAP ") {
                    overlaps.push(milliseconds.to_string());
                } else if line.starts_with("pid=") {
                    programs += 1;
                } else if line.starts_with("child=") {
                    children += 1;
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
        println!("soak: errors accepted as outcomes the protocol allows (action: case):");
        for (case, count) in soak.accepted.lock().unwrap().iter() {
            println!("soak:   {case}: {count}");
        }
        for (case, (_, closest)) in soak.closest.lock().unwrap().iter() {
            println!("soak:   closest evidence, {case}: {closest}");
        }
        {
            let (overrun, what) = &*soak.longest_overrun.lock().unwrap();
            println!(
                "soak: the run closest to its bound ended {:.3} s past its deadline (and the \
                 fail-point stops meanwhile): {what}",
                overrun.as_secs_f64()
            );
        }
        println!(
            "soak: faults by point (the longest handling of a stopped process took {:.3} s):",
            soak.longest_fault_handling.lock().unwrap().as_secs_f64()
        );
        for (point, count) in soak.per_point.lock().unwrap().iter() {
            println!("soak:   {point}: {count}");
        }
        println!("soak: random kills of running supervisors by the program's kind:");
        for (kind, count) in soak.supervisor_kills.lock().unwrap().iter() {
            println!("soak:   {kind}: {count}");
        }
        let by_kind: Vec<String> = ["plain"]
            .iter()
            .chain(HOSTILE_KINDS.iter())
            .map(|kind| format!("{kind} {}", soak.supervisor_kills_of(kind)))
            .collect();
        println!(
            "soak: supervisor kills of running daemons by kind (a mix counts for each of its \
             kinds): {}",
            by_kind.join(", ")
        );
        println!("soak: after every supervisor SIGKILL (random and at fail points):");
        for (what, count) in soak.cleanups.lock().unwrap().iter() {
            println!("soak:   {what}: {count}");
        }
        println!(
            "soak:   longest --stop --timeout {CLEANUP_TIMEOUT} --kill-after-timeout: {:.2} s",
            soak.longest_cleanup_stop.lock().unwrap().as_secs_f64()
        );
        println!(
            "soak: programs started {programs} (with a long-lived child {children}); verified \
             against the truth: {} checks, {} start/stop/reload results",
            soak.verified_checks.load(Ordering::Relaxed),
            soak.verified_actions.load(Ordering::Relaxed)
        );
        println!(
            "soak: brief overlaps of a dying body (ms), {}: {overlaps:?}",
            overlaps.len()
        );
        println!(
            "soak: operations {operations}, faults {faults}, violations {} ({:.1} s of chaos, \
             {:.1} s in all; timing margins ×{:.2} at the end)",
            violations.len(),
            chaos_time.as_secs_f64(),
            started.elapsed().as_secs_f64(),
            common::slowdown()
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
        for kind in HOSTILE_KINDS {
            let kills = soak.supervisor_kills_of(kind);
            assert!(
                kills >= wanted_kills,
                "only {kills} supervisor kills of {kind} programs in {seconds} s (wanted {wanted_kills})"
            );
        }
    }
}
