//! The integration tests of `hedge-estimate`, one module per file, built as one test binary (each test file
//! used to be a binary of its own that linked every dependency). Run one file's tests with
//! `cargo test -p hedge-estimate --test it <module>::`.

mod adopt;
mod api;
mod brute_force;
mod calibration;
mod common;
mod compare;
mod decisions;
mod heavy_tail;
mod props;
mod real_data;
mod sbon_speed_pins;
mod ties_unbiased;
mod toy;
mod verdict_kernel;
