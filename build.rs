//! Tells the tests whether they were built by root (`--cfg ucw_test_as_root`): root-only tests
//! (user switching, chroot, namespaces, FUSE) run when the build runs as root, as CI does; for
//! anyone else they show as ignored, with the reason; and whether the repository's README is
//! there (`--cfg ucw_readme`: its Rust examples are doc tests). The library itself needs no
//! build step.

fn main() {
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
    // The repository's README.md (its Rust examples are doc tests) is not in the published
    // crate, whose page is docs/library.md.
    let readme = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    if readme.is_file() {
        println!("cargo:rustc-cfg=ucw_readme");
    }
    println!("cargo:rerun-if-changed=README.md");
    println!("cargo:rerun-if-changed=build.rs");
}
