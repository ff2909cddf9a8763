//! Hostile and broken registries: oversized answers (memory stays bounded), garbage,
//! redirect loops and slow-drip bodies (the timeout is honoured). The plain-HTTP realm
//! on another host is in tests/validate.rs.

mod support;

use regauth::registry::{CheckOptions, Reason, check};
use std::time::{Duration, Instant};
use support::https::{Reply, Request};
use support::{LOOPBACK, LOOPBACK2, Lab, cred};

const IMAGE: &str = "openshift3/ose-pod:v3.11";
const BIG: usize = 50 * 1024 * 1024;

fn opts(lab: &Lab, timeout: Duration) -> CheckOptions {
    CheckOptions {
        trust: lab.trust(),
        timeout,
        retries: 0,
        retry_delay: Duration::ZERO,
        ..CheckOptions::default()
    }
}

fn challenge() -> Reply {
    Reply::json(401, serde_json::json!({})).header("WWW-Authenticate", r#"Basic realm="r""#)
}

/// A Basic-auth registry whose manifest answer is `manifest()`.
fn basic_registry(
    manifest: impl Fn() -> Reply + Send + Sync + 'static,
) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    move |req| {
        if req.header("authorization").is_none() {
            challenge()
        } else if req.path() == "/v2/" {
            Reply::json(200, serde_json::json!({}))
        } else {
            manifest()
        }
    }
}

fn ok_manifest() -> Reply {
    Reply::json(
        200,
        serde_json::json!({"schemaVersion": 2, "mediaType": support::image::OCI_MANIFEST}),
    )
    .header("Content-Type", support::image::OCI_MANIFEST)
}

/// `regauth validate` against `host`; its exit code, output and peak RSS in KiB
/// (from wait4, so only the child's memory counts, not the fixture server's).
fn validate_rss(lab: &Lab, host: &str) -> (Option<i32>, String, i64) {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("hosts");
    std::fs::write(
        &inv,
        format!(
            "[masters]\nm1\n[OSEv3:children]\nmasters\n[OSEv3:vars]\noreg_url={host}/openshift3/ose-${{component}}:${{version}}\noreg_auth_user=alice\noreg_auth_password=pw\n"
        ),
    )
    .unwrap();
    // Reaped below with wait4 (for its rusage), which clippy cannot see.
    #[allow(clippy::zombie_processes)]
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("regauth"))
        .arg("validate")
        .arg("-i")
        .arg(&inv)
        .arg("--certs-dir")
        .arg(lab.certs_dir())
        .args(["--retries", "0", "--timeout", "30", "-o", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    // Read the pipes on threads so a chatty child never blocks, then reap it with wait4.
    let mut out = child.stdout.unwrap();
    let mut err = child.stderr.unwrap();
    let t1 = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).unwrap();
        s
    });
    let t2 = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut err, &mut s).unwrap();
        s
    });
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid);
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    let text = format!("{}{}", t1.join().unwrap(), t2.join().unwrap());
    (code, text, usage.ru_maxrss)
}

