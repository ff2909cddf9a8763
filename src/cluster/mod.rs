//! The Kubernetes side, through kube-rs: connecting like kubectl, the installer's
//! secrets in `openshift` (created, and updated when credentials rotate), service
//! account links, image-puller grants, the global pull secret and node readiness.
//! Writes are get → compare → replace with `resourceVersion`, retried on 409, so
//! nothing is written when nothing changed and no one else's fields are lost.

mod connect;
mod error;
pub mod manifest;
mod node;
mod objects;
mod rbac;
pub mod rollout;
mod secret;
mod serviceaccount;

pub use connect::{ConnectOptions, connect, connect_with_kubeconfig_text};
pub use error::ClusterError;
pub use node::wait_node_ready;
pub use rbac::{PullerSubject, grant_image_puller};
pub use secret::{Change, Desired, SecretSpec, ensure_secret, update_secret_data};
pub use serviceaccount::{LinkMode, link_secret};

/// Label put on every object regauth manages.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "regauth");
