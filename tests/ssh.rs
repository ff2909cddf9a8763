//! SSH foundation against real OpenSSH sshd nodes on loopback (tests/support/sshd.rs).

mod support;

use regauth::exit::{Exit, HasExit};
use regauth::ssh::{
    self, ConnectOptions, FileWrite, RemoteFile, SshError, WriteOutcome, connect, for_each_host,
    read_files, run, write_files,
};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};
use support::sshd::SshLab;

fn mode(path: &str) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn temps_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains("regauth-tmp"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn reads_missing_and_existing_files_in_one_exec() {
    let lab = SshLab::new().start();
    let node = &lab.nodes[0];
    let present = node.path("data/config.json");
    std::fs::create_dir_all(Path::new(&present).parent().unwrap()).unwrap();
    std::fs::write(&present, b"{\"auths\":{}}\n\x00binary\xff").unwrap();
    std::fs::set_permissions(&present, std::fs::Permissions::from_mode(0o640)).unwrap();
    let empty = node.path("data/empty");
    std::fs::write(&empty, b"").unwrap();
    let missing = node.path("nowhere/config.json");
    let a_dir = node.path("data");

    let session = connect(&node.target(), &lab.connect_options()).unwrap();
    let files = read_files(&session, &[&missing, &present, &empty, &a_dir]).unwrap();
    assert_eq!(files[0], RemoteFile::Missing);
    assert_eq!(
        files[1],
        RemoteFile::Present {
            mode: 0o640,
            uid: 0,
            contents: b"{\"auths\":{}}\n\x00binary\xff".to_vec()
        }
    );
    assert_eq!(files[2].contents(), Some(&b""[..]));
    assert!(matches!(&files[3], RemoteFile::Unreadable(m) if m.contains("not a regular file")));
    // One exec: sshd logs one session start per exec.
    drop(session);
    let log = node.log_text();
    assert_eq!(log.matches("Starting session: command").count(), 1, "{log}");
}

#[test]
fn write_creates_private_file_and_dir_then_keeps_a_backup() {
    let lab = SshLab::new().start();
    let node = &lab.nodes[0];
    let path = node.path("runtime/nested/config.json");
    let other = node.path("data/config.json");
    let session = connect(&node.target(), &lab.connect_options()).unwrap();

    let out = write_files(
        &session,
        &[
            FileWrite {
                path: &path,
                contents: b"first",
            },
            FileWrite {
                path: &other,
                contents: b"other",
            },
        ],
    )
    .unwrap();
    assert_eq!(out, vec![WriteOutcome::Written, WriteOutcome::Written]);
    assert_eq!(std::fs::read(&path).unwrap(), b"first");
    assert_eq!(std::fs::read(&other).unwrap(), b"other");
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&node.path("runtime")), 0o700);
    assert_eq!(mode(&node.path("runtime/nested")), 0o700);
    assert_eq!(std::fs::metadata(&path).unwrap().uid(), 0);
    assert!(!Path::new(&format!("{path}.regauth-backup")).exists());

    let out = write_files(
        &session,
        &[FileWrite {
            path: &path,
            contents: b"second",
        }],
    )
    .unwrap();
    assert_eq!(out, vec![WriteOutcome::Written]);
    assert_eq!(std::fs::read(&path).unwrap(), b"second");
    let backup = format!("{path}.regauth-backup");
    assert_eq!(std::fs::read(&backup).unwrap(), b"first");
    assert_eq!(mode(&backup), 0o600);
    assert!(temps_in(Path::new(&node.path("runtime/nested"))).is_empty());
}

#[test]
fn unchanged_content_reads_equal_so_the_caller_skips_the_write() {
    let lab = SshLab::new().start();
    let node = &lab.nodes[0];
    let path = node.path("data/config.json");
    let session = connect(&node.target(), &lab.connect_options()).unwrap();
    let wanted = b"{\"auths\":{\"r.example.com\":{\"auth\":\"eA==\"}}}".to_vec();
    write_files(
        &session,
        &[FileWrite {
            path: &path,
            contents: &wanted,
        }],
    )
    .unwrap();
    let inode = std::fs::metadata(&path).unwrap().ino();

    // The caller's loop: read, compare, write only what differs.
    let current = read_files(&session, &[&path]).unwrap();
    let changed: Vec<FileWrite> = current
        .iter()
        .filter(|f| f.contents() != Some(&wanted[..]))
        .map(|_| FileWrite {
            path: &path,
            contents: &wanted,
        })
        .collect();
    assert!(changed.is_empty());
    assert!(write_files(&session, &changed).unwrap().is_empty());
    assert_eq!(std::fs::metadata(&path).unwrap().ino(), inode);
    assert!(!Path::new(&format!("{path}.regauth-backup")).exists());
}

