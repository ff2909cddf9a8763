//! Helpers shared by integration tests: real components started on loopback.
#![allow(dead_code)] // each test crate uses a different subset

pub mod registry;
