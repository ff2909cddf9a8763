//! Fleet scale: `regauth run playbooks/registry_auth.yml` on N sshd nodes (default
//! 1,000; `REGAUTH_BENCH_NODES=2000` for the 2,000-node figures), measured in one run,
//! each row against the floors measured just before and just after it (every node's ssh
//! handshake once, 100 at a time: OpenSSH `ssh host true` with curve25519, as
//! benches/distribute.rs; the ratio is to their mean), and against
//! parallel-ssh (libssh2 + gevent) doing only one exec per node (write both files,
//! restart; benches/fleet/pssh_registry_auth.py), when `python3 -c 'import pssh'` works.
//!
//! Per row: wall time, ratio to the floor, peak RSS and control-side CPU per node
//! (user + sys of the tool's process from wait4's rusage, divided by N), and for
//! regauth its handshakes and reconnects; for every row the whole machine's busy CPU
//! and the processes started, per node (the nodes share the machine). regauth runs with the default descriptor
//! limits (forks 50 and 200) and under `ulimit -n 1024` (soft and hard, set in the
//! child). Every run starts from nodes without the files and is checked afterwards:
//! both files on every node, each node restarted once.
//!
//! Run as root (it starts sshd processes), with `nice` on a shared machine:
//! `REGAUTH_BENCH_NODES=2000 nice cargo bench --bench scale`. Each node is an sshd
//! of about 1.4 MB. Not run in CI. `REGAUTH_BENCH_WRAP` prefixes regauth's command
//! line (a profiler), `REGAUTH_BENCH_ROWS=1` keeps only the first regauth row.

#[path = "fleet/mod.rs"]
mod fleet;
#[path = "../tests/support/sshd.rs"]
mod sshd;

use base64::Engine;
use fleet::{EXTRA, OREG, env_usize, load_average, machine, reset, ssh_true, verify};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// One measured child process.
struct Measure {
    wall: Duration,
    /// user + sys seconds of the process (and any children it waited for).
    cpu: f64,
    /// Of which in the kernel (syscalls, and loopback TCP processed in our context).
    sys: f64,
    /// Peak resident set, in MB.
    rss_mb: f64,
    ok: bool,
    stderr: String,
}

/// Runs `c` to the end, timing it and reading its rusage with wait4.
impl Measure {
    /// One printed row: wall, ratio to the mean of the floors measured just before and
    /// after it, peak RSS, CPU per node, `extra`, load, and the check of the nodes
    /// afterwards on the next line.
    fn row(
        &self,
        what: &str,
        (before, after): (Duration, Duration),
        nodes: usize,
        extra: &str,
        load: &str,
        check: &str,
    ) -> String {
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!("  {extra}")
        };
        format!(
            "{what:<44} {:>7.1} s  {:.2}x (floors {:.1}/{:.1} s)  RSS {:>5.1} MB  CPU {:>4.2} ms/node (sys {:.2}){extra}  load {load}\n    {check}",
            self.wall.as_secs_f64(),
            self.wall.as_secs_f64() / ((before + after).as_secs_f64() / 2.0),
            before.as_secs_f64(),
            after.as_secs_f64(),
            self.rss_mb,
            self.cpu * 1000.0 / nodes as f64,
            self.sys * 1000.0 / nodes as f64,
        )
    }
}

fn measured(c: &mut Command, dir: &Path, tag: &str) -> Measure {
    let out_path = dir.join(format!("{tag}.out"));
    let err_path = dir.join(format!("{tag}.err"));
    c.stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"));
    let started = Instant::now();
    let child = c.spawn().expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: wait4 on our own child, with a status and rusage we own; the Child
    // handle is forgotten so it does not wait a second time.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        let r = libc::wait4(pid, &mut status, 0, &mut ru);
        assert_eq!(r, pid, "wait4");
        ru
    };
    std::mem::forget(child);
    let wall = started.elapsed();
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Measure {
        wall,
        cpu: tv(ru.ru_utime) + tv(ru.ru_stime),
        sys: tv(ru.ru_stime),
        rss_mb: ru.ru_maxrss as f64 / 1024.0,
        ok: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
    }
}

/// Every node's `ssh host true` once, `parallel` at a time: (wall, ssh clients' CPU).
fn floor(lab: &sshd::Lab, parallel: usize) -> (Duration, f64) {
    let before = children_cpu();
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..parallel {
            s.spawn(|| {
                while let Some(n) = lab.nodes.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let ok = ssh_true(lab, n).status().expect("ssh").success();
                    assert!(ok, "ssh true failed on port {}", n.port);
                }
            });
        }
    });
    (started.elapsed(), children_cpu() - before)
}