#[test]
fn twenty_nodes_with_five_forks() {
    let lab = SshLab::new().nodes(20).start();
    let opts = lab.connect_options();
    let started = Instant::now();
    let results = for_each_host(&lab.nodes, 5, |node| {
        let session = connect(&node.target(), &opts)?;
        let path = node.path("runtime/config.json");
        let before = read_files(&session, &[&path])?;
        let body = format!("node on port {}", node.port);
        let out = write_files(
            &session,
            &[FileWrite {
                path: &path,
                contents: body.as_bytes(),
            }],
        )?;
        Ok((before, out))
    });
    eprintln!("20 nodes, forks 5: {:?}", started.elapsed());
    for (node, result) in results {
        let (before, out) = result.unwrap();
        assert_eq!(before, vec![RemoteFile::Missing]);
        assert_eq!(out, vec![WriteOutcome::Written]);
        let body = std::fs::read_to_string(node.path("runtime/config.json")).unwrap();
        assert_eq!(body, format!("node on port {}", node.port));
    }
}

#[test]
fn changed_host_key_is_refused_before_anything_is_sent() {
    let mut lab = SshLab::new().nodes(1).start();
    let path = lab.nodes[0].path("runtime/config.json");
    std::fs::create_dir_all(Path::new(&path).parent().unwrap()).unwrap();
    std::fs::write(&path, b"old").unwrap();
    lab.nodes[0].change_host_key();
    let node = &lab.nodes[0];

    let err = connect(&node.target(), &lab.connect_options()).unwrap_err();
    assert!(matches!(err, SshError::HostKeyMismatch(_)), "{err}");
    assert_eq!(err.exit(), Exit::Unreachable);
    let msg = err.to_string();
    assert!(msg.contains("CHANGED") && msg.contains("SHA256:"), "{msg}");

    // sshd saw a connection and a key exchange, but no user, key or command.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !node.log_text().contains("Connection from") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = node.log_text();
    assert!(log.contains("Connection from"), "{log}");
    for never in [
        "publickey",
        "Accepted",
        "Failed",
        "Invalid user",
        "for root",
        "Starting session",
    ] {
        assert!(!log.contains(never), "{never:?} in sshd log:\n{log}");
    }
    assert_eq!(std::fs::read(&path).unwrap(), b"old");
}

#[test]
fn unknown_host_refused_unless_accept_new_then_recorded() {
    let lab = SshLab::new().nodes(3).start();
    let known = lab.dir().join("empty_known_hosts");
    std::fs::write(&known, "# nothing yet\n").unwrap();
    let opts = ConnectOptions {
        known_hosts: known.clone(),
        ..lab.connect_options()
    };
    let err = connect(&lab.nodes[0].target(), &opts).unwrap_err();
    assert!(matches!(err, SshError::HostKeyUnknown(_)), "{err}");
    assert!(err.to_string().contains("--accept-new-host-keys"));
    assert!(!lab.nodes[0].log_text().contains("publickey"));

    let accept = ConnectOptions {
        accept_new: true,
        ..opts.clone()
    };
    // Concurrently, several sessions per node: one line per node in the end.
    let targets: Vec<_> = lab
        .nodes
        .iter()
        .flat_map(|n| [n.target(), n.target()])
        .collect();
    for (_, r) in for_each_host(&targets, 6, |t| connect(t, &accept).map(|_| ())) {
        r.unwrap();
    }
    let text = std::fs::read_to_string(&known).unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
    for node in &lab.nodes {
        assert!(text.contains(&node.known_hosts_line()), "{text}");
    }
    // Now known: strict mode connects.
    connect(&lab.nodes[1].target(), &opts).unwrap();
}

