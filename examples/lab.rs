//! The local lab behind the README's first command (`lab/run.sh`).
//!
//! Starts on loopback what an OpenShift 3.11 cluster looks like to regauth: a real
//! `docker-registry` (TLS from a lab CA, htpasswd, the images of an OpenShift 3.11 release at `v3.11`),
//! three real sshd "nodes" (one of them also the master) and the test API server with
//! the three Node objects Ready. It writes `inventories/lab.ini` and the lab's
//! kubeconfig, known_hosts, SSH key and certs.d under `lab/state/`, runs
//! `regauth run playbooks/install.yml` against it, checks the result, prints where to
//! look and what to try next, and keeps the lab up until Ctrl-C (or stops at once with
//! `--once`). Stopping ends only the processes the lab started: the fixtures own them
//! and kill them on drop, so the signal handler only sets a flag and lets `main` return.
//!
//! The fixtures are the test suite's (`tests/support/`), included rather than copied
//! so the lab and the tests cannot drift apart. `tests/lab.rs` includes this file too
//! and drives [`run_demo`] and the printed next steps with the built `regauth`.

// tests/lab.rs includes this file as a module and only uses the demo part; `main`,
// the option parser and the signal handling are then unused.
#![cfg_attr(test, allow(dead_code))]

#[path = "../tests/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The repository this example was built from: playbooks and default paths live there.
pub const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// The lab's cluster: inventory hostnames, which are also the API server's Node names.
/// The first is the master (and a node, as in every 3.11 cluster).
pub const HOSTS: [&str; 3] = [
    "master.lab.example.com",
    "node1.lab.example.com",
    "node2.lab.example.com",
];

/// The robot account the inventory starts with: a Quay/registry.redhat.io-style name
/// and a password with the characters that break naive quoting (space, `$`, `:`, `#`, `!`).
pub const ROBOT: (&str, &str) = ("12345678|robot", "r0b0t pa$$:w#rd!");
/// The second account the registry knows, for the rotation exercise. No `$` or `!`: the
/// printed `sed` command puts it inside double quotes in an interactive shell.
pub const ROTATED: (&str, &str) = ("87654321|robot2", "r0tated pw:2");

/// The OpenShift 4 release image the lab's mirror holds, by its upstream name: the
/// cluster's ImageDigestMirrorSet and the install-config send it to the lab registry
/// (`NeverContactSource`: nothing is asked of quay.io).
pub const RELEASE_SOURCE: &str = "quay.io/openshift-release-dev/ocp-release";
/// Where the lab registry holds it.
pub const RELEASE_MIRROR_REPO: &str = "ocp4/release";

/// Set by SIGINT/SIGTERM; `main` polls it and returns, so every fixture is dropped.
static STOP: AtomicBool = AtomicBool::new(false);

/// What to run and where to write.
#[derive(Debug, Clone)]
pub struct Options {
    /// Stop right after the demo (tests, CI); otherwise wait for Ctrl-C.
    pub once: bool,
    /// kubeconfig, known_hosts, SSH key, certs.d, retry files.
    pub state_dir: PathBuf,
    /// Where the lab's inventory is written.
    pub inventory: PathBuf,
    /// The regauth binary to run.
    pub regauth: PathBuf,
}

/// A running lab. Dropping it stops everything it started. Fields drop in this
/// order: the registry is killed before `reg_lab` removes the directory it runs in.
pub struct Lab {
    /// The test API server.
    pub api: support::apiserver::ApiServer,
    /// The sshd nodes, in [`HOSTS`] order.
    pub ssh: support::sshd::Lab,
    /// The registry.
    pub reg: support::Registry,
    /// Registry lab: its CA, certs.d and the temp dir the registry lives in.
    pub reg_lab: support::Lab,
    /// Digest of the release image in the registry ([`RELEASE_MIRROR_REPO`]).
    pub release_digest: String,
    /// Where things were written.
    pub opts: Options,
}

