//! Following the Machine Config Operator's rollout of a change (the global pull
//! secret) to every node: each MachineConfigPool renders a new config, then its
//! machines move to it; done when every pool reports Updated on that new config.
//!
//! How the MCO reports it (machine-config-operator, pkg/controller/node/status.go):
//! the render controller points `spec.configuration.name` at a new `rendered-<pool>-<hash>`
//! (bumping `metadata.generation`); the node controller then writes `status` with
//! `observedGeneration` = the generation it acted on, `machineCount` and the
//! updated/ready/unavailable/degraded counts, `Updated`=True only when every machine
//! is updated and ready and none unavailable (and only then copies the spec's
//! configuration into `status.configuration`), `Updating`=True meanwhile, and
//! `Degraded`=True with "Node X is reporting: \"reason\"" messages when a machine
//! config daemon marked its Node `machineconfiguration.openshift.io/state=Degraded`.
//!
//! Polling, not a watch: the wait spans two resources (pools, and Nodes only
//! when a pool degrades), lasts up to half an hour across API-server restarts and
//! watch-expiry (410) cycles, and needs a look every few seconds at most; a GET of
//! a handful of pools per interval is cheaper to get right than a relisting watcher
//! and answers "where is it now" the same way `oc get mcp` does.

use super::error::ClusterError;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{ApiResource, DynamicObject, ListParams};
use kube::core::{GroupVersionKind, Selector, SelectorExt};
use kube::{Api, Client};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const GROUP: &str = "machineconfiguration.openshift.io";
/// Node annotation the machine config daemon sets to Done, Working, Degraded or Unreconcilable.
const STATE_ANNOTATION: &str = "machineconfiguration.openshift.io/state";
/// Node annotation holding the daemon's reason when degraded.
const REASON_ANNOTATION: &str = "machineconfiguration.openshift.io/reason";

/// A pool as it was just before the write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolBefore {
    /// The rendered config the pool was targeting (`spec.configuration.name`).
    pub target: String,
    /// `metadata.generation`.
    pub generation: i64,
}

/// Every pool's state before the write, by pool name.
pub type Snapshot = BTreeMap<String, PoolBefore>;

/// Where one pool is in the rollout.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PoolProgress {
    /// Pool name (master, worker, ...).
    pub name: String,
    /// The rendered config targeted before the write.
    pub config_before: Option<String>,
    /// The rendered config targeted now (`spec.configuration.name`).
    pub target: String,
    /// The rendered config every machine is on (`status.configuration.name`).
    pub current: String,
    /// `status.machineCount`.
    pub machine_count: i64,
    /// `status.updatedMachineCount`.
    pub updated_machine_count: i64,
    /// `status.readyMachineCount`.
    pub ready_machine_count: i64,
    /// `status.unavailableMachineCount`.
    pub unavailable_machine_count: i64,
    /// `status.degradedMachineCount`.
    pub degraded_machine_count: i64,
    /// A config newer than the write has been rendered and is the one the status describes.
    pub rendered: bool,
    /// Updated on that newer config: this pool is done.
    pub updated: bool,
    /// `spec.paused`: the MCO will not roll anything out here until unpaused.
    pub paused: bool,
    /// The Degraded condition's message when it is True.
    pub degraded: Option<String>,
    /// Degraded machines and their daemons' reasons (filled in when the pool is degraded).
    pub degraded_machines: Vec<DegradedMachine>,
}

/// A machine the machine config daemon marked Degraded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DegradedMachine {
    /// The Node's name.
    pub name: String,
    /// The daemon's `reason` annotation, or the pool condition's words.
    pub reason: String,
}

/// How the wait ended, when it did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolloutFailure {
    /// At least one pool is Degraded.
    Degraded(Vec<PoolProgress>),
    /// The time ran out.
    Timeout(Vec<PoolProgress>, Duration),
}

/// The pools' body fields we read.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PoolBody {
    #[serde(default)]
    spec: PoolSpec,
    #[serde(default)]
    status: PoolStatus,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PoolSpec {
    #[serde(default)]
    configuration: ConfigRef,
    #[serde(default)]
    paused: bool,
    node_selector: Option<LabelSelector>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PoolStatus {
    #[serde(default)]
    observed_generation: i64,
    #[serde(default)]
    configuration: ConfigRef,
    #[serde(default)]
    machine_count: i64,
    #[serde(default)]
    updated_machine_count: i64,
    #[serde(default)]
    ready_machine_count: i64,
    #[serde(default)]
    unavailable_machine_count: i64,
    #[serde(default)]
    degraded_machine_count: i64,
    #[serde(default)]
    conditions: Vec<Condition>,
}

#[derive(Debug, Default, Deserialize)]
struct ConfigRef {
    #[serde(default)]
    name: String,
}

#[derive(Debug, Default, Deserialize)]
struct Condition {
    #[serde(rename = "type")]
    type_: String,
    status: String,
    #[serde(default)]
    message: String,
}

/// One pool as read from the API server.
struct Pool {
    name: String,
    generation: i64,
    body: PoolBody,
}

fn pools_api(client: &Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk(GROUP, "v1", "MachineConfigPool");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "machineconfigpools");
    Api::all_with(client.clone(), &ar)
}

