//! What `ansible-inventory` prints: `--list` JSON, `--host` JSON and `--graph`,
//! byte for byte (Python's `json.dumps(sort_keys=True, indent=4, ensure_ascii=False)`
//! and its float repr), with secret values masked unless asked for.

use super::data::{ALL, Data};
use super::value::Value;
use super::vars::VarRefs;
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

/// What `--list` prints, built from borrowed pieces and written in one pass.
enum J<'a> {
    Str(&'a str),
    List(Vec<J<'a>>),
    Obj(BTreeMap<&'a str, J<'a>>),
    /// A host's merged variables, masked per name on the way out.
    Vars(VarRefs<'a>),
}

/// Variables as `ansible-inventory --host` prints them.
pub fn host_json(vars: &VarRefs<'_>, secrets: Secrets) -> String {
    let mut s = String::new();
    write_vars(&mut s, vars, secrets, 0);
    s
}

/// `--list`: groups with their hosts and children, then every host's merged variables.
pub fn list_json<'a>(
    data: &'a Data,
    hostvars: Vec<(usize, VarRefs<'a>)>,
    secrets: Secrets,
) -> String {
    let mut top: BTreeMap<&'a str, J<'a>> = BTreeMap::new();
    let mut available = vec![false; data.hosts.len()];
    for (h, _) in &hostvars {
        available[*h] = true;
    }
    let mut seen = vec![false; data.groups.len()];
    format_group(data, ALL, &available, &mut seen, &mut top);
    let mut hv = BTreeMap::new();
    for (h, vars) in hostvars {
        if !vars.is_empty() {
            hv.insert(data.hosts[h].name.as_str(), J::Vars(vars));
        }
    }
    let mut meta = BTreeMap::new();
    meta.insert("hostvars", J::Obj(hv));
    meta.insert("profile", J::Str("inventory_legacy"));
    top.insert("_meta", J::Obj(meta));
    let mut s = String::with_capacity(1 << 20);
    write_j(&mut s, &J::Obj(top), 0, secrets);
    s
}

fn format_group<'a>(
    data: &'a Data,
    g: usize,
    available: &[bool],
    seen: &mut [bool],
    out: &mut BTreeMap<&'a str, J<'a>>,
) {
    let group = &data.groups[g];
    let mut entry = BTreeMap::new();
    if g != ALL {
        let hosts: Vec<J> = group
            .hosts
            .iter()
            .filter(|&&h| available[h])
            .map(|&h| J::Str(data.hosts[h].name.as_str()))
            .collect();
        if !hosts.is_empty() {
            entry.insert("hosts", J::List(hosts));
        }
    }
    let mut children = Vec::new();
    for &c in &group.children {
        children.push(J::Str(data.groups[c].name.as_str()));
        if !seen[c] {
            format_group(data, c, available, seen, out);
            seen[c] = true;
        }
    }
    if !children.is_empty() {
        entry.insert("children", J::List(children));
    }
    if !entry.is_empty() {
        out.insert(group.name.as_str(), J::Obj(entry));
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

fn write_j(out: &mut String, j: &J<'_>, indent: usize, secrets: Secrets) {
    match j {
        J::Str(s) => write_str(out, s),
        J::List(items) => write_seq(out, items, indent, |out, it, ind| {
            write_j(out, it, ind, secrets)
        }),
        J::Obj(m) => write_map(
            out,
            m.iter().map(|(k, v)| (*k, v)),
            indent,
            |out, _, v, ind| write_j(out, v, ind, secrets),
        ),
        J::Vars(vars) => write_vars(out, vars, secrets, indent),
    }
}

fn write_vars(out: &mut String, vars: &VarRefs<'_>, secrets: Secrets, indent: usize) {
    write_map(
        out,
        vars.iter().map(|(k, v)| (*k, &v.value)),
        indent,
        |out, k, v, ind| write_named(out, k, v, secrets, ind),
    );
}

/// A value under `name`: masked when the name says it is secret (lists and maps are
/// walked instead, so `password` keys inside them are masked).
fn write_named(out: &mut String, name: &str, v: &Value, secrets: Secrets, indent: usize) {
    if secrets == Secrets::Mask
        && is_secret_name(name)
        && !matches!(v, Value::Null | Value::List(_) | Value::Map(_))
    {
        write_str(out, MASK);
    } else {
        write_value(out, v, secrets, indent);
    }
}

fn write_value(out: &mut String, v: &Value, secrets: Secrets, indent: usize) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&python_float(*f)),
        Value::Str(s) => write_str(out, s),
        Value::List(items) => write_seq(out, items, indent, |out, it, ind| {
            write_value(out, it, secrets, ind)
        }),
        Value::Map(m) => write_map(
            out,
            m.iter().map(|(k, v)| (k.as_str(), v)),
            indent,
            |out, k, v, ind| write_named(out, k, v, secrets, ind),
        ),
        // ansible-inventory prints vault values still encrypted, password or not.
        Value::Vault(vs) => {
            out.push_str("{\n");
            pad(out, indent + 1);
            write_str(out, "__ansible_vault");
            out.push_str(": ");
            write_str(out, &vs.ciphertext);
            out.push('\n');
            pad(out, indent);
            out.push('}');
        }
    }
}

fn write_seq<T>(
    out: &mut String,
    items: &[T],
    indent: usize,
    each: impl Fn(&mut String, &T, usize),
) {
    if items.is_empty() {
        out.push_str("[]");
        return;
    }
    out.push_str("[\n");
    for (i, it) in items.iter().enumerate() {
        pad(out, indent + 1);
        each(out, it, indent + 1);
        out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
    }
    pad(out, indent);
    out.push(']');
}

/// A JSON object with sorted keys (Python's sort_keys=True compares code points, as
/// Rust's str ordering does).
fn write_map<'v, T: 'v>(
    out: &mut String,
    entries: impl Iterator<Item = (&'v str, &'v T)>,
    indent: usize,
    each: impl Fn(&mut String, &str, &T, usize),
) {
    let mut entries: Vec<(&str, &T)> = entries.collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    if entries.is_empty() {
        out.push_str("{}");
        return;
    }
    out.push_str("{\n");
    let n = entries.len();
    for (i, (k, v)) in entries.into_iter().enumerate() {
        pad(out, indent + 1);
        write_str(out, k);
        out.push_str(": ");
        each(out, k, v, indent + 1);
        out.push_str(if i + 1 < n { ",\n" } else { "\n" });
    }
    pad(out, indent);
    out.push('}');
}

fn pad(out: &mut String, indent: usize) {
    for _ in 0..indent {
        out.push_str("    ");
    }
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    // Copy runs that need no escaping in one go; most strings have none.
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        out.push_str(&s[start..i]);
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                let _ = write!(out, "\\u{:04x}", b);
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
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

#[cfg(test)]
mod string_tests {
    #[test]
    fn escapes_like_python_json() {
        // json.dumps('a"b\\c\nd\x01é\t', ensure_ascii=False)
        let mut s = String::new();
        super::write_str(&mut s, "a\"b\\c\nd\u{1}é\t");
        assert_eq!(s, r#""a\"b\\c\nd\u0001é\t""#);
    }
}
