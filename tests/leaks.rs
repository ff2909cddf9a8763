//! Leak audit: every command at `-vvv`, in text and JSON, on success and failure paths,
//! with known secret values. None may appear in stdout, stderr, the retry file, the
//! nodes' sshd logs, or the argv of any process on the machine while it runs (the
//! control host and the sshd nodes are the same machine here, so one /proc covers both).
//!
//! Manifests (`secret render`, `secret create --dry-run`) carry the credential by
//! design, as base64 of the whole dockerconfigjson in `data`; none of the markers below
//! appears literally in that encoding, and the test checks the data field does hold it.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use support::world::{PASSWORD, USER, World, b64};

const WRONG: &str = "s3cr$t-but-wr0ng \"x'";

/// Every form in which a secret could escape.
fn markers() -> Vec<String> {
    let json = |s: &str| {
        serde_json::to_string(s)
            .unwrap()
            .trim_matches('"')
            .to_string()
    };
    vec![
        PASSWORD.to_string(),
        json(PASSWORD),
        WRONG.to_string(),
        json(WRONG),
        // The distinctive part alone catches truncated or re-quoted copies.
        "s3cr$t".to_string(),
        b64(PASSWORD),
        b64(&format!("{USER}:{PASSWORD}")),
        b64(&format!("{USER}:{WRONG}")),
    ]
}

fn leaks(what: &str, text: &str) -> Vec<String> {
    markers()
        .into_iter()
        .filter(|m| text.contains(m.as_str()))
        .map(|m| format!("{what} contains {m:?}"))
        .collect()
}

/// Polls every process's argv (and name) while a command runs.
struct ArgvWatch {
    stop: Arc<AtomicBool>,
    found: Arc<Mutex<Vec<String>>>,
    scans: Arc<Mutex<usize>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ArgvWatch {
    fn start() -> ArgvWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let found = Arc::new(Mutex::new(Vec::new()));
        let scans = Arc::new(Mutex::new(0));
        let (s, f, n) = (stop.clone(), found.clone(), scans.clone());
        let thread = std::thread::spawn(move || {
            let me = std::process::id().to_string();
            while !s.load(Ordering::SeqCst) {
                for e in std::fs::read_dir("/proc").unwrap().flatten() {
                    let pid = e.file_name().to_string_lossy().into_owned();
                    if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == me {
                        continue;
                    }
                    if let Ok(argv) = std::fs::read(format!("/proc/{pid}/cmdline")) {
                        let argv = String::from_utf8_lossy(&argv).replace('\0', " ");
                        for l in leaks(&format!("argv of pid {pid} ({argv:.80})"), &argv) {
                            f.lock().unwrap().push(l);
                        }
                    }
                }
                *n.lock().unwrap() += 1;
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        });
        ArgvWatch {
            stop,
            found,
            scans,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> (Vec<String>, usize) {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap();
        let found = self.found.lock().unwrap().clone();
        let scans = *self.scans.lock().unwrap();
        (found, scans)
    }
}

struct Audit {
    problems: Vec<String>,
    runs: usize,
    scans: usize,
    traced: usize,
}

impl Audit {
    /// Runs `regauth -vvv -o <fmt> args...` with `stdin`, checks its exit code and
    /// that no secret escaped; returns stdout for further checks.
    fn run<S: AsRef<std::ffi::OsStr>>(
        &mut self,
        w: &World,
        name: &str,
        args: &[S],
        stdin: Option<&str>,
        code: i32,
    ) -> String {
        self.run_as(w, name, args, stdin, code, &["text", "json"])
    }

    /// Like [`Audit::run`], in the given output formats only.
    fn run_as<S: AsRef<std::ffi::OsStr>>(
        &mut self,
        w: &World,
        name: &str,
        args: &[S],
        stdin: Option<&str>,
        code: i32,
        formats: &[&str],
    ) -> String {
        let mut out = String::new();
        for &fmt in formats {
            let what = format!("{name} [-o {fmt}]");
            let mut c = Command::new(assert_cmd::cargo::cargo_bin("regauth"));
            c.current_dir(w.dir.path())
                .env_remove("KUBECONFIG")
                .env("NO_COLOR", "1")
                .args(["-vvv", "-o", fmt])
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let watch = ArgvWatch::start();
            let mut child = c.spawn().unwrap();
            let mut pipe = child.stdin.take().unwrap();
            if let Some(s) = stdin {
                pipe.write_all(s.as_bytes()).unwrap();
            }
            drop(pipe);
            let o = child.wait_with_output().unwrap();
            let (found, scans) = watch.finish();
            self.runs += 1;
            self.scans += scans;
            let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
            let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
            if o.status.code() != Some(code) {
                self.problems.push(format!(
                    "{what}: exit {:?}, expected {code}: {stdout}{stderr}",
                    o.status.code()
                ));
            }
            // Counted so the audit shows -vvv really logged (some commands have
            // nothing to say at debug level).
            if stderr.contains("TRACE") || stderr.contains("DEBUG") {
                self.traced += 1;
            }
            self.problems
                .extend(found.into_iter().map(|f| format!("{what}: {f}")));
            self.problems
                .extend(leaks(&format!("{what} stderr"), &stderr));
            self.problems
                .extend(leaks(&format!("{what} stdout"), &stdout));
            for e in std::fs::read_dir(w.dir.path()).unwrap().flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "retry") {
                    let t = std::fs::read_to_string(&p).unwrap_or_default();
                    self.problems
                        .extend(leaks(&format!("{what} {}", p.display()), &t));
                }
            }
            if fmt == "json" {
                out = stdout;
            }
        }
        out
    }
}

/// The credential a manifest's `data[".dockerconfigjson"]` carries, decoded; the
/// manifest may be YAML (a stream) or JSON (a `secret render` List, a dry run).
fn manifest_auth(stdout: &str, host: &str) -> Option<String> {
    use base64::Engine;
    let at = stdout.find(".dockerconfigjson")? + ".dockerconfigjson".len();
    let data: String = stdout[at..]
        .trim_start_matches(['"', ':', ' '])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "+/=".contains(*c))
        .collect();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(data)
        .ok()?;
    let j: serde_json::Value = serde_json::from_slice(&raw).ok()?;
    j["auths"][host]["auth"].as_str().map(str::to_string)
}

