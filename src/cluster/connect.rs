//! Connecting as kubectl does: `--kubeconfig`, else `KUBECONFIG` (merged), else
//! `~/.kube/config`, else the in-cluster service account; `--context` picks one.

use super::error::ClusterError;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use std::path::PathBuf;

/// Where the kubeconfig comes from.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// `--kubeconfig FILE`.
    pub kubeconfig: Option<PathBuf>,
    /// `--context NAME`.
    pub context: Option<String>,
}

impl ConnectOptions {
    /// True when the user named a kubeconfig, or one exists where kubectl looks.
    pub fn is_configured(&self) -> bool {
        self.kubeconfig.is_some()
            || std::env::var_os("KUBECONFIG").is_some_and(|v| !v.is_empty())
            || home_kubeconfig().is_some_and(|p| p.is_file())
            || std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
    }
}

fn home_kubeconfig() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube").join("config"))
}

/// Builds a client the way kubectl finds its configuration.
pub async fn connect(opts: &ConnectOptions) -> Result<(Client, String), ClusterError> {
    let kopts = KubeConfigOptions {
        context: opts.context.clone(),
        ..Default::default()
    };
    let config = if let Some(path) = &opts.kubeconfig {
        let kc = Kubeconfig::read_from(path)
            .map_err(|e| ClusterError::Kubeconfig(format!("{}: {e}", path.display())))?;
        Config::from_custom_kubeconfig(kc, &kopts)
            .await
            .map_err(|e| ClusterError::Kubeconfig(format!("{}: {e}", path.display())))?
    } else if std::env::var_os("KUBECONFIG").is_some_and(|v| !v.is_empty())
        || home_kubeconfig().is_some_and(|p| p.is_file())
    {
        Config::from_kubeconfig(&kopts)
            .await
            .map_err(|e| ClusterError::Kubeconfig(e.to_string()))?
    } else {
        Config::incluster().map_err(|e| {
            ClusterError::Kubeconfig(format!(
                "no kubeconfig found (--kubeconfig, KUBECONFIG, ~/.kube/config) and not running in a pod: {e}"
            ))
        })?
    };
    finish(config)
}

/// Builds a client from kubeconfig text held in memory (the masters' admin.kubeconfig).
pub async fn connect_with_kubeconfig_text(
    text: &str,
    context: Option<String>,
) -> Result<(Client, String), ClusterError> {
    let kc = Kubeconfig::from_yaml(text).map_err(|e| ClusterError::Kubeconfig(e.to_string()))?;
    let kopts = KubeConfigOptions {
        context,
        ..Default::default()
    };
    let config = Config::from_custom_kubeconfig(kc, &kopts)
        .await
        .map_err(|e| ClusterError::Kubeconfig(e.to_string()))?;
    finish(config)
}

fn finish(mut config: Config) -> Result<(Client, String), ClusterError> {
    crate::tls::install_default_provider();
    let server = config.cluster_url.to_string();
    // Fail fast on a dead API server rather than hang a whole run.
    config.connect_timeout = Some(std::time::Duration::from_secs(10));
    config.read_timeout = Some(std::time::Duration::from_secs(30));
    let client = Client::try_from(config).map_err(|e| ClusterError::Kubeconfig(e.to_string()))?;
    Ok((client, server))
}
