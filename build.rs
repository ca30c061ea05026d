//! Tells the tests whether they were built by root (`--cfg ucw_test_as_root`): root-only tests
//! (user switching, chroot, namespaces, FUSE) run when the build runs as root, as CI does; for
//! anyone else they show as ignored, with the reason. The library itself needs no build step.

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
    println!("cargo:rerun-if-changed=build.rs");
}
