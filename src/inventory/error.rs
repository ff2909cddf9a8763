//! Inventory errors: every one names the file and, where there is one, the line.

use crate::exit::{Exit, HasExit};
use std::fmt;
use std::path::PathBuf;

/// Where a value or an error comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
}

impl Origin {
    /// An origin at a line of a file.
    pub fn at(file: impl Into<PathBuf>, line: usize) -> Self {
        Origin {
            file: file.into(),
            line: Some(line),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}", self.file.display(), l),
            None => write!(f, "{}", self.file.display()),
        }
    }
}

/// A problem with an inventory source: it could not be read, parsed or understood.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct InventoryError {
    /// Where.
    pub origin: Origin,
    /// What, and what to change.
    pub message: String,
}

impl InventoryError {
    /// An error at a place.
    pub fn new(origin: Origin, message: impl Into<String>) -> Self {
        InventoryError {
            origin,
            message: message.into(),
        }
    }
}

impl HasExit for InventoryError {
    fn exit(&self) -> Exit {
        Exit::Parse
    }
}
