//! The one map from outcomes to process exit codes, matching ansible-playbook's.

use std::process::ExitCode;

/// Process exit statuses, as ansible-playbook uses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Everything succeeded.
    Ok = 0,
    /// A host, registry or step failed.
    Failed = 2,
    /// A host was unreachable.
    Unreachable = 3,
    /// The inventory or playbook could not be parsed.
    Parse = 4,
    /// Bad command-line options.
    Usage = 5,
    /// Interrupted by the user (SIGINT).
    Interrupted = 99,
    /// An unexpected error.
    Unexpected = 250,
}

impl Exit {
    /// The numeric code handed to the operating system.
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e.code())
    }
}

/// Errors that know which exit code they deserve.
pub trait HasExit {
    /// The exit code this error ends the run with.
    fn exit(&self) -> Exit;
}

/// A command's failure: a message for the user and the exit code it maps to.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    /// What went wrong, in one sentence a person can act on.
    pub message: String,
    /// The exit code to end with.
    pub exit: Exit,
}

impl Failure {
    /// A failure with an explicit exit code.
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            exit,
        }
    }

    /// Wraps any error that knows its exit code.
    pub fn from_err<E: HasExit + std::fmt::Display>(e: E) -> Self {
        Failure {
            message: e.to_string(),
            exit: e.exit(),
        }
    }
}

impl HasExit for Failure {
    fn exit(&self) -> Exit {
        self.exit
    }
}
