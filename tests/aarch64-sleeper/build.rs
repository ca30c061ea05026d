//! Links the sleeper as a static executable with its own `_start` and no libc: ld-style
//! arguments for rust-lld (aarch64), cc-driver arguments elsewhere.

fn main() {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let flags: &[&str] = if arch == "aarch64" {
        &["-nostdlib", "-static", "--gc-sections"]
    } else {
        &["-nostartfiles", "-nostdlib", "-static", "-no-pie", "-Wl,--gc-sections"]
    };
    for flag in flags {
        println!("cargo:rustc-link-arg-bins={flag}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
