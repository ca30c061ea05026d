//! Self-test of the hung-FUSE fixture (tests/common/hung_fuse.rs, tests/fixtures/hung_fuse.c):
//! once hung, stat() of /proc/<pid>/fd/<n> naming the FUSE file blocks while readlink() and
//! /proc/<pid>/fdinfo/<n> answer at once; dropping the HungFs frees every stuck process and
//! thread and leaves no mount, directory or server behind. Root only (fails otherwise).
mod common;
#[path = "common/hung_fuse.rs"]
mod hung_fuse;

use hung_fuse::HungFs;
use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The state letter of a task's stat file (the field after the last ')').
fn state(stat_path: &str) -> Option<String> {
    let stat = fs::read_to_string(stat_path).ok()?;
    Some(
        stat.rsplit_once(')')?
            .1
            .split_whitespace()
            .next()?
            .to_string(),
    )
}

/// Polls `done` for up to `limit` (a margin scaled by [`common::margin`]).
fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + common::margin(limit);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    done()
}

/// Reaps `child`, waiting at most `limit` (a scaled margin); its exit status (None when
/// still running).
fn reap(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + common::margin(limit);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Tasks of any process in D state waiting on FUSE (wchan names a fuse function).
/// Whether process `pid` descends from this test process (other programs on the machine
/// may have their own business with FUSE).
fn is_ours(pid: u32) -> bool {
    let me = std::process::id();
    let mut current = pid;
    for _ in 0..64 {
        if current == me {
            return true;
        }
        let status = fs::read_to_string(format!("/proc/{current}/status")).unwrap_or_default();
        let parent = status
            .lines()
            .find_map(|line| line.strip_prefix("PPid:"))
            .and_then(|value| value.trim().parse::<u32>().ok());
        match parent {
            Some(parent) if parent > 1 => current = parent,
            _ => return false,
        }
    }
    false
}

fn fuse_d_tasks() -> Vec<String> {
    let mut found = Vec::new();
    for process in fs::read_dir("/proc").unwrap().flatten() {
        let ours = process
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
            .is_some_and(is_ours);
        if !ours {
            continue;
        }
        let Ok(tasks) = fs::read_dir(process.path().join("task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let stat = task.path().join("stat");
            if state(stat.to_str().unwrap()).as_deref() == Some("D") {
                let wchan = fs::read_to_string(task.path().join("wchan")).unwrap_or_default();
                if wchan.contains("fuse") || wchan.contains("request_wait_answer") {
                    found.push(format!("{} ({wchan})", task.path().display()));
                }
            }
        }
    }
    found
}

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: mounts a FUSE file system"
)]
fn stat_of_fd_link_hangs_fdinfo_does_not_and_drop_cleans_up() {
    let started = Instant::now();
    let fs_ = HungFs::mount();
    let file = fs_.file();
    assert_eq!(fs::read(&file).unwrap(), b"hello\n");
    let mountpoint = fs_.mountpoint().to_path_buf();
    let conn = fs_.connection();
    let server = fs_.server_pid();

    // A holder with the FUSE file open on fd 3, flock'ed (by flock(1), a child sharing the
    // open file), as a daemon would hold its PID file.
    let mut holder = Command::new("sh")
        .arg("-c")
        .arg(r#"exec 3<>"$1"; flock -x 3; exec sleep 100"#)
        .arg("sh")
        .arg(&file)
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn the holder");
    let pid = holder.id();
    let link = format!("/proc/{pid}/fd/3");
    let fdinfo = format!("/proc/{pid}/fdinfo/3");
    assert!(
        wait_for(Duration::from_secs(10), || fs::read_to_string(&fdinfo)
            .is_ok_and(|info| info.contains("lock:"))
            && fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c == "sleep\n")),
        "the holder did not open and lock the FUSE file"
    );
    assert_eq!(fs::read_link(&link).unwrap(), file);

    fs_.hang();
    fs_.hang(); // idempotent

    // stat() through the fd link, in a separate thread: must not return.
    let (tx, rx) = mpsc::channel();
    let stuck_link = link.clone();
    let stuck = std::thread::spawn(move || {
        let me = fs::read_link("/proc/thread-self").unwrap();
        tx.send(Err(me.to_string_lossy().into_owned())).unwrap();
        let result = fs::metadata(&stuck_link)
            .map(|m| m.len())
            .map_err(|e| e.raw_os_error());
        tx.send(Ok(result)).unwrap();
    });
    let task = match rx.recv().unwrap() {
        Err(task) => format!("/proc/{task}/stat"),
        Ok(_) => unreachable!(),
    };
    let waited = Instant::now();
    assert!(
        rx.recv_timeout(Duration::from_secs(2)).is_err(),
        "stat({link}) returned although the file system hangs"
    );
    eprintln!(
        "stat({link}) still blocked after {:?}; the thread is in state {:?}",
        waited.elapsed(),
        state(&task)
    );

    // readlink and fdinfo answer at once.
    let t = Instant::now();
    assert_eq!(fs::read_link(&link).unwrap(), file);
    let info = fs::read_to_string(&fdinfo).unwrap();
    let took = t.elapsed();
    // They never touch the file system: a hang would be forever, a margin is plenty.
    assert!(
        took < common::margin(Duration::from_millis(500)),
        "readlink + fdinfo took {took:?}"
    );
    let lock = info
        .lines()
        .find(|l| l.starts_with("lock:\t"))
        .expect("a lock: line");
    assert!(lock.contains(" FLOCK  ADVISORY  WRITE "), "{lock}");
    assert!(
        lock.ends_with(&format!(":{conn:02x}:2 0 EOF")),
        "{lock} (device 00:{conn:02x})"
    );
    eprintln!("readlink + fdinfo took {took:?}: {lock:?}");

    // Killed while hung, the holder cannot finish exiting (close() sends FLUSH): D state.
    holder.kill().unwrap();
    assert!(
        wait_for(Duration::from_secs(5), || state(&format!(
            "/proc/{pid}/stat"
        ))
        .as_deref()
            == Some("D")),
        "the SIGKILLed holder should be stuck in D state, is {:?}",
        state(&format!("/proc/{pid}/stat"))
    );

    let dropping = Instant::now();
    drop(fs_);
    let drop_took = dropping.elapsed();
    assert!(
        drop_took < common::margin(Duration::from_secs(5)),
        "drop took {drop_took:?}"
    );

    // Everything stuck is freed.
    match rx.recv_timeout(common::margin(Duration::from_secs(5))) {
        Ok(Ok(Err(errno))) => {
            eprintln!("the stuck stat() returned errno {errno:?} after the abort")
        }
        other => panic!("the stuck stat() did not fail after the abort: {other:?}"),
    }
    stuck.join().unwrap();
    let status =
        reap(&mut holder, Duration::from_secs(5)).expect("the holder did not exit after the abort");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );

    // Nothing left behind.
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mountinfo.contains(mountpoint.to_str().unwrap()),
        "still mounted: {}",
        mountpoint.display()
    );
    assert!(
        !mountpoint.exists(),
        "{} still exists",
        mountpoint.display()
    );
    assert!(
        wait_for(Duration::from_secs(5), || !Path::new(&format!(
            "/sys/fs/fuse/connections/{conn}"
        ))
        .exists()),
        "connection {conn} still exists"
    );
    assert!(
        !Path::new(&format!("/proc/{server}")).exists(),
        "server {server} still exists"
    );
    assert!(
        wait_for(Duration::from_secs(5), || fuse_d_tasks().is_empty()),
        "tasks stuck on FUSE: {:?}",
        fuse_d_tasks()
    );
    eprintln!(
        "drop took {drop_took:?}; whole test {:?}",
        started.elapsed()
    );
}

#[test]
#[cfg_attr(
    not(ucw_test_as_root),
    ignore = "needs root: mounts a FUSE file system"
)]
fn abort_and_hang_are_idempotent_and_an_unhung_drop_is_clean() {
    let fs_ = HungFs::mount();
    let mountpoint = fs_.mountpoint().to_path_buf();
    assert_eq!(fs::read(fs_.file()).unwrap(), b"hello\n");
    fs_.abort();
    fs_.abort();
    fs_.hang(); // after an abort: a no-op, must not block
    let err = fs::metadata(fs_.file()).unwrap_err();
    assert!(
        matches!(err.raw_os_error(), Some(107) | Some(103)),
        "after abort: {err}"
    );
    drop(fs_);
    assert!(!mountpoint.exists());

    let fs_ = HungFs::mount(); // never hung, never aborted
    let mountpoint = fs_.mountpoint().to_path_buf();
    drop(fs_);
    assert!(!mountpoint.exists());
    assert!(!fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .contains(mountpoint.to_str().unwrap()));
}
