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
use support::{Lab, closed_port};

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

/// A certs.d tree (`DIR/HOST/ca.crt`) trusting the test registry, for `--certs-dir`.
fn certs_d(reg: &TestRegistry) -> std::path::PathBuf {
    let d = reg.scratch().join("certs.d");
    std::fs::create_dir_all(d.join(reg.host())).unwrap();
    std::fs::copy(
        reg.cert_dir().join("ca.crt"),
        d.join(reg.host()).join("ca.crt"),
    )
    .unwrap();
    d
}

/// `regauth [pre..] login --registry R -u U --password-stdin --to F --retries 0 [post..]`, checked.
fn checked_login(
    pre: &[&str],
    registry: &str,
    to: &Path,
    user: &str,
    password: &str,
    post: &[&str],
) -> std::process::Output {
    regauth()
        .args(pre)
        .args([
            "login",
            "--retries",
            "0",
            "--registry",
            registry,
            "-u",
            user,
        ])
        .args(["--password-stdin", "--to"])
        .arg(to)
        .args(post)
        .write_stdin(format!("{password}\n"))
        .output()
        .unwrap()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn checked_login_basic() {
    let reg = TestRegistry::start();
    let certs = certs_d(&reg);
    let certs = certs.to_str().unwrap();
    let f = reg.scratch().join("auth.json");

    // Right password: checked, written, and the file works for skopeo.
    let o = checked_login(
        &["--certs-dir", certs],
        &reg.host(),
        &f,
        USER,
        PASSWORD,
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "Login Succeeded!\n");
    assert!(stderr(&o).contains(&format!("{USER} logged in to {}", reg.host())));
    assert!(reg.skopeo_inspect(&f).0);

    // A repository path is checked against its host.
    let scoped = reg.scratch().join("scoped.json");
    let o = checked_login(
        &["--certs-dir", certs],
        &format!("{}/test", reg.host()),
        &scoped,
        USER,
        PASSWORD,
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(json_file(&scoped)["auths"][format!("{}/test", reg.host())].is_object());

    // Wrong password: exit 2, the file byte-identical, no backup, the reason said.
    let before = std::fs::read(&f).unwrap();
    let o = checked_login(
        &["--certs-dir", certs],
        &reg.host(),
        &f,
        USER,
        "wrong:pw",
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "wrong user name or password for {USER} at {}",
            reg.host()
        )) && err.contains("auth_failed"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
    assert_eq!(std::fs::read(&f).unwrap(), before);
    assert!(!reg.scratch().join("auth.json.regauth-backup").exists());
}

#[test]
fn checked_login_tls() {
    let reg = TestRegistry::start();
    let f = reg.scratch().join("auth.json");
    // Not in certs.d (an empty --certs-dir): tls_error, nothing written.
    let empty = reg.scratch().join("empty-certs.d");
    std::fs::create_dir(&empty).unwrap();
    let o = checked_login(
        &["--certs-dir", empty.to_str().unwrap()],
        &reg.host(),
        &f,
        USER,
        PASSWORD,
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("tls_error") && err.contains("not trusted") && err.contains("--certs-dir"),
        "{err}"
    );
    assert!(!f.exists());
    // --tls-verify=false skips verification for this check only.
    let o = checked_login(
        &["--certs-dir", empty.to_str().unwrap()],
        &reg.host(),
        &f,
        USER,
        PASSWORD,
        &["--tls-verify=false"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(f.exists());
}

#[test]
fn checked_login_token_service_on_another_host() {
    let lab = Lab::new();
    let tokens = lab.token_service(&[("alice", "alice-pw", &["other/repo"])], false);
    let reg = lab.registry().token(&tokens).start();
    let certs = lab.certs_dir();
    let certs = certs.to_str().unwrap();
    let f = lab.dir.path().join("auth.json");

    // Authentication only: alice may pull nothing here but other/repo, and logs in.
    let o = checked_login(
        &["--certs-dir", certs],
        &reg.host,
        &f,
        "alice",
        "alice-pw",
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains(&format!("alice logged in to {}", reg.host)));
    assert!(json_file(&f)["auths"][&reg.host].is_object());

    let before = std::fs::read(&f).unwrap();
    let o = checked_login(&["--certs-dir", certs], &reg.host, &f, "alice", "nope", &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("wrong user name or password for alice")
            && err.contains(&format!("token service {}", tokens.server.host()))
            && err.contains("auth_failed"),
        "{err}"
    );
    assert_eq!(std::fs::read(&f).unwrap(), before);
}

#[test]
fn checked_login_nothing_listening() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("auth.json");
    let o = checked_login(&[], &closed_port(), &f, "u", "p", &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("unreachable") && err.contains("connection refused"),
        "{err}"
    );
    assert!(!f.exists());
}

/// While regauth checks (ok and refused, Basic and token, -vvv), no process's argv
/// holds the password, and neither it nor its base64 reaches stdout or stderr.
#[test]
fn checked_login_keeps_the_password_off_argv_and_output() {
    let lab = Lab::new();
    let tokens = lab.token_service(&[("bob", KNOWN, &["*"])], false);
    let token_reg = lab.registry().token(&tokens).start();
    let basic = lab.registry().user("bob", KNOWN).start();
    let certs = lab.certs_dir();
    let f = lab.dir.path().join("auth.json");
    let mut outcomes = Vec::new();
    for host in [&token_reg.host, &basic.host] {
        for password in [KNOWN.to_string(), format!("{KNOWN}x")] {
            for format in ["text", "json"] {
                let (so, se) = (lab.dir.path().join("out"), lab.dir.path().join("err"));
                let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_regauth"))
                    .env_remove("REGISTRY_AUTH_FILE")
                    .env("HOME", "/nonexistent")
                    .args(["-vvv", "-o", format, "--certs-dir"])
                    .arg(&certs)
                    .args(["login", "--retries", "0", "--registry", host, "-u", "bob"])
                    .args(["--password-stdin", "--to"])
                    .arg(&f)
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::fs::File::create(&so).unwrap())
                    .stderr(std::fs::File::create(&se).unwrap())
                    .spawn()
                    .unwrap();
                {
                    use std::io::Write;
                    let mut stdin = child.stdin.take().unwrap();
                    stdin.write_all(password.as_bytes()).unwrap();
                }
                watch_cmdlines(&mut child, KNOWN);
                outcomes.push(child.wait().unwrap().success());
                let encoded = STANDARD.encode(format!("bob:{password}"));
                for text in [
                    std::fs::read_to_string(&so).unwrap(),
                    std::fs::read_to_string(&se).unwrap(),
                ] {
                    assert!(!text.contains(KNOWN), "password leaked:\n{text}");
                    assert!(
                        !text.contains(&encoded),
                        "Basic credentials leaked:\n{text}"
                    );
                    assert!(!text.contains("eyJ"), "bearer token leaked:\n{text}");
                }
            }
        }
    }
    assert_eq!(
        outcomes,
        [true, true, false, false, true, true, false, false],
        "right password logs in, wrong one does not"
    );
}

/// Every process's argv, while `child` runs: none may hold `secret`.
fn watch_cmdlines(child: &mut std::process::Child, secret: &str) {
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
        if child.try_wait().unwrap().is_some() {
            return;
        }
    }
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
                } else {
                    // "reg" does not resolve: fail once, fast.
                    c.args(["--retries", "0"]);
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

// ---- login_check itself, against fixture servers: what is asked, and where ----

use regauth::registry::{CheckOptions, Reason, login_check};
use secrecy::SecretString;
use std::sync::{Arc, Mutex};
use support::https::Reply;
use support::{LOOPBACK, LOOPBACK2, Silent};

fn opts(lab: &Lab) -> CheckOptions {
    lab.check_options()
}

/// The token request is containers/image's CheckAuth one: account and service, no
/// scope; then `/v2/` with the token.
#[tokio::test]
async fn token_is_asked_without_scope_then_used_on_v2() {
    let lab = Lab::new();
    let asked: Arc<Mutex<Vec<String>>> = Arc::default();
    let a = asked.clone();
    let realm = lab.serve(LOOPBACK2, move |req| {
        a.lock().unwrap().push(req.target.clone());
        Reply::json(200, serde_json::json!({"token": "tok-123"}))
    });
    let realm_url = format!("https://{}/token", realm.host());
    let reg = lab.serve(LOOPBACK, move |req| match req.header("authorization") {
        Some("Bearer tok-123") => Reply::json(200, serde_json::json!({})),
        _ => Reply::json(401, serde_json::json!({})).header(
            "WWW-Authenticate",
            &format!(r#"Bearer realm="{realm_url}",service="reg.svc""#),
        ),
    });
    let pw = SecretString::from("pw".to_string());
    let v = login_check(&reg.host(), "alice", &pw, true, &opts(&lab)).await;
    assert_eq!(v.reason, Reason::Ok, "{}", v.message);
    assert_eq!(
        *asked.lock().unwrap(),
        ["/token?account=alice&service=reg.svc"]
    );
}

#[tokio::test]
async fn open_registry_needs_no_login() {
    let lab = Lab::new();
    let reg = lab.serve(LOOPBACK, |_| Reply::json(200, serde_json::json!({})));
    let pw = SecretString::from("pw".to_string());
    let v = login_check(&reg.host(), "alice", &pw, true, &opts(&lab)).await;
    assert_eq!(v.reason, Reason::Ok);
    assert!(v.message.contains("without a login"), "{}", v.message);
}

#[tokio::test]
async fn login_sends_no_password_to_a_plain_http_realm_on_another_host() {
    let lab = Lab::new();
    let trap = Silent::start_on(LOOPBACK2);
    let realm = format!("http://{}/token", trap.host);
    let reg = lab.serve(LOOPBACK, move |_| {
        Reply::json(401, serde_json::json!({})).header(
            "WWW-Authenticate",
            &format!(r#"Bearer realm="{realm}",service="s""#),
        )
    });
    let pw = SecretString::from("pw".to_string());
    let v = login_check(&reg.host(), "alice", &pw, true, &opts(&lab)).await;
    assert_eq!(v.reason, Reason::RegistryError);
    assert!(
        v.message.contains("plain HTTP on another host"),
        "{}",
        v.message
    );
    assert_eq!(trap.connections(), 0);
}

#[tokio::test]
async fn auth_host_names_the_realm_only_when_elsewhere() {
    let lab = Lab::new();
    let tokens = lab.token_service(&[("alice", "pw", &["*"])], false);
    let token_reg = lab.registry().token(&tokens).start();
    let basic = lab.registry().user("alice", "pw").start();
    let o = opts(&lab);
    assert_eq!(
        regauth::registry::auth_host(&token_reg.host, true, &o)
            .await
            .unwrap(),
        Some(tokens.server.host())
    );
    assert_eq!(
        regauth::registry::auth_host(&basic.host, true, &o)
            .await
            .unwrap(),
        None
    );
    let v = regauth::registry::auth_host(&closed_port(), true, &o)
        .await
        .unwrap_err();
    assert_eq!(v.reason, Reason::Unreachable);
}
