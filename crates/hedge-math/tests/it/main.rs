//! The integration tests of `hedge-math`, one module per file, built as one test binary (each test file
//! used to be a binary of its own that linked every dependency). Run one file's tests with
//! `cargo test -p hedge-math --test it <module>::`.

mod properties;
mod reference;
mod selection;
