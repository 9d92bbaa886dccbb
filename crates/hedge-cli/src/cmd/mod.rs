//! One module per command, plus leaf modules they share (`data_args`, `method_args`, `net_args`, `store_url`,
//! `values`); a command module never imports another command module, nor `cli.rs` (which imports the commands).

#[cfg(feature = "net")]
pub mod collect;
pub mod compare;
pub mod curve;
pub mod data_args;
pub mod demo;
pub mod export;
pub mod gaussian;
pub mod info;
pub mod kl;
pub mod method_args;
#[cfg(feature = "net")]
pub mod net_args;
pub mod report;
pub mod select;
#[cfg(feature = "net")]
pub mod serve;
pub mod store_url;
pub mod toy;
pub mod tune;
pub mod values;
