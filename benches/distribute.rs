//! Distribute registry credentials to 50 sshd nodes on loopback: `regauth run
//! playbooks/registry_auth.yml` against ansible-playbook doing the same job
//! (`benches/ansible/registry_auth.yml`: slurp, combine, copy, restart when changed)
//! on the same nodes with the same inventory, and against the floor of 50 parallel
//! `ssh host true`. Every run starts from nodes without the files, so each tool does
//! the full job (two files written, one restart per node), and is checked afterwards:
//! both files on every node parse as JSON with the three registries' entries, and
//! every node was restarted once.
//!
//! Run: `cargo bench --bench distribute` (as root: it starts sshd processes). Without
//! `ansible-playbook` on PATH the Ansible rows are skipped with a message.
//! `REGAUTH_BENCH_NODES` (50) and `REGAUTH_BENCH_ROUNDS` (3: regauth and the floor,
//! the median is reported; Ansible runs once per forks setting) change the size.

#[path = "fleet/mod.rs"]
mod fleet;
#[path = "../tests/support/sshd.rs"]
mod sshd;

use fleet::{env_usize, load_average, machine, reset, ssh_true, verify};

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn load1() -> String {
    load_average()
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_string()
}

fn ssh_version() -> String {
    Command::new("ssh")
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string())
        .unwrap_or_default()
}

fn ansible_version() -> Option<String> {
    let o = Command::new("ansible-playbook")
        .arg("--version")
        .output()
        .ok()?;
    o.status.success().then(|| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string()
    })
}

struct Row {
    what: String,
    times: Vec<Duration>,
    /// The 1-minute load average when each run started.
    loads: Vec<String>,
    /// CPU seconds per run: (this process's children: the tool and its ssh clients,
    /// the nodes' sshd sessions and what they ran).
    cpu: Vec<(f64, f64)>,
}

/// CPU seconds so far of (our reaped children, every node's sshd with its reaped
/// sessions). A node's per-connection sshd, and the shell and programs under it, are
/// reaped by the listening sshd, so their time lands in its cutime/cstime.
fn cpu_now(lab: &sshd::Lab) -> (f64, f64) {
    // SAFETY: getrusage fills the struct it is given; sysconf has no preconditions.
    let (children, ticks) = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru);
        let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        (
            tv(ru.ru_utime) + tv(ru.ru_stime),
            libc::sysconf(libc::_SC_CLK_TCK) as f64,
        )
    };
    let nodes: f64 = lab
        .nodes
        .iter()
        .filter_map(|n| std::fs::read_to_string(format!("/proc/{}/stat", n.pid()?)).ok())
        .map(|stat| {
            // Fields after the `(comm)`: utime, stime, cutime, cstime are 14..=17.
            let rest = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
            let f: Vec<f64> = rest
                .split_whitespace()
                .map(|x| x.parse().unwrap_or(0.0))
                .collect();
            f[11..15].iter().sum::<f64>() / ticks
        })
        .sum();
    (children, nodes)
}

/// Our CPU counters since `before`, once the nodes have reaped their sessions.
fn cpu_since(lab: &sshd::Lab, before: (f64, f64)) -> (f64, f64) {
    std::thread::sleep(Duration::from_millis(300));
    let now = cpu_now(lab);
    (now.0 - before.0, now.1 - before.1)
}

impl Row {
    fn median(&self) -> Duration {
        let mut t = self.times.clone();
        t.sort();
        t[t.len() / 2]
    }
}

