//! The installer's `docker_image_availability` preflight, done by regauth: the image set
//! worked out from a real inventory, checked against real docker-registry processes
//! (a seeded release with one image missing and one only as an OCI index, a second
//! registry with its own token-auth credential, an open one), skopeo as the oracle;
//! and the playbook step stopping install and upgrade runs before anything is touched.

mod support;

use regauth::inventory::{LoadOptions, load};
use regauth::model::images::{ImageOptions, ImagePlan, required_images};
use regauth::registry::images::{ImageResult, check_images};
use regauth::registry::{CheckOptions, Reason, Status, ValidateOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::world::{PASSWORD, USER, World, text};
use support::{Lab, RELEASE_COMPONENTS, image};

const ALICE: &str = "alice";
const ALICE_PW: &str = "a1ice pa$$:word";
const BOB: &str = "bob";
const BOB_PW: &str = "b0b-token";

/// A lab release: registry A (htpasswd) holds the 3.11 images at v3.11 except
/// ose-deployer, ose-pod only as an OCI index, and etcd; registry B (token auth, bob)
/// holds the registry console; registry C (open) holds a node image for Atomic hosts.
struct Release {
    lab: Lab,
    a: support::Registry,
    b: support::Registry,
    c: support::Registry,
    _tokens: support::token::TokenServer,
    dir: tempfile::TempDir,
}

fn release() -> Release {
    let lab = Lab::new();
    let mut a = lab.registry().user(ALICE, ALICE_PW);
    for c in RELEASE_COMPONENTS {
        a = match c {
            "deployer" => a,
            "pod" => a.index("openshift3/ose-pod", "v3.11"),
            _ => a.image(&format!("openshift3/ose-{c}"), "v3.11"),
        };
    }
    let a = a.image("rhel7/etcd", "3.2.32").start();
    let tokens = lab.token_service(&[(BOB, BOB_PW, &["*"])], false);
    let b = lab
        .registry()
        .token(&tokens)
        .image("console/registry-console", "v3.11")
        .start();
    let c = lab.registry().image("atomic/node", "v3.11").start();
    Release {
        lab,
        a,
        b,
        c,
        _tokens: tokens,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Release {
    fn inventory(&self, alice_pw: &str, bob_pw: &str) -> PathBuf {
        let text = format!(
            "[OSEv3:children]\nmasters\nnodes\netcd\n\n[masters]\nm1\n[etcd]\nm1\n[nodes]\nm1\nn1\nn2 openshift_is_atomic=true\n\n[OSEv3:vars]\n\
openshift_deployment_type=openshift-enterprise\n\
oreg_url={a}/openshift3/ose-${{component}}:${{version}}\n\
oreg_auth_user={ALICE}\noreg_auth_password='{alice_pw}'\n\
openshift_additional_registry_credentials=[{{'host':'{b}','user':'{BOB}','password':'{bob_pw}','test_image':'console/registry-console:v3.11'}}]\n\
openshift_cockpit_deployer_image={b}/console/registry-console:v3.11\n\
osn_image={c}/atomic/node:v3.11\n",
            a = self.a.host,
            b = self.b.host,
            c = self.c.host,
        );
        let p = self.dir.path().join("hosts.ini");
        std::fs::write(&p, text).unwrap();
        p
    }

    fn check(&self, inv: &Path, extra: &[(&str, &str)]) -> Vec<ImageResult> {
        let inv = load(&LoadOptions {
            sources: vec![inv.to_path_buf()],
            ..Default::default()
        })
        .unwrap();
        let model = regauth::model::from_inventory(&inv).unwrap();
        let opts = ImageOptions {
            extra_vars: extra
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        };
        let ImagePlan::Images(list) = required_images(&inv, &model, &opts).unwrap() else {
            panic!("disabled");
        };
        let vopts = ValidateOptions {
            check: CheckOptions {
                trust: self.lab.trust(),
                timeout: Duration::from_secs(20),
                retries: 0,
                retry_delay: Duration::ZERO,
                ..CheckOptions::default()
            },
            forks: 8,
        };
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(check_images(&list, &vopts))
    }

    /// skopeo inspect --raw with the nodes' auth file: the oracle for present/absent.
    fn skopeo_can_pull(&self, image: &str) -> bool {
        let auth = self.dir.path().join("auth.json");
        let b64 = |s: String| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(s)
        };
        std::fs::write(
            &auth,
            serde_json::json!({"auths": {
                &self.a.host: {"auth": b64(format!("{ALICE}:{ALICE_PW}"))},
                &self.b.host: {"auth": b64(format!("{BOB}:{BOB_PW}"))},
            }})
            .to_string(),
        )
        .unwrap();
        let host = image.split('/').next().unwrap();
        let out = Command::new("skopeo")
            .args(["inspect", "--raw", "--authfile"])
            .arg(&auth)
            .arg("--cert-dir")
            .arg(self.lab.certs_dir().join(host))
            .arg(format!("docker://{image}"))
            .env("HOME", self.dir.path())
            .env("XDG_RUNTIME_DIR", self.dir.path())
            .env_remove("REGISTRY_AUTH_FILE")
            .output()
            .unwrap();
        out.status.success()
    }
}

fn find<'a>(r: &'a [ImageResult], needle: &str) -> &'a ImageResult {
    r.iter()
        .find(|i| i.image.contains(needle))
        .unwrap_or_else(|| panic!("no {needle} in {r:#?}"))
}

