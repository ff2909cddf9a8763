//! The progress line of a host step, on a terminal only: hosts done of all, how many
//! changed and failed so far, elapsed time and an ETA. The per-host lines are printed
//! as before; piped and JSON output get no progress line.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts for one step, updated from the workers.
pub struct Progress {
    bar: ProgressBar,
    changed: AtomicU64,
    failed: AtomicU64,
}

impl Progress {
    /// A line for `hosts` hosts, drawn on stderr.
    pub fn new(hosts: u64) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(hosts), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "  {bar:30} {pos}/{len} hosts  {msg}  {elapsed} elapsed, ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let p = Progress {
            bar,
            changed: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        };
        p.redraw();
        p
    }

    fn redraw(&self) {
        self.bar.set_message(format!(
            "changed {}, failed {}",
            self.changed.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed)
        ));
    }

    /// One host finished (`ok` false: failed or unreachable).
    pub fn done(&self, ok: bool) {
        if !ok {
            self.failed.fetch_add(1, Ordering::Relaxed);
            self.redraw();
        }
        self.bar.inc(1);
    }

    /// Hosts finished without being contacted (skipped).
    pub fn skipped(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Hosts that would change (check mode), finished without being contacted.
    pub fn would_change(&self, n: u64) {
        self.changed.fetch_add(n, Ordering::Relaxed);
        self.redraw();
        self.bar.inc(n);
    }

    /// The host being finished changed something.
    pub fn changed(&self) {
        self.changed.fetch_add(1, Ordering::Relaxed);
        self.redraw();
    }

    /// Clears the line.
    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}
