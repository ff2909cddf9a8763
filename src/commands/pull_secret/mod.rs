//! `regauth pull-secret update`: the OpenShift 4 global pull secret
//! (`openshift-config/pull-secret`), appended to or replaced, with a masked diff.

use crate::authfile::{AuthFile, Credential, Format, RegistryKey};
use crate::cluster::ConnectOptions;
use crate::cluster::Desired;
use crate::exit::{Exit, Failure};
use crate::output::Output;
use k8s_openapi::ByteString;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

const NAMESPACE: &str = "openshift-config";
const NAME: &str = "pull-secret";
const KEY: &str = ".dockerconfigjson";

/// Where the new entries come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Every entry of an auth file.
    File(PathBuf),
    /// One registry, the password on standard input.
    Registry {
        /// Registry, optionally with a repository path.
        registry: String,
        /// User name.
        username: String,
    },
}

/// Settings for `regauth pull-secret update`.
#[derive(Debug, Clone)]
pub struct UpdateSettings {
    /// The new entries.
    pub source: Source,
    /// Make them the whole pull secret instead of merging.
    pub replace: bool,
    /// Diff and server-side validation only.
    pub dry_run: bool,
    /// Cluster access.
    pub kube: ConnectOptions,
}

/// Runs `regauth pull-secret update`.
pub fn update(
    settings: &UpdateSettings,
    out: &Output,
    stdin: &mut dyn Read,
) -> Result<Exit, Failure> {
    let entries = new_entries(&settings.source, stdin)?;
    let replace = settings.replace;
    super::block_on(async {
        let (client, _) = crate::cluster::connect(&settings.kube)
            .await
            .map_err(Failure::from_err)?;
        let (change, diff) = crate::cluster::update_secret_data(
            &client,
            NAMESPACE,
            NAME,
            settings.dry_run,
            false,
            |cur| {
                let old = cur
                    .as_ref()
                    .and_then(|s| s.data.as_ref())
                    .and_then(|d| d.get(KEY))
                    .map(|b| b.0.clone());
                let bytes = merged(old.as_deref(), &entries, replace)?;
                let mut data = cur
                    .as_ref()
                    .and_then(|s| s.data.clone())
                    .unwrap_or_default();
                data.insert(KEY.to_string(), ByteString(bytes));
                Ok(Desired {
                    type_: cur
                        .as_ref()
                        .and_then(|s| s.type_.clone())
                        .unwrap_or_else(|| "kubernetes.io/dockerconfigjson".into()),
                    data,
                    labels: BTreeMap::new(),
                })
            },
        )
        .await
        .map_err(Failure::from_err)?;
        if settings.dry_run || out.format() == crate::output::Format::Json {
            super::report_change(
                out,
                "secret",
                NAMESPACE,
                NAME,
                &change,
                settings.dry_run,
                &diff,
            );
        } else {
            super::report_change(out, "secret", NAMESPACE, NAME, &change, false, "");
        }
        Ok(Exit::Ok)
    })
}

/// The `auths` entries to put in, as JSON values keyed by registry.
fn new_entries(
    source: &Source,
    stdin: &mut dyn Read,
) -> Result<serde_json::Map<String, serde_json::Value>, Failure> {
    match source {
        Source::File(path) => {
            let bytes = std::fs::read(path).map_err(|e| {
                Failure::new(Exit::Failed, format!("reading {}: {e}", path.display()))
            })?;
            let file = AuthFile::parse(&bytes).map_err(|e| {
                Failure::new(
                    Exit::Failed,
                    format!("{}: not a registry credential file: {e}", path.display()),
                )
            })?;
            let auths = file.auths().cloned().unwrap_or_default();
            if auths.is_empty() {
                return Err(Failure::new(
                    Exit::Failed,
                    format!("{}: holds no registry entries", path.display()),
                ));
            }
            Ok(auths)
        }
        Source::Registry { registry, username } => {
            let mut pw = String::new();
            stdin.read_to_string(&mut pw).map_err(|e| {
                Failure::new(
                    Exit::Failed,
                    format!("reading the password from standard input: {e}"),
                )
            })?;
            let pw = pw
                .strip_suffix('\n')
                .map(|p| p.strip_suffix('\r').unwrap_or(p))
                .unwrap_or(&pw)
                .to_string();
            let key = RegistryKey::parse(registry).map_err(Failure::from_err)?;
            let cred = Credential::new(username.clone(), SecretString::from(pw), None)
                .map_err(Failure::from_err)?;
            let merged = crate::authfile::merge(None, Format::Config, &key, &cred)
                .map_err(|e| Failure::new(Exit::Failed, e.to_string()))?;
            let file = AuthFile::parse(&merged.bytes)
                .map_err(|e| Failure::new(Exit::Unexpected, e.to_string()))?;
            Ok(file.auths().cloned().unwrap_or_default())
        }
    }
}

/// The new pull secret: the old one with these entries set (every other entry
/// kept), or only these entries.
fn merged(
    old: Option<&[u8]>,
    entries: &serde_json::Map<String, serde_json::Value>,
    replace: bool,
) -> Result<Vec<u8>, String> {
    let mut root = match (old, replace) {
        (Some(bytes), false) => match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => {
                return Err(
                    "the current pull secret is not valid JSON: fix or --replace it".into(),
                );
            }
        },
        _ => serde_json::Map::new(),
    };
    let auths = root
        .entry("auths")
        .or_insert_with(|| serde_json::Value::Object(Default::default()));
    let Some(auths) = auths.as_object_mut() else {
        return Err("the current pull secret's auths is not a map: fix or --replace it".into());
    };
    for (k, v) in entries {
        auths.insert(k.clone(), v.clone());
    }
    serde_json::to_vec(&serde_json::Value::Object(root)).map_err(|e| e.to_string())
}