fn main() {
    if !fleet::benching() {
        return;
    }
    let nodes = env_usize("REGAUTH_BENCH_NODES", 50);
    let rounds = env_usize("REGAUTH_BENCH_ROUNDS", 3).max(1);
    let load_before = load_average();
    let fleet = fleet::start(nodes, "distribute");
    let (lab, work, inventory) = (&fleet.lab, &fleet.work, &fleet.inventory);
    let ansible_playbook =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/ansible/registry_auth.yml");
    eprintln!("{nodes} sshd nodes up; inventory {}", inventory.display());

    let mut checks: Vec<String> = Vec::new();
    let floor = || {
        let started = Instant::now();
        let children: Vec<_> = lab
            .nodes
            .iter()
            .map(|n| ssh_true(lab, n).spawn().expect("ssh"))
            .collect();
        for mut c in children {
            assert!(c.wait().expect("wait").success(), "ssh true failed");
        }
        started.elapsed()
    };
    let regauth = |forks: usize, extra: &[&str]| {
        reset(lab);
        let started = Instant::now();
        let mut c = Command::new(env!("CARGO_BIN_EXE_regauth"));
        fleet.regauth_run(&mut c, forks);
        let out = c
            .env_remove("RUST_LOG")
            .args(extra)
            .output()
            .expect("run regauth");
        let elapsed = started.elapsed();
        assert!(
            out.status.success(),
            "regauth run failed ({:?}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let who = format!("regauth --forks {forks} {}", extra.join(" "));
        (elapsed, verify(lab, who.trim_end()))
    };

    let mut floor_row = Row {
        what: format!("{nodes} parallel `ssh host true` (OpenSSH, curve25519-sha256): the floor"),
        times: Vec::new(),
        loads: Vec::new(),
        cpu: Vec::new(),
    };
    // The inventory restarts all changed nodes at once (serial = node count), as the
    // Ansible play does; the last row is the installer's default, one node at a time.
    let serial1 = ["-e", "openshift_restart_nodes_serial=1"];
    let configs: [(usize, &[&str]); 4] = [(nodes, &[]), (5, &[]), (20, &[]), (nodes, &serial1)];
    let mut regauth_rows: Vec<Row> = configs
        .iter()
        .map(|(forks, extra)| Row {
            what: format!("regauth run --forks {forks} {}", extra.join(" "))
                .trim_end()
                .to_string(),
            times: Vec::new(),
            loads: Vec::new(),
            cpu: Vec::new(),
        })
        .collect();
    for _ in 0..rounds {
        floor_row.loads.push(load1());
        let before = cpu_now(lab);
        floor_row.times.push(floor());
        floor_row.cpu.push(cpu_since(lab, before));
        for ((forks, extra), row) in configs.iter().zip(&mut regauth_rows) {
            row.loads.push(load1());
            let before = cpu_now(lab);
            let (t, check) = regauth(*forks, extra);
            row.cpu.push(cpu_since(lab, before));
            row.times.push(t);
            checks.push(check);
        }
    }
    let mut rows = vec![floor_row];
    rows.extend(regauth_rows);

    let ansible = ansible_version();
    match &ansible {
        None => eprintln!(
            "ansible-playbook not found on PATH: skipping the Ansible rows \
             (pip install ansible-core to compare)"
        ),
        Some(_) => {
            for forks in [5, nodes] {
                reset(lab);
                // A fresh config dir per run: ansible.cfg, and the ControlPersist
                // sockets, so no run reuses another's SSH connections.
                let dir = work.join(format!("ansible-f{forks}"));
                std::fs::create_dir_all(&dir).expect("ansible dir");
                // Short: a socket path must fit in sun_path (108 bytes).
                let cp_dir = tempfile::Builder::new()
                    .prefix("rcp")
                    .tempdir_in("/tmp")
                    .expect("control path dir");
                let cp = cp_dir.path();
                let cfg = dir.join("ansible.cfg");
                std::fs::write(
                    &cfg,
                    format!(
                        "[defaults]\nhost_key_checking = True\nretry_files_enabled = False\n\
                         [ssh_connection]\npipelining = True\ncontrol_path = {}/%%C\n\
                         ssh_common_args = -o UserKnownHostsFile={} -o KexAlgorithms=curve25519-sha256\n",
                        cp.display(),
                        lab.known_hosts.display()
                    ),
                )
                .expect("ansible.cfg");
                let load = load1();
                let before = cpu_now(lab);
                let started = Instant::now();
                let out = Command::new("ansible-playbook")
                    .current_dir(&dir)
                    .env("ANSIBLE_CONFIG", &cfg)
                    .arg("-i")
                    .arg(inventory)
                    .arg("-f")
                    .arg(forks.to_string())
                    .arg(&ansible_playbook)
                    .output()
                    .expect("run ansible-playbook");
                let elapsed = started.elapsed();
                assert!(
                    out.status.success(),
                    "ansible-playbook -f {forks} failed ({:?}):\n{}{}",
                    out.status,
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                // Close the ControlPersist masters (their sessions
                // count as node CPU once reaped) before the next run.
                for n in &lab.nodes {
                    let _ = Command::new("ssh")
                        .args(["-q", "-O", "exit", "-o"])
                        .arg(format!("ControlPath={}/%C", cp.display()))
                        .arg("-p")
                        .arg(n.port.to_string())
                        .arg(format!("{}@127.0.0.1", n.login))
                        .stdin(Stdio::null())
                        .stderr(Stdio::null())
                        .status();
                }
                let cpu = cpu_since(lab, before);
                checks.push(verify(lab, &format!("ansible-playbook -f {forks}")));
                rows.push(Row {
                    what: format!("ansible-playbook -f {forks}"),
                    times: vec![elapsed],
                    loads: vec![load],
                    cpu: vec![cpu],
                });
            }
        }
    }
    reset(lab);
    let load_after = load_average();

    for c in &checks {
        println!("ok: {c}");
    }
    println!();
    println!(
        "distribute bench: {nodes} nodes; machine: {}; {}; {}",
        machine(),
        ssh_version(),
        ansible
            .as_deref()
            .unwrap_or("ansible-playbook: not installed")
    );
    println!("load average (1/5/15 min): before {load_before}, after {load_after}");
    println!();
    let secs = |d: Duration| d.as_secs_f64();
    let regauth_t = secs(rows[1].median());
    println!(
        "| what | wall time (median) | runs (s) | load (1 min) at each start | CPU s per run: tool / nodes | time / regauth --forks {nodes} |"
    );
    println!("|---|---|---|---|---|---|");
    for r in &rows {
        let m = secs(r.median());
        let all: Vec<String> = r.times.iter().map(|t| format!("{:.2}", secs(*t))).collect();
        println!(
            "| {} | {:.2} s | {} | {} | {:.2} / {:.2} | {:.2}× |",
            r.what,
            m,
            all.join(", "),
            r.loads.join(", "),
            r.cpu.iter().map(|c| c.0).sum::<f64>() / r.cpu.len() as f64,
            r.cpu.iter().map(|c| c.1).sum::<f64>() / r.cpu.len() as f64,
            m / regauth_t
        );
    }
    if ansible.is_some() {
        let (f5, f50) = (secs(rows[5].median()), secs(rows[6].median()));
        println!(
            "targets: >= 20x faster than Ansible forks 5: {:.1}x ({}); >= 3x faster than forks {nodes}: {:.1}x ({})",
            f5 / regauth_t,
            if f5 / regauth_t >= 20.0 {
                "met"
            } else {
                "MISSED"
            },
            f50 / regauth_t,
            if f50 / regauth_t >= 3.0 {
                "met"
            } else {
                "MISSED"
            },
        );
    }
    println!(
        "regauth --forks {nodes} against the floor: {:.2}x ({:+.2} s)",
        regauth_t / secs(rows[0].median()),
        regauth_t - secs(rows[0].median())
    );
}
