//! `serial` batches against the real Ansible: ansible-core's own
//! `PlaybookExecutor._get_serialized_batches` and `pct_to_int`
//! (tests/oracles/ansible_serial.py) on numbers, percentages and lists, on fleets
//! from 1 to 2,000 hosts, compared with regauth's `Serial::batches`.

use regauth::inventory::Value;
use regauth::playbook::Serial;
use std::io::Write;
use std::process::{Command, Stdio};

fn to_value(j: &serde_json::Value) -> Value {
    match j {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(Value::Int)
            .unwrap_or_else(|| Value::Float(n.as_f64().unwrap())),
        serde_json::Value::String(s) => Value::Str(s.clone()),
        serde_json::Value::Array(a) => Value::List(a.iter().map(to_value).collect()),
        serde_json::Value::Object(_) => unreachable!("no mappings among the cases"),
    }
}

#[test]
fn serial_batches_match_ansible() {
    let mut serials: Vec<serde_json::Value> = Vec::new();
    for n in [0, 1, 2, 3, 5, 7, 10, 50] {
        serials.push(n.into());
        serials.push(format!("{n}").into());
    }
    serials.push((-1).into());
    serials.push(2.7.into());
    for p in [
        0, 1, 3, 7, 10, 12, 15, 20, 25, 29, 30, 33, 50, 57, 66, 99, 100, 150, -10,
    ] {
        serials.push(format!("{p}%").into());
    }
    for list in [
        serde_json::json!([1, "10%", "50%"]),
        serde_json::json!([1, 5, 10]),
        serde_json::json!(["1%", "29%"]),
        serde_json::json!([2, 0]),
        serde_json::json!([3, "0%", 1]),
        serde_json::json!([]),
        serde_json::Value::Null,
    ] {
        serials.push(list);
    }
    let mut cases = Vec::new();
    for s in &serials {
        for hosts in [1usize, 2, 3, 7, 10, 13, 60, 99, 100, 101, 997, 1000, 2000] {
            cases.push((s.clone(), hosts));
        }
    }
    let input: String = cases
        .iter()
        .map(|(s, n)| format!("{}\n", serde_json::json!([s, n])))
        .collect();
    let mut child = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/oracles/ansible_serial.py"
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with ansible-core");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the Ansible oracle failed");
    let lines: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(lines.len(), cases.len());
    let mut differ = Vec::new();
    for ((serial, hosts), line) in cases.iter().zip(lines) {
        let want: Vec<usize> = serde_json::from_str(line).expect(line);
        let got = Serial::from_value(&to_value(serial))
            .unwrap_or_else(|e| panic!("{serial}: {e}"))
            .batches(*hosts);
        if got != want {
            differ.push(format!(
                "serial {serial} on {hosts}: ansible {want:?}, regauth {got:?}"
            ));
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {} differ:\n{}",
        differ.len(),
        cases.len(),
        differ.join("\n")
    );
}
