//! `ucw-daemonize`'s environment options (docs/design.md §4, §5; the tools' `environment`
//! feature): each one's effect read from inside the running program (`/proc/self/limits`,
//! `/proc/self/stat`, `/proc/self/status`, `/proc/self/oom_score_adj`, `umask`, `pwd`, its
//! environment, its root directory), supervised, with `--exec` and in the foreground; the
//! refusals with their messages, as root and as an unprivileged launcher; the web-server case
//! (`--keep-caps net_bind_service` binds port 80 as another user in a fresh network
//! namespace, and without it gets EACCES); `--dry-run`; and a build without the feature.
//!
//! Root-only tests (another user, a root directory, namespaces) show as ignored, with the
//! reason, when the tests are not built by root. Every test has its own directory; what it
//! started is killed when it ends, even when it fails.

mod common;

use common::{check, eventually, harness, require_root, text, Output, TempDir};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const USAGE: i32 = 1;
const ERROR: i32 = 102;
const NOT_RUNNING: i32 = 101;

/// A user and group no passwd or group file lists (so no `USER`, `LOGNAME` or `HOME` is set
/// for it): the tests' account for `--user '#54321' --group '#54321'`.
const TEST_ID: u32 = 54321;

/// The test's directory, readable by every user (a switched program runs from it), with a PID
/// file and a report file for the program's standard output; kills what it started on drop.
struct Case {
    dir: TempDir,
}

impl Case {
    fn new(label: &str) -> Self {
        let dir = TempDir::new(&format!("env-{label}"));
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        Self { dir }
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.join("d.pid")
    }

    fn report(&self) -> PathBuf {
        self.dir.join("report")
    }

    /// A file in the directory with `content`.
    fn file(&self, name: &str, content: &[u8]) -> PathBuf {
        let path = self.dir.join(name);
        fs::write(&path, content).unwrap();
        path
    }

    /// `ucw-daemonize arguments...` to completion.
    fn daemonize(&self, arguments: &[&str]) -> Output {
        self.run(Command::new(common::daemonize_tool()), arguments)
    }

    /// `ucw-daemonize arguments...` to completion, started as the unprivileged `uid` (its gid
    /// too, no supplementary groups: what std does when root sets a uid).
    fn daemonize_as(&self, uid: u32, arguments: &[&str]) -> Output {
        let mut command = Command::new(common::daemonize_tool());
        command.uid(uid).gid(uid);
        self.run(command, arguments)
    }

    fn run(&self, mut command: Command, arguments: &[&str]) -> Output {
        command.args(arguments).current_dir(self.dir.path());
        let spawned = harness().spawn(command, self.dir.path());
        harness().wait(&spawned, Duration::from_secs(30))
    }

    /// Starts `program` as a daemon (`--pid-file`, `--stdout` to the report, then `options`),
    /// waits until it has printed everything and returns what it printed.
    ///
    /// Supervised, the program may end at once: the test waits until CHECK says not running.
    /// With `--exec` the program is the daemon, and one that ends right after its `execve`
    /// may end before the launcher has seen the exec (then START rightly answers "ended
    /// before confirming its start"): so the program runs under `sh`, which prints an end
    /// line after it and then becomes the sleeper, and the test stops it once the line is
    /// there.
    fn report_of(&self, options: &[&str], program: &[&str]) -> String {
        const END: &str = "--- end of the report";
        let (pid, report) = (self.pid_file(), self.report());
        let exec = options.contains(&"--exec");
        let sleeper = self.sleeper();
        let script = format!("\"$@\"; echo '{END}'; exec '{sleeper}'");
        let mut arguments = vec!["--pid-file", text(&pid), "--stdout", text(&report)];
        arguments.extend_from_slice(options);
        arguments.push("--");
        if exec {
            arguments.extend_from_slice(&["sh", "-c", &script, "sh"]);
        }
        arguments.extend_from_slice(program);
        let launched = self.daemonize(&arguments);
        assert_eq!(launched.code, Some(0), "{arguments:?}: {launched:?}");
        if exec {
            let ending = format!("{END}\n");
            assert!(
                eventually(Duration::from_secs(10), || fs::read_to_string(&report)
                    .is_ok_and(|text| text.ends_with(&ending))),
                "the program of {arguments:?} did not finish its report"
            );
            assert_eq!(common::stop(&self.dir, &pid), Some(0), "{arguments:?}");
        } else {
            assert!(
                eventually(Duration::from_secs(10), || check(&self.dir, &pid)
                    == Some(NOT_RUNNING)),
                "the program of {arguments:?} did not end"
            );
        }
        let mut report = fs::read_to_string(&report).unwrap();
        if exec {
            report.truncate(report.len() - END.len() - 1);
        }
        fs::remove_file(self.report()).unwrap();
        report
    }

    /// A link to the static test sleeper in the directory (so that it names the directory on
    /// its command line, for the clean-up).
    fn sleeper(&self) -> String {
        let link = self.dir.join("sleep");
        if !link.exists() {
            std::os::unix::fs::symlink(common::static_sleeper(), &link).unwrap();
        }
        text(&link).to_string()
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        for pid in processes_mentioning(text(self.dir.path())) {
            let _ = rustix::process::kill_process(
                rustix::process::Pid::from_raw(pid).unwrap(),
                rustix::process::Signal::KILL,
            );
        }
    }
}

/// Live processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(command_line) = fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&command_line).contains(needle) && common::is_alive(pid) {
            found.push(pid);
        }
    }
    found
}

/// The soft and hard values of a line of `/proc/<pid>/limits` (`Max open files  1000  2000
/// files`), as text.
fn limit_line(limits: &str, label: &str) -> (String, String) {
    let line = limits
        .lines()
        .find(|line| line.starts_with(label))
        .unwrap_or_else(|| panic!("no {label} in {limits}"));
    let fields: Vec<&str> = line[label.len()..].split_whitespace().collect();
    (fields[0].to_string(), fields[1].to_string())
}