/// Files the lab wrote under the state directory.
impl Lab {
    pub fn kubeconfig(&self) -> PathBuf {
        self.opts.state_dir.join("kubeconfig")
    }
    pub fn known_hosts(&self) -> PathBuf {
        self.opts.state_dir.join("known_hosts")
    }
    pub fn certs_dir(&self) -> PathBuf {
        self.opts.state_dir.join("certs.d")
    }
    pub fn ssh_key(&self) -> PathBuf {
        self.opts.state_dir.join("id_ed25519")
    }
    pub fn apiserver_ca(&self) -> PathBuf {
        self.opts.state_dir.join("apiserver-ca.crt")
    }
    pub fn install_config(&self) -> PathBuf {
        self.opts.state_dir.join("install-config.yaml")
    }
    /// An auth file with the second robot's credential for the lab registry: what the
    /// README's pull-secret rotation merges into the cluster's global pull secret.
    pub fn new_pull_secret(&self) -> PathBuf {
        self.opts.state_dir.join("new.json")
    }
    /// The second robot account as two inventory lines, for the rotation hint: the
    /// hint reads the password from this file, so it is on no command line.
    pub fn rotated_vars(&self) -> PathBuf {
        self.opts.state_dir.join("robot2.vars")
    }

    /// Node `i`'s files: the container runtime's auth file, the node service's, and
    /// the log the restart commands append to.
    pub fn runtime_file(&self, i: usize) -> PathBuf {
        PathBuf::from(self.ssh.nodes[i].path("root/.docker/config.json"))
    }
    pub fn node_file(&self, i: usize) -> PathBuf {
        PathBuf::from(self.ssh.nodes[i].path("var/lib/origin/.docker/config.json"))
    }
    pub fn restart_log(&self, i: usize) -> PathBuf {
        PathBuf::from(self.ssh.nodes[i].path("var/log/restarts.log"))
    }
}

/// What `regauth run` did.
#[derive(Debug)]
pub struct Outcome {
    /// Its exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Everything it printed (stdout and stderr lines as they came), colours removed.
    pub output: String,
}

impl Outcome {
    /// The `PLAY RECAP` lines (`host : ok=.. changed=.. unreachable=.. failed=..`).
    pub fn recap(&self) -> Vec<&str> {
        self.output
            .lines()
            .skip_while(|l| !l.contains("PLAY RECAP"))
            .skip(1)
            .filter(|l| l.contains(" : ok="))
            .collect()
    }
}

/// Value of `key=N` in a recap line.
pub fn counter(line: &str, key: &str) -> Option<u64> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
}

/// A path as the user should type it: relative to the repository when inside it
/// (every printed command is meant to be run from the repository's root).
pub fn shown(p: &Path) -> String {
    match p.strip_prefix(REPO) {
        Ok(rel) => rel.display().to_string(),
        Err(_) => p.display().to_string(),
    }
}

/// Quotes `s` for a POSIX shell when it needs it.
fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:@,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The robot's credential as the OpenShift 4 pull secret holds it.
fn pull_secret(reg_host: &str) -> String {
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", ROBOT.0, ROBOT.1));
    serde_json::json!({"auths": {reg_host: {"auth": auth, "email": "robot@lab.example.com"}}})
        .to_string()
}

/// The second robot's credential as an auth file holds it (`regauth login --to`).
fn rotated_pull_secret(reg_host: &str) -> String {
    use base64::Engine;
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", ROTATED.0, ROTATED.1));
    serde_json::to_string_pretty(&serde_json::json!({"auths": {reg_host: {"auth": auth}}})).unwrap()
}

/// What an OpenShift 4 cluster adds for `validate --from-cluster`: the global pull
/// secret, a namespace's pull secret, and the ImageDigestMirrorSet for the release.
fn openshift4_objects(api: &support::apiserver::ApiServer, reg_host: &str) {
    let dcj = "kubernetes.io/dockerconfigjson";
    let ps = pull_secret(reg_host);
    api.put_secret(
        "openshift-config",
        "pull-secret",
        dcj,
        &[(".dockerconfigjson", ps.as_bytes())],
    );
    api.put_secret(
        "myapp",
        "robot-pull",
        dcj,
        &[(".dockerconfigjson", ps.as_bytes())],
    );
    api.put_mirror_object(
        "ImageDigestMirrorSet",
        "lab-release",
        serde_json::json!({"imageDigestMirrors": [{
            "source": RELEASE_SOURCE,
            "mirrors": [format!("{reg_host}/{RELEASE_MIRROR_REPO}")],
            "mirrorSourcePolicy": "NeverContactSource",
        }]}),
    );
}

