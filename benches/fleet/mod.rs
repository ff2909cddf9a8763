//! What the fleet benchmarks share: the inventory every tool runs against (each
//! node with its own port and directories, a restart command that appends to the
//! node's log, oreg and two more registries), resetting the nodes between runs, and
//! checking that every node got both files and exactly one restart.
#![allow(dead_code)]

use super::sshd;
use base64::Engine;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const OREG: (&str, &str, &str) = ("registry.example.com", "alice", "oreg-s3cret pw");
pub const EXTRA: [(&str, &str, &str); 2] = [
    ("registry-a.example.com:5000", "robot|bench", "tok-a-1234"),
    ("registry-b.example.com", "bob", "pw-b-5678"),
];

pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Machine-wide counters: busy CPU seconds of every core and the last PID handed out.
/// Their difference over a row says what the whole lab spent per node (the nodes' sshd
/// and shells share this machine) and how many processes and threads it started.
#[derive(Clone, Copy)]
pub struct Counters {
    busy: f64,
    pid: u64,
}

impl Counters {
    /// Now.
    pub fn now() -> Counters {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
        let f: Vec<f64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .take(8)
            .map(|x| x.parse().unwrap_or(0.0))
            .collect();
        let busy = f
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 3 && *i != 4)
            .map(|(_, v)| v)
            .sum::<f64>();
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let pid = std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        Counters {
            busy: busy / hz,
            pid,
        }
    }

    /// "machine X ms/node, Y pids/node" since `self`.
    pub fn since(&self, nodes: usize) -> String {
        let now = Counters::now();
        // PIDs wrap at pid_max, reused from 300 up; a row starts fewer than pid_max.
        let max: u64 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(32768);
        let started = if now.pid >= self.pid {
            now.pid - self.pid
        } else {
            (max - self.pid) + (now.pid - 300)
        };
        let pids = format!("{:.1}", started as f64 / nodes as f64);
        format!(
            "machine {:.1} ms/node, {pids} pids/node",
            (now.busy - self.busy) * 1000.0 / nodes as f64
        )
    }
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "?".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {cpu}")
}

/// The shared inventory: every node in `nodes` with its own port and directories, a
/// restart command that appends to the node's log, oreg and two more registries.
pub fn write_inventory(lab: &sshd::Lab, path: &Path) {
    let mut hosts = String::new();
    for (i, n) in lab.nodes.iter().enumerate() {
        hosts.push_str(&format!(
            "node{i:02}.example.com ansible_host=127.0.0.1 ansible_port={} ansible_user={} \
             ansible_ssh_private_key_file={} openshift_data_dir={} regauth_runtime_auth_dir={} \
             regauth_node_restart_command='echo restarted >> {}'\n",
            n.port,
            n.login,
            lab.client_key.display(),
            n.path("origin"),
            n.path("docker"),
            n.path("restarts.log"),
        ));
    }
    let extra: Vec<String> = EXTRA
        .iter()
        .map(|(h, u, p)| format!("{{'host':'{h}','user':'{u}','password':'{p}'}}"))
        .collect();
    let text = format!(
        "[OSEv3:children]\nnodes\n\n[nodes]\n{hosts}\n[OSEv3:vars]\n\
         openshift_deployment_type=openshift-enterprise\n\
         oreg_url={}/openshift3/ose-${{component}}:${{version}}\n\
         oreg_auth_user={}\noreg_auth_password='{}'\n\
         openshift_additional_registry_credentials=[{}]\n\
         # Restart every changed node at once, as the Ansible play does within its forks.\n\
         openshift_restart_nodes_serial={}\n\
         ansible_python_interpreter=/usr/bin/python3\n",
        OREG.0,
        OREG.1,
        OREG.2,
        extra.join(","),
        lab.nodes.len(),
    );
    std::fs::write(path, text).expect("write inventory");
}

/// Removes both auth files (with their directories) and the restart log of every node.
pub fn reset(lab: &sshd::Lab) {
    for n in &lab.nodes {
        for rel in ["origin", "docker"] {
            let _ = std::fs::remove_dir_all(n.path(rel));
        }
        let _ = std::fs::remove_file(n.path("restarts.log"));
    }
}

