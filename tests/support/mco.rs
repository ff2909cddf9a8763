//! A simulated Machine Config Operator inside the test API server: MachineConfigPools
//! (machineconfiguration.openshift.io/v1) whose Nodes and status move as a real
//! pool's do when `openshift-config/pull-secret` changes, on a per-test timer.
//!
//! Modelled on machine-config-operator's controllers: the render controller points
//! each pool's `spec.configuration.name` at a new `rendered-<pool>-<hash>` (generation
//! +1); the node controller then reports it (`observedGeneration`, Updated=False,
//! Updating=True) and moves one machine at a time (maxUnavailable 1): the Node's
//! `desiredConfig` annotation changes and its daemon state goes Working (one
//! unavailable), then `currentConfig` follows and the state is Done (one more updated
//! and ready). When every machine is on the new config the pool is Updated and
//! `status.configuration` takes the spec's. A machine chosen with [`Mco::degrade`]
//! goes Degraded instead, with the daemon's `reason`, and the pool reports it in its
//! counts and its NodeDegraded/Degraded conditions, as the node controller does.

use super::apiserver::State;
use serde_json::{Value, json};
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

const CURRENT: &str = "machineconfiguration.openshift.io/currentConfig";
const DESIRED: &str = "machineconfiguration.openshift.io/desiredConfig";
const STATE: &str = "machineconfiguration.openshift.io/state";
const REASON: &str = "machineconfiguration.openshift.io/reason";

/// Where a pool is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// All machines on the target; Updated.
    Idle,
    /// A new config was rendered; the node controller has not reported it yet.
    Rendered,
    /// Machine `next` is about to start (`working` false) or is applying (`working` true).
    Rolling { next: usize, working: bool },
    /// A machine went Degraded; the rollout stops there.
    Degraded,
}

/// One pool.
#[derive(Debug, Clone)]
struct Pool {
    name: String,
    nodes: Vec<String>,
    target: String,
    current: String,
    generation: i64,
    observed: i64,
    phase: Phase,
    render_pending: bool,
    updated: usize,
    unavailable: usize,
    degraded: Vec<(String, String)>,
}

/// The simulated operator; lives in the server's [`State`].
#[derive(Debug)]
pub struct Mco {
    /// Time between two steps of the rollout.
    pub step: Duration,
    pools: Vec<Pool>,
    secret_hash: u64,
    next_at: Option<Instant>,
    /// (node, reason): that machine degrades when its turn comes.
    degrade: Option<(String, String)>,
    /// Pull-secret changes seen (renders done).
    pub renders: usize,
}

fn pull_secret_hash(st: &State) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    st.get("secrets", "openshift-config", "pull-secret")
        .map(|s| s["data"].to_string())
        .unwrap_or_default()
        .hash(&mut h);
    h.finish()
}

impl Mco {
    /// Installs pools (name, machine count) whose machines sit Updated on a first
    /// rendered config, with their Nodes, into `st`.
    pub fn install(st: &mut State, pools: &[(&str, usize)], step: Duration) {
        let hash = pull_secret_hash(st);
        let mut mco = Mco {
            step,
            pools: Vec::new(),
            secret_hash: hash,
            next_at: None,
            degrade: None,
            renders: 0,
        };
        for (name, count) in pools {
            let target = rendered(name, hash);
            let nodes: Vec<String> = (0..*count).map(|i| format!("{name}-{i}")).collect();
            for n in &nodes {
                st.put(
                    "nodes",
                    "",
                    json!({"apiVersion":"v1","kind":"Node","metadata":{"name":n,
                        "labels":{format!("node-role.kubernetes.io/{name}"):""},
                        "annotations":{CURRENT:target,DESIRED:target,STATE:"Done",REASON:""}},
                        "status":{"conditions":[{"type":"Ready","status":"True"}]}}),
                );
            }
            mco.pools.push(Pool {
                name: name.to_string(),
                updated: nodes.len(),
                nodes,
                current: target.clone(),
                target,
                generation: 2,
                observed: 2,
                phase: Phase::Idle,
                render_pending: false,
                unavailable: 0,
                degraded: Vec::new(),
            });
        }
        for p in &mco.pools {
            put_pool(st, p);
        }
        st.mco = Some(mco);
    }

