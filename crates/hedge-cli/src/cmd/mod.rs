//! One module per command.

pub mod curve;
pub mod data_args;
pub mod demo;
pub mod gaussian;
pub mod kl;
pub mod select;
pub mod toy;
pub mod tune;
