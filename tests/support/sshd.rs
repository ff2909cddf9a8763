//! A lab of real OpenSSH `sshd` "nodes" on loopback, one process per node, each with
//! its own port, host key, log and directories, all under one temp dir and killed on
//! drop. Tests reach them with a per-lab client key and known_hosts file:
//!
//! ```ignore
//! let lab = SshLab::new().nodes(3).start();
//! let node = &lab.nodes[0];
//! let target = node.target();                 // SshTarget as root with the lab key
//! let opts = lab.connect_options();           // lab known_hosts, short timeouts
//! let path = node.path("runtime/config.json"); // a file under the node's own root
//! let line = node.inventory_line("node1");    // INI host line with its own dirs
//! ```
//! `lab.user(true)` adds a throwaway user with passwordless sudo (become tests);
//! Root's shell does not read its dotfiles for ssh commands (see `SshLab::plain_root`).
#![allow(dead_code)]

use regauth::model::SshTarget;
use regauth::ssh::{ConnectOptions, KexPreference};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";

/// Builder for a lab.
pub struct SshLab {
    nodes: usize,
    plain_root: bool,
}

/// A running lab: nodes, the client key and a known_hosts file listing every node.
pub struct Lab {
    /// The nodes, in creation order.
    pub nodes: Vec<Node>,
    /// Client private key (ed25519, no passphrase), authorized on every node for every user.
    pub client_key: PathBuf,
    /// known_hosts with each node as `[127.0.0.1]:PORT ssh-ed25519 ...`.
    pub known_hosts: PathBuf,
    /// The shared authorized_keys file.
    pub authorized_keys: PathBuf,
    // Declared last: dropped after the nodes have been killed.
    dir: tempfile::TempDir,
}

/// One sshd process and its files.
pub struct Node {
    /// Listening port on 127.0.0.1.
    pub port: u16,
    /// This node's directory; `path()` joins under `root/`.
    pub dir: PathBuf,
    /// sshd's log (`-E`), at LogLevel VERBOSE.
    pub log: PathBuf,
    /// The host private key.
    pub host_key: PathBuf,
    /// The user `target()` logs in as (`root`).
    pub login: String,
    config: PathBuf,
    client_key: PathBuf,
    child: Option<Child>,
}

impl Default for SshLab {
    fn default() -> Self {
        Self::new()
    }
}

impl SshLab {
    /// A lab with one node unless told otherwise.
    pub fn new() -> Self {
        SshLab {
            nodes: 1,
            plain_root: true,
        }
    }

    /// Keep root's shell from reading its dotfiles for ssh commands (the default).
    ///
    /// sshd runs every exec through the login shell, and bash sources `~/.bashrc` for
    /// ssh commands; this machine's `/root/.bashrc` runs pyenv's init, about 100
    /// processes per exec (0.2-0.3 s idle, tens of seconds on a loaded machine), and
    /// real nodes have no such dotfiles. bash skips that when it is not a top-level
    /// shell, so sshd sets `SHLVL=1` for the session (`SetEnv`): root stays root, and
    /// no user is added to /etc/passwd. It is the default since a liveness probe's
    /// `true` (tests/ssh.rs) took over 25 s under load that way and was misread as a
    /// lost connection.
    pub fn plain_root(mut self) -> Self {
        self.plain_root = true;
        self
    }

    /// How many sshd nodes to start.
    pub fn nodes(mut self, n: usize) -> Self {
        self.nodes = n;
        self
    }

