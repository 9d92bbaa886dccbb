//! One module per command.

#[cfg(feature = "net")]
pub mod collect;
pub mod curve;
pub mod data_args;
pub mod demo;
pub mod gaussian;
pub mod info;
pub mod kl;
pub mod report;
pub mod select;
#[cfg(feature = "net")]
pub mod serve;
pub mod toy;
pub mod tune;