async fn list_pools(client: &Client) -> Result<Vec<Pool>, kube::Error> {
    let list = pools_api(client).list(&ListParams::default()).await?;
    Ok(list
        .items
        .into_iter()
        .map(|o| Pool {
            name: o.metadata.name.clone().unwrap_or_default(),
            generation: o.metadata.generation.unwrap_or_default(),
            body: serde_json::from_value(o.data).unwrap_or_default(),
        })
        .collect())
}

fn list_error(e: kube::Error) -> ClusterError {
    if let kube::Error::Api(s) = &e
        && s.code == 404
    {
        return ClusterError::NotFound(
            "this cluster has no MachineConfigPools (machineconfiguration.openshift.io/v1): --wait follows the Machine Config Operator of OpenShift 4".into(),
        );
    }
    ClusterError::from_kube(e, "machineconfigpools", None)
}

/// Reads every pool's target before the write, so the wait can tell a config
/// rendered from the write from the one already there.
pub async fn snapshot(client: &Client) -> Result<Snapshot, ClusterError> {
    let pools = list_pools(client).await.map_err(list_error)?;
    if pools.is_empty() {
        return Err(ClusterError::NotFound(
            "this cluster has no MachineConfigPools: nothing would roll the pull secret out (is it OpenShift 4?)".into(),
        ));
    }
    Ok(pools
        .into_iter()
        .map(|p| {
            (
                p.name,
                PoolBefore {
                    target: p.body.spec.configuration.name,
                    generation: p.generation,
                },
            )
        })
        .collect())
}

fn condition<'a>(status: &'a PoolStatus, type_: &str) -> Option<&'a Condition> {
    status.conditions.iter().find(|c| c.type_ == type_)
}

fn is_true(status: &PoolStatus, type_: &str) -> bool {
    condition(status, type_).is_some_and(|c| c.status == "True")
}

/// Judges one pool against its state before the write.
///
/// "Newer than the write" is decided on the pool's target, not on timestamps: the
/// pull secret is part of every pool's rendered config, so a real change makes the
/// render controller point `spec.configuration.name` at a new `rendered-*` name
/// (a content hash), which also bumps the pool's generation. The pool counts as
/// done only once (1) its target differs from the one seen before the write, (2)
/// the status was computed for that spec (`observedGeneration` ≥ `generation`;
/// otherwise the counts describe the previous spec), and (3) `Updated` is True with
/// `status.configuration.name` equal to the target and every machine counted
/// updated and ready. An `Updated` pool still on the old name is a pool the render
/// controller has not reached yet, not a finished one. A pool created after the
/// snapshot was rendered with the new secret from the start.
fn judge(pool: &Pool, before: Option<&PoolBefore>) -> PoolProgress {
    let (spec, st) = (&pool.body.spec, &pool.body.status);
    let target = spec.configuration.name.clone();
    let observed = st.observed_generation >= pool.generation;
    let rendered = observed
        && !target.is_empty()
        && before.is_none_or(|b| b.target != target && pool.generation > b.generation);
    let updated = rendered
        && is_true(st, "Updated")
        && st.configuration.name == target
        && st.updated_machine_count == st.machine_count
        && st.ready_machine_count == st.machine_count
        && st.unavailable_machine_count == 0;
    let degraded = is_true(st, "Degraded").then(|| {
        ["Degraded", "NodeDegraded", "RenderDegraded"]
            .iter()
            .filter_map(|t| condition(st, t))
            .find(|c| c.status == "True" && !c.message.is_empty())
            .map(|c| c.message.clone())
            .unwrap_or_else(|| "Degraded (no message)".into())
    });
    PoolProgress {
        name: pool.name.clone(),
        config_before: before.map(|b| b.target.clone()),
        target,
        current: st.configuration.name.clone(),
        machine_count: st.machine_count,
        updated_machine_count: st.updated_machine_count,
        ready_machine_count: st.ready_machine_count,
        unavailable_machine_count: st.unavailable_machine_count,
        degraded_machine_count: st.degraded_machine_count,
        rendered,
        updated,
        paused: spec.paused,
        degraded,
        degraded_machines: Vec::new(),
    }
}

