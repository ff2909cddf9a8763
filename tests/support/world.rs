//! A whole lab for `regauth run`: a registry, n sshd nodes, the test API server and an
//! INI inventory tying them together (the run, fault, leak and trial tests share it).

use super::apiserver::ApiServer;
use super::sshd::SshLab;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The registry credential every world's registry accepts.
pub const USER: &str = "alice";
/// Special characters on purpose: quoting bugs and leaks show up with these.
pub const PASSWORD: &str = "s3cr$t pa:ss'w\"0rd";

pub struct World {
    pub reg_lab: super::Lab,
    pub reg: super::Registry,
    pub ssh: super::sshd::Lab,
    pub api: ApiServer,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
    pub names: Vec<String>,
}

/// Per-host changes to the inventory.
#[derive(Default, Clone)]
pub struct HostOverride {
    /// Another login than the lab's root.
    pub login: Option<String>,
    /// Replaces the node's openshift_data_dir.
    pub data_dir: Option<String>,
    /// Replaces the node restart command.
    pub restart: Option<String>,
    /// Appended to the host line.
    pub extra: String,
}

impl World {
    pub fn new(nodes: usize) -> World {
        let reg_lab = super::Lab::new();
        let reg = reg_lab
            .registry()
            .user(USER, PASSWORD)
            .user("bob", "second")
            .release("v3.11")
            .start();
        let ssh = SshLab::new().plain_root().nodes(nodes).start();
        let api = ApiServer::start();
        let names: Vec<String> = (1..=nodes)
            .map(|i| format!("node{i}.example.com"))
            .collect();
        for n in &names {
            api.set_node_ready(n, true);
        }
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = api.kubeconfig(dir.path(), &api.token);
        World {
            reg_lab,
            reg,
            ssh,
            api,
            dir,
            kubeconfig,
            names,
        }
    }

    pub fn inventory(&self, user: &str, password: &str) -> PathBuf {
        self.inventory_with(user, password, |_| HostOverride::default())
    }

    /// The inventory: node1 is the master, every host is a node; `over(i)` changes host i.
    pub fn inventory_with(
        &self,
        user: &str,
        password: &str,
        over: impl Fn(usize) -> HostOverride,
    ) -> PathBuf {
        let mut hosts = String::new();
        for (i, n) in self.names.iter().enumerate() {
            let node = &self.ssh.nodes[i];
            let o = over(i);
            let log = node.path("restarts.log");
            hosts.push_str(&format!(
                "{n} ansible_host=127.0.0.1 ansible_port={} ansible_user={} ansible_ssh_private_key_file={} openshift_data_dir={} regauth_runtime_auth_dir={} regauth_node_restart_command='{}' regauth_master_restart_command='echo master >> {log}' {}\n",
                node.port,
                o.login.unwrap_or_else(|| node.login.clone()),
                self.ssh.client_key.display(),
                o.data_dir.unwrap_or_else(|| node.path("origin")),
                node.path("docker"),
                o.restart.unwrap_or_else(|| format!("echo node >> {log}")),
                o.extra,
            ));
        }
        let nodes = self.names.join("\n");
        let text = format!(
            "[OSEv3:children]\nmasters\nnodes\n\n[all_nodes]\n{hosts}\n[masters]\n{m}\n\n[nodes]\n{nodes}\n\n[OSEv3:vars]\nopenshift_deployment_type=openshift-enterprise\noreg_url={reg}/openshift3/ose-${{component}}:${{version}}\noreg_auth_user={user}\noreg_auth_password=\"{pw}\"\nopenshift_restart_nodes_serial=4\n",
            m = self.names[0],
            reg = self.reg.host,
            // INI values are Python-ish literals: a double-quoted string with \" escapes.
            pw = password.replace('\\', "\\\\").replace('"', "\\\""),
        );
        let p = self.dir.path().join("hosts.ini");
        std::fs::write(&p, text).unwrap();
        p
    }

    /// The inventory with restarts that take `secs` seconds, so an interrupt or a fault
    /// can land while a restart is under way.
    pub fn inventory_with_slow_restarts(&self, secs: u32) -> PathBuf {
        self.inventory_with(USER, PASSWORD, |i| HostOverride {
            restart: Some(format!(
                "sleep {secs}; echo node >> {}",
                self.ssh.nodes[i].path("restarts.log")
            )),
            ..Default::default()
        })
    }

