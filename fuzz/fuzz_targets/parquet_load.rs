//! `parquet_load`: the first byte is flags, the rest a parquet file, loaded by `hedge_data::load_reader` with
//! `Format::Parquet` and checked by the oracles of [`hedge_fuzz::data_target`].
//! Panics: see [`hedge_fuzz::install_panic_hook`].

fn main() {
    hedge_fuzz::install_panic_hook();
    afl::fuzz_nohook!(|input: &[u8]| {
        hedge_fuzz::data_target(hedge_data::Format::Parquet, input);
    });
}