/// Starts every component and writes the inventory and the state files.
pub fn start(opts: &Options) -> Result<Lab, String> {
    for (tool, package) in [
        ("docker-registry", "docker-registry"),
        ("htpasswd", "apache2-utils"),
        ("ssh-keygen", "openssh-client"),
        ("/usr/sbin/sshd", "openssh-server"),
        ("useradd", "passwd"),
    ] {
        if !on_path(tool) {
            return Err(format!(
                "`{tool}` is missing (Debian package {package}); lab/run.sh installs what the lab needs"
            ));
        }
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("the lab must run as root: its sshd nodes log in as root \
                    and sshd needs /run/sshd; lab/run.sh runs it through sudo"
            .into());
    }

    say(
        "starting the registry (docker-registry, TLS + htpasswd) holding a 3.11 release (ose-pod, ose-control-plane, ... at v3.11)",
    );
    let reg_lab = support::Lab::new();
    let reg = reg_lab
        .registry()
        .user(ROBOT.0, ROBOT.1)
        .user(ROTATED.0, ROTATED.1)
        .release("v3.11")
        .start();
    // The image's bytes are fixed, so its digest (in the README) is too.
    let release_digest = support::image::write_image(
        &reg.storage(),
        RELEASE_MIRROR_REPO,
        "4.16.0",
        support::image::OCI_MANIFEST,
    );
    say("starting three sshd nodes");
    let ssh = support::sshd::SshLab::new().plain_root().nodes(3).start();
    say("starting the test API server with three Ready nodes");
    let api = support::apiserver::ApiServer::start();
    for h in HOSTS {
        api.set_node_ready(h, true);
    }
    openshift4_objects(&api, &reg.host);
    // After the pull secret exists: the pools start Updated on a config rendered from it.
    // A short step, so a rotation's rollout (two steps a machine) takes a few seconds.
    api.start_mco(&[("master", 3), ("worker", 2)], Duration::from_millis(300));
    let lab = Lab {
        reg_lab,
        release_digest,
        reg,
        ssh,
        api,
        opts: opts.clone(),
    };
    lab.write_files()
        .map_err(|e| format!("writing the lab's files: {e}"))?;
    Ok(lab)
}

