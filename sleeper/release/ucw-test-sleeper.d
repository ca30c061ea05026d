/work/wt/tree/sleeper/release/ucw-test-sleeper: /work/wt/tree/tests/aarch64-sleeper/build.rs /work/wt/tree/tests/aarch64-sleeper/src/main.rs
