//! The integration tests of `hedge-net`, one module per file, built as one test binary (each test file
//! used to be a binary of its own that linked every dependency). Run one file's tests with
//! `cargo test -p hedge-net --test it <module>::`.

mod common;
mod e2e;
mod llama_cpp;
mod logprob;
mod secrets;
mod slow_clients;
