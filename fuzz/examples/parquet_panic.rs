//! Reproduces (and, with `cargo afl tmin`, minimises) a Parquet input on which the `parquet` or `arrow` crates
//! panic: reads one input of the `parquet_load` target from standard input (a flags byte, then the file), loads
//! it, and aborts if hedge-data reports a panic of the Parquet reader. From `fuzz/`:
//!
//! ```text
//! cargo afl build --release --example parquet_panic
//! cargo afl tmin -i CRASH -o MIN target/release/examples/parquet_panic
//! ```

use std::io::Read;

use hedge_data::{Format, LoadOptions, load_reader};

fn main() {
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).unwrap();
    let data = input.get(1..).unwrap_or_default();
    match load_reader(data, "input", Format::Parquet, &LoadOptions::new()) {
        Err(e) if e.to_string().contains("the Parquet reader failed") => {
            eprintln!("{e}");
            std::process::abort();
        }
        other => println!("{:?}", other.map(|c| c.num_rows())),
    }
}
