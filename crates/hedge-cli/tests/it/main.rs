//! The integration tests of `hedge-cli`, one module per file, built as one test binary (each test file
//! used to be a binary of its own that linked every dependency). Run one file's tests with
//! `cargo test -p hedge-cli --test it <module>::`.

mod args_sweep;
mod compare_cli;
mod continuous_cli;
mod data_bounds_cli;
mod data_cli;
mod engine_cli;
mod golden;
mod house;
mod logprob_cli;
mod net_cli;
mod report_cli;
mod store_cli;
mod verdict_cli;
