//! `regauth pull-secret update` end to end: credentials checked against the real
//! registry lab before anything reaches the API server, then `--wait` following the
//! simulated Machine Config Operator's rollout (tests/support/mco.rs) to the end,
//! into a Degraded pool, or out of time.

mod support;

use assert_cmd::Command;
use base64::Engine;
use serde_json::{Value, json};
use std::time::Duration;
use support::apiserver::ApiServer;
use support::{Lab, Silent};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const PW: &str = "r0tated-pw";

struct Setup {
    lab: Lab,
    reg: support::Registry,
    /// The registry of the pull secret's existing entry: counts connections, answers none.
    old: Silent,
    srv: ApiServer,
    kc: std::path::PathBuf,
    existing: Value,
}

fn setup() -> Setup {
    let lab = Lab::new();
    let reg = lab.registry().user("alice", PW).start();
    let old = Silent::start();
    let srv = ApiServer::start();
    let kc = srv.kubeconfig(lab.dir.path(), &srv.token);
    let existing = json!({"auths":{old.host.clone():{"auth":B64.encode("old:old-pw"),"email":"me@example.com"}}});
    srv.state().put(
        "secrets",
        "openshift-config",
        json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"pull-secret"},
            "type":"kubernetes.io/dockerconfigjson",
            "data":{".dockerconfigjson": B64.encode(existing.to_string())}}),
    );
    Setup {
        lab,
        reg,
        old,
        srv,
        kc,
        existing,
    }
}

