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
