//! Node faults through `regauth run`: one lab of seven nodes where five misbehave in
//! different ways at once. Each fault must be reported on its own host, the healthy
//! nodes must finish, and nothing on a faulty node may be overwritten or half-written.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};
use support::world::{HostOverride, PASSWORD, USER, World, b64, text};

fn host_status(json: &serde_json::Value, host: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for step in json["steps"].as_array().unwrap() {
        for r in step["results"].as_array().unwrap_or(&Vec::new()) {
            if r["host"] == host {
                out.push((
                    step["action"].as_str().unwrap_or_default().to_string(),
                    r["status"].as_str().unwrap_or_default().to_string(),
                    r.to_string(),
                ));
            }
        }
    }
    out
}

#[test]
fn each_node_fault_is_reported_on_its_own_host_and_the_others_finish() {
    let mut w = World::new(7);
    let nobody = w.ssh.user(false);
    // node2 (index 1): its data dir lies under a regular file, so no directory can be
    // made there; root ignores mode bits, this it cannot get around.
    let blocker = w.ssh.nodes[1].path("blocker");
    std::fs::create_dir_all(Path::new(&blocker).parent().unwrap()).unwrap();
    std::fs::write(&blocker, b"a file where a directory should be").unwrap();
    // node4 (index 3) has an old file that must survive its failed restart untouched
    // in meaning: it is rewritten (the write step succeeds), only the restart hangs.
    let inv = w.inventory_with(USER, PASSWORD, |i| match i {
        1 => HostOverride {
            data_dir: Some(format!("{blocker}/origin")),
            ..Default::default()
        },
        // node3: a user without sudo and no become: permission denied on root's dirs.
        2 => HostOverride {
            login: Some(nobody.name.clone()),
            ..Default::default()
        },
        // node4: a restart that hangs; --command-timeout 2 must end it.
        3 => HostOverride {
            restart: Some("sleep 30".into()),
            ..Default::default()
        },
        // node6: disappears during the run (below); a slow restart keeps work in flight.
        5 => HostOverride {
            restart: Some(format!(
                "sleep 20; echo node >> {}",
                w.ssh.nodes[5].path("restarts.log")
            )),
            ..Default::default()
        },
        _ => HostOverride::default(),
    });
    // node5 (index 4): its host key changes after known_hosts was written.
    let old_key_file = w.ssh.nodes[4].path("docker/config.json");
    std::fs::create_dir_all(Path::new(&old_key_file).parent().unwrap()).unwrap();
    std::fs::write(
        &old_key_file,
        br#"{"auths":{"quay.io":{"auth":"cXVheTp4"}}}"#,
    )
    .unwrap();
    w.ssh.nodes[4].change_host_key();

    let started = Instant::now();
    let mut child = w
        .command(
            "registry_auth.yml",
            &inv,
            &[
                "-o",
                "json",
                "--command-timeout",
                "2",
                "--skip-tags",
                "cluster",
            ],
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // node6 vanishes once its first file is written: sshd and every session killed.
    let deadline = Instant::now() + Duration::from_secs(60);
    while w.file(5, "docker/config.json").is_none() {
        assert!(Instant::now() < deadline, "node6 was never written");
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(Duration::from_millis(10));
    }
    w.ssh.nodes[5].vanish();
    let out = {
        let mut o = std::process::Output {
            status: child.wait().unwrap(),
            stdout: Vec::new(),
            stderr: Vec::new(),
        };
        use std::io::Read;
        child
            .stdout
            .take()
            .unwrap()
            .read_to_end(&mut o.stdout)
            .unwrap();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_end(&mut o.stderr)
            .unwrap();
        o
    };
    let elapsed = started.elapsed();
    let all = text(&out);
    // Failed and unreachable hosts together: 2, as ansible-playbook (3 is for runs
    // whose only problems are unreachable hosts).
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        elapsed < Duration::from_secs(25),
        "the slow node held the run: {elapsed:?}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect(&all);

    // Healthy nodes: both files, the new credential, restarted.
    let good = b64(&format!("{USER}:{PASSWORD}"));
    for i in [0, 6] {
        assert_eq!(w.auth(i, "docker/config.json"), good, "{all}");
        assert_eq!(w.auth(i, "origin/.docker/config.json"), good, "{all}");
        assert!(w.restarts(i) >= 1, "node{} not restarted: {all}", i + 1);
    }
    let failed = |i: usize, what: &str| {
        let name = &w.names[i];
        let st = host_status(&json, name);
        assert!(
            st.iter()
                .any(|(_, s, r)| (s == "failed" || s == "unreachable") && r.contains(what)),
            "{name}: expected a failure mentioning {what:?}: {st:#?}"
        );
    };
    failed(1, "blocker");
    failed(2, "ermission denied");
    failed(3, "no output for 2s");
    // A hung restart is a failed task, not a lost connection.
    assert!(
        host_status(&json, &w.names[3])
            .iter()
            .any(|(a, s, _)| a == "restart_nodes" && s == "failed"),
        "{all}"
    );
    failed(4, "REMOTE HOST KEY CHANGED");
    failed(5, "127.0.0.1:");
    // Nothing overwritten on the faulty nodes.
    assert!(w.file(2, "docker/config.json").is_none());
    assert_eq!(
        w.file(4, "docker/config.json").unwrap(),
        br#"{"auths":{"quay.io":{"auth":"cXVheTp4"}}}"#
    );
    assert_eq!(
        std::fs::read(&blocker).unwrap(),
        b"a file where a directory should be"
    );
    assert_eq!(w.restarts(5), 0, "node6 restarted after it vanished");
    // The vanished node's files are whole (old or new), never torn; no temp files.
    for rel in ["docker/config.json", "origin/.docker/config.json"] {
        if let Some(b) = w.file(5, rel) {
            serde_json::from_slice::<serde_json::Value>(&b).expect("whole JSON");
        }
    }
    for i in 0..7 {
        for d in ["docker", "origin/.docker"] {
            if let Ok(rd) = std::fs::read_dir(w.ssh.nodes[i].path(d)) {
                for e in rd.flatten() {
                    let n = e.file_name().to_string_lossy().into_owned();
                    assert!(
                        !n.contains(".tmp") && !n.starts_with(".regauth"),
                        "node{}: {n}",
                        i + 1
                    );
                }
            }
        }
    }
    let retry = std::fs::read_to_string(w.retry_file("registry_auth.yml")).unwrap();
    let mut retry: Vec<&str> = retry.lines().collect();
    retry.sort();
    assert_eq!(
        retry,
        [
            &w.names[1],
            &w.names[2],
            &w.names[3],
            &w.names[4],
            &w.names[5]
        ]
    );
}

/// A restart that hangs on a host whose connection is fine fails that host (exit 2,
/// `failed=1`), as a timed-out Ansible task does; `unreachable` (exit 3) is kept for a
/// connection that is gone.
#[test]
fn a_hung_restart_is_failed_not_unreachable() {
    let w = World::new(1);
    let inv = w.inventory_with(USER, PASSWORD, |_| HostOverride {
        restart: Some("sleep 30".into()),
        ..Default::default()
    });
    let o = w.run(
        "registry_auth.yml",
        &inv,
        &[
            "-o",
            "json",
            "--command-timeout",
            "1",
            "--skip-tags",
            "cluster",
        ],
    );
    let all = text(&o);
    assert_eq!(o.status.code(), Some(2), "{all}");
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect(&all);
    let stats = &json["stats"][&w.names[0]];
    assert_eq!(
        (stats["failed"].as_u64(), stats["unreachable"].as_u64()),
        (Some(1), Some(0)),
        "{all}"
    );
    let st = host_status(&json, &w.names[0]);
    assert!(
        st.iter()
            .any(|(a, s, r)| a == "restart_nodes" && s == "failed" && r.contains("hung")),
        "{st:#?}"
    );
    // The same in text: the node's files removed so that the restart is due again.
    for rel in ["docker/config.json", "origin/.docker/config.json"] {
        std::fs::remove_file(w.ssh.nodes[0].path(rel)).unwrap();
    }
    let text_run = w.run(
        "registry_auth.yml",
        &inv,
        &["--command-timeout", "1", "--skip-tags", "cluster"],
    );
    let t = text(&text_run);
    assert_eq!(text_run.status.code(), Some(2), "{t}");
    assert!(t.contains("FAILED!") && !t.contains("UNREACHABLE!"), "{t}");
    assert!(t.contains("unreachable=0    failed=1"), "{t}");
}

/// Masters restart one at a time, the installer's `serial: 1` play: when the first
/// master's restart fails, ansible-playbook ends the play and the playbook there, so the
/// next master is never taken down too. Here: master 1 fails, masters 2 and 3 stay up.
#[test]
fn a_failed_master_restart_stops_before_the_next_master() {
    let w = World::new(3);
    let inv = w.inventory_with(USER, PASSWORD, |i| HostOverride {
        // Later on the line wins, as in Ansible's INI host lines.
        extra: if i == 0 {
            "regauth_master_restart_command=false".into()
        } else {
            String::new()
        },
        ..Default::default()
    });
    let text_inv = std::fs::read_to_string(&inv).unwrap();
    let masters = format!("[masters]\n{}\n", w.names[0]);
    assert!(text_inv.contains(&masters));
    std::fs::write(
        &inv,
        text_inv.replace(&masters, &format!("[masters]\n{}\n", w.names.join("\n"))),
    )
    .unwrap();
    let o = w.run(
        "registry_auth.yml",
        &inv,
        &["-o", "json", "--skip-tags", "cluster"],
    );
    let all = text(&o);
    assert_eq!(o.status.code(), Some(2), "{all}");
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect(&all);
    assert!(
        host_status(&json, &w.names[0])
            .iter()
            .any(|(a, s, _)| a == "restart_masters" && s == "failed"),
        "{all}"
    );
    for i in [1, 2] {
        assert!(
            !host_status(&json, &w.names[i])
                .iter()
                .any(|(a, _, _)| a == "restart_masters"),
            "master {} was restarted after master 1 failed: {all}",
            i + 1
        );
        let log = String::from_utf8(w.file(i, "restarts.log").unwrap_or_default()).unwrap();
        assert!(!log.contains("master"), "{log}");
        // Its node restart (an earlier step) did run.
        assert!(log.contains("node"), "{log}");
    }
    assert!(all.contains("stopping here"), "{all}");
    let retry = std::fs::read_to_string(w.retry_file("registry_auth.yml")).unwrap();
    assert_eq!(retry, format!("{}\n", w.names[0]), "{all}");
}

/// A step without `serial` is one batch, as a play without `serial` is to
/// ansible-playbook: when every node fails to write its files, the run ends there, so the
/// cluster's secrets and the restarts that follow do not start.
#[test]
fn a_step_whose_every_host_failed_ends_the_run() {
    let w = World::new(2);
    let blocked = |i: usize| w.ssh.nodes[i].path("blocker");
    for i in 0..2 {
        std::fs::create_dir_all(Path::new(&blocked(i)).parent().unwrap()).unwrap();
        std::fs::write(blocked(i), b"a file where a directory should be").unwrap();
    }
    let inv = w.inventory_with(USER, PASSWORD, |i| HostOverride {
        data_dir: Some(format!("{}/origin", blocked(i))),
        ..Default::default()
    });
    let o = w.run("registry_auth.yml", &inv, &["-o", "json"]);
    let all = text(&o);
    assert_eq!(o.status.code(), Some(2), "{all}");
    assert!(
        all.contains("every host of a batch failed (2 of 2)"),
        "{all}"
    );
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect(&all);
    let actions: Vec<&str> = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["action"].as_str())
        .collect();
    assert_eq!(actions, ["validate", "auth_files"], "{all}");
    assert!(w.api.state().writes().is_empty(), "{all}");
    for i in 0..2 {
        assert_eq!(w.restarts(i), 0, "{all}");
    }
    let retry = std::fs::read_to_string(w.retry_file("registry_auth.yml")).unwrap();
    assert_eq!(retry, format!("{}\n{}\n", w.names[0], w.names[1]), "{all}");
}