/// The fields every image result carries in `-o json`.
const IMAGE_FIELDS: [&str; 6] = [
    "image",
    "registry",
    "status",
    "reason",
    "message",
    "needed_by",
];

#[test]
fn release_checked_once_per_image_with_the_nodes_credentials() {
    let rel = release();
    let inv = rel.inventory(ALICE_PW, BOB_PW);
    let r = rel.check(&inv, &[]);
    let images: Vec<&str> = r.iter().map(|i| i.image.as_str()).collect();
    // 4 node components, the console, control plane, etcd, the Atomic node image: once each.
    assert_eq!(r.len(), 8, "{images:#?}");
    let mut unique = images.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 8);

    let missing = find(&r, "ose-deployer");
    assert_eq!(missing.reason, Reason::ImageNotFound, "{}", missing.message);
    assert!(
        missing.message.contains("openshift3/ose-deployer:v3.11"),
        "{}",
        missing.message
    );
    assert_eq!(missing.needed_by, ["nodes"]);
    assert_eq!(missing.hosts, 3);
    let pod = find(&r, "ose-pod");
    assert_eq!(
        pod.status,
        Status::Ok,
        "an OCI index is present: {}",
        pod.message
    );
    let cp = find(&r, "ose-control-plane");
    assert_eq!((cp.status, cp.hosts), (Status::Ok, 1));
    assert_eq!(cp.needed_by, ["masters"]);
    let etcd = find(&r, "rhel7/etcd:3.2.32");
    assert_eq!(etcd.status, Status::Ok, "{}", etcd.message);
    assert!(
        etcd.image.starts_with(&rel.a.host),
        "etcd follows oreg_url's host"
    );
    assert_eq!(etcd.needed_by, ["etcd"]);
    let console = find(&r, "registry-console");
    assert_eq!(console.status, Status::Ok, "{}", console.message);
    assert_eq!(console.user.as_deref(), Some(BOB), "B's own credential");
    let node = find(&r, "atomic/node");
    assert_eq!(node.status, Status::Ok, "{}", node.message);
    assert_eq!(
        (node.user.as_deref(), node.hosts),
        (None, 1),
        "anonymous, n2 only"
    );
    for i in &r {
        assert_eq!(
            i.status == Status::Ok,
            rel.skopeo_can_pull(&i.image),
            "skopeo disagrees on {}: {}",
            i.image,
            i.message
        );
    }
    let json = serde_json::to_value(missing).unwrap();
    for k in IMAGE_FIELDS {
        assert!(json.get(k).is_some(), "{k} missing from {json}");
    }
    assert_eq!(json["reason"], "image_not_found");
}

