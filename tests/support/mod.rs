//! The registry lab: real `docker-registry` processes (distribution 2.8) with TLS
//! from a CA of the lab's own, htpasswd or token auth, plus small fixture servers
//! (token service, flaky, silent, closed). Everything listens on loopback on
//! ports the OS picks, lives in a temp dir and is killed on drop.
//!
//! ```ignore
//! let lab = Lab::new();
//! let reg = lab.registry().user("alice", "pw").image("openshift3/ose-pod", "v3.11").start();
//! let cred = cred(&reg.host, "alice", "pw", "openshift3/ose-pod:v3.11");
//! // lab.certs_dir() is a certs.d tree trusting every lab server (pass it as --certs-dir).
//! ```
// Each test crate uses part of the lab; the rest would warn as dead code.
#![allow(dead_code)]

// A Kubernetes API server for the cluster tests.
pub mod apiserver;
// What kubectl reads from it: discovery, OpenAPI, Tables.
pub mod discovery;
pub mod https;
pub mod image;
// The simulated Machine Config Operator the API server hosts.
pub mod mco;
pub mod pki;
// The login tests' small registry (openssl CA, skopeo push); the Lab below is the
// richer one (token auth, fixtures) for validate and later tests.
pub mod registry;
// Real OpenSSH sshd "nodes".
pub mod sshd;
pub mod token;
// `regauth run` worlds: registry + sshd nodes + API server + inventory.
pub mod world;

use regauth::model::RegistryCredential;
use secrecy::SecretString;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// 127.0.0.1: registries.
pub const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
/// 127.0.0.2: token services, so that the realm is "another host".
pub const LOOPBACK2: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// A lab: a temp dir, a CA, and a certs.d tree trusting what the lab starts.
pub struct Lab {
    /// Root of everything the lab writes.
    pub dir: tempfile::TempDir,
    /// The lab's CA.
    pub ca: pki::Ca,
    counter: AtomicUsize,
}

impl Default for Lab {
    fn default() -> Self {
        Self::new()
    }
}

impl Lab {
    /// A new, empty lab.
    pub fn new() -> Lab {
        let dir = tempfile::Builder::new()
            .prefix("regauth-lab")
            .tempdir()
            .unwrap();
        std::fs::create_dir_all(dir.path().join("certs.d")).unwrap();
        Lab {
            dir,
            ca: pki::Ca::new("regauth lab CA"),
            counter: AtomicUsize::new(0),
        }
    }

    /// The certs.d directory to pass as `--certs-dir`.
    pub fn certs_dir(&self) -> PathBuf {
        self.dir.path().join("certs.d")
    }

    /// Check options for tests: the lab's trust only, 20 s per attempt, no retries.
    pub fn check_options(&self) -> regauth::registry::CheckOptions {
        regauth::registry::CheckOptions {
            trust: self.trust(),
            timeout: Duration::from_secs(20),
            retries: 0,
            retry_delay: Duration::ZERO,
            ..Default::default()
        }
    }