/// Every node: both files parse as JSON with the three registries' entries (and keep
/// nothing else wrong), and the node was restarted exactly once. Panics otherwise.
pub fn verify(lab: &sshd::Lab, who: &str) -> String {
    let b64 =
        |u: &str, p: &str| base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
    let want: Vec<(&str, String)> = std::iter::once(OREG)
        .chain(EXTRA)
        .map(|(h, u, p)| (h, b64(u, p)))
        .collect();
    for n in &lab.nodes {
        for rel in ["docker/config.json", "origin/.docker/config.json"] {
            let path = n.path(rel);
            let bytes = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("{who}: {path} was not written: {e}"));
            let v: serde_json::Value = serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("{who}: {path} is not JSON: {e}"));
            let auths = v["auths"]
                .as_object()
                .unwrap_or_else(|| panic!("{who}: {path} has no auths"));
            assert_eq!(auths.len(), want.len(), "{who}: {path}: {v}");
            for (host, auth) in &want {
                assert_eq!(
                    auths.get(*host).and_then(|e| e["auth"].as_str()),
                    Some(auth.as_str()),
                    "{who}: {path}: entry for {host}"
                );
            }
        }
        let restarts = std::fs::read_to_string(n.path("restarts.log")).unwrap_or_default();
        assert_eq!(
            restarts.lines().count(),
            1,
            "{who}: node on port {} restarted {} times",
            n.port,
            restarts.lines().count()
        );
    }
    format!(
        "{who}: all {} nodes have both files as JSON with the 3 registries' entries, each node restarted once",
        lab.nodes.len()
    )
}

/// `ssh node true` with OpenSSH, curve25519 as regauth uses it, the lab's key and
/// known_hosts: one handshake and one exec, the floor every bench compares with.
pub fn ssh_true(lab: &sshd::Lab, n: &sshd::Node) -> Command {
    ssh_true_with(lab, n, Some("curve25519-sha256"))
}

/// [`ssh_true`] with another key exchange (`None`: OpenSSH's default).
pub fn ssh_true_with(lab: &sshd::Lab, n: &sshd::Node, kex: Option<&str>) -> Command {
    let mut c = Command::new("ssh");
    c.args([
        "-q",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
    ]);
    if let Some(k) = kex {
        c.arg("-o").arg(format!("KexAlgorithms={k}"));
    }
    c.arg("-o")
        .arg(format!("UserKnownHostsFile={}", lab.known_hosts.display()))
        .arg("-i")
        .arg(&lab.client_key)
        .arg("-p")
        .arg(n.port.to_string())
        .arg(format!("{}@127.0.0.1", n.login))
        .arg("true")
        .stdin(Stdio::null());
    c
}

/// A started fleet: the nodes, a work directory for the bench's files, the shared
/// inventory written there, and the shipped registry_auth playbook.
pub struct Fleet {
    pub lab: sshd::Lab,
    pub work: PathBuf,
    pub inventory: PathBuf,
    pub playbook: PathBuf,
}

impl Fleet {
    /// Adds `run <playbook> -i <inventory> --known-hosts ... --skip-tags validate,cluster
    /// --forks N` to `c`, from the work directory: the bench's regauth run.
    pub fn regauth_run(&self, c: &mut Command, forks: usize) {
        c.current_dir(&self.work)
            .env_remove("KUBECONFIG")
            .arg("run")
            .arg(&self.playbook)
            .arg("-i")
            .arg(&self.inventory)
            .arg("--known-hosts")
            .arg(&self.lab.known_hosts)
            .args(["--skip-tags", "validate,cluster", "--forks"])
            .arg(forks.to_string());
    }
}

/// Starts `nodes` sshd nodes and writes the inventory into `<lab>/<bench>`.
/// plain_root: sshd keeps root's shell from reading this machine's dotfiles (pyenv's
/// init, ~0.3 s per exec); real nodes do not run them, so they are not what we measure.
pub fn start(nodes: usize, bench: &str) -> Fleet {
    let lab = sshd::SshLab::new().nodes(nodes).plain_root().start();
    let work = lab.dir().join(bench);
    std::fs::create_dir_all(&work).expect("work dir");
    let inventory = work.join("hosts.ini");
    write_inventory(&lab, &inventory);
    Fleet {
        lab,
        work,
        inventory,
        playbook: Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks/registry_auth.yml"),
    }
}

/// `cargo bench` passes `--bench`; `cargo test --all-targets` runs bench binaries
/// without it, and a bench runs only as a bench.
pub fn benching() -> bool {
    std::env::args().any(|a| a == "--bench")
}