#[test]
fn closed_port_is_unreachable_quickly() {
    // A port bound but never listening, held for the whole test: a stopped node's
    // port, once free, was taken by another test's server before the check ran.
    let closed = support::closed_port();
    let lab = SshLab::new().start();
    let mut target = lab.nodes[0].target();
    target.port = closed.rsplit_once(':').unwrap().1.parse().unwrap();
    let started = Instant::now();
    let err = connect(&target, &lab.connect_options()).unwrap_err();
    assert!(matches!(err, SshError::Connect { .. }), "{err}");
    assert_eq!(err.exit(), Exit::Unreachable);
    // Refused at once, not after the 5 s connect timeout (generous: tests share the CPU).
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn wrong_key_is_an_auth_failure() {
    let lab = SshLab::new().start();
    let other_key = new_key(lab.dir(), "not_authorized", &["-t", "ed25519", "-N", ""]);
    let target = regauth::model::SshTarget {
        key_file: Some(other_key),
        ..lab.nodes[0].target()
    };
    let err = connect(&target, &lab.connect_options()).unwrap_err();
    assert!(matches!(err, SshError::Auth { .. }), "{err}");
    assert_eq!(err.exit(), Exit::Unreachable);
}

/// A new key pair `dir/name` made by `ssh-keygen ARGS`.
fn new_key(dir: &Path, name: &str, args: &[&str]) -> std::path::PathBuf {
    let key = dir.join(name);
    let out = Command::new("ssh-keygen")
        .args(["-q", "-C", name, "-f"])
        .arg(&key)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    key
}

/// `key`, authorized on every node of the lab.
fn authorize(lab: &support::sshd::Lab, key: std::path::PathBuf) -> std::path::PathBuf {
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let mut keys = std::fs::read_to_string(&lab.authorized_keys).unwrap();
    keys.push_str(&public);
    std::fs::write(&lab.authorized_keys, keys).unwrap();
    key
}

/// A new key pair (see [`new_key`]), authorized on every node of the lab.
fn authorized_key(lab: &support::sshd::Lab, name: &str, args: &[&str]) -> std::path::PathBuf {
    authorize(lab, new_key(lab.dir(), name, args))
}

/// An authorized ECDSA key whose scalar fills its field (`full`), as ssh-key 0.6
/// needs to sign with it, or one OpenSSH wrote a byte short (one key in 256), which
/// regauth leaves to libssh2: keys are drawn until one is.
fn ecdsa_key(lab: &support::sshd::Lab, name: &str, full: bool) -> std::path::PathBuf {
    for _ in 0..5000 {
        let key = new_key(lab.dir(), name, &["-t", "ecdsa", "-N", ""]);
        let text = std::fs::read_to_string(&key).unwrap();
        if ssh_key::PrivateKey::from_openssh(&text).is_ok() == full {
            return authorize(lab, key);
        }
        std::fs::remove_file(&key).unwrap();
        std::fs::remove_file(key.with_extension("pub")).unwrap();
    }
    panic!("5,000 ECDSA keys and none with full = {full}");
}

#[test]
fn keys_parsed_once_sign_every_connection_and_others_keep_libssh2() {
    let lab = SshLab::new().nodes(2).start();
    let opts = lab.connect_options();
    let with_key = |key: &Path| regauth::model::SshTarget {
        key_file: Some(key.to_path_buf()),
        ..lab.nodes[0].target()
    };
    let signatures = |key: &Path| {
        let loaded = opts.files.key(key).unwrap().unwrap();
        loaded.native_signatures()
    };
    let ecdsa = ecdsa_key(&lab, "client_ecdsa", true);
    let ecdsa_short = ecdsa_key(&lab, "client_ecdsa_short", false);
    let rsa = authorized_key(&lab, "client_rsa", &["-t", "rsa", "-b", "2048", "-N", ""]);
    let rsa_pem = authorized_key(
        &lab,
        "client_rsa_pem",
        &["-t", "rsa", "-m", "PEM", "-N", ""],
    );
    let locked = authorized_key(&lab, "client_locked", &["-t", "ed25519", "-N", "secret"]);

    // The lab's ed25519 key and an ECDSA key: one parse, a signature per connection,
    // on every node; each session runs commands.
    for key in [&lab.client_key, &ecdsa] {
        for node in &lab.nodes {
            let target = regauth::model::SshTarget {
                key_file: Some(key.clone()),
                ..node.target()
            };
            let s = connect(&target, &opts).unwrap();
            assert!(run(&s, "true").unwrap().success());
        }
        assert_eq!(signatures(key), Some(2), "{}", key.display());
    }
    // RSA (OpenSSH and PEM format), and an ECDSA key written with a short scalar:
    // libssh2 signs, as before.
    for key in [&rsa, &rsa_pem, &ecdsa_short] {
        let s = connect(&with_key(key), &opts).unwrap();
        assert!(run(&s, "true").unwrap().success());
        assert_eq!(signatures(key), None, "{}", key.display());
    }
    // A passphrase-protected key stays libssh2's, which cannot use it without one.
    let err = connect(&with_key(&locked), &opts).unwrap_err();
    assert!(matches!(err, SshError::Auth { .. }), "{err}");
    assert_eq!(signatures(&locked), None);
    // A key the node does not accept: refused before anything is signed.
    let stranger = new_key(lab.dir(), "stranger", &["-t", "ed25519", "-N", ""]);
    let err = connect(&with_key(&stranger), &opts).unwrap_err();
    assert!(matches!(err, SshError::Auth { .. }), "{err}");
    assert!(err.to_string().contains("stranger"), "{err}");
    assert_eq!(err.exit(), Exit::Unreachable);
    assert_eq!(signatures(&stranger), Some(0));
}

#[test]
fn become_with_sudo_writes_root_owned_private_files() {
    let lab = SshLab::new().start();
    let node = &lab.nodes[0];
    let user = lab.user(true);
    let path = node.path("become/config.json");
    let session = connect(&user.target(node), &lab.connect_options()).unwrap();
    let out = write_files(
        &session,
        &[FileWrite {
            path: &path,
            contents: b"as root",
        }],
    )
    .unwrap();
    assert_eq!(out, vec![WriteOutcome::Written]);
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (0, 0));
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&node.path("become")), 0o700);
    // Reading a root-only file needs the become too.
    let files = read_files(&session, &[&path]).unwrap();
    assert_eq!(files[0].contents(), Some(&b"as root"[..]));
    // So does the one-exec update, both halves.
    let out = ssh::update_files(&session, &[&path], |files| {
        assert_eq!(files[0].contents(), Some(&b"as root"[..]));
        Ok::<_, ()>(vec![(0, b"updated as root".to_vec())])
    })
    .unwrap();
    assert_eq!(out, Ok(vec![WriteOutcome::Written]));
    assert_eq!(std::fs::read(&path).unwrap(), b"updated as root");
    assert_eq!(std::fs::metadata(&path).unwrap().uid(), 0);
    assert_eq!(mode(&path), 0o600);
    let who = run(&session, "id -u; echo to-stderr >&2; exit 3").unwrap();
    assert_eq!(who.status, Some(3));
    assert_eq!(String::from_utf8_lossy(&who.output), "0\nto-stderr\n");
    // The login user itself is not root.
    let plain = regauth::model::SshTarget {
        become_: false,
        ..user.target(node)
    };
    let s = connect(&plain, &lab.connect_options()).unwrap();
    assert_ne!(run(&s, "id -u").unwrap().output, b"0\n");
    // Without become, the root-only file (in a 0700 dir) is unreadable, and says so.
    let files = read_files(&s, &[&path]).unwrap();
    assert!(
        matches!(&files[0], RemoteFile::Unreadable(m) if m.contains("permission denied")),
        "{files:?}"
    );
}

