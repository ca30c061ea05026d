//! Links the probes exactly as the project's build.rs links the tools (x86_64, cc driver).
fn main() {
    for flag in [
        "-nostartfiles",
        "-nostdlib",
        "-static",
        "-no-pie",
        "-Wl,--gc-sections",
        "-Wl,--build-id=none",
        "-Wl,-z,norelro",
        "-Wl,-z,noseparate-code",
    ] {
        println!("cargo:rustc-link-arg-bins={flag}");
    }
}
