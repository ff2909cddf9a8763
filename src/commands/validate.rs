//! `regauth validate`: check every registry credential the inventory defines,
//! once each, from this host, in parallel; print one line (or JSON object) per
//! credential and a summary; exit 2 when any failed. Changes nothing anywhere.

use super::{reason_prefix, status_word};
use crate::exit::{Exit, Failure};
use crate::inventory::{self, LoadOptions};
use crate::model::{Proxies, RegistryCredential};
use crate::output::{Format, Output, Paint};
use crate::registry::{self, CheckOptions, CheckResult, Status, Trust, ValidateOptions};
use crate::sources::release::Release;
use crate::sources::{Loaded, Source, TestImages};
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
    /// Inventory sources and vault password (for [`Source::Inventory`]).
    pub load: LoadOptions,
    /// How to check.
    pub checks: Checks,
    /// Where the credentials come from.
    pub source: Source,
    /// `--test-image KEY=IMAGE` arguments.
    pub test_images: Vec<String>,
    /// `--release-image REF`.
    pub release_image: Option<String>,
    /// `--images`: also every image the installer's run would pull.
    pub images: bool,
}

/// Loads the credential source and checks its credentials (and the release image).
pub fn run(settings: &Settings, out: &Output) -> Result<Exit, Failure> {
    let mut tests = TestImages::parse(&settings.test_images)?;
    super::images::require_inventory(
        settings.images,
        matches!(settings.source, Source::Inventory),
    )?;
    let mut image_plan = None;
    let mut loaded = match &settings.source {
        Source::Inventory => {
            let inv = inventory::load(&settings.load).map_err(Failure::from_err)?;
            for w in inv.warnings() {
                out.warn(w);
            }
            let model = crate::model::from_inventory(&inv).map_err(Failure::from_err)?;
            if settings.images {
                image_plan = Some(super::images::plan(&inv, &model)?);
            }
            Loaded::from_credentials(model.registries, model.proxies)
        }
        other => runtime()?.block_on(crate::sources::load(other, &mut tests))?,
    };
    if matches!(settings.source, Source::Inventory) {
        for e in &mut loaded.entries {
            if let Ok(key) = crate::authfile::RegistryKey::parse(&e.registry) {
                let image = tests.take(&e.registry, &key);
                if !image.is_empty() {
                    e.cred.test_image = image;
                }
            }
        }
    }
    let known: Vec<String> = loaded.entries.iter().map(|e| e.registry.clone()).collect();
    tests.finish(&known)?;
    check_and_report(
        loaded,
        settings.release_image.as_deref(),
        image_plan.as_ref(),
        &settings.checks,
        out,
    )
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Failure::new(
                Exit::Unexpected,
                format!("cannot start the async runtime: {e}"),
            )
        })
}

/// Checks `creds` and reports: the entry point for anything that has credentials
/// in hand (the playbooks' validate step, `login`).
pub fn validate(
    creds: Vec<RegistryCredential>,
    proxies: Proxies,
    checks: &Checks,
    out: &Output,
) -> Result<Exit, Failure> {
    check_and_report(
        Loaded::from_credentials(creds, proxies),
        None,
        None,
        checks,
        out,
    )
}