#[test]
fn absent_target_tag_and_refused_credentials() {
    let rel = release();
    let inv = rel.inventory(ALICE_PW, BOB_PW);
    let r = rel.check(&inv, &[("openshift_image_tag", "v3.11.200")]);
    for c in RELEASE_COMPONENTS {
        let i = find(&r, &format!("ose-{c}:v3.11.200"));
        assert_eq!(i.reason, Reason::ImageNotFound, "{}", i.message);
        assert!(
            i.message.contains(&format!("ose-{c}:v3.11.200")),
            "{}",
            i.message
        );
    }
    // The tag does not move etcd (its own version) or images named outright.
    assert_eq!(find(&r, "rhel7/etcd").status, Status::Ok);
    assert_eq!(find(&r, "registry-console").status, Status::Ok);

    let inv = rel.inventory("not the password", "not the token");
    let r = rel.check(&inv, &[]);
    for i in &r {
        let expect = if i.image.contains("atomic/node") {
            Reason::Ok
        } else {
            Reason::AuthFailed
        };
        assert_eq!(i.reason, expect, "{}: {}", i.image, i.message);
        assert!(!i.message.contains("not the"), "{}", i.message);
    }
    assert!(find(&r, "registry-console").message.contains(BOB));
}

#[test]
fn anonymous_pull_refused_names_the_missing_credential() {
    let rel = release();
    let inv = rel.inventory(ALICE_PW, BOB_PW);
    // Registries the inventory has no credential for: nodes would pull anonymously.
    let basic = rel
        .lab
        .registry()
        .user("carol", "pw")
        .image("x/node", "v1")
        .start();
    let token = rel
        .lab
        .registry()
        .token(&rel._tokens)
        .image("x/etcd", "v1")
        .start();
    let node = format!("{}/x/node:v1", basic.host);
    let etcd = format!("{}/x/etcd:v1", token.host);
    let r = rel.check(&inv, &[("osn_image", &node), ("osm_etcd_image", &etcd)]);
    for image in [&node, &etcd] {
        let i = find(&r, image);
        assert_eq!(i.reason, Reason::AuthFailed, "{}", i.message);
        assert!(i.user.is_none());
        assert!(
            i.message.contains("refuses anonymous pulls")
                && i.message
                    .contains("openshift_additional_registry_credentials"),
            "{}",
            i.message
        );
    }
}

fn remove_repo(w: &World, repo: &str) {
    std::fs::remove_dir_all(
        w.reg
            .storage()
            .join("docker/registry/v2/repositories")
            .join(repo),
    )
    .unwrap();
}

fn untouched(w: &World, n: usize) {
    for i in 0..n {
        assert!(
            w.file(i, "docker/config.json").is_none(),
            "node {i} touched"
        );
        assert!(
            w.file(i, "origin/.docker/config.json").is_none(),
            "node {i} touched"
        );
        assert_eq!(w.restarts(i), 0);
    }
    assert!(
        w.api.state().writes().is_empty(),
        "the API server was written to"
    );
}

