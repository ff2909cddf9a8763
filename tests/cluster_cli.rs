//! The cluster commands through the binary, against the test API server, reached
//! through a kubeconfig file as kubectl would.

mod support;

use assert_cmd::Command;
use base64::Engine;
use serde_json::{Value, json};
use support::apiserver::ApiServer;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn regauth(kc: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("regauth").unwrap();
    c.env("KUBECONFIG", kc).env_remove("HOME");
    c
}

fn decode(obj: &Value, key: &str) -> Value {
    serde_json::from_slice(&B64.decode(obj["data"][key].as_str().unwrap()).unwrap()).unwrap()
}

#[test]
fn secret_create_applies_then_is_unchanged_and_never_prints_the_password() {
    let srv = ApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let kc = srv.kubeconfig(dir.path(), &srv.token);
    let args = [
        "secret",
        "create",
        "pull",
        "-n",
        "openshift",
        "--docker-server=reg.example.com:5000",
        "--docker-username=12345678|robot",
        "--password-stdin",
    ];
    let out = regauth(&kc)
        .args(args)
        .write_stdin("s3cr3t:$ 'q\"\n")
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "secret/pull created\n"
    );
    let obj = srv
        .state()
        .get("secrets", "openshift", "pull")
        .unwrap()
        .clone();
    let cfg = decode(&obj, ".dockerconfigjson");
    assert_eq!(
        cfg["auths"]["reg.example.com:5000"]["auth"],
        B64.encode("12345678|robot:s3cr3t:$ 'q\"")
    );
    let writes = srv.state().writes().len();
    let out = regauth(&kc)
        .args(args)
        .arg("-vvv")
        .write_stdin("s3cr3t:$ 'q\"\n")
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "secret/pull unchanged\n"
    );
    assert_eq!(
        srv.state().writes().len(),
        writes,
        "an unchanged secret was written"
    );
    for stream in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(stream);
        assert!(!text.contains("s3cr3t"), "password leaked: {text}");
    }
    // Server-side dry run of a rotation: reported, diffed with masks, not persisted.
    let out = regauth(&kc)
        .args(args)
        .arg("--dry-run=server")
        .write_stdin("rotated\n")
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("secret/pull configured (server dry run)"),
        "{text}"
    );
    assert!(
        text.contains("******** (changed)") && !text.contains("rotated"),
        "{text}"
    );
    assert_eq!(srv.state().writes().len(), writes);
}

/// `secret render -o json` prints kubectl's v1 `List` byte for byte: what
/// `kubectl get secrets -o json` prints for the same two secrets, and for none
/// (tests/fixtures/authfile/kubectl/record.sh).
#[test]
fn render_json_is_kubectls_list() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("hosts");
    let render = |text: &str| {
        std::fs::write(&inv, text).unwrap();
        let out = Command::cargo_bin("regauth")
            .unwrap()
            .args(["-o", "json", "secret", "render", "-i"])
            .arg(&inv)
            .assert()
            .success()
            .get_output()
            .clone();
        String::from_utf8(out.stdout).unwrap()
    };
    let two = render(
        "[OSEv3:children]\nmasters\n[masters]\nm1\n[OSEv3:vars]\noreg_url=reg.example.com:5000/openshift3/ose-${component}:${version}\noreg_auth_user=alice\noreg_auth_password=p\nopenshift_additional_registry_credentials=[{'host':'r1.example.com','password':'tok'}]\n",
    );
    let kubectl = |name: &str| {
        std::fs::read_to_string(format!("tests/fixtures/authfile/kubectl/{name}")).unwrap()
    };
    assert_eq!(two, kubectl("render-list.json"));
    let none = render("[masters]\nm1\n");
    assert_eq!(none, kubectl("render-list-empty.json"));
}

#[test]
fn render_matches_what_the_cluster_step_applies() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("hosts");
    std::fs::write(&inv, "[OSEv3:children]\nmasters\n[masters]\nm1\n[OSEv3:vars]\noreg_url=reg.example.com:5000/openshift3/ose-${component}:${version}\noreg_auth_user=alice\noreg_auth_password=p\nopenshift_additional_registry_credentials=[{'host':'r1.example.com','password':'tok'}]\n").unwrap();
    let out = Command::cargo_bin("regauth")
        .unwrap()
        .args(["secret", "render", "-i"])
        .arg(&inv)
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8(out.stdout).unwrap();
    let docs: Vec<&str> = text.split("---\n").collect();
    assert_eq!(docs.len(), 2, "{text}");
    assert!(
        docs[0].contains("name: imagestreamsecret") && docs[0].contains("namespace: openshift"),
        "{text}"
    );
    assert!(
        docs[1].contains("name: o-a-398f7838c92c87ea4fc3556a78644abd"),
        "{text}"
    );
    assert!(text.contains("type: kubernetes.io/dockerconfigjson"));
    // Byte for byte what kubectl prints for the installer's `oc create secret docker-registry`.
    let kubectl =
        std::fs::read_to_string("tests/fixtures/authfile/kubectl/render-imagestreamsecret.yaml")
            .unwrap();
    assert_eq!(docs[0], kubectl);
    // The payload is kubectl's: username, password, email, auth.
    let line = docs[0]
        .lines()
        .find(|l| l.trim_start().starts_with(".dockerconfigjson:"))
        .unwrap();
    let payload: Value =
        serde_json::from_slice(&B64.decode(line.split(':').nth(1).unwrap().trim()).unwrap())
            .unwrap();
    assert_eq!(
        payload,
        json!({"auths":{"reg.example.com:5000":{"username":"alice","password":"p","email":"openshift@openshift.com","auth":B64.encode("alice:p")}}})
    );
}

