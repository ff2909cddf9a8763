//! `regauth pull-secret update`: the OpenShift 4 global pull secret
//! (`openshift-config/pull-secret`), appended to or replaced, with a masked diff:
//! new or changed credentials checked first (as `login`), nothing written when one
//! fails; with `--wait`, the Machine Config Operator's rollout followed to the end.

mod check;
mod wait;

pub use crate::cluster::rollout::WaitOptions;
pub use check::CheckSettings;

use crate::authfile::{AuthFile, Credential, RegistryKey};
use crate::cluster::rollout;
use crate::cluster::{Change, ConnectOptions, Desired};
use crate::exit::{Exit, Failure};
use crate::output::{Format, Output};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
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
    /// Check new or changed credentials first; None is `--skip-check`.
    pub check: Option<CheckSettings>,
    /// `--wait`: follow the rollout afterwards.
    pub wait: Option<WaitOptions>,
    /// Cluster access.
    pub kube: ConnectOptions,
}

/// Runs `regauth pull-secret update`.
pub fn update(
    settings: &UpdateSettings,
    out: &Output,
    stdin: &mut dyn Read,
) -> Result<Exit, Failure> {
    let (entries, origin) = new_entries(&settings.source, stdin)?;
    if settings.check.is_some() {
        check::refuse_unusable(&entries, &origin)?;
    }
    super::block_on(async {
        let (client, _) = crate::cluster::connect(&settings.kube)
            .await
            .map_err(Failure::from_err)?;
        let mut doc = Report::default();
        let checked = match &settings.check {
            Some(cs) => {
                let current = current_auths(&client).await?;
                let keys = check::changed_keys(current.as_ref(), &entries);
                doc.checks = check::check_all(&entries, &keys, cs).await;
                report_checks(out, &doc.checks);
                let failed: Vec<String> = doc
                    .checks
                    .iter()
                    .filter(|c| !c.passed())
                    .map(|c| format!("{} ({}): {}: {}", c.registry, c.user, c.reason, c.message))
                    .collect();
                if !failed.is_empty() {
                    doc.result = "refused";
                    doc.print(out);
                    return Err(Failure::new(
                        Exit::Failed,
                        format!(
                            "refused, nothing written to secret {NAMESPACE}/{NAME}: {} (fix the credential, or --skip-check to write it anyway)",
                            failed.join("; ")
                        ),
                    ));
                }
                Some(keys)
            }
            None => None,
        };
        let before = match settings.wait {
            Some(_) => Some(
                rollout::snapshot(&client)
                    .await
                    .map_err(Failure::from_err)?,
            ),
            None => None,
        };
        let (change, diff) = write(&client, settings, &entries, checked.as_deref()).await?;
        doc.result = change_word(&change);
        doc.changed = change != Change::Unchanged;
        doc.dry_run = settings.dry_run;
        doc.diff = if settings.dry_run || out.format() == Format::Json {
            diff
        } else {
            String::new()
        };
        if out.format() == Format::Text {
            super::report_change(
                out,
                "secret",
                NAMESPACE,
                NAME,
                &change,
                settings.dry_run,
                &doc.diff,
            );
        }
        let (Some(opts), Some(before)) = (settings.wait, before) else {
            doc.print(out);
            return Ok(Exit::Ok);
        };
        if change == Change::Unchanged {
            out.status("the pull secret did not change: there is no rollout to wait for");
            doc.rollout = Some(wait::RolloutReport::unchanged());
            doc.print(out);
            return Ok(Exit::Ok);
        }
        let outcome = wait::follow(&client, &before, opts, out).await;
        doc.rollout = Some(outcome.report());
        doc.print(out);
        match outcome.failure {
            None => Ok(Exit::Ok),
            Some(f) => Err(f),
        }
    })
}