    /// Generates keys, writes configs, starts every sshd and waits until each listens.
    pub fn start(self) -> Lab {
        // sshd refuses to start without its privilege-separation directory.
        std::fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        let dir = tempfile::Builder::new()
            .prefix("regauth-sshlab-")
            .tempdir()
            .expect("temp dir");
        // sshd reads AuthorizedKeysFile as the logging-in user: non-root users
        // (become tests) must be able to traverse to it.
        chmod(dir.path(), 0o755);
        let client_key = dir.path().join("client_ed25519");
        keygen(&client_key);
        let authorized_keys = dir.path().join("authorized_keys");
        std::fs::copy(client_key.with_extension("pub"), &authorized_keys).expect("authorized_keys");
        chmod(&authorized_keys, 0o644);

        let login = "root";
        let set_env = if self.plain_root {
            "SetEnv SHLVL=1\n"
        } else {
            ""
        };
        let mut nodes: Vec<Node> = (0..self.nodes)
            .map(|i| Node::create(dir.path(), i, &client_key, &authorized_keys, login, set_env))
            .collect();
        // Start them in parallel: each waits for its port.
        std::thread::scope(|s| {
            for n in nodes.iter_mut() {
                s.spawn(move || n.spawn_sshd());
            }
        });
        let known_hosts = dir.path().join("known_hosts");
        let lab = Lab {
            nodes,
            client_key,
            known_hosts,
            authorized_keys,
            dir,
        };
        lab.write_known_hosts(&lab.known_hosts);
        lab
    }
}

impl Lab {
    /// The lab's temp directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a known_hosts file listing every node's current host key to `path`.
    pub fn write_known_hosts(&self, path: &Path) {
        let text: String = self.nodes.iter().map(Node::known_hosts_line).collect();
        std::fs::write(path, text).expect("write known_hosts");
    }

    /// Options for the lab: its known_hosts, 5 s connect and 30 s operation timeouts.
    pub fn connect_options(&self) -> ConnectOptions {
        ConnectOptions {
            known_hosts: self.known_hosts.clone(),
            accept_new: false,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            kex: KexPreference::Curve25519First,
            ..Default::default()
        }
    }

    /// Creates a throwaway local user (optionally with passwordless sudo); removed on drop.
    pub fn user(&self, sudo: bool) -> LabUser {
        LabUser::create(sudo)
    }
}

impl Node {
    fn create(
        lab: &Path,
        index: usize,
        client_key: &Path,
        authorized_keys: &Path,
        login: &str,
        set_env: &str,
    ) -> Node {
        let dir = lab.join(format!("node{index}"));
        std::fs::create_dir_all(dir.join("root")).expect("node dir");
        chmod(&dir, 0o755);
        let host_key = dir.join("ssh_host_ed25519_key");
        keygen(&host_key);
        let config = dir.join("sshd_config");
        let text = format!(
            "ListenAddress 127.0.0.1\n\
             Port {{PORT}}\n\
             HostKey {host_key}\n\
             PidFile {pid}\n\
             AuthorizedKeysFile {auth}\n\
             PermitRootLogin prohibit-password\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             StrictModes no\n\
             UsePAM no\n\
             UseDNS no\n\
             PrintMotd no\n\
             MaxStartups 200:30:400\n\
             LogLevel VERBOSE\n\
             {set_env}",
            host_key = host_key.display(),
            pid = dir.join("sshd.pid").display(),
            auth = authorized_keys.display(),
        );
        std::fs::write(&config, text).expect("sshd_config");
        Node {
            port: 0,
            log: dir.join("sshd.log"),
            dir,
            host_key,
            login: login.to_string(),
            config,
            client_key: client_key.to_path_buf(),
            child: None,
        }
    }

