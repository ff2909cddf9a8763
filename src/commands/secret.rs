//! `regauth secret create|render|link`: registry-credential Secrets, printed
//! (client dry run, render) or applied to a cluster (create, link).

use crate::authfile::{AuthFileError, Credential, RegistryKey};
use crate::cluster::manifest::{ManifestError, SecretManifest};
use crate::exit::{Exit, Failure, HasExit};
use crate::output::Output;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

/// Where the credential comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// `--from-file F`: an auth file taken verbatim.
    File(PathBuf),
    /// `--docker-server/--docker-username/--password-stdin/--docker-email`.
    Flags {
        /// The server key.
        server: String,
        /// The user name.
        username: String,
        /// The e-mail, if any.
        email: Option<String>,
    },
}

/// How to print the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestFormat {
    /// As `kubectl -o yaml`.
    Yaml,
    /// As `kubectl -o json`.
    Json,
}

/// Validated settings for `regauth secret create`.
#[derive(Debug, Clone)]
pub struct SecretCreateSettings {
    /// Secret name.
    pub name: String,
    /// Namespace, if given.
    pub namespace: Option<String>,
    /// Credential source.
    pub source: SecretSource,
    /// Print only, ask the server, or apply.
    pub mode: ApplyMode,
    /// Cluster access, for the server modes.
    pub kube: crate::cluster::ConnectOptions,
    /// Output format.
    pub format: ManifestFormat,
    /// `--include-auth-host`: also an entry for the server's token-service host.
    pub auth_host: AuthHostLookup,
}

/// `--include-auth-host` and how to ask the registries (`--certs-dir`).
#[derive(Debug, Clone, Default)]
pub struct AuthHostLookup {
    /// Whether to add the token-service host's entry at all.
    pub include: bool,
    /// `--certs-dir` instead of /etc/containers/certs.d and /etc/docker/certs.d.
    pub certs_dir: Option<PathBuf>,
}

/// Learns, for each `(registry host, tls_verify)`, the host its token service lives on
/// when that is another host: registry host → `HOST[:PORT]` of the realm. All are
/// asked at once; any failure fails the whole lookup, since a secret silently lacking
/// the entry is what the flag exists to prevent.
pub fn lookup_auth_hosts(
    hosts: &[(String, bool)],
    proxies: crate::model::Proxies,
    lookup: &AuthHostLookup,
) -> Result<BTreeMap<String, String>, Failure> {
    let opts = crate::registry::CheckOptions {
        trust: crate::registry::Trust::new(lookup.certs_dir.clone()),
        proxies,
        ..Default::default()
    };
    super::block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for (host, tls_verify) in hosts.iter().cloned() {
            let opts = opts.clone();
            set.spawn(async move {
                let found = crate::registry::auth_host(&host, tls_verify, &opts).await;
                (host, found)
            });
        }
        let mut out = BTreeMap::new();
        while let Some(joined) = set.join_next().await {
            let (host, found) = joined.map_err(|e| {
                Failure::new(Exit::Unexpected, format!("token host lookup panicked: {e}"))
            })?;
            match found {
                Ok(Some(auth)) => {
                    out.insert(host, auth);
                }
                Ok(None) => {}
                Err(v) => {
                    return Err(Failure::new(
                        Exit::Failed,
                        format!(
                            "cannot learn where {host} authenticates: {} ({}); drop --include-auth-host to go without",
                            v.message, v.reason
                        ),
                    ));
                }
            }
        }
        Ok(out)
    })
}

/// What to do with an object: kubectl's `--dry-run=client|server|none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyMode {
    /// Print it; contact no cluster.
    Client,
    /// Let the API server validate it without persisting.
    Server,
    /// Apply it.
    Apply,
}

/// Why `secret create` failed.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The source file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's answer.
        source: std::io::Error,
    },
    /// The source file is not a credential file.
    #[error("{path}: {source}")]
    NotAuthFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: ManifestError,
    },
    /// Standard input could not be read.
    #[error("reading the password from standard input: {0}")]
    Stdin(std::io::Error),
    /// The credential is unusable.
    #[error(transparent)]
    Credential(#[from] AuthFileError),
    /// `--include-auth-host` could not learn the token-service host.
    #[error("{}", .0.message)]
    AuthHost(Failure),
}

impl HasExit for SecretError {
    fn exit(&self) -> Exit {
        match self {
            SecretError::Credential(e) => e.exit(),
            SecretError::AuthHost(f) => f.exit,
            _ => Exit::Failed,
        }
    }
}

