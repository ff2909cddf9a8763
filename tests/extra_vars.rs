//! `-e` extra vars as ansible-playbook has them. The corpus (tests/corpus/extra_vars,
//! recorded from the real ansible-playbook 2.19 by its regen.sh) fixes the parsing and
//! precedence; the commands below show a rotation through `-e @FILE` with a vault file
//! made by the real ansible-vault (tests/fixtures/extra_vars) working end to end.

mod support;

use assert_cmd::Command;
use regauth::exit::HasExit;
use regauth::inventory::{self, LoadOptions, Value};
use std::path::{Path, PathBuf};
use support::world::{PASSWORD, USER, World, b64, text};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/extra_vars")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/extra_vars")
}

fn json_of(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => J::from(*f),
        Value::Str(s) => J::String(s.clone()),
        Value::List(items) => J::Array(items.iter().map(json_of).collect()),
        Value::Map(m) => J::Object(m.iter().map(|(k, v)| (k.clone(), json_of(v))).collect()),
        Value::Vault(_) => J::String(v.as_str().expect("decrypted").to_string()),
    }
}

/// One corpus case through regauth's loader. `@FILE` is relative to the working
/// directory, which ansible-playbook had as the case directory: made absolute here.
fn load_case(dir: &Path) -> Result<inventory::Inventory, inventory::InventoryError> {
    let extra = std::fs::read_to_string(dir.join("extra")).unwrap();
    let extra_vars = extra
        .lines()
        .map(|l| match l.strip_prefix('@') {
            Some(f) => format!("@{}", dir.join(f).display()),
            None => l.to_string(),
        })
        .collect();
    let vault = dir.join("vault-pass");
    inventory::load(&LoadOptions {
        sources: vec![dir.join("hosts")],
        vault_password_file: vault.exists().then_some(vault),
        extra_vars,
    })
}

#[test]
fn corpus_matches_ansible_playbook() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 19, "corpus missing");
    for dir in cases {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let result = load_case(&dir);
        if let Ok(expected) = std::fs::read_to_string(dir.join("expected-error")) {
            let first = expected.lines().next().unwrap();
            let (code, needle) = first.split_once('\t').unwrap();
            let e = match result {
                Ok(_) => panic!("{name}: loaded, expected an error with {needle:?}"),
                Err(e) => e,
            };
            assert_eq!(e.exit().code().to_string(), code, "{name}: {e}");
            assert!(e.to_string().contains(needle), "{name}: {e}");
            continue;
        }
        let inv = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        let names = std::fs::read_to_string(dir.join("vars")).unwrap();
        for host in inv.hosts() {
            let vars = inv.host_vars(host).unwrap();
            for n in names.lines() {
                let ours = vars.get(n).map(|v| json_of(&v.value));
                let theirs = expected[host].get(n).cloned();
                assert_eq!(ours, theirs, "{name}: {host} {n}");
            }
        }
    }
}

fn regauth() -> Command {
    Command::cargo_bin("regauth").unwrap()
}

/// An inventory whose password is the old one, and the rotation as ansible-playbook users
/// write it: `-e @rotate.yml`, vault-encrypted, read from the working directory.
#[test]
fn render_takes_the_rotated_password_from_a_vault_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hosts"),
        "[masters]\nm1\n[OSEv3:children]\nmasters\n[OSEv3:vars]\noreg_url=reg.example.com:5000/openshift3/ose-${component}:${version}\noreg_auth_user=old-user\noreg_auth_password=old-password\n",
    )
    .unwrap();
    for f in ["rotate-whole.yml", "rotate-values.yml", "vault-pass"] {
        std::fs::copy(fixtures().join(f), dir.path().join(f)).unwrap();
    }
    for file in ["rotate-whole.yml", "rotate-values.yml"] {
        let out = regauth()
            .current_dir(dir.path())
            .args(["-o", "json", "secret", "render", "-i", "hosts"])
            .args(["--vault-password-file", "vault-pass", "-e"])
            .arg(format!("@{file}"))
            .assert()
            .success()
            .get_output()
            .clone();
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let data = list["items"][0]["data"][".dockerconfigjson"]
            .as_str()
            .unwrap();
        use base64::Engine;
        let payload: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::STANDARD
                .decode(data)
                .unwrap(),
        )
        .unwrap();
        let entry = &payload["auths"]["reg.example.com:5000"];
        assert_eq!(entry["username"], USER, "{file}");
        assert_eq!(entry["password"], PASSWORD, "{file}");
    }
    // Without the vault password the file cannot be read: exit 4, naming it.
    let out = regauth()
        .current_dir(dir.path())
        .env_remove("ANSIBLE_VAULT_PASSWORD_FILE")
        .args(["secret", "render", "-i", "hosts", "-e", "@rotate-whole.yml"])
        .assert()
        .code(4)
        .get_output()
        .clone();
    assert!(text(&out).contains("rotate-whole.yml"), "{}", text(&out));
}

/// Inline secrets are refused before anything runs, pointing at `-e @FILE`; a broken
/// extra-vars file is named with its line, as inventory errors are.
#[test]
fn inline_secrets_refused_and_file_errors_located() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hosts"), "[masters]\nm1\n").unwrap();
    for cmd in [
        &["validate", "-i", "hosts"][..],
        &["secret", "render", "-i", "hosts"][..],
        &["run", "playbook.yml", "-i", "hosts"][..],
    ] {
        for e in [
            "oreg_auth_password=hunter2",
            "{\"openshift_additional_registry_credentials\": [{\"host\": \"r\", \"password\": \"hunter2\"}]}",
        ] {
            let out = regauth()
                .current_dir(dir.path())
                .args(cmd)
                .args(["-e", e])
                .assert()
                .code(5)
                .get_output()
                .clone();
            let t = text(&out);
            assert!(
                t.contains("-e @FILE") && !t.contains("hunter2"),
                "{cmd:?}: {t}"
            );
        }
    }
    std::fs::write(
        dir.path().join("bad.yml"),
        "oreg_auth_user: a\noreg_url: [\n",
    )
    .unwrap();
    let out = regauth()
        .current_dir(dir.path())
        .args(["secret", "render", "-i", "hosts", "-e", "@bad.yml"])
        .assert()
        .code(4)
        .get_output()
        .clone();
    let t = text(&out);
    assert!(t.contains("bad.yml:"), "{t}");
}

/// validate and run take the rotated credential from `-e @FILE` over the inventory's
/// (wrong) one: the real registry accepts it and every node gets it.
#[test]
fn validate_and_run_rotate_with_a_vault_extra_vars_file() {
    let w = World::new(2);
    let inv = w.inventory(USER, "an-old-password");
    for f in ["rotate-values.yml", "vault-pass"] {
        std::fs::copy(fixtures().join(f), w.dir.path().join(f)).unwrap();
    }
    let vault = [
        "--vault-password-file",
        "vault-pass",
        "-e",
        "@rotate-values.yml",
    ];
    // Without -e the inventory's old password fails; with it, the registry says ok.
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("regauth"));
    c.current_dir(w.dir.path())
        .args(["validate", "-i"])
        .arg(&inv)
        .arg("--certs-dir")
        .arg(w.reg_lab.certs_dir())
        .args(["--retries", "0"]);
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = c.args(vault).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let o = w.run("registry_auth.yml", &inv, &vault);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let good = b64(&format!("{USER}:{PASSWORD}"));
    for i in 0..2 {
        assert_eq!(w.auth(i, "docker/config.json"), good);
        assert_eq!(w.auth(i, "origin/.docker/config.json"), good);
    }
}
