//! Checking the credentials a pull-secret update brings in, as `login` does
//! (`/v2/` with Basic, or a token with no scope; an `identitytoken` as an OAuth2
//! refresh token, as validate does), all at once, before anything is written. Entries whose credential equals the current pull secret's are not
//! rechecked: they already work (or already fail) on every node.

use crate::authfile::{RegistryKey, StoredCredential};
use crate::exit::{Exit, Failure};
use crate::registry::{CheckOptions, Reason, Status, Trust};
use secrecy::ExposeSecret;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How each credential is checked.
#[derive(Debug, Clone)]
pub struct CheckSettings {
    /// `--certs-dir` instead of /etc/containers/certs.d and /etc/docker/certs.d.
    pub certs_dir: Option<PathBuf>,
    /// Limit per attempt.
    pub timeout: Duration,
    /// Further attempts after a transient failure.
    pub retries: u32,
    /// Pause between attempts.
    pub retry_delay: Duration,
}

/// One credential's verdict, shaped like a `validate` JSON result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Checked {
    /// The `auths` key as written.
    pub registry: String,
    /// The user name, when the entry has one.
    pub user: String,
    /// Always `login`: no test image is known for a pull-secret entry.
    pub check: &'static str,
    /// ok, failed or skipped.
    pub status: Status,
    /// validate's reason word.
    pub reason: &'static str,
    /// One sentence a person can act on.
    pub message: String,
    /// Wall time of the check.
    pub duration_ms: u128,
}

impl Checked {
    /// True unless the registry said no (or could not be asked).
    pub fn passed(&self) -> bool {
        self.status != Status::Failed
    }
}

/// The same credential (user, password, identity token) under the same key.
fn same_credential(a: &StoredCredential, b: &StoredCredential) -> bool {
    let secret = |s: &Option<secrecy::SecretString>| {
        s.as_ref().map(|v| v.expose_secret().as_bytes().to_vec())
    };
    a.username == b.username
        && secret(&a.password) == secret(&b.password)
        && secret(&a.identity_token) == secret(&b.identity_token)
}

/// The keys among `entries` whose credential is new or differs from `current`'s.
pub fn changed_keys(
    current: Option<&Map<String, Value>>,
    entries: &Map<String, Value>,
) -> Vec<String> {
    entries
        .iter()
        .filter(|(k, v)| {
            let new = StoredCredential::from_entry(k, v);
            current
                .and_then(|c| c.get(*k))
                .is_none_or(|old| !same_credential(&StoredCredential::from_entry(k, old), &new))
        })
        .map(|(k, _)| k.clone())
        .collect()
}

/// Refuses entries that hold no credential at all (an `auth` that is not base64 of
/// `user:password` and nothing else), naming where they came from.
pub fn refuse_unusable(entries: &Map<String, Value>, origin: &str) -> Result<(), Failure> {
    for (k, v) in entries {
        let c = StoredCredential::from_entry(k, v);
        if (c.username.is_none() || c.password.is_none()) && c.identity_token.is_none() {
            return Err(Failure::new(
                Exit::Failed,
                format!(
                    "{origin}: entry {k:?} holds no usable credential (its auth is not base64 of user:password, and it has no username/password or identitytoken); nothing written"
                ),
            ));
        }
        RegistryKey::parse(k)
            .map_err(|e| Failure::new(Exit::Failed, format!("{origin}: entry {k:?}: {e}")))?;
    }
    Ok(())
}

/// Checks the entries under `keys`, concurrently; results in `keys` order.
pub async fn check_all(
    entries: &Map<String, Value>,
    keys: &[String],
    settings: &CheckSettings,
) -> Vec<Checked> {
    let opts = Arc::new(CheckOptions {
        trust: Trust::new(settings.certs_dir.clone()),
        timeout: settings.timeout,
        retries: settings.retries,
        retry_delay: settings.retry_delay,
        ..CheckOptions::default()
    });
    let mut set = tokio::task::JoinSet::new();
    for (i, key) in keys.iter().enumerate() {
        let cred = StoredCredential::from_entry(key, &entries[key]);
        let opts = opts.clone();
        let key = key.clone();
        set.spawn(async move { (i, check_one(&key, &cred, &opts).await) });
    }
    let mut out: Vec<Option<Checked>> = vec![None; keys.len()];
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((i, c)) => out[i] = Some(c),
            Err(e) => tracing::error!("a registry check panicked: {e}"),
        }
    }
    out.into_iter()
        .zip(keys)
        .map(|(c, k)| {
            c.unwrap_or_else(|| Checked {
                registry: k.clone(),
                user: String::new(),
                check: "login",
                status: Status::Failed,
                reason: Reason::RegistryError.as_str(),
                message: "the check did not complete (internal error)".into(),
                duration_ms: 0,
            })
        })
        .collect()
}

async fn check_one(key: &str, cred: &StoredCredential, opts: &CheckOptions) -> Checked {
    let start = Instant::now();
    let user = cred.username.clone().unwrap_or_default();
    let done = |reason: Reason, message: String| Checked {
        registry: key.to_string(),
        user: user.clone(),
        check: "login",
        status: reason.status(),
        reason: reason.as_str(),
        message,
        duration_ms: start.elapsed().as_millis(),
    };
    // refuse_unusable parsed every key already.
    let host = RegistryKey::parse(key)
        .map(|k| k.host().to_string())
        .unwrap_or_else(|_| key.to_string());
    // An identitytoken is what clients use when present (validate --authfile does the
    // same): the token service is asked with it as an OAuth2 refresh token.
    let verdict = match (&cred.identity_token, &cred.username, &cred.password) {
        (Some(token), u, p) => {
            let as_entry = crate::model::RegistryCredential {
                host,
                user: u.clone().unwrap_or_default(),
                password: p.clone().unwrap_or_else(|| String::new().into()),
                test_login: true,
                test_image: String::new(),
                tls_verify: true,
                source: "pull-secret update".to_string(),
            };
            let auth = crate::registry::AuthKind::IdentityToken(token.clone());
            crate::registry::login_check_as(&as_entry, &auth, opts)
                .await
                .0
        }
        (None, Some(u), Some(p)) => crate::registry::login_check(&host, u, p, true, opts).await,
        // refuse_unusable let no such entry through.
        (None, _, _) => {
            return done(
                Reason::Skipped,
                format!("{key}: the entry holds no credential; written as given"),
            );
        }
    };
    done(verdict.reason, verdict.message)
}