/// Builds the manifest the settings describe (reads the file or stdin).
pub fn build(
    settings: &SecretCreateSettings,
    stdin: &mut dyn Read,
) -> Result<SecretManifest, SecretError> {
    let ns = settings.namespace.as_deref();
    match &settings.source {
        SecretSource::File(path) => {
            let bytes = std::fs::read(path).map_err(|source| SecretError::Read {
                path: path.clone(),
                source,
            })?;
            SecretManifest::from_file_bytes(&settings.name, ns, &bytes).map_err(|source| {
                SecretError::NotAuthFile {
                    path: path.clone(),
                    source,
                }
            })
        }
        SecretSource::Flags {
            server,
            username,
            email,
        } => {
            let mut buf = String::new();
            stdin.read_to_string(&mut buf).map_err(SecretError::Stdin)?;
            if buf.ends_with('\n') {
                buf.pop();
                if buf.ends_with('\r') {
                    buf.pop();
                }
            }
            let credential =
                Credential::new(username.clone(), SecretString::from(buf), email.clone())?;
            let mut entries = vec![(server.as_str(), &credential)];
            let auth_hosts = if settings.auth_host.include {
                // The key may be a URL or carry a path (kubectl keeps it verbatim): ask its host.
                let host = RegistryKey::parse(server)?.host().to_string();
                lookup_auth_hosts(
                    &[(host.clone(), true)],
                    Default::default(),
                    &settings.auth_host,
                )
                .map_err(SecretError::AuthHost)?
                .remove(&host)
            } else {
                None
            };
            if let Some(auth) = &auth_hosts {
                entries.push((auth.as_str(), &credential));
            }
            Ok(SecretManifest::docker_registry_multi(
                &settings.name,
                ns,
                &entries,
            ))
        }
    }
}

/// Runs `regauth secret create`.
pub fn run(
    settings: &SecretCreateSettings,
    out: &Output,
    stdin: &mut dyn Read,
) -> Result<Exit, Failure> {
    let manifest = build(settings, stdin).map_err(Failure::from_err)?;
    if settings.mode == ApplyMode::Client {
        out.data(&match settings.format {
            ManifestFormat::Yaml => manifest.to_yaml(),
            ManifestFormat::Json => manifest.to_json(),
        });
        return Ok(Exit::Ok);
    }
    let dry = settings.mode == ApplyMode::Server;
    super::block_on(async {
        let (client, ns) = super::connect_in(&settings.kube, settings.namespace.as_deref()).await?;
        let spec = manifest.to_spec(&ns);
        let (change, diff) = crate::cluster::ensure_secret(&client, &spec, dry)
            .await
            .map_err(Failure::from_err)?;
        super::report_change(out, "secret", &ns, &spec.name, &change, dry, &diff);
        Ok(Exit::Ok)
    })
}

/// Settings for `regauth secret render`.
#[derive(Debug, Clone)]
pub struct RenderSettings {
    /// The inventory to read.
    pub load: crate::inventory::LoadOptions,
    /// Namespace of the secrets.
    pub namespace: String,
    /// `--include-auth-host`: ask each registry where it authenticates.
    pub auth_host: AuthHostLookup,
    /// A YAML stream, or (`-o json`) kubectl's v1 `List`.
    pub format: ManifestFormat,
}

/// Prints the installer's secrets for an inventory as a YAML stream or a JSON `List`.
pub fn render(settings: &RenderSettings, out: &Output) -> Result<Exit, Failure> {
    let inv = crate::inventory::load(&settings.load).map_err(Failure::from_err)?;
    for w in inv.warnings() {
        out.warn(w);
    }
    let model = crate::model::from_inventory(&inv).map_err(Failure::from_err)?;
    // Without the flag, render stays offline.
    let auth_hosts = if settings.auth_host.include {
        let mut hosts: Vec<(String, bool)> = model
            .registries
            .iter()
            .map(|r| (r.host.clone(), r.tls_verify))
            .collect();
        hosts.sort();
        hosts.dedup();
        lookup_auth_hosts(&hosts, model.proxies.clone(), &settings.auth_host)?
    } else {
        BTreeMap::new()
    };
    let manifests = crate::cluster::manifest::installer_secrets_with_auth_hosts(
        &model.registries,
        &settings.namespace,
        &auth_hosts,
    )
    .map_err(Failure::from_err)?;
    if settings.format == ManifestFormat::Json {
        out.data(&crate::cluster::manifest::list_json(&manifests));
        return Ok(Exit::Ok);
    }
    let docs: Vec<String> = manifests.iter().map(|m| m.to_yaml()).collect();
    if !docs.is_empty() {
        out.data(&docs.join("---\n"));
    }
    Ok(Exit::Ok)
}

/// Settings for `regauth secret link`.
#[derive(Debug, Clone)]
pub struct LinkSettings {
    /// The service account.
    pub service_account: String,
    /// The secret.
    pub secret: String,
    /// Namespace, else the context's.
    pub namespace: Option<String>,
    /// Lists to add it to.
    pub modes: Vec<crate::cluster::LinkMode>,
    /// Server-side dry run.
    pub dry_run: bool,
    /// Cluster access.
    pub kube: crate::cluster::ConnectOptions,
}

/// Runs `regauth secret link`.
pub fn link(settings: &LinkSettings, out: &Output) -> Result<Exit, Failure> {
    super::block_on(async {
        let (client, ns) = super::connect_in(&settings.kube, settings.namespace.as_deref()).await?;
        let change = crate::cluster::link_secret(
            &client,
            &ns,
            &settings.service_account,
            &settings.secret,
            &settings.modes,
            settings.dry_run,
        )
        .await
        .map_err(Failure::from_err)?;
        super::report_change(
            out,
            "serviceaccount",
            &ns,
            &settings.service_account,
            &change,
            settings.dry_run,
            "",
        );
        Ok(Exit::Ok)
    })
}
