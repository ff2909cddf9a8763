//! Whole-process benchmark (not a timed test): 50 credentials spread over five
//! lab registries (three htpasswd, two token-auth), checked by one `regauth
//! validate` run versus `skopeo inspect` once per credential, one after another,
//! as the installer does on every node. Run with `cargo bench --bench validate`;
//! under `cargo test` it does nothing (the lab needs seconds, not a test slot).

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::Lab;

const PER_REGISTRY: usize = 10;
const IMAGE: &str = "openshift3/ose-pod:v3.11";

struct Entry {
    host: String,
    user: String,
    password: String,
}

fn main() {
    // `cargo test --all-targets` runs this binary without `--bench`: stay silent so
    // the test run still closes on cargo's own result lines.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let lab = Lab::new();
    let mut entries = Vec::new();
    let mut keep = Vec::new();
    for r in 0..3 {
        let mut b = lab.registry().image("openshift3/ose-pod", "v3.11");
        for u in 0..PER_REGISTRY {
            b = b.user(&format!("user{u}"), &format!("pw-{r}-{u}"));
        }
        let reg = b.start();
        for u in 0..PER_REGISTRY {
            entries.push(Entry {
                host: reg.host.clone(),
                user: format!("user{u}"),
                password: format!("pw-{r}-{u}"),
            });
        }
        keep.push(reg);
    }
    let mut token_services = Vec::new();
    for r in 3..5 {
        let users: Vec<(String, String)> = (0..PER_REGISTRY)
            .map(|u| (format!("user{u}"), format!("pw-{r}-{u}")))
            .collect();
        let refs: Vec<(&str, &str, &[&str])> = users
            .iter()
            .map(|(u, p)| (u.as_str(), p.as_str(), &["*"][..]))
            .collect();
        let tokens = lab.token_service(&refs, false);
        let reg = lab
            .registry()
            .token(&tokens)
            .image("openshift3/ose-pod", "v3.11")
            .start();
        for (u, p) in &users {
            entries.push(Entry {
                host: reg.host.clone(),
                user: u.clone(),
                password: p.clone(),
            });
        }
        keep.push(reg);
        token_services.push(tokens);
    }

    // regauth: one inventory with every entry as an additional registry credential.
    let list: Vec<String> = entries
        .iter()
        .map(|e| {
            format!(
                "{{'host':'{}','user':'{}','password':'{}','test_image':'{IMAGE}'}}",
                e.host, e.user, e.password
            )
        })
        .collect();
    let inv = lab.dir.path().join("bench.ini");
    std::fs::write(
        &inv,
        format!(
            "[OSEv3:children]\nnodes\n[nodes]\nn1\n[OSEv3:vars]\nopenshift_deployment_type=origin\n\
openshift_additional_registry_credentials=[{}]\n",
            list.join(",")
        ),
    )
    .unwrap();
    let run = |forks: &str| {
        let start = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_regauth"))
            .arg("--certs-dir")
            .arg(lab.certs_dir())
            .args(["validate", "-o", "json", "--forks", forks, "-i"])
            .arg(&inv)
            .output()
            .unwrap();
        let wall = start.elapsed();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["summary"]["ok"], entries.len(), "{json}");
        let durations = json["results"].as_array().unwrap().iter();
        let slowest = durations
            .map(|r| r["duration_ms"].as_u64().unwrap())
            .max()
            .unwrap();
        (wall, slowest)
    };
    if let Some(secs) = std::env::var_os("REGAUTH_BENCH_HOLD") {
        // For profiling by hand: keep the lab up and say where it is.
        println!(
            "inventory {} certs-dir {}",
            inv.display(),
            lab.certs_dir().display()
        );
        std::thread::sleep(Duration::from_secs(
            secs.to_string_lossy().parse().unwrap_or(300),
        ));
    }
    // One check at a time first: what a check costs on idle registries.
    let (serial_wall, serial_slowest) = run("1");
    // The machine is shared: five runs, the median by wall time is reported.
    let mut runs: Vec<(Duration, u64)> = (0..5).map(|_| run("50")).collect();
    runs.sort();
    let all: Vec<String> = runs
        .iter()
        .map(|(w, _)| format!("{:.0}", w.as_secs_f64() * 1000.0))
        .collect();
    let (regauth_wall, slowest) = runs[2];

    // skopeo: once per credential, sequentially, credentials in an auth file (not argv).
    let start = Instant::now();
    for (i, e) in entries.iter().enumerate() {
        use base64::Engine;
        let auth =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", e.user, e.password));
        let authfile = lab.dir.path().join(format!("auth-{i}.json"));
        std::fs::write(
            &authfile,
            serde_json::json!({"auths": {&e.host: {"auth": auth}}}).to_string(),
        )
        .unwrap();
        let status = Command::new("skopeo")
            .arg("inspect")
            .arg("--authfile")
            .arg(&authfile)
            .arg("--cert-dir")
            .arg(lab.certs_dir().join(&e.host))
            .arg(format!("docker://{}/{IMAGE}", e.host))
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "skopeo failed for {}@{}", e.user, e.host);
    }
    let skopeo_wall = start.elapsed();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "validate bench: {} credentials over {} registries",
        entries.len(),
        keep.len()
    );
    println!("| tool | wall time |");
    println!("|---|---|");
    println!("| skopeo inspect, sequential | {:.0} ms |", ms(skopeo_wall));
    println!(
        "| regauth validate --forks 1 | {:.0} ms (slowest single check {serial_slowest} ms) |",
        ms(serial_wall)
    );
    println!(
        "| regauth validate (--forks 50, the default) | {:.0} ms median of 5 runs [{} ms] (slowest single check {slowest} ms) |",
        ms(regauth_wall),
        all.join(", ")
    );
    println!(
        "speed-up {:.1}x (target >= 15x); regauth wall / slowest check {:.2} (target <= 1.5)",
        ms(skopeo_wall) / ms(regauth_wall),
        ms(regauth_wall) / slowest as f64
    );
}