    /// The regauth binary trusting the lab's certs.d, with no proxy or log settings
    /// inherited from the environment.
    pub fn regauth(&self) -> Command {
        let mut c = Command::new(assert_cmd::cargo::cargo_bin("regauth"));
        c.arg("--certs-dir").arg(self.certs_dir());
        for v in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
            "RUST_LOG",
        ] {
            c.env_remove(v);
        }
        c
    }

    /// Trust that sees only the lab's certs.d (no system roots).
    pub fn trust(&self) -> regauth::registry::Trust {
        regauth::registry::Trust::only(self.certs_dir())
    }

    /// Puts the lab CA into `certs.d/HOST/ca.crt`.
    pub fn trust_host(&self, host: &str) {
        let d = self.certs_dir().join(host);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("ca.crt"), &self.ca.cert_pem).unwrap();
    }

    fn subdir(&self, what: &str) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let d = self.dir.path().join(format!("{what}-{n}"));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Starts describing a registry.
    pub fn registry(&self) -> RegistryBuilder<'_> {
        RegistryBuilder {
            lab: self,
            users: Vec::new(),
            token: None,
            images: Vec::new(),
            untrusted: false,
            plain_http: false,
            leaf: None,
        }
    }

    /// A token service on 127.0.0.2 for `users` (name, password, repositories with pull; `*` = all).
    pub fn token_service(
        &self,
        users: &[(&str, &str, &[&str])],
        access_token: bool,
    ) -> token::TokenServer {
        let users = token_users(users);
        let t = token::start(&self.ca, LOOPBACK2, users, access_token);
        self.trust_host(&t.server.host());
        t
    }

    /// Like [`Lab::token_service`], serving plain HTTP.
    pub fn plain_token_service(&self, users: &[(&str, &str, &[&str])]) -> token::TokenServer {
        let users = token_users(users);
        token::start_with(None, LOOPBACK2, users, false)
    }

    /// A fixture HTTPS server on `ip` with a lab certificate, trusted through certs.d.
    pub fn serve(
        &self,
        ip: IpAddr,
        handler: impl Fn(&https::Request) -> https::Reply + Send + Sync + 'static,
    ) -> https::HttpsServer {
        self.serve_with(ip, &self.ca.leaf(ip), handler)
    }

    /// Like [`Lab::serve`] with a certificate of the caller's (expired, other name, ...).
    pub fn serve_with(
        &self,
        ip: IpAddr,
        leaf: &pki::Leaf,
        handler: impl Fn(&https::Request) -> https::Reply + Send + Sync + 'static,
    ) -> https::HttpsServer {
        let server = https::HttpsServer::start(ip, leaf, handler);
        self.trust_host(&server.host());
        server
    }

    /// An HTTPS "registry" that answers 503 (with `Retry-After: 0`) to its first
    /// `failures` requests, then serves every image anonymously.
    pub fn flaky_registry(&self, failures: usize) -> (https::HttpsServer, Arc<AtomicUsize>) {
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let server = https::HttpsServer::start(LOOPBACK, &self.ca.leaf(LOOPBACK), move |req| {
            if h.fetch_add(1, Ordering::SeqCst) < failures {
                return https::Reply::json(503, serde_json::json!({"errors": []}))
                    .header("Retry-After", "0");
            }
            if req.path() == "/v2/" || req.path().contains("/manifests/") {
                https::Reply::json(
                    200,
                    serde_json::json!({"schemaVersion": 2, "mediaType": image::OCI_MANIFEST}),
                )
                .header("Content-Type", image::OCI_MANIFEST)
            } else {
                https::Reply::json(404, serde_json::json!({}))
            }
        });
        self.trust_host(&server.host());
        (server, hits)
    }
}

fn token_users(users: &[(&str, &str, &[&str])]) -> Vec<token::TokenUser> {
    users
        .iter()
        .map(|(n, p, r)| token::TokenUser {
            name: n.to_string(),
            password: p.to_string(),
            pull: r.iter().map(|s| s.to_string()).collect(),
        })
        .collect()
}

/// A TCP server that accepts connections and never answers (for timeouts), and
/// counts them (for "nothing was sent there" checks).
pub struct Silent {
    /// `IP:PORT`.
    pub host: String,
    addr: SocketAddr,
    stop: Arc<std::sync::atomic::AtomicBool>,
    connections: Arc<AtomicUsize>,
}

impl Silent {
    /// Starts it on 127.0.0.1.
    pub fn start() -> Silent {
        Silent::start_on(LOOPBACK)
    }

    /// Starts it on `ip`.
    pub fn start_on(ip: IpAddr) -> Silent {
        let listener = TcpListener::bind((ip, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let connections = Arc::new(AtomicUsize::new(0));
        let (s, n) = (stop.clone(), connections.clone());
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for c in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                n.fetch_add(1, Ordering::SeqCst);
                held.push(c);
            }
        });
        Silent {
            host: addr.to_string(),
            addr,
            stop,
            connections,
        }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

/// Asserts a check's reason and that its message holds `needle`.
pub fn assert_reason(
    r: &regauth::registry::CheckResult,
    reason: regauth::registry::Reason,
    needle: &str,
) {
    assert_eq!(
        r.reason, reason,
        "{} ({}): {}",
        r.registry, r.source, r.message
    );
    assert!(
        r.message.contains(needle),
        "message {:?} lacks {needle:?}",
        r.message
    );
}

/// Whether process `pid` holds the socket listening on loopback TCP `port`
/// (/proc/net/tcp's listening entry, matched by inode against the process's fds).
pub fn listens(pid: u32, port: u16) -> bool {
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        return false;
    };
    let want = format!(":{port:04X}");
    let inodes: Vec<String> = table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // local_address, state 0A (LISTEN), inode.
            (f.len() > 9 && f[1].ends_with(&want) && f[3] == "0A").then(|| f[9].to_string())
        })
        .collect();
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|t| {
            let t = t.to_string_lossy();
            inodes.iter().any(|i| t == format!("socket:[{i}]"))
        })
    })
}

