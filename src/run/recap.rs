//! Per-host results and the recap, as ansible-playbook reports them.

use std::collections::BTreeMap;

/// Where steps that run on the control host (registry checks) are counted.
pub const CONTROL_HOST: &str = "localhost";

/// What a step did on one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostStatus {
    /// Nothing needed changing.
    Ok,
    /// Something changed (or would, in check mode).
    Changed,
    /// The step failed on this host; it takes no further steps.
    Failed,
    /// The host could not be reached; it takes no further steps.
    Unreachable,
    /// The step did not apply to this host.
    Skipped,
}

impl HostStatus {
    /// Ansible's word.
    pub fn word(self) -> &'static str {
        match self {
            HostStatus::Ok => "ok",
            HostStatus::Changed => "changed",
            HostStatus::Failed => "failed",
            HostStatus::Unreachable => "unreachable",
            HostStatus::Skipped => "skipping",
        }
    }
}

/// Counters per host, like Ansible's PLAY RECAP.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Steps that succeeded (changed ones included, as Ansible counts).
    pub ok: u32,
    /// Steps that changed something.
    pub changed: u32,
    /// Steps that could not reach the host.
    pub unreachable: u32,
    /// Steps that failed.
    pub failed: u32,
    /// Steps skipped for the host.
    pub skipped: u32,
    /// Always 0 (no rescue blocks).
    pub rescued: u32,
    /// Always 0 (no ignore_errors).
    pub ignored: u32,
}

/// The recap of a run.
#[derive(Debug, Default)]
pub struct Recap {
    /// Counters by host.
    pub hosts: BTreeMap<String, Stats>,
}

impl Recap {
    /// Counts one step's outcome for a host.
    pub fn record(&mut self, host: &str, status: HostStatus) {
        let s = self.hosts.entry(host.to_string()).or_default();
        match status {
            HostStatus::Ok => s.ok += 1,
            HostStatus::Changed => {
                s.ok += 1;
                s.changed += 1;
            }
            HostStatus::Failed => s.failed += 1,
            HostStatus::Unreachable => s.unreachable += 1,
            HostStatus::Skipped => s.skipped += 1,
        }
    }

    /// Inventory hosts that failed or were unreachable (for the retry file; the control
    /// host is not one to rerun with --limit).
    pub fn failed_hosts(&self) -> Vec<&str> {
        self.hosts
            .iter()
            .filter(|(h, _)| h.as_str() != CONTROL_HOST)
            .filter(|(_, s)| s.failed > 0 || s.unreachable > 0)
            .map(|(h, _)| h.as_str())
            .collect()
    }

    /// ansible-playbook's exit code: 2 if any host failed, else 3 if any was unreachable.
    pub fn exit(&self) -> crate::exit::Exit {
        if self.hosts.values().any(|s| s.failed > 0) {
            crate::exit::Exit::Failed
        } else if self.hosts.values().any(|s| s.unreachable > 0) {
            crate::exit::Exit::Unreachable
        } else {
            crate::exit::Exit::Ok
        }
    }

    /// The `PLAY RECAP` lines.
    pub fn lines(&self) -> Vec<String> {
        let width = self
            .hosts
            .keys()
            .map(|h| h.len())
            .max()
            .unwrap_or(0)
            .max(26);
        self.hosts
            .iter()
            .map(|(h, s)| {
                format!(
                    "{h:<width$} : ok={:<4} changed={:<4} unreachable={:<4} failed={:<4} skipped={:<4} rescued={:<4} ignored={}",
                    s.ok, s.changed, s.unreachable, s.failed, s.skipped, s.rescued, s.ignored
                )
            })
            .collect()
    }
}
