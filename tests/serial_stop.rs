//! When every host of a `serial` batch fails, ansible-playbook ends the play and the
//! playbook: later batches and later plays never start, their hosts are neither in the
//! recap nor in the retry file, and the exit code is 2 (`PlaybookExecutor.run`:
//! `len(batch) == failed_hosts_count`). The real ansible-playbook 2.19 runs each case on
//! local-connection hosts; regauth runs the same case on real sshd nodes whose restart
//! command fails where Ansible's task does. Recap, retry file, exit code and whether the
//! next step ran must agree.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use support::world::{HostOverride, PASSWORD, USER, World, text};

const NODES: usize = 6;

/// What a run left: recap counters per host (ok, changed, unreachable, failed,
/// skipped), the retry file's hosts, whether the step after the serial one started,
/// and the exit code.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    recap: BTreeMap<String, [u64; 5]>,
    retry: BTreeSet<String>,
    after_ran: bool,
    code: Option<i32>,
}

fn names() -> Vec<String> {
    (1..=NODES)
        .map(|i| format!("node{i}.example.com"))
        .collect()
}

fn retry_hosts(path: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(path)
        .map(|t| t.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// One case: the `serial` value, the nodes that fail the step before (no serial), and
/// the nodes that fail the serial step.
struct Case {
    serial: serde_json::Value,
    before: &'static [usize],
    fail: &'static [usize],
}

/// ansible-playbook on local-connection hosts named as the lab's nodes: a play over
/// the nodes whose task fails on `before`, a play with `serial` over the nodes whose
/// task fails on `fail`, then a play on the master.
fn ansible(dir: &Path, case: &Case) -> Seen {
    let names = names();
    let inv = dir.join("ansible.ini");
    std::fs::write(
        &inv,
        format!(
            "[nodes]\n{}\n[masters]\n{}\n[all:vars]\nansible_connection=local\n\
             ansible_python_interpreter={}\n",
            names.join("\n"),
            names[0],
            python(),
        ),
    )
    .unwrap();
    let pb = dir.join("ansible_serial.yml");
    std::fs::write(
        &pb,
        "- name: before\n  hosts: nodes\n  gather_facts: false\n  tasks:\n    \
         - name: before\n      command: \"{{ 'false' if inventory_hostname in pre else 'true' }}\"\n\
         - name: restart\n  hosts: nodes\n  gather_facts: false\n  \
         serial: \"{{ openshift_restart_nodes_serial }}\"\n  tasks:\n    \
         - name: restart\n      command: \"{{ 'false' if inventory_hostname in fail else 'true' }}\"\n\
         - name: after\n  hosts: masters\n  gather_facts: false\n  tasks:\n    \
         - name: after\n      command: \"true\"\n",
    )
    .unwrap();
    let retry = dir.join("ansible_serial.retry");
    let _ = std::fs::remove_file(&retry);
    let vars = serde_json::json!({
        "openshift_restart_nodes_serial": case.serial,
        "pre": case.before.iter().map(|&i| names[i].clone()).collect::<Vec<_>>(),
        "fail": case.fail.iter().map(|&i| names[i].clone()).collect::<Vec<_>>(),
    });
    let o = Command::new("ansible-playbook")
        .arg("-i")
        .arg(&inv)
        .arg(&pb)
        .arg("-e")
        .arg(vars.to_string())
        .env("ANSIBLE_RETRY_FILES_ENABLED", "1")
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_LOCAL_TEMP", dir.join("ansible-tmp"))
        .env("ANSIBLE_HOME", dir.join("ansible-home"))
        .output()
        .expect("ansible-playbook on PATH");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let mut recap = BTreeMap::new();
    for line in out.lines().skip_while(|l| !l.starts_with("PLAY RECAP")) {
        let Some((host, counts)) = line.split_once(" : ") else {
            continue;
        };
        let field = |k: &str| -> u64 {
            counts
                .split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{k}=")))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no {k} in {line}"))
        };
        recap.insert(
            host.trim().to_string(),
            ["ok", "changed", "unreachable", "failed", "skipped"].map(field),
        );
    }
    assert!(!recap.is_empty(), "no recap from ansible-playbook: {out}");
    Seen {
        recap,
        retry: retry_hosts(&retry),
        after_ran: out.contains("PLAY [after]"),
        code: o.status.code(),
    }
}

