//! `--from-cluster`: the global pull secret `openshift-config/pull-secret` (what CRI-O
//! pulls with on every node), the dockerconfigjson/dockercfg Secrets of `-n` namespaces
//! or of all of them, and the mirror objects CRI-O's registries.conf is rendered from:
//! ImageContentSourcePolicy (operator.openshift.io/v1alpha1), ImageDigestMirrorSet and
//! ImageTagMirrorSet (config.openshift.io/v1). A cluster without one of those kinds
//! (plain Kubernetes) simply has no mirrors of it.

use super::mirrors::{MirrorSet, Mirrors, PullFrom};
use super::{Loaded, Namespaces, TestImages, authfile};
use crate::authfile::{AuthFile, Format};
use crate::cluster::{ClusterError, ConnectOptions};
use crate::exit::Failure;
use crate::registry::{Entry, Reason, Verdict};
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};

const GLOBAL_NS: &str = "openshift-config";
const GLOBAL_NAME: &str = "pull-secret";

/// Connects and reads everything `validate --from-cluster` checks.
pub async fn load(
    kube: &ConnectOptions,
    namespaces: &Namespaces,
    tests: &mut TestImages,
) -> Result<Loaded, Failure> {
    let (client, _) = crate::cluster::connect(kube)
        .await
        .map_err(Failure::from_err)?;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), GLOBAL_NS);
    let global = secrets
        .get(GLOBAL_NAME)
        .await
        .map_err(|e| {
            ClusterError::from_kube(
                e,
                &format!("secret {GLOBAL_NS}/{GLOBAL_NAME}"),
                Some(GLOBAL_NS),
            )
        })
        .map_err(Failure::from_err)?;
    let mut entries = Vec::new();
    let pull_secret = match secret_file(&global) {
        Ok(f) => {
            entries.extend(authfile::entries(&f, &source_of(&global), tests));
            Some(f)
        }
        Err(e) => {
            entries.push(broken(&global, e));
            None
        }
    };
    let others: Vec<Secret> = match namespaces {
        Namespaces::All => list(Api::all(client.clone()), None).await?,
        Namespaces::Some(list_of) => {
            let mut all = Vec::new();
            for ns in list_of {
                all.extend(list(Api::namespaced(client.clone(), ns), Some(ns)).await?);
            }
            all
        }
    };
    for s in others
        .iter()
        .filter(|s| is_registry_secret(s) && !is_global(s))
    {
        match secret_file(s) {
            Ok(f) => entries.extend(authfile::entries(&f, &source_of(s), tests)),
            Err(e) => entries.push(broken(s, e)),
        }
    }
    let mirrors = mirrors(&client).await?;
    Ok(Loaded {
        entries,
        pull_secret,
        mirrors,
        ..Default::default()
    })
}

async fn list(api: Api<Secret>, ns: Option<&str>) -> Result<Vec<Secret>, Failure> {
    let what = match ns {
        Some(ns) => format!("secrets in namespace {ns}"),
        None => "secrets in all namespaces".to_string(),
    };
    let mut items = api
        .list(&ListParams::default())
        .await
        .map_err(|e| Failure::from_err(ClusterError::from_kube(e, &what, ns)))?
        .items;
    items.sort_by_key(|s| (s.metadata.namespace.clone(), s.metadata.name.clone()));
    Ok(items)
}

fn is_global(s: &Secret) -> bool {
    s.metadata.namespace.as_deref() == Some(GLOBAL_NS)
        && s.metadata.name.as_deref() == Some(GLOBAL_NAME)
}

fn is_registry_secret(s: &Secret) -> bool {
    matches!(
        s.type_.as_deref(),
        Some("kubernetes.io/dockerconfigjson" | "kubernetes.io/dockercfg")
    )
}

/// `secret NS/NAME`, as results name their source.
fn source_of(s: &Secret) -> String {
    format!(
        "secret {}/{}",
        s.metadata.namespace.as_deref().unwrap_or_default(),
        s.metadata.name.as_deref().unwrap_or_default()
    )
}

/// The auth file a registry Secret holds, by its type's key.
fn secret_file(s: &Secret) -> Result<AuthFile, String> {
    let (key, format) = match s.type_.as_deref() {
        Some("kubernetes.io/dockercfg") => (".dockercfg", Format::Legacy),
        _ => (".dockerconfigjson", Format::Config),
    };
    let bytes = s
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .ok_or_else(|| format!("has no {key} key"))?;
    AuthFile::parse_as(&bytes.0, format).map_err(|e| format!("{key} is not readable: {e}"))
}

/// A secret whose payload cannot be read: one failed result naming it.
fn broken(s: &Secret, why: String) -> Entry {
    let source = source_of(s);
    let key = crate::authfile::RegistryKey::parse("invalid").expect("a valid key");
    let mut e = authfile::anonymous(&source, &key, &source, String::new());
    e.outcome = Some(Verdict::fail(
        Reason::RegistryError,
        format!("{source} {why}: nodes cannot pull with it"),
    ));
    e
}

/// The cluster's mirror objects, ICSP first, then IDMS, then ITMS, each by name.
async fn mirrors(client: &Client) -> Result<Mirrors, Failure> {
    let kinds = [
        (
            "operator.openshift.io",
            "v1alpha1",
            "ImageContentSourcePolicy",
            "imagecontentsourcepolicies",
            "repositoryDigestMirrors",
            PullFrom::DigestOnly,
        ),
        (
            "config.openshift.io",
            "v1",
            "ImageDigestMirrorSet",
            "imagedigestmirrorsets",
            "imageDigestMirrors",
            PullFrom::DigestOnly,
        ),
        (
            "config.openshift.io",
            "v1",
            "ImageTagMirrorSet",
            "imagetagmirrorsets",
            "imageTagMirrors",
            PullFrom::TagOnly,
        ),
    ];
    let mut out = Mirrors::default();
    for (group, version, kind, plural, field, pull_from) in kinds {
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let ar = ApiResource::from_gvk_with_plural(&gvk, plural);
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
        let mut objects = match api.list(&ListParams::default()).await {
            Ok(l) => l.items,
            // Not an OpenShift cluster, or an older one without this kind.
            Err(kube::Error::Api(s)) if s.code == 404 => continue,
            Err(e) => {
                return Err(Failure::from_err(ClusterError::from_kube(
                    e,
                    &format!("{plural}.{group}"),
                    None,
                )));
            }
        };
        objects.sort_by_key(|o| o.metadata.name.clone());
        for o in &objects {
            let name = o.metadata.name.clone().unwrap_or_default();
            let items = o.data["spec"][field]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for (i, item) in items.iter().enumerate() {
                let Some(source) = item["source"].as_str() else {
                    continue;
                };
                let mirrors = item["mirrors"]
                    .as_array()
                    .map(|m| {
                        m.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                out.sets.push(MirrorSet {
                    source: source.to_string(),
                    mirrors,
                    pull_from,
                    never_contact_source: item["mirrorSourcePolicy"] == "NeverContactSource",
                    origin: format!("{kind}/{name} {field}[{i}]"),
                });
            }
        }
    }
    if out.sets.is_empty() {
        tracing::debug!("no mirror objects in the cluster");
    }
    Ok(out)
}
