//! Handshake cost at scale: N local sshd nodes (default 50), each round every node at
//! once. regauth's per-host work (connect + read 2 files in one exec + write 2 files in
//! one exec) against the floor of N parallel `ssh host true`, per key exchange.
//!
//! Run: `cargo bench --bench ssh_handshake` (as root: it starts sshd processes).
//! `REGAUTH_BENCH_NODES` and `REGAUTH_BENCH_ROUNDS` change the size (50, 3).

#[path = "fleet/mod.rs"]
mod fleet;
#[path = "../tests/support/sshd.rs"]
mod sshd;

use fleet::{env_usize, ssh_true_with};

use regauth::ssh::{
    ConnectOptions, FileWrite, KexPreference, connect, for_each_host, read_files, write_files,
};
use ssh2::MethodType;
use std::time::{Duration, Instant};

fn main() {
    if !fleet::benching() {
        return;
    }
    let nodes = env_usize("REGAUTH_BENCH_NODES", 50);
    let rounds = env_usize("REGAUTH_BENCH_ROUNDS", 3);
    let lab = fleet::start(nodes, "ssh_handshake").lab;
    eprintln!("{nodes} sshd nodes up; {rounds} rounds each; median (min) wall time");

    let base = lab.connect_options();
    let probe = |kex: KexPreference| {
        let s = connect(
            &lab.nodes[0].target(),
            &ConnectOptions {
                kex,
                ..base.clone()
            },
        )
        .expect("connect");
        format!(
            "{} / {}",
            s.ssh2().methods(MethodType::Kex).unwrap_or("?"),
            s.ssh2().methods(MethodType::HostKey).unwrap_or("?")
        )
    };
    let offered = ssh2::Session::new().expect("session");
    eprintln!(
        "libssh2 kex order: {}",
        offered
            .supported_algs(MethodType::Kex)
            .expect("algs")
            .join(",")
    );
    eprintln!(
        "negotiated: curve25519-first: {}; libssh2 default: {}",
        probe(KexPreference::Curve25519First),
        probe(KexPreference::LibraryDefault)
    );

    // One session at a time: connect + handshake + host-key check + auth, no exec.
    let sequential = 20;
    for (label, kex) in [
        ("curve25519 first", KexPreference::Curve25519First),
        ("libssh2 default", KexPreference::LibraryDefault),
        (
            "ecdh-sha2-nistp256",
            KexPreference::Custom("ecdh-sha2-nistp256".into()),
        ),
        (
            "diffie-hellman-group14-sha256",
            KexPreference::Custom("diffie-hellman-group14-sha256".into()),
        ),
    ] {
        let opts = ConnectOptions {
            kex,
            ..base.clone()
        };
        let started = Instant::now();
        for _ in 0..sequential {
            connect(&lab.nodes[0].target(), &opts).expect("connect");
        }
        eprintln!(
            "one session (connect+kex+auth), {label}: {:.1} ms",
            started.elapsed().as_secs_f64() * 1000.0 / f64::from(sequential)
        );
    }

    let mut rows: Vec<(String, Vec<Duration>)> = Vec::new();
    let ssh_true = |kex: Option<&str>| {
        let started = Instant::now();
        let children: Vec<_> = lab
            .nodes
            .iter()
            .map(|n| ssh_true_with(&lab, n, kex).spawn().expect("ssh"))
            .collect();
        for mut c in children {
            assert!(c.wait().expect("wait").success(), "ssh true failed");
        }
        started.elapsed()
    };
    rows.push((
        format!("{nodes} x `ssh host true`, OpenSSH default kex (sntrup761x25519)"),
        (0..rounds).map(|_| ssh_true(None)).collect(),
    ));
    rows.push((
        format!("{nodes} x `ssh host true`, curve25519-sha256"),
        (0..rounds)
            .map(|_| ssh_true(Some("curve25519-sha256")))
            .collect(),
    ));

    let mut round = 0usize;
    let mut regauth = |label: &str, kex: KexPreference, forks: usize| {
        let opts = ConnectOptions {
            kex,
            ..base.clone()
        };
        let times = (0..rounds)
            .map(|_| {
                round += 1;
                let started = Instant::now();
                let results = for_each_host(&lab.nodes, forks, |n| {
                    let s = connect(&n.target(), &opts)?;
                    let (a, b) = (n.path("runtime/config.json"), n.path("data/config.json"));
                    let _old = read_files(&s, &[&a, &b])?;
                    let body = format!("{{\"round\":{round},\"port\":{}}}", n.port);
                    let files = [
                        FileWrite {
                            path: &a,
                            contents: body.as_bytes(),
                        },
                        FileWrite {
                            path: &b,
                            contents: body.as_bytes(),
                        },
                    ];
                    write_files(&s, &files)
                });
                let elapsed = started.elapsed();
                for (n, r) in results {
                    if let Err(e) = r {
                        let log = n.log_text();
                        let tail: Vec<&str> = log.lines().rev().take(15).collect();
                        panic!(
                            "regauth host failed: {e}\nsshd log tail (newest first):\n{}",
                            tail.join("\n")
                        );
                    }
                }
                elapsed
            })
            .collect();
        rows.push((
            format!("{nodes} x regauth connect+read+write, {label}, forks {forks}"),
            times,
        ));
    };
    regauth("curve25519 first", KexPreference::Curve25519First, nodes);
    regauth("libssh2 default kex", KexPreference::LibraryDefault, nodes);
    regauth(
        "ecdh-sha2-nistp256",
        KexPreference::Custom("ecdh-sha2-nistp256".into()),
        nodes,
    );
    regauth(
        "diffie-hellman-group14-sha256",
        KexPreference::Custom("diffie-hellman-group14-sha256".into()),
        nodes,
    );
    // regauth's default --forks (20) and Ansible's (5).
    regauth("curve25519 first", KexPreference::Curve25519First, 20);
    regauth("curve25519 first", KexPreference::Curve25519First, 5);

    println!("| what | median | min |");
    println!("| --- | --- | --- |");
    for (label, mut times) in rows {
        times.sort();
        println!(
            "| {label} | {:.2} s | {:.2} s |",
            times[times.len() / 2].as_secs_f64(),
            times[0].as_secs_f64()
        );
    }
}
