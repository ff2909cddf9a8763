//! `regauth secret create|render|link`: registry-credential Secrets, printed
//! (client dry run, render) or applied to a cluster (create, link).

use crate::authfile::{AuthFileError, Credential};
use crate::cluster::manifest::{ManifestError, SecretManifest};
use crate::exit::{Exit, Failure, HasExit};
use crate::output::Output;
use secrecy::SecretString;
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
}

impl HasExit for SecretError {
    fn exit(&self) -> Exit {
        match self {
            SecretError::Credential(e) => e.exit(),
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
            Ok(SecretManifest::docker_registry(
                &settings.name,
                ns,
                server,
                &credential,
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
}

/// Prints the installer's secrets for an inventory as a YAML stream.
pub fn render(settings: &RenderSettings, out: &Output) -> Result<Exit, Failure> {
    let inv = crate::inventory::load(&settings.load).map_err(Failure::from_err)?;
    for w in inv.warnings() {
        out.warn(w);
    }
    let model = crate::model::from_inventory(&inv).map_err(Failure::from_err)?;
    let manifests =
        crate::cluster::manifest::installer_secrets(&model.registries, &settings.namespace)
            .map_err(Failure::from_err)?;
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