impl Setup {
    fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("regauth").unwrap();
        c.env("KUBECONFIG", &self.kc)
            .env_remove("HOME")
            .env("NO_COLOR", "1")
            .args(["--certs-dir", self.lab.certs_dir().to_str().unwrap()]);
        c
    }

    /// `pull-secret update --registry <lab registry> -u alice --password-stdin ARGS`.
    fn update(&self, password: &str, args: &[&str]) -> std::process::Output {
        self.cmd()
            .args(["pull-secret", "update", "--registry", &self.reg.host])
            .args(["-u", "alice", "--password-stdin", "--retries", "0"])
            .args(args)
            .write_stdin(format!("{password}\n"))
            .output()
            .unwrap()
    }

    fn payload(&self) -> Value {
        let st = self.srv.state();
        let obj = st
            .get("secrets", "openshift-config", "pull-secret")
            .unwrap();
        serde_json::from_slice(
            &B64.decode(obj["data"][".dockerconfigjson"].as_str().unwrap())
                .unwrap(),
        )
        .unwrap()
    }

    fn non_get_requests(&self) -> Vec<String> {
        self.srv
            .state()
            .requests
            .iter()
            .filter(|r| r.method != "GET")
            .map(|r| format!("{} {}", r.method, r.uri))
            .collect()
    }

    fn pool(&self, name: &str) -> Value {
        self.srv
            .state()
            .get("machineconfigpools", "", name)
            .unwrap()
            .clone()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn no_password(o: &std::process::Output, pw: &str) {
    for s in [&o.stdout, &o.stderr] {
        let t = text(s);
        assert!(
            !t.contains(pw) && !t.contains(&B64.encode(format!("alice:{pw}"))),
            "password leaked: {t}"
        );
    }
}

#[test]
fn refused_credential_writes_nothing_and_reaches_no_write_endpoint() {
    let s = setup();
    for extra in [&[][..], &["--dry-run"][..]] {
        let o = s.update("wrong-pw", extra);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
        let err = text(&o.stderr);
        assert!(
            err.contains("refused, nothing written to secret openshift-config/pull-secret")
                && err.contains(&format!("{} (alice): auth_failed: ", s.reg.host))
                && err.contains("wrong user name or password for alice"),
            "{err}"
        );
        no_password(&o, "wrong-pw");
    }
    assert!(
        s.non_get_requests().is_empty(),
        "a write (or dry run) reached the API server: {:?}",
        s.non_get_requests()
    );
    assert_eq!(s.payload(), s.existing);
    assert_eq!(s.old.connections(), 0, "the unchanged entry was rechecked");
}

#[test]
fn from_file_checks_every_new_entry_in_parallel_and_refuses_if_one_fails() {
    let s = setup();
    let other = s.lab.registry().user("bob", "bob-pw").start();
    let file = s.lab.dir.path().join("new.json");
    let write = |bob_pw: &str| {
        let doc = json!({"auths":{
            s.reg.host.clone(): {"auth": B64.encode(format!("alice:{PW}"))},
            other.host.clone(): {"username": "bob", "password": bob_pw},
            // Unchanged from the cluster's: not checked (the Silent server would hang it).
            s.old.host.clone(): s.existing["auths"][&s.old.host].clone(),
        }});
        std::fs::write(&file, doc.to_string()).unwrap();
    };
    write("not-bobs");
    let o = s
        .cmd()
        .args(["pull-secret", "update", "--from", file.to_str().unwrap()])
        .args(["--retries", "0"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains(&format!("{} (bob): auth_failed", other.host))
            && !err.contains(&format!("{} (alice): auth_failed", s.reg.host)),
        "{err}"
    );
    assert!(
        err.lines()
            .any(|l| l.starts_with("ok ") && l.contains(&s.reg.host)),
        "{err}"
    );
    assert!(s.non_get_requests().is_empty());
    no_password(&o, "not-bobs");

    write("bob-pw");
    let o = s
        .cmd()
        .args(["pull-secret", "update", "--from", file.to_str().unwrap()])
        .args(["--retries", "0", "-o", "json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["result"], "configured");
    let checks = doc["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 2, "{doc}");
    assert!(
        checks
            .iter()
            .all(|c| c["status"] == "ok" && c["check"] == "login"),
        "{doc}"
    );
    let now = s.payload();
    assert_eq!(now["auths"][&other.host]["password"], "bob-pw");
    assert_eq!(now["auths"][&s.old.host], s.existing["auths"][&s.old.host]);
    assert_eq!(s.old.connections(), 0, "the unchanged entry was rechecked");
    no_password(&o, "bob-pw");
}

#[test]
fn checked_then_written_and_skip_check_bypasses() {
    let s = setup();
    let o = s.update(PW, &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "secret/pull-secret configured\n");
    assert!(
        text(&o.stderr).contains(&format!("alice logged in to {}", s.reg.host)),
        "{}",
        text(&o.stderr)
    );
    let now = s.payload();
    assert_eq!(
        now["auths"][&s.reg.host]["auth"],
        B64.encode(format!("alice:{PW}"))
    );
    assert_eq!(now["auths"][&s.old.host], s.existing["auths"][&s.old.host]);
    no_password(&o, PW);

    // Same credential again: nothing to check, nothing to write.
    let writes = s.srv.state().writes().len();
    let o = s.update(PW, &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "secret/pull-secret unchanged\n");
    assert!(
        !text(&o.stderr).contains("logged in"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(s.srv.state().writes().len(), writes);

    // --skip-check writes a credential the registry would refuse, and asks no registry.
    let o = s
        .cmd()
        .args(["pull-secret", "update", "--registry", &s.old.host])
        .args(["-u", "old", "--password-stdin", "--skip-check"])
        .write_stdin("rotated-but-unchecked\n")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        s.payload()["auths"][&s.old.host]["auth"],
        B64.encode("old:rotated-but-unchecked")
    );
    assert_eq!(s.old.connections(), 0);
}

#[test]
fn wait_follows_both_pools_to_a_new_rendered_config() {
    let s = setup();
    s.srv
        .start_mco(&[("master", 3), ("worker", 2)], Duration::from_millis(60));
    let before = s.pool("master")["spec"]["configuration"]["name"].clone();
    let o = s.update(PW, &["--wait", "--wait-interval", "0.02"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let err = text(&o.stderr);
    let master = s.pool("master");
    let target = master["spec"]["configuration"]["name"].as_str().unwrap();
    assert_ne!(master["spec"]["configuration"]["name"], before);
    assert_eq!(master["status"]["configuration"]["name"], target);
    assert!(
        out.starts_with("secret/pull-secret configured\n")
            && out.contains(&format!(
                "machineconfigpool/master updated (3/3 machines on {target})"
            ))
            && out.contains("machineconfigpool/worker updated (2/2 machines on rendered-worker-"),
        "{out}"
    );
    // Plain progress lines (stderr is not a terminal) with the counts as they moved.
    for step in [
        "master 0/3 updated, 0 ready, 1 unavailable",
        "master 1/3 updated, 1 ready, 0 unavailable",
        "master 2/3 updated, 2 ready, 1 unavailable",
        "worker 1/2 updated, 1 ready, 1 unavailable",
    ] {
        assert!(
            err.lines()
                .any(|l| l.starts_with("rollout ") && l.contains(step)),
            "no progress line with {step:?}: {err}"
        );
    }
    no_password(&o, PW);

    // Nothing changed: nothing rolls out, and the wait says so instead of hanging.
    let o = s.update(PW, &["--wait", "--wait-interval", "0.02"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("no rollout to wait for"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn wait_json_document() {
    let s = setup();
    s.srv
        .start_mco(&[("master", 3), ("worker", 2)], Duration::from_millis(30));
    let o = s.update(PW, &["--wait", "--wait-interval", "0.02", "-o", "json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["result"], "configured", "{doc}");
    assert_eq!(doc["checks"][0]["status"], "ok", "{doc}");
    assert_eq!(doc["rollout"]["status"], "updated", "{doc}");
    let pools = doc["rollout"]["pools"].as_array().unwrap();
    assert_eq!(pools.len(), 2);
    for p in pools {
        assert_eq!(p["updated"], true, "{p}");
        assert_eq!(p["updated_machine_count"], p["machine_count"], "{p}");
        assert_ne!(p["config_before"], p["target"], "{p}");
        assert_eq!(p["current"], p["target"], "{p}");
    }
    no_password(&o, PW);
}

#[test]
fn degraded_pool_fails_naming_pool_and_machine() {
    let s = setup();
    s.srv
        .start_mco(&[("master", 3), ("worker", 3)], Duration::from_millis(40));
    let reason = "failed to write /var/lib/kubelet/config.json: read-only file system";
    s.srv.degrade_machine("worker-1", reason);
    let o = s.update(PW, &["--wait", "--wait-interval", "0.02"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains("MachineConfigPool worker is Degraded (1/3 updated, 1 degraded)")
            && err.contains(&format!("degraded machines: worker-1 ({reason})")),
        "{err}"
    );
    assert!(
        !err.contains("MachineConfigPool master is Degraded"),
        "{err}"
    );
    // The write happened: the failure is the rollout's.
    assert!(s.payload()["auths"][&s.reg.host].is_object());

    // JSON: the same verdict, machine by machine.
    s.srv.state().put(
        "secrets",
        "openshift-config",
        json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"pull-secret"},
            "type":"kubernetes.io/dockerconfigjson",
            "data":{".dockerconfigjson": B64.encode(s.existing.to_string())}}),
    );
    let o = s.update(PW, &["--wait", "--wait-interval", "0.02", "-o", "json"]);
    assert_eq!(o.status.code(), Some(2));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["rollout"]["status"], "degraded", "{doc}");
    let worker = doc["rollout"]["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "worker")
        .unwrap()
        .clone();
    assert_eq!(
        worker["degraded_machines"],
        json!([{"name":"worker-1","reason":reason}])
    );
}

#[test]
fn timeout_fails_with_the_counts() {
    let s = setup();
    s.srv
        .start_mco(&[("master", 3), ("worker", 2)], Duration::from_millis(250));
    let o = s.update(
        PW,
        &["--wait", "--wait-interval", "0.05", "--wait-timeout", "1"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    let msg = err
        .lines()
        .find(|l| l.starts_with("ERROR!"))
        .unwrap_or_default();
    assert!(
        msg.contains("the rollout did not finish within 1s")
            && msg.contains("master ")
            && msg.contains("/3 updated")
            && msg.contains("worker ")
            && msg.contains("/2 updated"),
        "{err}"
    );
}

#[test]
fn wait_without_machine_config_pools_fails_before_writing() {
    let s = setup();
    let o = s.update(PW, &["--wait"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("no MachineConfigPools"),
        "{}",
        text(&o.stderr)
    );
    assert!(s.non_get_requests().is_empty());
}

#[test]
fn identity_token_entries_are_checked_as_refresh_tokens_before_writing() {
    let s = setup();
    let tokens = s
        .lab
        .token_service(&[("carol", "carol-refresh-7Hq2", &["*"])], false);
    let token_reg = s.lab.registry().token(&tokens).start();
    let t = token_reg.host.clone();
    let file = s.lab.dir.path().join("new.json");
    let update = |token: &str| {
        std::fs::write(
            &file,
            json!({"auths":{t.clone(): {"identitytoken": token}}}).to_string(),
        )
        .unwrap();
        s.cmd()
            .args(["pull-secret", "update", "--from", file.to_str().unwrap()])
            .args(["--retries", "0", "-o", "json"])
            .output()
            .unwrap()
    };

    // A refresh token the token service does not know: refused, nothing written.
    let o = update("not-a-refresh-token");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains("refused, nothing written") && err.contains("auth_failed"),
        "{err}"
    );
    assert!(!err.contains("not-a-refresh-token"), "{err}");
    assert!(s.non_get_requests().is_empty());
    assert_eq!(s.payload(), s.existing);

    // The right one: granted as an OAuth2 refresh-token request, then written.
    let before = tokens
        .refresh_grants
        .load(std::sync::atomic::Ordering::SeqCst);
    let o = update("carol-refresh-7Hq2");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let checks = doc["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 1, "{doc}");
    assert_eq!(checks[0]["status"], "ok", "{doc}");
    assert_eq!(checks[0]["registry"], t.as_str(), "{doc}");
    assert!(
        tokens
            .refresh_grants
            .load(std::sync::atomic::Ordering::SeqCst)
            > before
    );
    assert!(!text(&o.stdout).contains("carol-refresh-7Hq2"));
    assert!(!text(&o.stderr).contains("carol-refresh-7Hq2"));
    let now = s.payload();
    assert_eq!(now["auths"][&t]["identitytoken"], "carol-refresh-7Hq2");
    assert_eq!(now["auths"][&s.old.host], s.existing["auths"][&s.old.host]);
}