/// A loopback `host:port` where nothing listens.
pub fn closed_port() -> String {
    // Bound but never listening, and never closed: connections are refused, and no other
    // test or process can take the port while this one lives. A port merely freed again
    // was, under load, taken by another test's server within a check's retry window, and
    // the "refused" check met a TLS or SSH peer instead.
    // SAFETY: plain socket calls on a sockaddr_in of the right size.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_addr.s_addr = u32::from(Ipv4Addr::LOCALHOST).to_be();
        let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let sa = &mut addr as *mut libc::sockaddr_in as *mut libc::sockaddr;
        assert_eq!(
            libc::bind(fd, sa, len),
            0,
            "bind: {}",
            std::io::Error::last_os_error()
        );
        assert_eq!(libc::getsockname(fd, sa, &mut len), 0);
        format!("{}:{}", Ipv4Addr::LOCALHOST, u16::from_be(addr.sin_port))
    }
}

fn free_port(ip: IpAddr) -> u16 {
    TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A credential as the inventory would produce it.
pub fn cred(host: &str, user: &str, password: &str, image: &str) -> RegistryCredential {
    RegistryCredential {
        host: host.to_string(),
        user: user.to_string(),
        password: SecretString::from(password.to_string()),
        test_login: true,
        test_image: image.to_string(),
        tls_verify: true,
        source: format!("test {user}@{host}"),
    }
}

/// The `${component}`s of a 3.11 release the installer's image check asks for.
pub const RELEASE_COMPONENTS: [&str; 5] = [
    "haproxy-router",
    "docker-registry",
    "deployer",
    "pod",
    "control-plane",
];

/// What a registry will be.
pub struct RegistryBuilder<'a> {
    lab: &'a Lab,
    users: Vec<(String, String)>,
    token: Option<(String, String)>,
    images: Vec<(String, String, &'static str)>,
    untrusted: bool,
    plain_http: bool,
    leaf: Option<pki::Leaf>,
}

impl RegistryBuilder<'_> {
    /// An htpasswd user (bcrypt); implies Basic auth.
    pub fn user(mut self, name: &str, password: &str) -> Self {
        self.users.push((name.into(), password.into()));
        self
    }

    /// Token auth through `service`.
    pub fn token(mut self, service: &token::TokenServer) -> Self {
        self.token = Some((service.realm(), service.signer_pem.clone()));
        self
    }

    /// An OCI image `repo:tag`.
    pub fn image(mut self, repo: &str, tag: &str) -> Self {
        self.images
            .push((repo.into(), tag.into(), image::OCI_MANIFEST));
        self
    }

    /// A Docker schema 2 image `repo:tag`.
    pub fn docker_image(mut self, repo: &str, tag: &str) -> Self {
        self.images
            .push((repo.into(), tag.into(), image::DOCKER_MANIFEST));
        self
    }

    /// An OCI index `repo:tag` over a one-platform image.
    pub fn index(mut self, repo: &str, tag: &str) -> Self {
        self.images.push((repo.into(), tag.into(), "index"));
        self
    }

    /// The images an OpenShift Container Platform 3.11 install pulls from a mirror whose
    /// oreg_url is `HOST/openshift3/ose-${component}:${version}`, at `tag`: the node
    /// components, control plane, registry console and (at its own version) etcd.
    pub fn release(mut self, tag: &str) -> Self {
        for c in RELEASE_COMPONENTS {
            self = self.image(&format!("openshift3/ose-{c}"), tag);
        }
        self.image("openshift3/registry-console", tag)
            .image("rhel7/etcd", "3.2.32")
    }

    /// Serve a certificate from a CA that certs.d does not hold.
    pub fn untrusted(mut self) -> Self {
        self.untrusted = true;
        self
    }

    /// Serve plain HTTP, no TLS at all (an insecure registry). distribution 2.8 allows
    /// htpasswd and token auth without TLS (its docs only warn against it).
    pub fn plain_http(mut self) -> Self {
        self.plain_http = true;
        self
    }

    /// Serve a certificate from `ca`, which certs.d does not hold (an install-config's
    /// additionalTrustBundle, say).
    pub fn cert_from(mut self, ca: &pki::Ca) -> Self {
        self.leaf = Some(ca.leaf(LOOPBACK));
        self.untrusted = true;
        self
    }

    /// Writes config, users and images, starts `docker-registry` and waits for it.
    pub fn start(self) -> Registry {
        let dir = self.lab.subdir("registry");
        let storage = dir.join("storage");
        for (repo, tag, kind) in &self.images {
            if *kind == "index" {
                let m = image::write_image(
                    &storage,
                    repo,
                    &format!("{tag}-amd64"),
                    image::OCI_MANIFEST,
                );
                image::write_index(&storage, repo, tag, &m);
            } else {
                image::write_image(&storage, repo, tag, kind);
            }
        }
        let leaf = if let Some(leaf) = self.leaf {
            leaf
        } else if self.untrusted {
            pki::Ca::new("someone else's CA").leaf(LOOPBACK)
        } else {
            self.lab.ca.leaf(LOOPBACK)
        };
        std::fs::write(dir.join("server.crt"), &leaf.cert_pem).unwrap();
        std::fs::write(dir.join("server.key"), &leaf.key_pem).unwrap();
        let auth = if let Some((realm, signer)) = &self.token {
            std::fs::write(dir.join("signer.crt"), signer).unwrap();
            format!(
                "auth:\n  token:\n    realm: {realm}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                token::SERVICE,
                token::ISSUER,
                dir.join("signer.crt").display()
            )
        } else if !self.users.is_empty() {
            let mut file = String::new();
            for (u, p) in &self.users {
                file.push_str(&htpasswd(u, p));
            }
            std::fs::write(dir.join("htpasswd"), file).unwrap();
            format!(
                "auth:\n  htpasswd:\n    realm: regauth-lab\n    path: {}\n",
                dir.join("htpasswd").display()
            )
        } else {
            String::new()
        };
        let tls = if self.plain_http {
            String::new()
        } else {
            format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                dir.join("server.crt").display(),
                dir.join("server.key").display()
            )
        };
        // The port is free when probed; if another test's server takes it before the
        // registry binds, the registry exits and a new port is tried.
        for _ in 0..5 {
            let port = free_port(LOOPBACK);
            let host = format!("127.0.0.1:{port}");
            let config = format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
storage:\n  filesystem:\n    rootdirectory: {storage}\n  maintenance:\n    uploadpurging:\n      enabled: false\n\
http:\n  addr: {host}\n  secret: regauth-lab-not-secret\n{tls}{auth}",
                storage = storage.display(),
            );
            std::fs::write(dir.join("config.yml"), config).unwrap();
            let mut reg = Registry {
                host,
                dir: dir.clone(),
                child: spawn_registry(&dir),
            };
            if reg.wait_ready() {
                if !self.untrusted && !self.plain_http {
                    self.lab.trust_host(&reg.host);
                }
                return reg;
            }
        }
        panic!("docker-registry found no free port in 5 tries");
    }
}

