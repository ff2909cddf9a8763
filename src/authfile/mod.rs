//! Docker `config.json`, Podman `auth.json` and legacy `.dockercfg` credential files:
//! read them, merge one registry's credential in, and write the result safely.
//!
//! Every writer in regauth (nodes over SSH, `login`, cluster secrets) goes through
//! this module so that all of them keep what they do not own, produce the same bytes
//! for the same input and never rewrite a file whose meaning did not change.
//! The pure part ([`merge`], [`AuthFile`]) works on bytes and never touches the
//! filesystem, so a remote writer can run it on bytes it read over SSH; the local
//! effect lives in [`write`].

mod credential;
mod document;
mod error;
mod key;
mod merge;
pub mod write;

pub use credential::{Credential, StoredCredential};
pub use document::{AuthFile, Format, masked_diff, masked_json};
pub use error::{AuthFileError, ParseError};
pub use key::{RegistryKey, normalize_lookup_key};
pub use merge::{Merged, merge, merge_all};
pub use write::{Step, Target, Updated, backup_path, update_file, write_atomic};
