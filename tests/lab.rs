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

    // Every printed "try next" command, as a user would paste it, from the repository,
    // in the printed order.
    let steps = lab.next_steps();
    let run = |i: usize| -> String {
        let (what, cmd) = &steps[i];
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
    };
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
    // The second install run changed nothing and restarted nothing.
    let out = run(1);
    for line in recap_of(&out) {
        assert_eq!(lab::counter(&line, "changed"), Some(0), "{out}");
    }
    assert_eq!((restarts(0), restarts(1), restarts(2)), (2, 1, 1));
    // validate.yml, the edit and the rotation's --check change nothing on the nodes...
    run(2);
    run(3);
    let out = run(4);
    assert_eq!((restarts(0), restarts(1), restarts(2)), (2, 1, 1));
    // ...but the check run says the rotation would change every node.
    let would = recap_of(&out);
    for h in lab::HOSTS {
        let line = would.iter().find(|l| l.starts_with(h)).unwrap();
        assert!(lab::counter(line, "changed") > Some(0), "{out}");
    }
    run(5);
    // The rotation rolled out: the new robot on every node, each restarted again.
    let auth = |p: std::path::PathBuf| -> String {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        v["auths"][&lab.reg.host]["auth"]
            .as_str()
            .unwrap()
            .to_string()
    };
    use base64::Engine;
    let rotated = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        lab::ROTATED.0,
        lab::ROTATED.1
    ));
    for i in 0..lab::HOSTS.len() {
        assert_eq!(auth(lab.runtime_file(i)), rotated);
        assert_eq!(auth(lab.node_file(i)), rotated);
    }
    assert_eq!((restarts(0), restarts(1), restarts(2)), (4, 2, 2));
    // secret render prints the installer's secret.
    let out = run(6);
    assert!(out.contains("imagestreamsecret"), "{out}");
    assert_eq!(steps.len(), 7, "a new next step needs a check here");
}
