//! `oc policy add-role-to-user|group system:image-puller ...`: a RoleBinding in the
//! target namespace to the ClusterRole `system:image-puller`, subjects added once.

use super::error::ClusterError;
use super::secret::Change;
use k8s_openapi::api::rbac::v1::{RoleBinding, RoleRef, Subject};
use kube::api::{ListParams, ObjectMeta, PostParams};
use kube::{Api, Client};

const ROLE: &str = "system:image-puller";
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// Who may pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullerSubject {
    /// One service account: `system:serviceaccount:NS:NAME`.
    ServiceAccount {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// Every service account of a namespace: group `system:serviceaccounts:NS`.
    AllServiceAccounts {
        /// The namespace.
        namespace: String,
    },
}

impl PullerSubject {
    fn subject(&self) -> Subject {
        match self {
            PullerSubject::ServiceAccount { namespace, name } => Subject {
                kind: "ServiceAccount".into(),
                name: name.clone(),
                namespace: Some(namespace.clone()),
                api_group: None,
            },
            PullerSubject::AllServiceAccounts { namespace } => Subject {
                kind: "Group".into(),
                name: format!("system:serviceaccounts:{namespace}"),
                namespace: None,
                api_group: Some(RBAC_GROUP.into()),
            },
        }
    }
}

fn same_subject(a: &Subject, b: &Subject) -> bool {
    a.kind == b.kind
        && a.name == b.name
        && (a.kind != "ServiceAccount" || a.namespace == b.namespace)
}

fn is_puller_binding(rb: &RoleBinding) -> bool {
    rb.role_ref.kind == "ClusterRole" && rb.role_ref.name == ROLE
}

/// Grants `system:image-puller` in `target_ns`, reusing a binding to that role
/// when there is one (as oc does) and creating `system:image-puller` otherwise.
pub async fn grant_image_puller(
    client: &Client,
    target_ns: &str,
    who: &PullerSubject,
    dry_run: bool,
) -> Result<Change, ClusterError> {
    let api: Api<RoleBinding> = Api::namespaced(client.clone(), target_ns);
    let subject = who.subject();
    let pp = PostParams {
        dry_run,
        field_manager: Some("regauth".into()),
    };
    let what = format!("rolebindings in {target_ns}");
    for _ in 0..5 {
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(|e| ClusterError::from_kube(e, &what, Some(target_ns)))?;
        let bindings: Vec<RoleBinding> = list.items.into_iter().filter(is_puller_binding).collect();
        if bindings.iter().any(|rb| {
            rb.subjects
                .iter()
                .flatten()
                .any(|s| same_subject(s, &subject))
        }) {
            return Ok(Change::Unchanged);
        }
        let result = match bindings
            .into_iter()
            .min_by_key(|rb| rb.metadata.name.clone())
        {
            Some(mut rb) => {
                let name = rb.metadata.name.clone().unwrap_or_default();
                rb.subjects
                    .get_or_insert_with(Vec::new)
                    .push(subject.clone());
                api.replace(&name, &pp, &rb).await.map(|_| Change::Updated)
            }
            None => {
                let rb = RoleBinding {
                    metadata: ObjectMeta {
                        name: Some(ROLE.into()),
                        namespace: Some(target_ns.into()),
                        ..Default::default()
                    },
                    role_ref: RoleRef {
                        api_group: Some(RBAC_GROUP.into()),
                        kind: "ClusterRole".into(),
                        name: ROLE.into(),
                    },
                    subjects: Some(vec![subject.clone()]),
                };
                api.create(&pp, &rb).await.map(|_| Change::Created)
            }
        };
        match result {
            Ok(c) => return Ok(c),
            Err(e) if ClusterError::is_conflict(&e) => continue,
            Err(e) => {
                return Err(ClusterError::from_kube(
                    e,
                    &format!("rolebinding {ROLE} in {target_ns}"),
                    Some(target_ns),
                ));
            }
        }
    }
    Err(ClusterError::Conflict(what, 5))
}
