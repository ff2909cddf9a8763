//! `regauth run` end to end with real components: a docker-registry (TLS + htpasswd),
//! sshd nodes on loopback and the test API server, driven through the shipped playbooks.

mod support;

use assert_cmd::Command;
use std::path::Path;
use support::world::{PASSWORD, USER, World, b64, text};

#[test]
fn install_then_idempotent_then_rotation_with_accurate_dry_run() {
    let w = World::new(3);
    let inv = w.inventory(USER, PASSWORD);

    // node3 already holds another registry and a credential helper: both must stay.
    let existing = w.ssh.nodes[2].path("docker/config.json");
    std::fs::create_dir_all(Path::new(&existing).parent().unwrap()).unwrap();
    std::fs::write(
        &existing,
        br#"{"auths":{"quay.io":{"auth":"cXVheTp4"}},"credHelpers":{"gcr.io":"gcloud"}}"#,
    )
    .unwrap();

    // Install: every file written, every node restarted once, the secret created.
    let o = w.run("install.yml", &inv, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for i in 0..3 {
        assert_eq!(
            w.auth(i, "docker/config.json"),
            b64(&format!("{USER}:{PASSWORD}"))
        );
        assert_eq!(
            w.auth(i, "origin/.docker/config.json"),
            b64(&format!("{USER}:{PASSWORD}"))
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(w.ssh.nodes[i].path("docker/config.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(
        (w.restarts(0), w.restarts(1), w.restarts(2)),
        (2, 1, 1),
        "node1 is master and node: node + master restart"
    );
    assert!(
        w.api
            .state()
            .get("secrets", "openshift", "imagestreamsecret")
            .is_some()
    );
    let out = text(&o);
    assert!(out.contains("PLAY RECAP"), "{out}");
    assert!(
        !out.contains(PASSWORD) && !out.contains(&b64(&format!("{USER}:{PASSWORD}"))),
        "secret leaked: {out}"
    );

    // Second run: nothing changes, nothing restarts, no write reaches the API server.
    let writes = w.api.state().writes().len();
    let o = w.run("registry_auth.yml", &inv, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!((w.restarts(0), w.restarts(1), w.restarts(2)), (2, 1, 1));
    assert_eq!(w.api.state().writes().len(), writes);
    assert!(text(&o).contains("changed=0"), "{}", text(&o));

    // Rotation: the dry run says exactly what the real run then changes.
    let inv = w.inventory("bob", "second");
    let before: Vec<Option<Vec<u8>>> = (0..3).map(|i| w.file(i, "docker/config.json")).collect();
    let o = w.run("validate.yml", &inv, &["-o", "json", "--diff"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let dry: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (0..3)
            .map(|i| w.file(i, "docker/config.json"))
            .collect::<Vec<_>>(),
        before,
        "the dry run wrote a file"
    );
    assert_eq!(
        w.api.state().writes().len(),
        writes,
        "the dry run wrote to the cluster"
    );
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("second"),
        "secret in the dry run's output"
    );
    let o = w.run("registry_auth.yml", &inv, &["-o", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let real: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let changed = |v: &serde_json::Value| -> Vec<(String, String)> {
        let mut out = Vec::new();
        for step in v["steps"].as_array().unwrap() {
            if step["action"] == "validate" {
                continue;
            }
            for r in step["results"].as_array().unwrap() {
                if r["status"] == "changed" {
                    out.push((
                        step["action"].as_str().unwrap().to_string(),
                        r["host"].as_str().unwrap().to_string(),
                    ));
                }
            }
        }
        out
    };
    assert_eq!(
        changed(&dry),
        changed(&real),
        "dry run and real run disagree"
    );
    assert!(!changed(&real).is_empty());
    for i in 0..3 {
        assert_eq!(w.auth(i, "docker/config.json"), b64("bob:second"));
    }
    assert_eq!((w.restarts(0), w.restarts(1), w.restarts(2)), (4, 2, 2));
}

#[test]
fn failing_credential_stops_before_anything_is_touched() {
    let w = World::new(3);
    let inv = w.inventory(USER, "wrong password");
    let o = w.run("registry_auth.yml", &inv, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("auth_failed"), "{}", text(&o));
    for i in 0..3 {
        assert!(
            w.file(i, "docker/config.json").is_none(),
            "node {i} was touched"
        );
        assert_eq!(w.restarts(i), 0);
    }
    assert!(w.api.state().writes().is_empty());
    assert!(!text(&o).contains("wrong password"));
}

#[test]
fn one_bad_node_fails_alone_with_exit_codes_and_retry_file() {
    let mut w = World::new(3);
    let inv = w.inventory(USER, PASSWORD);
    // node2: a corrupt file that must stay as it is.
    let corrupt = w.ssh.nodes[1].path("origin/.docker/config.json");
    std::fs::create_dir_all(Path::new(&corrupt).parent().unwrap()).unwrap();
    std::fs::write(&corrupt, b"{not json").unwrap();
    let o = w.run("registry_auth.yml", &inv, &["--skip-tags", "cluster"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("is not a valid auth file"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read(&corrupt).unwrap(), b"{not json");
    assert_eq!(w.restarts(1), 0);
    assert_eq!(
        w.auth(0, "docker/config.json"),
        b64(&format!("{USER}:{PASSWORD}"))
    );
    assert_eq!(
        w.auth(2, "docker/config.json"),
        b64(&format!("{USER}:{PASSWORD}"))
    );
    let retry = std::fs::read_to_string(w.retry_file("registry_auth.yml")).unwrap();
    assert_eq!(retry, "node2.example.com\n");
    // Beside the playbook (not in the working directory), named as ansible-playbook
    // names it, on the line it prints just before the recap.
    assert!(!w.dir.path().join("registry_auth.retry").exists());
    let stdout = String::from_utf8_lossy(&o.stdout);
    let line = format!(
        "\tto retry, use: --limit @{}\n\nPLAY RECAP",
        w.retry_file("registry_auth.yml").display()
    );
    assert!(stdout.contains(&line), "{stdout}");

    // node3 unreachable: exit 3 once node2 is fixed; the retry file names node3.
    std::fs::remove_file(&corrupt).unwrap();
    w.ssh.nodes[2].stop();
    let o = w.run(
        "registry_auth.yml",
        &inv,
        &[
            "--skip-tags",
            "cluster",
            "--limit",
            "@playbooks/registry_auth.retry,node3.example.com",
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_eq!(
        w.auth(1, "origin/.docker/config.json"),
        b64(&format!("{USER}:{PASSWORD}"))
    );
    let retry = std::fs::read_to_string(w.retry_file("registry_auth.yml")).unwrap();
    assert_eq!(retry, "node3.example.com\n");
}

#[test]
fn playbook_errors_name_file_and_line() {
    let w = World::new(3);
    let inv = w.inventory(USER, "x");
    let bad = w.dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "- name: ok\n  validate: {}\n- name: typo\n  auth_file: {hosts: nodes}\n",
    )
    .unwrap();
    let o = Command::cargo_bin("regauth")
        .unwrap()
        .arg("run")
        .arg(&bad)
        .arg("-i")
        .arg(&inv)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(
        text(&o).contains("bad.yml:4: unknown key 'auth_file'"),
        "{}",
        text(&o)
    );
}

#[test]
fn sigint_exits_99_and_leaves_every_file_whole() {
    let w = World::new(3);
    // Slow restarts, one node at a time, so the interrupt lands mid-run.
    let inv = w.inventory_with_slow_restarts(1);
    let child = w.spawn_rolling(&inv);
    // Wait until the first restart has begun, then interrupt.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while w.restarts(0) + w.restarts(1) + w.restarts(2) == 0 && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(99), "{}", text(&out));
    let total = w.restarts(0) + w.restarts(1) + w.restarts(2);
    assert!(
        total < 4,
        "the run went on after the interrupt: {total} restarts"
    );
    w.assert_files_whole("after SIGINT");
}
