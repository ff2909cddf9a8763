//! kubectl 1.32, the real client, against the test API server: what a cluster admin
//! types at the lab (`get`, `describe`, `create`/`apply` with and without
//! `--dry-run=server`, `delete`) works, so kubectl can be the oracle for what regauth
//! wrote in the other tests.

mod support;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::apiserver::{ApiServer, RESOURCES};

struct Kubectl {
    kubeconfig: PathBuf,
    cache: PathBuf,
}

impl Kubectl {
    fn new(srv: &ApiServer, dir: &Path) -> Kubectl {
        Kubectl {
            kubeconfig: srv.kubeconfig(dir, &srv.token),
            cache: dir.join("cache"),
        }
    }

    /// Runs kubectl; (exit code, stdout, stderr).
    fn run(&self, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
        use std::io::Write;
        let mut child = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args)
            .env_remove("KUBECONFIG")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("kubectl runs (/usr/bin/kubectl)");
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
        drop(input);
        let o = child.wait_with_output().unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    /// Runs kubectl and insists it succeeds without a warning; returns stdout.
    fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let (code, out, err) = self.run(args, stdin);
        assert_eq!(code, 0, "kubectl {args:?}\n{out}\n{err}");
        assert!(err.trim().is_empty(), "kubectl {args:?} warned:\n{err}");
        out
    }
}

const SECRET: &str = "apiVersion: v1
kind: Secret
metadata:
  name: demo
  namespace: openshift
type: Opaque
stringData:
  user: alice
";

#[test]
fn kubectl_gets_describes_creates_applies_and_deletes() {
    let srv = ApiServer::start();
    srv.set_node_ready("master.example.com", true);
    srv.set_node_ready("node1.example.com", false);
    let dir = tempfile::tempdir().unwrap();
    let k = Kubectl::new(&srv, dir.path());

    // (A kubectl newer than 1.33 warns about the version skew here, and only here.)
    let (code, out, err) = k.run(&["version", "-o", "json"], None);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["serverVersion"]["minor"], "32", "{v}");

    // Discovery lists every kind of the server's table.
    let names = k.ok(&["api-resources", "-o", "name"], None);
    for r in RESOURCES {
        let want = if r.group.is_empty() {
            r.plural.to_string()
        } else {
            format!("{}.{}", r.plural, r.group)
        };
        assert!(names.lines().any(|l| l == want), "{want} missing:\n{names}");
    }

    let nodes = k.ok(&["get", "nodes"], None);
    assert!(nodes.starts_with("NAME"), "{nodes}");
    let line = |text: &str, name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
            .split_whitespace()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(line(&nodes, "master.example.com")[1], "Ready");
    assert_eq!(line(&nodes, "node1.example.com")[1], "NotReady");
    let described = k.ok(&["describe", "node", "node1.example.com"], None);
    assert!(described.contains("node1.example.com"), "{described}");

    // create, with and without --dry-run=server.
    k.ok(&["create", "--dry-run=server", "-f", "-"], Some(SECRET));
    assert!(srv.state().get("secrets", "openshift", "demo").is_none());
    // --save-config: what `apply` later compares with, as kubectl asks.
    let out = k.ok(&["create", "--save-config", "-f", "-"], Some(SECRET));
    assert_eq!(out.trim(), "secret/demo created");
    let stored = srv
        .state()
        .get("secrets", "openshift", "demo")
        .cloned()
        .unwrap();
    assert_eq!(stored["data"]["user"], "YWxpY2U=", "{stored}");

    let secrets = k.ok(&["get", "secrets", "-n", "openshift"], None);
    assert_eq!(line(&secrets, "demo")[1..3], ["Opaque", "1"], "{secrets}");
    let described = k.ok(&["describe", "secret", "demo", "-n", "openshift"], None);
    assert!(described.contains("user:  5 bytes"), "{described}");
    let got: Value = serde_json::from_str(&k.ok(
        &["get", "secret", "demo", "-n", "openshift", "-o", "json"],
        None,
    ))
    .unwrap();
    assert_eq!(got["data"], json!({"user": "YWxpY2U="}));

    // apply over it (a strategic merge patch), with and without --dry-run=server.
    let changed = SECRET.replace("user: alice", "user: bob");
    k.ok(&["apply", "--dry-run=server", "-f", "-"], Some(&changed));
    let data =
        |srv: &ApiServer| srv.state().get("secrets", "openshift", "demo").unwrap()["data"].clone();
    assert_eq!(data(&srv), json!({"user": "YWxpY2U="}));
    k.ok(&["apply", "-f", "-"], Some(&changed));
    assert_eq!(data(&srv), json!({"user": "Ym9i"}));
    // Server-side apply too.
    let ssa = SECRET.replace("user: alice", "user: carol");
    k.ok(&["apply", "--server-side", "-f", "-"], Some(&ssa));
    assert_eq!(data(&srv), json!({"user": "Y2Fyb2w="}));

    // The server checks fields, so kubectl's default strict validation works.
    let bad = format!("{SECRET}bogus: 1\n");
    let (code, _, err) = k.run(&["create", "-f", "-"], Some(&bad.replace("demo", "demo2")));
    assert_ne!(code, 0);
    assert!(err.contains("unknown field \"bogus\""), "{err}");

    // Other kinds, from manifests (kubectl's generators, `kubectl create namespace X`,
    // send protobuf, which the server does not decode).
    let others = "apiVersion: v1
kind: Namespace
metadata:
  name: team-a
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: robot
  namespace: openshift
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: robot-pull
  namespace: openshift
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:image-puller
subjects:
- kind: ServiceAccount
  name: robot
  namespace: openshift
";
    let out = k.ok(&["apply", "-f", "-"], Some(others));
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "namespace/team-a created",
            "serviceaccount/robot created",
            "rolebinding.rbac.authorization.k8s.io/robot-pull created"
        ]
    );
    let rb = k.ok(&["get", "rolebindings", "-n", "openshift"], None);
    assert_eq!(
        line(&rb, "robot-pull")[1],
        "ClusterRole/system:image-puller",
        "{rb}"
    );
    k.ok(&["describe", "sa", "robot", "-n", "openshift"], None);
    let ns = k.ok(&["get", "ns"], None);
    assert_eq!(line(&ns, "team-a")[1], "Active", "{ns}");
    let all = k.ok(&["get", "secrets", "-A"], None);
    assert!(
        line(&all, "openshift").contains(&"demo".to_string()),
        "{all}"
    );

    // delete, with and without --dry-run=server.
    k.ok(
        &[
            "delete",
            "secret",
            "demo",
            "-n",
            "openshift",
            "--dry-run=server",
        ],
        None,
    );
    assert!(srv.state().get("secrets", "openshift", "demo").is_some());
    let out = k.ok(&["delete", "secret", "demo", "-n", "openshift"], None);
    // 1.32: `secret "demo" deleted`; later ones add `from openshift namespace`.
    assert!(out.starts_with("secret \"demo\" deleted"), "{out}");
    assert!(srv.state().get("secrets", "openshift", "demo").is_none());
    let (code, _, err) = k.run(&["get", "secret", "demo", "-n", "openshift"], None);
    assert_eq!(code, 1);
    assert!(err.contains("secrets \"demo\" not found"), "{err}");
}