#[test]
fn no_secret_in_any_output_argv_or_retry_file() {
    let w = World::new(2);
    let inv = w.inventory(USER, PASSWORD);
    let inv = inv.to_str().unwrap().to_string();
    let wrong = w.dir.path().join("wrong.ini");
    std::fs::write(
        &wrong,
        std::fs::read_to_string(&inv).unwrap().replace(
            &format!("oreg_auth_password=\"{}\"", PASSWORD.replace('"', "\\\"")),
            &format!("oreg_auth_password=\"{}\"", WRONG.replace('"', "\\\"")),
        ),
    )
    .unwrap();
    let wrong = wrong.to_str().unwrap().to_string();
    assert_ne!(std::fs::read(&inv).unwrap(), std::fs::read(&wrong).unwrap());
    let certs = w.reg_lab.certs_dir().display().to_string();
    let kc = w.kubeconfig.display().to_string();
    let kh = w.ssh.known_hosts.display().to_string();
    let host = w.reg.host.clone();
    let pw_in = format!("{PASSWORD}\n");
    let wrong_in = format!("{WRONG}\n");
    // Copies in the world's directory: a failing run's retry file goes beside the
    // playbook, where the audit reads it (and never into the source tree).
    let pb = |p: &str| {
        let copy = w.dir.path().join(p);
        std::fs::copy(
            format!("{}/playbooks/{p}", env!("CARGO_MANIFEST_DIR")),
            &copy,
        )
        .unwrap();
        copy.display().to_string()
    };
    let authfile = w.dir.path().join("login-auth.json").display().to_string();
    w.api.state().put(
        "secrets",
        "openshift-config",
        serde_json::json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"pull-secret"},
            "type":"kubernetes.io/dockerconfigjson",
            "data":{".dockerconfigjson": b64(r#"{"auths":{"quay.io":{"auth":"cXVheTp4"}}}"#)}}),
    );
    let mut a = Audit {
        problems: Vec::new(),
        runs: 0,
        scans: 0,
        traced: 0,
    };

    a.run(
        &w,
        "inventory --list",
        &["inventory", "-i", &inv, "--list"],
        None,
        0,
    );
    // validate from the inventory: (what, inventory, further arguments, exit code).
    for (what, inv, extra, code) in [
        ("validate ok", &inv, &[][..], 0),
        ("validate --images", &inv, &["--images"][..], 0),
        (
            "validate wrong password",
            &wrong,
            &["--retries", "0"][..],
            2,
        ),
        (
            "validate --images wrong password",
            &wrong,
            &["--retries", "0", "--images"][..],
            2,
        ),
    ] {
        let args: Vec<&str> = ["validate", "-i", inv, "--certs-dir", &certs]
            .into_iter()
            .chain(extra.iter().copied())
            .collect();
        a.run(&w, what, &args, None, code);
    }
    a.run(
        &w,
        "login --skip-check",
        &[
            "login",
            "--registry",
            &host,
            "-u",
            USER,
            "--password-stdin",
            "--skip-check",
            "--to",
            &authfile,
        ],
        Some(&pw_in),
        0,
    );
    a.run(
        &w,
        "login wrong password",
        &[
            "login",
            "--registry",
            &host,
            "-u",
            USER,
            "--password-stdin",
            "--certs-dir",
            &certs,
            "--to",
            &authfile,
        ],
        Some(&wrong_in),
        2,
    );
    // tls_verify=False against a plain-HTTP registry: the password goes in clear to
    // the registry by design, but never into any output or argv here.
    let plain = w
        .reg_lab
        .registry()
        .plain_http()
        .user(USER, PASSWORD)
        .start();
    for (what, input, code) in [
        ("login --tls-verify=false, plain HTTP", &pw_in, 0),
        (
            "login --tls-verify=false, plain HTTP, wrong password",
            &wrong_in,
            2,
        ),
    ] {
        a.run(
            &w,
            what,
            &[
                "login",
                "--registry",
                &plain.host,
                "-u",
                USER,
                "--password-stdin",
                "--tls-verify=false",
                "--retries",
                "0",
                "--to",
                &authfile,
            ],
            Some(input),
            code,
        );
    }
    let dry = a.run(
        &w,
        "secret create --dry-run",
        &[
            "secret",
            "create",
            "leak-dry",
            "--docker-server",
            &host,
            "--docker-username",
            USER,
            "--password-stdin",
            "--dry-run=client",
            "--kubeconfig",
            &kc,
        ],
        Some(&pw_in),
        0,
    );
    assert_eq!(
        manifest_auth(&dry, &host),
        Some(b64(&format!("{USER}:{PASSWORD}"))),
        "{dry}"
    );
    a.run(
        &w,
        "secret create (applied)",
        &[
            "secret",
            "create",
            "leak-applied",
            "-n",
            "default",
            "--docker-server",
            &host,
            "--docker-username",
            USER,
            "--password-stdin",
            "--kubeconfig",
            &kc,
        ],
        Some(&pw_in),
        0,
    );
    let rendered = a.run(
        &w,
        "secret render",
        &["secret", "render", "-i", &inv],
        None,
        0,
    );
    assert_eq!(
        manifest_auth(&rendered, &host),
        Some(b64(&format!("{USER}:{PASSWORD}"))),
        "{rendered}"
    );
    a.run(
        &w,
        "pull-secret update --dry-run",
        &[
            "pull-secret",
            "update",
            "--registry",
            &host,
            "-u",
            USER,
            "--password-stdin",
            "--dry-run",
            "--certs-dir",
            &certs,
            "--kubeconfig",
            &kc,
        ],
        Some(&pw_in),
        0,
    );
    // validate from auth files, install-config.yaml and the cluster: a good entry, a
    // wrong password on a path key, a wrong identity token, a mirror and a release.
    let good = serde_json::json!({"auth": b64(&format!("{USER}:{PASSWORD}"))});
    let bad = serde_json::json!({"username": USER, "password": WRONG});
    let pull_secret = serde_json::json!({"auths": {
        host.clone(): good,
        format!("{host}/openshift3"): bad,
        format!("{host}/team"): {"identitytoken": WRONG},
    }});
    let sources_auth = w.dir.path().join("sources-auth.json");
    std::fs::write(&sources_auth, pull_secret.to_string()).unwrap();
    let sources_auth = sources_auth.display().to_string();
    let release = format!("{host}/openshift3/ose-pod@sha256:{}", "0".repeat(64));
    let test_image = format!("{host}=openshift3/ose-pod:v3.11");
    let ic = w.dir.path().join("install-config.yaml");
    std::fs::write(
        &ic,
        format!(
            "apiVersion: v1\npullSecret: '{}'\nimageContentSources:\n- mirrors:\n  - {host}/openshift3/ose-pod\n  source: quay.io/openshift3/ose-pod\n",
            // YAML single quotes double a quote inside.
            pull_secret.to_string().replace('\'', "''")
        ),
    )
    .unwrap();
    let ic = ic.display().to_string();
    let broken_ic = w.dir.path().join("broken-install-config.yaml");
    std::fs::write(
        &broken_ic,
        format!("pullSecret: '{{\"auths\": {{\"{host}\": {{\"password\": \"{PASSWORD}\"'\n"),
    )
    .unwrap();
    a.run(
        &w,
        "validate --install-config (not JSON)",
        &[
            "validate",
            "--install-config",
            &broken_ic.display().to_string(),
        ],
        None,
        4,
    );
    // The global pull secret now points at the lab registry only (no outside hosts).
    let global = serde_json::json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"pull-secret"},
        "type":"kubernetes.io/dockerconfigjson",
        "data":{".dockerconfigjson": b64(&pull_secret.to_string())}});
    w.api.state().put("secrets", "openshift-config", global);
    w.api.state().namespaces.insert("leaky".into());
    w.api.state().put(
        "secrets",
        "leaky",
        serde_json::json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"robot"},
            "type":"kubernetes.io/dockercfg",
            "data":{".dockercfg": b64(&serde_json::json!({host.clone(): {"auth": b64(&format!("{USER}:{WRONG}"))}}).to_string())}}),
    );
    // validate from each other source, each with a failing entry: (what, source).
    let checks = [
        "--certs-dir",
        &certs,
        "--retries",
        "0",
        "--release-image",
        &release,
    ];
    for (what, source) in [
        (
            "validate --authfile",
            &["--authfile", &sources_auth, "--test-image", &test_image][..],
        ),
        ("validate --install-config", &["--install-config", &ic][..]),
        (
            "validate --from-cluster --all-namespaces",
            &["--from-cluster", "--all-namespaces", "--kubeconfig", &kc][..],
        ),
    ] {
        let args: Vec<&str> = std::iter::once("validate")
            .chain(source.iter().copied())
            .chain(checks)
            .collect();
        a.run(&w, what, &args, None, 2);
    }
    let update_pull_secret = |extra: &[&'static str]| -> Vec<String> {
        let mut v: Vec<String> = ["pull-secret", "update", "--registry", &host, "-u", USER]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(
            [
                "--password-stdin",
                "--retries",
                "0",
                "--certs-dir",
                &certs,
                "--kubeconfig",
                &kc,
            ]
            .iter()
            .chain(extra)
            .map(|s| s.to_string()),
        );
        v
    };
    let args = update_pull_secret(&[]);
    a.run(&w, "pull-secret update refused", &args, Some(&wrong_in), 2);
    // A real write (--replace: only the lab registry's entry is left) followed to the end
    // (text), then with nothing left to roll out (json);
    // then a rotation whose rollout degrades.
    w.api.start_mco(
        &[("master", 1), ("worker", 2)],
        std::time::Duration::from_millis(20),
    );
    let args = update_pull_secret(&["--replace", "--wait", "--wait-interval", "0.02"]);
    a.run(&w, "pull-secret update --wait", &args, Some(&pw_in), 0);
    w.api
        .degrade_machine("worker-0", "unexpected on-disk state");
    let args = update_pull_secret(&["--skip-check", "--wait", "--wait-interval", "0.02"]);
    // Each format rotates the password, so each has a rollout to follow into the degraded pool.
    let degraded = "pull-secret update --wait degraded";
    a.run_as(&w, degraded, &args, Some(&wrong_in), 2, &["text"]);
    a.run_as(&w, degraded, &args, Some(&pw_in), 2, &["json"]);
    let run = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "run",
            &pb("registry_auth.yml"),
            "--known-hosts",
            &kh,
            "--certs-dir",
            &certs,
            "--kubeconfig",
            &kc,
            "--retries",
            "0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let args = run(&["-i", &inv, "--check", "--diff"]);
    a.run(&w, "run --check --diff", &args, None, 0);
    let args = run(&["-i", &wrong]);
    a.run(&w, "run wrong password", &args, None, 2);
    // The rotation as ansible-playbook users write it: the new password in a vault file
    // made by the real ansible-vault, `-e @FILE` over the inventory's wrong one. The
    // secret must not escape from the decrypted extra vars either.
    for f in ["rotate-whole.yml", "rotate-values.yml", "vault-pass"] {
        std::fs::copy(
            format!(
                "{}/tests/fixtures/extra_vars/{f}",
                env!("CARGO_MANIFEST_DIR")
            ),
            w.dir.path().join(f),
        )
        .unwrap();
    }
    let vault = [
        "--vault-password-file",
        "vault-pass",
        "-e",
        "@rotate-whole.yml",
    ];
    let args: Vec<&str> = ["validate", "-i", &wrong, "--certs-dir", &certs]
        .into_iter()
        .chain(vault)
        .collect();
    a.run(&w, "validate -e @vault file", &args, None, 0);
    let args = run(&[
        "-i",
        &wrong,
        "--check",
        "--diff",
        "--vault-password-file",
        "vault-pass",
        "-e",
        "@rotate-values.yml",
    ]);
    a.run(&w, "run -e @vault values --check --diff", &args, None, 0);
    // A real run, then one where node2 holds a corrupt file: a failing host, a retry
    // file, and --diff against files that now hold the secret.
    let args = run(&["-i", &inv, "--diff"]);
    a.run(&w, "run (applied)", &args, None, 0);
    std::fs::write(
        w.ssh.nodes[1].path("origin/.docker/config.json"),
        b"{not json",
    )
    .unwrap();
    let rotate = w.dir.path().join("rotate.ini");
    std::fs::write(
        &rotate,
        std::fs::read_to_string(&inv).unwrap().replace(
            &format!(
                "oreg_auth_user={USER}\noreg_auth_password=\"{}\"",
                PASSWORD.replace('"', "\\\"")
            ),
            "oreg_auth_user=bob\noreg_auth_password=\"second\"",
        ),
    )
    .unwrap();
    let rotate = rotate.display().to_string();
    let args = run(&["-i", &rotate, "--diff", "--skip-tags", "cluster"]);
    a.run(
        &w,
        "run failing node, rotating away from the secret",
        &args,
        None,
        2,
    );
    assert!(
        w.dir.path().join("registry_auth.retry").exists(),
        "the failing run wrote no retry file"
    );
    for (i, n) in w.ssh.nodes.iter().enumerate() {
        a.problems
            .extend(leaks(&format!("sshd log of node{}", i + 1), &n.log_text()));
    }

    // Control: --show-secrets prints the password on purpose, and the markers catch it,
    // so a clean audit above means absent, not unrecognised.
    let shown = Command::new(assert_cmd::cargo::cargo_bin("regauth"))
        .args(["inventory", "-i", &inv, "--list", "--show-secrets"])
        .output()
        .unwrap();
    assert!(!leaks("control", &String::from_utf8_lossy(&shown.stdout)).is_empty());

    eprintln!(
        "leak audit: {} command runs ({} with debug/trace logs), {} /proc argv scans",
        a.runs, a.traced, a.scans
    );
    assert!(a.traced >= a.runs / 2, "-vvv logged too little to audit");
    assert!(a.scans > a.runs, "the argv watch did not run");
    assert!(a.problems.is_empty(), "{}", a.problems.join("\n"));
}