#[test]
fn missing_image_stops_install_validate_yml_reports_disable_check_skips() {
    let w = World::new(2);
    let inv = w.inventory(USER, PASSWORD);
    remove_repo(&w, "openshift3/ose-deployer");
    let o = w.run("install.yml", &inv, &[]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("image_not_found"), "{out}");
    assert!(out.contains("openshift3/ose-deployer:v3.11"), "{out}");
    assert!(
        out.contains("stopping before any host or secret is touched"),
        "{out}"
    );
    assert!(!out.contains("TASK [Registry credentials"), "{out}");
    untouched(&w, 2);

    // The dry run reports the missing image and goes on computing the rest.
    let o = w.run("validate.yml", &inv, &["-o", "json"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let steps = doc["steps"].as_array().unwrap();
    let img = steps
        .iter()
        .find(|s| s["action"] == "image_availability")
        .unwrap();
    let failed: Vec<&str> = img["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "failed")
        .map(|r| r["host"].as_str().unwrap())
        .collect();
    assert_eq!(
        failed,
        [format!("{}/openshift3/ose-deployer:v3.11", w.reg.host)]
    );
    assert!(
        steps.iter().any(|s| s["action"] == "restart_masters"),
        "{doc}"
    );
    untouched(&w, 2);

    // The installer's switch turns the check off.
    let o = w.run(
        "install.yml",
        &inv,
        &[
            "-e",
            "openshift_disable_check=memory_availability,docker_image_availability",
        ],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("disabled by openshift_disable_check"), "{out}");
    assert_eq!(w.restarts(1), 1);
}

#[test]
fn upgrade_checks_the_target_tag_before_touching_anything() {
    let w = World::new(2);
    let inv = w.inventory(USER, PASSWORD);
    let precheck = [
        "--tags",
        "images",
        "--check",
        "-e",
        "openshift_image_tag=v3.11.200",
        "-o",
        "json",
    ];
    let o = w.run("upgrade.yml", &inv, &precheck);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let steps = doc["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "only the image step: {doc}");
    let failed = steps[0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "failed")
        .count();
    // 5 components + the registry console at the target tag; etcd keeps its version.
    assert_eq!(failed, 6, "{doc}");
    let o = w.run(
        "upgrade.yml",
        &inv,
        &["-e", "openshift_image_tag=v3.11.200"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    untouched(&w, 2);

    // Mirror the target release: the pre-check passes, then the upgrade run.
    for c in RELEASE_COMPONENTS {
        image::write_image(
            &w.reg.storage(),
            &format!("openshift3/ose-{c}"),
            "v3.11.200",
            image::OCI_MANIFEST,
        );
    }
    image::write_image(
        &w.reg.storage(),
        "openshift3/registry-console",
        "v3.11.200",
        image::DOCKER_MANIFEST,
    );
    let o = w.run("upgrade.yml", &inv, &precheck);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    untouched(&w, 2);
    let o = w.run(
        "upgrade.yml",
        &inv,
        &["-e", "openshift_image_tag=v3.11.200"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(w.restarts(1), 1);
    // An install run of the same inventory checks the installed tag, v3.11.
    let o = w.run("install.yml", &inv, &["--tags", "images"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn validate_images_from_the_command_line() {
    let rel = release();
    let inv = rel.inventory(ALICE_PW, BOB_PW);
    let validate = |extra: &[&str]| {
        Command::new(assert_cmd::cargo::cargo_bin("regauth"))
            .arg("validate")
            .arg("-i")
            .arg(&inv)
            .arg("--certs-dir")
            .arg(rel.lab.certs_dir())
            .args(["--retries", "0"])
            .args(extra)
            .output()
            .unwrap()
    };
    let o = validate(&["--images", "-o", "json"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        doc["summary"]["failed"], 0,
        "the credentials are fine: {doc}"
    );
    let images = doc["images"].as_array().unwrap();
    assert_eq!(images.len(), 8, "{doc}");
    let failed: Vec<&serde_json::Value> =
        images.iter().filter(|i| i["status"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{doc}");
    assert_eq!(failed[0]["reason"], "image_not_found");
    assert_eq!(failed[0]["needed_by"], serde_json::json!(["nodes"]));
    assert!(
        failed[0]["image"]
            .as_str()
            .unwrap()
            .ends_with("/openshift3/ose-deployer:v3.11")
    );
    for i in images {
        for k in IMAGE_FIELDS {
            assert!(i.get(k).is_some(), "{k} missing: {i}");
        }
    }
    assert!(!String::from_utf8_lossy(&o.stdout).contains(ALICE_PW));

    // Text: one line per image, then the summary lines; the upgrade's target tag via -e.
    let o = validate(&["--images", "-e", "openshift_image_tag=v3.11.200"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(
        out.lines().filter(|l| l.contains(" image ")).count(),
        8,
        "{out}"
    );
    assert_eq!(
        out.lines()
            .filter(|l| l.contains(" image ")
                && l.contains("image_not_found")
                && l.contains(":v3.11.200"))
            .count(),
        5,
        "{out}"
    );
    // -e is above every inventory variable, as in ansible-playbook: the oreg
    // credential's test image takes the target tag too.
    assert!(
        out.lines()
            .any(|l| l.contains("[oreg_auth_user]") && l.contains("ose-pod:v3.11.200")),
        "{out}"
    );
    assert!(out.contains("images: ok=3 failed=5"), "{out}");
    // Without --images: the credentials alone, which are fine.
    assert_eq!(validate(&[]).status.code(), Some(0));
    let o = validate(&[
        "--images",
        "-e",
        "openshift_disable_check=docker_image_availability",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("disabled by openshift_disable_check"),
        "{}",
        text(&o)
    );
}