#[test]
fn become_without_sudo_rights_fails_fast_and_writes_nothing() {
    let lab = SshLab::new().start();
    let node = &lab.nodes[0];
    let user = lab.user(false);
    let path = node.path("nosudo/config.json");
    let session = connect(&user.target(node), &lab.connect_options()).unwrap();
    let started = Instant::now();
    let err = write_files(
        &session,
        &[FileWrite {
            path: &path,
            contents: b"x",
        }],
    )
    .unwrap_err();
    assert!(matches!(err, SshError::Become { .. }), "{err}");
    assert_eq!(err.exit(), Exit::Failed);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!Path::new(&path).exists());
    // The one-exec update fails the same way, before anything is planned.
    let started = Instant::now();
    let err = ssh::update_files(&session, &[&path], |_| -> Result<_, ()> {
        panic!("planned after sudo refused")
    })
    .unwrap_err();
    assert!(matches!(err, SshError::Become { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!Path::new(&path).exists());
}

#[test]
fn secrets_never_appear_in_argv_environment_or_sshd_log() {
    let lab = SshLab::new().start();
    let node = &lab.nodes[0];
    let secret = format!("regauth-secret-{}-{}", std::process::id(), node.port);
    let path = node.path("runtime/config.json");
    let session = connect(&node.target(), &lab.connect_options()).unwrap();

    let done = AtomicBool::new(false);
    let scans = AtomicU32::new(0);
    let seen = std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            let mut seen = Vec::new();
            while !done.load(Ordering::Relaxed) {
                for entry in std::fs::read_dir("/proc").unwrap().flatten() {
                    for file in ["cmdline", "environ"] {
                        if let Ok(bytes) = std::fs::read(entry.path().join(file)) {
                            let text = String::from_utf8_lossy(&bytes);
                            if text.contains(&secret) {
                                seen.push(format!("{:?}/{file}: {text}", entry.path()));
                            }
                        }
                    }
                }
                scans.fetch_add(1, Ordering::Relaxed);
            }
            seen
        });
        // Writes go on until the watcher has swept /proc several times while they ran:
        // a write takes milliseconds, a sweep under load can take longer than 15 of them.
        let mut i = 0;
        while i < 15 || (scans.load(Ordering::Relaxed) < 5 && i < 2000) {
            i += 1;
            let body = format!("{{\"auths\":{{\"r\":{{\"auth\":\"{secret}-{i}\"}}}}}}");
            let out = write_files(
                &session,
                &[FileWrite {
                    path: &path,
                    contents: body.as_bytes(),
                }],
            )
            .unwrap();
            assert_eq!(out, vec![WriteOutcome::Written]);
            let back = read_files(&session, &[&path]).unwrap();
            assert_eq!(back[0].contents(), Some(body.as_bytes()));
        }
        done.store(true, Ordering::Relaxed);
        watcher.join().unwrap()
    });
    assert!(seen.is_empty(), "secret visible: {seen:?}");
    assert!(
        scans.load(Ordering::Relaxed) >= 5,
        "watcher did not run during the writes"
    );
    assert!(!node.log_text().contains(&secret));
    assert!(std::fs::read_to_string(&path).unwrap().contains(&secret));
}

