//! `validate` from credential sources other than the inventory, against the registry
//! lab (real docker-registry with htpasswd or token auth) and the test API server:
//! auth files (host and host/path keys, identity tokens, helpers), install-config.yaml
//! (trust bundle, mirrors, errors with file:line), the cluster's pull secrets and mirror
//! objects, and `--release-image` through a mirror, through the source, and failing both.

mod support;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::apiserver::ApiServer;
use support::{Lab, image, pki};

const IMAGE_REPO: &str = "ocp/release";

/// Runs `validate ARGS -o json --retries 0`; returns exit code, JSON, stderr.
fn validate(lab: &Lab, args: &[&str]) -> (i32, Value, String) {
    let o = lab
        .regauth()
        .env_remove("KUBECONFIG")
        .arg("validate")
        .args(args)
        .args(["-o", "json", "--retries", "0", "--timeout", "20"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (o.status.code().unwrap_or(-1), json, stderr)
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The result whose `registry` is `key`.
fn result<'a>(doc: &'a Value, key: &str) -> &'a Value {
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["registry"] == key)
        .unwrap_or_else(|| panic!("no result for {key} in {doc:#}"))
}

fn assert_result(doc: &Value, key: &str, reason: &str, check: &str, needle: &str) {
    let r = result(doc, key);
    assert_eq!(r["reason"], reason, "{key}: {r:#}");
    assert_eq!(r["check"], check, "{key}: {r:#}");
    assert!(
        r["message"].as_str().unwrap().contains(needle),
        "{key}: message lacks {needle:?}: {r:#}"
    );
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// skopeo inspect of `image` with `authfile` and the lab's trust: does it succeed?
fn skopeo_can_pull(lab: &Lab, authfile: &Path, host: &str, image: &str) -> bool {
    let certs = lab.certs_dir().join(host);
    let o = Command::new("skopeo")
        .args(["inspect", "--raw", "--authfile"])
        .arg(authfile)
        .arg("--cert-dir")
        .arg(&certs)
        .arg(format!("docker://{host}/{image}"))
        .env("HOME", lab.dir.path())
        .env_remove("REGISTRY_AUTH_FILE")
        .output()
        .unwrap();
    o.status.success()
}

#[test]
fn authfile_host_and_path_keys_identity_tokens_and_helpers() {
    let lab = Lab::new();
    let basic = lab
        .registry()
        .user("alice", "alice-pw")
        .image("team/app", "v1")
        .image("other/x", "v1")
        .start();
    let tokens = lab.token_service(
        &[
            ("carol", "carol-refresh-7Hq2", &["*"]),
            ("dave", "dave-pw", &["team/app"]),
        ],
        false,
    );
    let token_reg = lab
        .registry()
        .token(&tokens)
        .image("team/app", "v1")
        .image("other/x", "v1")
        .start();
    let (b, t) = (basic.host.as_str(), token_reg.host.as_str());
    let file = json!({
        "auths": {
            b: {"auth": b64("alice:alice-pw")},
            format!("{b}/team"): {"username": "alice", "password": "wrong-pw"},
            t: {"identitytoken": "carol-refresh-7Hq2"},
            format!("{t}/team"): {"auth": b64("dave:dave-pw")},
            format!("{t}/other"): {"identitytoken": "not-a-refresh-token"},
            "helped.example.com": {},
        },
        "credHelpers": {"helped.example.com": "gcloud", "ecr.example.com": "ecr-login"},
    });
    let auth = write(lab.dir.path(), "auth.json", &file.to_string());
    let auth_s = auth.to_str().unwrap();

    // Login checks only: each key is its own credential.
    let (code, doc, err) = validate(&lab, &["--authfile", auth_s]);
    assert_eq!(code, 2, "{doc:#}\n{err}");
    assert_result(&doc, b, "ok", "login", "alice logged in");
    assert_result(
        &doc,
        &format!("{b}/team"),
        "auth_failed",
        "login",
        "wrong user name or password for alice",
    );
    assert_result(&doc, t, "ok", "login", "logged in");
    assert_result(&doc, &format!("{t}/team"), "ok", "login", "dave logged in");
    assert_result(
        &doc,
        &format!("{t}/other"),
        "auth_failed",
        "login",
        "identity token",
    );
    assert_result(
        &doc,
        "helped.example.com",
        "skipped",
        "login",
        "docker-credential-gcloud",
    );
    assert_result(
        &doc,
        "ecr.example.com",
        "skipped",
        "login",
        "docker-credential-ecr-login",
    );
    assert!(
        tokens
            .refresh_grants
            .load(std::sync::atomic::Ordering::SeqCst)
            >= 1
    );
    assert_eq!(result(&doc, b)["source"], auth_s);
    assert_eq!(doc["summary"], json!({"ok": 3, "failed": 2, "skipped": 2}));

    // Image checks: the path key's credential against an image under its path.
    let (code, doc, err) = validate(
        &lab,
        &[
            "--authfile",
            auth_s,
            "--registry",
            b,
            "--registry",
            t,
            "--test-image",
            &format!("{b}=other/x:v1"),
            "--test-image",
            &format!("{b}/team={b}/team/app:v1"),
            "--test-image",
            &format!("{t}=other/x:v1"),
            "--test-image",
            &format!("{t}/team=team/app:v1"),
        ],
    );
    assert_eq!(code, 2, "{doc:#}\n{err}");
    assert_result(&doc, b, "ok", "image", "alice can pull other/x:v1");
    assert_result(&doc, &format!("{b}/team"), "auth_failed", "image", "alice");
    assert_result(&doc, t, "ok", "image", "can pull other/x:v1");
    assert_result(
        &doc,
        &format!("{t}/team"),
        "ok",
        "image",
        "dave can pull team/app:v1",
    );
    assert_eq!(
        result(&doc, &format!("{t}/team"))["test_image"],
        "team/app:v1"
    );

    // skopeo picks the same credential per repository: the path key for team/app
    // (wrong password), the host key elsewhere.
    assert!(skopeo_can_pull(&lab, &auth, b, "other/x:v1"));
    assert!(!skopeo_can_pull(&lab, &auth, b, "team/app:v1"));

    // A test image the key's credential would never be used for is refused.
    for bad in [
        format!("{t}/team=other/x:v1"),
        format!("{b}={t}/other/x:v1"),
        "nothere.example.com=a/b:c".to_string(),
    ] {
        let (code, _, err) = validate(&lab, &["--authfile", auth_s, "--test-image", &bad]);
        assert_eq!(code, 5, "{bad}: {err}");
        assert!(err.contains("--test-image"), "{err}");
    }
}

#[test]
fn legacy_dockercfg_and_creds_store() {
    let lab = Lab::new();
    let reg = lab
        .registry()
        .user("alice", "alice-pw")
        .image("team/app", "v1")
        .start();
    let h = reg.host.as_str();
    let legacy = write(
        lab.dir.path(),
        ".dockercfg",
        &json!({format!("https://{h}"): {"auth": b64("alice:alice-pw"), "email": "a@example.com"}})
            .to_string(),
    );
    let (code, doc, err) = validate(&lab, &["--authfile", legacy.to_str().unwrap()]);
    assert_eq!(code, 0, "{doc:#}\n{err}");
    assert_result(
        &doc,
        &format!("https://{h}"),
        "ok",
        "login",
        "alice logged in",
    );

    let store = write(
        lab.dir.path(),
        "config.json",
        &json!({"auths": {h: {}}, "credsStore": "desktop"}).to_string(),
    );
    let (code, doc, _) = validate(&lab, &["--authfile", store.to_str().unwrap()]);
    assert_eq!(code, 0, "{doc:#}");
    assert_result(&doc, h, "skipped", "login", "docker-credential-desktop");
}

/// A mirror registry, a source registry (token auth) and the release image in both.
struct ReleaseLab {
    lab: Lab,
    other_ca: pki::Ca,
    mirror: support::Registry,
    empty_mirror: support::Registry,
    closed_mirror: support::Registry,
    source: support::Registry,
    _tokens: support::token::TokenServer,
    digest: String,
}

fn release_lab() -> ReleaseLab {
    let lab = Lab::new();
    let other_ca = pki::Ca::new("install-config additionalTrustBundle CA");
    // The mirror's certificate is trusted only through the trust bundle.
    let mirror = lab
        .registry()
        .cert_from(&other_ca)
        .user("mirror-user", "mirror-pw")
        .image(IMAGE_REPO, "4.16.0")
        .start();
    let empty_mirror = lab.registry().user("mirror-user", "mirror-pw").start();
    let closed_mirror = lab
        .registry()
        .user("someone", "else")
        .image(IMAGE_REPO, "4.16.0")
        .start();
    let tokens = lab.token_service(&[("pull-user", "pull-pw", &["*"])], false);
    let source = lab
        .registry()
        .token(&tokens)
        .image(IMAGE_REPO, "4.16.0")
        .start();
    let digest = image::write_image(&source.storage(), IMAGE_REPO, "4.16.0", image::OCI_MANIFEST);
    ReleaseLab {
        lab,
        other_ca,
        mirror,
        empty_mirror,
        closed_mirror,
        source,
        _tokens: tokens,
        digest,
    }
}

impl ReleaseLab {
    fn pull_secret(&self) -> Value {
        json!({"auths": {
            format!("{}/ocp", self.mirror.host): {"auth": b64("mirror-user:mirror-pw")},
            self.empty_mirror.host.clone(): {"auth": b64("mirror-user:mirror-pw")},
            self.source.host.clone(): {"auth": b64("pull-user:pull-pw"), "email": "x@example.com"},
        }})
    }

    fn release(&self) -> String {
        format!("{}/{IMAGE_REPO}@{}", self.source.host, self.digest)
    }

    /// An install-config.yaml with these mirrors for the source's ocp/release.
    fn install_config(&self, name: &str, mirrors: &[&str], bundle: bool) -> PathBuf {
        let indent = |s: &str| s.lines().map(|l| format!("  {l}\n")).collect::<String>();
        let bundle = if bundle {
            format!(
                "additionalTrustBundle: |\n{}",
                indent(&self.other_ca.cert_pem)
            )
        } else {
            String::new()
        };
        let list: String = mirrors
            .iter()
            .map(|m| format!("  - {m}/{IMAGE_REPO}\n"))
            .collect();
        let text = format!(
            "apiVersion: v1\nbaseDomain: example.com\nmetadata:\n  name: lab\n\
pullSecret: '{}'\n{bundle}imageContentSources:\n- mirrors:\n{list}  source: {}/{IMAGE_REPO}\n",
            self.pull_secret(),
            self.source.host
        );
        write(self.lab.dir.path(), name, &text)
    }
}

#[test]
fn install_config_trust_bundle_mirrors_and_release() {
    let rl = release_lab();
    let (m, e, s) = (&rl.mirror.host, &rl.empty_mirror.host, &rl.source.host);
    let certs = rl.lab.certs_dir();
    let ic = rl.install_config("install-config.yaml", &[m, e], true);
    let ic_s = ic.to_str().unwrap();

    let (code, doc, err) = validate(
        &rl.lab,
        &["--install-config", ic_s, "--release-image", &rl.release()],
    );
    assert_eq!(code, 0, "{doc:#}\n{err}");
    // pullSecret entries; the mirror is trusted through additionalTrustBundle only.
    assert_result(
        &doc,
        &format!("{m}/ocp"),
        "ok",
        "login",
        "mirror-user logged in",
    );
    assert_result(&doc, s, "ok", "login", "pull-user logged in");
    assert_eq!(result(&doc, s)["source"], format!("{ic_s} pullSecret"));
    // The mirrors, each with the most specific key that covers them.
    let mirror = result(&doc, &format!("{m}/{IMAGE_REPO}"));
    assert_eq!(mirror["status"], "ok", "{mirror:#}");
    assert_eq!(mirror["user"], "mirror-user");
    assert!(
        mirror["source"]
            .as_str()
            .unwrap()
            .contains(&format!("pullSecret key {m}/ocp")),
        "{mirror:#}"
    );
    assert_result(
        &doc,
        &format!("{e}/{IMAGE_REPO}"),
        "ok",
        "login",
        "mirror-user logged in",
    );
    // The release image came through the first mirror.
    let release = &doc["release"];
    assert_eq!(release["status"], "ok", "{release:#}");
    assert_eq!(
        release["pulled_from"],
        format!("{m}/{IMAGE_REPO}@{}", rl.digest)
    );

    // Without the bundle the mirror's certificate is not trusted...
    let no_bundle = rl.install_config("no-bundle.yaml", &[m], false);
    let (code, doc, _) = validate(&rl.lab, &["--install-config", no_bundle.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert_result(
        &doc,
        &format!("{m}/ocp"),
        "tls_error",
        "login",
        "not trusted",
    );
    // ...unless certs.d holds its CA.
    let d = certs.join(m);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("ca.crt"), &rl.other_ca.cert_pem).unwrap();
    let (code, doc, err) = validate(&rl.lab, &["--install-config", no_bundle.to_str().unwrap()]);
    assert_eq!(code, 0, "{doc:#}\n{err}");
    std::fs::remove_dir_all(&d).unwrap();

    // A mirror without the release falls through to the source; the message says so.
    let through_source = rl.install_config("source.yaml", &[e], true);
    let (code, doc, err) = validate(
        &rl.lab,
        &[
            "--install-config",
            through_source.to_str().unwrap(),
            "--release-image",
            &rl.release(),
        ],
    );
    assert_eq!(code, 0, "{doc:#}\n{err}");
    let release = &doc["release"];
    assert_eq!(
        release["pulled_from"],
        format!("{s}/{IMAGE_REPO}@{}", rl.digest),
        "{release:#}"
    );
    assert!(
        release["message"]
            .as_str()
            .unwrap()
            .contains(&format!("{e}/{IMAGE_REPO}@")),
        "{release:#}"
    );

    // Mirrors are digest-only: a release by tag goes to the source directly.
    let (_, doc, _) = validate(
        &rl.lab,
        &[
            "--install-config",
            ic_s,
            "--release-image",
            &format!("{s}/{IMAGE_REPO}:4.16.0"),
        ],
    );
    assert_eq!(
        doc["release"]["pulled_from"],
        format!("{s}/{IMAGE_REPO}@{}", rl.digest),
        "{doc:#}"
    );

    // Failing every way: each way is listed with its reason; exit 2.
    let missing = format!("{s}/{IMAGE_REPO}@sha256:{}", "0".repeat(64));
    let (code, doc, _) = validate(
        &rl.lab,
        &["--install-config", ic_s, "--release-image", &missing],
    );
    assert_eq!(code, 2, "{doc:#}");
    let release = &doc["release"];
    assert_eq!(release["status"], "failed");
    assert_eq!(release["reason"], "image_not_found");
    let msg = release["message"].as_str().unwrap();
    assert!(msg.contains("3 ways"), "{msg}");
    for way in [m, e, s] {
        assert!(
            msg.contains(&format!("{way}/{IMAGE_REPO}@sha256:000")),
            "{way}: {msg}"
        );
    }
    assert!(release.get("pulled_from").is_none());
}

#[test]
fn install_config_mirror_without_credential_is_tried_anonymously() {
    let rl = release_lab();
    let c = &rl.closed_mirror.host;
    let ic = rl.install_config("install-config.yaml", &[c], true);
    let (code, doc, err) = validate(
        &rl.lab,
        &[
            "--install-config",
            ic.to_str().unwrap(),
            "--release-image",
            &rl.release(),
        ],
    );
    // The mirror needs a login the pull secret cannot give: that fails the run.
    assert_eq!(code, 2, "{doc:#}\n{err}");
    let r = result(&doc, &format!("{c}/{IMAGE_REPO}"));
    assert_eq!(r["reason"], "auth_failed", "{r:#}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("no credential applies"),
        "{r:#}"
    );
    assert!(r["source"].as_str().unwrap().contains("anonymous"), "{r:#}");
    // The release still comes from the source, and says why not from the mirror.
    let release = &doc["release"];
    assert_eq!(release["status"], "ok");
    assert!(
        release["message"]
            .as_str()
            .unwrap()
            .contains("no credential: anonymous"),
        "{release:#}"
    );
}

#[test]
fn install_config_errors_name_file_and_line() {
    let lab = Lab::new();
    let cases = [
        (
            "apiVersion: v1\nmetadata:\n  name: x\npullSecret: '{\"auths\": '\n",
            4,
            "pullSecret",
        ),
        (
            "apiVersion: v1\npullSecret: '{\"auths\":{\"r\":{\"auth\":\"eDp5\"}}}'\nimageContentSources:\n- mirrors:\n  - m.example.com/a@sha256:00\n  source: q.example.com/a\n",
            5,
            "mirror",
        ),
        (
            "apiVersion: v1\npullSecret: '{\"auths\":{\"r\":{\"auth\":\"eDp5\"}}}'\nadditionalTrustBundle: not a pem\n",
            3,
            "additionalTrustBundle",
        ),
        // The parser notices at the end of the input.
        ("apiVersion: v1\nmetadata: [\n", 3, "YAML syntax error"),
        ("apiVersion: v1\n", 1, "no pullSecret"),
    ];
    for (i, (text, line, needle)) in cases.into_iter().enumerate() {
        let p = write(lab.dir.path(), &format!("ic-{i}.yaml"), text);
        let (code, _, err) = validate(&lab, &["--install-config", p.to_str().unwrap()]);
        assert_eq!(code, 4, "{text}\n{err}");
        assert!(
            err.contains(&format!("{}:{line}", p.display())),
            "{text}\n{err}"
        );
        assert!(err.contains(needle), "{text}\n{err}");
    }
}

/// `kubectl create -f -` of `object`.
fn kubectl_create(kubeconfig: &Path, object: &Value) {
    use std::io::Write;
    let mut child = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(kubeconfig.with_file_name("kubectl-cache"))
        .args(["create", "-f", "-"])
        .env_remove("KUBECONFIG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kubectl runs");
    let mut input = child.stdin.take().unwrap();
    input.write_all(object.to_string().as_bytes()).unwrap();
    drop(input);
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "kubectl create: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn from_cluster_secrets_namespaces_and_mirror_objects() {
    let rl = release_lab();
    let (m, e, s) = (&rl.mirror.host, &rl.empty_mirror.host, &rl.source.host);
    let certs = rl.lab.certs_dir();
    // The mirror's CA goes to certs.d here (a cluster has no install-config bundle).
    let d = certs.join(m);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("ca.crt"), &rl.other_ca.cert_pem).unwrap();

    let api = ApiServer::start();
    let kubeconfig = api.kubeconfig(rl.lab.dir.path(), &api.token);
    let dcj = "kubernetes.io/dockerconfigjson";
    api.put_secret(
        "openshift-config",
        "pull-secret",
        dcj,
        &[(".dockerconfigjson", rl.pull_secret().to_string().as_bytes())],
    );
    let team_a = json!({e: {"auth": b64("mirror-user:mirror-pw")}}).to_string();
    api.put_secret(
        "team-a",
        "robot",
        "kubernetes.io/dockercfg",
        &[(".dockercfg", team_a.as_bytes())],
    );
    let team_b = json!({"auths": {e: {"auth": b64("mirror-user:stale-pw")}}}).to_string();
    api.put_secret(
        "team-b",
        "stale",
        dcj,
        &[(".dockerconfigjson", team_b.as_bytes())],
    );
    api.put_secret(
        "team-b",
        "opaque",
        "Opaque",
        &[("x", b"not a registry secret")],
    );
    // ICSP first (the empty mirror), then IDMS (the mirror with the release), then an
    // ITMS that tag references would use.
    api.put_mirror_object(
        "ImageContentSourcePolicy",
        "a-icsp",
        json!({"repositoryDigestMirrors": [{"source": format!("{s}/{IMAGE_REPO}"), "mirrors": [format!("{e}/{IMAGE_REPO}")]}]}),
    );
    // The IDMS goes in through kubectl, as an admin would create it.
    let idms = json!({"apiVersion": "config.openshift.io/v1", "kind": "ImageDigestMirrorSet",
        "metadata": {"name": "b-idms"},
        "spec": {"imageDigestMirrors": [{"source": format!("{s}/ocp"), "mirrors": [format!("{m}/ocp")]},
                                        {"source": format!("{s}/{IMAGE_REPO}"), "mirrors": [format!("{m}/{IMAGE_REPO}")]}]}});
    kubectl_create(&kubeconfig, &idms);
    api.put_mirror_object(
        "ImageTagMirrorSet",
        "c-itms",
        json!({"imageTagMirrors": [{"source": format!("{s}/{IMAGE_REPO}"), "mirrors": [format!("{m}/{IMAGE_REPO}")], "mirrorSourcePolicy": "NeverContactSource"}]}),
    );
    let kc = kubeconfig.to_str().unwrap();
    let base = ["--from-cluster", "--kubeconfig", kc];
    let writes_before = api.state().writes().len();

    let (code, doc, err) = validate(
        &rl.lab,
        &[&base[..], &["--release-image", &rl.release()]].concat(),
    );
    assert_eq!(code, 0, "{doc:#}\n{err}");
    assert_eq!(doc["results"].as_array().unwrap().len(), 3, "{doc:#}");
    assert_result(&doc, s, "ok", "login", "pull-user");
    assert_eq!(
        result(&doc, s)["source"],
        "secret openshift-config/pull-secret"
    );
    // ICSP's mirror lacks the image; IDMS's has it.
    let release = &doc["release"];
    assert_eq!(
        release["pulled_from"],
        format!("{m}/{IMAGE_REPO}@{}", rl.digest),
        "{release:#}"
    );
    assert!(
        release["message"]
            .as_str()
            .unwrap()
            .contains("ImageContentSourcePolicy/a-icsp"),
        "{release:#}"
    );
    // By tag: only the ITMS mirror, and never the source.
    let (_, doc, _) = validate(
        &rl.lab,
        &[
            &base[..],
            &["--release-image", &format!("{s}/{IMAGE_REPO}:4.16.0")],
        ]
        .concat(),
    );
    assert_eq!(
        doc["release"]["pulled_from"],
        format!("{m}/{IMAGE_REPO}@{}", rl.digest),
        "{doc:#}"
    );

    // -n adds that namespace's registry secrets.
    let (code, doc, err) = validate(&rl.lab, &[&base[..], &["-n", "team-a"]].concat());
    assert_eq!(code, 0, "{doc:#}\n{err}");
    let robot: Vec<&Value> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["source"] == "secret team-a/robot")
        .collect();
    assert_eq!(robot.len(), 1, "{doc:#}");
    assert_eq!(robot[0]["status"], "ok");

    // --all-namespaces: every registry secret, the stale one failing; Opaque ignored.
    let (code, doc, err) = validate(&rl.lab, &[&base[..], &["--all-namespaces"]].concat());
    assert_eq!(code, 2, "{doc:#}\n{err}");
    let sources: Vec<&str> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["source"].as_str().unwrap())
        .collect();
    assert!(
        sources.contains(&"secret team-a/robot") && sources.contains(&"secret team-b/stale"),
        "{sources:?}"
    );
    assert!(!sources.iter().any(|s| s.contains("opaque")), "{sources:?}");
    let stale = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["source"] == "secret team-b/stale")
        .unwrap();
    assert_eq!(stale["reason"], "auth_failed", "{stale:#}");
    let seen: Vec<String> = api.state().requests.iter().map(|r| r.uri.clone()).collect();
    assert!(
        seen.iter().any(|u| u.starts_with("/api/v1/secrets?")),
        "{seen:?}"
    );
    assert_eq!(
        api.state().writes().len(),
        writes_before,
        "validate changed something"
    );
}

