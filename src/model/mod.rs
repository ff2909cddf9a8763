//! The typed model the steps work on, built from merged inventory variables:
//! registry credentials with the installer's defaults, proxies, hosts and their
//! SSH settings. Everything downstream (validation, auth files, SSH, cluster)
//! takes these types, never raw inventory variables.

use secrecy::SecretString;
use std::fmt;

/// One registry login the inventory defines (oreg or an additional registry).
#[derive(Clone)]
pub struct RegistryCredential {
    /// Registry host, with `:port` when given (`reg.example.com:5000`); the auth-file key.
    pub host: String,
    /// Login name (`openshift` by default for additional registries).
    pub user: String,
    /// The password or token; only exposed where bytes go on the wire or into a file.
    pub password: SecretString,
    /// Whether to check the login before using it (`test_login`, default true).
    pub test_login: bool,
    /// Image used for the check, without the host: `openshift3/ose-pod:v3.11`.
    pub test_image: String,
    /// Whether to verify the registry's TLS certificate (`tls_verify`, default true).
    pub tls_verify: bool,
    /// Where it came from: `oreg_auth_user` or `openshift_additional_registry_credentials[1]`.
    pub source: String,
}

impl fmt::Debug for RegistryCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryCredential")
            .field("host", &self.host)
            .field("user", &self.user)
            .field("password", &crate::redact::MASK)
            .field("test_login", &self.test_login)
            .field("test_image", &self.test_image)
            .field("tls_verify", &self.tls_verify)
            .field("source", &self.source)
            .finish()
    }
}

/// Proxy settings for reaching registries (`openshift_http(s)_proxy`, `openshift_no_proxy`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proxies {
    /// Proxy for plain-HTTP registries.
    pub http: Option<String>,
    /// Proxy for HTTPS registries.
    pub https: Option<String>,
    /// Comma-separated hosts and domains reached directly.
    pub no_proxy: Option<String>,
}

mod build;
pub mod images;
mod templar;

pub use build::{ModelError, ansible_bool, from_inventory};
pub use templar::as_templated;

/// `openshift_deployment_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentType {
    /// OKD (`origin`): services `origin-*`.
    Origin,
    /// OpenShift Container Platform (`openshift-enterprise`): services `atomic-openshift-*`.
    Enterprise,
}

impl DeploymentType {
    /// The service prefix: `origin` or `atomic-openshift`.
    pub fn service_type(self) -> &'static str {
        match self {
            DeploymentType::Origin => "origin",
            DeploymentType::Enterprise => "atomic-openshift",
        }
    }
}

/// How to reach a host over SSH, as Ansible reads it from the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    /// Address to connect to (`ansible_host`, else the inventory name).
    pub address: String,
    /// Port (`ansible_port`, default 22).
    pub port: u16,
    /// Login user (`ansible_user`); `None` means the local user, as ssh does.
    pub user: Option<String>,
    /// Private key (`ansible_ssh_private_key_file`).
    pub key_file: Option<std::path::PathBuf>,
    /// Whether to become another user with `sudo -n` (`ansible_become`).
    pub become_: bool,
    /// Whom to become (`ansible_become_user`, default root).
    pub become_user: String,
}

/// One host of the cluster with everything the distribution steps need.
#[derive(Debug, Clone)]
pub struct HostSpec {
    /// Inventory name.
    pub name: String,
    /// How to reach it.
    pub ssh: SshTarget,
    /// `openshift_data_dir` (default `/var/lib/origin`).
    pub data_dir: String,
    /// `regauth_runtime_auth_dir` (default `/root/.docker`).
    pub runtime_auth_dir: String,
    /// `regauth_node_restart_command`.
    pub node_restart_command: String,
    /// `regauth_master_restart_command`.
    pub master_restart_command: String,
    /// The credentials this host's variables define (the last entry per registry wins in files).
    pub registries: Vec<RegistryCredential>,
    /// `openshift_node_group_name`, for readiness reporting.
    pub is_master: bool,
    /// True when the host is in the `nodes` group.
    pub is_node: bool,
}

/// The cluster as the registry-credential steps see it.
#[derive(Debug, Clone)]
pub struct ClusterModel {
    /// `openshift_deployment_type`.
    pub deployment_type: DeploymentType,
    /// Every distinct credential the inventory defines, in order (oreg first).
    pub registries: Vec<RegistryCredential>,
    /// Proxies for reaching registries from the control host.
    pub proxies: Proxies,
    /// Hosts of `nodes`, in inventory order.
    pub nodes: Vec<HostSpec>,
    /// Hosts of `masters`, in inventory order.
    pub masters: Vec<HostSpec>,
    /// `openshift_restart_nodes_serial` (default 1), as Ansible's `serial` takes it.
    pub restart_nodes_serial: crate::playbook::Serial,
}
