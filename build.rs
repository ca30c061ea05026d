//! Links the two tools as static, libc-free executables with our own `_start` (src/rt).
//! The library and the tests link normally; only `[[bin]]` targets get these flags. Also
//! tells the tests whether they were built by root (`--cfg ucw_test_as_root`).

/// Added to the default linker script: the tools abort on panic and never unwind or print
/// backtraces, so the unwind tables rustc emits anyway (`.eh_frame`, kilobytes of each tool)
/// are dropped, and so are the compilers' version strings (`.comment`, ~200 bytes with its
/// section header). examples/tiny_daemon.ld is the same script for the tiny example.
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
    let flags: &[&str] = if arch == "aarch64" || linker_is_lld {
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
    for flag in flags {
        println!("cargo:rustc-link-arg-bins={flag}");
    }
    // An extra script given as an input file augments the default one (`INSERT`).
    let prefix = if arch == "aarch64" || linker_is_lld {
        ""
    } else {
        "-Wl,"
    };
    println!("cargo:rustc-link-arg-bins={prefix}--no-eh-frame-hdr");
    println!("cargo:rustc-link-arg-bins={prefix}{}", script.display());
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
