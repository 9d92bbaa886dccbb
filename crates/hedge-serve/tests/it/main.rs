//! The integration tests of `hedge-serve` and `hedge-client` (the clients are tested against the same
//! loopback stand-ins, and `collect` beside the proxy), one module per file, built as one test binary (each test file
//! used to be a binary of its own that linked every dependency). Run one file's tests with
//! `cargo test -p hedge-serve --test it <module>::`.

/// Both crates under one name, as the tests import them (`net::…`).
mod net {
    pub use hedge_client::*;
    pub use hedge_serve::*;
}

mod common;
mod e2e;
mod llama_cpp;
mod logprob;
mod secrets;
mod slow_clients;
