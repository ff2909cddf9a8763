//! The local lab (`examples/lab.rs`, behind `lab/run.sh`) works: its install run
//! succeeds against the real registry, sshd nodes and API server, and every command it
//! tells a newcomer to try next does what it says.
//!
//! The example is included as a module and driven in-process rather than run as a
//! binary: `cargo test` builds examples but gives tests no path to them (only to
//! `[[bin]]`s, through `CARGO_BIN_EXE_*`), and running `cargo` from a test would wait
//! on the build lock the outer `cargo test` holds. Only `main` (options, Ctrl-C) is
//! left out, and `cargo test --all-targets` still compiles it.

#[path = "../examples/lab.rs"]
mod lab;

use std::process::Command;

#[test]
fn lab_demo_succeeds_and_its_next_steps_work() {
    let dir = tempfile::tempdir().unwrap();
    let opts = lab::Options {
        once: true,
        state_dir: dir.path().join("state"),
        inventory: dir.path().join("lab.ini"),
        regauth: env!("CARGO_BIN_EXE_regauth").into(),
    };
    let (lab, ok) = lab::run_demo(&opts).unwrap();
    assert!(ok, "the demo reported problems (see its output above)");

    // What run_demo checked, checked here again so a lax check cannot hide a failure.
    for i in 0..lab::HOSTS.len() {
        assert!(lab.runtime_file(i).is_file(), "{}", lab::HOSTS[i]);
        assert!(lab.node_file(i).is_file(), "{}", lab::HOSTS[i]);
        assert!(lab.restart_log(i).is_file(), "{}", lab::HOSTS[i]);
    }
    let restarts = |i: usize| {
        std::fs::read_to_string(lab.restart_log(i))
            .unwrap_or_default()
            .lines()
            .count()
    };
    // The master is also a node: one node and one master restart.
    assert_eq!((restarts(0), restarts(1), restarts(2)), (2, 1, 1));
    let inventory = std::fs::read_to_string(&opts.inventory).unwrap();
    assert!(inventory.contains(&format!("oreg_url={}/", lab.reg.host)));

    // kubectl, the real client, as the oracle for what regauth wrote in the cluster:
    // the auth of the registry in openshift/imagestreamsecret's .dockerconfigjson.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let secret_auth = || -> String {
        let o = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(lab.kubeconfig())
            .args([
                "get",
                "secret",
                "imagestreamsecret",
                "-n",
                "openshift",
                "-o",
                "json",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let secret: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(secret["type"], "kubernetes.io/dockerconfigjson");
        let config = b64
            .decode(secret["data"][".dockerconfigjson"].as_str().unwrap())
            .unwrap();
        let config: serde_json::Value = serde_json::from_slice(&config).unwrap();
        config["auths"][&lab.reg.host]["auth"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let basic = |(user, pw): (&str, &str)| b64.encode(format!("{user}:{pw}"));
    assert_eq!(secret_auth(), basic(lab::ROBOT));

    // Every printed "try next" command, as a user would paste it, from the repository,
    // in the printed order.
    let steps = lab.next_steps();
    let run = |i: usize| -> String { sh(&steps[i].0, &steps[i].1) };
    let recap_of = |text: &str| {
        lab::Outcome {
            code: Some(0),
            output: text.to_string(),
        }
        .recap()
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
    };
    // validate: the robot's credential is ok.
    let out = run(0);
    assert!(out.contains("12345678|robot"), "{out}");
    // kubectl lists the secret the install run created.
    let out = run(1);
    assert!(
        out.lines()
            .any(|l| l.starts_with("imagestreamsecret")
                && l.contains("kubernetes.io/dockerconfigjson")),
        "{out}"
    );
    // The second install run changed nothing and restarted nothing.
    let out = run(2);
    for line in recap_of(&out) {
        assert_eq!(lab::counter(&line, "changed"), Some(0), "{out}");
    }
    assert_eq!((restarts(0), restarts(1), restarts(2)), (2, 1, 1));
    // validate.yml, the edit and the rotation's --check change nothing on the nodes...
    run(3);
    let before = std::fs::read_to_string(&opts.inventory).unwrap();
    run(4);
    // The edit put the second robot in the inventory; its password was on no
    // command line (run() checks every output; here the command itself).
    let after = std::fs::read_to_string(&opts.inventory).unwrap();
    assert_ne!(before, after);
    assert!(after.contains(&format!("oreg_auth_user={}\n", lab::ROTATED.0)));
    assert!(after.contains(&format!("oreg_auth_password='{}'\n", lab::ROTATED.1)));
    for (_, cmd) in &steps {
        assert!(
            !cmd.contains(lab::ROBOT.1) && !cmd.contains(lab::ROTATED.1),
            "{cmd}"
        );
    }
    let out = run(5);
    assert_eq!((restarts(0), restarts(1), restarts(2)), (2, 1, 1));
    // ...but the check run says the rotation would change every node.
    let would = recap_of(&out);
    for h in lab::HOSTS {
        let line = would.iter().find(|l| l.starts_with(h)).unwrap();
        assert!(lab::counter(line, "changed") > Some(0), "{out}");
    }
    run(6);
    // The rotation rolled out: the new robot on every node, each restarted again.
    let auth = |p: std::path::PathBuf| -> String {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        v["auths"][&lab.reg.host]["auth"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let rotated = basic(lab::ROTATED);
    for i in 0..lab::HOSTS.len() {
        assert_eq!(auth(lab.runtime_file(i)), rotated);
        assert_eq!(auth(lab.node_file(i)), rotated);
    }
    assert_eq!((restarts(0), restarts(1), restarts(2)), (4, 2, 2));
    // ...and in the cluster, as kubectl reads it.
    assert_eq!(secret_auth(), rotated);
    let out = run(7);
    assert!(out.contains(".dockerconfigjson:"), "{out}");
    // secret render prints the installer's secret.
    let out = run(8);
    assert!(out.contains("imagestreamsecret"), "{out}");
    assert_eq!(steps.len(), 9, "a new next step needs a check here");

    // The OpenShift 4 checks the lab prints: each ok, the release through the mirror.
    let mirror = format!(
        "{}/{}@{}",
        lab.reg.host,
        lab::RELEASE_MIRROR_REPO,
        lab.release_digest
    );
    let os4 = lab.openshift4_steps();
    for (what, cmd) in &os4[..2] {
        let out = sh(what, cmd);
        assert!(
            out.contains(&format!("can be pulled from {mirror}")),
            "{what}\n{out}"
        );
    }
    let out = sh(&os4[2].0, &os4[2].1);
    assert!(out.contains("[secret myapp/robot-pull]"), "{out}");
    assert_eq!(os4.len(), 3, "a new OpenShift 4 step needs a check here");

    // The README's OpenShift 4 commands, as written, with this lab's state directory
    // for lab/state/ and the built binary for `regauth`.
    let readme = std::fs::read_to_string(format!("{}/README.md", lab::REPO)).unwrap();
    let script = readme_validate_commands(&readme, "## OpenShift 4");
    assert!(
        script.contains(&lab.release_image()),
        "the README's release image is not the lab's:\n{script}"
    );
    let script = script
        .replace("lab/state/", &format!("{}/", opts.state_dir.display()))
        .replace(
            "regauth validate",
            &format!("{} validate", env!("CARGO_BIN_EXE_regauth")),
        );
    let out = sh(
        "the README's OpenShift 4 commands",
        &format!("set -e\n{script}"),
    );
    assert_eq!(
        out.matches(&format!("can be pulled from {mirror}")).count(),
        2,
        "{out}"
    );

    // The README's pull-secret rotation, as written: the second robot's login from
    // lab/state/new.json checked, written, and rolled out to every pool.
    let new_json = lab.new_pull_secret();
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&new_json).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", new_json.display());
    }
    let script = readme_block_commands(&readme, "## OpenShift 4", 1, "regauth pull-secret ")
        .replace("lab/state/", &format!("{}/", opts.state_dir.display()))
        .replace(
            "regauth pull-secret",
            &format!("{} pull-secret", env!("CARGO_BIN_EXE_regauth")),
        );
    assert!(
        script.contains("--wait") && script.contains("new.json"),
        "{script}"
    );
    let out = sh(
        "the README's pull-secret rotation",
        &format!("set -e\n{script}"),
    );
    for pool in ["master", "worker"] {
        assert!(
            out.contains(&format!("machineconfigpool/{pool} updated")),
            "{out}"
        );
    }
    // kubectl as the oracle: the global pull secret holds the second robot now...
    let kubectl_json = |args: &[&str]| -> serde_json::Value {
        let o = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(lab.kubeconfig())
            .args(args)
            .args(["-o", "json"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let secret = kubectl_json(&["get", "secret", "pull-secret", "-n", "openshift-config"]);
    let config = b64
        .decode(secret["data"][".dockerconfigjson"].as_str().unwrap())
        .unwrap();
    let config: serde_json::Value = serde_json::from_slice(&config).unwrap();
    assert_eq!(
        config["auths"][&lab.reg.host]["auth"].as_str(),
        Some(rotated.as_str())
    );
    // ...and every pool is Updated on a new rendered config, every machine with it.
    let pools = kubectl_json(&["get", "machineconfigpools"]);
    let pools = pools["items"].as_array().unwrap();
    assert_eq!(pools.len(), 2, "{pools:?}");
    for p in pools {
        let st = &p["status"];
        assert_eq!(st["updatedMachineCount"], st["machineCount"], "{p}");
        assert_eq!(
            st["configuration"]["name"], p["spec"]["configuration"]["name"],
            "{p}"
        );
        let updated = st["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Updated")
            .unwrap();
        assert_eq!(updated["status"], "True", "{p}");
    }
}

/// Runs `cmd` with `sh -c` from the repository, as a user would paste it: it must exit 0
/// and print no password of the lab's; returns stdout and stderr.
fn sh(what: &str, cmd: &str) -> String {
    let o = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(lab::REPO)
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(0), "{what}\n$ {cmd}\n{text}");
    assert!(
        !text.contains(lab::ROBOT.1) && !text.contains(lab::ROTATED.1),
        "a password in the output of {cmd}:\n{text}"
    );
    text
}

/// The variable assignments and `regauth validate` lines of a README section's first
/// `sh` block (continuation lines joined): what must work against the lab as written.
fn readme_validate_commands(readme: &str, heading: &str) -> String {
    readme_block_commands(readme, heading, 0, "regauth validate ")
}

/// The variable assignments and the lines starting with `command` of a README
/// section's `n`th `sh` block (its subsections included; continuation lines joined).
fn readme_block_commands(readme: &str, heading: &str, n: usize, command: &str) -> String {
    let section = readme
        .split(&format!("\n{heading}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("README has no {heading}"));
    let section = section.split("\n## ").next().unwrap();
    let block = section
        .split("```sh\n")
        .nth(n + 1)
        .and_then(|b| b.split("```").next())
        .unwrap_or_else(|| panic!("{heading} has no sh block"));
    let joined = block.replace("\\\n", " ");
    joined
        .lines()
        .map(str::trim)
        .filter(|l| {
            l.starts_with(command)
                || l.split_once('=').is_some_and(|(k, _)| {
                    !k.is_empty() && k.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                })
        })
        .map(|l| format!("{l}\n"))
        .collect()
}
