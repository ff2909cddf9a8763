//! What can go wrong with an auth file, with the file and the step named.

use crate::exit::{Exit, HasExit};
use std::path::PathBuf;

/// Why some bytes are not an auth file we may merge into (no path: the pure layer has none).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not JSON at all; the message never quotes the content (it may hold secrets).
    #[error("not valid JSON: {0}")]
    NotJson(String),
    /// Valid JSON, but the top level is not an object.
    #[error("not a JSON object at the top level")]
    NotObject,
    /// `auths` is present but is neither an object nor null.
    #[error("\"auths\" is not a JSON object")]
    AuthsNotObject,
    /// A secret payload that must carry an `auths` map does not.
    #[error("no \"auths\" map (the API server rejects a dockerconfigjson secret without one)")]
    MissingAuths,
}

/// Errors of the auth-file layer, each naming what the user can fix.
#[derive(Debug, thiserror::Error)]
pub enum AuthFileError {
    /// The existing file is not an auth file; it was left untouched.
    #[error("{path}: {reason}; refusing to overwrite it (fix or remove the file first)")]
    Refused {
        /// The file that was refused.
        path: PathBuf,
        /// What is wrong with it.
        reason: ParseError,
    },
    /// The file exists but could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's answer.
        source: std::io::Error,
    },
    /// A step of the safe write failed; the file is still whole (old or new).
    #[error("writing {path}: {step} failed: {source}")]
    Write {
        /// The file being written.
        path: PathBuf,
        /// The step that failed.
        step: super::write::Step,
        /// The operating system's answer.
        source: std::io::Error,
    },
    /// The registry given is not usable as an auth-file key.
    #[error("invalid registry {input:?}: {reason}")]
    InvalidKey {
        /// What the user gave.
        input: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// The credential cannot be written so that tools read it back correctly.
    #[error("invalid credential: {0}")]
    InvalidCredential(&'static str),
    /// Bytes that are not an auth file, where no file is involved.
    #[error(transparent)]
    Parse(#[from] ParseError),
}

impl HasExit for AuthFileError {
    fn exit(&self) -> Exit {
        match self {
            AuthFileError::InvalidKey { .. } | AuthFileError::InvalidCredential(_) => Exit::Usage,
            _ => Exit::Failed,
        }
    }
}