impl Lab {
    fn write_files(&self) -> std::io::Result<()> {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let state = &self.opts.state_dir;
        std::fs::create_dir_all(state)?;
        // Ports change on every start: a certs.d entry of an earlier lab would only
        // confuse whoever looks at it.
        let _ = std::fs::remove_dir_all(self.certs_dir());
        copy_tree(&self.reg_lab.certs_dir(), &self.certs_dir())?;
        self.ssh.write_known_hosts(&self.known_hosts());
        std::fs::copy(&self.ssh.client_key, self.ssh_key())?;
        std::fs::set_permissions(self.ssh_key(), std::fs::Permissions::from_mode(0o600))?;
        // It holds the API server's token: owner-only, as kubectl writes it.
        let kubeconfig = self.api.kubeconfig(state, &self.api.token);
        std::fs::set_permissions(kubeconfig, std::fs::Permissions::from_mode(0o600))?;
        std::fs::write(self.apiserver_ca(), &self.api.ca_pem)?;
        std::fs::write(
            self.rotated_vars(),
            format!(
                "oreg_auth_user={}\noreg_auth_password='{}'\n",
                ROTATED.0, ROTATED.1
            ),
        )?;
        std::fs::set_permissions(self.rotated_vars(), std::fs::Permissions::from_mode(0o600))?;
        // Created owner-only before the credential goes in.
        let _ = std::fs::remove_file(self.new_pull_secret());
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(self.new_pull_secret())
            .and_then(|mut f| {
                use std::io::Write as _;
                f.write_all(rotated_pull_secret(&self.reg.host).as_bytes())
            })?;
        for i in 0..HOSTS.len() {
            std::fs::create_dir_all(self.restart_log(i).parent().unwrap())?;
        }
        if let Some(dir) = self.opts.inventory.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&self.opts.inventory, self.inventory_text())?;
        // It holds the pull secret: owner-only.
        std::fs::write(self.install_config(), self.install_config_text())?;
        std::fs::set_permissions(
            self.install_config(),
            std::fs::Permissions::from_mode(0o600),
        )?;
        give_back_to_sudo_user(state);
        give_back_to_sudo_user(&self.opts.inventory);
        Ok(())
    }

    /// An OpenShift 4 install-config.yaml whose pull secret, trust bundle and mirror
    /// are the lab's.
    pub fn install_config_text(&self) -> String {
        let bundle: String = self
            .reg_lab
            .ca
            .cert_pem
            .lines()
            .map(|l| format!("  {l}\n"))
            .collect();
        format!(
            "apiVersion: v1\nbaseDomain: lab.example.com\nmetadata:\n  name: lab\n\
pullSecret: '{}'\nadditionalTrustBundle: |\n{bundle}imageDigestSources:\n\
- mirrors:\n  - {}/{RELEASE_MIRROR_REPO}\n  source: {RELEASE_SOURCE}\n  sourcePolicy: NeverContactSource\n",
            pull_secret(&self.reg.host),
            self.reg.host
        )
    }

    /// The release image by its upstream name and digest.
    pub fn release_image(&self) -> String {
        format!("{RELEASE_SOURCE}@{}", self.release_digest)
    }

    /// A 3.11-style OSEv3 inventory for the lab.
    pub fn inventory_text(&self) -> String {
        let mut t = String::new();
        t.push_str(
            "# The regauth local lab's cluster, written by examples/lab.rs (lab/run.sh) on every\n\
             # start: ports, keys and directories change each time, so this file is not committed.\n\
             # Every \"host\" is an sshd on 127.0.0.1; each has its own directories in place of\n\
             # /var/lib/origin and /root/.docker, and \"restarts\" append a line to a log file.\n\n\
             [OSEv3:children]\nmasters\nnodes\netcd\n\n[masters]\n",
        );
        t.push_str(&self.host_line(0));
        t.push_str("\n[etcd]\n");
        t.push_str(HOSTS[0]);
        t.push_str("\n\n[nodes]\n");
        let groups = [
            "node-config-master-infra",
            "node-config-compute",
            "node-config-compute",
        ];
        for (i, (h, g)) in HOSTS.iter().zip(groups).enumerate() {
            // The master's connection variables are on its [masters] line already.
            if i == 0 {
                let _ = writeln!(t, "{h} openshift_node_group_name='{g}'");
            } else {
                let _ = writeln!(
                    t,
                    "{} openshift_node_group_name='{g}'",
                    self.host_line(i).trim_end()
                );
            }
        }
        let _ = write!(
            t,
            "\n[OSEv3:vars]\n\
             # every sshd node listens on 127.0.0.1 and logs in as root\n\
             ansible_host=127.0.0.1\n\
             ansible_user={login}\n\
             ansible_ssh_private_key_file={key}\n\
             openshift_deployment_type=openshift-enterprise\n\
             openshift_release=v3.11\n\
             openshift_image_tag=v3.11\n\
             oreg_url={reg}/openshift3/ose-${{component}}:${{version}}\n\
             oreg_auth_user={user}\n\
             oreg_auth_password='{pw}'\n\
             openshift_restart_nodes_serial=1\n",
            login = self.ssh.nodes[0].login,
            key = self.ssh_key().display(),
            reg = self.reg.host,
            user = ROBOT.0,
            pw = ROBOT.1,
        );
        t
    }

    fn host_line(&self, i: usize) -> String {
        let node = &self.ssh.nodes[i];
        let log = self.restart_log(i);
        // `date` runs on the node: the log shows when each restart happened.
        let restart = |what: &str| {
            format!(
                "'echo \"$(date -u +%FT%TZ) {what} restarted by regauth\" >> {}'",
                log.display()
            )
        };
        let mut line = format!(
            "{h} ansible_port={port} openshift_data_dir={data} \
             regauth_runtime_auth_dir={runtime} regauth_node_restart_command={nr}",
            h = HOSTS[i],
            port = node.port,
            data = node.path("var/lib/origin"),
            runtime = node.path("root/.docker"),
            nr = restart("atomic-openshift-node"),
        );
        if i == 0 {
            let _ = write!(
                line,
                " regauth_master_restart_command={}",
                restart("master api and controllers")
            );
        }
        line.push('\n');
        line
    }

    /// `regauth ARGS`, run from the state directory (where retry files then land).
    pub fn regauth(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.opts.regauth);
        c.current_dir(&self.opts.state_dir)
            .env_remove("KUBECONFIG")
            .args(args);
        c
    }

    /// The flags every `regauth run` against the lab needs, as arguments.
    pub fn run_flags(&self) -> Vec<String> {
        vec![
            "-i".into(),
            self.opts.inventory.display().to_string(),
            "--kubeconfig".into(),
            self.kubeconfig().display().to_string(),
            "--known-hosts".into(),
            self.known_hosts().display().to_string(),
            "--certs-dir".into(),
            self.certs_dir().display().to_string(),
        ]
    }

    /// Runs the install playbook, printing its output as it comes.
    pub fn install(&self) -> std::io::Result<Outcome> {
        let playbook = Path::new(REPO).join("playbooks/install.yml");
        let mut args = vec![
            "run".to_string(),
            playbook.display().to_string(),
            "--color".into(),
            if std::io::stdout().is_terminal() {
                "always".into()
            } else {
                "never".into()
            },
        ];
        args.extend(self.run_flags());
        println!();
        say(&format!(
            "running: {} {}",
            shown(&self.opts.regauth),
            self.shown_args(&args[..2], true)
        ));
        println!();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = self
            .regauth(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let readers: Vec<_> = [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ]
        .into_iter()
        .map(|r| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(r).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            })
        })
        .collect();
        drop(tx);
        let mut output = String::new();
        for line in rx {
            println!("    {line}");
            output.push_str(&line);
            output.push('\n');
        }
        for r in readers {
            let _ = r.join();
        }
        let status = child.wait()?;
        Ok(Outcome {
            code: status.code(),
            output: strip_ansi(&output),
        })
    }

    /// `args` with the standard lab flags appended, quoted and shortened for a person.
    fn shown_args(&self, args: &[String], with_flags: bool) -> String {
        let mut all: Vec<String> = args.to_vec();
        if with_flags {
            all.extend(self.run_flags());
        }
        all.iter()
            .map(|a| {
                let p = Path::new(a);
                if p.is_absolute() {
                    sh_quote(&shown(p))
                } else {
                    sh_quote(a)
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// What is wrong after the install run; empty when the demo worked.
    pub fn problems(&self, outcome: &Outcome) -> Vec<String> {
        let mut p = Vec::new();
        if outcome.code != Some(0) {
            p.push(format!("regauth exited with {:?}, not 0", outcome.code));
        }
        // The recap also has a line for localhost (the validate step runs on the control host).
        let recap = outcome.recap();
        for h in HOSTS {
            if !recap.iter().any(|l| l.split_whitespace().next() == Some(h)) {
                p.push(format!("the recap has no line for {h}"));
            }
        }
        for line in recap {
            if counter(line, "failed") != Some(0) || counter(line, "unreachable") != Some(0) {
                p.push(format!("recap: {}", line.trim()));
            }
        }
        for (i, h) in HOSTS.iter().enumerate() {
            for f in [self.runtime_file(i), self.node_file(i)] {
                match std::fs::read(&f) {
                    Ok(bytes) => {
                        let v: serde_json::Value =
                            serde_json::from_slice(&bytes).unwrap_or_default();
                        if v["auths"][&self.reg.host]["auth"].as_str().is_none() {
                            p.push(format!(
                                "{h}: {} has no entry for {}",
                                f.display(),
                                self.reg.host
                            ));
                        }
                    }
                    Err(e) => p.push(format!("{h}: {}: {e}", f.display())),
                }
            }
            if !self.restart_log(i).exists() {
                p.push(format!(
                    "{h}: was not restarted (no {})",
                    self.restart_log(i).display()
                ));
            }
        }
        if !self
            .secret_names()
            .iter()
            .any(|(n, _)| n == "imagestreamsecret")
        {
            p.push("no secret openshift/imagestreamsecret in the API server".into());
        }
        p
    }

    /// (name, type) of every Secret in `openshift`.
    pub fn secret_names(&self) -> Vec<(String, String)> {
        let st = self.api.state();
        st.objects
            .iter()
            .filter(|((res, ns, _), _)| res == "secrets" && ns == "openshift")
            .map(|((_, _, name), v)| {
                (
                    name.clone(),
                    v["type"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// Where to look, for a person.
    pub fn where_to_look(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(t, "Where to look");
        let _ = writeln!(
            t,
            "  registry      https://{}  (users {} and {}; CA in {})",
            self.reg.host,
            ROBOT.0,
            ROTATED.0,
            shown(&self.certs_dir().join(&self.reg.host).join("ca.crt"))
        );
        let _ = writeln!(
            t,
            "  API server    https://{}  (kubectl --kubeconfig {} get nodes)",
            self.api.addr,
            shown(&self.kubeconfig())
        );
        let _ = writeln!(t, "  inventory     {}", shown(&self.opts.inventory));
        for (i, h) in HOSTS.iter().enumerate() {
            let _ = writeln!(
                t,
                "  {h}  ssh -p {} -i {} -o UserKnownHostsFile={} {}@127.0.0.1",
                self.ssh.nodes[i].port,
                shown(&self.ssh_key()),
                shown(&self.known_hosts()),
                self.ssh.nodes[i].login
            );
            let _ = writeln!(
                t,
                "      runtime auth file  {}",
                self.runtime_file(i).display()
            );
            let _ = writeln!(
                t,
                "      node auth file     {}",
                self.node_file(i).display()
            );
            let _ = writeln!(
                t,
                "      restart log        {}",
                self.restart_log(i).display()
            );
        }
        let secrets = self.secret_names();
        let _ = writeln!(t, "  secrets in the API server, namespace openshift:");
        for (name, ty) in &secrets {
            let _ = writeln!(t, "      {name}  ({ty})");
        }
        t
    }

    /// The commands to try next: (what it shows, command line). Run from the
    /// repository's root; `tests/lab.rs` runs every one of them, in this order.
    pub fn next_steps(&self) -> Vec<(String, String)> {
        let bin = sh_quote(&shown(&self.opts.regauth));
        let inv = sh_quote(&shown(&self.opts.inventory));
        let certs = sh_quote(&shown(&self.certs_dir()));
        let kubectl = format!(
            "kubectl --kubeconfig {}",
            sh_quote(&shown(&self.kubeconfig()))
        );
        let run = |playbook: &str, extra: &str| {
            format!(
                "{bin} run playbooks/{playbook} {}{extra}",
                self.shown_args(&[], true)
            )
        };
        vec![
            (
                "validate every credential of the inventory against the registry (changes nothing)".into(),
                format!("{bin} validate -i {inv} --certs-dir {certs}"),
            ),
            (
                "the secret the install run created, as kubectl sees it".into(),
                format!("{kubectl} get secrets -n openshift"),
            ),
            (
                "a second install run changes nothing and restarts nothing (changed=0)".into(),
                run("install.yml", ""),
            ),
            (
                "the dry run people do before a change window: validate.yml (check mode, masked diff)".into(),
                run("validate.yml", " --diff"),
            ),
            (
                format!(
                    "rotate: put the registry's second robot account ({}) in the inventory, from {} (no password on the command line)",
                    ROTATED.0,
                    shown(&self.rotated_vars())
                ),
                format!(
                    "sed -i -e '/^oreg_auth_user=/d' -e '/^oreg_auth_password=/{{r {}' -e d -e '}}' {inv}",
                    shown(&self.rotated_vars())
                ),
            ),
            (
                "...see what the rotation would change on each host, without changing it".into(),
                run("registry_auth.yml", " --check --diff"),
            ),
            (
                "...and roll it out: files rewritten, nodes restarted one at a time, secrets updated"
                    .into(),
                run("registry_auth.yml", ""),
            ),
            (
                "...the secret updated in the cluster (kubectl shows its size, not its content)"
                    .into(),
                format!("{kubectl} describe secret imagestreamsecret -n openshift"),
            ),
            (
                "the Secret manifests the cluster step applies, as YAML (for GitOps)".into(),
                format!("{bin} secret render -i {inv}"),
            ),
        ]
    }
}

impl Lab {
    /// The OpenShift 4 checks to try (the README's "OpenShift 4" section, with this
    /// lab's paths): (what it shows, command line). `tests/lab.rs` runs them.
    pub fn openshift4_steps(&self) -> Vec<(String, String)> {
        let bin = sh_quote(&shown(&self.opts.regauth));
        let certs = sh_quote(&shown(&self.certs_dir()));
        let kc = sh_quote(&shown(&self.kubeconfig()));
        let release = self.release_image();
        vec![
            (
                "before openshift-install: every pullSecret login (additionalTrustBundle trusted), every mirror, and the release through its mirror".into(),
                format!(
                    "{bin} validate --install-config {} --certs-dir {certs} --release-image {release}",
                    sh_quote(&shown(&self.install_config()))
                ),
            ),
            (
                "before oc adm upgrade: can the cluster's pull secret pull the target release through its mirrors?".into(),
                format!("{bin} validate --from-cluster --kubeconfig {kc} --certs-dir {certs} --release-image {release}"),
            ),
            (
                "audit every pull secret of namespace myapp (and the global one)".into(),
                format!("{bin} validate --from-cluster -n myapp --kubeconfig {kc} --certs-dir {certs}"),
            ),
        ]
    }
}

/// Starts the lab and runs the demo: install run, checks, where to look, next steps.
/// Returns the lab (still running) and whether the demo worked.
pub fn run_demo(opts: &Options) -> Result<(Lab, bool), String> {
    let lab = start(opts)?;
    // Ctrl-C while the components were starting: stop before touching them.
    if STOP.load(Ordering::SeqCst) {
        return Ok((lab, false));
    }
    say(&format!(
        "wrote {} and the lab's kubeconfig, known_hosts, SSH key and certs.d in {}",
        shown(&opts.inventory),
        shown(&opts.state_dir)
    ));
    let outcome = lab
        .install()
        .map_err(|e| format!("running {}: {e}", opts.regauth.display()))?;
    println!();
    if STOP.load(Ordering::SeqCst) {
        return Ok((lab, false));
    }
    let problems = lab.problems(&outcome);
    // With --once the lab stops right after this: its ports, files and next steps
    // would be gone before anyone could use them.
    if !opts.once {
        print!("{}", lab.where_to_look());
        println!();
        println!("Try next (from {REPO}, while the lab runs):");
        for (what, cmd) in lab.next_steps() {
            println!("  # {what}");
            println!("  {cmd}");
        }
        println!();
        println!("OpenShift 4 checks (README, \"OpenShift 4\"):");
        for (what, cmd) in lab.openshift4_steps() {
            println!("  # {what}");
            println!("  {cmd}");
        }
        println!();
    }
    if problems.is_empty() {
        say(
            "the lab demo worked: every credential valid, every node's files written, every node restarted, the secret applied",
        );
    } else {
        say("the lab demo FAILED:");
        for p in &problems {
            println!("    {p}");
        }
    }
    if opts.once {
        say(
            "--once: stopping now; lab/run.sh without --once keeps the lab up and prints what to try next",
        );
    }
    Ok((lab, problems.is_empty()))
}

fn say(msg: &str) {
    println!("lab: {msg}");
}

/// The lab runs as root (through sudo from lab/run.sh): files it leaves in the
/// user's checkout should belong to that user, not to root.
fn give_back_to_sudo_user(path: &Path) {
    let id = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u32>().ok());
    let (Some(uid), Some(gid)) = (id("SUDO_UID"), id("SUDO_GID")) else {
        return;
    };
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        let _ = std::os::unix::fs::lchown(&p, Some(uid), Some(gid));
        if let Ok(rd) = std::fs::read_dir(&p) {
            stack.extend(rd.flatten().map(|e| e.path()));
        }
    }
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let dest = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_tree(&e.path(), &dest)?;
        } else {
            std::fs::copy(e.path(), dest)?;
        }
    }
    Ok(())
}

fn on_path(tool: &str) -> bool {
    if tool.contains('/') {
        return Path::new(tool).exists();
    }
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false)
}

/// Removes colour escapes (the text is checked, the colours were for the terminal).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

const USAGE: &str = "\
usage: lab [--once] [--state-dir DIR] [--inventory FILE] [--regauth BIN]

The regauth local lab (examples/lab.rs); lab/run.sh builds and starts it. Starts a TLS
registry, three sshd nodes and a test API server, all on 127.0.0.1, writes
inventories/lab.ini, runs playbooks/install.yml against it, and keeps the lab up until
Ctrl-C. Runs as root (the sshd nodes log in as root).

  --once            stop right after the demo; exit 0 only if it worked (tests and CI)
  --state-dir DIR   kubeconfig, known_hosts, SSH key, certs.d (default lab/state)
  --inventory FILE  where to write the inventory (default inventories/lab.ini)
  --regauth BIN     the regauth binary (default: the one next to this program,
                    target/debug/regauth, as the last `cargo build` left it)";

fn parse_args() -> Result<(bool, PathBuf, PathBuf, Option<PathBuf>), String> {
    let mut once = false;
    let mut state = Path::new(REPO).join("lab/state");
    let mut inventory = Path::new(REPO).join("inventories/lab.ini");
    let mut regauth = None;
    let mut args = std::env::args_os().skip(1);
    let abs = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
    while let Some(a) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .map(PathBuf::from)
                .ok_or(format!("{name} needs a value"))
        };
        match a.to_str() {
            Some("--once") => once = true,
            Some("--state-dir") => state = abs(value("--state-dir")?),
            Some("--inventory") => inventory = abs(value("--inventory")?),
            Some("--regauth") => regauth = Some(abs(value("--regauth")?)),
            Some("-h" | "--help") => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(format!("unknown argument {a:?}\n\n{USAGE}")),
        }
    }
    Ok((once, state, inventory, regauth))
}

/// The regauth binary: `--regauth`, else the one cargo puts next to this example
/// (`target/debug/regauth` for `target/debug/examples/lab`). The lab never runs cargo
/// itself: a cargo started from a program cargo runs inherits `CARGO_MANIFEST_DIR`,
/// `CARGO_PKG_NAME` and the rest, ring's build script reruns when those change, and
/// every build after it recompiled ring, rustls, kube and regauth again. `lab/run.sh`
/// builds both binaries in one `cargo build` instead.
fn find_regauth(explicit: Option<PathBuf>) -> Result<PathBuf, String> {
    if let Some(p) = explicit {
        return Ok(p);
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let candidate = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("regauth"))
        .filter(|p| p.is_file());
    candidate.ok_or_else(|| {
        format!(
            "no regauth binary next to {}: run lab/run.sh (it builds regauth and the lab), or `cargo build --bin regauth` first, or pass --regauth BIN",
            exe.display()
        )
    })
}

extern "C" fn on_signal(_: libc::c_int) {
    // Only an atomic store: anything else is not async-signal-safe. `main` notices
    // and returns, and the fixtures' Drop ends their processes.
    STOP.store(true, Ordering::SeqCst);
}

fn install_signal_handlers() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic; sa_mask empty, no SA_RESTART so
        // a sleeping main is woken promptly.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

fn main() -> ExitCode {
    install_signal_handlers();
    let (once, state_dir, inventory, regauth) = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("lab: {e}");
            return ExitCode::from(5);
        }
    };
    let regauth = match find_regauth(regauth) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("lab: {e}");
            return ExitCode::from(1);
        }
    };
    let opts = Options {
        once,
        state_dir,
        inventory,
        regauth,
    };
    let (lab, ok) = match run_demo(&opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("lab: {e}");
            return ExitCode::from(1);
        }
    };
    if STOP.load(Ordering::SeqCst) {
        say("interrupted: stopping the lab");
        drop(lab);
        return ExitCode::from(99);
    }
    if !opts.once {
        say("the lab keeps running; press Ctrl-C to stop it (ends only the processes it started)");
        while !STOP.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(200));
        }
        println!();
    }
    say("stopping the registry, the sshd nodes and the API server");
    drop(lab);
    say("stopped");
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
