//! `oc secrets link SA SECRET --for=pull|mount`: add the secret to the service
//! account's `imagePullSecrets` or `secrets`, once.

use super::error::ClusterError;
use super::secret::Change;
use k8s_openapi::api::core::v1::{LocalObjectReference, ObjectReference, Secret, ServiceAccount};
use kube::api::PostParams;
use kube::{Api, Client};

/// Which list the secret joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkMode {
    /// `imagePullSecrets`: used to pull the pod's images.
    Pull,
    /// `secrets`: mountable by the pods.
    Mount,
}

/// Links `secret` to `sa` in `namespace`; nothing is written when already linked.
pub async fn link_secret(
    client: &Client,
    namespace: &str,
    sa: &str,
    secret: &str,
    modes: &[LinkMode],
    dry_run: bool,
) -> Result<Change, ClusterError> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let what_secret = format!("secret {namespace}/{secret}");
    if secrets
        .get_opt(secret)
        .await
        .map_err(|e| ClusterError::from_kube(e, &what_secret, Some(namespace)))?
        .is_none()
    {
        return Err(ClusterError::NotFound(format!(
            "{what_secret} not found: create it first (regauth secret create {secret} -n {namespace} ...)"
        )));
    }
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    let what = format!("serviceaccount {namespace}/{sa}");
    let pp = PostParams {
        dry_run,
        field_manager: Some("regauth".into()),
    };
    for _ in 0..5 {
        let Some(mut obj) = api
            .get_opt(sa)
            .await
            .map_err(|e| ClusterError::from_kube(e, &what, Some(namespace)))?
        else {
            return Err(ClusterError::NotFound(format!("{what} not found")));
        };
        let mut changed = false;
        for mode in modes {
            match mode {
                LinkMode::Pull => {
                    let list = obj.image_pull_secrets.get_or_insert_with(Vec::new);
                    if !list.iter().any(|r| r.name == secret) {
                        list.push(LocalObjectReference {
                            name: secret.to_string(),
                        });
                        changed = true;
                    }
                }
                LinkMode::Mount => {
                    let list = obj.secrets.get_or_insert_with(Vec::new);
                    if !list.iter().any(|r| r.name.as_deref() == Some(secret)) {
                        list.push(ObjectReference {
                            name: Some(secret.to_string()),
                            ..Default::default()
                        });
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            return Ok(Change::Unchanged);
        }
        match api.replace(sa, &pp, &obj).await {
            Ok(_) => return Ok(Change::Updated),
            Err(e) if ClusterError::is_conflict(&e) => continue,
            Err(e) => return Err(ClusterError::from_kube(e, &what, Some(namespace))),
        }
    }
    Err(ClusterError::Conflict(what, 5))
}