#[test]
fn interrupted_write_leaves_the_old_file_and_no_temp() {
    let lab = SshLab::new().start();
    let node = &lab.nodes[0];
    let path = node.path("runtime/config.json");
    let dir = node.path("runtime");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&path, b"old contents").unwrap();

    // Replay exactly what write_files sends, with the system ssh client so that we
    // can cut the connection after half of stdin.
    let new = vec![b'n'; 64 * 1024];
    let (command, stdin) = ssh::remote::write_request(
        None,
        &[FileWrite {
            path: &path,
            contents: &new,
        }],
    )
    .unwrap();
    let mut client = Command::new("ssh")
        .args([
            "-q",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
        ])
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", lab.known_hosts.display()))
        .arg("-i")
        .arg(&lab.client_key)
        .arg("-p")
        .arg(node.port.to_string())
        .arg("root@127.0.0.1")
        .arg(&command)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut input = client.stdin.take().unwrap();
        input.write_all(&stdin[..stdin.len() / 2]).unwrap();
        input.flush().unwrap();
        // Keep stdin open (no EOF from us): the cut is the connection dying.
        let deadline = Instant::now() + Duration::from_secs(10);
        while temps_in(Path::new(&dir)).is_empty() {
            assert!(Instant::now() < deadline, "remote never staged a temp file");
            std::thread::sleep(Duration::from_millis(10));
        }
        client.kill().unwrap();
        client.wait().unwrap();
        drop(input);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !temps_in(Path::new(&dir)).is_empty() {
        assert!(
            Instant::now() < deadline,
            "temp file left: {:?}",
            temps_in(Path::new(&dir))
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(std::fs::read(&path).unwrap(), b"old contents");
    assert!(!Path::new(&format!("{path}.regauth-backup")).exists());
}

#[test]
fn run_bounds_output_and_reports_status() {
    let lab = SshLab::new().start();
    let session = connect(&lab.nodes[0].target(), &lab.connect_options()).unwrap();
    let big = run(&session, "head -c 200000 /dev/zero; exit 0").unwrap();
    assert!(big.success() && big.truncated);
    assert_eq!(big.output.len(), ssh::remote::OUTPUT_LIMIT);
    let killed = run(&session, "kill -TERM $$").unwrap();
    assert_eq!(killed.status, None);
    assert_eq!(killed.signal.as_deref(), Some("TERM"));
}

#[test]
fn large_files_round_trip_beyond_the_channel_window() {
    // 3 MiB each way exceeds libssh2's 2 MiB receive window, and the script's first
    // line arrives while stdin is still being sent.
    let lab = SshLab::new().start();
    let node = &lab.nodes[0];
    let path = node.path("big/config.json");
    let body: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let session = connect(&node.target(), &lab.connect_options()).unwrap();
    let out = write_files(
        &session,
        &[FileWrite {
            path: &path,
            contents: &body,
        }],
    )
    .unwrap();
    assert_eq!(out, vec![WriteOutcome::Written]);
    assert_eq!(std::fs::read(&path).unwrap(), body);
    let back = read_files(&session, &[&path]).unwrap();
    assert_eq!(back[0].contents(), Some(&body[..]));
}

#[test]
fn a_file_that_cannot_be_staged_stops_every_write_of_that_host() {
    let lab = SshLab::new().start();
    let node = &lab.nodes[0];
    let good = node.path("ok/config.json");
    std::fs::create_dir_all(node.path("ok")).unwrap();
    std::fs::write(&good, b"old").unwrap();
    // The parent of the second target is a regular file: mkdir fails.
    std::fs::write(node.path("blocker"), b"").unwrap();
    let bad = node.path("blocker/config.json");
    let session = connect(&node.target(), &lab.connect_options()).unwrap();
    let out = write_files(
        &session,
        &[
            FileWrite {
                path: &good,
                contents: b"new",
            },
            FileWrite {
                path: &bad,
                contents: b"new",
            },
        ],
    )
    .unwrap();
    assert!(
        matches!(&out[0], WriteOutcome::Failed(m) if m.contains("could not be staged")),
        "{out:?}"
    );
    assert!(matches!(&out[1], WriteOutcome::Failed(_)), "{out:?}");
    assert_eq!(std::fs::read(&good).unwrap(), b"old");
    assert!(temps_in(Path::new(&node.path("ok"))).is_empty());

    // A target that is a directory fails alone; the other file is written.
    let dir_target = node.path("ok/adir");
    std::fs::create_dir_all(&dir_target).unwrap();
    let out = write_files(
        &session,
        &[
            FileWrite {
                path: &good,
                contents: b"new",
            },
            FileWrite {
                path: &dir_target,
                contents: b"new",
            },
        ],
    )
    .unwrap();
    assert_eq!(out[0], WriteOutcome::Written);
    assert!(matches!(&out[1], WriteOutcome::Failed(_)), "{out:?}");
    assert!(Path::new(&dir_target).is_dir());
    assert!(std::fs::read_dir(&dir_target).unwrap().next().is_none());
    assert!(temps_in(Path::new(&node.path("ok"))).is_empty());
}

#[test]
fn a_silent_host_times_out_in_the_handshake() {
    // Accepts TCP, never speaks SSH: the per-operation timeout must end it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let _keep = std::thread::spawn(move || {
        let conns: Vec<_> = listener.incoming().take(1).collect();
        std::thread::sleep(Duration::from_secs(5));
        drop(conns);
    });
    let lab = SshLab::new().nodes(0).start();
    let target = regauth::model::SshTarget {
        address: "127.0.0.1".into(),
        port,
        user: Some("root".into()),
        key_file: Some(lab.client_key.clone()),
        become_: false,
        become_user: "root".into(),
    };
    let opts = ConnectOptions {
        timeout: Duration::from_millis(500),
        ..lab.connect_options()
    };
    let started = Instant::now();
    let err = connect(&target, &opts).unwrap_err();
    assert!(matches!(err, SshError::Handshake { .. }), "{err}");
    assert_eq!(err.exit(), Exit::Unreachable);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn lab_nodes_have_their_own_dirs_and_inventory_lines() {
    let lab = SshLab::new().nodes(2).start();
    let (a, b) = (&lab.nodes[0], &lab.nodes[1]);
    assert_ne!(a.port, b.port);
    assert_ne!(a.data_dir(), b.data_dir());
    assert!(a.runtime_auth_dir().ends_with("/root/.docker"));
    let line = a.inventory_line("node1");
    assert!(line.starts_with("node1 ansible_host=127.0.0.1 "), "{line}");
    assert!(line.contains(&format!("ansible_port={}", a.port)));
    assert!(line.contains(&format!("openshift_data_dir={}", a.data_dir())));
}