#[test]
fn link_grant_and_pull_secret_append() {
    let srv = ApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let kc = srv.kubeconfig(dir.path(), &srv.token);
    srv.state().put(
        "serviceaccounts",
        "default",
        json!({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default"}}),
    );
    regauth(&kc)
        .args([
            "secret",
            "create",
            "pull",
            "--docker-server=r1",
            "--docker-username=u",
            "--password-stdin",
        ])
        .write_stdin("p\n")
        .assert()
        .success();
    assert!(
        srv.state().get("secrets", "default", "pull").is_some(),
        "context namespace not used"
    );
    regauth(&kc)
        .args(["secret", "link", "default", "pull", "--for=pull"])
        .assert()
        .success()
        .stdout("serviceaccount/default configured\n");
    regauth(&kc)
        .args(["secret", "link", "default", "pull", "--for=pull"])
        .assert()
        .success()
        .stdout("serviceaccount/default unchanged\n");
    regauth(&kc)
        .args(["secret", "link", "default", "nope"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not found"));

    regauth(&kc)
        .args([
            "grant",
            "image-puller",
            "--from-namespace",
            "project-a",
            "--all-service-accounts",
            "--to-namespace",
            "default",
        ])
        .assert()
        .success()
        .stdout("rolebinding/system:image-puller created\n");
    regauth(&kc)
        .args([
            "grant",
            "image-puller",
            "--from-namespace",
            "project-a",
            "--all-service-accounts",
            "--to-namespace",
            "default",
            "-o",
            "json",
        ])
        .assert()
        .success()
        .stdout(predicates::str::contains("\"result\": \"unchanged\""));

    let existing = json!({"auths":{"cloud.openshift.com":{"auth":"Y2xvdWQ6dG9rZW4=","email":"me@example.com"},"quay.io":{"auth":"cXVheTp0b2tlbg=="}}});
    srv.state().put("secrets", "openshift-config", json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"pull-secret"},"type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson": B64.encode(existing.to_string())}}));
    let out = regauth(&kc)
        .args([
            "pull-secret",
            "update",
            "--registry",
            "reg.example.com:5000/team",
            "-u",
            "bob",
            "--password-stdin",
            "--dry-run",
            // reg.example.com is not a lab registry (tests/pull_secret.rs checks).
            "--skip-check",
        ])
        .write_stdin("hunter2\n")
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("(server dry run)")
            && text.contains("reg.example.com:5000/team")
            && !text.contains("hunter2")
            && !text.contains("Y2xvdWQ6dG9rZW4="),
        "{text}"
    );
    assert_eq!(
        decode(
            srv.state()
                .get("secrets", "openshift-config", "pull-secret")
                .unwrap(),
            ".dockerconfigjson"
        ),
        existing
    );
    regauth(&kc)
        .args([
            "pull-secret",
            "update",
            "--registry",
            "reg.example.com:5000/team",
            "-u",
            "bob",
            "--password-stdin",
            "--skip-check",
        ])
        .write_stdin("hunter2\n")
        .assert()
        .success()
        .stdout("secret/pull-secret configured\n");
    let now = decode(
        srv.state()
            .get("secrets", "openshift-config", "pull-secret")
            .unwrap(),
        ".dockerconfigjson",
    );
    assert_eq!(now["auths"]["quay.io"], existing["auths"]["quay.io"]);
    assert_eq!(
        now["auths"]["cloud.openshift.com"],
        existing["auths"]["cloud.openshift.com"]
    );
    assert_eq!(
        now["auths"]["reg.example.com:5000/team"]["auth"],
        B64.encode("bob:hunter2")
    );
}

// ---- --include-auth-host: the token service's host gets the same entry ----

use support::{Lab, closed_port};

