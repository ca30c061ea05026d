/work/wt/env/sleeper/release/ucw-test-sleeper: /work/wt/env/tests/aarch64-sleeper/build.rs /work/wt/env/tests/aarch64-sleeper/src/main.rs