/// The pool's degraded machines: its Nodes (by the pool's node selector) whose
/// daemon state is Degraded or Unreconcilable, with the daemon's reason; when the
/// Nodes cannot be read, the names the Degraded condition's message gives.
async fn degraded_machines(client: &Client, pool: &Pool, message: &str) -> Vec<DegradedMachine> {
    let selector: Option<Selector> = pool
        .body
        .spec
        .node_selector
        .clone()
        .and_then(|s| Selector::try_from(s).ok());
    let nodes: Api<Node> = Api::all(client.clone());
    let found: Vec<DegradedMachine> = match nodes.list(&ListParams::default()).await {
        Ok(list) => list
            .items
            .into_iter()
            .filter(|n| {
                let labels = n.metadata.labels.clone().unwrap_or_default();
                selector.as_ref().is_some_and(|s| s.matches(&labels))
            })
            .filter_map(|n| {
                let ann = n.metadata.annotations.unwrap_or_default();
                let state = ann.get(STATE_ANNOTATION).map(String::as_str);
                matches!(state, Some("Degraded" | "Unreconcilable")).then(|| DegradedMachine {
                    name: n.metadata.name.unwrap_or_default(),
                    reason: ann.get(REASON_ANNOTATION).cloned().unwrap_or_default(),
                })
            })
            .collect(),
        Err(e) => {
            tracing::debug!(error = %e, "cannot list nodes; naming degraded machines from the pool's condition");
            Vec::new()
        }
    };
    if found.is_empty() {
        from_condition_message(message)
    } else {
        found
    }
}

/// Parses the node controller's `Node NAME is reporting: "REASON"` phrases.
fn from_condition_message(message: &str) -> Vec<DegradedMachine> {
    message
        .split("Node ")
        .skip(1)
        .filter_map(|part| {
            let (name, rest) = part.split_once(" is reporting: ")?;
            let reason = rest.trim_end_matches([',', ' ']).trim_matches('"');
            Some(DegradedMachine {
                name: name.to_string(),
                reason: reason.to_string(),
            })
        })
        .collect()
}

/// How long and how often to look.
#[derive(Debug, Clone, Copy)]
pub struct WaitOptions {
    /// Give up after this long.
    pub timeout: Duration,
    /// Pause between two looks.
    pub interval: Duration,
}

/// Polls the pools until every one is Updated on a config rendered after the
/// snapshot, one is Degraded, or the time runs out. `progress` sees every look.
pub async fn wait(
    client: &Client,
    before: &Snapshot,
    opts: WaitOptions,
    mut progress: impl FnMut(&[PoolProgress], Duration),
) -> Result<Result<Vec<PoolProgress>, RolloutFailure>, ClusterError> {
    let start = Instant::now();
    let mut last: Vec<PoolProgress> = Vec::new();
    loop {
        match list_pools(client).await {
            Ok(pools) => {
                let mut now: Vec<PoolProgress> = Vec::with_capacity(pools.len());
                for pool in &pools {
                    let mut p = judge(pool, before.get(&pool.name));
                    if let Some(msg) = &p.degraded {
                        p.degraded_machines = degraded_machines(client, pool, msg).await;
                    }
                    now.push(p);
                }
                progress(&now, start.elapsed());
                if now.iter().any(|p| p.degraded.is_some()) {
                    return Ok(Err(RolloutFailure::Degraded(now)));
                }
                if !now.is_empty() && now.iter().all(|p| p.updated) {
                    return Ok(Ok(now));
                }
                last = now;
            }
            // A control plane rolling its own pods may drop a poll or two; keep going.
            Err(kube::Error::Api(s)) if s.code >= 500 => {}
            Err(kube::Error::HyperError(_) | kube::Error::Service(_)) => {}
            Err(e) => return Err(list_error(e)),
        }
        let elapsed = start.elapsed();
        if elapsed >= opts.timeout {
            return Ok(Err(RolloutFailure::Timeout(last, elapsed)));
        }
        tokio::time::sleep(opts.interval.min(opts.timeout - elapsed)).await;
    }
}

/// One pool in a few words: `worker 1/3 updated, 2 ready, 1 unavailable, 0 degraded`.
pub fn summary(p: &PoolProgress) -> String {
    let state = if p.updated {
        format!("updated on {}", p.target)
    } else if p.degraded.is_some() {
        "Degraded".into()
    } else if p.paused {
        "paused".into()
    } else if p.rendered {
        format!("updating to {}", p.target)
    } else {
        "waiting for a new rendered config".into()
    };
    format!(
        "{} {}/{} updated, {} ready, {} unavailable, {} degraded ({state})",
        p.name,
        p.updated_machine_count,
        p.machine_count,
        p.ready_machine_count,
        p.unavailable_machine_count,
        p.degraded_machine_count
    )
}