/// The registries.conf the Machine Config Operator would write for `mirrors` of the
/// source's ocp/release (digest-only, as ICSP/IDMS/install-config mirrors are).
fn registries_conf(rl: &ReleaseLab, mirrors: &[&str]) -> PathBuf {
    let repo = format!("{}/{IMAGE_REPO}", rl.source.host);
    let mut text = format!("[[registry]]\nprefix = \"{repo}\"\nlocation = \"{repo}\"\n");
    for m in mirrors {
        text.push_str(&format!(
            "[[registry.mirror]]\nlocation = \"{m}/{IMAGE_REPO}\"\npull-from-mirror = \"digest-only\"\n"
        ));
    }
    write(rl.lab.dir.path(), "registries.conf", &text)
}

/// The references skopeo tried for `image`, in order ("Trying to access" in its debug log).
fn skopeo_ways(rl: &ReleaseLab, conf: &Path, authfile: &Path, image: &str) -> Vec<String> {
    // One directory trusting both CAs: skopeo's --cert-dir applies to every host.
    let certs = rl.lab.dir.path().join("skopeo-certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::write(certs.join("lab.crt"), &rl.lab.ca.cert_pem).unwrap();
    std::fs::write(certs.join("other.crt"), &rl.other_ca.cert_pem).unwrap();
    // --registries-conf is hidden in skopeo 1.9 (and the environment variable unread).
    let o = Command::new("skopeo")
        .arg("--registries-conf")
        .arg(conf)
        .args(["--debug", "inspect", "--raw", "--authfile"])
        .arg(authfile)
        .arg("--cert-dir")
        .arg(&certs)
        .arg(format!("docker://{image}"))
        .env("HOME", rl.lab.dir.path())
        .env_remove("REGISTRY_AUTH_FILE")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "skopeo failed: {log}");
    log.lines()
        .filter_map(|l| l.split("Trying to access \\\"").nth(1))
        .filter_map(|rest| rest.split("\\\"").next())
        .map(str::to_string)
        .collect()
}

