//! `validate` against real registries started by the lab (tests/support): the
//! library API for each reason, the binary for output, exit codes and leaks.

mod support;

use regauth::registry::{CheckOptions, CheckResult, Reason, ValidateOptions, check, validate_all};
use std::time::{Duration, Instant};
use support::{Lab, Silent, closed_port, cred};

const ROBOT: &str = "12345678|robot";
const ROBOT_TOKEN: &str = "Xq7eR2kLm9PzT4vN8wB3yH6cJ1dF5gS0";
const WEIRD: &str = "weird.user";
const WEIRD_PASSWORD: &str = r#"p:a$s w"o'r\d $HOME"#;
const IMAGE: &str = "openshift3/ose-pod:v3.11";

fn opts(lab: &Lab) -> CheckOptions {
    CheckOptions {
        trust: lab.trust(),
        timeout: Duration::from_secs(20),
        retries: 0,
        retry_delay: Duration::ZERO,
        ..CheckOptions::default()
    }
}

fn assert_reason(r: &CheckResult, reason: Reason, needle: &str) {
    assert_eq!(
        r.reason, reason,
        "{} ({}): {}",
        r.registry, r.source, r.message
    );
    assert!(
        r.message.contains(needle),
        "message {:?} lacks {needle:?}",
        r.message
    );
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