    /// Starts sshd on a free port, retrying if another process takes the port first.
    fn spawn_sshd(&mut self) {
        for _ in 0..10 {
            let port = free_port();
            let template = std::fs::read_to_string(&self.config).expect("read config");
            let live = self.dir.join("sshd_config.live");
            std::fs::write(&live, template.replace("{PORT}", &port.to_string()))
                .expect("write config");
            let pid_file = self.dir.join("sshd.pid");
            let _ = std::fs::remove_file(&pid_file);
            let mut child = Command::new(SSHD)
                .arg("-D")
                .arg("-f")
                .arg(&live)
                .arg("-E")
                .arg(&self.log)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn sshd");
            // Ours once the pid file names our child: sshd writes it after binding,
            // so a port that accepts but belongs to someone else is not mistaken.
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut up = false;
            while Instant::now() < deadline {
                if child.try_wait().expect("try_wait").is_some() {
                    break;
                }
                let pid_ok = std::fs::read_to_string(&pid_file)
                    .map(|p| p.trim() == child.id().to_string())
                    .unwrap_or(false);
                if pid_ok && TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    up = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            if up {
                self.port = port;
                self.child = Some(child);
                return;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "sshd did not start; log:\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    /// An `SshTarget` for root with the lab's client key.
    pub fn target(&self) -> SshTarget {
        SshTarget {
            address: "127.0.0.1".into(),
            port: self.port,
            user: Some(self.login.clone()),
            key_file: Some(self.client_key.clone()),
            become_: false,
            become_user: "root".into(),
        }
    }

    /// An absolute path under this node's own root (`openshift_data_dir`-style).
    pub fn path(&self, rel: &str) -> String {
        self.dir.join("root").join(rel).display().to_string()
    }

    /// This node's `openshift_data_dir`: `<node>/root/var/lib/origin`.
    pub fn data_dir(&self) -> String {
        self.path("var/lib/origin")
    }

    /// This node's `regauth_runtime_auth_dir`: `<node>/root/root/.docker`.
    pub fn runtime_auth_dir(&self) -> String {
        self.path("root/.docker")
    }

    /// An INI inventory host line reaching this node as `name`, with its own dirs.
    pub fn inventory_line(&self, name: &str) -> String {
        format!(
            "{name} ansible_host=127.0.0.1 ansible_port={} ansible_user={} \
             ansible_ssh_private_key_file={} openshift_data_dir={} regauth_runtime_auth_dir={}",
            self.port,
            self.login,
            self.client_key.display(),
            self.data_dir(),
            self.runtime_auth_dir()
        )
    }

    /// This node's known_hosts line.
    pub fn known_hosts_line(&self) -> String {
        let public = std::fs::read_to_string(self.host_key.with_extension("pub")).expect("pub");
        let mut f = public.split_whitespace();
        let (kind, key) = (f.next().unwrap(), f.next().unwrap());
        format!("[127.0.0.1]:{} {kind} {key}\n", self.port)
    }

    /// The pid of this node's listening sshd, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// sshd's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Replaces the host key and restarts sshd on the same port, with a fresh log.
    pub fn change_host_key(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(&self.host_key);
        let _ = std::fs::remove_file(self.host_key.with_extension("pub"));
        keygen(&self.host_key);
        let _ = std::fs::remove_file(&self.log);
        let live = self.dir.join("sshd_config.live");
        let child = Command::new(SSHD)
            .arg("-D")
            .arg("-f")
            .arg(&live)
            .arg("-E")
            .arg(&self.log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sshd");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "sshd did not come back");
            std::thread::sleep(Duration::from_millis(10));
        }
        self.child = Some(child);
    }

    /// Stops (SIGSTOP) or resumes (SIGCONT) sshd and every session under it: a stopped
    /// node keeps its connections open but answers nothing, as behind a dead network.
    pub fn freeze(&self, stopped: bool) {
        let Some(c) = &self.child else { return };
        if stopped {
            stop_tree(c.id() as i32);
            return;
        }
        for p in descendants(c.id() as i32) {
            // SAFETY: plain kill(2) on processes this lab started.
            unsafe {
                libc::kill(p, libc::SIGCONT);
            }
        }
    }

    /// Whether a process named `comm` runs under this node's sshd (a session's command).
    pub fn runs(&self, comm: &str) -> bool {
        let Some(c) = &self.child else { return false };
        descendants(c.id() as i32).into_iter().any(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|n| n.trim() == comm)
        })
    }

    /// The node vanishes: sshd and every session process under it killed at once.
    ///
    /// The tree is stopped whole first ([`stop_tree`]), then killed.
    pub fn vanish(&mut self) {
        let Some(c) = &self.child else { return };
        for p in stop_tree(c.id() as i32) {
            // SAFETY: plain kill(2) on processes this lab started.
            unsafe {
                libc::kill(p, libc::SIGKILL);
            }
        }
        self.stop();
    }

    /// Kills sshd (the port then refuses connections).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A local user created for a test; deleted (with its sudoers drop-in) on drop.
pub struct LabUser {
    /// The login name (`rgt<pid>x<n>`).
    pub name: String,
    sudoers: Option<PathBuf>,
    home: tempfile::TempDir,
}

static USERS: AtomicUsize = AtomicUsize::new(0);

impl LabUser {
    fn create(sudo: bool) -> LabUser {
        let name = format!(
            "rgt{}x{}",
            std::process::id(),
            USERS.fetch_add(1, Ordering::SeqCst)
        );
        let home = tempfile::Builder::new()
            .prefix("regauth-home-")
            .tempdir()
            .expect("home");
        // Idempotent: a leftover of a crashed run with the same pid is replaced.
        let _ = Command::new("userdel").arg(&name).output();
        // `-p '*'`: no password, but not locked — sshd refuses locked accounts even
        // for public keys when PAM is off.
        let out = Command::new("useradd")
            .args(["-M", "-s", "/bin/sh", "-p", "*", "-d"])
            .arg(home.path())
            .arg(&name)
            .output()
            .expect("useradd");
        assert!(out.status.success(), "useradd: {out:?}");
        let sudoers = sudo.then(|| {
            let path = PathBuf::from(format!("/etc/sudoers.d/regauth-test-{name}"));
            std::fs::write(&path, format!("{name} ALL=(ALL) NOPASSWD: ALL\n")).expect("sudoers");
            chmod(&path, 0o440);
            path
        });
        LabUser {
            name,
            sudoers,
            home,
        }
    }

    /// `node.target()` logging in as this user and becoming root with sudo.
    pub fn target(&self, node: &Node) -> SshTarget {
        SshTarget {
            user: Some(self.name.clone()),
            become_: true,
            become_user: "root".into(),
            ..node.target()
        }
    }
}

impl Drop for LabUser {
    fn drop(&mut self) {
        if let Some(p) = &self.sudoers {
            let _ = std::fs::remove_file(p);
        }
        // -f: its last ssh session may still be closing.
        let _ = Command::new("userdel").args(["-f", &self.name]).output();
        let _ = &self.home;
    }
}

fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "regauth-lab", "-f"])
        .arg(path)
        .output()
        .expect("ssh-keygen");
    assert!(out.status.success(), "ssh-keygen: {out:?}");
}

