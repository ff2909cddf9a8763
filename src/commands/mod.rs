//! One module per command: each takes validated settings (never clap types),
//! does its work through the domain modules and returns an exit status.

pub mod inventory;
pub mod validate;
