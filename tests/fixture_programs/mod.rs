//! The fixture programs (tests/fixtures/*.rs, built by cargo as examples named `fixture_*`)
//! as paths, built on first use: a plain `cargo test` builds every example, but
//! `cargo test --test <name>` builds none, and a test must not run a stale or missing one.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The directory this test program was built in (`<target>/<profile>/`, the program is
/// `<profile>/deps/<name>-<hash>`), which holds `examples/`.
fn profile_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|program| Some(program.parent()?.parent()?.to_path_buf()))
        .expect("a test program lives in <target>/<profile>/deps/")
}

/// `<target>/<profile>/examples/<name>`, brought up to date (once per test process) by
/// `cargo build --examples` with this build's profile. `run` runs the build command to its
/// end and says whether it succeeded (with its stderr when not): test files that reap their
/// children with `common::harness()` must spawn it through the harness.
pub fn example(name: &str, run: impl FnOnce(Command) -> Result<(), String>) -> PathBuf {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let profile_dir = &profile_dir();
    if let Err(problem) = BUILT.get_or_init(|| build_examples(profile_dir, run)) {
        panic!("cannot build the fixture programs: {problem}");
    }
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.is_file(),
        "{} is missing after the build",
        path.display()
    );
    path
}

/// `cargo build --examples` into the target directory this test was built in.
fn build_examples(
    profile_dir: &Path,
    run: impl FnOnce(Command) -> Result<(), String>,
) -> Result<(), String> {
    let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") => "dev",
        Some(other) => other,
        None => return Err(format!("no profile in {}", profile_dir.display())),
    };
    let mut target_dir = profile_dir
        .parent()
        .expect("<target>/<profile>")
        .to_path_buf();
    let mut command = Command::new(env!("CARGO"));
    command
        .arg("build")
        .arg("--quiet")
        .args(["-p", "ucw-daemon"])
        .arg("--examples")
        .arg("--profile")
        .arg(profile)
        .arg("--manifest-path")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"));
    // A cross build lives in <target>/<triple>/<profile>, its directory named by a triple of
    // this machine's architecture; a target directory of any other name is the target
    // directory itself (`target/gnu-ld`, or a CARGO_TARGET_DIR made before cargo ran, so
    // without cargo's CACHEDIR.TAG).
    if let Some(triple) = target_dir
        .file_name()
        .and_then(|name| name.to_str())
        .filter(|name| {
            name.split('-').next() == Some(std::env::consts::ARCH) && name.contains("-linux")
        })
        .map(str::to_owned)
    {
        if let Some(parent) = target_dir.parent() {
            command.arg("--target").arg(&triple);
            target_dir = parent.to_path_buf();
        }
    }
    command.arg("--target-dir").arg(&target_dir);
    let shown = format!("{command:?}");
    run(command).map_err(|problem| format!("{shown}: {problem}"))
}

/// Runs `command` with std (for test processes without the harness's reaper thread).
pub fn run_plainly(mut command: Command) -> Result<(), String> {
    let output = command.output().map_err(|error| error.to_string())?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}
