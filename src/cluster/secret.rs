//! Secrets: create when missing, replace when our data differs, leave alone when
//! equal (no write at all), keep every field someone else set, retry on 409.

use super::error::ClusterError;
use super::objects::{diff_masked, same_json};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use std::collections::BTreeMap;

/// What a write did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The object did not exist and was created.
    Created,
    /// The object existed and was changed.
    Updated,
    /// The object was already as wanted: nothing was sent.
    Unchanged,
}

impl Change {
    /// Ansible's word for it: `changed` or `ok`.
    pub fn word(&self) -> &'static str {
        match self {
            Change::Unchanged => "ok",
            _ => "changed",
        }
    }
}

/// The secret we want.
#[derive(Debug, Clone)]
pub struct SecretSpec {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// `kubernetes.io/dockerconfigjson` or `kubernetes.io/dockercfg`.
    pub type_: String,
    /// Data keys we own (e.g. `.dockerconfigjson`) and their bytes.
    pub data: BTreeMap<String, Vec<u8>>,
    /// Labels we set (others' labels are kept).
    pub labels: BTreeMap<String, String>,
}

const MAX_ATTEMPTS: usize = 5;

/// Makes the secret match `spec`; with `dry_run` the server validates without persisting.
/// Returns what changed and a diff with every secret value masked.
pub async fn ensure_secret(
    client: &Client,
    spec: &SecretSpec,
    dry_run: bool,
) -> Result<(Change, String), ClusterError> {
    let want = spec.data.clone();
    let labels = spec.labels.clone();
    let type_ = spec.type_.clone();
    update_secret_data(client, &spec.namespace, &spec.name, dry_run, true, move |existing| {
        let old_type = existing.as_ref().and_then(|s| s.type_.clone());
        if let Some(t) = &old_type
            && t != &type_
        {
            return Err(format!(
                "secret exists with type {t}, not {type_}: the type of a secret cannot change; delete it or pick another name"
            ));
        }
        let mut data = existing.as_ref().and_then(|s| s.data.clone()).unwrap_or_default();
        for (k, v) in &want {
            data.insert(k.clone(), ByteString(v.clone()));
        }
        Ok(Desired { type_: type_.clone(), data, labels: labels.clone() })
    })
    .await
}

/// What a mutation wants the secret to hold.
pub struct Desired {
    /// The secret's type.
    pub type_: String,
    /// All data keys.
    pub data: BTreeMap<String, ByteString>,
    /// Labels to add or overwrite.
    pub labels: BTreeMap<String, String>,
}

/// The shared get → mutate → compare → create/replace loop. `mutate` sees the
/// current object (None when missing) and returns what it should hold; `create`
/// says whether a missing secret may be created.
pub async fn update_secret_data<F>(
    client: &Client,
    namespace: &str,
    name: &str,
    dry_run: bool,
    create: bool,
    mutate: F,
) -> Result<(Change, String), ClusterError>
where
    F: Fn(&Option<Secret>) -> Result<Desired, String>,
{
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let what = format!("secret {namespace}/{name}");
    let pp = PostParams {
        dry_run,
        field_manager: Some("regauth".into()),
    };
    for _ in 0..MAX_ATTEMPTS {
        let existing = api
            .get_opt(name)
            .await
            .map_err(|e| ClusterError::from_kube(e, &what, Some(namespace)))?;
        if existing.is_none() && !create {
            return Err(ClusterError::NotFound(format!("{what} not found")));
        }
        let desired =
            mutate(&existing).map_err(|m| ClusterError::Refused(format!("{what}: {m}")))?;
        let old_data = existing
            .as_ref()
            .and_then(|s| s.data.clone())
            .unwrap_or_default();
        let diff = diff_masked(&old_data, &desired.data);
        let result = match existing {
            None => {
                let mut labels = desired.labels.clone();
                labels.insert(super::MANAGED_BY.0.into(), super::MANAGED_BY.1.into());
                let obj = Secret {
                    metadata: ObjectMeta {
                        name: Some(name.to_string()),
                        namespace: Some(namespace.to_string()),
                        labels: Some(labels),
                        ..Default::default()
                    },
                    type_: Some(desired.type_.clone()),
                    data: Some(desired.data),
                    ..Default::default()
                };
                api.create(&pp, &obj).await.map(|_| Change::Created)
            }
            Some(mut obj) => {
                let labels_ok = desired
                    .labels
                    .iter()
                    .all(|(k, v)| obj.metadata.labels.as_ref().and_then(|l| l.get(k)) == Some(v));
                let data_same = same_data(&old_data, &desired.data);
                if data_same && labels_ok {
                    return Ok((Change::Unchanged, String::new()));
                }
                let labels = obj.metadata.labels.get_or_insert_with(BTreeMap::new);
                labels.extend(desired.labels.clone());
                obj.data = Some(desired.data);
                obj.type_ = Some(desired.type_);
                // Secrets created from stringData come back as data; never send both.
                obj.string_data = None;
                api.replace(name, &pp, &obj).await.map(|_| Change::Updated)
            }
        };
        match result {
            Ok(change) => return Ok((change, diff)),
            Err(e) if ClusterError::is_conflict(&e) => {
                tracing::debug!(secret = %what, "conflict, re-reading and retrying");
                continue;
            }
            Err(e) => return Err(ClusterError::from_kube(e, &what, Some(namespace))),
        }
    }
    Err(ClusterError::Conflict(what, MAX_ATTEMPTS))
}

/// Data equal in meaning: JSON payloads compared as JSON, others as bytes.
fn same_data(a: &BTreeMap<String, ByteString>, b: &BTreeMap<String, ByteString>) -> bool {
    a.len() == b.len()
        && a.iter().all(|(k, va)| {
            b.get(k)
                .is_some_and(|vb| va.0 == vb.0 || same_json(&va.0, &vb.0))
        })
}