/// Our own limit, as `/proc/self/limits` writes it.
fn own_limit(label: &str) -> (String, String) {
    limit_line(&fs::read_to_string("/proc/self/limits").unwrap(), label)
}

/// Whether capability `number` is in our effective set.
fn we_have_capability(number: u32) -> bool {
    let effective = common::proc_status_field(std::process::id() as i32, "CapEff").unwrap();
    u64::from_str_radix(&effective, 16).unwrap() & 1 << number != 0
}

const CAP_SYS_RESOURCE: u32 = 24;

/// The first line of a usage error or error message.
fn first_line(output: &Output) -> &str {
    output.stderr.lines().next().unwrap_or("")
}

/// `fs.nr_open`.
fn nr_open() -> u64 {
    fs::read_to_string("/proc/sys/fs/nr_open")
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

// --- Limits ----------------------------------------------------------------------------------

#[test]
fn limits_reach_the_program_and_a_soft_limit_alone_keeps_the_hard_one() {
    let case = Case::new("limits");
    let stack_hard = own_limit("Max stack size").1;
    // Lowering a hard limit needs no privilege: at most what we have.
    let core_hard = match rustix::process::getrlimit(rustix::process::Resource::Core).maximum {
        Some(hard) => hard.min(1 << 20),
        None => 1 << 20,
    };
    assert!(core_hard >= 2048, "a core hard limit of {core_hard} bytes");
    let core = format!("CORE=2K:{core_hard}");
    let options = [
        "--rlimit",
        "nofile=1000:2000",
        "--rlimit",
        "core=1M",
        "--rlimit",
        &core,
        "--rlimit",
        "stack=4096K",
        "--rlimit",
        "nproc=unlimited:unlimited",
    ];
    let nproc_raisable = own_limit("Max processes").1 == "unlimited";
    let options = if nproc_raisable {
        &options[..]
    } else {
        &options[..8]
    };
    for mode in [&[][..], &["--exec"][..]] {
        let mut all = options.to_vec();
        all.extend_from_slice(mode);
        let limits = case.report_of(&all, &["cat", "/proc/self/limits"]);
        assert_eq!(
            limit_line(&limits, "Max open files"),
            ("1000".into(), "2000".into())
        );
        // The later --rlimit of the same limit wins; names in any case.
        assert_eq!(
            limit_line(&limits, "Max core file size"),
            ("2048".to_string(), core_hard.to_string())
        );
        assert_eq!(
            limit_line(&limits, "Max stack size"),
            ("4194304".into(), stack_hard.clone())
        );
        if nproc_raisable {
            assert_eq!(
                limit_line(&limits, "Max processes"),
                ("unlimited".into(), "unlimited".into())
            );
        }
    }
    // In the foreground too (the library's SIMULATE applies what is asked explicitly).
    let output = case.daemonize(&[
        "--foreground",
        "--rlimit",
        "nofile=300:400",
        "--",
        "cat",
        "/proc/self/limits",
    ]);
    assert_eq!(output.code, Some(0), "{output:?}");
    assert_eq!(
        limit_line(&output.stdout, "Max open files"),
        ("300".into(), "400".into())
    );
}

#[test]
fn limits_the_kernel_would_refuse_are_refused_first_naming_the_limit() {
    let case = Case::new("limit-errors");
    let pid = case.pid_file();
    let hard: u64 = own_limit("Max open files").1.parse().unwrap();
    let above_hard = format!("nofile={}", hard + 1);
    let crossed = format!("nofile={}:{}", hard, hard - 1);
    let beyond = format!("nofile={0}:{0}", nr_open() + 1);
    for (value, message) in [
        (
            &crossed[..],
            "Cannot set resource limit nofile: the soft limit would be above the hard limit",
        ),
        (
            &above_hard[..],
            "Cannot set resource limit nofile: the soft limit would be above the hard limit",
        ),
        (
            &beyond[..],
            &format!(
                "Cannot set resource limit nofile: above fs.nr_open ({})",
                nr_open()
            )[..],
        ),
    ] {
        let output = case.daemonize(&["--pid-file", text(&pid), "--rlimit", value, "--", "true"]);
        assert_eq!(output.code, Some(ERROR), "{value}: {output:?}");
        assert_eq!(
            output.stderr,
            format!("ucw-daemonize: {message}\n"),
            "{value}"
        );
        // Refused before the PID file was even created.
        assert!(!pid.exists(), "{value}");
    }
    // `unlimited` nofile is fs.nr_open: fine with CAP_SYS_RESOURCE or a hard limit that is
    // already there, else raising the hard limit is refused.
    let output = case.daemonize(&[
        "--dry-run",
        "--rlimit",
        "nofile=unlimited:unlimited",
        "--",
        "true",
    ]);
    if we_have_capability(CAP_SYS_RESOURCE) || hard == nr_open() {
        assert_eq!(output.code, Some(0), "{output:?}");
        let line = format!("rlimit nofile {0} {0}", nr_open());
        assert!(
            output.stdout.lines().any(|found| found == line),
            "{output:?}"
        );
    } else {
        assert_eq!(output.code, Some(ERROR), "{output:?}");
        assert_eq!(
            output.stderr,
            "ucw-daemonize: Cannot raise the hard limit of resource limit nofile without \
             CAP_SYS_RESOURCE: EPERM (Operation not permitted)\n"
        );
    }
}

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: starting the tool as an unprivileged user"
)]
fn an_unprivileged_launcher_cannot_raise_a_hard_limit_lower_its_nice_value_or_oom_score() {
    require_root("starting the tool as another user");
    let case = Case::new("unprivileged");
    let own = case.dir.join("own");
    fs::create_dir(&own).unwrap();
    std::os::unix::fs::chown(&own, Some(TEST_ID), Some(TEST_ID)).unwrap();
    let pid = own.join("d.pid");
    let hard: u64 = own_limit("Max open files").1.parse().unwrap();
    let lowered = hard.min(nr_open() - 1);
    // With a lower hard limit than fs.nr_open, so that raising it is the only problem.
    let mut command = Command::new(common::daemonize_tool());
    command.uid(TEST_ID).gid(TEST_ID);
    // SAFETY: the hook only makes a system call on values prepared before the fork.
    unsafe {
        command.pre_exec(move || {
            let limit = rustix::process::Rlimit {
                current: Some(lowered),
                maximum: Some(lowered),
            };
            rustix::process::setrlimit(rustix::process::Resource::Nofile, limit)
                .map_err(|errno| std::io::Error::from_raw_os_error(errno.raw_os_error()))
        });
    }
    let raise = format!("nofile=100:{}", lowered + 1);
    let output = case.run(
        command,
        &["--pid-file", text(&pid), "--rlimit", &raise, "--", "true"],
    );
    assert_eq!(output.code, Some(ERROR), "{output:?}");
    assert_eq!(
        output.stderr,
        "ucw-daemonize: Cannot raise the hard limit of resource limit nofile without \
         CAP_SYS_RESOURCE: EPERM (Operation not permitted)\n"
    );
    assert!(!pid.exists());

    // The nice value and the OOM score can be raised, not lowered, without privileges: the
    // daemon's own setup fails, and the launcher says why (the PID file is left empty).
    for (options, message) in [
        (
            &["--nice", "-5"][..],
            "ucw-daemonize: Cannot change the nice value: EACCES (Permission denied)\n",
        ),
        (
            &["--oom-score-adj", "-500"][..],
            "ucw-daemonize: Cannot write /proc/self/oom_score_adj: EACCES (Permission denied)\n",
        ),
        (
            &["--chroot", "/"][..],
            "ucw-daemonize: Cannot change root to /: EPERM (Operation not permitted)\n",
        ),
    ] {
        let mut arguments = vec!["--pid-file", text(&pid)];
        arguments.extend_from_slice(options);
        arguments.extend_from_slice(&["--", "true"]);
        let output = case.daemonize_as(TEST_ID, &arguments);
        assert_eq!(output.code, Some(ERROR), "{options:?}: {output:?}");
        assert_eq!(output.stderr, message, "{options:?}");
        assert_eq!(fs::read(&pid).unwrap(), b"", "{options:?}");
        // (Root's CHECK would refuse a PID file another user owns: its content says it.)
    }
    // What needs no privilege works for anyone: a higher nice value and OOM score.
    let report = own.join("report");
    let output = case.daemonize_as(
        TEST_ID,
        &[
            "--pid-file",
            text(&pid),
            "--stdout",
            text(&report),
            "--nice",
            "3",
            "--oom-score-adj",
            "300",
            "--",
            "sh",
            "-c",
            "cat /proc/self/oom_score_adj; cut -d' ' -f19 /proc/self/stat",
        ],
    );
    assert_eq!(output.code, Some(0), "{output:?}");
    // (Root's CHECK would refuse a PID file another user owns: its content says it.)
    assert!(eventually(Duration::from_secs(10), || fs::read(&pid)
        .is_ok_and(|content| content.is_empty())));
    let own_nice = rustix::process::getpriority_process(None).unwrap();
    assert_eq!(
        fs::read_to_string(&report).unwrap(),
        format!("300\n{}\n", (own_nice + 3).min(19))
    );
}

