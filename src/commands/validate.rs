//! `regauth validate`: check every registry credential the inventory defines,
//! once each, from this host, in parallel; print one line (or JSON object) per
//! credential and a summary; exit 2 when any failed. Changes nothing anywhere.

use crate::exit::{Exit, Failure};
use crate::inventory::{self, LoadOptions};
use crate::model::{Proxies, RegistryCredential};
use crate::output::{Format, Output, Paint};
use crate::registry::{self, CheckOptions, CheckResult, Status, Trust, ValidateOptions};
use std::path::PathBuf;
use std::time::Duration;

/// How credentials are checked (everything but where they come from).
#[derive(Debug, Clone)]
pub struct Checks {
    /// Only these registry hosts (`--registry`); empty means all.
    pub registries: Vec<String>,
    /// Checks at once (`--forks`).
    pub forks: usize,
    /// Limit per attempt (`--timeout`).
    pub timeout: Duration,
    /// Further attempts after transient failures (`--retries`).
    pub retries: u32,
    /// Pause between attempts (`--retry-delay`).
    pub retry_delay: Duration,
    /// `--certs-dir` instead of /etc/containers/certs.d and /etc/docker/certs.d.
    pub certs_dir: Option<PathBuf>,
}

/// Settings for `regauth validate`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Inventory sources and vault password.
    pub load: LoadOptions,
    /// How to check.
    pub checks: Checks,
}

/// Loads the inventory, builds the model and checks its credentials.
pub fn run(settings: &Settings, out: &Output) -> Result<Exit, Failure> {
    let inv = inventory::load(&settings.load).map_err(Failure::from_err)?;
    for w in inv.warnings() {
        out.warn(w);
    }
    let model = crate::model::from_inventory(&inv).map_err(Failure::from_err)?;
    validate(model.registries, model.proxies, &settings.checks, out)
}

/// Checks `creds` and reports: the entry point for anything that has credentials
/// in hand (the playbooks' validate step, `login`).
pub fn validate(
    creds: Vec<RegistryCredential>,
    proxies: Proxies,
    checks: &Checks,
    out: &Output,
) -> Result<Exit, Failure> {
    let creds = select(creds, &checks.registries)?;
    for d in registry::duplicates(&creds) {
        out.warn(&format!(
            "{} is defined by {} entries ({}); all are checked, nodes will get the last one ({})",
            d.host,
            d.sources.len(),
            d.sources.join(", "),
            d.winner
        ));
    }
    let opts = ValidateOptions {
        check: CheckOptions {
            trust: Trust::new(checks.certs_dir.clone()),
            proxies,
            timeout: checks.timeout,
            retries: checks.retries,
            retry_delay: checks.retry_delay,
            shared: Default::default(),
        },
        forks: checks.forks.max(1),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Failure::new(
                Exit::Unexpected,
                format!("cannot start the async runtime: {e}"),
            )
        })?;
    let bar = progress(out, creds.len());
    let checks = registry::validate_all_with(&creds, &opts, |r| match &bar {
        Some(b) => {
            b.set_message(format!("{} {}", r.registry, r.reason));
            b.inc(1);
        }
        None => out.status(&format!(
            "checked {} ({}): {}",
            r.registry, r.source, r.reason
        )),
    });
    // ^C ends the run with ansible-playbook's "interrupted" code, not a signal death.
    let results = runtime.block_on(async {
        tokio::select! {
            results = checks => Some(results),
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let Some(results) = results else {
        return Err(Failure::new(
            Exit::Interrupted,
            "interrupted: no result reported",
        ));
    };
    report(&results, out);
    Ok(if results.iter().any(|r| r.status == Status::Failed) {
        Exit::Failed
    } else {
        Exit::Ok
    })
}

/// Keeps the credentials of the `--registry` hosts; a host the inventory lacks is a usage error.
fn select(
    creds: Vec<RegistryCredential>,
    wanted: &[String],
) -> Result<Vec<RegistryCredential>, Failure> {
    if wanted.is_empty() {
        return Ok(creds);
    }
    if let Some(missing) = wanted.iter().find(|w| !creds.iter().any(|c| &c.host == *w)) {
        let mut known: Vec<&str> = Vec::new();
        for c in &creds {
            if !known.contains(&c.host.as_str()) {
                known.push(&c.host);
            }
        }
        return Err(Failure::new(
            Exit::Usage,
            format!(
                "--registry {missing}: the inventory defines no credential for it (it has: {})",
                known.join(", ")
            ),
        ));
    }
    Ok(creds
        .into_iter()
        .filter(|c| wanted.contains(&c.host))
        .collect())
}

/// A progress bar on a terminal, nothing otherwise (plain lines are printed instead).
fn progress(out: &Output, len: usize) -> Option<indicatif::ProgressBar> {
    if !out.interactive() || len == 0 {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} checking registries [{bar:30}] {pos}/{len} {msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(100));
    Some(bar)
}

/// Counts per status, as the JSON `summary`.
fn summary(results: &[CheckResult]) -> (usize, usize, usize) {
    let count = |s| results.iter().filter(|r| r.status == s).count();
    (
        count(Status::Ok),
        count(Status::Failed),
        count(Status::Skipped),
    )
}

/// Prints the results: JSON per SPEC.md, or one line each and a summary line.
fn report(results: &[CheckResult], out: &Output) {
    let (ok, failed, skipped) = summary(results);
    if out.format() == Format::Json {
        out.json(&serde_json::json!({
            "results": results,
            "summary": {"ok": ok, "failed": failed, "skipped": skipped},
        }));
        return;
    }
    if results.is_empty() {
        out.status("the inventory defines no registry credentials (oreg_auth_user, openshift_additional_registry_credentials)");
    }
    let mut text = String::new();
    for r in results {
        let (word, paint) = match r.status {
            Status::Ok => ("ok", Paint::Green),
            Status::Failed => ("failed", Paint::Red),
            Status::Skipped => ("skipped", Paint::Cyan),
        };
        let attempts = if r.attempts > 1 {
            format!("{} attempts, ", r.attempts)
        } else {
            String::new()
        };
        let reason = if r.status == Status::Failed {
            format!("{}: ", r.reason)
        } else {
            String::new()
        };
        text.push_str(&format!(
            "{} {} {} [{}] {reason}{} ({attempts}{} ms)\n",
            out.paint(&format!("{word:<7}"), paint),
            r.registry,
            r.user,
            r.source,
            r.message,
            r.duration_ms
        ));
    }
    let line = format!("registries: ok={ok} failed={failed} skipped={skipped}");
    let paint = if failed > 0 { Paint::Red } else { Paint::Green };
    text.push_str(&out.paint(&line, paint));
    out.data(&text);
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn cred(host: &str) -> RegistryCredential {
        RegistryCredential {
            host: host.into(),
            user: "u".into(),
            password: SecretString::from("p"),
            test_login: true,
            test_image: "a/b".into(),
            tls_verify: true,
            source: "s".into(),
        }
    }

    #[test]
    fn registry_filter() {
        let all = vec![cred("a"), cred("b:5000"), cred("a")];
        assert_eq!(select(all.clone(), &[]).unwrap().len(), 3);
        let only = select(all.clone(), &["b:5000".into()]).unwrap();
        assert_eq!(only[0].host, "b:5000");
        let e = select(all, &["c".into()]).unwrap_err();
        assert_eq!(e.exit, Exit::Usage);
        assert!(e.message.contains("it has: a, b:5000"), "{}", e.message);
    }
}