    /// Makes `node` go Degraded with `reason` when the rollout reaches it.
    pub fn degrade(&mut self, node: &str, reason: &str) {
        self.degrade = Some((node.into(), reason.into()));
    }
}

fn rendered(pool: &str, hash: u64) -> String {
    format!("rendered-{pool}-{:016x}", hash ^ pool.len() as u64)
}

/// Called after every persisted write: a changed pull secret starts a render.
pub fn on_write(st: &mut State, resource: &str, ns: &str, name: &str) {
    if (resource, ns, name) != ("secrets", "openshift-config", "pull-secret") {
        return;
    }
    let hash = pull_secret_hash(st);
    let Some(mco) = st.mco.as_mut() else { return };
    if hash != mco.secret_hash {
        mco.secret_hash = hash;
        mco.renders += 1;
        // The render controller picks the change up at the next step.
        mco.next_at = Some(Instant::now() + mco.step);
        for p in &mut mco.pools {
            p.render_pending = p.phase != Phase::Degraded;
        }
    }
}

/// Advances the rollout by every step whose time has come.
pub fn tick(st: &mut State) {
    loop {
        let Some(mco) = st.mco.as_mut() else { return };
        let Some(at) = mco.next_at else { return };
        if Instant::now() < at {
            return;
        }
        let hash = mco.secret_hash;
        let degrade = mco.degrade.clone();
        let mut pools = std::mem::take(&mut mco.pools);
        let mut busy = false;
        let mut node_writes: Vec<(String, Vec<(&str, String)>)> = Vec::new();
        for p in &mut pools {
            busy |= step(p, hash, degrade.as_ref(), &mut node_writes);
        }
        let mco = st.mco.as_mut().expect("mco");
        mco.next_at = busy.then(|| at + mco.step);
        mco.pools = pools.clone();
        for (node, anns) in node_writes {
            annotate(st, &node, &anns);
        }
        for p in &pools {
            put_pool(st, p);
        }
    }
}