// --- Priority, OOM score, umask, directories, no_new_privs -------------------------------------

#[test]
fn nice_oom_score_umask_directory_and_no_new_privs_reach_the_program() {
    let case = Case::new("process");
    let own_nice = rustix::process::getpriority_process(None).unwrap();
    let script = "cut -d' ' -f19 /proc/self/stat; cat /proc/self/oom_score_adj; umask; pwd; \
                  grep NoNewPrivs /proc/self/status";
    for mode in [&[][..], &["--exec"][..]] {
        let mut options = vec![
            "--nice",
            "4",
            "--oom-score-adj",
            "250",
            "--umask",
            "027",
            "--chdir",
            "/usr",
            "--no-new-privs",
        ];
        options.extend_from_slice(mode);
        let report = case.report_of(&options, &["sh", "-c", script]);
        assert_eq!(
            report,
            format!(
                "{}\n250\n0027\n/usr\nNoNewPrivs:\t1\n",
                (own_nice + 4).min(19)
            ),
            "{mode:?}"
        );
    }
    // Without the options: LibUCW's umask 022, `/`, the inherited nice value and OOM score,
    // no no_new_privs.
    let own_score = fs::read_to_string("/proc/self/oom_score_adj").unwrap();
    let report = case.report_of(&[], &["sh", "-c", script]);
    assert_eq!(
        report,
        format!("{own_nice}\n{own_score}0022\n/\nNoNewPrivs:\t0\n")
    );
    // A relative --chdir is the launcher's; in the foreground only what is asked changes.
    let own_umask = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
    rustix::process::umask(own_umask);
    let output = case.daemonize(&[
        "--foreground",
        "--chdir",
        "..",
        "--umask",
        "0077",
        "--",
        "sh",
        "-c",
        "umask; pwd",
    ]);
    assert_eq!(output.code, Some(0), "{output:?}");
    let parent = case.dir.path().parent().unwrap();
    assert_eq!(output.stdout, format!("0077\n{}\n", text(parent)));
    let output = case.daemonize(&["--foreground", "--", "sh", "-c", "umask; pwd"]);
    assert_eq!(
        output.stdout,
        format!("{:04o}\n{}\n", own_umask.bits(), text(case.dir.path()))
    );
}

