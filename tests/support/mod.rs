//! Real components the tests start on loopback (killed on drop).
#![allow(dead_code)] // each test crate uses a different subset

pub mod apiserver;
pub mod registry;
