//! Writes a small image straight into a registry's filesystem storage, in the
//! layout distribution 2.8 reads: blobs by digest, and per repository the layer
//! links, manifest revisions and tags. No push, no credentials needed.

use sha2::{Digest, Sha256};
use std::path::Path;

/// An OCI image manifest (what modern tools push); distribution answers 404 to a
/// client whose Accept lacks its type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// A Docker schema 2 manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn put_blob(root: &Path, bytes: &[u8]) -> String {
    let d = digest(bytes);
    let hex = &d[7..];
    let dir = root
        .join("docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(hex);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("data"), bytes).unwrap();
    d
}

fn link(path: &Path, digest: &str) {
    std::fs::create_dir_all(path).unwrap();
    std::fs::write(path.join("link"), digest).unwrap();
}

/// Stores `repo:tag` as a one-layer image whose manifest has type `media_type`;
/// returns the manifest digest.
pub fn write_image(root: &Path, repo: &str, tag: &str, media_type: &str) -> String {
    let repo_dir = root.join("docker/registry/v2/repositories").join(repo);
    // An empty tar archive: two 512-byte zero blocks.
    let layer = vec![0u8; 1024];
    let layer_digest = put_blob(root, &layer);
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]}
    }))
    .unwrap();
    let config_digest = put_blob(root, &config);
    let (config_type, layer_type) = if media_type == OCI_MANIFEST {
        (
            "application/vnd.oci.image.config.v1+json",
            "application/vnd.oci.image.layer.v1.tar",
        )
    } else {
        (
            "application/vnd.docker.container.image.v1+json",
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
        )
    };
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": media_type,
        "config": {"mediaType": config_type, "size": config.len(), "digest": config_digest},
        "layers": [{"mediaType": layer_type, "size": layer.len(), "digest": layer_digest}]
    }))
    .unwrap();
    let manifest_digest = put_blob(root, &manifest);
    for d in [&layer_digest, &config_digest] {
        link(&repo_dir.join("_layers/sha256").join(&d[7..]), d);
    }
    tag_manifest(&repo_dir, tag, &manifest_digest);
    manifest_digest
}

/// Stores `repo:tag` as an OCI index over the manifest `manifest_digest` of the same repository.
pub fn write_index(root: &Path, repo: &str, tag: &str, manifest_digest: &str) -> String {
    let manifest_path = {
        let hex = &manifest_digest[7..];
        root.join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    };
    let size = std::fs::metadata(manifest_path).unwrap().len();
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": OCI_MANIFEST, "size": size, "digest": manifest_digest,
                       "platform": {"architecture": "amd64", "os": "linux"}}]
    }))
    .unwrap();
    let d = put_blob(root, &index);
    tag_manifest(
        &root.join("docker/registry/v2/repositories").join(repo),
        tag,
        &d,
    );
    d
}

fn tag_manifest(repo_dir: &Path, tag: &str, digest: &str) {
    let hex = &digest[7..];
    link(
        &repo_dir.join("_manifests/revisions/sha256").join(hex),
        digest,
    );
    link(
        &repo_dir.join("_manifests/tags").join(tag).join("current"),
        digest,
    );
    link(
        &repo_dir
            .join("_manifests/tags")
            .join(tag)
            .join("index/sha256")
            .join(hex),
        digest,
    );
}