/// Starts `docker-registry serve DIR/config.yml`, logging to DIR/registry.log.
fn spawn_registry(dir: &Path) -> Child {
    let log = std::fs::File::create(dir.join("registry.log")).unwrap();
    let mut command = Command::new("docker-registry");
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        use std::os::unix::process::CommandExt;
        command.pre_exec(|| {
            // A killed test run (timeout, ^C) must not leave registries behind.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    command
        .arg("serve")
        .arg(dir.join("config.yml"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("docker-registry (Debian package docker-registry) must be installed")
}

/// One `htpasswd` line; bcrypt, password through stdin (never argv).
pub fn htpasswd(user: &str, password: &str) -> String {
    let mut child = Command::new("htpasswd")
        .args(["-nBi", user])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("htpasswd (apache2-utils) must be installed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(password.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "htpasswd failed for {user}");
    let line = String::from_utf8(out.stdout).unwrap();
    format!("{}\n", line.trim())
}

/// A running `docker-registry`.
pub struct Registry {
    /// `127.0.0.1:PORT`.
    pub host: String,
    /// Its directory (config, storage, log).
    pub dir: PathBuf,
    child: Child,
}

impl Registry {
    /// Where its storage lives (to add images later with [`image::write_image`]).
    pub fn storage(&self) -> PathBuf {
        self.dir.join("storage")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default()
    }

    /// Waits until the registry itself listens; false when its port was taken first.
    ///
    /// A connect alone is not proof: another test's short-lived server on the same
    /// port answered it once while the registry had failed to bind, and the run under
    /// test later met a refused connection.
    fn wait_ready(&mut self) -> bool {
        let port: u16 = self.host.rsplit_once(':').unwrap().1.parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                if self.log().contains("address already in use") {
                    return false;
                }
                panic!("docker-registry exited with {status}:\n{}", self.log());
            }
            if TcpStream::connect(&self.host).is_ok() && listens(self.child.id(), port) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "docker-registry did not listen on {} in 20 s:\n{}",
            self.host,
            self.log()
        );
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Path helper for tests: the lab dir joined with `p`.
pub fn path_in(lab: &Lab, p: &str) -> PathBuf {
    Path::new(lab.dir.path()).join(p)
}
