//! Interrupted-run trials (not a CI test): kill -9, then SIGINT, `regauth run` at
//! random moments while it distributes to 20 lab nodes. After each interruption every
//! node's files must be the old or the new version, valid JSON, mode 0600, with no
//! temp file left; and the next run must converge.
//!
//! It takes minutes, so it is an example rather than a test: run it with
//! `tests/trials/kill9.sh` (or `cargo run --example kill9_trial`). `REGAUTH_TRIALS_N` (default 30) is the
//! number of trials per signal, `REGAUTH_TRIALS_SEED` the random seed (printed),
//! `REGAUTH_TRIALS_SIGNALS` (`kill`, `SIGINT` or both, comma-separated) which to send.

#[path = "../tests/support/mod.rs"]
mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};
use support::world::{PASSWORD, USER, World, b64, text};

const NODES: usize = 20;
const FILES: [&str; 2] = ["docker/config.json", "origin/.docker/config.json"];

/// xorshift64*: enough randomness for kill moments, reproducible from the seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Problems on the nodes after an interruption; `allowed` are the two `auth` values.
fn inspect(w: &World, allowed: &[String; 2]) -> (Vec<String>, [usize; 2]) {
    let mut problems = Vec::new();
    let mut versions = [0, 0];
    for i in 0..NODES {
        for rel in FILES {
            let path = w.ssh.nodes[i].path(rel);
            let Some(bytes) = w.file(i, rel) else {
                problems.push(format!("node{}: {rel} missing", i + 1));
                continue;
            };
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
                problems.push(format!("node{}: {rel} is not valid JSON", i + 1));
                continue;
            };
            let auth = v["auths"][&w.reg.host]["auth"].as_str().unwrap_or_default();
            match allowed.iter().position(|a| a == auth) {
                Some(k) => versions[k] += 1,
                None => problems.push(format!("node{}: {rel} holds neither version", i + 1)),
            }
            if v["auths"]["quay.io"]["auth"] != "cXVheTp4" {
                problems.push(format!("node{}: {rel} lost the other registry", i + 1));
            }
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            if mode != 0o600 {
                problems.push(format!("node{}: {rel} mode {mode:o}", i + 1));
            }
            let dir = std::path::Path::new(&path).parent().unwrap().to_path_buf();
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n == "config.json" {
                    continue;
                }
                // The previous version is kept on purpose (as the installer's backup=yes);
                // it must be whole and private too.
                if n == "config.json.regauth-backup" {
                    let b = std::fs::read(e.path()).unwrap();
                    let mode = e.metadata().unwrap().permissions().mode() & 0o777;
                    if serde_json::from_slice::<serde_json::Value>(&b).is_err() || mode != 0o600 {
                        problems.push(format!("node{}: bad backup {n} (mode {mode:o})", i + 1));
                    }
                    continue;
                }
                problems.push(format!("node{}: left behind {n}", i + 1));
            }
        }
    }
    (problems, versions)
}