#[test]
fn agent_keys_are_used_when_no_key_file_is_given() {
    // The agent is found through $SSH_AUTH_SOCK and default keys through $HOME:
    // process-wide state, so the check runs in a child copy of this test binary
    // with its own environment instead of mutating ours under parallel tests.
    if let Ok(port) = std::env::var("REGAUTH_AGENT_CHILD_PORT") {
        let target = regauth::model::SshTarget {
            address: "127.0.0.1".into(),
            port: port.parse().unwrap(),
            user: Some("root".into()),
            key_file: None,
            become_: false,
            become_user: "root".into(),
        };
        let opts = ConnectOptions {
            known_hosts: std::env::var("REGAUTH_AGENT_CHILD_KH").unwrap().into(),
            ..ConnectOptions::default()
        };
        let s = connect(&target, &opts).unwrap();
        let out = run(&s, "echo agent-auth-ok").unwrap();
        println!("{}", String::from_utf8_lossy(&out.output));
        return;
    }
    let lab = SshLab::new().start();
    let sock = lab.dir().join("agent.sock");
    let mut agent = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // The socket file appears at bind(), before listen(): wait until it accepts.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::os::unix::net::UnixStream::connect(&sock).is_err() {
        assert!(Instant::now() < deadline, "ssh-agent did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    let added = Command::new("ssh-add")
        .arg(&lab.client_key)
        .env("SSH_AUTH_SOCK", &sock)
        .output()
        .unwrap();
    assert!(added.status.success(), "{added:?}");
    // An empty home: no ~/.ssh/id_* to fall back on, so only the agent can work.
    let home = lab.dir().join("agent-home");
    std::fs::create_dir_all(&home).unwrap();
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "agent_keys_are_used_when_no_key_file_is_given",
            "--nocapture",
        ])
        .env("REGAUTH_AGENT_CHILD_PORT", lab.nodes[0].port.to_string())
        .env("REGAUTH_AGENT_CHILD_KH", &lab.known_hosts)
        .env("SSH_AUTH_SOCK", &sock)
        .env("HOME", &home)
        .output()
        .unwrap();
    let _ = agent.kill();
    let _ = agent.wait();
    let stdout = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success() && stdout.contains("agent-auth-ok"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&child.stderr)
    );
}

