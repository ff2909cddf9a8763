//! Inventory errors: every one names the file and, where there is one, the line.

use crate::exit::{Exit, HasExit};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// Where a value or an error comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file (shared: every variable of a file points at the same path).
    pub file: Arc<Path>,
    /// 1-based line, when known.
    pub line: Option<usize>,
}

impl Origin {
    /// An origin at a line of a file.
    pub fn at(file: &Path, line: usize) -> Self {
        Origin {
            file: Arc::from(file),
            line: Some(line),
        }
    }

    /// An origin at a line of an already shared path.
    pub fn shared(file: Arc<Path>, line: usize) -> Self {
        Origin {
            file,
            line: Some(line),
        }
    }

    /// A whole file, no line.
    pub fn file(file: &Path) -> Self {
        Origin {
            file: Arc::from(file),
            line: None,
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
    /// Exit 5 (bad options, e.g. a `-e` that is no mapping) instead of 4 (parse).
    usage: bool,
}

impl InventoryError {
    /// An error at a place.
    pub fn new(origin: Origin, message: impl Into<String>) -> Self {
        InventoryError {
            origin,
            message: message.into(),
            usage: false,
        }
    }

    /// An options error at a place (ansible-playbook's AnsibleOptionsError: exit 5).
    pub fn usage(origin: Origin, message: impl Into<String>) -> Self {
        InventoryError {
            usage: true,
            ..InventoryError::new(origin, message)
        }
    }
}

impl HasExit for InventoryError {
    fn exit(&self) -> Exit {
        if self.usage { Exit::Usage } else { Exit::Parse }
    }
}
