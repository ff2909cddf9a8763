//! The remote write script under each /bin/sh a node may have: dash (Debian, this
//! lab) and bash (RHEL/CentOS, where OpenShift 3.11 runs). A hang-up while a temp file
//! is being staged must leave no temp behind under either shell. Local processes, no
//! sshd: the script is what is under test, and signals can be aimed at it exactly.

use regauth::ssh::remote::{FileWrite, write_request};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn temps(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("regauth-tmp"))
        .collect()
}

/// Stages two files, hangs up (`signal`) while the second is half read, and returns
/// the temp files left in the directory.
fn hang_up_mid_stage(shell: &str, signal: i32) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.json").display().to_string();
    let b = dir.path().join("b.json").display().to_string();
    std::fs::write(&b, b"old").unwrap();
    let first = vec![b'1'; 100];
    let second = vec![b'2'; 64 * 1024];
    let (command, stdin) = write_request(
        None,
        &[
            FileWrite {
                path: &a,
                contents: &first,
            },
            FileWrite {
                path: &b,
                contents: &second,
            },
        ],
    )
    .unwrap();
    // `sh -c SCRIPT regauth ARGS...` with the shell under test, exec'd so that the
    // signal reaches the script's own process.
    let command = format!(
        "exec {shell} {}",
        command.strip_prefix("sh ").expect("runs through sh")
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    // The first file whole and half of the second: the script now waits in `head`.
    pipe.write_all(&stdin[..first.len() + second.len() / 2])
        .unwrap();
    pipe.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !temps(dir.path()).iter().any(|t| t.starts_with(".b.json")) {
        assert!(Instant::now() < deadline, "the script never staged b.json");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(50));
    unsafe {
        libc::kill(child.id() as i32, signal);
    }
    // As sshd does when the session goes: the pipes close too.
    drop(pipe);
    drop(child.stdout.take());
    let _ = child.wait();
    // `head` may outlive the shell for a moment; the EXIT trap ran in the shell.
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        std::fs::read(&b).unwrap(),
        b"old",
        "{shell}: old file touched"
    );
    temps(dir.path())
}

#[test]
fn hang_up_while_staging_leaves_no_temp_under_dash_and_bash() {
    let mut ran = 0;
    for shell in ["dash", "bash"] {
        if Command::new(shell).arg("-c").arg("true").status().is_err() {
            // Not every machine has both; the lab image has.
            eprintln!("{shell} not installed: not tried");
            continue;
        }
        for (signal, name) in [
            (libc::SIGHUP, "HUP"),
            (libc::SIGTERM, "TERM"),
            (libc::SIGPIPE, "PIPE"),
        ] {
            let left = hang_up_mid_stage(shell, signal);
            assert!(left.is_empty(), "{shell}, SIG{name}: temp left: {left:?}");
            ran += 1;
        }
    }
    assert!(ran > 0, "no shell to test");
}
