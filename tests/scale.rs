//! Fleet scale at a size CI affords: sessions bounded by a descriptor budget under a
//! tiny `ulimit -n`, descriptor exhaustion named as such, and rolling restarts batched
//! as Ansible's `serial` batches them. Real sshd nodes, registry and API server.

mod support;

use std::collections::HashSet;
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::world::{HostOverride, PASSWORD, USER, World, text};

/// Socket inodes of TCP connections to one of `ports` (from /proc/net/tcp).
fn ssh_socket_inodes(ports: &HashSet<u16>) -> HashSet<String> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let port = u16::from_str_radix(f.get(2)?.rsplit(':').next()?, 16).ok()?;
            ports
                .contains(&port)
                .then(|| f.get(9).map(|s| s.to_string()))?
        })
        .collect()
}

/// (descriptors, of which SSH connections to the lab) that process `pid` holds now.
fn sample(pid: u32, ports: &HashSet<u16>) -> Option<(usize, usize)> {
    let fds: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .filter_map(|e| {
            std::fs::read_link(e.ok()?.path())
                .ok()
                .map(|l| l.display().to_string())
        })
        .collect();
    let ssh = ssh_socket_inodes(ports);
    let n_ssh = fds
        .iter()
        .filter_map(|l| l.strip_prefix("socket:[")?.strip_suffix(']'))
        .filter(|inode| ssh.contains(*inode))
        .count();
    Some((fds.len(), n_ssh))
}

#[test]
fn sixty_nodes_under_ulimit_64_with_ten_forks_all_succeed_within_the_budget() {
    let w = World::new(60);
    let inv = w.inventory(USER, PASSWORD);
    let ports: HashSet<u16> = w.ssh.nodes.iter().map(|n| n.port).collect();
    let run = || {
        let mut c = w.command(
            "registry_auth.yml",
            &inv,
            &["--forks", "10", "-e", "openshift_restart_nodes_serial=20%"],
        );
        support::sshd::limit_descriptors(&mut c, 64);
        let child = c
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let ports = ports.clone();
        let (mut peak_fds, mut peak_ssh) = (0, 0);
        let sampler = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(300);
            while let Some((fds, ssh)) = sample(pid, &ports) {
                peak_fds = peak_fds.max(fds);
                peak_ssh = peak_ssh.max(ssh);
                if Instant::now() > deadline {
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            (peak_fds, peak_ssh)
        });
        let out = child.wait_with_output().unwrap();
        (out, sampler.join().unwrap())
    };

    let (out, (peak_fds, peak_ssh)) = run();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    // The budget regauth derived from the limit, as it reports it.
    let budget: usize = all
        .split("leaves room for ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no budget warning under ulimit -n 64:\n{all}"));
    assert!((1..10).contains(&budget), "budget {budget}");
    assert!(peak_ssh >= 1, "the sampler never saw a session");
    assert!(
        peak_ssh <= budget,
        "{peak_ssh} SSH sessions open at once, budget {budget}"
    );
    assert!(peak_fds <= 64, "{peak_fds} descriptors");
    assert!(
        !all.contains("UNREACHABLE") && !all.contains("FAILED"),
        "{all}"
    );
    for i in 0..60 {
        assert!(w.file(i, "docker/config.json").is_some(), "node {i}");
        assert!(
            w.file(i, "origin/.docker/config.json").is_some(),
            "node {i}"
        );
        assert!(w.restarts(i) >= 1, "node {i} not restarted");
    }
    let restarts: Vec<usize> = (0..60).map(|i| w.restarts(i)).collect();

    // A rerun under the same limit changes nothing and restarts nothing.
    let (out, _) = run();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("changed=0"), "{}", text(&out));
    assert!(!text(&out).contains("changed=1"), "{}", text(&out));
    assert_eq!((0..60).map(|i| w.restarts(i)).collect::<Vec<_>>(), restarts);
}