    /// Starts registry_auth.yml without the cluster step, nodes restarting one at a
    /// time, output piped: a run for an interrupt to land in.
    pub fn spawn_rolling(&self, inv: &Path) -> std::process::Child {
        self.command(
            "registry_auth.yml",
            inv,
            &[
                "--skip-tags",
                "cluster",
                "-e",
                "openshift_restart_nodes_serial=1",
            ],
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
    }

    /// Every node's auth files are whole JSON (old or new) and no temp file is left.
    pub fn assert_files_whole(&self, what: &str) {
        for (i, node) in self.ssh.nodes.iter().enumerate() {
            for rel in ["docker/config.json", "origin/.docker/config.json"] {
                if let Some(b) = self.file(i, rel) {
                    serde_json::from_slice::<serde_json::Value>(&b)
                        .unwrap_or_else(|e| panic!("{what}: node{} {rel}: {e}", i + 1));
                }
            }
            for d in ["docker", "origin/.docker"] {
                let Ok(rd) = std::fs::read_dir(node.path(d)) else {
                    continue;
                };
                for e in rd.flatten() {
                    let n = e.file_name().to_string_lossy().into_owned();
                    assert!(
                        !n.contains(".tmp") && !n.starts_with(".regauth"),
                        "{what}: node{}: temp file left: {n}",
                        i + 1
                    );
                }
            }
        }
    }

    /// `regauth run playbooks/<playbook> -i inv ...`, not yet started. The shipped
    /// playbook is copied to `<dir>/playbooks/` (the retry file goes beside the
    /// playbook, never into the source tree); an absolute path is used as it is.
    pub fn command(&self, playbook: &str, inv: &Path, extra: &[&str]) -> Command {
        let pb = if Path::new(playbook).is_absolute() {
            PathBuf::from(playbook)
        } else {
            let shipped = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("playbooks")
                .join(playbook);
            let copy = self.dir.path().join("playbooks").join(playbook);
            std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
            std::fs::copy(&shipped, &copy).unwrap();
            copy
        };
        let mut c = Command::new(assert_cmd::cargo::cargo_bin("regauth"));
        c.current_dir(self.dir.path())
            .env_remove("KUBECONFIG")
            .arg("run")
            .arg(pb)
            .arg("-i")
            .arg(inv);
        self.common(&mut c);
        c.args(["--retries", "0"]).args(extra);
        c
    }

    /// The lab's trust and cluster options, for any subcommand.
    pub fn common(&self, c: &mut Command) {
        c.arg("--known-hosts")
            .arg(&self.ssh.known_hosts)
            .arg("--certs-dir")
            .arg(self.reg_lab.certs_dir())
            .arg("--kubeconfig")
            .arg(&self.kubeconfig);
    }

    /// Where a failed run of a shipped playbook leaves its retry file.
    pub fn retry_file(&self, playbook: &str) -> PathBuf {
        let stem = Path::new(playbook).file_stem().unwrap().to_string_lossy();
        self.dir
            .path()
            .join("playbooks")
            .join(format!("{stem}.retry"))
    }

    pub fn run(&self, playbook: &str, inv: &Path, extra: &[&str]) -> std::process::Output {
        self.command(playbook, inv, extra).output().unwrap()
    }

    pub fn file(&self, i: usize, rel: &str) -> Option<Vec<u8>> {
        std::fs::read(self.ssh.nodes[i].path(rel)).ok()
    }

    pub fn restarts(&self, i: usize) -> usize {
        self.file(i, "restarts.log")
            .map(|b| String::from_utf8_lossy(&b).lines().count())
            .unwrap_or(0)
    }

    /// The `auth` field of the registry's entry in a node's file ("" when absent).
    pub fn auth(&self, i: usize, rel: &str) -> String {
        let v: serde_json::Value =
            serde_json::from_slice(&self.file(i, rel).expect("file written")).unwrap();
        v["auths"][&self.reg.host]["auth"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

pub fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}
