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
