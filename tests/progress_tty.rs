//! The progress line on a real terminal: `regauth run` under a pseudo-terminal
//! (util-linux `script`), in check mode and for real. For every host step, the last
//! progress line drawn before the per-host lines must count every host of the step as
//! done, and its changed and failed counts must match the per-host lines.

mod support;

use support::world::{PASSWORD, USER, World};

/// Runs the command under `script` (stdout and stderr on one pseudo-terminal) and
/// returns everything the terminal received, escape sequences removed.
fn on_a_terminal(c: &std::process::Command) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let line: Vec<String> = std::iter::once(c.get_program())
        .chain(c.get_args())
        .map(|a| quote(&a.to_string_lossy()))
        .collect();
    let o = std::process::Command::new("script")
        .args(["-qfec", &line.join(" "), "/dev/null"])
        .current_dir(c.get_current_dir().unwrap())
        .env("COLUMNS", "200")
        .output()
        .expect("util-linux script");
    // CSI sequences (colours, cursor moves) out; the bar's cells stay.
    let mut out = String::new();
    let mut chars = o.stdout.into_iter();
    let mut bytes = Vec::new();
    while let Some(b) = chars.next() {
        if b == 0x1b {
            // ESC [ params final-letter
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
            continue;
        }
        bytes.push(if b == b'\r' { b'\n' } else { b });
    }
    out.push_str(&String::from_utf8_lossy(&bytes));
    out
}

/// The numbers of each `D/N hosts  changed C, failed F` drawn, in order.
fn bars(text: &str) -> Vec<[usize; 4]> {
    let mut found = Vec::new();
    for (i, _) in text.match_indices(" hosts  changed ") {
        let before = text[..i].rsplit(' ').next().unwrap_or_default();
        let after = &text[i + " hosts  changed ".len()..];
        let mut nums = before
            .split('/')
            .chain(after.split([',', ' ']).filter_map(|w| {
                let w = w.trim();
                (!w.is_empty() && w.chars().all(|c| c.is_ascii_digit())).then_some(w)
            }));
        let mut n = [0; 4];
        for x in &mut n {
            *x = nums
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(usize::MAX);
        }
        found.push(n);
    }
    found
}

/// Checks each host step of a run's terminal output; returns how many had a bar.
fn assert_bars_complete(out: &str, what: &str) -> usize {
    let mut with_bar = 0;
    for step in out.split("TASK [").skip(1) {
        let step = step.split("PLAY RECAP").next().unwrap();
        let Some(last) = bars(step).last().copied() else {
            continue;
        };
        with_bar += 1;
        let lines: Vec<&str> = step.lines().map(str::trim_start).collect();
        let count = |word: &str| lines.iter().filter(|l| l.starts_with(word)).count();
        let hosts = ["ok: [", "changed: [", "skipping: [", "fatal: ["].map(count);
        let title = step.lines().next().unwrap();
        let total: usize = hosts.iter().sum();
        assert_eq!(
            last,
            [total, total, hosts[1], hosts[3]],
            "{what}: step [{title}: the last progress line drawn (done, of, changed, failed) \
             for host lines ok/changed/skipping/fatal {hosts:?}:\n{step}"
        );
    }
    with_bar
}

#[test]
fn the_progress_line_counts_every_host_of_every_step() {
    let w = World::new(3);
    let inv = w.inventory(USER, PASSWORD);
    let check = on_a_terminal(&w.command("registry_auth.yml", &inv, &["--check"]));
    assert!(check.contains("PLAY RECAP"), "{check}");
    // Node files, master file, node restarts, master restart.
    assert_eq!(assert_bars_complete(&check, "--check"), 4, "{check}");
    let real = on_a_terminal(&w.command("registry_auth.yml", &inv, &[]));
    assert!(real.contains("PLAY RECAP"), "{real}");
    assert_eq!(assert_bars_complete(&real, "run"), 4, "{real}");
    assert_eq!(
        w.restarts(0),
        2,
        "node1: node and master restarted once: {real}"
    );
}
