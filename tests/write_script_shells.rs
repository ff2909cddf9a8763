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

/// The shells under test that this machine has: not every machine has both; the lab
/// image has.
fn shells() -> Vec<&'static str> {
    ["dash", "bash"]
        .into_iter()
        .filter(|shell| {
            let there = Command::new(shell).arg("-c").arg("true").status().is_ok();
            if !there {
                eprintln!("{shell} not installed: not tried");
            }
            there
        })
        .collect()
}

/// Starts a script's command line (`sh -c SCRIPT regauth ARGS...`) with the shell under
/// test instead of `sh`, exec'd so that a signal reaches the script's own process.
fn spawn_under(shell: &str, command: &str) -> std::process::Child {
    let command = format!(
        "exec {shell} {}",
        command.strip_prefix("sh ").expect("runs through sh")
    );
    Command::new("sh")
        .arg("-c")
        .arg(&command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
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
    let mut child = spawn_under(shell, &command);
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
    for shell in shells() {
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

/// Runs an update exec's script under `shell` on `paths`: waits for the read part,
/// sends `request` (or nothing) and returns (read part, the rest of stdout, status).
fn update_under(shell: &str, paths: &[&str], request: Option<&[u8]>) -> (String, String, i32) {
    use regauth::ssh::update::update_command;
    use std::io::Read;
    let mut child = spawn_under(shell, &update_command(None, paths).unwrap());
    let mut stdout = child.stdout.take().unwrap();
    let mut read_part = Vec::new();
    let mut byte = [0u8];
    // The script waits for its stdin after this line: reading further would hang.
    while !read_part.ends_with(b"regauth-read-end\n") {
        assert_eq!(
            stdout.read(&mut byte).unwrap(),
            1,
            "{shell}: reply ended early"
        );
        read_part.push(byte[0]);
    }
    let mut stdin = child.stdin.take().unwrap();
    if let Some(r) = request {
        stdin.write_all(r).unwrap();
    }
    drop(stdin);
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap().code().unwrap_or(-1);
    (String::from_utf8(read_part).unwrap(), rest, status)
}

#[test]
fn update_script_reads_then_writes_under_dash_and_bash() {
    use regauth::ssh::update::update_request;
    let mut ran = 0;
    for shell in shells() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a b.json").display().to_string();
        let b = dir.path().join("sub/dir/b.json").display().to_string();
        std::fs::write(&a, b"old").unwrap();
        let paths = [a.as_str(), b.as_str()];

        // End of input after the read: nothing is written.
        let (read, rest, status) = update_under(shell, &paths, None);
        assert!(
            read.starts_with("regauth-read-1\nregauth-file 0 present "),
            "{shell}: {read}"
        );
        assert!(
            read.contains("\nb2xk\nregauth-file 1 missing\n"),
            "{shell}: {read}"
        );
        assert_eq!((rest.as_str(), status), ("regauth-end\n", 0), "{shell}");
        assert!(!std::path::Path::new(&b).exists());

        // A request for both files, a path with a space among them.
        let writes = vec![(1, b"{\"b\":1}\n".to_vec()), (0, b"new a".to_vec())];
        let request = update_request(&paths, &writes).unwrap();
        let (_, rest, status) = update_under(shell, &paths, Some(&request));
        assert_eq!(
            (rest.as_str(), status),
            (
                "regauth-write-1\nregauth-write 0 ok\nregauth-write 1 ok\nregauth-end\n",
                0
            ),
            "{shell}"
        );
        assert_eq!(std::fs::read(&a).unwrap(), b"new a");
        assert_eq!(std::fs::read(&b).unwrap(), b"{\"b\":1}\n");
        assert_eq!(
            std::fs::read(format!("{a}.regauth-backup")).unwrap(),
            b"old"
        );

        // The request cut short inside the contents: nothing is replaced.
        let request =
            update_request(&paths, &[(0, b"cut".to_vec()), (1, b"cut".to_vec())]).unwrap();
        let (_, rest, status) = update_under(shell, &paths, Some(&request[..request.len() - 20]));
        assert_ne!(status, 0, "{shell}: {rest}");
        assert!(rest.contains("regauth-stage"), "{shell}: {rest}");
        assert_eq!(std::fs::read(&a).unwrap(), b"new a");
        assert!(temps(dir.path()).is_empty() && temps(&dir.path().join("sub/dir")).is_empty());
        ran += 1;
    }
    assert!(ran > 0, "no shell to test");
}
