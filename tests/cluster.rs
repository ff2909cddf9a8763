//! The Kubernetes side against the test API server, through kube-rs and a kubeconfig
//! file, exactly as a cluster is reached.

mod support;

use base64::Engine;
use regauth::cluster::{
    self, Change, ClusterError, ConnectOptions, LinkMode, PullerSubject, SecretSpec,
};
use regauth::exit::{Exit, HasExit};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;
use support::apiserver::ApiServer;

fn dockerconfig(host: &str, user: &str, pw: &str) -> Vec<u8> {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"));
    serde_json::to_vec(
        &json!({"auths": {host: {"auth": auth, "email": "openshift@openshift.com"}}}),
    )
    .unwrap()
}

fn spec(host: &str, pw: &str) -> SecretSpec {
    SecretSpec {
        name: "imagestreamsecret".into(),
        namespace: "openshift".into(),
        type_: "kubernetes.io/dockerconfigjson".into(),
        data: BTreeMap::from([(
            ".dockerconfigjson".to_string(),
            dockerconfig(host, "alice", pw),
        )]),
        labels: BTreeMap::new(),
    }
}

async fn client(srv: &ApiServer, dir: &tempfile::TempDir) -> kube::Client {
    let path = srv.kubeconfig(dir.path(), &srv.token);
    cluster::connect(&ConnectOptions {
        kubeconfig: Some(path),
        context: None,
    })
    .await
    .unwrap()
    .0
}