/// The failure as one message a person can act on.
pub fn failure_message(f: &RolloutFailure) -> String {
    match f {
        RolloutFailure::Degraded(pools) => {
            let parts: Vec<String> = pools
                .iter()
                .filter(|p| p.degraded.is_some())
                .map(|p| {
                    let machines: Vec<String> = p
                        .degraded_machines
                        .iter()
                        .map(|m| {
                            if m.reason.is_empty() {
                                m.name.clone()
                            } else {
                                format!("{} ({})", m.name, m.reason)
                            }
                        })
                        .collect();
                    let who = if machines.is_empty() {
                        p.degraded.clone().unwrap_or_default()
                    } else {
                        format!("degraded machines: {}", machines.join(", "))
                    };
                    format!(
                        "MachineConfigPool {} is Degraded ({}/{} updated, {} degraded): {who}",
                        p.name, p.updated_machine_count, p.machine_count, p.degraded_machine_count
                    )
                })
                .collect();
            format!(
                "{}; see `oc describe mcp` and the machine-config-daemon logs of those nodes",
                parts.join("; ")
            )
        }
        RolloutFailure::Timeout(pools, waited) => {
            let left: Vec<String> = pools.iter().filter(|p| !p.updated).map(summary).collect();
            format!(
                "the rollout did not finish within {}s: {}",
                waited.as_secs(),
                if left.is_empty() {
                    "no MachineConfigPool could be read".to_string()
                } else {
                    left.join("; ")
                }
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pool(name: &str, generation: i64, body: serde_json::Value) -> Pool {
        Pool {
            name: name.into(),
            generation,
            body: serde_json::from_value(body).unwrap(),
        }
    }

    fn body(
        target: &str,
        current: &str,
        observed: i64,
        updated: bool,
        counts: [i64; 5],
    ) -> serde_json::Value {
        json!({"spec":{"configuration":{"name":target}},
            "status":{"observedGeneration":observed,"configuration":{"name":current},
            "machineCount":counts[0],"updatedMachineCount":counts[1],"readyMachineCount":counts[2],
            "unavailableMachineCount":counts[3],"degradedMachineCount":counts[4],
            "conditions":[{"type":"Updated","status": if updated {"True"} else {"False"}}]}})
    }

    #[test]
    fn done_only_on_a_new_observed_target() {
        let before = PoolBefore {
            target: "rendered-worker-a".into(),
            generation: 2,
        };
        // Still Updated on the config from before the write: not done.
        let p = pool(
            "worker",
            2,
            body(
                "rendered-worker-a",
                "rendered-worker-a",
                2,
                true,
                [2, 2, 2, 0, 0],
            ),
        );
        assert!(!judge(&p, Some(&before)).updated);
        // New target, but the status describes the previous generation.
        let p = pool(
            "worker",
            3,
            body(
                "rendered-worker-b",
                "rendered-worker-a",
                2,
                true,
                [2, 2, 2, 0, 0],
            ),
        );
        let j = judge(&p, Some(&before));
        assert!(!j.rendered && !j.updated);
        // Observed and rolling.
        let p = pool(
            "worker",
            3,
            body(
                "rendered-worker-b",
                "rendered-worker-a",
                3,
                false,
                [2, 1, 1, 1, 0],
            ),
        );
        let j = judge(&p, Some(&before));
        assert!(j.rendered && !j.updated);
        // Done.
        let p = pool(
            "worker",
            3,
            body(
                "rendered-worker-b",
                "rendered-worker-b",
                3,
                true,
                [2, 2, 2, 0, 0],
            ),
        );
        assert!(judge(&p, Some(&before)).updated);
        // A pool that appeared after the write.
        assert!(judge(&p, None).updated);
    }

    #[test]
    fn degraded_machines_from_the_condition_message() {
        let m = from_condition_message(
            "Node w-1 is reporting: \"failed to write /var/lib/kubelet/config.json\", Node w-2 is reporting: \"unexpected on-disk state\"",
        );
        assert_eq!(
            m,
            vec![
                DegradedMachine {
                    name: "w-1".into(),
                    reason: "failed to write /var/lib/kubelet/config.json".into()
                },
                DegradedMachine {
                    name: "w-2".into(),
                    reason: "unexpected on-disk state".into()
                }
            ]
        );
    }
}