/// The `.dockerconfigjson` of each document of a rendered YAML stream, by secret name.
fn rendered_payloads(stream: &str) -> std::collections::BTreeMap<String, Value> {
    stream
        .split("---\n")
        .map(|doc| {
            let field = |key: &str| {
                doc.lines()
                    .find_map(|l| l.trim_start().strip_prefix(key))
                    .unwrap()
                    .trim()
                    .to_string()
            };
            let payload = B64.decode(field(".dockerconfigjson:")).unwrap();
            (field("name:"), serde_json::from_slice(&payload).unwrap())
        })
        .collect()
}

#[test]
fn include_auth_host_adds_the_token_host() {
    let lab = Lab::new();
    let tokens = lab.token_service(&[("alice", "alice-pw", &["*"])], false);
    let token_reg = lab.registry().token(&tokens).start();
    let basic = lab.registry().user("bob", "bob-pw").start();
    let realm_host = tokens.server.host();
    let inv = lab.dir.path().join("hosts");
    let write_inv = |oreg: &str, extra: &str| {
        std::fs::write(
            &inv,
            format!(
                "[OSEv3:children]\nmasters\n[masters]\nm1\n[OSEv3:vars]\n\
oreg_url={oreg}/openshift3/ose-${{component}}:${{version}}\n\
oreg_auth_user=alice\noreg_auth_password=alice-pw\n\
openshift_additional_registry_credentials=[{{'host':'{extra}','user':'bob','password':'bob-pw'}}]\n"
            ),
        )
        .unwrap();
    };
    let render = |extra: &[&str]| {
        let mut c = Command::cargo_bin("regauth").unwrap();
        c.arg("--certs-dir")
            .arg(lab.certs_dir())
            .args(["secret", "render", "-i"])
            .arg(&inv)
            .args(extra);
        c
    };
    let entry = |user: &str, pw: &str| {
        json!({"username": user, "password": pw, "email": "openshift@openshift.com",
               "auth": B64.encode(format!("{user}:{pw}"))})
    };

    write_inv(&token_reg.host, &basic.host);
    let out = render(&["--include-auth-host"]).assert().success();
    let secrets = rendered_payloads(&String::from_utf8_lossy(&out.get_output().stdout));
    // The token registry's secret holds both hosts, same credentials; Basic needs none.
    assert_eq!(
        secrets["imagestreamsecret"],
        json!({"auths": {&token_reg.host: entry("alice", "alice-pw"),
                         &realm_host: entry("alice", "alice-pw")}})
    );
    let basic_secret = secrets
        .iter()
        .find(|(name, _)| name.starts_with("o-a-"))
        .unwrap()
        .1;
    assert_eq!(
        *basic_secret,
        json!({"auths": {&basic.host: entry("bob", "bob-pw")}})
    );

    // Without the flag nothing changes, and nothing is asked: dead registries render.
    write_inv(&closed_port(), &closed_port());
    let out = render(&[]).assert().success();
    let secrets = rendered_payloads(&String::from_utf8_lossy(&out.get_output().stdout));
    assert_eq!(
        secrets["imagestreamsecret"]["auths"]
            .as_object()
            .unwrap()
            .len(),
        1
    );
    // With it, a registry that cannot be asked fails the render, saying what to do.
    // (connection refused is retried as validate does: 3 more tries 5 s apart)
    let out = render(&["--include-auth-host"]).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains("connection refused") && err.contains("drop --include-auth-host"),
        "{err}"
    );

    // secret create: the same, for --docker-server.
    let srv = ApiServer::start();
    let kc = srv.kubeconfig(lab.dir.path(), &srv.token);
    let server = format!("--docker-server={}", token_reg.host);
    regauth(&kc)
        .arg("--certs-dir")
        .arg(lab.certs_dir())
        .args(["secret", "create", "pull", "-n", "openshift", &server])
        .args([
            "--docker-username=alice",
            "--password-stdin",
            "--include-auth-host",
        ])
        .write_stdin("alice-pw\n")
        .assert()
        .success();
    let obj = srv
        .state()
        .get("secrets", "openshift", "pull")
        .unwrap()
        .clone();
    let kubectl_entry = |user: &str, pw: &str| json!({"username": user, "password": pw, "auth": B64.encode(format!("{user}:{pw}"))});
    assert_eq!(
        decode(&obj, ".dockerconfigjson"),
        json!({"auths": {&token_reg.host: kubectl_entry("alice", "alice-pw"),
                         &realm_host: kubectl_entry("alice", "alice-pw")}})
    );
    // A file is taken verbatim: the flag does not apply to it.
    regauth(&kc)
        .args([
            "secret",
            "create",
            "x",
            "--include-auth-host",
            "--from-file",
        ])
        .arg(&inv)
        .assert()
        .code(5);
}