fn children_cpu() -> f64 {
    // SAFETY: getrusage fills the struct it is given.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// The config.json every node should end with, base64 (for the peer's one exec).
fn merged_config_b64() -> String {
    let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
    let mut auths = serde_json::Map::new();
    for (h, u, p) in std::iter::once(OREG).chain(EXTRA) {
        auths.insert(
            h.into(),
            serde_json::json!({"auth": b64(format!("{u}:{p}"))}),
        );
    }
    b64(serde_json::json!({ "auths": auths }).to_string())
}

fn main() {
    if !fleet::benching() {
        return;
    }
    let nodes = env_usize("REGAUTH_BENCH_NODES", 1000);
    let started_lab = Instant::now();
    let fleet = fleet::start(nodes, "scale");
    let (lab, work, inventory) = (&fleet.lab, &fleet.work, &fleet.inventory);
    eprintln!(
        "{nodes} sshd nodes up in {:.0?}; inventory {}",
        started_lab.elapsed(),
        inventory.display()
    );
    let mut lines = vec![format!(
        "scale bench: {nodes} sshd nodes on loopback; {}; load at start {}",
        machine(),
        load_average()
    )];

    // Each row is compared with the floors measured just before and just after it: on a
    // shared VM the machine's speed drifts within a run (one 2,000-node run saw the
    // same work cost 33 and then 47 ms of machine time per node, and floors of 29 to
    // 45 s), and a ratio to a floor taken minutes earlier measured the drift. A row's
    // line is filled in once the floor after it is known.
    let floor_row = |lines: &mut Vec<String>| {
        let counters = fleet::Counters::now();
        let (floor_wall, floor_cpu) = floor(lab, 100);
        let spent = counters.since(nodes);
        lines.push(format!(
            "{:<44} {:>7.1} s  1.00x  {:>27}  (ssh clients' CPU {:.1} ms/node; {spent})  load {}",
            "floor: `ssh host true` x N, 100 at a time",
            floor_wall.as_secs_f64(),
            "",
            floor_cpu * 1000.0 / nodes as f64,
            load_average()
        ));
        eprintln!("{}", lines.last().unwrap());
        floor_wall
    };

    let regauth = |forks: usize, nofile: Option<u64>| {
        reset(lab);
        // REGAUTH_BENCH_WRAP="valgrind --tool=callgrind" runs regauth under a profiler.
        let wrap = std::env::var("REGAUTH_BENCH_WRAP").unwrap_or_default();
        let mut words = wrap.split_whitespace();
        let mut c = match words.next() {
            Some(tool) => {
                let mut c = Command::new(tool);
                c.args(words).arg(env!("CARGO_BIN_EXE_regauth"));
                c
            }
            None => Command::new(env!("CARGO_BIN_EXE_regauth")),
        };
        fleet.regauth_run(&mut c, forks);
        c.env("RUST_LOG", "regauth::run=info");
        if let Some(n) = nofile {
            sshd::limit_descriptors(&mut c, n);
        }
        let what = match nofile {
            None => format!("regauth --forks {forks}, default limits"),
            Some(n) => format!("regauth --forks {forks}, ulimit -n {n}"),
        };
        let load = load_average();
        let counters = fleet::Counters::now();
        let m = measured(&mut c, work, &format!("regauth-{forks}-{nofile:?}"));
        let spent = counters.since(nodes);
        assert!(m.ok, "{what} failed:\n{}", m.stderr);
        let check = verify(lab, &what);
        // The engine's own count, from its info line at the end.
        let field = |k: &str| {
            m.stderr
                .split(&format!("{k}="))
                .nth(1)
                .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
                .unwrap_or("?")
                .to_string()
        };
        let sessions = format!(
            "({} handshakes, {} reconnects, budget {}; {spent})",
            field("handshakes"),
            field("reconnects"),
            field("budget"),
        );
        move |floors| m.row(&what, floors, nodes, &sessions, &load, &check)
    };
    // The row waiting for the floor after it: its line's index, the floor before it,
    // and how to write it.
    type Pending = (
        usize,
        Duration,
        Box<dyn FnOnce((Duration, Duration)) -> String>,
    );
    let mut pending: Option<Pending> = None;
    let next_floor = |lines: &mut Vec<String>, pending: &mut Option<Pending>| {
        let floor_wall = floor_row(lines);
        if let Some((i, before, row)) = pending.take() {
            lines[i] = row((before, floor_wall));
            eprintln!("{}", lines[i]);
        }
        floor_wall
    };
    let rows = [(50, None), (200, None), (50, Some(1024)), (200, Some(1024))];
    for (forks, nofile) in rows.into_iter().take(env_usize("REGAUTH_BENCH_ROWS", 4)) {
        let before = next_floor(&mut lines, &mut pending);
        let row = regauth(forks, nofile);
        lines.push(String::new());
        pending = Some((lines.len() - 1, before, Box::new(row)));
    }

    let has_pssh = Command::new("python3")
        .args(["-c", "import pssh"])
        .status()
        .is_ok_and(|s| s.success());
    if has_pssh {
        reset(lab);
        let spec = serde_json::json!({
            "user": lab.nodes[0].login,
            "key": lab.client_key,
            "pool_size": 100,
            "config_b64": merged_config_b64(),
            "hosts": lab.nodes.iter().map(|n| serde_json::json!([
                n.port, n.path("docker/config.json"), n.path("origin/.docker/config.json"),
                n.path("restarts.log")
            ])).collect::<Vec<_>>(),
        });
        let spec_path = work.join("pssh.json");
        std::fs::write(&spec_path, spec.to_string()).expect("pssh spec");
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/fleet/pssh_registry_auth.py");
        let before = next_floor(&mut lines, &mut pending);
        let load = load_average();
        let counters = fleet::Counters::now();
        let m = measured(
            Command::new("python3").arg(&script).arg(&spec_path),
            work,
            "pssh",
        );
        let spent = counters.since(nodes);
        assert!(m.ok, "parallel-ssh failed:\n{}", m.stderr);
        let what = "parallel-ssh, pool 100, one exec per node";
        let check = verify(lab, what);
        lines.push(String::new());
        let row = move |floors| m.row(what, floors, nodes, &format!("({spent})"), &load, &check);
        pending = Some((lines.len() - 1, before, Box::new(row)));
    } else {
        lines.push("parallel-ssh: not installed (pip install parallel-ssh), row skipped".into());
    }
    next_floor(&mut lines, &mut pending);
    lines.push(format!("load at end {}", load_average()));
    println!("\n{}", lines.join("\n"));
}
