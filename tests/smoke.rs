mod common;

#[test]
fn control_binary_runs() {
    let dir = common::TempDir::new("smoke");
    let out = common::harness().run(
        env!("CARGO_BIN_EXE_ucw-daemon-control"),
        ["--version"],
        dir.path(),
    );
    assert_eq!(out.code, Some(0));
}
