//! Kubernetes objects regauth builds and (later) applies.

pub mod manifest;