/// The single JSON document of a run (`-o json`).
#[derive(Debug, Default, serde::Serialize)]
struct Report {
    kind: &'static str,
    namespace: &'static str,
    name: &'static str,
    result: &'static str,
    changed: bool,
    dry_run: bool,
    diff: String,
    checks: Vec<check::Checked>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rollout: Option<wait::RolloutReport>,
}

impl Report {
    fn print(&mut self, out: &Output) {
        if out.format() == Format::Json {
            self.kind = "secret";
            self.namespace = NAMESPACE;
            self.name = NAME;
            out.json(&serde_json::to_value(&*self).unwrap_or_default());
        }
    }
}

fn change_word(change: &Change) -> &'static str {
    match change {
        Change::Created => "created",
        Change::Updated => "configured",
        Change::Unchanged => "unchanged",
    }
}

/// One stderr line per checked credential, as `validate` prints them.
fn report_checks(out: &Output, checks: &[check::Checked]) {
    if out.format() == Format::Json {
        return;
    }
    // The message names the user already ("alice logged in to …").
    for c in checks {
        out.status(&format!(
            "{} {} {}{} ({} ms)",
            super::status_word_err(out, c.status),
            c.registry,
            super::reason_prefix(c.status, c.reason),
            c.message,
            c.duration_ms
        ));
    }
}

/// The current pull secret's `auths`, None when it has none or is not JSON.
async fn current_auths(
    client: &kube::Client,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>, Failure> {
    let api: kube::Api<Secret> = kube::Api::namespaced(client.clone(), NAMESPACE);
    let secret = api.get_opt(NAME).await.map_err(|e| {
        Failure::from_err(crate::cluster::ClusterError::from_kube(
            e,
            &format!("secret {NAMESPACE}/{NAME}"),
            Some(NAMESPACE),
        ))
    })?;
    Ok(auths_of(secret.as_ref()))
}

fn auths_of(secret: Option<&Secret>) -> Option<serde_json::Map<String, serde_json::Value>> {
    let bytes = secret?.data.as_ref()?.get(KEY)?;
    AuthFile::parse(&bytes.0).ok()?.auths().cloned()
}

/// Merges the entries in and writes (or dry-runs) the secret. When the entries were
/// checked, a credential that was unchanged (so not checked) must still be unchanged
/// at write time: someone may have rotated it in between.
async fn write(
    client: &kube::Client,
    settings: &UpdateSettings,
    entries: &serde_json::Map<String, serde_json::Value>,
    checked: Option<&[String]>,
) -> Result<(Change, String), Failure> {
    let replace = settings.replace;
    crate::cluster::update_secret_data(client, NAMESPACE, NAME, settings.dry_run, false, |cur| {
        if let Some(checked) = checked {
            let now = check::changed_keys(auths_of(cur.as_ref()).as_ref(), entries);
            if let Some(k) = now.iter().find(|k| !checked.contains(k)) {
                return Err(format!(
                    "the entry for {k} changed while the others were being checked: run again"
                ));
            }
        }
        let old = cur
            .as_ref()
            .and_then(|s| s.data.as_ref())
            .and_then(|d| d.get(KEY))
            .map(|b| b.0.clone());
        let bytes = merged(old.as_deref(), entries, replace)?;
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
    })
    .await
    .map_err(Failure::from_err)
}

/// The `auths` entries to put in, as JSON values keyed by registry.
fn new_entries(
    source: &Source,
    stdin: &mut dyn Read,
) -> Result<(serde_json::Map<String, serde_json::Value>, String), Failure> {
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
            Ok((auths, path.display().to_string()))
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
            let merged = crate::authfile::merge(None, crate::authfile::Format::Config, &key, &cred)
                .map_err(|e| Failure::new(Exit::Failed, e.to_string()))?;
            let file = AuthFile::parse(&merged.bytes)
                .map_err(|e| Failure::new(Exit::Unexpected, e.to_string()))?;
            Ok((
                file.auths().cloned().unwrap_or_default(),
                "--registry".into(),
            ))
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
