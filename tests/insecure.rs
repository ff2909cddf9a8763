//! `tls_verify=False` as skopeo's `--tls-verify=false` reads it: HTTPS without
//! verification, else plain HTTP (containers/image's detectPropertiesHelper). Real
//! plain-HTTP `docker-registry` processes (htpasswd and token auth: distribution 2.8
//! allows both without TLS), with skopeo as the oracle: every configuration regauth
//! accepts here skopeo accepts, and with verification on both refuse.

mod support;

use regauth::model::RegistryCredential;
use regauth::registry::{CheckOptions, CheckResult, Reason, ValidateOptions, check, validate_all};
use std::path::Path;
use std::process::Command;
use support::https::{HttpsServer, Reply};
use support::{LOOPBACK, Lab, assert_reason, closed_port, cred};

const IMAGE: &str = "openshift3/ose-pod:v3.11";
const PLAIN: &str = "over plain HTTP";

fn opts(lab: &Lab) -> CheckOptions {
    lab.check_options()
}

/// Every credential checked at once, in one run (they share its ping cache).
async fn check_all(lab: &Lab, creds: &[RegistryCredential]) -> Vec<CheckResult> {
    let o = ValidateOptions {
        check: opts(lab),
        forks: creds.len(),
    };
    validate_all(creds, &o).await
}

fn insecure(host: &str, user: &str, password: &str, image: &str) -> RegistryCredential {
    let mut c = cred(host, user, password, image);
    c.tls_verify = false;
    c
}

