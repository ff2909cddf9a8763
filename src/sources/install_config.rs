//! An OpenShift 4 `install-config.yaml`, read for what `openshift-install` would hand to
//! the nodes: `pullSecret` (a JSON auth file inside a YAML string), `additionalTrustBundle`
//! (CAs every node trusts for every registry) and the mirrors of `imageContentSources`
//! and `imageDigestSources` (digest-only, as the installer writes them as ICSP/IDMS).
//! Each mirror is checked with the pull secret's credential CRI-O would choose for it
//! (the most specific key, as containers/image looks it up), anonymously when none.

use super::mirrors::{MirrorSet, Mirrors, PullFrom};
use super::{Loaded, TestImages, authfile};
use crate::authfile::{AuthFile, RegistryKey};
use crate::exit::{Exit, Failure};
use crate::inventory::yaml::{self, Kind, Node};
use crate::inventory::{InventoryError, Origin};
use crate::registry::{Entry, Reason, Verdict};
use std::path::Path;

/// Reads `path` and lists what to check. Errors name the file and line.
pub fn load(path: &Path, tests: &mut TestImages) -> Result<Loaded, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::new(Exit::Failed, format!("reading {}: {e}", path.display())))?;
    let err = |line: usize, msg: String| {
        Failure::from_err(InventoryError::new(Origin::at(path, line), msg))
    };
    let root = yaml::parse(&text, path, None)
        .map_err(Failure::from_err)?
        .ok_or_else(|| err(1, "empty document: not an install-config.yaml".into()))?;
    let Kind::Map(top) = &root.kind else {
        return Err(err(
            root.line,
            "not a mapping: not an install-config.yaml".into(),
        ));
    };
    let get = |k: &str| top.iter().find(|(name, _)| name == k).map(|(_, n)| n);
    let name = path.display().to_string();

    let Some(ps) = get("pullSecret") else {
        return Err(err(
            root.line,
            "no pullSecret: openshift-install needs one (cloud.redhat.com/openshift/install/pull-secret)"
                .into(),
        ));
    };
    let ps_text = string(ps).ok_or_else(|| err(ps.line, "pullSecret is not a string".into()))?;
    let pull_secret = AuthFile::parse(ps_text.as_bytes()).map_err(|e| {
        err(
            ps.line,
            format!("pullSecret is not a Docker config JSON: {e}"),
        )
    })?;
    if pull_secret.auths().is_none_or(|a| a.is_empty()) {
        return Err(err(ps.line, "pullSecret has no auths entries".into()));
    }
    let mut entries = authfile::entries(&pull_secret, &format!("{name} pullSecret"), tests);

    let bundle = match get("additionalTrustBundle") {
        None => None,
        Some(n) if n.is_null() => None,
        Some(n) => {
            let pem = string(n)
                .ok_or_else(|| err(n.line, "additionalTrustBundle is not a string".into()))?;
            crate::registry::Trust::new(None)
                .with_bundle(pem.as_bytes())
                .map_err(|e| err(n.line, format!("additionalTrustBundle: {e}")))?;
            Some(pem.into_bytes())
        }
    };

    let mut mirrors = Mirrors::default();
    for list in ["imageContentSources", "imageDigestSources"] {
        let Some(node) = get(list) else { continue };
        if node.is_null() {
            continue;
        }
        let Kind::Seq(items) = &node.kind else {
            return Err(err(node.line, format!("{list} is not a list")));
        };
        for (i, item) in items.iter().enumerate() {
            let set =
                mirror_set(item, &format!("{list}[{i}]")).map_err(|(line, msg)| err(line, msg))?;
            mirrors.sets.push(set);
        }
    }
    for (mirror, set) in mirrors.all_mirrors() {
        entries.push(mirror_entry(mirror, set, &pull_secret, &name, tests));
    }
    Ok(Loaded {
        entries,
        bundle,
        pull_secret: Some(pull_secret),
        mirrors,
        ..Default::default()
    })
}

/// A scalar's text (install-config values are strings to the installer).
fn string(n: &Node) -> Option<String> {
    match &n.kind {
        Kind::Scalar(v) => v.as_str().map(str::to_string),
        _ => None,
    }
}

/// One `{source, mirrors}` item; errors carry the line.
fn mirror_set(item: &Node, origin: &str) -> Result<MirrorSet, (usize, String)> {
    let Kind::Map(pairs) = &item.kind else {
        return Err((
            item.line,
            format!("{origin} is not a mapping with source and mirrors"),
        ));
    };
    let get = |k: &str| pairs.iter().find(|(name, _)| name == k).map(|(_, n)| n);
    let source = get("source")
        .and_then(string)
        .ok_or_else(|| (item.line, format!("{origin} has no source")))?;
    check_name(&source).map_err(|e| (item.line, format!("{origin}.source {source}: {e}")))?;
    let mut mirrors = Vec::new();
    if let Some(m) = get("mirrors") {
        let Kind::Seq(list) = &m.kind else {
            return Err((m.line, format!("{origin}.mirrors is not a list")));
        };
        for n in list {
            let mirror =
                string(n).ok_or_else(|| (n.line, format!("{origin}.mirrors has a non-string")))?;
            check_name(&mirror).map_err(|e| (n.line, format!("{origin} mirror {mirror}: {e}")))?;
            mirrors.push(mirror);
        }
    }
    // imageDigestSources' `sourcePolicy` (the installer writes it into the IDMS).
    let never_contact_source = match get("sourcePolicy") {
        None => false,
        Some(p) => match string(p).as_deref() {
            Some("NeverContactSource") => true,
            Some("AllowContactingSource") => false,
            _ => {
                return Err((
                    p.line,
                    format!("{origin}.sourcePolicy is NeverContactSource or AllowContactingSource"),
                ));
            }
        },
    };
    Ok(MirrorSet {
        source,
        mirrors,
        pull_from: PullFrom::DigestOnly,
        never_contact_source,
        origin: format!("{origin} (line {})", item.line),
    })
}

/// A mirror or source must be `HOST[:PORT][/PATH]` (no tag, digest or scheme).
fn check_name(s: &str) -> Result<(), String> {
    if s.contains("://") || s.contains('@') {
        return Err("expected HOST[:PORT][/PATH], without scheme, tag or digest".into());
    }
    RegistryKey::parse(s).map(|_| ()).map_err(|e| e.to_string())
}

/// The check of one mirror: with the credential CRI-O would use for it, else anonymous.
pub fn mirror_entry(
    mirror: &str,
    set: &MirrorSet,
    pull_secret: &AuthFile,
    file: &str,
    tests: &mut TestImages,
) -> Entry {
    let Ok(key) = RegistryKey::parse(mirror) else {
        // check_name refused these already; keep the entry visible if one slips through.
        let mut e = authfile::anonymous(
            mirror,
            &RegistryKey::parse("invalid").expect("valid"),
            file,
            String::new(),
        );
        e.outcome = Some(Verdict::fail(Reason::RegistryError, "not a registry name"));
        return e;
    };
    let test_image = tests.take(mirror, &key);
    let origin = format!("{file} {} mirror of {}", set.origin, set.source);
    let found = pull_secret.find(&key);
    let with = found.as_ref().and_then(|stored| {
        authfile::with_credential(
            stored,
            mirror,
            &key,
            &format!("{origin}, pullSecret key {}", stored.key),
            test_image.clone(),
        )
    });
    with.unwrap_or_else(|| {
        authfile::anonymous(
            mirror,
            &key,
            &format!("{origin}, no pullSecret credential: anonymous"),
            test_image,
        )
    })
}