fn python() -> String {
    let o = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

/// The same case through `regauth run` on the lab (the restart command reads the
/// markers: `pre` fails once, `first` succeeds once, then `fail` fails); returns what
/// it saw and the number of restarts each node recorded during the run.
fn regauth(w: &World, inv: &Path, pb: &Path, case: &Case) -> (Seen, Vec<usize>) {
    for i in 0..NODES {
        let before = case.before.contains(&i);
        for (marker, on) in [
            ("pre", before),
            ("first", !before),
            ("fail", case.fail.contains(&i)),
        ] {
            let path = w.ssh.nodes[i].path(marker);
            if on {
                std::fs::write(&path, b"").unwrap();
            } else {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    let retry = pb.with_extension("retry");
    let _ = std::fs::remove_file(&retry);
    let before: Vec<usize> = (0..NODES).map(|i| w.restarts(i)).collect();
    let o = w.run(
        pb.to_str().unwrap(),
        inv,
        &[
            "-o",
            "json",
            "-e",
            &serde_json::json!({"openshift_restart_nodes_serial": case.serial}).to_string(),
        ],
    );
    let all = text(&o);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect(&all);
    let recap = json["stats"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(h, s)| {
            let n = |k: &str| s[k].as_u64().unwrap();
            (
                h.clone(),
                ["ok", "changed", "unreachable", "failed", "skipped"].map(n),
            )
        })
        .collect();
    let after_ran = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "after");
    let restarts = (0..NODES).map(|i| w.restarts(i) - before[i]).collect();
    (
        Seen {
            recap,
            retry: retry_hosts(&retry),
            after_ran,
            code: o.status.code(),
        },
        restarts,
    )
}

#[test]
fn a_batch_that_fails_whole_ends_the_run_as_ansible_playbook_does() {
    let w = World::new(NODES);
    let inv = w.inventory_with(USER, PASSWORD, |i| {
        let n = &w.ssh.nodes[i];
        let (d, log) = (n.path(""), n.path("restarts.log"));
        HostOverride {
            restart: Some(format!(
                "if test -e {d}/pre; then rm {d}/pre; exit 1; fi; \
                 if test -e {d}/first; then rm {d}/first; echo node >> {log}; exit 0; fi; \
                 test ! -e {d}/fail && echo node >> {log}"
            )),
            ..Default::default()
        }
    });
    let pb = w.dir.path().join("serial.yml");
    std::fs::write(
        &pb,
        "- name: before\n  restart_nodes: {only_changed: false, serial: \"100%\", wait_ready: false}\n\
         - name: restart\n  restart_nodes: {only_changed: false, \
         serial: \"{{ openshift_restart_nodes_serial }}\", wait_ready: false}\n\
         - name: after\n  restart_masters: {only_changed: false}\n",
    )
    .unwrap();
    let names = names();
    let case = |serial: serde_json::Value, before, fail| Case {
        serial,
        before,
        fail,
    };
    let cases = [
        // The first batch fails whole: nothing after it starts.
        case(2.into(), &[], &[0, 1]),
        // A later batch fails whole: the batches before it stay done.
        case(2.into(), &[], &[2, 3]),
        // A failure in every batch, none whole: everything runs.
        case(2.into(), &[], &[0, 3, 5]),
        // A list: batches of 1, 3, 2; the second fails whole.
        case(serde_json::json!([1, "50%"]), &[], &[1, 2, 3]),
        // One batch of all, not all failing.
        case(serde_json::json!("100%"), &[], &[1, 2, 3, 4, 5]),
        // node1 failed the step before: it keeps its place in the first batch (not
        // run, no new failure), so node2 failing alone does not end the run, nor does
        // node3 with node4 fine. Batches cut over the live nodes only would have put
        // node2 and node3 together and stopped.
        case(2.into(), &[0], &[1, 2]),
        // Every node of the step before failed: that one-batch step ends the run.
        case(2.into(), &[0, 1, 2, 3, 4, 5], &[]),
    ];
    let mut differ = Vec::new();
    for c in &cases {
        let want = ansible(w.dir.path(), c);
        let (got, restarts) = regauth(&w, &inv, &pb, c);
        let what = format!(
            "serial {}, failing before {:?}, failing {:?}",
            c.serial, c.before, c.fail
        );
        // Each restart that succeeded (node or master: node1 is also the master) is
        // one line in the node's log and one `changed` in the recap.
        for (i, n) in names.iter().enumerate() {
            let changed = got.recap.get(n).map_or(0, |s| s[1]);
            assert_eq!(restarts[i] as u64, changed, "{what}: {n}: {got:#?}");
        }
        if got != want {
            differ.push(format!("{what}:\nansible {want:#?}\nregauth {got:#?}"));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));

    // An auth_files step with `serial` stops the same way: node1 and node2 cannot
    // write (their data dir lies under a regular file), nodes 3 to 6 are not touched.
    let blocked = |i: usize| w.ssh.nodes[i].path("blocker");
    for i in [0, 1] {
        std::fs::write(blocked(i), b"a file where a directory should be").unwrap();
    }
    let inv = w.inventory_with(USER, PASSWORD, |i| HostOverride {
        data_dir: (i < 2).then(|| format!("{}/origin", blocked(i))),
        ..Default::default()
    });
    let pb = w.dir.path().join("files.yml");
    std::fs::write(
        &pb,
        "- name: before\n  restart_nodes: {only_changed: false, serial: \"100%\", wait_ready: false}\n\
         - name: files\n  auth_files: {hosts: nodes, files: [node], \
         serial: \"{{ openshift_restart_nodes_serial }}\"}\n\
         - name: after\n  restart_masters: {only_changed: false}\n",
    )
    .unwrap();
    let c = case(2.into(), &[], &[0, 1]);
    let want = ansible(w.dir.path(), &c);
    let (got, _) = regauth(&w, &inv, &pb, &c);
    assert_eq!(got, want);
    for i in 2..NODES {
        assert!(
            w.file(i, "origin/.docker/config.json").is_none(),
            "node{} written",
            i + 1
        );
    }
}
