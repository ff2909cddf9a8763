//! One module per command: each takes validated settings (never clap types),
//! does its work through the domain modules and returns an exit status.

pub mod grant;
pub mod images;

pub use crate::run::run;
pub mod inventory;
pub mod login;
pub mod pull_secret;
pub mod secret;
pub mod validate;

use crate::cluster::Change;
use crate::output::{Format, Output, Paint};

/// Runs async cluster work from a synchronous command.
pub(crate) fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("starting the async runtime")
        .block_on(fut)
}

/// Connects as kubectl does and picks the namespace by kubectl's rule: `-n`, else
/// the kubeconfig context's.
pub(crate) async fn connect_in(
    kube: &crate::cluster::ConnectOptions,
    namespace: Option<&str>,
) -> Result<(kube::Client, String), crate::exit::Failure> {
    let (client, _) = crate::cluster::connect(kube)
        .await
        .map_err(crate::exit::Failure::from_err)?;
    let ns = namespace.map_or_else(|| client.default_namespace().to_string(), str::to_string);
    Ok((client, ns))
}

/// Prints what happened to one object, as kubectl does (`secret/x created`), or as JSON.
pub(crate) fn report_change(
    out: &Output,
    kind: &str,
    ns: &str,
    name: &str,
    change: &Change,
    dry_run: bool,
    diff: &str,
) {
    let word = match change {
        Change::Created => "created",
        Change::Updated => "configured",
        Change::Unchanged => "unchanged",
    };
    match out.format() {
        Format::Json => out.json(&serde_json::json!({
            "kind": kind, "namespace": ns, "name": name, "result": word,
            "changed": *change != Change::Unchanged, "dry_run": dry_run, "diff": diff,
        })),
        _ => {
            let paint = if *change == Change::Unchanged {
                Paint::Green
            } else {
                Paint::Yellow
            };
            let suffix = if dry_run { " (server dry run)" } else { "" };
            out.data(&format!("{kind}/{name} {}{suffix}", out.paint(word, paint)));
            if dry_run && !diff.is_empty() {
                out.data(diff);
            }
        }
    }
}

/// A check status's word, padded, and its colour.
fn status_paint(status: crate::registry::Status) -> (String, Paint) {
    use crate::registry::Status;
    let (word, paint) = match status {
        Status::Ok => ("ok", Paint::Green),
        Status::Failed => ("failed", Paint::Red),
        Status::Skipped => ("skipped", Paint::Cyan),
    };
    (format!("{word:<7}"), paint)
}

/// The coloured status word of a check's line on stdout (validate).
pub(crate) fn status_word(out: &Output, status: crate::registry::Status) -> String {
    let (word, paint) = status_paint(status);
    out.paint(&word, paint)
}

/// The coloured status word of a check's line on stderr (pull-secret update).
pub(crate) fn status_word_err(out: &Output, status: crate::registry::Status) -> String {
    let (word, paint) = status_paint(status);
    out.paint_err(&word, paint)
}

/// `reason: ` before a failed check's message; nothing otherwise.
pub(crate) fn reason_prefix(
    status: crate::registry::Status,
    reason: impl std::fmt::Display,
) -> String {
    match status {
        crate::registry::Status::Failed => format!("{reason}: "),
        _ => String::new(),
    }
}
