//! A real registry for tests: Debian's `docker-registry` (distribution 2.8) on a free
//! loopback port, TLS from a throwaway CA made with `openssl`, htpasswd (bcrypt)
//! authentication, a tiny image pushed with `skopeo copy`. Killed on drop; everything
//! lives in a temp dir. Small and self-contained on purpose (the registry branch has a
//! richer lab; merge them later).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The user the registry accepts.
pub const USER: &str = "tester";
/// Its throwaway password (contains ':' and '$' on purpose).
pub const PASSWORD: &str = "thr0w:away$pw";
/// Repository and tag of the pushed image.
pub const IMAGE: &str = "test/image:v1";

/// A running registry.
pub struct TestRegistry {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn wait_ready(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        // Its own socket, not another test's server that took the port first.
        if TcpStream::connect(("127.0.0.1", port)).is_ok() && super::listens(child.id(), port) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl TestRegistry {
    /// Starts the registry (with CA, certificate and htpasswd) and pushes [`IMAGE`].
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        make_tls(d);
        make_htpasswd(d);
        // The port is free when probed; a race with another test is retried.
        for _ in 0..5 {
            let port = free_port();
            let config = d.join("config.yml");
            std::fs::write(&config, config_yaml(d, port)).unwrap();
            let mut child = Command::new("docker-registry")
                .arg("serve")
                .arg(&config)
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(d.join("registry.log")).unwrap())
                .spawn()
                .expect("docker-registry (Debian package docker-registry) must be installed");
            if wait_ready(&mut child, port) {
                let reg = TestRegistry { child, port, dir };
                reg.push_image();
                return reg;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let log = std::fs::read_to_string(d.join("registry.log")).unwrap_or_default();
        panic!("docker-registry did not start: {log}");
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `docker://HOST/test/image:v1` for skopeo.
    pub fn image_ref(&self) -> String {
        format!("docker://{}/{IMAGE}", self.host())
    }

    /// Directory holding only the CA certificate, for skopeo's `--cert-dir`.
    pub fn cert_dir(&self) -> PathBuf {
        self.dir.path().join("ca")
    }

    /// Scratch directory owned by this registry (removed on drop).
    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }

    /// `skopeo inspect --authfile FILE` against the pushed image; returns success and stderr.
    pub fn skopeo_inspect(&self, authfile: &Path) -> (bool, String) {
        let out = Command::new("skopeo")
            .arg("inspect")
            .arg("--authfile")
            .arg(authfile)
            .arg("--cert-dir")
            .arg(self.cert_dir())
            .arg(self.image_ref())
            .env_remove("REGISTRY_AUTH_FILE")
            .env("HOME", self.dir.path())
            .env("XDG_RUNTIME_DIR", self.dir.path())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Builds a minimal OCI image by hand (one empty layer) and pushes it with an auth
    /// file written here, so the password is never on skopeo's command line.
    fn push_image(&self) {
        let d = self.dir.path();
        let layout = d.join("oci");
        make_oci_layout(&layout);
        let auth = d.join("push-auth.json");
        let b64 = base64_encode(format!("{USER}:{PASSWORD}").as_bytes());
        std::fs::write(
            &auth,
            format!(r#"{{"auths":{{"{}":{{"auth":"{b64}"}}}}}}"#, self.host()),
        )
        .unwrap();
        let policy = d.join("policy.json");
        std::fs::write(
            &policy,
            r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
        )
        .unwrap();
        run(Command::new("skopeo")
            .arg("--policy")
            .arg(&policy)
            .args(["copy", "--quiet", "--dest-authfile"])
            .arg(&auth)
            .arg("--dest-cert-dir")
            .arg(self.cert_dir())
            .arg(format!("oci:{}:v1", layout.display()))
            .arg(self.image_ref())
            .env("HOME", d));
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config_yaml(d: &Path, port: u16) -> String {
    format!(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {data}\n\
         http:\n  addr: 127.0.0.1:{port}\n  secret: regauth-test\n  tls:\n    certificate: {crt}\n    key: {key}\n\
         auth:\n  htpasswd:\n    realm: regauth-test\n    path: {htpasswd}\n",
        data = d.join("data").display(),
        crt = d.join("server.crt").display(),
        key = d.join("server.key").display(),
        htpasswd = d.join("htpasswd").display(),
    )
}

fn make_tls(d: &Path) {
    let ca = d.join("ca");
    std::fs::create_dir(&ca).unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(Command::new("openssl")
        .args(["req", "-x509", "-days", "2", "-subj", "/CN=regauth test CA"])
        .args(ec)
        .arg("-keyout")
        .arg(d.join("ca.key"))
        .arg("-out")
        .arg(ca.join("ca.crt")));
    run(Command::new("openssl")
        .args(["req", "-subj", "/CN=127.0.0.1"])
        .args(ec)
        .arg("-keyout")
        .arg(d.join("server.key"))
        .arg("-out")
        .arg(d.join("server.csr")));
    let ext = d.join("ext.cnf");
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-set_serial", "1"])
        .arg("-in")
        .arg(d.join("server.csr"))
        .arg("-CA")
        .arg(ca.join("ca.crt"))
        .arg("-CAkey")
        .arg(d.join("ca.key"))
        .arg("-extfile")
        .arg(&ext)
        .arg("-out")
        .arg(d.join("server.crt")));
}

fn make_htpasswd(d: &Path) {
    std::fs::write(d.join("htpasswd"), super::htpasswd(USER, PASSWORD)).unwrap();
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// An OCI image layout with one empty (uncompressed) layer, tagged `v1`.
fn make_oci_layout(dir: &Path) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let digest = sha256_hex(bytes);
        std::fs::write(blobs.join(&digest), bytes).unwrap();
        (format!("sha256:{digest}"), bytes.len())
    };
    // An empty tar archive is two 512-byte zero blocks.
    let (layer, layer_size) = put(&[0u8; 1024]);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":["{layer}"]}}}}"#
    );
    let (config, config_size) = put(config.as_bytes());
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":{config_size}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer}","size":{layer_size}}}]}}"#
    );
    let (manifest, manifest_size) = put(manifest.as_bytes());
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(
        dir.join("index.json"),
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{manifest}","size":{manifest_size},"annotations":{{"org.opencontainers.image.ref.name":"v1"}}}}]}}"#
        ),
    )
    .unwrap();
}
