//! Checks the images a run needs ([`crate::model::images`]): each image once, with
//! the credential the nodes pull it with, by fetching its manifest (a manifest list
//! or OCI index counts as present), all at once up to `forks`.

use super::client::image_check;
use super::{AuthKind, Reason, Status, ValidateOptions, Verdict};
use crate::model::RegistryCredential;
use crate::model::images::RequiredImage;
use secrecy::SecretString;
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

/// One image's outcome: an element of the JSON `images` of SPEC.md.
#[derive(Debug, Clone, Serialize)]
pub struct ImageResult {
    /// The full reference.
    pub image: String,
    /// Its registry host.
    pub registry: String,
    /// ok or failed.
    pub status: Status,
    /// Why, with validate's reasons (`image_not_found` for a missing tag).
    pub reason: Reason,
    /// One sentence a person can act on.
    pub message: String,
    /// Host groups that need it.
    pub needed_by: Vec<String>,
    /// How many hosts need it.
    pub hosts: usize,
    /// The login checked with; `null` for an anonymous pull.
    pub user: Option<String>,
    /// Where that credential came from.
    pub source: Option<String>,
    /// Attempts made.
    pub attempts: u32,
    /// Wall time of this check in milliseconds.
    pub duration_ms: u64,
}

/// The credential a node would send to the image's registry, or an anonymous stand-in.
fn credential(r: &RequiredImage) -> RegistryCredential {
    let mut c = r.credential.clone().unwrap_or_else(|| RegistryCredential {
        host: r.registry.clone(),
        user: String::new(),
        password: SecretString::from(String::new()),
        test_login: true,
        test_image: String::new(),
        tls_verify: true,
        source: String::new(),
    });
    c.tls_verify = r.tls_verify;
    c
}

async fn check_one(r: &RequiredImage, opts: &super::CheckOptions) -> ImageResult {
    let start = Instant::now();
    let cred = credential(r);
    let (verdict, attempts) = match super::ImageRef::parse(&r.image) {
        Ok(image) => {
            let auth = match r.credential {
                Some(_) => AuthKind::Password,
                None => AuthKind::Anonymous,
            };
            image_check(&cred, image, &auth, opts).await
        }
        Err(e) => (
            Verdict::fail(
                Reason::RegistryError,
                format!("{e}: fix the variable that names this image"),
            ),
            0,
        ),
    };
    ImageResult {
        image: r.image.clone(),
        registry: r.registry.clone(),
        status: verdict.reason.status(),
        reason: verdict.reason,
        message: verdict.message,
        needed_by: r.needed_by.clone(),
        hosts: r.hosts.len(),
        user: r.credential.as_ref().map(|c| c.user.clone()),
        source: r.credential.as_ref().map(|c| c.source.clone()),
        attempts,
        duration_ms: start.elapsed().as_millis() as u64,
    }
}

/// Checks every image concurrently, at most `forks` at a time; results in input order.
pub async fn check_images(images: &[RequiredImage], opts: &ValidateOptions) -> Vec<ImageResult> {
    let check_opts = Arc::new(opts.check.clone());
    super::bounded(
        images,
        opts.forks,
        move |r| {
            let o = check_opts.clone();
            async move { check_one(&r, &o).await }
        },
        |_| {},
        |r| ImageResult {
            image: r.image.clone(),
            registry: r.registry.clone(),
            status: Status::Failed,
            reason: Reason::RegistryError,
            message: "internal error while checking this image (see the log)".into(),
            needed_by: r.needed_by.clone(),
            hosts: r.hosts.len(),
            user: None,
            source: None,
            attempts: 0,
            duration_ms: 0,
        },
    )
    .await
}
