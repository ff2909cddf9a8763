//! `regauth secret create --dry-run`: the same manifests as kubectl's client-side dry
//! run, compared with output recorded from kubectl 1.32 (tests/fixtures/authfile/kubectl).

use assert_cmd::Command;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use predicates::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/authfile")
}

fn kubectl(name: &str) -> String {
    std::fs::read_to_string(dir().join("kubectl").join(name)).expect(name)
}

/// One recorded kubectl invocation: regauth's arguments and the password it gets on stdin.
struct Case {
    fixture: &'static str,
    args: &'static [&'static str],
    stdin: &'static str,
}

const PW_COLON: &str = "p:a$s\"w'o&rd<>";

const CASES: &[Case] = &[
    Case {
        fixture: "colon-email",
        args: &[
            "pull-a",
            "-n",
            "ns1",
            "--docker-server=reg.example.com:5000",
            "--docker-username=alice",
            "--password-stdin",
            "--docker-email=a@example.com",
        ],
        stdin: "p:a$s\"w'o&rd<>\n",
    },
    Case {
        fixture: "default-server-no-ns",
        args: &["pull-b", "--docker-username=bob", "--password-stdin"],
        stdin: "x\n",
    },
    Case {
        fixture: "unicode-numeric-names",
        args: &[
            "0123",
            "-n",
            "0456",
            "--docker-server=quay.io/org-a",
            "--docker-username=robot$ci+bot",
            "--password-stdin",
        ],
        stdin: "p\u{e4}ss\u{2028} \\ end",
    },
    Case {
        fixture: "from-file-config",
        args: &["from-config", "-n", "ns1", "--from-file", "PODMAN"],
        stdin: "",
    },
    Case {
        fixture: "from-file-legacy",
        args: &["from-legacy", "-n", "ns1", "--from-file", "LEGACY"],
        stdin: "",
    },
];

fn run(case: &Case, format: &str) -> std::process::Output {
    let args: Vec<String> = case
        .args
        .iter()
        .map(|a| match *a {
            "PODMAN" => dir().join("podman-auth.json").display().to_string(),
            "LEGACY" => dir().join("legacy.dockercfg").display().to_string(),
            a => a.to_string(),
        })
        .collect();
    Command::cargo_bin("regauth")
        .unwrap()
        .args(["secret", "create"])
        .args(&args)
        .args(["--dry-run", "-o", format])
        .write_stdin(case.stdin)
        .output()
        .unwrap()
}

fn payload(manifest: &Value) -> Value {
    let data = manifest["data"].as_object().unwrap();
    assert_eq!(data.len(), 1);
    let b64 = data.values().next().unwrap().as_str().unwrap();
    serde_json::from_slice(&STANDARD.decode(b64).unwrap()).unwrap()
}

#[test]
fn json_matches_kubectl() {
    for case in CASES {
        let out = run(case, "json");
        assert!(
            out.status.success(),
            "{}: {}",
            case.fixture,
            String::from_utf8_lossy(&out.stderr)
        );
        let ours = String::from_utf8(out.stdout).unwrap();
        let theirs = kubectl(&format!("{}.json", case.fixture));
        let (o, t): (Value, Value) = (
            serde_json::from_str(&ours).unwrap(),
            serde_json::from_str(&theirs).unwrap(),
        );
        // The decoded .dockerconfigjson is the same JSON …
        assert_eq!(payload(&o), payload(&t), "{}", case.fixture);
        // … and in fact the whole output is byte-identical.
        assert_eq!(ours, theirs, "{}", case.fixture);
    }
}

#[test]
fn yaml_matches_kubectl() {
    for case in CASES {
        let out = run(case, "yaml");
        assert!(
            out.status.success(),
            "{}: {}",
            case.fixture,
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            kubectl(&format!("{}.yaml", case.fixture)),
            "{}",
            case.fixture
        );
    }
}

#[test]
fn kubectl_entry_shape() {
    let out = run(&CASES[0], "json");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let entry = &payload(&v)["auths"]["reg.example.com:5000"];
    assert_eq!(entry["username"], "alice");
    assert_eq!(entry["password"], PW_COLON);
    assert_eq!(entry["email"], "a@example.com");
    let auth =
        String::from_utf8(STANDARD.decode(entry["auth"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(auth, format!("alice:{PW_COLON}"));
    assert_eq!(v["type"], "kubernetes.io/dockerconfigjson");
}

#[test]
fn text_output_means_yaml() {
    let out = Command::cargo_bin("regauth")
        .unwrap()
        .args([
            "secret",
            "create",
            "pull-b",
            "--docker-username=bob",
            "--password-stdin",
            "--dry-run",
        ])
        .write_stdin("x\n")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        kubectl("default-server-no-ns.yaml")
    );
}

#[test]
fn without_dry_run_it_needs_a_cluster() {
    let home = tempfile::tempdir().unwrap();
    Command::cargo_bin("regauth")
        .unwrap()
        .env("HOME", home.path())
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .args([
            "secret",
            "create",
            "s",
            "--docker-username=bob",
            "--password-stdin",
        ])
        .write_stdin("x\n")
        .assert()
        .code(5)
        .stdout("")
        .stderr(predicates::str::contains("no kubeconfig found"));
}

#[test]
fn refuses_files_the_api_server_would_reject() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, body, what) in [
        ("corrupt.json", &b"{\"auths\": {"[..], "not valid JSON"),
        (
            "no-auths.json",
            br#"{"credsStore": "desktop"}"#,
            "no \"auths\"",
        ),
    ] {
        let f = tmp.path().join(name);
        std::fs::write(&f, body).unwrap();
        Command::cargo_bin("regauth")
            .unwrap()
            .args(["secret", "create", "s", "--dry-run", "--from-file"])
            .arg(&f)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicates::str::contains(what).and(predicates::str::contains(name)));
    }
}

#[test]
fn bad_option_combinations_exit_5() {
    for args in [
        &["secret", "create", "s", "--dry-run"][..],
        &[
            "secret",
            "create",
            "s",
            "--dry-run",
            "--from-file",
            "f",
            "--docker-username",
            "u",
            "--password-stdin",
        ],
        &[
            "secret",
            "create",
            "s",
            "--dry-run",
            "--docker-username",
            "u",
        ],
        &[
            "secret",
            "create",
            "s",
            "--dry-run",
            "--docker-password",
            "p",
        ],
    ] {
        Command::cargo_bin("regauth")
            .unwrap()
            .args(args)
            .assert()
            .code(5);
    }
}
