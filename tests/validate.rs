//! `validate` against real registries started by the lab (tests/support): the
//! library API for each reason, the binary for output, exit codes and leaks.

mod support;

use regauth::registry::{CheckOptions, Reason, ValidateOptions, check, validate_all};
use std::time::{Duration, Instant};
use support::{Lab, Silent, assert_reason, closed_port, cred};

const ROBOT: &str = "12345678|robot";
const ROBOT_TOKEN: &str = "Xq7eR2kLm9PzT4vN8wB3yH6cJ1dF5gS0";
const WEIRD: &str = "weird.user";
const WEIRD_PASSWORD: &str = r#"p:a$s w"o'r\d $HOME"#;
const IMAGE: &str = "openshift3/ose-pod:v3.11";

fn opts(lab: &Lab) -> CheckOptions {
    lab.check_options()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_over_tls() {
    let lab = Lab::new();
    let reg = lab
        .registry()
        .user(ROBOT, ROBOT_TOKEN)
        .user(WEIRD, WEIRD_PASSWORD)
        .image("openshift3/ose-pod", "v3.11")
        .docker_image("legacy/app", "1")
        .index("multi/arch", "2")
        .start();
    let h = reg.host.as_str();
    let creds = [
        cred(h, ROBOT, ROBOT_TOKEN, IMAGE),
        cred(h, WEIRD, WEIRD_PASSWORD, IMAGE),
        cred(h, ROBOT, ROBOT_TOKEN, "legacy/app:1"),
        cred(h, ROBOT, ROBOT_TOKEN, "multi/arch:2"),
        cred(h, ROBOT, "Xq7eR2kLm9PzT4vN8wB3yH6cJ1dF5gS1", IMAGE),
        cred(h, ROBOT, ROBOT_TOKEN, "openshift3/ose-pod:v9.99"),
        cred(h, ROBOT, ROBOT_TOKEN, "openshift3/nothing-here:v3.11"),
    ];
    let r = validate_all(
        &creds,
        &ValidateOptions {
            check: opts(&lab),
            forks: 8,
        },
    )
    .await;
    assert_reason(&r[0], Reason::Ok, "can pull openshift3/ose-pod:v3.11");
    assert_reason(&r[1], Reason::Ok, WEIRD);
    assert_reason(&r[2], Reason::Ok, "legacy/app:1");
    assert_reason(&r[3], Reason::Ok, "multi/arch:2");
    assert_reason(
        &r[4],
        Reason::AuthFailed,
        &format!("wrong user name or password for {ROBOT} at {h}"),
    );
    assert_reason(
        &r[5],
        Reason::ImageNotFound,
        &format!("openshift3/ose-pod:v9.99 not found on {h} — set test_image"),
    );
    assert_reason(
        &r[6],
        Reason::ImageNotFound,
        "repository openshift3/nothing-here does not exist",
    );
    assert!(r.iter().all(|r| r.attempts == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_auth_on_another_host() {
    let lab = Lab::new();
    let tokens = lab.token_service(
        &[
            ("alice", "alice-pw", &["*"]),
            ("bob", "bob-pw", &["other/repo"]),
            (WEIRD, WEIRD_PASSWORD, &["*"]),
        ],
        false,
    );
    let reg = lab
        .registry()
        .token(&tokens)
        .image("openshift3/ose-pod", "v3.11")
        .start();
    let h = reg.host.as_str();
    let creds = [
        cred(h, "alice", "alice-pw", IMAGE),
        cred(h, WEIRD, WEIRD_PASSWORD, IMAGE),
        cred(h, "alice", "wrong", IMAGE),
        cred(h, "bob", "bob-pw", IMAGE),
        cred(h, "alice", "alice-pw", "openshift3/ose-pod:nope"),
    ];
    let r = validate_all(
        &creds,
        &ValidateOptions {
            check: opts(&lab),
            forks: 8,
        },
    )
    .await;
    assert_reason(&r[0], Reason::Ok, "alice can pull");
    assert_reason(&r[1], Reason::Ok, "can pull");
    assert_reason(
        &r[2],
        Reason::AuthFailed,
        &format!("token service {}", tokens.server.host()),
    );
    assert_reason(&r[3], Reason::AccessDenied, "bob can log in");
    assert_reason(
        &r[4],
        Reason::ImageNotFound,
        "openshift3/ose-pod:nope not found",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_service_answering_access_token() {
    let lab = Lab::new();
    let tokens = lab.token_service(&[("alice", "alice-pw", &["*"])], true);
    let reg = lab
        .registry()
        .token(&tokens)
        .image("openshift3/ose-pod", "v3.11")
        .start();
    let r = check(&cred(&reg.host, "alice", "alice-pw", IMAGE), &opts(&lab)).await;
    assert_reason(&r, Reason::Ok, "alice can pull");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_certificate() {
    let lab = Lab::new();
    let reg = lab
        .registry()
        .user("alice", "pw")
        .image("openshift3/ose-pod", "v3.11")
        .untrusted()
        .start();
    let mut c = cred(&reg.host, "alice", "pw", IMAGE);
    let r = check(&c, &opts(&lab)).await;
    assert_reason(&r, Reason::TlsError, "is not trusted");
    assert_eq!(r.attempts, 1, "TLS errors are not retried");
    c.tls_verify = false;
    let r = check(&c, &opts(&lab)).await;
    assert_reason(&r, Reason::Ok, "alice can pull");
    // A registry that answers HTTPS stays on HTTPS (tests/insecure.rs: plain HTTP).
    assert!(!r.message.contains("plain HTTP"), "{}", r.message);
}

#[tokio::test]
async fn nothing_listening_is_unreachable_and_retried() {
    let lab = Lab::new();
    let c = cred(&closed_port(), "alice", "pw", IMAGE);
    let r = check(
        &c,
        &CheckOptions {
            retries: 2,
            ..opts(&lab)
        },
    )
    .await;
    assert_reason(&r, Reason::Unreachable, "refused");
    assert_eq!(r.attempts, 3);
}

#[tokio::test]
async fn silent_server_times_out_quickly() {
    let lab = Lab::new();
    let silent = Silent::start();
    let start = Instant::now();
    let r = check(
        &cred(&silent.host, "alice", "pw", IMAGE),
        &CheckOptions {
            timeout: Duration::from_secs(1),
            ..opts(&lab)
        },
    )
    .await;
    assert_reason(&r, Reason::Timeout, "within 1 s");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "took {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn service_unavailable_recovers_on_retry() {
    let lab = Lab::new();
    let (server, hits) = lab.flaky_registry(1);
    // Retry-After: 0 must win over the 30 s delay.
    let o = CheckOptions {
        retries: 3,
        retry_delay: Duration::from_secs(30),
        ..opts(&lab)
    };
    let start = Instant::now();
    let r = check(&cred(&server.host(), "alice", "pw", IMAGE), &o).await;
    assert_reason(&r, Reason::Ok, "can pull");
    assert_eq!(r.attempts, 2);
    assert!(hits.load(std::sync::atomic::Ordering::SeqCst) >= 3);
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_not_retried() {
    let lab = Lab::new();
    let reg = lab.registry().user("alice", "pw").start();
    let o = CheckOptions {
        retries: 3,
        retry_delay: Duration::from_secs(30),
        ..opts(&lab)
    };
    let r = check(&cred(&reg.host, "alice", "nope", IMAGE), &o).await;
    assert_reason(
        &r,
        Reason::AuthFailed,
        "wrong user name or password for alice",
    );
    assert_eq!(r.attempts, 1);
}

// ---- through the binary: inventory in, report and exit code out ----

const LEAK_PASSWORD: &str = "Leak-Canary-7f3a9c";

/// An INI inventory: oreg on `oreg_host` for alice, then additional entries.
fn inventory(
    lab: &Lab,
    oreg_host: &str,
    oreg_password: &str,
    additional: &str,
) -> std::path::PathBuf {
    let path = lab.dir.path().join("hosts.ini");
    std::fs::write(
        &path,
        format!(
            "[OSEv3:children]\nnodes\n[nodes]\nn1\n[OSEv3:vars]\n\
openshift_deployment_type=openshift-enterprise\nopenshift_image_tag=v3.11\n\
oreg_url={oreg_host}/openshift3/ose-${{component}}:${{version}}\n\
oreg_auth_user=alice\noreg_auth_password={oreg_password}\n\
openshift_additional_registry_credentials=[{additional}]\n"
        ),
    )
    .unwrap();
    path
}

fn regauth(lab: &Lab) -> std::process::Command {
    lab.regauth()
}

/// Credentials written as JSON (`true`/`false`, which `ast.literal_eval` refuses, so
/// the inventory holds a string): Ansible 2.9's templating gave the installer a list
/// (`Templar.template()`, lib/ansible/template/__init__.py v2.9.27 lines 623-631,
/// `safe_eval` with `false`/`true`/`null` in its globals), so validate takes them too.
#[test]
fn json_written_credentials_are_checked() {
    let lab = Lab::new();
    let reg = lab
        .registry()
        .user("alice", "alice-pw")
        .image("openshift3/ose-pod", "v3.11")
        .image("legacy/app", "1")
        .start();
    let h = &reg.host;
    let inv = inventory(
        &lab,
        h,
        "alice-pw",
        &format!(
            r#"{{"host": "{h}", "user": "alice", "password": "alice-pw", "tls_verify": true, "test_image": "legacy/app:1"}}, {{"host": "{h}", "user": "x", "password": "x", "test_login": false}}"#
        ),
    );
    let out = regauth(&lab)
        .args(["validate", "--retries", "0", "-o", "json", "-i"])
        .arg(&inv)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reasons: Vec<&str> = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["ok", "ok", "skipped"], "{json}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn binary_reports_json_and_exit_codes() {
    let lab = Lab::new();
    let basic = lab
        .registry()
        .user("alice", "alice-pw")
        .image("openshift3/ose-pod", "v3.11")
        .start();
    let tokens = lab.token_service(&[("bob", "bob-pw", &["other/repo"])], false);
    let token_reg = lab
        .registry()
        .token(&tokens)
        .image("openshift3/ose-pod", "v3.11")
        .start();
    let (b, t) = (&basic.host, &token_reg.host);
    let inv = inventory(
        &lab,
        b,
        "alice-pw",
        &format!(
            "{{'host':'{t}','user':'bob','password':'bob-pw'}},\
             {{'host':'{t}','user':'nobody','password':'x','test_login':'False'}},\
             {{'host':'{b}','user':'alice','password':'wrong'}}"
        ),
    );
    let out = regauth(&lab)
        .args(["validate", "--retries", "0", "-o", "json", "-i"])
        .arg(&inv)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reasons: Vec<(&str, &str)> = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["source"].as_str().unwrap(), r["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        reasons,
        [
            ("oreg_auth_user", "ok"),
            (
                "openshift_additional_registry_credentials[0]",
                "access_denied"
            ),
            ("openshift_additional_registry_credentials[1]", "skipped"),
            (
                "openshift_additional_registry_credentials[2]",
                "auth_failed"
            ),
        ]
    );
    assert_eq!(
        json["summary"],
        serde_json::json!({"ok": 1, "failed": 2, "skipped": 1})
    );
    let first = &json["results"][0];
    for key in [
        "registry",
        "user",
        "test_image",
        "tls_verify",
        "status",
        "message",
        "attempts",
        "duration_ms",
        "check",
    ] {
        assert!(!first[key].is_null(), "{key} missing in {first}");
    }
    // Inventory credentials always have a test image (the installer's default).
    assert!(
        json["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["check"] == "image"),
        "{json}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .contains("nodes will get the last one (openshift_additional_registry_credentials[2])"),
        "{stderr}"
    );

    // Only the working registry entry: exit 0, one line per credential and a summary.
    let out = regauth(&lab)
        .args([
            "validate",
            "--color",
            "never",
            "--registry",
            t,
            "--retries",
            "0",
            "-i",
        ])
        .arg(&inv)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("access_denied: bob can log in"), "{stdout}");
    assert!(
        stdout
            .lines()
            .last()
            .unwrap()
            .contains("registries: ok=0 failed=1 skipped=1"),
        "{stdout}"
    );
    let out = regauth(&lab)
        .args(["validate", "--color", "always", "--registry", b, "-i"])
        .arg(&inv)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("\x1b[32mok") && stdout.contains("\x1b[31mfailed"),
        "colours: {stdout:?}"
    );
    // Piped stderr gets plain progress lines, no progress bar.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("checked {b} (oreg_auth_user): ok")),
        "{stderr}"
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "oreg ok, additional[2] wrong: {}",
        stdout
    );
    let out = regauth(&lab)
        .args(["validate", "--registry", "nowhere:1", "-i"])
        .arg(&inv)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
}

/// Every process's argv, while `child` runs: none may hold the password.
fn watch_cmdlines(child: &mut std::process::Child, secret: &str) -> usize {
    let mut scans = 0;
    loop {
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            if let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) {
                assert!(
                    !String::from_utf8_lossy(&cmd).contains(secret),
                    "password in argv of pid {:?}",
                    entry.file_name()
                );
            }
        }
        scans += 1;
        if child.try_wait().unwrap().is_some() {
            return scans;
        }
    }
}

#[test]
fn password_never_leaks_at_trace_level() {
    use base64::Engine;
    let lab = Lab::new();
    let basic = lab
        .registry()
        .user("alice", LEAK_PASSWORD)
        .image("openshift3/ose-pod", "v3.11")
        .start();
    let tokens = lab.token_service(&[("bob", LEAK_PASSWORD, &["*"])], false);
    let token_reg = lab
        .registry()
        .token(&tokens)
        .image("openshift3/ose-pod", "v3.11")
        .start();
    let inv = inventory(
        &lab,
        &basic.host,
        LEAK_PASSWORD,
        &format!(
            "{{'host':'{}','user':'bob','password':'{LEAK_PASSWORD}'}},{{'host':'{}','user':'alice','password':'{LEAK_PASSWORD}x'}}",
            token_reg.host, basic.host
        ),
    );
    let encoded: Vec<String> = ["alice", "bob"]
        .iter()
        .map(|u| base64::engine::general_purpose::STANDARD.encode(format!("{u}:{LEAK_PASSWORD}")))
        .collect();
    for format in ["text", "json"] {
        let dir = lab.dir.path();
        let (so, se) = (
            dir.join(format!("out-{format}")),
            dir.join(format!("err-{format}")),
        );
        let mut child = regauth(&lab)
            .args(["-vvv", "validate", "--retries", "0", "-o", format, "-i"])
            .arg(&inv)
            .stdout(std::fs::File::create(&so).unwrap())
            .stderr(std::fs::File::create(&se).unwrap())
            .spawn()
            .unwrap();
        let scans = watch_cmdlines(&mut child, LEAK_PASSWORD);
        assert!(scans >= 1);
        let (stdout, stderr) = (
            std::fs::read_to_string(&so).unwrap(),
            std::fs::read_to_string(&se).unwrap(),
        );
        assert!(
            stdout.contains("alice can pull") && stdout.contains("bob can pull"),
            "{stdout}\n{stderr}"
        );
        assert!(
            stderr.contains("TRACE") || stderr.contains("DEBUG"),
            "-vvv must log: {stderr}"
        );
        for text in [&stdout, &stderr] {
            assert!(!text.contains(LEAK_PASSWORD), "password leaked:\n{text}");
            for e in &encoded {
                assert!(
                    !text.contains(e.as_str()),
                    "Basic credentials leaked:\n{text}"
                );
            }
            // A JWT's header starts with `eyJ`: the bearer token stays out of logs too.
            assert!(!text.contains("eyJ"), "bearer token leaked:\n{text}");
        }
    }
}

// ---- where credentials may go, TLS details, proxies: small fixture servers ----

use support::https::Reply;
use support::{LOOPBACK, LOOPBACK2};

fn manifest_reply() -> Reply {
    Reply::json(
        200,
        serde_json::json!({"schemaVersion": 2, "mediaType": support::image::OCI_MANIFEST}),
    )
    .header("Content-Type", support::image::OCI_MANIFEST)
}

#[tokio::test]
async fn no_password_to_a_plain_http_realm_on_another_host() {
    let lab = Lab::new();
    let trap = Silent::start_on(LOOPBACK2);
    let realm = format!("http://{}/token", trap.host);
    let reg = lab.serve(LOOPBACK, move |_| {
        Reply::json(401, serde_json::json!({})).header(
            "WWW-Authenticate",
            &format!(r#"Bearer realm="{realm}",service="s""#),
        )
    });
    let r = check(&cred(&reg.host(), "alice", "pw", IMAGE), &opts(&lab)).await;
    assert_reason(&r, Reason::RegistryError, "plain HTTP on another host");
    assert_eq!(
        trap.connections(),
        0,
        "nothing may be sent to the plain-HTTP realm"
    );
}

#[tokio::test]
async fn no_redirect_from_https_to_http() {
    let lab = Lab::new();
    let trap = Silent::start();
    let target = format!("http://{}/v2/openshift3/ose-pod/manifests/v3.11", trap.host);
    let reg = lab.serve(LOOPBACK, move |req| {
        if req.header("authorization").is_none() {
            Reply::json(401, serde_json::json!({})).header("WWW-Authenticate", r#"Basic realm="r""#)
        } else {
            Reply::json(302, serde_json::json!({})).header("Location", &target)
        }
    });
    let o = CheckOptions {
        retries: 2,
        ..opts(&lab)
    };
    let r = check(&cred(&reg.host(), "alice", "pw", IMAGE), &o).await;
    assert_reason(&r, Reason::RegistryError, "redirect");
    assert_eq!(r.attempts, 1, "a refused redirect is not retried");
    assert_eq!(trap.connections(), 0);
}

#[tokio::test]
async fn authorization_dropped_on_cross_host_redirect() {
    let lab = Lab::new();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let other = lab.serve(LOOPBACK2, move |req| {
        s.lock()
            .unwrap()
            .push(req.header("authorization").map(str::to_string));
        manifest_reply()
    });
    let target = format!("https://{}/blobs/manifest", other.host());
    let reg = lab.serve(LOOPBACK, move |req| match req.header("authorization") {
        None => {
            Reply::json(401, serde_json::json!({})).header("WWW-Authenticate", r#"Basic realm="r""#)
        }
        Some(_) => Reply::json(307, serde_json::json!({})).header("Location", &target),
    });
    let r = check(&cred(&reg.host(), "alice", "pw", IMAGE), &opts(&lab)).await;
    assert_reason(&r, Reason::Ok, "can pull");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0], None,
        "Authorization must not follow a redirect to another host"
    );
}

#[tokio::test]
async fn tls_errors_say_which() {
    let lab = Lab::new();
    let expired = lab.ca.leaf_with(LOOPBACK, |p| {
        p.not_before = rcgen::date_time_ymd(2000, 1, 1);
        p.not_after = rcgen::date_time_ymd(2001, 1, 1);
    });
    let old = lab.serve_with(LOOPBACK, &expired, |_| manifest_reply());
    // A certificate for 127.0.0.2 served on 127.0.0.1.
    let elsewhere = lab.serve_with(LOOPBACK, &lab.ca.leaf(LOOPBACK2), |_| manifest_reply());
    let r = check(&cred(&old.host(), "alice", "pw", IMAGE), &opts(&lab)).await;
    assert_reason(&r, Reason::TlsError, "has expired");
    let r = check(&cred(&elsewhere.host(), "alice", "pw", IMAGE), &opts(&lab)).await;
    assert_reason(&r, Reason::TlsError, "is for another name");
    // tls_verify=False for that entry only.
    let mut c = cred(&old.host(), "alice", "pw", IMAGE);
    c.tls_verify = false;
    assert_reason(&check(&c, &opts(&lab)).await, Reason::Ok, "can pull");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_proxies_are_used_unless_no_proxy() {
    let lab = Lab::new();
    let reg = lab
        .registry()
        .user("alice", "pw")
        .image("openshift3/ose-pod", "v3.11")
        .start();
    let proxy = closed_port();
    let mut o = opts(&lab);
    o.proxies.https = Some(format!("http://{proxy}"));
    let r = check(&cred(&reg.host, "alice", "pw", IMAGE), &o).await;
    assert_reason(&r, Reason::Unreachable, &proxy);
    o.proxies.no_proxy = Some("example.com,127.0.0.1".into());
    // Clients are cached per run; new proxy settings make a new run.
    o.shared = Default::default();
    let r = check(&cred(&reg.host, "alice", "pw", IMAGE), &o).await;
    assert_reason(&r, Reason::Ok, "alice can pull");
}

#[test]
fn interrupt_exits_99() {
    let lab = Lab::new();
    let silent = Silent::start();
    let inv = inventory(&lab, &silent.host, "pw", "");
    let child = regauth(&lab)
        .args(["validate", "--timeout", "30", "-i"])
        .arg(&inv)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the check is under way (the silent server has its connection).
    let deadline = Instant::now() + Duration::from_secs(10);
    while silent.connections() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    // The ^C handler is installed on the run's first poll, with the connection; leave
    // it a moment so the signal cannot arrive before it.
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(99),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_applies_to_the_token_realm_too() {
    let lab = Lab::new();
    let tokens = lab.token_service(&[("alice", "alice-pw", &["*"])], false);
    let reg = lab
        .registry()
        .token(&tokens)
        .image("openshift3/ose-pod", "v3.11")
        .start();
    // The registry stays trusted; the token service's CA goes away.
    std::fs::remove_dir_all(lab.certs_dir().join(tokens.server.host())).unwrap();
    let mut c = cred(&reg.host, "alice", "alice-pw", IMAGE);
    let r = check(&c, &opts(&lab)).await;
    assert_reason(
        &r,
        Reason::TlsError,
        &format!("certificate of {} is not trusted", tokens.server.host()),
    );
    c.tls_verify = false;
    assert_reason(&check(&c, &opts(&lab)).await, Reason::Ok, "alice can pull");
}