#[test]
fn a_missing_working_directory_is_the_daemons_setup_error() {
    let case = Case::new("chdir-missing");
    let pid = case.pid_file();
    let output = case.daemonize(&[
        "--pid-file",
        text(&pid),
        "--chdir",
        "/nonexistent/dir",
        "--",
        "true",
    ]);
    assert_eq!(output.code, Some(ERROR), "{output:?}");
    assert_eq!(
        output.stderr,
        "ucw-daemonize: Cannot change directory to /nonexistent/dir: ENOENT (No such file or \
         directory)\n"
    );
    assert_eq!(fs::read(&pid).unwrap(), b"");
    assert_eq!(check(&case.dir, &pid), Some(NOT_RUNNING));
}

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: raising an OOM score adjustment needs none, lowering one needs CAP_SYS_RESOURCE"
)]
fn root_lowers_the_nice_value_and_the_oom_score_when_it_may() {
    require_root("a lower nice value");
    let case = Case::new("root-lower");
    let own_nice = rustix::process::getpriority_process(None).unwrap();
    let report = case.report_of(
        &["--nice", "-3"],
        &["cut", "-d ", "-f19", "/proc/self/stat"],
    );
    assert_eq!(report, format!("{}\n", (own_nice - 3).max(-20)));
    let pid = case.pid_file();
    let output = case.daemonize(&[
        "--pid-file",
        text(&pid),
        "--stdout",
        text(&case.report()),
        "--oom-score-adj",
        "-100",
        "--",
        "cat",
        "/proc/self/oom_score_adj",
    ]);
    if we_have_capability(CAP_SYS_RESOURCE) {
        assert_eq!(output.code, Some(0), "{output:?}");
        assert!(eventually(Duration::from_secs(10), || check(
            &case.dir, &pid
        ) == Some(
            NOT_RUNNING
        )));
        assert_eq!(fs::read_to_string(case.report()).unwrap(), "-100\n");
    } else {
        // Root without CAP_SYS_RESOURCE (a container's bounding set) is refused like anyone.
        assert_eq!(output.code, Some(ERROR), "{output:?}");
        assert_eq!(
            output.stderr,
            "ucw-daemonize: Cannot write /proc/self/oom_score_adj: EACCES (Permission denied)\n"
        );
    }
}

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: a mount namespace without /proc"
)]
fn without_proc_the_oom_score_and_an_unlimited_nofile_fail_naming_the_file() {
    require_root("a mount namespace");
    let case = Case::new("no-proc");
    let pid = case.pid_file();
    // /proc hidden under an empty tmpfs, in a mount namespace of the test's own.
    let hidden = |arguments: &[&str]| {
        let mut command = Command::new("unshare");
        command.args([
            "--mount",
            "--propagation",
            "private",
            "/bin/sh",
            "-c",
            "mount -t tmpfs none /proc && exec \"$@\"",
            "sh",
            common::daemonize_tool(),
        ]);
        case.run(command, arguments)
    };
    for mode in [&["--foreground"][..], &["--pid-file", text(&pid)][..]] {
        let mut arguments = mode.to_vec();
        arguments.extend_from_slice(&["--oom-score-adj", "100", "--", "true"]);
        let output = hidden(&arguments);
        assert_eq!(output.code, Some(ERROR), "{output:?}");
        assert_eq!(
            output.stderr,
            "ucw-daemonize: Cannot write /proc/self/oom_score_adj: ENOENT (No such file or \
             directory)\n"
        );
    }
    let output = hidden(&["--rlimit", "nofile=unlimited", "--", "true"]);
    assert_eq!(output.code, Some(ERROR), "{output:?}");
    assert_eq!(
        output.stderr,
        "ucw-daemonize: Cannot read /proc/sys/fs/nr_open (the unlimited of resource limit \
         nofile): ENOENT (No such file or directory)\n"
    );
}

// --- The root directory ------------------------------------------------------------------------

/// A root directory holding only a static busybox (`/bin/busybox`, `/bin/sh`, `/bin/sleep`)
/// and an empty `/srv`.
fn busybox_root(case: &Case) -> PathBuf {
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|path| Path::new(path).exists())
        .expect("busybox-static is needed for the root directory tests (apt-get install busybox-static)");
    let root = case.dir.join("root");
    fs::create_dir_all(root.join("bin")).unwrap();
    fs::create_dir_all(root.join("srv")).unwrap();
    fs::copy(busybox, root.join("bin/busybox")).unwrap();
    for applet in ["sh", "sleep"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    root
}

