//! Entries of a Docker `config.json`, Podman `auth.json` or legacy `.dockercfg`, as
//! `validate` checks them: one per `auths` key (a `host/path` key is its own credential),
//! `identitytoken` used as an OAuth2 refresh token, and keys a credential helper answers
//! for reported skipped (helpers are programs of the user's; regauth does not run them).

use super::TestImages;
use crate::authfile::{AuthFile, Format, RegistryKey, StoredCredential};
use crate::exit::{Exit, Failure};
use crate::model::RegistryCredential;
use crate::registry::{AuthKind, Entry, Reason, Verdict};
use secrecy::SecretString;
use std::path::Path;

/// Reads an auth file from disk; a `.dockercfg` name hints the legacy layout.
pub fn read(path: &Path) -> Result<AuthFile, Failure> {
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::new(Exit::Failed, format!("reading {}: {e}", path.display())))?;
    let hint = if path.file_name().is_some_and(|n| n == ".dockercfg") {
        Format::Legacy
    } else {
        Format::Config
    };
    AuthFile::parse_hinted(&bytes, hint).map_err(|e| {
        Failure::new(
            Exit::Parse,
            format!("{}: not a registry credential file: {e}", path.display()),
        )
    })
}

/// One entry per key of `file`, named `source` in results, then one skipped entry per
/// `credHelpers` host that has no `auths` key. Test images come from `tests`.
pub fn entries(file: &AuthFile, source: &str, tests: &mut TestImages) -> Vec<Entry> {
    let mut out = Vec::new();
    let auths = file.auths().cloned().unwrap_or_default();
    for (key, value) in &auths {
        out.push(entry(file, key, value, source, tests));
    }
    for (host, helper) in helpers(file) {
        if !auths.keys().any(|k| key_host(k) == host) {
            out.push(skipped(
                &host,
                source,
                format!("credHelpers sends {host} to docker-credential-{helper}, which regauth does not run"),
            ));
        }
    }
    out
}

/// The `credHelpers` map: host → helper name.
fn helpers(file: &AuthFile) -> Vec<(String, String)> {
    let v = file.value();
    let Some(map) = v.get("credHelpers").and_then(|h| h.as_object()) else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(h, n)| Some((h.clone(), n.as_str()?.to_string())))
        .collect()
}

/// `HOST[:PORT]` of a key as written (`https://reg/v2/` and `reg/team` give `reg`).
fn key_host(key: &str) -> String {
    RegistryKey::parse(key)
        .map(|k| k.host().to_string())
        .unwrap_or_else(|_| key.to_string())
}

fn entry(
    file: &AuthFile,
    key: &str,
    value: &serde_json::Value,
    source: &str,
    tests: &mut TestImages,
) -> Entry {
    let parsed = match RegistryKey::parse(key) {
        Ok(k) => k,
        Err(e) => {
            let mut bad = skipped(key, source, String::new());
            bad.outcome = Some(Verdict::fail(
                Reason::RegistryError,
                format!("{e}: no container tool can use this key"),
            ));
            return bad;
        }
    };
    if let Some(helper) = file.helper_for(&parsed) {
        return skipped(
            key,
            source,
            format!(
                "docker-credential-{helper} holds this credential (credHelpers/credsStore), and regauth does not run credential helpers"
            ),
        );
    }
    let stored = StoredCredential::from_entry(key, value);
    let test_image = tests.take(key, &parsed);
    match with_credential(&stored, key, &parsed, source, test_image) {
        Some(e) => e,
        None => skipped(
            key,
            source,
            "the entry holds no credential (no auth, username/password or identitytoken)"
                .to_string(),
        ),
    }
}

/// An entry checking `registry` (whose parsed key is `parsed`) with a stored
/// credential; `None` when the entry holds none.
pub fn with_credential(
    stored: &StoredCredential,
    registry: &str,
    parsed: &RegistryKey,
    source: &str,
    test_image: String,
) -> Option<Entry> {
    let (user, password, auth) = match (&stored.identity_token, &stored.username, &stored.password)
    {
        (Some(token), u, p) => (
            u.clone().unwrap_or_default(),
            p.clone()
                .unwrap_or_else(|| SecretString::from(String::new())),
            AuthKind::IdentityToken(token.clone()),
        ),
        (None, Some(u), Some(p)) => (u.clone(), p.clone(), AuthKind::Password),
        _ => return None,
    };
    Some(Entry {
        cred: RegistryCredential {
            host: parsed.host().to_string(),
            user,
            password,
            test_login: true,
            test_image,
            tls_verify: true,
            source: source.to_string(),
        },
        auth,
        registry: registry.to_string(),
        outcome: None,
    })
}

/// An entry checking `registry` without any credential.
pub fn anonymous(registry: &str, parsed: &RegistryKey, source: &str, test_image: String) -> Entry {
    Entry {
        cred: RegistryCredential {
            host: parsed.host().to_string(),
            user: String::new(),
            password: SecretString::from(String::new()),
            test_login: true,
            test_image,
            tls_verify: true,
            source: source.to_string(),
        },
        auth: AuthKind::Anonymous,
        registry: registry.to_string(),
        outcome: None,
    }
}

/// An entry reported skipped with `why`.
fn skipped(key: &str, source: &str, why: String) -> Entry {
    Entry {
        cred: RegistryCredential {
            host: key_host(key),
            user: String::new(),
            password: SecretString::from(String::new()),
            test_login: false,
            test_image: String::new(),
            tls_verify: true,
            source: source.to_string(),
        },
        auth: AuthKind::Anonymous,
        registry: key.to_string(),
        outcome: Some(Verdict::fail(Reason::Skipped, why)),
    }
}