#[test]
fn a_silent_command_times_out_with_the_session_timeout() {
    let lab = SshLab::new().start();
    let opts = ConnectOptions {
        timeout: Duration::from_secs(1),
        ..lab.connect_options()
    };
    let session = connect(&lab.nodes[0].target(), &opts).unwrap();
    let started = Instant::now();
    let err = run(&session, "sleep 30").unwrap_err();
    // The connection still answers: the command hung, the host is there (FAILED).
    assert!(matches!(err, SshError::CommandTimeout { .. }), "{err}");
    assert_eq!(err.exit(), Exit::Failed);
    // Cut by the 1 s timeout plus the probe, never waiting for anything longer.
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}

/// A host that goes silent mid-command (sshd and its session stopped, the TCP
/// connection left open, as behind a dead network) is a lost connection: UNREACHABLE.
#[test]
fn a_host_gone_silent_mid_command_is_unreachable() {
    let lab = SshLab::new().start();
    let opts = ConnectOptions {
        timeout: Duration::from_secs(2),
        ..lab.connect_options()
    };
    let session = connect(&lab.nodes[0].target(), &opts).unwrap();
    let node = &lab.nodes[0];
    // Frozen once `sleep` runs, well inside the 2 s timeout: a timer instead let a
    // loaded machine freeze the node only after the probe had already answered.
    let err = std::thread::scope(|s| {
        s.spawn(|| {
            let deadline = Instant::now() + Duration::from_secs(20);
            while !node.runs("sleep") {
                assert!(Instant::now() < deadline, "the command never started");
                std::thread::sleep(Duration::from_millis(20));
            }
            node.freeze(true);
        });
        run(&session, "sleep 30").unwrap_err()
    });
    node.freeze(false);
    assert!(matches!(err, SshError::Transport { .. }), "{err}");
    assert_eq!(err.exit(), Exit::Unreachable);
}