/// One step of one pool; true while it has more to do.
fn step(
    p: &mut Pool,
    hash: u64,
    degrade: Option<&(String, String)>,
    node_writes: &mut Vec<(String, Vec<(&'static str, String)>)>,
) -> bool {
    if p.render_pending {
        // Render controller: a new rendered config, the spec points at it.
        p.render_pending = false;
        p.target = rendered(&p.name, hash);
        p.generation += 1;
        p.phase = Phase::Rendered;
        return true;
    }
    match p.phase.clone() {
        Phase::Degraded | Phase::Idle => false,
        Phase::Rendered => {
            // Node controller: reports the new generation, nothing updated yet.
            p.observed = p.generation;
            p.updated = 0;
            p.phase = Phase::Rolling {
                next: 0,
                working: false,
            };
            true
        }
        Phase::Rolling { next, .. } if next == p.nodes.len() => {
            p.current = p.target.clone();
            p.phase = Phase::Idle;
            false
        }
        Phase::Rolling {
            next,
            working: false,
        } => {
            let node = p.nodes[next].clone();
            if let Some((bad, reason)) = degrade.filter(|(n, _)| *n == node) {
                node_writes.push((
                    node.clone(),
                    vec![
                        (DESIRED, p.target.clone()),
                        (STATE, "Degraded".into()),
                        (REASON, reason.clone()),
                    ],
                ));
                p.degraded.push((bad.clone(), reason.clone()));
                p.unavailable = 1;
                p.phase = Phase::Degraded;
                return false;
            }
            node_writes.push((
                node,
                vec![(DESIRED, p.target.clone()), (STATE, "Working".into())],
            ));
            p.unavailable = 1;
            p.phase = Phase::Rolling {
                next,
                working: true,
            };
            true
        }
        Phase::Rolling {
            next,
            working: true,
        } => {
            node_writes.push((
                p.nodes[next].clone(),
                vec![(CURRENT, p.target.clone()), (STATE, "Done".into())],
            ));
            p.updated += 1;
            p.unavailable = 0;
            p.phase = Phase::Rolling {
                next: next + 1,
                working: false,
            };
            true
        }
    }
}

fn annotate(st: &mut State, node: &str, anns: &[(&str, String)]) {
    let Some(mut obj) = st.get("nodes", "", node).cloned() else {
        return;
    };
    for (k, v) in anns {
        obj["metadata"]["annotations"][*k] = json!(v);
    }
    st.put("nodes", "", obj);
}

fn condition(type_: &str, status: bool, reason: &str, message: &str) -> Value {
    json!({"type":type_,"status": if status {"True"} else {"False"},"reason":reason,
        "message":message,"lastTransitionTime":"2026-11-23T00:00:00Z"})
}

/// Writes the pool object as the MCO's controllers would have left it.
fn put_pool(st: &mut State, p: &Pool) {
    let count = p.nodes.len();
    let spec_target = p.target.clone();
    let all_updated = p.phase == Phase::Idle && p.current == p.target;
    let degraded_msg: Vec<String> = p
        .degraded
        .iter()
        .map(|(n, r)| format!("Node {n} is reporting: {r:?}"))
        .collect();
    let degraded = !p.degraded.is_empty();
    let conditions = vec![
        condition(
            "Updated",
            all_updated,
            "",
            &if all_updated {
                format!("All nodes are updated with MachineConfig {}", p.current)
            } else {
                String::new()
            },
        ),
        condition(
            "Updating",
            !all_updated && !degraded,
            "",
            &if all_updated {
                String::new()
            } else {
                format!("All nodes are updating to MachineConfig {spec_target}")
            },
        ),
        condition(
            "NodeDegraded",
            degraded,
            &if degraded {
                format!(
                    "{} nodes are reporting degraded status on sync",
                    p.degraded.len()
                )
            } else {
                String::new()
            },
            &degraded_msg.join(", "),
        ),
        condition("RenderDegraded", false, "", ""),
        condition("Degraded", degraded, "", &degraded_msg.join(", ")),
    ];
    let ready = p.updated;
    let obj = json!({
        "apiVersion": "machineconfiguration.openshift.io/v1",
        "kind": "MachineConfigPool",
        "metadata": {"name": p.name, "generation": p.generation,
            "labels": {format!("pools.operator.machineconfiguration.openshift.io/{}", p.name): ""}},
        "spec": {
            "configuration": {"name": spec_target},
            "machineConfigSelector": {"matchLabels": {"machineconfiguration.openshift.io/role": p.name}},
            "nodeSelector": {"matchLabels": {format!("node-role.kubernetes.io/{}", p.name): ""}},
            "paused": false,
        },
        "status": {
            "observedGeneration": p.observed,
            "configuration": {"name": p.current},
            "machineCount": count,
            "updatedMachineCount": p.updated,
            "readyMachineCount": ready,
            "unavailableMachineCount": p.unavailable,
            "degradedMachineCount": p.degraded.len(),
            "conditions": conditions,
        },
    });
    st.put("machineconfigpools", "", obj);
}

impl super::apiserver::ApiServer {
    /// Installs the simulated Machine Config Operator with these pools (name,
    /// machines), each rollout step taking `step`.
    pub fn start_mco(&self, pools: &[(&str, usize)], step: Duration) {
        Mco::install(&mut self.state(), pools, step);
    }

    /// Makes machine `node` go Degraded with `reason` when the rollout reaches it.
    pub fn degrade_machine(&self, node: &str, reason: &str) {
        self.state()
            .mco
            .as_mut()
            .expect("start_mco first")
            .degrade(node, reason);
    }
}
