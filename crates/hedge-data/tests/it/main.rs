//! The integration tests of `hedge-data`, one module per file, built as one test binary (each test file
//! used to be a binary of its own that linked every dependency). Run one file's tests with
//! `cargo test -p hedge-data --test it <module>::`.

mod bounds;
mod common;
mod fuzz_regressions;
mod load;
mod messages;
mod parallel_csv;
mod parquet_types;
mod roundtrip_prop;
