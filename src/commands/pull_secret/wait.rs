//! `--wait`: the rollout as people see it (a progress line with per-pool machine
//! counts: a spinner on a terminal, a line per change otherwise) and as programs
//! read it (the `rollout` object of the JSON document).

use crate::cluster::rollout::{self, PoolProgress, RolloutFailure, Snapshot, WaitOptions};
use crate::exit::{Exit, Failure};
use crate::output::{Format, Output, Paint};
use std::time::Duration;

/// How the wait ended, with the pools as last seen.
pub struct Outcome {
    status: &'static str,
    pools: Vec<PoolProgress>,
    waited: Duration,
    /// Set when the command must fail.
    pub failure: Option<Failure>,
}

/// The `rollout` object of the JSON document.
#[derive(Debug, serde::Serialize)]
pub struct RolloutReport {
    /// updated, degraded, timeout, error, or unchanged (nothing to roll out).
    status: &'static str,
    duration_ms: u128,
    pools: Vec<PoolProgress>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

impl RolloutReport {
    /// Nothing was written, so nothing rolls out.
    pub fn unchanged() -> Self {
        RolloutReport {
            status: "unchanged",
            duration_ms: 0,
            pools: Vec::new(),
            message: None,
        }
    }
}

impl Outcome {
    /// The JSON view.
    pub fn report(&self) -> RolloutReport {
        RolloutReport {
            status: self.status,
            duration_ms: self.waited.as_millis(),
            pools: self.pools.clone(),
            message: self.failure.as_ref().map(|f| f.message.clone()),
        }
    }
}

fn line(pools: &[PoolProgress]) -> String {
    pools
        .iter()
        .map(rollout::summary)
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Follows the rollout, showing progress on stderr, and prints the pools' final
/// state on stdout (text) when it succeeds.
pub async fn follow(
    client: &kube::Client,
    before: &Snapshot,
    opts: WaitOptions,
    out: &Output,
) -> Outcome {
    let bar = out.interactive().then(|| {
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{spinner} rollout {elapsed}: {wide_msg}")
        {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    });
    let start = std::time::Instant::now();
    let mut shown = String::new();
    let result = rollout::wait(client, before, opts, |pools, elapsed| {
        let now = line(pools);
        match &bar {
            Some(b) => b.set_message(now),
            None if now != shown => {
                out.status(&format!("rollout {}s: {now}", elapsed.as_secs()));
                shown = now;
            }
            None => {}
        }
    })
    .await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let waited = start.elapsed();
    let failed = |m: String| Some(Failure::new(Exit::Failed, m));
    let (status, pools, failure) = match result {
        Err(e) => ("error", Vec::new(), Some(Failure::from_err(e))),
        Ok(Ok(pools)) => ("updated", pools, None),
        Ok(Err(f)) => {
            let message = rollout::failure_message(&f);
            match f {
                RolloutFailure::Degraded(p) => ("degraded", p, failed(message)),
                RolloutFailure::Timeout(p, _) => ("timeout", p, failed(message)),
            }
        }
    };
    if failure.is_none() && out.format() == Format::Text {
        for p in &pools {
            out.data(&format!(
                "machineconfigpool/{} {} ({}/{} machines on {})",
                p.name,
                out.paint("updated", Paint::Green),
                p.updated_machine_count,
                p.machine_count,
                p.target
            ));
        }
    }
    Outcome {
        status,
        pools,
        waited,
        failure,
    }
}
