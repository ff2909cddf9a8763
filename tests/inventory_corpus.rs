//! The inventory corpus: every case under `tests/corpus/inventory/` is run through the
//! built `regauth inventory` and compared with what the real `ansible-inventory`
//! printed for the same arguments (recorded by `tests/corpus/inventory/regen.sh`).
//!
//! One test runs every case and reports all failures at once, because a parser change
//! usually moves several cases and the whole picture is what a reviewer needs.

use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Fewer cases than this means the corpus was not found or was damaged.
const MIN_CASES: usize = 28;
/// How many differences to show per case before "...".
const MAX_DIFF_LINES: usize = 25;

/// What a case expects, read from the files next to its `args`.
enum Expect {
    /// `expected.json`: exit 0, stdout equal as JSON and byte for byte.
    Json(String),
    /// `expected.txt` (`--graph`): exit 0, stdout equal byte for byte.
    Text(String),
    /// `expected-error`: exit 4 and stderr naming this `file:line` (line 1 of the file).
    Error(String),
}

struct Case {
    name: String,
    dir: PathBuf,
    args: Vec<String>,
    expect: Expect,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/inventory")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn load_cases() -> Vec<Case> {
    let root = corpus_dir();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("reading {}: {e}", root.display()))
        .map(|e| e.expect("listing the corpus").path())
        .filter(|p| p.join("args").is_file())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .map(|dir| {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            let args = read(&dir.join("args"))
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            let expect = if dir.join("expected-error").is_file() {
                let text = read(&dir.join("expected-error"));
                let location = text.lines().next().unwrap_or_default().trim().to_owned();
                assert!(
                    !location.is_empty(),
                    "{name}: expected-error has no location line"
                );
                Expect::Error(location)
            } else if dir.join("expected.json").is_file() {
                Expect::Json(read(&dir.join("expected.json")))
            } else if dir.join("expected.txt").is_file() {
                Expect::Text(read(&dir.join("expected.txt")))
            } else {
                panic!("{name}: no expected.json, expected.txt or expected-error");
            };
            Case {
                name,
                dir,
                args,
                expect,
            }
        })
        .collect()
}

/// Runs one case; `Err` holds a report of everything that differs.
fn run(case: &Case) -> Result<(), String> {
    let mut cmd = assert_cmd::Command::cargo_bin("regauth").map_err(|e| e.to_string())?;
    let out = cmd
        .current_dir(&case.dir)
        .arg("inventory")
        .args(&case.args)
        // A developer's own vault settings must not change what the corpus sees.
        .env_remove("ANSIBLE_VAULT_PASSWORD_FILE")
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(60))
        .output()
        .map_err(|e| format!("could not run regauth: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code();
    let mut report = String::new();

    match &case.expect {
        Expect::Error(location) => {
            if code != Some(4) {
                let _ = writeln!(
                    report,
                    "exit status {code:?}, expected 4 (inventory parse error)"
                );
            }
            if !stderr.contains(location.as_str()) {
                let _ = writeln!(report, "stderr does not name `{location}`");
            }
        }
        Expect::Json(want) | Expect::Text(want) => {
            if code != Some(0) {
                let _ = writeln!(report, "exit status {code:?}, expected 0");
            }
            if let Expect::Json(_) = case.expect {
                match (
                    serde_json::from_str::<Value>(want),
                    serde_json::from_str::<Value>(&stdout),
                ) {
                    (Err(e), _) => {
                        let _ = writeln!(report, "expected.json is not JSON: {e}");
                    }
                    (Ok(_), Err(e)) if !stdout.is_empty() => {
                        let _ = writeln!(report, "stdout is not JSON: {e}");
                    }
                    (Ok(w), Ok(g)) if w != g => {
                        let mut lines = Vec::new();
                        json_diff("$", &w, &g, &mut lines);
                        let _ = writeln!(report, "stdout differs from expected.json as JSON:");
                        push_limited(&mut report, &lines);
                    }
                    (Ok(_), _) => {}
                }
            }
            if stdout.is_empty() {
                let _ = writeln!(report, "stdout is empty");
            } else if stdout != *want {
                let _ = writeln!(report, "stdout differs byte for byte (formatting):");
                push_limited(&mut report, &line_diff(want, &stdout));
            }
        }
    }

    if report.is_empty() {
        return Ok(());
    }
    let _ = writeln!(report, "  args: regauth inventory {}", case.args.join(" "));
    if !stderr.trim().is_empty() {
        let head: Vec<&str> = stderr.lines().take(8).collect();
        let _ = writeln!(report, "  stderr: {}", head.join("\n          "));
    }
    Err(report)
}

fn push_limited(report: &mut String, lines: &[String]) {
    for l in lines.iter().take(MAX_DIFF_LINES) {
        let _ = writeln!(report, "    {l}");
    }
    if lines.len() > MAX_DIFF_LINES {
        let _ = writeln!(report, "    ... and {} more", lines.len() - MAX_DIFF_LINES);
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "mapping",
    }
}

/// Lists differences as `path: expected X, got Y`, types included (10 is not "10").
fn json_diff(path: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                match g.get(k) {
                    Some(gv) => json_diff(&format!("{path}.{k}"), wv, gv, out),
                    None => out.push(format!("{path}.{k}: missing (expected {wv})")),
                }
            }
            for (k, gv) in g {
                if !w.contains_key(k) {
                    out.push(format!("{path}.{k}: unexpected {gv}"));
                }
            }
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => {
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                json_diff(&format!("{path}[{i}]"), wv, gv, out);
            }
        }
        _ if want == got => {}
        _ => out.push(format!(
            "{path}: expected {} {want}, got {} {got}",
            kind(want),
            kind(got)
        )),
    }
}

/// The lines that differ, with their numbers; enough to see a formatting mismatch.
fn line_diff(want: &str, got: &str) -> Vec<String> {
    let w: Vec<&str> = want.split('\n').collect();
    let g: Vec<&str> = got.split('\n').collect();
    let mut out = Vec::new();
    for i in 0..w.len().max(g.len()) {
        let (a, b) = (w.get(i), g.get(i));
        if a != b {
            out.push(format!(
                "line {}: expected {:?}",
                i + 1,
                a.copied().unwrap_or("<end>")
            ));
            out.push(format!(
                "line {}:      got {:?}",
                i + 1,
                b.copied().unwrap_or("<end>")
            ));
        }
    }
    out
}

#[test]
fn inventory_corpus_matches_ansible() {
    let cases = load_cases();
    assert!(
        cases.len() >= MIN_CASES,
        "only {} cases found in {}",
        cases.len(),
        corpus_dir().display()
    );
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| run(case).err().map(|r| format!("--- {}\n{r}", case.name)))
        .collect();
    let failed: Vec<&str> = failures
        .iter()
        .map(|f| {
            f.lines()
                .next()
                .unwrap_or_default()
                .trim_start_matches("--- ")
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} inventory corpus cases differ from ansible-inventory:\n{}\nfailing: {}",
        failures.len(),
        cases.len(),
        failures.join("\n"),
        failed.join(", ")
    );
}
