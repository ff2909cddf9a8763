//! Registry login checks: does each credential log in, and can it pull its test
//! image? Used by `validate`, `login` and the playbooks' validate step.
//!
//! # Why not oci-client
//! oci-client 0.18 does the v2 token dance, but it cannot tell the reasons
//! SPEC.md requires apart: its `_auth` turns every non-200 answer of the token
//! endpoint into `AuthenticationFailure(body)` without the status (a 503 from the
//! token service would read as a wrong password and never be retried); it falls
//! back to Basic on any challenge it cannot parse; it sends the credentials to
//! whatever realm the registry names, plain HTTP on another host included; and
//! trust is per client, not per host, so certs.d of the realm's host cannot apply.
//! The flow is three GETs, so it is written here on reqwest 0.13 + rustls (`ring`).
//!
//! # Files
//! `reference` image references, `challenge` WWW-Authenticate, `tls` trust,
//! `classify` reasons and messages, `client` one check, `insecure` what
//! `tls_verify=False` allows (plain HTTP included), `images` the images a run needs.

pub mod challenge;
pub mod classify;
pub mod client;
pub mod images;
pub mod insecure;
pub mod reference;
pub mod tls;

pub use classify::{Reason, Status, TlsProblem, Verdict};
pub use client::{
    AuthKind, CheckOptions, RunCache, auth_host, check_with_attempts, image_check, login_check,
    login_check_as, pull_check,
};
pub use reference::ImageRef;
pub use tls::Trust;

use crate::model::RegistryCredential;
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

/// Default `--forks` for validate. Checks wait on the network, not the CPU, and
/// inventories rarely define more registries than this, so all run at once; lower
/// it to spare a shared registry (Ansible's 5 would serialise 50 credentials in 10 waves).
pub const DEFAULT_FORKS: u16 = 50;

/// One credential's outcome: an element of the JSON `results` of SPEC.md.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// Registry host (`reg.example.com:5000`).
    pub registry: String,
    /// Inventory variable the credential came from.
    pub source: String,
    /// Login name.
    pub user: String,
    /// Image used for the check.
    pub test_image: String,
    /// Whether the certificate was verified.
    pub tls_verify: bool,
    /// ok, failed or skipped.
    pub status: Status,
    /// Why.
    pub reason: Reason,
    /// One sentence a person can act on.
    pub message: String,
    /// Attempts made (0 when skipped).
    pub attempts: u32,
    /// Wall time of this check in milliseconds.
    pub duration_ms: u64,
    /// `image` (a test image's manifest was fetched) or `login` (podman login's check).
    pub check: Check,
}

/// Which check a result comes from: the `check` field of SPEC.md's JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// The test image's manifest was fetched.
    Image,
    /// No test image: the login was checked as `podman login` does.
    Login,
}

/// One thing to check: a credential, how it authenticates, and how results name it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The credential; an empty `test_image` means a login check.
    pub cred: RegistryCredential,
    /// Password, OAuth2 refresh token, or nothing.
    pub auth: AuthKind,
    /// The `registry` of the result: the key as the source writes it (`host/path` too).
    pub registry: String,
    /// Reported with this verdict instead of being checked (skipped, or a key no
    /// tool could use).
    pub outcome: Option<Verdict>,
}

impl From<RegistryCredential> for Entry {
    fn from(cred: RegistryCredential) -> Entry {
        Entry {
            registry: cred.host.clone(),
            outcome: (!cred.test_login)
                .then(|| Verdict::fail(Reason::Skipped, "test_login is false for this entry")),
            auth: AuthKind::Password,
            cred,
        }
    }
}

/// Checks one credential (or reports it skipped when `test_login` is false).
pub async fn check(cred: &RegistryCredential, opts: &CheckOptions) -> CheckResult {
    check_entry(&Entry::from(cred.clone()), opts).await
}

/// Checks one entry: its test image when it has one, else its login.
pub async fn check_entry(entry: &Entry, opts: &CheckOptions) -> CheckResult {
    let start = Instant::now();
    let cred = &entry.cred;
    let check = if cred.test_image.is_empty() {
        Check::Login
    } else {
        Check::Image
    };
    let (verdict, attempts) = match (&entry.outcome, check) {
        (Some(v), _) => (v.clone(), 0),
        (None, Check::Image) => {
            let (v, n, _) = pull_check(cred, &entry.auth, opts).await;
            (v, n)
        }
        (None, Check::Login) => login_check_as(cred, &entry.auth, opts).await,
    };
    CheckResult {
        registry: entry.registry.clone(),
        source: cred.source.clone(),
        user: cred.user.clone(),
        test_image: cred.test_image.clone(),
        tls_verify: cred.tls_verify,
        status: verdict.reason.status(),
        reason: verdict.reason,
        message: verdict.message,
        attempts,
        duration_ms: start.elapsed().as_millis() as u64,
        check,
    }
}

/// How a whole run is checked.
#[derive(Debug, Clone)]
pub struct ValidateOptions {
    /// Per-credential settings.
    pub check: CheckOptions,
    /// Checks running at once (at least 1).
    pub forks: usize,
}

