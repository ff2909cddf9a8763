//! Whole-process benchmark (not a timed test): the image preflight of a 3.11 install
//! on a lab cluster of 3 masters (also etcd) and 20 nodes, with the release on one
//! htpasswd mirror. regauth: one `regauth validate --images` (each image once, in
//! parallel). The installer's way (docker_image_availability): on every host, for
//! every image that host needs, `skopeo inspect` one after another, as the check's
//! `available_images` loop does (its per-host plays would run 5 hosts at once with
//! Ansible's default forks; the sequential total and that ÷5 estimate are both shown).
//! Run with `cargo bench --bench images`; under `cargo test` it does nothing.

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::Lab;

const USER: &str = "alice";
const PASSWORD: &str = "bench pa$$word";
const MASTERS: usize = 3;
const NODES: usize = 20;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let lab = Lab::new();
    let reg = lab.registry().user(USER, PASSWORD).release("v3.11").start();
    let mut hosts = String::new();
    let masters: Vec<String> = (1..=MASTERS).map(|i| format!("m{i}")).collect();
    let nodes: Vec<String> = (1..=NODES).map(|i| format!("n{i}")).collect();
    let ml = masters.join("\n");
    hosts.push_str(&format!(
        "[OSEv3:children]\nmasters\nnodes\netcd\n[masters]\n{ml}\n[etcd]\n{ml}\n[nodes]\n{ml}\n{}\n",
        nodes.join("\n")
    ));
    let inv = lab.dir.path().join("bench.ini");
    std::fs::write(
        &inv,
        format!(
            "{hosts}[OSEv3:vars]\nopenshift_deployment_type=openshift-enterprise\n\
oreg_url={}/openshift3/ose-${{component}}:${{version}}\noreg_auth_user={USER}\noreg_auth_password='{PASSWORD}'\n",
            reg.host
        ),
    )
    .unwrap();

    let run = || {
        let start = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_regauth"))
            .arg("--certs-dir")
            .arg(lab.certs_dir())
            .args(["validate", "--images", "-o", "json", "-i"])
            .arg(&inv)
            .output()
            .unwrap();
        let wall = start.elapsed();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let images = json["images"].as_array().unwrap().clone();
        assert!(
            images.iter().all(|i| i["status"] == "ok"),
            "regauth: {json}"
        );
        (wall, images)
    };
    let mut runs: Vec<(Duration, Vec<serde_json::Value>)> = (0..5).map(|_| run()).collect();
    runs.sort_by_key(|r| r.0);
    let all: Vec<String> = runs
        .iter()
        .map(|(w, _)| format!("{:.0}", w.as_secs_f64() * 1000.0))
        .collect();
    let (regauth_wall, images) = runs.swap_remove(2);

    // The installer's way: per host, its own list, one skopeo inspect after another.
    // Credentials in an auth file rather than --creds (same work, nothing in argv).
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    let authfile = lab.dir.path().join("auth.json");
    std::fs::write(
        &authfile,
        serde_json::json!({"auths": {&reg.host: {"auth": auth}}}).to_string(),
    )
    .unwrap();
    let image = |group: &str| -> Vec<String> {
        images
            .iter()
            .filter(|i| {
                i["needed_by"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|g| g == group)
            })
            .map(|i| i["image"].as_str().unwrap().to_string())
            .collect()
    };
    let (node_images, master_images, etcd_images) =
        (image("nodes"), image("masters"), image("etcd"));
    let mut per_host: Vec<Duration> = Vec::new();
    let mut inspections = 0;
    for h in masters.iter().chain(&nodes) {
        let mut list = node_images.clone();
        if h.starts_with('m') {
            list.extend(master_images.iter().cloned());
            list.extend(etcd_images.iter().cloned());
        }
        let start = Instant::now();
        for i in &list {
            let status = Command::new("skopeo")
                .args(["inspect", "--tls-verify=true", "--authfile"])
                .arg(&authfile)
                .arg("--cert-dir")
                .arg(lab.certs_dir().join(&reg.host))
                .arg(format!("docker://{i}"))
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success(), "skopeo failed for {i}");
            inspections += 1;
        }
        per_host.push(start.elapsed());
    }
    let skopeo_total: Duration = per_host.iter().sum();
    // Ansible's default forks = 5: hosts in waves of 5, each wave as slow as its slowest.
    let forks5: Duration = per_host
        .chunks(5)
        .map(|w| w.iter().max().copied().unwrap_or_default())
        .sum();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "images bench: {} hosts ({MASTERS} masters+etcd, {NODES} nodes), {} distinct images, {inspections} skopeo inspections",
        MASTERS + NODES,
        images.len()
    );
    println!("| way | wall time |");
    println!("|---|---|");
    println!(
        "| installer's docker_image_availability: skopeo inspect per image per host, sequential | {:.0} ms |",
        ms(skopeo_total)
    );
    println!(
        "| the same with Ansible's 5 forks (waves of 5 hosts, estimated from per-host times) | {:.0} ms |",
        ms(forks5)
    );
    println!(
        "| regauth validate --images (credentials + each image once, in parallel) | {:.0} ms median of 5 [{} ms] |",
        ms(regauth_wall),
        all.join(", ")
    );
    println!(
        "speed-up {:.0}x over sequential, {:.0}x over 5 forks",
        ms(skopeo_total) / ms(regauth_wall),
        ms(forks5) / ms(regauth_wall)
    );
}