#[test]
#[cfg_attr(not(ucw_test_as_root), ignore = "needs root: chroot and another user")]
fn the_program_runs_in_its_root_directory_found_there_as_its_user() {
    require_root("chroot");
    let case = Case::new("chroot");
    let root = busybox_root(&case);
    let pid = case.pid_file();
    let report = case.report();
    let id = format!("#{TEST_ID}");
    // `sh` is looked up inside the root (the host's is another program), the output file is
    // the host's, opened before; the program stays so that it can be seen from outside.
    let output = case.daemonize(&[
        "--pid-file",
        text(&pid),
        "--stdout",
        text(&report),
        "--chroot",
        text(&root),
        "--chdir",
        "srv",
        "--user",
        &id,
        "--group",
        &id,
        "--env",
        "PATH=/bin",
        "--",
        "sh",
        "-c",
        "pwd; ls /; exec sleep 60",
    ]);
    assert_eq!(output.code, Some(0), "{output:?}");
    assert!(eventually(Duration::from_secs(10), || fs::read_to_string(
        &report
    )
    .unwrap()
        == "/srv\nbin\nsrv\n"));
    let supervisor: i32 = fs::read_to_string(&pid).unwrap().trim().parse().unwrap();
    let program: i32 = fs::read_to_string(format!("/proc/{supervisor}/task/{supervisor}/children"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    for process in [supervisor, program] {
        assert_eq!(
            fs::read_link(format!("/proc/{process}/root")).unwrap(),
            root,
            "process {process}"
        );
    }
    assert_eq!(
        fs::read_link(format!("/proc/{program}/exe")).unwrap(),
        root.join("bin/busybox")
    );
    assert_eq!(
        common::proc_status_field(program, "Uid").unwrap(),
        format!("{TEST_ID}\t{TEST_ID}\t{TEST_ID}\t{TEST_ID}")
    );
    assert_eq!(common::stop(&case.dir, &pid), Some(0));
    assert_eq!(fs::read(&pid).unwrap(), b"");

    // A program that is not inside: ENOENT, though the host has it.
    let output = case.daemonize(&[
        "--pid-file",
        text(&pid),
        "--chroot",
        text(&root),
        "--",
        "/usr/bin/env",
    ]);
    assert_eq!(output.code, Some(ERROR), "{output:?}");
    assert_eq!(
        output.stderr,
        "ucw-daemonize: Cannot execute /usr/bin/env: ENOENT (No such file or directory)\n"
    );
    // And in the foreground, the root is the tool's own (it execs there).
    let output = case.daemonize(&[
        "--foreground",
        "--exec",
        "--chroot",
        text(&root),
        "--env",
        "PATH=/bin",
        "--",
        "sh",
        "-c",
        "pwd; ls /",
    ]);
    assert_eq!(output.code, Some(0), "{output:?}");
    assert_eq!(output.stdout, "/\nbin\nsrv\n");
}

// --- Variables ---------------------------------------------------------------------------------

#[test]
fn variables_in_command_line_order_from_options_and_files() {
    let case = Case::new("variables");
    let file = case.file(
        "vars.env",
        b"# a comment\n   # an indented one\n\n\t\nA=from-file\n  B=indented name\nC=x=y\n\
          D=$HOME and `cmd` stay\nE=crlf\r\nF=\nlast=no newline",
    );
    let options = [
        "--clear-env",
        "--env",
        "A=first",
        "--env-file",
        text(&file),
        "--env",
        "A=after",
        "--unset",
        "C",
    ];
    let expected = "B=indented name\0D=$HOME and `cmd` stay\0E=crlf\0F=\0last=no newline\0\
                    A=after\0";
    let report = case.report_of(&options, &["cat", "/proc/self/environ"]);
    assert_eq!(report, expected);
    let output = case.daemonize(
        &[
            &["--foreground"][..],
            &options[..],
            &["--", "cat", "/proc/self/environ"],
        ]
        .concat(),
    );
    assert_eq!(output.stdout, expected, "{output:?}");

    // Without --clear-env the inherited variables stay, but those --unset.
    let mut command = Command::new(common::daemonize_tool());
    command
        .env("UCW_KEPT", "kept")
        .env("UCW_GONE", "gone")
        .env("UCW_CHANGED", "old");
    let output = case.run(
        command,
        &[
            "--foreground",
            "--unset",
            "UCW_GONE",
            "--env",
            "UCW_CHANGED=new",
            "--",
            "cat",
            "/proc/self/environ",
        ],
    );
    let variables: Vec<&str> = output.stdout.split('\0').collect();
    assert!(variables.contains(&"UCW_KEPT=kept"), "{variables:?}");
    assert!(variables.contains(&"UCW_CHANGED=new"), "{variables:?}");
    assert!(!variables.iter().any(|entry| entry.starts_with("UCW_GONE=")));
    assert!(!variables.contains(&"UCW_CHANGED=old"), "{variables:?}");
}

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: switching to another user"
)]
fn explicit_variables_win_over_the_users_but_never_over_the_readiness_socket() {
    require_root("--user");
    let case = Case::new("variables-user");
    let id = format!("#{TEST_ID}");
    // A `#uid` no passwd lists: the inherited HOME is removed, and --env sets one.
    let mut command = Command::new(common::daemonize_tool());
    command.env("HOME", "/root").env("USER", "root");
    let output = case.run(
        command,
        &[
            "--foreground",
            "--user",
            &id,
            "--group",
            &id,
            "--env",
            "HOME=/srv/home",
            "--",
            "cat",
            "/proc/self/environ",
        ],
    );
    assert_eq!(output.code, Some(0), "{output:?}");
    let variables: Vec<&str> = output.stdout.split('\0').collect();
    assert!(variables.contains(&"HOME=/srv/home"), "{variables:?}");
    assert!(!variables.iter().any(|entry| entry.starts_with("USER=")));

    // NOTIFY_SOCKET is the supervisor's, whatever the options say: the program still reaches
    // it and the start completes.
    let pid = case.pid_file();
    let report = case.report();
    let program = common::fixture("fixture_hostile_program");
    let output = case.daemonize(&[
        "--pid-file",
        text(&pid),
        "--notify-socket",
        "--env",
        "NOTIFY_SOCKET=@elsewhere",
        "--",
        text(&program),
        "ready-after=0,socket",
        &format!("report={}", text(&report)),
        text(case.dir.path()),
    ]);
    assert_eq!(output.code, Some(0), "{output:?}");
    assert_eq!(common::stop(&case.dir, &pid), Some(0));
}