/// A containers auth file for `host` (written here, never on anyone's argv).
fn authfile(lab: &Lab, host: &str, user: &str, password: &str) -> std::path::PathBuf {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    // One file per call: a later call for the same host must not overwrite it.
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let p = lab.dir.path().join(format!("auth-{n}.json"));
    std::fs::write(
        &p,
        format!(r#"{{"auths":{{"{host}":{{"auth":"{b64}"}}}}}}"#),
    )
    .unwrap();
    p
}

/// `skopeo inspect` of `host/image` with `authfile`, the lab's certs.d, and
/// `--tls-verify=VERIFY`: true when skopeo accepts the configuration.
fn skopeo_accepts(lab: &Lab, host: &str, image: &str, authfile: &Path, verify: bool) -> bool {
    let home = lab.dir.path().join("skopeo-home");
    std::fs::create_dir_all(&home).unwrap();
    let out = Command::new("skopeo")
        .arg("inspect")
        .arg(format!("--tls-verify={verify}"))
        .arg("--authfile")
        .arg(authfile)
        .arg("--cert-dir")
        .arg(lab.certs_dir().join(host))
        .arg(format!("docker://{host}/{image}"))
        .env_remove("REGISTRY_AUTH_FILE")
        .env("HOME", &home)
        .env("XDG_RUNTIME_DIR", &home)
        .output()
        .expect("skopeo must be installed");
    if !out.status.success() {
        eprintln!(
            "skopeo --tls-verify={verify} {host}/{image}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out.status.success()
}

/// A plain-HTTP registry with htpasswd user alice (`alice-pw`) and [`IMAGE`].
fn plain_htpasswd_registry(lab: &Lab) -> support::Registry {
    lab.registry()
        .plain_http()
        .user("alice", "alice-pw")
        .image("openshift3/ose-pod", "v3.11")
        .start()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_htpasswd_registry_agrees_with_skopeo() {
    let lab = Lab::new();
    let reg = plain_htpasswd_registry(&lab);
    let h = reg.host.as_str();
    let mut verified = cred(h, "alice", "alice-pw", IMAGE);
    verified.source = "verified".into();
    // Both trust settings for one host in one run: the verifying entry must not reuse
    // the insecure entry's plain-HTTP ping.
    let creds = [
        insecure(h, "alice", "alice-pw", IMAGE),
        insecure(h, "alice", "wrong", IMAGE),
        insecure(h, "alice", "alice-pw", "openshift3/ose-pod:v9.99"),
        verified,
    ];
    let r = check_all(&lab, &creds).await;
    assert_reason(&r[0], Reason::Ok, "alice can pull openshift3/ose-pod:v3.11");
    assert_reason(&r[0], Reason::Ok, PLAIN);
    assert_reason(&r[1], Reason::AuthFailed, PLAIN);
    assert_reason(&r[2], Reason::ImageNotFound, PLAIN);
    // Verification on: never downgraded, and nothing claims plain HTTP was used.
    assert_reason(&r[3], Reason::TlsError, "TLS handshake");
    assert!(!r[3].message.contains("plain HTTP"), "{}", r[3].message);

    let good = authfile(&lab, h, "alice", "alice-pw");
    let bad = authfile(&lab, h, "alice", "wrong");
    assert!(skopeo_accepts(&lab, h, IMAGE, &good, false));
    assert!(!skopeo_accepts(&lab, h, IMAGE, &good, true));
    assert!(!skopeo_accepts(&lab, h, IMAGE, &bad, false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_token_registry_agrees_with_skopeo() {
    let lab = Lab::new();
    // Token service over HTTPS on 127.0.0.2 (the usual split), and one over plain
    // HTTP on 127.0.0.2: another host, which skopeo --tls-verify=false also uses.
    let tls_tokens = lab.token_service(&[("alice", "alice-pw", &["*"])], false);
    let plain_tokens = lab.plain_token_service(&[("bob", "bob-pw", &["*"])]);
    let reg_a = lab
        .registry()
        .plain_http()
        .token(&tls_tokens)
        .image("openshift3/ose-pod", "v3.11")
        .start();
    let reg_b = lab
        .registry()
        .plain_http()
        .token(&plain_tokens)
        .image("openshift3/ose-pod", "v3.11")
        .start();
    let (a, b) = (reg_a.host.as_str(), reg_b.host.as_str());
    let creds = [
        insecure(a, "alice", "alice-pw", IMAGE),
        insecure(b, "bob", "bob-pw", IMAGE),
        insecure(b, "bob", "wrong", IMAGE),
        cred(b, "bob", "bob-pw", IMAGE),
    ];
    let r = check_all(&lab, &creds).await;
    assert_reason(&r[0], Reason::Ok, PLAIN);
    assert_reason(&r[1], Reason::Ok, PLAIN);
    assert_reason(&r[2], Reason::AuthFailed, "rejected by its token service");
    assert_reason(&r[3], Reason::TlsError, "TLS handshake");

    for (host, user, pw) in [(a, "alice", "alice-pw"), (b, "bob", "bob-pw")] {
        let f = authfile(&lab, host, user, pw);
        assert!(skopeo_accepts(&lab, host, IMAGE, &f, false), "{host}");
        assert!(!skopeo_accepts(&lab, host, IMAGE, &f, true), "{host}");
    }
}

#[tokio::test]
async fn nothing_listening_says_both_were_tried() {
    let lab = Lab::new();
    let r = check(&insecure(&closed_port(), "alice", "pw", IMAGE), &opts(&lab)).await;
    assert_reason(&r, Reason::Unreachable, "plain HTTP failed too");
}

/// An insecure registry may redirect from https to http (Go's policy, which skopeo
/// uses); a verified one may not (tests/validate.rs no_redirect_from_https_to_http).
#[tokio::test]
async fn insecure_registry_may_redirect_to_http() {
    let lab = Lab::new();
    let blobs = HttpsServer::start_plain(LOOPBACK, |_| {
        Reply::json(
            200,
            serde_json::json!({"schemaVersion": 2, "mediaType": support::image::OCI_MANIFEST}),
        )
        .header("Content-Type", support::image::OCI_MANIFEST)
    });
    let target = format!("http://{}/blobs/manifest", blobs.host());
    let reg = lab.serve(LOOPBACK, move |req| {
        if req.path() == "/v2/" {
            Reply::json(200, serde_json::json!({}))
        } else {
            Reply::json(302, serde_json::json!({})).header("Location", &target)
        }
    });
    let r = check(&insecure(&reg.host(), "alice", "pw", IMAGE), &opts(&lab)).await;
    assert_reason(&r, Reason::Ok, "can pull");
    let r = check(&cred(&reg.host(), "alice", "pw", IMAGE), &opts(&lab)).await;
    assert_reason(&r, Reason::RegistryError, "redirect");
}

// ---- through the binary: validate, login --tls-verify=false, an install run ----

fn regauth(lab: &Lab) -> Command {
    lab.regauth()
}

/// An origin inventory whose only credential is the mirror at `host`.
fn inventory(lab: &Lab, host: &str, tls_verify: &str) -> std::path::PathBuf {
    let p = lab.dir.path().join(format!("hosts-{tls_verify}.ini"));
    std::fs::write(
        &p,
        format!(
            "[OSEv3:children]\nnodes\n[nodes]\nn1\n[OSEv3:vars]\nopenshift_deployment_type=origin\n\
openshift_additional_registry_credentials=[{{'host':'{host}','user':'alice','password':'alice-pw','test_image':'{IMAGE}','tls_verify':'{tls_verify}'}}]\n"
        ),
    )
    .unwrap();
    p
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn binary_accepts_what_skopeo_accepts() {
    let lab = Lab::new();
    let reg = plain_htpasswd_registry(&lab);
    let h = reg.host.as_str();

    // validate: the installer's tls_verify=False entry passes, and says plain HTTP.
    for (verify, code, reason) in [("False", 0, "ok"), ("True", 2, "tls_error")] {
        let o = regauth(&lab)
            .args(["validate", "--retries", "0", "-o", "json", "-i"])
            .arg(inventory(&lab, h, verify))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(code), "{}", text(&o));
        let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let r = &json["results"][0];
        assert_eq!(r["reason"], reason, "{r}");
        assert_eq!(
            r["message"].as_str().unwrap().contains(PLAIN),
            verify == "False",
            "{r}"
        );
    }

    // login --tls-verify=false: checked over plain HTTP, written, and skopeo reads it.
    let to = lab.dir.path().join("login.json");
    let login = |extra: &[&str]| {
        use std::io::Write;
        let mut child = regauth(&lab)
            .args([
                "login",
                "--retries",
                "0",
                "--registry",
                h,
                "-u",
                "alice",
                "--password-stdin",
                "--to",
            ])
            .arg(&to)
            .args(extra)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"alice-pw\n")
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let o = login(&[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("tls_error"), "{}", text(&o));
    assert!(!to.exists());
    let o = login(&["--tls-verify=false"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(PLAIN), "{}", text(&o));
    assert!(skopeo_accepts(&lab, h, IMAGE, &to, false));

    // The install run's validate step (stop_on_failure: true) lets the run go on.
    let install = Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks/install.yml");
    for (verify, code) in [("False", 0), ("True", 2)] {
        let o = regauth(&lab)
            .arg("run")
            .arg(&install)
            .arg("-i")
            .arg(inventory(&lab, h, verify))
            // The image step (also tagged validate) would ask quay.io for origin's images.
            .args([
                "--retries",
                "0",
                "--tags",
                "validate",
                "--skip-tags",
                "images",
            ])
            .current_dir(lab.dir.path())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(code), "{}", text(&o));
        assert_eq!(text(&o).contains(PLAIN), verify == "False", "{}", text(&o));
    }
}
