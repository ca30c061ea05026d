//! Links the multi-call binary as a static, libc-free executable with our own `_start`
//! (src/rt): only the `[[bin]]` targets get these flags; the library and the tests link
//! normally. (examples/tiny_daemon.rs, which shares the runtime, gets the same flags from
//! examples/tiny_daemon.rustc-args.) Also tells the tests whether they were built by root (`--cfg ucw_test_as_root`).
//!
//! The flags work with every linker rustc may use here: its bundled lld (the default on
//! x86_64 Linux, driven by `cc -fuse-ld=lld`), GNU ld (`RUSTFLAGS=-Clink-arg=-fuse-ld=bfd`) and
//! `rust-lld` called directly (aarch64, `.cargo/config.toml`), which takes ld-style arguments.

/// Added to the default linker script with `-T` (`INSERT` keeps the default script in force;
/// GNU ld accepts `INSERT` only in a `-T` script, lld either way): the tools abort on panic and
/// never unwind or print backtraces, so the unwind tables rustc emits anyway (`.eh_frame`,
/// kilobytes) are dropped, and so are the compilers' version strings (`.comment`, ~200 bytes
/// with its section header). examples/tiny_daemon.ld is the same script for the tiny example.
const DISCARD_UNWIND_TABLES: &str =
    "SECTIONS { /DISCARD/ : { *(.eh_frame) *(.eh_frame_hdr) *(.comment) } } INSERT AFTER .text;\n";

fn main() {
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let script = out_dir.join("discard-unwind-tables.ld");
    std::fs::write(&script, DISCARD_UNWIND_TABLES).expect("write linker script");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let linker_is_lld = std::env::var("CARGO_ENCODED_RUSTFLAGS")
        .map(|flags| flags.contains("linker=rust-lld"))
        .unwrap_or(false);
    let ld_style = arch == "aarch64" || linker_is_lld;
    let flags: &[&str] = if ld_style {
        // rust-lld takes ld-style arguments.
        &[
            "-nostdlib",
            "-static",
            "--gc-sections",
            "--build-id=none",
            "-znorelro",
            "-znoseparate-code",
        ]
    } else {
        // cc driver: no crt files, no libc, no PIE, drop unused sections.
        &[
            "-nostartfiles",
            "-nostdlib",
            "-static",
            "-no-pie",
            "-Wl,--gc-sections",
            "-Wl,--build-id=none",
            "-Wl,-z,norelro",
            "-Wl,-z,noseparate-code",
        ]
    };
    let prefix = if ld_style { "" } else { "-Wl," };
    let eh_frame_hdr = format!("{prefix}--no-eh-frame-hdr");
    let script = format!("{prefix}-T{}", script.display());
    for flag in flags
        .iter()
        .copied()
        .chain([eh_frame_hdr.as_str(), script.as_str()])
    {
        println!("cargo:rustc-link-arg-bins={flag}");
    }
    // Root-only tests (user switching, chroot, namespaces, FUSE) run when the build runs as
    // root, as CI does; for anyone else they show as ignored, with the reason.
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(str::to_owned))
        });
    if uid.as_deref() == Some("0") {
        println!("cargo:rustc-cfg=ucw_test_as_root");
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
}