#[test]
fn environment_files_that_cannot_be_used_are_refused_naming_file_and_line() {
    let case = Case::new("env-file-errors");
    let pid = case.pid_file();
    let long_line = format!("A={}\n", "x".repeat(16384 - 2));
    let too_long = format!("OK=1\nA={}\n", "x".repeat(16384 - 1));
    let large: String = (0..5)
        .map(|line| format!("V{line}={}\n", "v".repeat(15000)))
        .collect();
    let cases: Vec<(PathBuf, String)> = vec![
        (
            case.file("no-equals", b"OK=1\n# fine\nno equals here\n"),
            "Malformed line 3 in environment file {}: expected NAME=VALUE (a name without blanks)".into(),
        ),
        (
            case.file("blank-name", b"A B=c\n"),
            "Malformed line 1 in environment file {}: expected NAME=VALUE (a name without blanks)".into(),
        ),
        (
            case.file("empty-name", b"=c\n"),
            "Malformed line 1 in environment file {}: expected NAME=VALUE (a name without blanks)".into(),
        ),
        (
            case.file("nul", b"A=x\0y\n"),
            "Malformed line 1 in environment file {}: expected NAME=VALUE (a name without blanks)".into(),
        ),
        (
            case.file("too-long", too_long.as_bytes()),
            "Line 2 in environment file {} is longer than 16384 bytes".into(),
        ),
        (
            case.file("large", large.as_bytes()),
            "Cannot read environment file {}: the variables of the environment files exceed 65536 bytes".into(),
        ),
        (
            case.dir.join("missing"),
            "Cannot open environment file {}: ENOENT (No such file or directory)".into(),
        ),
        (
            case.dir.path().to_path_buf(),
            "Cannot read environment file {}: EISDIR (Is a directory)".into(),
        ),
    ];
    for (file, message) in &cases {
        let output = case.daemonize(&[
            "--pid-file",
            text(&pid),
            "--env-file",
            text(case.file("fine", b"FINE=1\n").as_path()),
            "--env-file",
            text(file),
            "--",
            "true",
        ]);
        assert_eq!(output.code, Some(ERROR), "{file:?}: {output:?}");
        assert_eq!(
            output.stderr,
            format!("ucw-daemonize: {}\n", message.replace("{}", text(file))),
            "{file:?}"
        );
        // Nothing started, the PID file left empty and unlocked.
        assert_eq!(fs::read(&pid).unwrap(), b"", "{file:?}");
        assert_eq!(check(&case.dir, &pid), Some(NOT_RUNNING));
    }
    // A line of exactly the limit is fine.
    let file = case.file("longest", long_line.as_bytes());
    let output = case.daemonize(&[
        "--foreground",
        "--clear-env",
        "--env-file",
        text(&file),
        "--",
        "cat",
        "/proc/self/environ",
    ]);
    assert_eq!(output.code, Some(0), "{output:?}");
    assert_eq!(output.stdout.len(), 16384 + 1);
}

// --- Capabilities ------------------------------------------------------------------------------

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: switching to another user and keeping capabilities"
)]
fn kept_capabilities_are_exactly_the_programs_permitted_effective_and_ambient_ones() {
    require_root("--keep-caps");
    let case = Case::new("keep-caps");
    let pid = case.pid_file();
    let id = format!("#{TEST_ID}");
    let sleeper = case.sleeper();
    let output = case.daemonize(&[
        "--pid-file",
        text(&pid),
        "--user",
        &id,
        "--group",
        &id,
        "--keep-caps",
        "net_bind_service,CAP_Net_Raw",
        "--",
        &sleeper,
    ]);
    assert_eq!(output.code, Some(0), "{output:?}");
    let supervisor: i32 = fs::read_to_string(&pid).unwrap().trim().parse().unwrap();
    let mut program = 0;
    assert!(eventually(Duration::from_secs(5), || {
        program = fs::read_to_string(format!("/proc/{supervisor}/task/{supervisor}/children"))
            .unwrap_or_default()
            .trim()
            .parse()
            .unwrap_or(0);
        program != 0
            && fs::read_link(format!("/proc/{program}/exe"))
                .is_ok_and(|exe| exe == common::static_sleeper())
    }));
    // CAP_NET_BIND_SERVICE (10) and CAP_NET_RAW (13).
    const KEPT: &str = "0000000000002400";
    const NONE: &str = "0000000000000000";
    let field = |pid, key| common::proc_status_field(pid, key).unwrap();
    for (key, expected) in [
        ("CapInh", KEPT),
        ("CapPrm", KEPT),
        ("CapEff", KEPT),
        ("CapAmb", KEPT),
    ] {
        assert_eq!(field(program, key), expected, "program {key}");
    }
    // The supervisor holds them permitted, never effective.
    for (key, expected) in [
        ("CapInh", KEPT),
        ("CapPrm", KEPT),
        ("CapEff", NONE),
        ("CapAmb", KEPT),
    ] {
        assert_eq!(field(supervisor, key), expected, "supervisor {key}");
    }
    for process in [supervisor, program] {
        assert_eq!(
            field(process, "Uid"),
            format!("{TEST_ID}\t{TEST_ID}\t{TEST_ID}\t{TEST_ID}")
        );
    }
    assert_eq!(common::stop(&case.dir, &pid), Some(0));

    // Switching to root keeps everything anyway: refused. So is a capability that is not in
    // the bounding set (checked with the command line: exit 1, nothing done).
    let output = case.daemonize(&[
        "--foreground",
        "--user",
        "#0",
        "--group",
        "#0",
        "--keep-caps",
        "net_raw",
        "--",
        "true",
    ]);
    assert_eq!(output.code, Some(ERROR), "{output:?}");
    assert_eq!(
        output.stderr,
        "ucw-daemonize: Cannot keep capabilities without a switch to a user other than root\n"
    );
    let mut command = Command::new("setpriv");
    command.args(["--bounding-set", "-net_raw", "--", common::daemonize_tool()]);
    let output = case.run(
        command,
        &[
            "--user",
            &id,
            "--group",
            &id,
            "--keep-caps",
            "net_raw",
            "--",
            "true",
        ],
    );
    assert_eq!(output.code, Some(USAGE), "{output:?}");
    assert_eq!(
        first_line(&output),
        "ucw-daemonize: --keep-caps: capability 'net_raw' is not in this process's bounding set"
    );
}

