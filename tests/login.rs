//! `regauth login`: through the binary, against a real registry checked by Debian's
//! skopeo, and with secrets kept off stdout, stderr and argv.

mod support;

use assert_cmd::Command;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use predicates::prelude::*;
use serde_json::Value;
use std::path::Path;
use support::registry::{PASSWORD, TestRegistry, USER};

/// A password that must never show up in any output.
const KNOWN: &str = "Kn0wn:pa$$w0rd-never-printed";

fn regauth() -> Command {
    let mut c = Command::cargo_bin("regauth").unwrap();
    // Keep the developer's own files out of reach.
    c.env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .env("HOME", "/nonexistent");
    c
}

fn login(registry: &str, to: &Path, user: &str, password: &str) -> assert_cmd::assert::Assert {
    regauth()
        .args([
            "login",
            "--skip-check",
            "--registry",
            registry,
            "--username",
            user,
            "--password-stdin",
            "--to",
        ])
        .arg(to)
        .write_stdin(format!("{password}\n"))
        .assert()
}

fn json_file(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn skopeo_accepts_what_login_wrote() {
    let reg = TestRegistry::start();
    let dir = reg.scratch();

    // A new file, host key.
    let good = dir.join("good/auth.json");
    login(&reg.host(), &good, USER, PASSWORD)
        .success()
        .stdout("Login Succeeded!\n");
    let (ok, err) = reg.skopeo_inspect(&good);
    assert!(ok, "skopeo rejected the file regauth wrote: {err}");

    // Merged into an existing podman file, repository-scoped key (containers/image
    // matches the most specific path).
    let merged = dir.join("merged.json");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/authfile/podman-auth.json"),
        &merged,
    )
    .unwrap();
    login(&format!("{}/test", reg.host()), &merged, USER, PASSWORD).success();
    let (ok, err) = reg.skopeo_inspect(&merged);
    assert!(ok, "skopeo rejected the merged file: {err}");
    assert!(
        json_file(&merged)["auths"]["registry.redhat.io"].is_object(),
        "others kept"
    );

    // A wrong password in the file must fail.
    let bad = dir.join("bad.json");
    login(&reg.host(), &bad, USER, "wrong:password").success();
    let (ok, err) = reg.skopeo_inspect(&bad);
    assert!(!ok, "skopeo accepted a wrong password");
    assert!(
        err.contains("unauthorized") || err.contains("authentication"),
        "{err}"
    );

    // Replacing the wrong password with the right one fixes it and keeps a backup.
    login(&reg.host(), &bad, USER, PASSWORD).success();
    assert!(reg.skopeo_inspect(&bad).0);
    assert!(dir.join("bad.json.regauth-backup").exists());
}

#[test]
fn writes_the_podman_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("auth.json");
    login("https://reg.example:5000/v2/", &f, "alice", KNOWN).success();
    let v = json_file(&f);
    let auth = v["auths"]["reg.example:5000"]["auth"].as_str().unwrap();
    assert_eq!(
        STANDARD.decode(auth).unwrap(),
        format!("alice:{KNOWN}").as_bytes()
    );
    assert_eq!(v["auths"].as_object().unwrap().len(), 1);
}

#[test]
fn auth_basic_file_splits_at_first_colon() {
    let tmp = tempfile::tempdir().unwrap();
    let basic = tmp.path().join("basic");
    std::fs::write(&basic, format!("bob:{KNOWN}\n")).unwrap();
    let f = tmp.path().join("auth.json");
    regauth()
        .args([
            "login",
            "--skip-check",
            "--registry",
            "reg",
            "--auth-basic-file",
        ])
        .arg(&basic)
        .arg("--to")
        .arg(&f)
        .assert()
        .success();
    let auth = json_file(&f)["auths"]["reg"]["auth"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        STANDARD.decode(auth).unwrap(),
        format!("bob:{KNOWN}").as_bytes()
    );

    regauth()
        .args([
            "login",
            "--skip-check",
            "--registry",
            "reg",
            "--username",
            "carol",
            "--auth-basic-file",
        ])
        .arg(&basic)
        .arg("--to")
        .arg(&f)
        .assert()
        .code(5)
        .stderr(predicate::str::contains("differs"));
}