fn main() {
    // Tests get CARGO_BIN_EXE_regauth from cargo; an example finds the binary beside
    // its own directory (target/debug/examples/.. → target/debug/regauth).
    if std::env::var_os("CARGO_BIN_EXE_regauth").is_none() {
        let exe = std::env::current_exe().expect("own path");
        let bin = exe
            .parent()
            .and_then(|d| d.parent())
            .expect("target dir")
            .join("regauth");
        // SAFETY: set before any thread is started.
        unsafe { std::env::set_var("CARGO_BIN_EXE_regauth", bin) };
    }
    let trials: usize = std::env::var("REGAUTH_TRIALS_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let seed: u64 = std::env::var("REGAUTH_TRIALS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("seed {seed}, {trials} trials per signal, {NODES} nodes");
    let mut rng = Rng(seed);
    let w = World::new(NODES);
    let creds = [(USER, PASSWORD), ("bob", "second")];
    let invs = [w.inventory(creds[0].0, creds[0].1), {
        let p = w.dir.path().join("hosts-new.ini");
        std::fs::copy(w.inventory(creds[1].0, creds[1].1), &p).unwrap();
        p
    }];
    // inventory() rewrites hosts.ini: write the old one again.
    let invs = [w.inventory(creds[0].0, creds[0].1), invs[1].clone()];
    let allowed = [
        b64(&format!("{}:{}", creds[0].0, creds[0].1)),
        b64(&format!("{}:{}", creds[1].0, creds[1].1)),
    ];
    // Every node holds another registry that must survive every interruption.
    for i in 0..NODES {
        for rel in FILES {
            let p = w.ssh.nodes[i].path(rel);
            std::fs::create_dir_all(std::path::Path::new(&p).parent().unwrap()).unwrap();
            std::fs::write(&p, br#"{"auths":{"quay.io":{"auth":"cXVheTp4"}}}"#).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }
    let started = Instant::now();
    let o = w.run("registry_auth.yml", &invs[0], &["--forks", "20"]);
    let full = started.elapsed();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    eprintln!("a full run takes {full:?}");

    let mut current = 0;
    let mut summary = Vec::new();
    let only = std::env::var("REGAUTH_TRIALS_SIGNALS").unwrap_or_default();
    for (signal, name) in [(libc::SIGKILL, "kill -9"), (libc::SIGINT, "SIGINT")] {
        if !only.is_empty() && !only.split(',').any(|s| name.contains(s)) {
            continue;
        }
        let (mut failures, mut mixed, mut finished, mut converge_fail) = (0, 0, 0, 0);
        let (mut late, mut late_max) = (0, Duration::ZERO);
        let mut exits = std::collections::BTreeMap::new();
        for t in 0..trials {
            let target = 1 - current;
            let delay = Duration::from_millis(rng.next() % (full.as_millis() as u64).max(1));
            let mut child = w
                .command("registry_auth.yml", &invs[target], &["--forks", "20"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(delay);
            unsafe {
                libc::kill(child.id() as i32, signal);
            }
            let status = child.wait().unwrap();
            let code = status
                .code()
                .map_or_else(|| "killed".to_string(), |c| c.to_string());
            *exits.entry(code.clone()).or_insert(0) += 1;
            if status.code() == Some(0) {
                finished += 1;
            }
            if signal == libc::SIGINT && !matches!(status.code(), Some(0 | 99)) {
                failures += 1;
                eprintln!("{name} trial {t}: exit {code}, expected 99 (or 0 if it had finished)");
            }
            // Remote scripts whose session died still run their EXIT traps: give them
            // a moment, as a node would, then up to 5 s more before calling a leftover
            // persistent (the figures say how long cleanup took).
            std::thread::sleep(Duration::from_millis(300));
            let waited = Instant::now();
            let (mut problems, mut versions) = inspect(&w, &allowed);
            while !problems.is_empty() && waited.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(100));
                (problems, versions) = inspect(&w, &allowed);
            }
            if problems.is_empty() && waited.elapsed() >= Duration::from_millis(100) {
                late += 1;
                late_max = late_max.max(waited.elapsed());
            }
            if versions[0] > 0 && versions[1] > 0 {
                mixed += 1;
            }
            if !problems.is_empty() {
                failures += 1;
                eprintln!("{name} trial {t} after {delay:?}, still after 5 s: {problems:#?}");
            }
            // The next run converges every node to the target version.
            let o = w.run("registry_auth.yml", &invs[target], &["--forks", "20"]);
            let (problems, versions) = inspect(&w, &allowed);
            if o.status.code() != Some(0) || !problems.is_empty() || versions[1 - target] != 0 {
                converge_fail += 1;
                eprintln!(
                    "{name} trial {t}: the next run did not converge (exit {:?}): {problems:#?}\n{}",
                    o.status.code(),
                    text(&o)
                );
            }
            current = target;
        }
        let line = format!(
            "{name}: {trials} trials, {failures} with torn/invalid/leftover files or wrong exit, \
             {converge_fail} where the next run did not converge; {mixed} interrupted mid-fleet \
             (nodes on both versions), {finished} finished before the signal, {late} needed more \
             than 0.3 s for the nodes' scripts to clean up (longest {late_max:?}); exits {exits:?}"
        );
        eprintln!("{line}");
        summary.push((line, failures + converge_fail));
    }
    eprintln!("\nSUMMARY (seed {seed}, full run {full:?})");
    for (l, _) in &summary {
        eprintln!("  {l}");
    }
    assert!(summary.iter().all(|(_, f)| *f == 0), "trials failed");
}