/// The web server: root starts it as another user, keeping only CAP_NET_BIND_SERVICE, in a
/// fresh network namespace (where ports below 1024 are privileged); it binds port 80 on the
/// loopback before it says it is ready. Without --keep-caps the same program gets EACCES.
#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: a network namespace (unshare -n) and another user"
)]
fn a_web_server_binds_port_80_as_another_user_with_net_bind_service_kept() {
    require_root("a network namespace");
    let case = Case::new("web");
    let pid = case.pid_file();
    let errors = case.dir.join("errors");
    let program = common::fixture("fixture_hostile_program");
    let id = format!("#{TEST_ID}");
    let start = |keep: &[&str]| {
        let mut command = Command::new("unshare");
        command.args(["--net", "--", common::daemonize_tool()]);
        let mut arguments = vec![
            "--pid-file",
            text(&pid),
            "--stderr",
            text(&errors),
            "--user",
            &id,
            "--group",
            &id,
            "--notify-fd",
            "3",
        ];
        arguments.extend_from_slice(keep);
        arguments.extend_from_slice(&[
            "--",
            text(&program),
            "listen=80",
            "ready-after=0,3",
            text(case.dir.path()),
        ]);
        case.run(command, &arguments)
    };
    let output = start(&["--keep-caps", "net_bind_service"]);
    assert_eq!(output.code, Some(0), "ready only once bound: {output:?}");
    let supervisor: i32 = fs::read_to_string(&pid).unwrap().trim().parse().unwrap();
    let program_pid: i32 =
        fs::read_to_string(format!("/proc/{supervisor}/task/{supervisor}/children"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
    // Listening on 127.0.0.1:80 (0100007F:0050, state 0A) in its own namespace.
    let sockets = fs::read_to_string(format!("/proc/{program_pid}/net/tcp")).unwrap();
    assert!(
        sockets
            .lines()
            .any(|line| line.contains("0100007F:0050")
                && line.split_whitespace().nth(3) == Some("0A")),
        "{sockets}"
    );
    assert_eq!(common::stop(&case.dir, &pid), Some(0));

    let output = start(&[]);
    assert_eq!(output.code, Some(ERROR), "{output:?}");
    // (The fixture panics on the failed bind; the workspace's profiles abort on a panic.)
    assert!(
        first_line(&output).ends_with("was killed by signal 6 (ABRT) before it was ready"),
        "{output:?}"
    );
    let errors = fs::read_to_string(&errors).unwrap();
    assert!(
        errors.contains("listen") && errors.contains("code: 13"),
        "EACCES expected: {errors}"
    );
    assert_eq!(fs::read(&pid).unwrap(), b"");
}

// --- The plan ----------------------------------------------------------------------------------

#[test]
fn a_dry_run_prints_the_plan_and_changes_nothing() {
    let case = Case::new("dry-run");
    let pid = case.pid_file();
    let output_file = case.dir.join("out");
    let file = case.file("vars.env", b"FROM_FILE=1\n");
    let id = format!("#{TEST_ID}");
    let core_hard = match rustix::process::getrlimit(rustix::process::Resource::Core).maximum {
        Some(hard) => hard.to_string(),
        None => "unlimited".into(),
    };
    let own_nice = rustix::process::getpriority_process(None).unwrap();
    let output = case.daemonize(&[
        "--dry-run",
        "--pid-file",
        text(&pid),
        "--stdout",
        text(&output_file),
        "--user",
        &id,
        "--group",
        &id,
        "--keep-caps",
        "net_bind_service",
        "--rlimit",
        "nofile=100:200",
        "--rlimit",
        "core=2K",
        "--nice",
        "1",
        "--oom-score-adj",
        "7",
        "--umask",
        "7",
        "--no-new-privs",
        "--clear-env",
        "--env",
        "PATH=/usr/bin:/bin",
        "--env-file",
        text(&file),
        "--",
        "sh",
        "-c",
        "sleep 60",
        text(case.dir.path()),
    ]);
    assert_eq!(output.code, Some(0), "{output:?}");
    let expected = format!(
        "pid-file {pid}\nchdir /\nstdout {out}\nuser {TEST_ID}\ngroup {TEST_ID}\n\
         supplementary-group {TEST_ID}\nrlimit core 2048 {core_hard}\nrlimit nofile 100 200\n\
         nice {nice}\noom-score-adj 7\numask 0007\nkeep-capability net_bind_service\n\
         no-new-privs\nprogram /usr/bin/sh\nargument -c\nargument sleep 60\nargument {dir}\n\
         env PATH=/usr/bin:/bin\nenv FROM_FILE=1\n",
        pid = text(&pid),
        out = text(&output_file),
        nice = (own_nice + 1).min(19),
        dir = text(case.dir.path()),
    );
    // `sh` is where PATH finds it first.
    let expected = if Path::new("/usr/bin/sh").exists() {
        expected
    } else {
        expected.replace("program /usr/bin/sh", "program /bin/sh")
    };
    assert_eq!(output.stdout, expected);
    assert_eq!(output.stderr, "");
    // Nothing created, locked or started.
    assert!(!pid.exists() && !output_file.exists());
    assert!(processes_mentioning(text(case.dir.path())).is_empty());

    // The first problem is an error, and then no plan at all.
    for (arguments, message) in [
        (
            &["--", "/nonexistent/program"][..],
            "Cannot execute /nonexistent/program: ENOENT (No such file or directory)",
        ),
        (
            &["--pid-file", "/nonexistent/dir/d.pid", "--", "true"][..],
            "Cannot open PID file /nonexistent/dir/d.pid: ENOENT (No such file or directory)",
        ),
        (
            &["--chdir", "/nonexistent", "--", "true"][..],
            "Cannot open working directory /nonexistent: ENOENT (No such file or directory)",
        ),
        (
            &["--user", "#54322", "--", "true"][..],
            "User #54322 is not listed in /etc/passwd: give a group too",
        ),
    ] {
        let output = case.daemonize(&[&["--dry-run"][..], arguments].concat());
        assert_eq!(output.code, Some(ERROR), "{arguments:?}: {output:?}");
        assert_eq!(output.stdout, "", "{arguments:?}");
        assert_eq!(output.stderr, format!("ucw-daemonize: {message}\n"));
    }
}

// --- Usage -------------------------------------------------------------------------------------

#[test]
fn bad_values_are_usage_errors_naming_the_option_and_the_value() {
    let case = Case::new("usage");
    for (arguments, message) in [
        (
            &["--rlimit", "nofile=abc"][..],
            "option '--rlimit' needs limits as numbers (K, M, G for the limits in bytes) or unlimited, not 'nofile=abc'",
        ),
        (
            &["--rlimit", "nofile=1K"][..],
            "option '--rlimit' needs limits as numbers (K, M, G for the limits in bytes) or unlimited, not 'nofile=1K'",
        ),
        (
            &["--rlimit", "as=18446744073709551615"][..],
            "option '--rlimit' needs limits as numbers (K, M, G for the limits in bytes) or unlimited, not 'as=18446744073709551615'",
        ),
        (
            &["--rlimit", "bogus=1"][..],
            "option '--rlimit' needs NAME=SOFT[:HARD], NAME one of as core cpu data fsize locks memlock msgqueue nice nofile nproc rss rtprio rttime sigpending stack, not 'bogus=1'",
        ),
        (
            &["--nice", "99"][..],
            "option '--nice' needs a number from -20 to 19, not '99'",
        ),
        (
            &["--nice", "-21"][..],
            "option '--nice' needs a number from -20 to 19, not '-21'",
        ),
        (
            &["--oom-score-adj", "1001"][..],
            "option '--oom-score-adj' needs a number from -1000 to 1000, not '1001'",
        ),
        (
            &["--umask", "999"][..],
            "option '--umask' needs an octal mask from 0 to 0777, not '999'",
        ),
        (
            &["--umask", "01777"][..],
            "option '--umask' needs an octal mask from 0 to 0777, not '01777'",
        ),
        (
            &["--env", "NOEQUALS"][..],
            "option '--env' needs NAME=VALUE (a name without blanks), not 'NOEQUALS'",
        ),
        (
            &["--unset", "A=1"][..],
            "option '--unset' needs a variable name (no =, no blanks), not 'A=1'",
        ),
        (
            &["--user", "#1", "--keep-caps", "net_bind_servic"][..],
            "option '--keep-caps' needs capability names as capabilities(7) gives them, separated by commas, not 'net_bind_servic'",
        ),
        (
            &["--user", "#1", "--keep-caps", "chown,,kill"][..],
            "option '--keep-caps' needs capability names as capabilities(7) gives them, separated by commas, not 'chown,,kill'",
        ),
        (
            &["--user", "#1", "--keep-caps", "chown,CAP_SYS_ADMIN"][..],
            "--keep-caps: capability 'CAP_SYS_ADMIN' could undo the user switch",
        ),
        (
            &["--user", "#1", "--keep-caps", "setuid"][..],
            "--keep-caps: capability 'setuid' could undo the user switch",
        ),
        (
            &["--keep-caps", "net_bind_service"][..],
            "--keep-caps needs --user",
        ),
        (
            &["--preserve-cwd", "--chroot", "/srv"][..],
            "--chroot and --preserve-cwd exclude each other",
        ),
        (
            &["--chdir", "/srv", "--preserve-cwd"][..],
            "--chdir and --preserve-cwd exclude each other",
        ),
        (
            &["--chdir="][..],
            "option '--chdir' needs a non-empty value",
        ),
    ] {
        let output = case.daemonize(&[arguments, &["--", "true"]].concat());
        assert_eq!(output.code, Some(USAGE), "{arguments:?}: {output:?}");
        assert_eq!(first_line(&output), format!("ucw-daemonize: {message}"));
        assert!(output.stderr.contains("\nUsage: ucw-daemonize "), "{output:?}");
    }
    let many: Vec<String> = (0..257).map(|index| format!("V{index}=1")).collect();
    let mut arguments = Vec::new();
    for entry in &many {
        arguments.extend_from_slice(&["--env", entry.as_str()]);
    }
    arguments.extend_from_slice(&["--", "true"]);
    let output = case.daemonize(&arguments);
    assert_eq!(output.code, Some(USAGE), "{output:?}");
    assert_eq!(
        first_line(&output),
        "ucw-daemonize: more than 256 --env, --unset and --env-file options"
    );
    // --help lists them.
    let output = case.daemonize(&["--help"]);
    for option in [
        "--rlimit",
        "--nice",
        "--oom-score-adj",
        "--umask",
        "--chroot",
        "--chdir",
        "--env",
        "--unset",
        "--env-file",
        "--clear-env",
        "--keep-caps",
        "--no-new-privs",
        "--dry-run",
    ] {
        assert!(output.stdout.contains(&format!("  {option} ")), "{option}");
    }
}

#[test]
fn without_the_feature_each_option_says_it_is_not_built_in() {
    let case = Case::new("not-built");
    let tools = common::tools_built_with(
        "without-environment",
        &[
            "readiness",
            "output-files",
            "verbose",
            "restart",
            "messages",
        ],
    );
    let run = |arguments: &[&str]| {
        let mut command = Command::new(&tools);
        command.arg("daemonize");
        case.run(command, arguments)
    };
    for option in [
        "--rlimit=nofile=1",
        "--nice=1",
        "--oom-score-adj=1",
        "--umask=022",
        "--chdir=/",
        "--chroot=/",
        "--env=A=1",
        "--unset=A",
        "--env-file=/dev/null",
        "--clear-env",
        "--no-new-privs",
        "--keep-caps=net_raw",
        "--dry-run",
    ] {
        let output = run(&[option, "--", "true"]);
        assert_eq!(output.code, Some(USAGE), "{option}: {output:?}");
        let name = option.split('=').next().unwrap();
        assert_eq!(
            first_line(&output),
            format!(
                "ucw-daemon daemonize: {name}: not built into this binary (feature environment)"
            )
        );
    }
    let help = run(&["--help"]);
    assert!(!help.stdout.contains("--rlimit"), "{help:?}");
}
