//! regauth validates container-registry credentials for OpenShift clusters and
//! distributes them to nodes and to the cluster, the way the installer's
//! registry-credential plays do, but once, in parallel, atomically and without leaks.

pub mod authfile;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod exit;
pub mod interrupt;
pub mod inventory;
pub mod model;
pub mod output;
pub mod playbook;
pub mod redact;
pub mod registry;
pub mod run;
pub mod sources;
pub mod ssh;
pub mod tls;
pub mod vault;