#[test]
fn release_ways_match_skopeo_with_the_same_mirrors() {
    let rl = release_lab();
    let (m, e, s) = (&rl.mirror.host, &rl.empty_mirror.host, &rl.source.host);
    let ic = rl.install_config("install-config.yaml", &[e, m], true);
    let authfile = write(
        rl.lab.dir.path(),
        "pull-secret.json",
        &rl.pull_secret().to_string(),
    );
    let conf = registries_conf(&rl, &[e, m]);
    let by_tag = format!("{s}/{IMAGE_REPO}:4.16.0");
    for image in [rl.release(), by_tag] {
        let (_, doc, err) = validate(
            &rl.lab,
            &[
                "--install-config",
                ic.to_str().unwrap(),
                "--release-image",
                &image,
            ],
        );
        let release = &doc["release"];
        assert_eq!(release["status"], "ok", "{release:#}\n{err}");
        // Ours: the ways that failed (in the message), then the one that worked.
        let message = release["message"].as_str().unwrap();
        let mut ours: Vec<String> = [e, m, s]
            .iter()
            .filter(|h| {
                message.contains(&format!("after: {h}/")) || message.contains(&format!("; {h}/"))
            })
            .map(|h| h.to_string())
            .collect();
        let pulled = release["pulled_from"].as_str().unwrap();
        ours.push(pulled.split('/').next().unwrap().to_string());
        let theirs: Vec<String> = skopeo_ways(&rl, &conf, &authfile, &image)
            .iter()
            .map(|r| r.split('/').next().unwrap().to_string())
            .collect();
        assert_eq!(ours, theirs, "{image}: regauth {release:#}");
        // By digest: the empty mirror, then the mirror; by tag: the source only.
        let expected = if image.contains('@') {
            vec![e, m]
        } else {
            vec![s]
        };
        assert_eq!(
            theirs,
            expected.iter().map(|h| h.to_string()).collect::<Vec<_>>()
        );
    }
}