/// Kubernetes faults inside a run: a 500 from the API server fails the cluster step
/// with a one-line error (no retry: the installer's `oc` calls do not retry either),
/// and a node that never reports Ready fails its restart once `ready_timeout` passes,
/// while the other nodes restart.
#[test]
fn api_500_and_a_node_never_ready_fail_alone_within_the_timeout() {
    let w = World::new(3);
    let inv = w.inventory(USER, PASSWORD);
    let pb = w.dir.path().join("short.yml");
    std::fs::write(
        &pb,
        "- name: files\n  auth_files: {hosts: nodes, files: [runtime, node]}\n\
         - name: secrets\n  cluster_secrets: {namespace: openshift}\n\
         - name: restart\n  restart_nodes: {only_changed: true, serial: 3, wait_ready: true, ready_timeout: 3}\n",
    )
    .unwrap();
    w.api.set_node_ready(&w.names[2], false);
    w.api.state().failures = 1;
    let started = Instant::now();
    let o = w.run(pb.to_str().unwrap(), &inv, &["-o", "json"]);
    let took = started.elapsed();
    let all = text(&o);
    assert_eq!(o.status.code(), Some(2), "{all}");
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect(&all);
    let step = |action: &str| {
        json["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["action"] == action)
            .cloned()
            .unwrap_or_else(|| panic!("no {action} step: {all}"))
    };
    let secrets = step("cluster_secrets");
    let r = &secrets["results"][0];
    assert_eq!(r["status"], "failed", "{all}");
    let msg = r["message"].as_str().unwrap();
    assert!(msg.contains("500") && !msg.contains('\n'), "{msg}");
    assert!(
        w.api
            .state()
            .get("secrets", "openshift", "imagestreamsecret")
            .is_none()
    );
    let restart = step("restart_nodes");
    let of = |host: &str| {
        restart["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["host"] == host)
            .cloned()
    };
    let never = of(&w.names[2]).expect("node3 restart reported");
    assert_eq!(never["status"], "failed", "{all}");
    assert!(
        never["message"]
            .as_str()
            .unwrap()
            .contains("did not report Ready"),
        "{never}"
    );
    assert_eq!(of(&w.names[1]).unwrap()["status"], "changed", "{all}");
    assert!(w.restarts(1) == 1 && w.restarts(2) == 1, "{all}");
    assert!(
        took < Duration::from_secs(20),
        "ready_timeout 3 s, run took {took:?}"
    );
}

/// A tmpfs mounted for a test; unmounted on drop.
struct Tmpfs(String);

impl Tmpfs {
    /// None when this machine does not let the test mount (no CAP_SYS_ADMIN).
    fn mount(dir: &str, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
                dir,
            ])
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(dir.to_string()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// A playbook in a directory that cannot be written: the retry file goes to the
/// working directory instead, and the recap names that one.
#[test]
fn retry_file_in_the_working_directory_when_the_playbook_dir_is_read_only() {
    let mut w = World::new(1);
    let inv = w.inventory(USER, PASSWORD);
    let ro = w.dir.path().join("ro");
    let ro_s = ro.display().to_string();
    let _fs = Tmpfs::mount(&ro_s, "1m").expect("mounting a tmpfs (tests run as root)");
    let pb = ro.join("rotate.yml");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks/registry_auth.yml"),
        &pb,
    )
    .unwrap();
    let remount = std::process::Command::new("mount")
        .args(["-o", "remount,ro", &ro_s])
        .status()
        .unwrap();
    assert!(remount.success());
    assert!(
        std::fs::write(ro.join("probe"), "").is_err(),
        "still writable"
    );
    w.ssh.nodes[0].stop();
    let o = w.run(pb.to_str().unwrap(), &inv, &["--skip-tags", "cluster"]);
    let all = text(&o);
    assert_eq!(o.status.code(), Some(3), "{all}");
    let fallback = w.dir.path().join("rotate.retry");
    assert_eq!(
        std::fs::read_to_string(&fallback).unwrap(),
        format!("{}\n", w.names[0])
    );
    assert!(
        all.contains(&format!(
            "\tto retry, use: --limit @{}\n",
            fallback.display()
        )),
        "{all}"
    );
}

/// A full disk on one node: its write fails with the reason, its old file stays whole
/// and no temp file is left; the other node is written.
#[test]
fn full_disk_fails_that_node_only_and_keeps_its_file() {
    let w = World::new(2);
    let dir = w.ssh.nodes[1].path("docker");
    let Some(_fs) = Tmpfs::mount(&dir, "64k") else {
        // Mounting needs CAP_SYS_ADMIN; the lab nodes are local, so there is no other
        // way to give one node a full disk. Say so rather than pass silently.
        eprintln!("full-disk test not run: cannot mount a tmpfs here");
        return;
    };
    let old = br#"{"auths":{"quay.io":{"auth":"cXVheTp4"}}}"#;
    std::fs::write(format!("{dir}/config.json"), old).unwrap();
    // Fill the rest: writes until ENOSPC.
    let mut filler = std::fs::File::create(format!("{dir}/filler")).unwrap();
    while std::io::Write::write_all(&mut filler, &[0u8; 4096]).is_ok() {}
    drop(filler);
    let inv = w.inventory(USER, PASSWORD);
    let o = w.run("registry_auth.yml", &inv, &["--skip-tags", "cluster"]);
    let all = text(&o);
    assert_eq!(o.status.code(), Some(2), "{all}");
    assert!(all.contains("No space left on device"), "{all}");
    assert_eq!(std::fs::read(format!("{dir}/config.json")).unwrap(), old);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["config.json", "filler"], "temp file left");
    assert_eq!(w.restarts(1), 0, "a node whose write failed was restarted");
    let good = b64(&format!("{USER}:{PASSWORD}"));
    assert_eq!(w.auth(0, "docker/config.json"), good, "{all}");
}