#[test]
fn running_out_of_descriptors_is_named_not_unreachable() {
    let w = World::new(2);
    let inv = w.inventory(USER, PASSWORD);
    // Room for regauth itself, not for one more socket; validation and the cluster
    // steps left out so that the first descriptor a host needs is its SSH socket.
    let mut found = None;
    for n in 6..20 {
        let mut c = w.command(
            "registry_auth.yml",
            &inv,
            &["--skip-tags", "validate,cluster", "--forks", "2"],
        );
        support::sshd::limit_descriptors(&mut c, n);
        let out = c.output().unwrap();
        if text(&out).contains("EMFILE") {
            found = Some((n, out));
            break;
        }
    }
    let (n, out) = found.expect("no limit between 6 and 19 made regauth run out of descriptors");
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "ulimit -n {n}: {all}");
    assert!(
        all.contains("out of file descriptors (EMFILE: the per-process limit is"),
        "{all}"
    );
    assert!(
        all.contains("ulimit -n") && all.contains("--forks"),
        "{all}"
    );
    assert!(!all.contains("UNREACHABLE"), "{all}");
    assert!(!all.contains("authentication failed"), "{all}");
    assert!(all.contains("FAILED!"), "{all}");
}

#[test]
fn serial_list_restarts_in_ansible_batches() {
    // [1, "20%", "50%"] on 10 nodes: Ansible batches 1, 2, 5, 2 (the last repeats).
    let sizes = [1usize, 2, 5, 2];
    let mut target = Vec::new();
    let mut sum = 0;
    for s in sizes {
        sum += s;
        target.extend(std::iter::repeat_n(sum, s));
    }
    let w = World::new(10);
    let starts = w.dir.path().join("starts");
    std::fs::write(&starts, "").unwrap();
    // Each restart says it started, then waits (at most 5 s) until as many restarts
    // have started as its batch and those before it hold, and records how many it
    // saw: exactly that number when batches are right; fewer when its batch was
    // smaller (it times out), more when the next batch started early.
    let inv = w.inventory_with(USER, PASSWORD, |i| {
        let node = &w.ssh.nodes[i];
        HostOverride {
            restart: Some(format!(
                "echo {i} >> {s}; k=0; while [ $(wc -l < {s}) -lt {t} ] && [ $k -lt 100 ]; do sleep 0.05; k=$((k+1)); done; wc -l < {s} > {seen}; echo node >> {log}",
                s = starts.display(),
                t = target[i],
                seen = node.path("seen"),
                log = node.path("restarts.log"),
            )),
            ..Default::default()
        }
    });
    let o = w.run(
        "registry_auth.yml",
        &inv,
        &[
            "--forks",
            "10",
            // A list needs the JSON form: `K=[1, "20%"]` is parse_kv's "[1," in Ansible too.
            "-e",
            r#"{"openshift_restart_nodes_serial": [1, "20%", "50%"]}"#,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let seen: Vec<usize> = (0..10)
        .map(|i| {
            String::from_utf8(w.file(i, "seen").expect("restarted"))
                .unwrap()
                .trim()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(seen, target, "restarts per batch differ from Ansible's");
}

#[test]
fn a_node_costs_one_handshake_and_two_execs_per_run() {
    // What the scale bench's wall time rests on, at CI's size: the pool keeps every
    // session between the update and the restart (no second handshake), and a host's
    // read-compare-write is one exec.
    let w = World::new(6);
    let inv = w.inventory(USER, PASSWORD);
    let counts = |i: usize| {
        let log = w.ssh.nodes[i].log_text();
        (
            log.matches("Accepted publickey").count(),
            log.matches("Starting session: command").count(),
        )
    };
    let args = ["--skip-tags", "validate,cluster", "--forks", "3"];
    // node1 is the master too: its master step is one more update, and it restarts as
    // a master as well.
    let execs = |i: usize, node: usize, master: usize| if i == 0 { node + master } else { node };
    let o = w.run("registry_auth.yml", &inv, &args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for i in 0..6 {
        assert_eq!(w.restarts(i), execs(i, 1, 1), "node {i}: {}", text(&o));
        // One handshake; the update and the restart.
        assert_eq!(
            counts(i),
            (1, execs(i, 2, 2)),
            "node {i}: (handshakes, execs)"
        );
    }
    // Unchanged: one more handshake and only the updates.
    let o = w.run("registry_auth.yml", &inv, &args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for i in 0..6 {
        assert_eq!(
            counts(i),
            (2, execs(i, 3, 3)),
            "node {i}: (handshakes, execs) after the rerun"
        );
    }
}