#[test]
fn a_session_holds_only_the_pages_it_wrote_and_still_works() {
    let lab = SshLab::new().start();
    let node = &lab.nodes[0];
    let path = node.path("idle/config.json");
    let session = connect(&node.target(), &lab.connect_options()).unwrap();
    // The object's zero pages went back before the handshake: of its 18 pages, a
    // connected session holds those the handshake wrote (all 18 if they had stayed).
    let at_work = session.resident_object_bytes();
    eprintln!("connected: {at_work} bytes of the session object resident");
    assert!(at_work <= 40 * 1024, "{at_work} bytes resident");
    let small = b"{\"auths\":{}}".to_vec();
    let write = |contents: &[u8]| {
        let out = write_files(
            &session,
            &[FileWrite {
                path: &path,
                contents,
            }],
        )
        .unwrap();
        assert_eq!(out, vec![WriteOutcome::Written]);
    };
    write(&small);
    // libssh2's session object is ~81 KB, mostly two 35,000-byte packet buffers of
    // which a handshake and a small write touch a few KB.
    let released = session.release_idle_memory();
    assert!(released >= 40 * 1024, "released only {released} bytes");
    let read_back = |want: &[u8]| match &read_files(&session, &[&path]).unwrap()[0] {
        RemoteFile::Present { contents, .. } => assert_eq!(contents, want),
        other => panic!("{other:?}"),
    };
    read_back(&small);
    // Packets up to the buffers' size after their pages were handed back.
    let big: Vec<u8> = (0..300_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    write(&big);
    session.release_idle_memory();
    read_back(&big);
    session.release_idle_memory();
    let out = run(&session, "echo still here").unwrap();
    assert_eq!(String::from_utf8_lossy(&out.output).trim(), "still here");
}

#[test]
fn update_reads_decides_and_writes_in_one_exec() {
    let lab = SshLab::new().start();
    let node = &lab.nodes[0];
    let present = node.path("upd/a.json");
    std::fs::create_dir_all(node.path("upd")).unwrap();
    std::fs::write(&present, b"old-a").unwrap();
    let missing = node.path("upd/new/b.json");
    let session = connect(&node.target(), &lab.connect_options()).unwrap();
    let sessions = || node.log_text().matches("Starting session: command").count();
    let paths = [present.as_str(), missing.as_str()];
    let secret = "s3cret-in-update".to_string();

    let before = sessions();
    let out = ssh::update_files(&session, &paths, |files| {
        assert_eq!(files[0].contents(), Some(&b"old-a"[..]));
        assert_eq!(files[1], RemoteFile::Missing);
        Ok::<_, ()>(vec![(1, secret.clone().into_bytes())])
    })
    .unwrap();
    assert_eq!(out, Ok(vec![WriteOutcome::Written]));
    assert_eq!(sessions() - before, 1, "one exec for read and write");
    assert_eq!(std::fs::read(&present).unwrap(), b"old-a");
    assert_eq!(std::fs::read_to_string(&missing).unwrap(), secret);
    assert_eq!(mode(&missing), 0o600);
    assert!(!node.log_text().contains(&secret));

    // The control side decides against writing: nothing changes, no temp is left.
    let out = ssh::update_files(&session, &paths, |files| {
        assert_eq!(files[1].contents(), Some(secret.as_bytes()));
        Err::<Vec<(usize, Vec<u8>)>, _>("refused")
    })
    .unwrap();
    assert_eq!(out, Err("refused"));
    let out = ssh::update_files(&session, &paths, |_| Ok::<_, ()>(Vec::new())).unwrap();
    assert_eq!(out, Ok(vec![]));
    assert_eq!(std::fs::read_to_string(&missing).unwrap(), secret);
    assert!(temps_in(Path::new(&node.path("upd/new"))).is_empty());

    // Both files, one of which cannot be staged: neither is replaced.
    std::fs::write(node.path("blocker"), b"").unwrap();
    let blocked = node.path("blocker/c.json");
    let paths = [present.as_str(), blocked.as_str()];
    let out = ssh::update_files(&session, &paths, |_| {
        Ok::<_, ()>(vec![(0, b"new-a".to_vec()), (1, b"new-c".to_vec())])
    })
    .unwrap()
    .unwrap();
    assert!(matches!(&out[0], WriteOutcome::Failed(m) if m.contains("could not be staged")));
    assert!(matches!(&out[1], WriteOutcome::Failed(m) if m.contains("blocker")));
    assert_eq!(std::fs::read(&present).unwrap(), b"old-a");

    // The session carries on.
    let out = run(&session, "echo still here").unwrap();
    assert_eq!(String::from_utf8_lossy(&out.output).trim(), "still here");
}
