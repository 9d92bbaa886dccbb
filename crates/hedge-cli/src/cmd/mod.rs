//! One module per command.

pub mod kl;
pub mod select;
pub mod toy;