/// Checks every credential concurrently, at most `forks` at a time; results in input order.
pub async fn validate_all(
    creds: &[RegistryCredential],
    opts: &ValidateOptions,
) -> Vec<CheckResult> {
    validate_all_with(creds, opts, |_| {}).await
}

/// Like [`validate_all`], calling `done` as each check finishes (for progress output).
pub async fn validate_all_with(
    creds: &[RegistryCredential],
    opts: &ValidateOptions,
    done: impl FnMut(&CheckResult),
) -> Vec<CheckResult> {
    let entries: Vec<Entry> = creds.iter().cloned().map(Entry::from).collect();
    validate_entries_with(&entries, opts, done).await
}

/// Checks every entry concurrently, at most `forks` at a time; results in input
/// order; `done` is called as each check finishes.
pub async fn validate_entries_with(
    entries: &[Entry],
    opts: &ValidateOptions,
    done: impl FnMut(&CheckResult),
) -> Vec<CheckResult> {
    let check_opts = Arc::new(opts.check.clone());
    bounded(
        entries,
        opts.forks,
        move |entry| {
            let o = check_opts.clone();
            async move { check_entry(&entry, &o).await }
        },
        done,
        |e| CheckResult {
            registry: e.registry.clone(),
            source: e.cred.source.clone(),
            user: e.cred.user.clone(),
            test_image: e.cred.test_image.clone(),
            tls_verify: e.cred.tls_verify,
            status: Status::Failed,
            reason: Reason::RegistryError,
            message: "internal error while checking this entry (see the log)".into(),
            attempts: 0,
            duration_ms: 0,
            check: if e.cred.test_image.is_empty() {
                Check::Login
            } else {
                Check::Image
            },
        },
    )
    .await
}

/// Runs `check` on every item concurrently, at most `forks` at a time, calling `done`
/// as each finishes; results in input order (`failed` stands in for a panicked check).
pub(crate) async fn bounded<I, R, Fut>(
    items: &[I],
    forks: usize,
    check: impl Fn(I) -> Fut,
    mut done: impl FnMut(&R),
    failed: impl Fn(&I) -> R,
) -> Vec<R>
where
    I: Clone + Send + 'static,
    R: Send + 'static,
    Fut: std::future::Future<Output = R> + Send + 'static,
{
    let permits = Arc::new(tokio::sync::Semaphore::new(forks.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (i, item) in items.iter().cloned().enumerate() {
        let permits = permits.clone();
        let fut = check(item);
        set.spawn(async move {
            // The semaphore is never closed, so acquiring cannot fail.
            let _permit = permits.acquire_owned().await;
            (i, fut.await)
        });
    }
    let mut results: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((i, r)) => {
                done(&r);
                results[i] = Some(r);
            }
            // A panicking check is a bug; report it where its result would be.
            Err(e) => tracing::error!("a registry check panicked: {e}"),
        }
    }
    results
        .into_iter()
        .zip(items)
        .map(|(r, item)| r.unwrap_or_else(|| failed(item)))
        .collect()
}

/// A host defined by more than one entry: all are checked, the last one wins on nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The registry host.
    pub host: String,
    /// Every entry's source, in inventory order.
    pub sources: Vec<String>,
    /// The entry whose credentials the nodes will get (the last, as the installer merges).
    pub winner: String,
}

/// Hosts that appear in more than one entry, in order of first appearance.
pub fn duplicates(creds: &[RegistryCredential]) -> Vec<Duplicate> {
    let mut order: Vec<&str> = Vec::new();
    let mut by_host: std::collections::HashMap<&str, Vec<String>> = Default::default();
    for c in creds {
        let e = by_host.entry(c.host.as_str()).or_default();
        if e.is_empty() {
            order.push(&c.host);
        }
        e.push(c.source.clone());
    }
    order
        .into_iter()
        .filter_map(|h| {
            let sources = by_host.remove(h)?;
            (sources.len() > 1).then(|| Duplicate {
                host: h.to_string(),
                winner: sources.last().cloned().unwrap_or_default(),
                sources,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn cred(host: &str, source: &str) -> RegistryCredential {
        RegistryCredential {
            host: host.into(),
            user: "u".into(),
            password: SecretString::from("p"),
            test_login: false,
            test_image: "a/b:c".into(),
            tls_verify: true,
            source: source.into(),
        }
    }

    #[test]
    fn duplicates_name_the_last() {
        let c = [
            cred("a", "oreg_auth_user"),
            cred("b", "x[0]"),
            cred("a", "x[1]"),
        ];
        assert_eq!(
            duplicates(&c),
            [Duplicate {
                host: "a".into(),
                sources: vec!["oreg_auth_user".into(), "x[1]".into()],
                winner: "x[1]".into()
            }]
        );
    }

    #[tokio::test]
    async fn skipped_in_order() {
        let c = [cred("a", "s0"), cred("b", "s1")];
        let opts = ValidateOptions {
            check: CheckOptions::default(),
            forks: 1,
        };
        let r = validate_all(&c, &opts).await;
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].source, "s1");
        assert!(r.iter().all(|r| r.reason == Reason::Skipped
            && r.status == Status::Skipped
            && r.attempts == 0));
        let j = serde_json::to_value(&r[0]).unwrap();
        assert_eq!(j["reason"], "skipped");
        assert_eq!(j["status"], "skipped");
    }
}
