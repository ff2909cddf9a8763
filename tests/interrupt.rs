//! Ctrl-C at any moment: exit 99 (ansible-playbook's "interrupted"), never death by
//! signal, and nothing half-done. "Any moment" starts when regauth's own code first runs:
//! the handler is installed by an ELF constructor, before `main`. Before that only the
//! dynamic loader has run (no regauth code, so nothing to leave half-done), and no
//! program can catch a signal there; the tests therefore start the clock when
//! /proc/PID/status shows SIGINT caught, and interrupt at once and at later points.

mod support;

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::world::{World, text};

/// A bit of /proc/PID/status's signal mask line (`SigCgt`, `SigIgn`).
fn sigmask(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    u64::from_str_radix(line.split_whitespace().nth(1)?, 16).ok()
}

const SIGINT_BIT: u64 = 1 << (libc::SIGINT - 1);

/// Waits until the child catches SIGINT (its first own code has run), then `delay`,
/// then interrupts it. Returns how long the handler took to appear.
fn interrupt(child: &Child, delay: Duration) -> Duration {
    let started = Instant::now();
    loop {
        match sigmask(child.id(), "SigCgt") {
            Some(m) if m & SIGINT_BIT != 0 => break,
            Some(_) => {}
            None => panic!("the child ended before catching SIGINT"),
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no handler");
    }
    let installed = started.elapsed();
    std::thread::sleep(delay);
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    installed
}

fn regauth() -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("regauth"));
    c.env_remove("KUBECONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// `login` waiting for its password and `validate` waiting on a registry that never
/// answers, interrupted the moment they can be and later: 99 each time, with a word.
#[test]
fn a_waiting_command_exits_99_at_once_and_later() {
    let silent = support::Silent::start();
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("hosts");
    std::fs::write(
        &inv,
        format!(
            "[masters]\nm1\n[OSEv3:children]\nmasters\n[OSEv3:vars]\noreg_url={}/openshift3/ose-${{component}}:${{version}}\noreg_auth_user=u\n",
            silent.host
        ),
    )
    .unwrap();
    let pw = dir.path().join("pw.yml");
    std::fs::write(&pw, "oreg_auth_password: p\n").unwrap();
    let to = dir.path().join("auth.json");
    for delay_ms in [0, 5, 50, 300] {
        let delay = Duration::from_millis(delay_ms);
        let check = |c: &mut Command, what: &str| {
            let child = c.spawn().unwrap();
            interrupt(&child, delay);
            let o = child.wait_with_output().unwrap();
            assert_eq!(
                o.status.code(),
                Some(99),
                "{what}, {delay_ms} ms: {}",
                text(&o)
            );
            assert!(text(&o).contains("nterrupted"), "{what}: {}", text(&o));
        };
        check(
            regauth()
                .args(["login", "--registry", "127.0.0.1:1", "-u", "u"])
                .args(["--password-stdin", "--to"])
                .arg(&to),
            "login",
        );
        assert!(!to.exists(), "login wrote a file after ^C");
        check(
            regauth()
                .args(["validate", "--retries", "0", "-i"])
                .arg(&inv)
                .arg("-e")
                .arg(format!("@{}", pw.display())),
            "validate",
        );
    }
}

/// A SIGINT ignored by whoever started regauth (`nohup`, `cmd &` in a script) stays
/// ignored, as it does for Python and so for ansible-playbook.
#[test]
fn an_ignored_sigint_stays_ignored() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("auth.json");
    let mut c = regauth();
    c.args([
        "login",
        "--skip-check",
        "--registry",
        "127.0.0.1:1",
        "-u",
        "u",
    ])
    .args(["--password-stdin", "--to"])
    .arg(&to);
    // SAFETY: signal(2) between fork and exec is async-signal-safe.
    unsafe {
        c.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_IGN);
            Ok(())
        });
    }
    let mut child = c.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(sigmask(child.id(), "SigIgn").unwrap() & SIGINT_BIT != 0);
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        child.try_wait().unwrap().is_none(),
        "died of an ignored SIGINT"
    );
    child.stdin.take().unwrap().write_all(b"pw\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(to.exists());
}

/// `run` interrupted from start-up (before the inventory is read) to mid-restart:
/// always 99, every node file whole (old or new) and no temp file anywhere.
#[test]
fn run_interrupted_at_several_points_leaves_nothing_half_done() {
    let w = World::new(2);
    let inv = w.inventory_with_slow_restarts(1);
    let mut handler_times = Vec::new();
    for delay_ms in [0, 2, 20, 100, 400, 1200] {
        // Empty nodes each time, so that every run has writes and restarts to do.
        for i in 0..2 {
            for rel in ["docker/config.json", "origin/.docker/config.json"] {
                let _ = std::fs::remove_file(w.ssh.nodes[i].path(rel));
            }
        }
        let child = w.spawn_rolling(&inv);
        handler_times.push(interrupt(&child, Duration::from_millis(delay_ms)));
        let o = child.wait_with_output().unwrap();
        let all = text(&o);
        assert_eq!(o.status.code(), Some(99), "{delay_ms} ms: {all}");
        w.assert_files_whole(&format!("{delay_ms} ms"));
        for e in std::fs::read_dir(w.dir.path().join("playbooks"))
            .unwrap()
            .flatten()
        {
            let n = e.file_name().to_string_lossy().into_owned();
            assert!(!n.ends_with(".tmp"), "{delay_ms} ms: temp retry file {n}");
        }
    }
    eprintln!("SIGINT handler installed after {handler_times:?} (spawn to SigCgt)");
}
