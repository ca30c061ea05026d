//! Links the two tools as static, libc-free executables with our own `_start` (src/rt).
//! The library and the tests link normally; only `[[bin]]` targets get these flags.

fn main() {
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
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
}
