//! What `ansible-inventory` prints: `--list` JSON, `--host` JSON and `--graph`,
//! byte for byte (Python's `json.dumps(sort_keys=True, indent=4, ensure_ascii=False)`
//! and its float repr), with secret values masked unless asked for.

use super::data::{ALL, Data, Vars};
use super::value::Value;
use crate::redact::{MASK, is_secret_name};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Whether secret values are printed or masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    /// Replace them with the mask.
    Mask,
    /// Print them as they are.
    Show,
}

/// A JSON tree with Python's number formatting, built only for printing.
enum J {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<J>),
    Obj(BTreeMap<String, J>),
}

fn to_j(v: &Value, secrets: Secrets) -> J {
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::Int(*i),
        Value::Float(f) => J::Float(*f),
        Value::Str(s) => J::Str(s.clone()),
        Value::List(items) => J::List(items.iter().map(|i| to_j(i, secrets)).collect()),
        Value::Map(m) => J::Obj(
            m.iter()
                .map(|(k, v)| (k.clone(), masked(k, v, secrets)))
                .collect(),
        ),
        // ansible-inventory prints vault values still encrypted, password or not.
        Value::Vault(vs) => {
            let mut o = BTreeMap::new();
            o.insert("__ansible_vault".to_string(), J::Str(vs.ciphertext.clone()));
            J::Obj(o)
        }
    }
}

/// A named value, masked when its name says it is secret.
fn masked(name: &str, v: &Value, secrets: Secrets) -> J {
    if secrets == Secrets::Mask && is_secret_name(name) && !matches!(v, Value::Null) {
        return match v {
            Value::List(_) | Value::Map(_) => to_j(v, secrets),
            _ => J::Str(MASK.to_string()),
        };
    }
    to_j(v, secrets)
}

fn vars_j(vars: &Vars, secrets: Secrets) -> J {
    J::Obj(
        vars.iter()
            .map(|(k, v)| (k.clone(), masked(k, &v.value, secrets)))
            .collect(),
    )
}

/// Variables as `ansible-inventory --host` prints them.
pub fn host_json(vars: &Vars, secrets: Secrets) -> String {
    let mut s = String::new();
    write_j(&mut s, &vars_j(vars, secrets), 0);
    s
}

/// Hosts' merged variables, one entry per host, for `--list`.
pub fn list_json(data: &Data, hostvars: &[(usize, Vars)], secrets: Secrets) -> String {
    let mut top: BTreeMap<String, J> = BTreeMap::new();
    let available: Vec<bool> = {
        let mut a = vec![false; data.hosts.len()];
        for h in data.hosts_under(ALL) {
            a[h] = true;
        }
        a
    };
    let mut seen = vec![false; data.groups.len()];
    format_group(data, ALL, &available, &mut seen, &mut top);
    let mut hv = BTreeMap::new();
    for (h, vars) in hostvars {
        if !vars.is_empty() {
            hv.insert(data.hosts[*h].name.clone(), vars_j(vars, secrets));
        }
    }
    let mut meta = BTreeMap::new();
    meta.insert("hostvars".to_string(), J::Obj(hv));
    meta.insert("profile".to_string(), J::Str("inventory_legacy".into()));
    top.insert("_meta".to_string(), J::Obj(meta));
    let mut s = String::new();
    write_j(&mut s, &J::Obj(top), 0);
    s
}

fn format_group(
    data: &Data,
    g: usize,
    available: &[bool],
    seen: &mut [bool],
    out: &mut BTreeMap<String, J>,
) {
    let group = &data.groups[g];
    let mut entry = BTreeMap::new();
    if g != ALL {
        let hosts: Vec<J> = group
            .hosts
            .iter()
            .filter(|&&h| available[h])
            .map(|&h| J::Str(data.hosts[h].name.clone()))
            .collect();
        if !hosts.is_empty() {
            entry.insert("hosts".to_string(), J::List(hosts));
        }
    }
    let mut children = Vec::new();
    for &c in &group.children {
        children.push(J::Str(data.groups[c].name.clone()));
        if !seen[c] {
            format_group(data, c, available, seen, out);
            seen[c] = true;
        }
    }
    if !children.is_empty() {
        entry.insert("children".to_string(), J::List(children));
    }
    if !entry.is_empty() {
        out.insert(group.name.clone(), J::Obj(entry));
    }
}

/// The group tree as `ansible-inventory --graph` draws it.
pub fn graph(data: &Data, start: usize) -> String {
    let mut lines = Vec::new();
    graph_group(data, start, 0, &mut lines);
    lines.join("\n")
}

fn graph_name(name: &str, depth: usize) -> String {
    if depth == 0 {
        name.to_string()
    } else {
        format!("{}--{name}", "  |".repeat(depth))
    }
}

fn graph_group(data: &Data, g: usize, depth: usize, lines: &mut Vec<String>) {
    let group = &data.groups[g];
    lines.push(graph_name(&format!("@{}:", group.name), depth));
    for &c in &group.children {
        graph_group(data, c, depth + 1, lines);
    }
    if g != ALL {
        for &h in &group.hosts {
            lines.push(graph_name(&data.hosts[h].name, depth + 1));
        }
    }
}

fn write_j(out: &mut String, j: &J, indent: usize) {
    match j {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Int(i) => {
            let _ = write!(out, "{i}");
        }
        J::Float(f) => out.push_str(&python_float(*f)),
        J::Str(s) => write_str(out, s),
        J::List(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push_str("[\n");
            for (i, it) in items.iter().enumerate() {
                pad(out, indent + 1);
                write_j(out, it, indent + 1);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            pad(out, indent);
            out.push(']');
        }
        J::Obj(m) => {
            if m.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push_str("{\n");
            for (i, (k, v)) in m.iter().enumerate() {
                pad(out, indent + 1);
                write_str(out, k);
                out.push_str(": ");
                write_j(out, v, indent + 1);
                out.push_str(if i + 1 < m.len() { ",\n" } else { "\n" });
            }
            pad(out, indent);
            out.push('}');
        }
    }
}

fn pad(out: &mut String, indent: usize) {
    for _ in 0..indent {
        out.push_str("    ");
    }
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Python's `repr(float)`: shortest round-trip digits, exponent form outside 1e-4..1e16.
pub fn python_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "1.5e-7".
    let sci = format!("{:e}", f.abs());
    let (mant, exp) = sci.split_once('e').expect("{:e} always has an exponent");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let sign = if f < 0.0 { "-" } else { "" };
    let decpt = exp + 1;
    if !(-4 < decpt && decpt <= 16) {
        let m = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        let es = if exp < 0 { "-" } else { "+" };
        return format!("{sign}{m}e{es}{:02}", exp.abs());
    }
    if decpt <= 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-decpt) as usize))
    } else if decpt as usize >= digits.len() {
        format!(
            "{sign}{digits}{}.0",
            "0".repeat(decpt as usize - digits.len())
        )
    } else {
        format!(
            "{sign}{}.{}",
            &digits[..decpt as usize],
            &digits[decpt as usize..]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::python_float;

    #[test]
    fn floats_like_python_repr() {
        for (f, want) in [
            (100000.0, "100000.0"),
            (1.5, "1.5"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5e-7, "-2.5e-07"),
            (123.456, "123.456"),
            (0.1, "0.1"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
        ] {
            assert_eq!(python_float(f), want);
        }
    }
}
