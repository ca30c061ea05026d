/work/wt/tree/sleeper/release/deps/ucw_test_sleeper-ceb784a18218b74e.d: src/main.rs

/work/wt/tree/sleeper/release/deps/ucw_test_sleeper-ceb784a18218b74e: src/main.rs

src/main.rs:
