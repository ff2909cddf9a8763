//! `--release-image REF`: can the nodes pull this release image? Tried as CRI-O would:
//! through each mirror in order (see [`super::mirrors`]), then the source, each with the
//! pull secret's credential containers/image would choose for that repository (the most
//! specific key), anonymously when none applies. The first way that serves the manifest
//! wins; otherwise the answer lists every way tried and why it failed.

use super::Loaded;
use crate::authfile::RegistryKey;
use crate::registry::{CheckOptions, ImageRef, Reason, Status, Verdict, pull_check};
use serde::Serialize;

/// The `release` object of the validate JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Release {
    /// The reference as given.
    pub image: String,
    /// ok or failed.
    pub status: Status,
    /// Why (the last way's reason when every way failed).
    pub reason: Reason,
    /// One sentence; when every way failed, each way and its failure.
    pub message: String,
    /// `HOST/REPO@DIGEST` the manifest came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pulled_from: Option<String>,
}

/// Tries `image` every way CRI-O would, in order, until one works.
pub async fn check(image: &str, loaded: &Loaded, opts: &CheckOptions) -> Release {
    let failed = |reason, message: String| Release {
        image: image.to_string(),
        status: Status::Failed,
        reason,
        message,
        pulled_from: None,
    };
    let parsed = match ImageRef::parse(image) {
        Ok(r) if r.host.is_some() => r,
        Ok(_) => {
            return failed(
                Reason::RegistryError,
                format!(
                    "{image}: give the release image with its registry (quay.io/openshift-release-dev/ocp-release@sha256:...)"
                ),
            );
        }
        Err(e) => return failed(Reason::RegistryError, e.to_string()),
    };
    let mut tried: Vec<String> = Vec::new();
    let mut last = Reason::RegistryError;
    for way in loaded.mirrors.ways(&parsed) {
        let Ok(r) = ImageRef::parse(&way.image) else {
            continue;
        };
        let host = r.host.clone().unwrap_or_default();
        let key = RegistryKey::parse(&format!("{host}/{}", r.repository));
        let stored = match (&loaded.pull_secret, &key) {
            (Some(f), Ok(k)) => f.find(k),
            _ => None,
        };
        let (entry, with) = match stored.as_ref().and_then(|s| {
            super::authfile::with_credential(s, &host, key.as_ref().ok()?, "release", r.to_string())
        }) {
            Some(e) => {
                let k = stored.as_ref().map(|s| s.key.clone()).unwrap_or_default();
                (e, format!("credential {k}"))
            }
            None => {
                let fallback = RegistryKey::parse(&host);
                let Ok(k) = key.as_ref().or(fallback.as_ref()) else {
                    continue;
                };
                let e = super::authfile::anonymous(&host, k, "release", r.to_string());
                (e, "no credential: anonymous".to_string())
            }
        };
        let (v, _, digest): (Verdict, u32, Option<String>) =
            pull_check(&entry.cred, &entry.auth, opts).await;
        if v.reason == Reason::Ok {
            let digest = digest.unwrap_or_else(|| r.reference().to_string());
            let from = format!("{host}/{}@{digest}", r.repository);
            return Release {
                image: image.to_string(),
                status: Status::Ok,
                reason: Reason::Ok,
                message: format!(
                    "can be pulled from {from} ({}, {with}){}",
                    way.via,
                    if tried.is_empty() {
                        String::new()
                    } else {
                        format!(" after: {}", tried.join("; "))
                    }
                ),
                pulled_from: Some(from),
            };
        }
        last = v.reason;
        // The checker's hints about test_image do not apply to a release image.
        let message = v
            .message
            .trim_end_matches(" — set test_image for this entry")
            .to_string();
        tried.push(format!(
            "{} ({}, {with}): {}: {message}",
            way.image, way.via, v.reason
        ));
    }
    if tried.is_empty() {
        return failed(
            Reason::RegistryError,
            "every mirror set for it says NeverContactSource and none serves this reference \
             (ImageContentSourcePolicy, ImageDigestMirrorSet and install-config mirrors serve \
             digests only, ImageTagMirrorSet mirrors tags only)"
                .to_string(),
        );
    }
    failed(
        last,
        format!(
            "cannot be pulled any of the {} ways CRI-O would try: {}",
            tried.len(),
            tried.join("; ")
        ),
    )
}