/// Checks what a source gave (and the release image), then reports.
fn check_and_report(
    loaded: Loaded,
    release_image: Option<&str>,
    image_plan: Option<&crate::model::images::ImagePlan>,
    checks: &Checks,
    out: &Output,
) -> Result<Exit, Failure> {
    let entries = select(loaded.entries.clone(), &checks.registries)?;
    let creds: Vec<RegistryCredential> = entries.iter().map(|e| e.cred.clone()).collect();
    let duplicates = match loaded.merged_per_host {
        true => registry::duplicates(&creds),
        false => Vec::new(),
    };
    for d in duplicates {
        out.warn(&format!(
            "{} is defined by {} entries ({}); all are checked, nodes will get the last one ({})",
            d.host,
            d.sources.len(),
            d.sources.join(", "),
            d.winner
        ));
    }
    let mut trust = Trust::new(checks.certs_dir.clone());
    if let Some(pem) = &loaded.bundle {
        trust = trust
            .with_bundle(pem)
            .map_err(|e| Failure::new(Exit::Parse, format!("additionalTrustBundle: {e}")))?;
    }
    let opts = ValidateOptions {
        check: CheckOptions {
            trust,
            proxies: loaded.proxies.clone(),
            timeout: checks.timeout,
            retries: checks.retries,
            retry_delay: checks.retry_delay,
            shared: Default::default(),
        },
        forks: checks.forks.max(1),
    };
    let runtime = runtime()?;
    let bar = progress(out, entries.len());
    let checked = registry::validate_entries_with(&entries, &opts, |r| match &bar {
        Some(b) => {
            b.set_message(format!("{} {}", r.registry, r.reason));
            b.inc(1);
        }
        None => out.status(&format!(
            "checked {} ({}): {}",
            r.registry, r.source, r.reason
        )),
    });
    let all = async {
        let results = checked.await;
        let release = match release_image {
            Some(image) => Some(crate::sources::release::check(image, &loaded, &opts.check).await),
            None => None,
        };
        let images = match image_plan {
            Some(plan) => Some(super::images::check(plan, &opts).await),
            None => None,
        };
        (results, release, images)
    };
    // ^C ends the run with ansible-playbook's "interrupted" code and a word about it.
    let done = {
        let _checks = crate::interrupt::defer();
        runtime.block_on(async {
            tokio::select! {
                done = all => Some(done),
                () = crate::interrupt::wait() => None,
            }
        })
    };
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let Some((results, release, images)) = done else {
        return Err(Failure::new(
            Exit::Interrupted,
            "interrupted: no result reported",
        ));
    };
    report(&results, release.as_ref(), images.as_ref(), out);
    let release_failed = release.as_ref().is_some_and(|r| r.status == Status::Failed)
        || images.as_ref().is_some_and(|i| i.failed());
    Ok(
        if release_failed || results.iter().any(|r| r.status == Status::Failed) {
            Exit::Failed
        } else {
            Exit::Ok
        },
    )
}

/// Keeps the entries of the `--registry` hosts (or keys); one the source lacks is a usage error.
fn select(
    entries: Vec<registry::Entry>,
    wanted: &[String],
) -> Result<Vec<registry::Entry>, Failure> {
    if wanted.is_empty() {
        return Ok(entries);
    }
    let hit = |e: &registry::Entry, w: &String| &e.cred.host == w || &e.registry == w;
    if let Some(missing) = wanted.iter().find(|w| !entries.iter().any(|e| hit(e, w))) {
        let mut known: Vec<&str> = Vec::new();
        for e in &entries {
            if !known.contains(&e.registry.as_str()) {
                known.push(&e.registry);
            }
        }
        return Err(Failure::new(
            Exit::Usage,
            format!(
                "--registry {missing}: the source defines no credential for it (it has: {})",
                known.join(", ")
            ),
        ));
    }
    Ok(entries
        .into_iter()
        .filter(|e| wanted.iter().any(|w| hit(e, w)))
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
fn report(
    results: &[CheckResult],
    release: Option<&Release>,
    images: Option<&super::images::Checked>,
    out: &Output,
) {
    let (ok, failed, skipped) = summary(results);
    if out.format() == Format::Json {
        let mut doc = serde_json::json!({
            "results": results,
            "summary": {"ok": ok, "failed": failed, "skipped": skipped},
        });
        if let Some(r) = release {
            doc["release"] = serde_json::json!(r);
        }
        if let Some(i) = images {
            doc["images"] = i.json();
        }
        out.json(&doc);
        return;
    }
    if results.is_empty() {
        out.status("the source defines no registry credentials");
    }
    let mut text = String::new();
    for r in results {
        let attempts = if r.attempts > 1 {
            format!("{} attempts, ", r.attempts)
        } else {
            String::new()
        };
        text.push_str(&format!(
            "{} {} {} [{}] {}{} ({attempts}{} ms)\n",
            status_word(out, r.status),
            r.registry,
            if r.user.is_empty() { "-" } else { &r.user },
            r.source,
            reason_prefix(r.status, r.reason),
            r.message,
            r.duration_ms
        ));
    }
    if let Some(r) = release {
        text.push_str(&format!(
            "{} release {} {}{}\n",
            status_word(out, r.status),
            r.image,
            reason_prefix(r.status, r.reason),
            r.message
        ));
    }
    if let Some(i) = images {
        text.push_str(&i.text(out, |s| status_word(out, s)));
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
        let all: Vec<registry::Entry> = [cred("a"), cred("b:5000"), cred("a")]
            .into_iter()
            .map(registry::Entry::from)
            .collect();
        assert_eq!(select(all.clone(), &[]).unwrap().len(), 3);
        let only = select(all.clone(), &["b:5000".into()]).unwrap();
        assert_eq!(only[0].cred.host, "b:5000");
        let e = select(all, &["c".into()]).unwrap_err();
        assert_eq!(e.exit, Exit::Usage);
        assert!(e.message.contains("it has: a, b:5000"), "{}", e.message);
    }
}
