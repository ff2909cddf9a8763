//! Cluster errors, each a one-line message saying what to do.

use crate::exit::{Exit, HasExit};

/// A failure talking to the cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No usable kubeconfig.
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
    /// The API server did not answer.
    #[error(
        "cannot reach the API server at {server}: {detail} (check the kubeconfig's server address, or skip this step with --skip-tags cluster)"
    )]
    Unreachable {
        /// The server URL.
        server: String,
        /// What happened.
        detail: String,
    },
    /// The credentials were refused (expired token, wrong certificate).
    #[error(
        "the API server refused our credentials (401): log in again (oc login / a fresh token) and retry"
    )]
    Unauthorized,
    /// RBAC said no.
    #[error("forbidden: {0} (ask a cluster admin for this right, or use a kubeconfig with it)")]
    Forbidden(String),
    /// The namespace is missing.
    #[error(
        "namespace {0} does not exist: create it first (oc new-project {0} / kubectl create namespace {0})"
    )]
    NamespaceMissing(String),
    /// The object the command works on is missing.
    #[error("{0}")]
    NotFound(String),
    /// The server rejected the object.
    #[error("the API server rejected {what}: {message}")]
    Invalid {
        /// Which object.
        what: String,
        /// The server's message.
        message: String,
    },
    /// Concurrent writers kept winning.
    #[error(
        "{0}: still conflicting after {1} attempts, someone else keeps changing it; retry later"
    )]
    Conflict(String, usize),
    /// Anything else the server said.
    #[error("API error on {what}: {message} ({code})")]
    Api {
        /// Which object.
        what: String,
        /// The server's message.
        message: String,
        /// HTTP status.
        code: u16,
    },
    /// An existing object we cannot take over.
    #[error("{0}")]
    Refused(String),
}

impl HasExit for ClusterError {
    fn exit(&self) -> Exit {
        match self {
            ClusterError::Kubeconfig(_) => Exit::Usage,
            ClusterError::Unreachable { .. } => Exit::Unreachable,
            _ => Exit::Failed,
        }
    }
}

impl ClusterError {
    /// Maps a kube error for an operation on `what` in namespace `ns`.
    pub(crate) fn from_kube(e: kube::Error, what: &str, ns: Option<&str>) -> Self {
        match e {
            kube::Error::Api(status) => {
                let code = status.code;
                let message = status.message.clone();
                match code {
                    401 => ClusterError::Unauthorized,
                    403 => ClusterError::Forbidden(message),
                    404 if status
                        .details
                        .as_ref()
                        .is_some_and(|d| d.kind == "namespaces") =>
                    {
                        ClusterError::NamespaceMissing(ns.unwrap_or_default().to_string())
                    }
                    404 => ClusterError::NotFound(format!("{what} not found: {message}")),
                    422 => ClusterError::Invalid {
                        what: what.to_string(),
                        message,
                    },
                    _ => ClusterError::Api {
                        what: what.to_string(),
                        message,
                        code,
                    },
                }
            }
            kube::Error::HyperError(err) => ClusterError::Unreachable {
                server: String::new(),
                detail: err.to_string(),
            },
            kube::Error::Service(err) => ClusterError::Unreachable {
                server: String::new(),
                detail: flatten(&*err),
            },
            other => ClusterError::Api {
                what: what.to_string(),
                message: other.to_string(),
                code: 0,
            },
        }
    }

    /// True for a 409 Conflict or AlreadyExists (someone wrote first: re-read and retry).
    pub(crate) fn is_conflict(e: &kube::Error) -> bool {
        matches!(e, kube::Error::Api(s) if s.code == 409)
    }
}

/// The error with its causes, since hyper's top-level message alone says little.
fn flatten(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}