#[test]
fn default_file_follows_podman() {
    let tmp = tempfile::tempdir().unwrap();
    let explicit = tmp.path().join("explicit.json");
    let run = |envs: &[(&str, &Path)]| {
        let mut c = regauth();
        for (k, v) in envs {
            c.env(k, v);
        }
        c.args([
            "login",
            "--skip-check",
            "--registry",
            "reg",
            "-u",
            "u",
            "--password-stdin",
        ])
        .write_stdin("p\n")
        .assert()
        .success();
    };
    run(&[
        ("REGISTRY_AUTH_FILE", &explicit),
        ("XDG_RUNTIME_DIR", tmp.path()),
    ]);
    assert!(explicit.exists());
    run(&[("XDG_RUNTIME_DIR", tmp.path())]);
    assert!(tmp.path().join("containers/auth.json").exists());
    let home = tmp.path().join("home");
    std::fs::create_dir(&home).unwrap();
    run(&[("HOME", &home)]);
    assert!(home.join(".config/containers/auth.json").exists());
}

#[test]
fn help_names_the_default_file() {
    regauth()
        .args(["login", "--help"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("REGISTRY_AUTH_FILE")
                .and(predicate::str::contains("XDG_RUNTIME_DIR"))
                .and(predicate::str::contains("~/.config/containers/auth.json")),
        );
}

#[test]
fn without_skip_check_it_says_so_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("auth.json");
    regauth()
        .args([
            "login",
            "--registry",
            "reg",
            "-u",
            "u",
            "--password-stdin",
            "--to",
        ])
        .arg(&f)
        .write_stdin("p\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--skip-check"));
    assert!(!f.exists());
}

#[test]
fn corrupt_target_is_refused_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("config.json");
    let body = b"{\"auths\": {\"reg\": {\"auth\": \"dTpw\"},, }";
    std::fs::write(&f, body).unwrap();
    login("reg", &f, "u", KNOWN)
        .code(2)
        .stderr(predicate::str::contains(f.display().to_string()));
    assert_eq!(std::fs::read(&f).unwrap(), body);
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
}

#[test]
fn bad_options_exit_5() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("a.json");
    for args in [
        &[
            "login",
            "--registry",
            "reg",
            "--password-stdin",
            "--skip-check",
        ][..], // no user
        &["login", "--registry", "reg", "-u", "u", "--skip-check"], // no password source
        &[
            "login",
            "--registry",
            "reg:5000/repo:tag",
            "-u",
            "u",
            "--password-stdin",
            "--skip-check",
        ],
        &[
            "login",
            "--registry",
            "reg",
            "-u",
            "a:b",
            "--password-stdin",
            "--skip-check",
        ],
    ] {
        regauth()
            .args(args)
            .arg("--to")
            .arg(&f)
            .write_stdin("p\n")
            .assert()
            .code(5);
    }
    assert!(!f.exists());
}

/// The password is accepted on no flag at all, and a rejected attempt does not echo it.
#[test]
fn no_password_on_argv() {
    for flag in ["--password", "-p", "--docker-password"] {
        let out = regauth()
            .args([
                "login",
                "--registry",
                "reg",
                "-u",
                "u",
                "--skip-check",
                flag,
                KNOWN,
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(5), "{flag}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains(KNOWN));
        assert!(!String::from_utf8_lossy(&out.stderr).contains(KNOWN));
    }
}

/// Neither the password nor its base64 `auth` ever reaches stdout or stderr, whatever
/// the verbosity, output format or outcome.
#[test]
fn secrets_never_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("auth.json");
    let corrupt = tmp.path().join("corrupt.json");
    std::fs::write(
        &corrupt,
        format!("{{\"auths\": {{\"reg\": {{\"auth\": \"{KNOWN}\""),
    )
    .unwrap();
    let b64 = STANDARD.encode(format!("u:{KNOWN}"));
    let mut runs = Vec::new();
    for extra in [&[][..], &["-vvv"], &["-o", "json"], &["-vvv", "-o", "json"]] {
        for skip in [true, false] {
            for to in [&f, &corrupt] {
                let mut c = regauth();
                c.args(extra)
                    .args([
                        "login",
                        "--registry",
                        "reg",
                        "-u",
                        "u",
                        "--password-stdin",
                        "--to",
                    ])
                    .arg(to);
                if skip {
                    c.arg("--skip-check");
                }
                runs.push(c.write_stdin(format!("{KNOWN}\n")).output().unwrap());
            }
        }
    }
    assert!(runs.iter().any(|o| o.status.success()));
    assert!(runs.iter().any(|o| !o.status.success()));
    for out in runs {
        for stream in [&out.stdout, &out.stderr] {
            let text = String::from_utf8_lossy(stream);
            assert!(
                !text.contains(KNOWN) && !text.contains(&b64),
                "secret leaked: {text}"
            );
            assert!(
                !text.contains("pa$$w0rd"),
                "part of the secret leaked: {text}"
            );
        }
    }
}