fn free_port() -> u16 {
    let l = TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    l.local_addr().expect("addr").port()
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Makes `c` run with RLIMIT_NOFILE soft and hard at `n`, as `ulimit -n n` (both)
/// would: the program cannot raise it back.
pub fn limit_descriptors(c: &mut Command, n: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only setrlimit, async-signal-safe, between fork and exec.
    unsafe {
        c.pre_exec(move || {
            let r = libc::rlimit {
                rlim_cur: n,
                rlim_max: n,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &r) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Stops `root` and every descendant, rescanning until none is new; returns them all.
///
/// Stopping one scan's worth and killing let a session fork a child after the scan
/// that outlived its killed parent (orphaned, it went on to finish a restart).
fn stop_tree(root: i32) -> Vec<i32> {
    let mut seen: Vec<i32> = Vec::new();
    loop {
        let new: Vec<i32> = descendants(root)
            .into_iter()
            .filter(|p| !seen.contains(p))
            .collect();
        if new.is_empty() {
            return seen;
        }
        for &p in &new {
            // SAFETY: plain kill(2) on processes this lab started.
            unsafe {
                libc::kill(p, libc::SIGSTOP);
            }
            seen.push(p);
        }
        // kill(2) returns before the signal lands: rescan only once each is stopped
        // (or gone), so none can fork behind the scan.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline
            && new
                .iter()
                .any(|&p| state(p).is_some_and(|s| s != 'T' && s != 'Z'))
        {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// A process's state letter from /proc (`R`, `S`, `T`, `Z`, ...), if it still exists.
fn state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

/// Every descendant of `pid` (from /proc), so a node's sshd and its sessions die together.
pub fn descendants(pid: i32) -> Vec<i32> {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        let parent = all[i];
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(p) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
                continue;
            };
            // The ppid is the 2nd field after the parenthesised command name.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|s| s.parse::<i32>().ok());
            if ppid == Some(parent) && !all.contains(&p) {
                all.push(p);
            }
        }
        i += 1;
    }
    all
}
