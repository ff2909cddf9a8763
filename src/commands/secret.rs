//! `regauth secret create`: build a registry-credential Secret and print it
//! (client-side dry run); applying it to a cluster comes with the cluster layer.

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
    /// `--dry-run` (client side).
    pub dry_run: bool,
    /// Output format.
    pub format: ManifestFormat,
}

/// Why `secret create` failed.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Without `--dry-run` a cluster is needed.
    #[error(
        "secret create without --dry-run needs a cluster: not built yet (use --dry-run to print the manifest)"
    )]
    NeedsCluster,
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
    if !settings.dry_run {
        return Err(Failure::from_err(SecretError::NeedsCluster));
    }
    let manifest = build(settings, stdin).map_err(Failure::from_err)?;
    out.data(&match settings.format {
        ManifestFormat::Yaml => manifest.to_yaml(),
        ManifestFormat::Json => manifest.to_json(),
    });
    Ok(Exit::Ok)
}