#[test]
fn oversized_manifest_and_token_answers_keep_memory_bounded() {
    let lab = Lab::new();
    let normal = lab.serve(LOOPBACK, basic_registry(ok_manifest));
    let (code, out, base_rss) = validate_rss(&lab, &normal.host());
    assert_eq!(code, Some(0), "{out}");

    // A 50 MiB error answer to the manifest request.
    let huge = lab.serve(
        LOOPBACK,
        basic_registry(|| Reply::bytes(404, "application/json", vec![b'x'; BIG])),
    );
    let (code, out, manifest_rss) = validate_rss(&lab, &huge.host());
    assert_eq!(code, Some(2), "{out}");

    // A "token" of `size` bytes; the token flow costs more memory than Basic (a second
    // host, a second client), so its baseline is a 2 MiB answer, just over the cap.
    let token_rss = |size: usize| {
        let realm = lab.serve(LOOPBACK2, move |_| {
            let mut body = b"{\"token\":\"".to_vec();
            body.resize(size, b'a');
            Reply::bytes(200, "application/json", body)
        });
        let realm_url = format!("https://{}/token", realm.host());
        let tokened = lab.serve(LOOPBACK, move |_| {
            Reply::json(401, serde_json::json!({})).header(
                "WWW-Authenticate",
                &format!(r#"Bearer realm="{realm_url}",service="s""#),
            )
        });
        let (code, out, rss) = validate_rss(&lab, &tokened.host());
        assert_eq!(code, Some(2), "{out}");
        assert!(out.contains("more than 1024 KiB"), "{out}");
        rss
    };
    let small_token_rss = token_rss(2 * 1024 * 1024);
    let big_token_rss = token_rss(BIG);
    eprintln!(
        "peak RSS: normal {base_rss} KiB, 50 MiB manifest {manifest_rss} KiB, \
         2 MiB token {small_token_rss} KiB, 50 MiB token {big_token_rss} KiB"
    );
    // The answers are 50 MiB; the caps are 64 KiB and 1 MiB. 16 MiB of slack covers
    // allocator noise and TLS buffers while still failing if a body is slurped.
    for (rss, base) in [(manifest_rss, base_rss), (big_token_rss, small_token_rss)] {
        assert!(
            rss < base + 16 * 1024,
            "memory not bounded: {rss} KiB vs {base} KiB"
        );
    }
}

#[tokio::test]
async fn garbage_answers_are_registry_errors() {
    let lab = Lab::new();
    // A challenge header that is noise, with a binary body.
    let noise = lab.serve(LOOPBACK, |_| {
        Reply::bytes(401, "application/octet-stream", vec![0xff, 0, 0x1b, b'{'])
            .header("WWW-Authenticate", ",,=\"\" Bearer realm=\" x=, Basic")
    });
    let r = check(
        &cred(&noise.host(), "alice", "pw", IMAGE),
        &opts(&lab, Duration::from_secs(20)),
    )
    .await;
    assert_eq!(r.reason, Reason::RegistryError, "{}", r.message);

    // A token service answering binary garbage with 200.
    let realm = lab.serve(LOOPBACK2, |_| {
        Reply::bytes(200, "application/json", b"\x00\xffnot json{{".to_vec())
    });
    let realm_url = format!("https://{}/token", realm.host());
    let reg = lab.serve(LOOPBACK, move |_| {
        Reply::json(401, serde_json::json!({})).header(
            "WWW-Authenticate",
            &format!(r#"Bearer realm="{realm_url}""#),
        )
    });
    let r = check(
        &cred(&reg.host(), "alice", "pw", IMAGE),
        &opts(&lab, Duration::from_secs(20)),
    )
    .await;
    assert_eq!(r.reason, Reason::RegistryError, "{}", r.message);
    assert!(r.message.contains("not a token"), "{}", r.message);
}

#[tokio::test]
async fn redirect_loop_ends_with_a_clear_error() {
    let lab = Lab::new();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let h = hits.clone();
    let reg = lab.serve(LOOPBACK, move |req| {
        h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Reply::json(302, serde_json::json!({})).header("Location", req.path())
    });
    let r = check(
        &cred(&reg.host(), "alice", "pw", IMAGE),
        &opts(&lab, Duration::from_secs(20)),
    )
    .await;
    assert_eq!(r.reason, Reason::RegistryError, "{}", r.message);
    assert!(r.message.contains("redirect"), "{}", r.message);
    let n = hits.load(std::sync::atomic::Ordering::SeqCst);
    assert!(n <= 12, "followed {n} redirects");
}

#[tokio::test]
async fn slow_drip_body_hits_the_timeout() {
    let lab = Lab::new();
    // Headers at once, then one byte per second of a 10 KiB error body.
    let reg = lab.serve(
        LOOPBACK,
        basic_registry(|| {
            Reply::bytes(404, "application/json", vec![b' '; 10 * 1024])
                .drip(Duration::from_secs(1))
        }),
    );
    let started = Instant::now();
    let r = check(
        &cred(&reg.host(), "alice", "pw", IMAGE),
        &opts(&lab, Duration::from_secs(2)),
    )
    .await;
    let took = started.elapsed();
    assert_eq!(r.reason, Reason::Timeout, "{}", r.message);
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

/// Lab servers count as started only when the listening socket is their own: a
/// connect alone once reached another test's server that had taken the port.
#[test]
fn a_port_is_ready_only_for_the_process_that_listens_on_it() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    assert!(support::listens(std::process::id(), port));
    let mut other = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    assert!(!support::listens(other.id(), port));
    let _ = other.kill();
    let _ = other.wait();
    drop(l);
    assert!(!support::listens(std::process::id(), port));
}