fn stored_config(srv: &ApiServer, name: &str) -> serde_json::Value {
    let st = srv.state();
    let obj = st.get("secrets", "openshift", name).expect("secret stored");
    let raw = base64::engine::general_purpose::STANDARD
        .decode(obj["data"][".dockerconfigjson"].as_str().unwrap())
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

#[tokio::test]
async fn create_then_unchanged_then_rotated() {
    let srv = ApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let c = client(&srv, &dir).await;

    let (change, diff) = cluster::ensure_secret(&c, &spec("reg.example.com:5000", "old-pw"), false)
        .await
        .unwrap();
    assert_eq!(change, Change::Created);
    assert!(!diff.contains("old-pw"), "diff leaks the password: {diff}");
    let obj = srv
        .state()
        .get("secrets", "openshift", "imagestreamsecret")
        .unwrap()
        .clone();
    assert_eq!(obj["type"], "kubernetes.io/dockerconfigjson");
    assert_eq!(
        obj["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "regauth"
    );
    let writes_after_create = srv.state().writes().len();
    assert_eq!(writes_after_create, 1);

    // Same credentials: not one write reaches the server.
    let (change, diff) = cluster::ensure_secret(&c, &spec("reg.example.com:5000", "old-pw"), false)
        .await
        .unwrap();
    assert_eq!((change, diff.as_str()), (Change::Unchanged, ""));
    assert_eq!(srv.state().writes().len(), writes_after_create);

    // Rotated password: the installer never did this; we replace the data.
    let (change, diff) = cluster::ensure_secret(&c, &spec("reg.example.com:5000", "new-pw"), false)
        .await
        .unwrap();
    assert_eq!(change, Change::Updated);
    assert!(
        !diff.contains("new-pw") && !diff.contains("old-pw"),
        "{diff}"
    );
    assert!(diff.contains("********"), "{diff}");
    let cfg = stored_config(&srv, "imagestreamsecret");
    let want = base64::engine::general_purpose::STANDARD.encode("alice:new-pw");
    assert_eq!(cfg["auths"]["reg.example.com:5000"]["auth"], want);
    assert_eq!(srv.state().writes().len(), writes_after_create + 1);
}

#[tokio::test]
async fn conflicts_are_retried_and_keep_others_fields() {
    let srv = ApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let c = client(&srv, &dir).await;
    cluster::ensure_secret(&c, &spec("r1", "a"), false)
        .await
        .unwrap();
    srv.state().conflicts = 2;
    let (change, _) = cluster::ensure_secret(&c, &spec("r1", "b"), false)
        .await
        .unwrap();
    assert_eq!(change, Change::Updated);
    let obj = srv
        .state()
        .get("secrets", "openshift", "imagestreamsecret")
        .unwrap()
        .clone();
    assert_eq!(
        obj["metadata"]["labels"]["someone-else"], "was-here",
        "a concurrent writer's label was lost"
    );
    assert_eq!(
        stored_config(&srv, "imagestreamsecret")["auths"]["r1"]["auth"],
        base64::engine::general_purpose::STANDARD.encode("alice:b")
    );

    srv.state().conflicts = 100;
    let e = cluster::ensure_secret(&c, &spec("r1", "c"), false)
        .await
        .unwrap_err();
    assert!(matches!(e, ClusterError::Conflict(..)), "{e}");
}

#[tokio::test]
async fn dry_run_asks_the_server_and_persists_nothing() {
    let srv = ApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let c = client(&srv, &dir).await;
    let (change, diff) = cluster::ensure_secret(&c, &spec("r1", "a"), true)
        .await
        .unwrap();
    assert_eq!(change, Change::Created);
    assert!(diff.contains("+++ .dockerconfigjson (after)"), "{diff}");
    let st = srv.state();
    assert!(
        st.get("secrets", "openshift", "imagestreamsecret")
            .is_none()
    );
    assert!(st.requests.iter().any(|r| r.method == "POST" && r.dry_run));
    assert!(st.writes().is_empty());
}

#[tokio::test]
async fn server_validation_and_errors_are_one_line_with_exit_codes() {
    let srv = ApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let c = client(&srv, &dir).await;

    let mut bad = spec("r1", "a");
    bad.data
        .insert(".dockerconfigjson".into(), b"{not json".to_vec());
    let e = cluster::ensure_secret(&c, &bad, false).await.unwrap_err();
    assert!(matches!(e, ClusterError::Invalid { .. }), "{e}");

    srv.state()
        .forbidden
        .insert(("secrets".into(), "openshift".into()));
    let e = cluster::ensure_secret(&c, &spec("r1", "a"), false)
        .await
        .unwrap_err();
    assert!(matches!(e, ClusterError::Forbidden(_)), "{e}");
    assert_eq!(e.exit(), Exit::Failed);
    srv.state().forbidden.clear();

    let mut elsewhere = spec("r1", "a");
    elsewhere.namespace = "no-such-project".into();
    let e = cluster::ensure_secret(&c, &elsewhere, false)
        .await
        .unwrap_err();
    assert!(
        matches!(e, ClusterError::NamespaceMissing(ref ns) if ns == "no-such-project"),
        "{e}"
    );
    assert!(e.to_string().contains("create it first"), "{e}");

    let path = srv.kubeconfig(dir.path(), "expired-token");
    let (stale, _) = cluster::connect(&ConnectOptions {
        kubeconfig: Some(path),
        context: None,
    })
    .await
    .unwrap();
    let e = cluster::ensure_secret(&stale, &spec("r1", "a"), false)
        .await
        .unwrap_err();
    assert!(matches!(e, ClusterError::Unauthorized), "{e}");

    srv.state().failures = 1;
    let e = cluster::ensure_secret(&c, &spec("r1", "a"), false)
        .await
        .unwrap_err();
    assert!(matches!(e, ClusterError::Api { code: 500, .. }), "{e}");
    assert!(!e.to_string().contains('\n'));
}

#[tokio::test]
async fn unreachable_api_and_broken_kubeconfig() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kc = dir.path().join("dead");
    std::fs::write(
        &kc,
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\ncontexts:\n- name: c\n  context: {{cluster: c, user: u}}\ncurrent-context: c\nusers:\n- name: u\n  user: {{token: t}}\n"),
    )
    .unwrap();
    let (c, _) = cluster::connect(&ConnectOptions {
        kubeconfig: Some(kc),
        context: None,
    })
    .await
    .unwrap();
    let e = cluster::ensure_secret(&c, &spec("r1", "a"), false)
        .await
        .unwrap_err();
    assert!(matches!(e, ClusterError::Unreachable { .. }), "{e}");
    assert_eq!(e.exit(), Exit::Unreachable);

    let broken = dir.path().join("broken");
    std::fs::write(&broken, "apiVersion: v1\nkind: Config\nclusters: [oops\n").unwrap();
    let Err(e) = cluster::connect(&ConnectOptions {
        kubeconfig: Some(broken),
        context: None,
    })
    .await
    else {
        panic!("a broken kubeconfig was accepted");
    };
    assert!(matches!(e, ClusterError::Kubeconfig(_)), "{e}");
    assert_eq!(e.exit(), Exit::Usage);
}

#[tokio::test]
async fn link_and_grant_are_idempotent() {
    let srv = ApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let c = client(&srv, &dir).await;
    srv.state().put("serviceaccounts", "default", json!({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default"},"secrets":[{"name":"default-token-x"}]}));
    let mut s = spec("r1", "a");
    s.namespace = "default".into();
    s.name = "pull".into();
    cluster::ensure_secret(&c, &s, false).await.unwrap();

    let ch = cluster::link_secret(&c, "default", "default", "pull", &[LinkMode::Pull], false)
        .await
        .unwrap();
    assert_eq!(ch, Change::Updated);
    let writes = srv.state().writes().len();
    let ch = cluster::link_secret(&c, "default", "default", "pull", &[LinkMode::Pull], false)
        .await
        .unwrap();
    assert_eq!(ch, Change::Unchanged);
    assert_eq!(srv.state().writes().len(), writes);
    let sa = srv
        .state()
        .get("serviceaccounts", "default", "default")
        .unwrap()
        .clone();
    assert_eq!(sa["imagePullSecrets"], json!([{"name":"pull"}]));
    assert_eq!(
        sa["secrets"],
        json!([{"name":"default-token-x"}]),
        "mount secrets untouched"
    );
    let e = cluster::link_secret(
        &c,
        "default",
        "default",
        "missing",
        &[LinkMode::Pull],
        false,
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("not found"), "{e}");

    let who = PullerSubject::ServiceAccount {
        namespace: "project-a".into(),
        name: "default".into(),
    };
    assert_eq!(
        cluster::grant_image_puller(&c, "default", &who, false)
            .await
            .unwrap(),
        Change::Created
    );
    assert_eq!(
        cluster::grant_image_puller(&c, "default", &who, false)
            .await
            .unwrap(),
        Change::Unchanged
    );
    let all = PullerSubject::AllServiceAccounts {
        namespace: "project-a".into(),
    };
    assert_eq!(
        cluster::grant_image_puller(&c, "default", &all, false)
            .await
            .unwrap(),
        Change::Updated
    );
    let rb = srv
        .state()
        .get("rolebindings", "default", "system:image-puller")
        .unwrap()
        .clone();
    assert_eq!(rb["roleRef"]["name"], "system:image-puller");
    assert_eq!(
        rb["subjects"][0],
        json!({"kind":"ServiceAccount","name":"default","namespace":"project-a"})
    );
    assert_eq!(
        rb["subjects"][1],
        json!({"apiGroup":"rbac.authorization.k8s.io","kind":"Group","name":"system:serviceaccounts:project-a"})
    );
}

#[tokio::test]
async fn node_readiness_waits_and_times_out() {
    let srv = ApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let c = client(&srv, &dir).await;
    srv.set_node_ready("node1", false);
    let flip = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        srv.set_node_ready("node1", true);
    };
    let (r, ()) = tokio::join!(
        cluster::wait_node_ready(
            &c,
            "node1",
            Duration::from_secs(5),
            Duration::from_millis(100)
        ),
        flip
    );
    r.unwrap();
    srv.set_node_ready("node2", false);
    let t = std::time::Instant::now();
    let e = cluster::wait_node_ready(
        &c,
        "node2",
        Duration::from_millis(500),
        Duration::from_millis(100),
    )
    .await
    .unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(e.to_string().contains("did not report Ready"), "{e}");
}
