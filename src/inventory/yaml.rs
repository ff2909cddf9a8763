//! YAML as Ansible loads it: PyYAML's YAML 1.1 scalar resolution (`yes`/`on` are
//! booleans, `0644` is octal, `1:30` is sexagesimal, `1.5e3` stays a string), merge
//! keys, anchors, `!vault` and `!unsafe` tags, and a line number on every node so
//! errors name file and line. serde_yaml/serde_norway resolve by YAML 1.2 and drop
//! tags; serde-saphyr hides the node positions; so this reads saphyr-parser's events.
//! regauth's playbooks are read with it too, for the same line numbers.

use super::error::{InventoryError, Origin};
use super::value::{Value, VaultString};
use indexmap::IndexMap;
use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::HashMap;
use std::path::Path;

/// A YAML node with the line it starts on.
#[derive(Debug, Clone)]
pub struct Node {
    /// The node's content.
    pub kind: Kind,
    /// 1-based line.
    pub line: usize,
}

/// What a node holds.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A resolved scalar.
    Scalar(Value),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping with string keys (keys are stringified as Ansible's loader would).
    Map(Vec<(String, Node)>),
}

impl Node {
    /// The node as a plain value.
    pub fn to_value(&self) -> Value {
        match &self.kind {
            Kind::Scalar(v) => v.clone(),
            Kind::Seq(items) => Value::List(items.iter().map(Node::to_value).collect()),
            Kind::Map(pairs) => {
                let mut m = IndexMap::new();
                for (k, v) in pairs {
                    m.insert(k.clone(), v.to_value());
                }
                Value::Map(m)
            }
        }
    }

    /// True for an empty document or an explicit null.
    pub fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Scalar(Value::Null))
    }
}

/// Decrypts `!vault` values as they are read; `None` keeps them encrypted.
pub type Decrypt<'a> = &'a dyn Fn(&str) -> Result<secrecy::SecretString, String>;

/// Parses one YAML document (the first one, as Ansible's loader does).
pub fn parse(
    text: &str,
    file: &Path,
    decrypt: Option<Decrypt<'_>>,
) -> Result<Option<Node>, InventoryError> {
    let mut b = Builder {
        file,
        decrypt,
        anchors: HashMap::new(),
    };
    let mut parser = Parser::new_from_str(text);
    let mut events: Vec<(Event<'_>, Span)> = Vec::new();
    for ev in &mut parser {
        match ev {
            Ok(e) => events.push(e),
            Err(e) => {
                return Err(InventoryError::new(
                    Origin::at(file, e.marker().line().max(1)),
                    format!(
                        "YAML syntax error: {} (column {})",
                        e.info(),
                        e.marker().col() + 1
                    ),
                ));
            }
        }
    }
    let mut i = 0;
    while i < events.len() {
        if let Event::DocumentStart(_) = events[i].0 {
            i += 1;
            if i < events.len() && !matches!(events[i].0, Event::DocumentEnd) {
                let node = b.node(&events, &mut i)?;
                return Ok(Some(node));
            }
            return Ok(None);
        }
        i += 1;
    }
    Ok(None)
}

struct Builder<'a, 'd> {
    file: &'a Path,
    decrypt: Option<Decrypt<'d>>,
    anchors: HashMap<usize, Node>,
}

impl Builder<'_, '_> {
    fn err(&self, line: usize, msg: impl Into<String>) -> InventoryError {
        InventoryError::new(Origin::at(self.file, line.max(1)), msg)
    }

    fn node(&mut self, evs: &[(Event<'_>, Span)], i: &mut usize) -> Result<Node, InventoryError> {
        let (ev, span) = &evs[*i];
        let line = span.start.line();
        *i += 1;
        let (node, anchor) = match ev {
            Event::Alias(id) => {
                let n = self
                    .anchors
                    .get(id)
                    .cloned()
                    .ok_or_else(|| self.err(line, "alias to an unknown anchor"))?;
                return Ok(Node { kind: n.kind, line });
            }
            Event::Scalar(text, style, anchor, tag) => {
                let value = self.scalar(text, *style, tag.as_deref(), line)?;
                (
                    Node {
                        kind: Kind::Scalar(value),
                        line,
                    },
                    *anchor,
                )
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                while !matches!(evs.get(*i).map(|e| &e.0), Some(Event::SequenceEnd) | None) {
                    items.push(self.node(evs, i)?);
                }
                *i += 1;
                (
                    Node {
                        kind: Kind::Seq(items),
                        line,
                    },
                    *anchor,
                )
            }
            Event::MappingStart(anchor, _) => {
                let mut pairs: Vec<(String, Node)> = Vec::new();
                let mut merges: Vec<Node> = Vec::new();
                while !matches!(evs.get(*i).map(|e| &e.0), Some(Event::MappingEnd) | None) {
                    let is_merge = matches!(&evs[*i].0, Event::Scalar(t, ScalarStyle::Plain, _, None) if t == "<<");
                    let key = self.node(evs, i)?;
                    let val = self.node(evs, i)?;
                    if is_merge {
                        merges.push(val);
                        continue;
                    }
                    let k = key_string(&key)
                        .ok_or_else(|| self.err(key.line, "a mapping key must be a scalar"))?;
                    if let Some(slot) = pairs.iter_mut().find(|(ek, _)| *ek == k) {
                        // PyYAML keeps the last value for a duplicate key (Ansible warns).
                        slot.1 = val;
                    } else {
                        pairs.push((k, val));
                    }
                }
                *i += 1;
                // Merge keys: explicit keys win, earlier merged maps win over later ones.
                for m in merges {
                    let sources: Vec<Node> = match m.kind {
                        Kind::Map(_) => vec![m],
                        Kind::Seq(items) => items,
                        _ => {
                            return Err(
                                self.err(m.line, "'<<' must merge a mapping or a list of mappings")
                            );
                        }
                    };
                    for src in sources {
                        let Kind::Map(src_pairs) = src.kind else {
                            return Err(self
                                .err(src.line, "'<<' must merge a mapping or a list of mappings"));
                        };
                        for (k, v) in src_pairs {
                            if !pairs.iter().any(|(ek, _)| *ek == k) {
                                pairs.push((k, v));
                            }
                        }
                    }
                }
                (
                    Node {
                        kind: Kind::Map(pairs),
                        line,
                    },
                    *anchor,
                )
            }
            other => return Err(self.err(line, format!("unexpected YAML event {other:?}"))),
        };
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }

    fn scalar(
        &self,
        text: &str,
        style: ScalarStyle,
        tag: Option<&saphyr_parser::Tag>,
        line: usize,
    ) -> Result<Value, InventoryError> {
        if let Some(tag) = tag {
            let name = format!("{}{}", tag.handle, tag.suffix);
            return match name.as_str() {
                "!vault" | "!vault-encrypted" => {
                    let plaintext = match self.decrypt {
                        Some(d) => Some(d(text).map_err(|e| self.err(line, e))?),
                        None => None,
                    };
                    Ok(Value::Vault(VaultString {
                        ciphertext: text.to_string(),
                        plaintext,
                    }))
                }
                "!unsafe" | "!!str" | "tag:yaml.org,2002:str" => Ok(Value::Str(text.to_string())),
                "!!int" | "tag:yaml.org,2002:int" => resolve_int(text)
                    .map(Value::Int)
                    .ok_or_else(|| self.err(line, format!("'{text}' is not an integer"))),
                "!!float" | "tag:yaml.org,2002:float" => resolve_float(text)
                    .map(Value::Float)
                    .ok_or_else(|| self.err(line, format!("'{text}' is not a float"))),
                "!!bool" | "tag:yaml.org,2002:bool" => resolve_bool(text)
                    .map(Value::Bool)
                    .ok_or_else(|| self.err(line, format!("'{text}' is not a boolean"))),
                "!!null" | "tag:yaml.org,2002:null" => Ok(Value::Null),
                // A non-specific tag (`!`) forces a string.
                "!" => Ok(Value::Str(text.to_string())),
                other => Err(self.err(line, format!("unknown YAML tag {other}"))),
            };
        }
        if style != ScalarStyle::Plain {
            return Ok(Value::Str(text.to_string()));
        }
        Ok(resolve_plain(text))
    }
}

fn key_string(n: &Node) -> Option<String> {
    match &n.kind {
        Kind::Scalar(v) => Some(match v {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Bool(b) => if *b { "true" } else { "false" }.into(),
            Value::Null => "null".into(),
            Value::Float(f) => super::render::python_float(*f),
            Value::Vault(v) => v.ciphertext.clone(),
            _ => return None,
        }),
        _ => None,
    }
}

/// PyYAML's implicit resolvers for a plain scalar (YAML 1.1).
pub fn resolve_plain(text: &str) -> Value {
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Value::Null;
    }
    if let Some(b) = resolve_bool(text) {
        return Value::Bool(b);
    }
    if let Some(i) = resolve_int(text) {
        return Value::Int(i);
    }
    if let Some(f) = resolve_float(text) {
        return Value::Float(f);
    }
    if let Some(ts) = resolve_timestamp(text) {
        return Value::Str(ts);
    }
    Value::Str(text.to_string())
}

/// PyYAML's timestamp, as Ansible's JSON encoder prints the resulting date or
/// datetime (`isoformat()`): `2024-01-31`, `2024-01-31T10:20:30.500000+01:00`.
fn resolve_timestamp(t: &str) -> Option<String> {
    let b = t.as_bytes();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && digits(&t[..4])
        && digits(&t[5..7])
        && digits(&t[8..])
    {
        return Some(t.to_string());
    }
    // YYYY-M[M]-D[D](T|t|blanks)H[H]:MM:SS(.fraction)?(blanks)?(Z|+-H[H](:MM)?)?
    let (date, rest) = t.split_at(t.find(['T', 't', ' ', '\t'])?);
    let mut dp = date.split('-');
    let (y, mo, d) = (dp.next()?, dp.next()?, dp.next()?);
    let one_or_two = |s: &str| (1..=2).contains(&s.len()) && digits(s);
    if dp.next().is_some() || y.len() != 4 || !digits(y) || !one_or_two(mo) || !one_or_two(d) {
        return None;
    }
    let rest = rest
        .strip_prefix(['T', 't'])
        .unwrap_or(rest)
        .trim_start_matches([' ', '\t']);
    let tz_at = rest.find(['Z', '+', '-', ' ', '\t']).unwrap_or(rest.len());
    let (time, tz) = rest.split_at(tz_at);
    let (hms, frac) = match time.split_once('.') {
        Some((h, f)) if f.bytes().all(|c| c.is_ascii_digit()) => (h, Some(f)),
        Some(_) => return None,
        None => (time, None),
    };
    let mut tp = hms.split(':');
    let (h, mi, s) = (tp.next()?, tp.next()?, tp.next()?);
    if tp.next().is_some()
        || !one_or_two(h)
        || mi.len() != 2
        || !digits(mi)
        || s.len() != 2
        || !digits(s)
    {
        return None;
    }
    let tz = tz.trim_start_matches([' ', '\t']);
    let tz_text = if tz.is_empty() {
        String::new()
    } else if tz == "Z" {
        "+00:00".to_string()
    } else {
        let (sign, body) = tz.split_at(1);
        let (th, tm) = body.split_once(':').unwrap_or((body, "00"));
        if !one_or_two(th) || tm.len() != 2 || !digits(tm) {
            return None;
        }
        format!("{sign}{th:0>2}:{tm}")
    };
    let frac_text = match frac {
        Some(f) if !f.is_empty() => {
            let f6: String = format!("{f:0<6}").chars().take(6).collect();
            if f6 == "000000" {
                String::new()
            } else {
                format!(".{f6}")
            }
        }
        _ => String::new(),
    };
    Some(format!(
        "{y}-{mo:0>2}-{d:0>2}T{h:0>2}:{mi}:{s}{frac_text}{tz_text}"
    ))
}

fn resolve_bool(t: &str) -> Option<bool> {
    match t {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

fn split_sign(t: &str) -> (i64, &str) {
    if let Some(r) = t.strip_prefix('-') {
        (-1, r)
    } else {
        (1, t.strip_prefix('+').unwrap_or(t))
    }
}

/// `[-+]?0b[01_]+ | [-+]?0[0-7_]+ | [-+]?(0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+ | sexagesimal`.
fn resolve_int(t: &str) -> Option<i64> {
    let (sign, body) = split_sign(t);
    if body.is_empty() {
        return None;
    }
    let digits =
        |s: &str, ok: fn(char) -> bool| !s.is_empty() && s.chars().all(|c| ok(c) || c == '_');
    let clean = |s: &str| s.replace('_', "");
    let v: i64 = if let Some(b) = body.strip_prefix("0b") {
        if !digits(b, |c| c == '0' || c == '1') {
            return None;
        }
        i64::from_str_radix(&clean(b), 2).ok()?
    } else if let Some(h) = body.strip_prefix("0x") {
        if !digits(h, |c| c.is_ascii_hexdigit()) {
            return None;
        }
        i64::from_str_radix(&clean(h), 16).ok()?
    } else if body == "0" {
        0
    } else if let Some(o) = body.strip_prefix('0') {
        if !digits(o, |c| ('0'..='7').contains(&c)) {
            return None;
        }
        let c = clean(o);
        if c.is_empty() {
            0
        } else {
            i64::from_str_radix(&c, 8).ok()?
        }
    } else if body.contains(':') {
        // [1-9][0-9_]*(:[0-5]?[0-9])+
        let mut parts = body.split(':');
        let first = parts.next()?;
        if !first.starts_with(|c: char| ('1'..='9').contains(&c))
            || !digits(first, |c| c.is_ascii_digit())
        {
            return None;
        }
        let mut v: i64 = clean(first).parse().ok()?;
        for p in parts {
            if p.is_empty() || p.len() > 2 || !p.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            if p.len() == 2 && p.as_bytes()[0] > b'5' {
                return None;
            }
            v = v.checked_mul(60)?.checked_add(p.parse::<i64>().ok()?)?;
        }
        v
    } else {
        if !body.starts_with(|c: char| ('1'..='9').contains(&c))
            || !digits(body, |c| c.is_ascii_digit())
        {
            return None;
        }
        clean(body).parse().ok()?
    };
    Some(sign * v)
}

/// PyYAML's float: needs a `.` (or is sexagesimal, .inf, .nan); the exponent needs a sign.
fn resolve_float(t: &str) -> Option<f64> {
    match t {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let (sign, body) = split_sign(t);
    let sign = sign as f64;
    let is_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit() || c == '_');
    if body.contains(':') {
        // [0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*
        let (int_part, frac) = body.split_once('.')?;
        if !is_digits(frac) {
            return None;
        }
        let mut parts = int_part.split(':');
        let first = parts.next()?;
        if first.is_empty() || !first.starts_with(|c: char| c.is_ascii_digit()) || !is_digits(first)
        {
            return None;
        }
        let mut v: f64 = first.replace('_', "").parse().ok()?;
        for p in parts {
            if p.is_empty()
                || p.len() > 2
                || !p.chars().all(|c| c.is_ascii_digit())
                || (p.len() == 2 && p.as_bytes()[0] > b'5')
            {
                return None;
            }
            v = v * 60.0 + p.parse::<f64>().ok()?;
        }
        let f: f64 = format!("0.{}", frac.replace('_', ""))
            .parse()
            .unwrap_or(0.0);
        return Some(sign * (v + f));
    }
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(p) => (&body[..p], Some(&body[p + 1..])),
        None => (body, None),
    };
    let (ip, fp) = mantissa.split_once('.')?;
    if ip.is_empty() {
        // \.[0-9_]+ (no sign allowed on this form in PyYAML)
        if fp.is_empty() || !is_digits(fp) || t.starts_with(['-', '+']) {
            return None;
        }
    } else if !ip.starts_with(|c: char| c.is_ascii_digit()) || !is_digits(ip) || !is_digits(fp) {
        return None;
    }
    if let Some(e) = exp {
        let digits = e.strip_prefix(['-', '+'])?;
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
    }
    let clean = body.replace('_', "");
    let clean = if clean.starts_with('.') {
        format!("0{clean}")
    } else {
        clean
    };
    clean.parse::<f64>().ok().map(|f| sign * f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_1_1_scalars_like_pyyaml() {
        let cases: Vec<(&str, Value)> = vec![
            ("yes", Value::Bool(true)),
            ("On", Value::Bool(true)),
            ("off", Value::Bool(false)),
            ("y", Value::Str("y".into())),
            ("0644", Value::Int(420)),
            ("1_000", Value::Int(1000)),
            ("0x1F", Value::Int(31)),
            ("0b11", Value::Int(3)),
            ("1:30", Value::Int(90)),
            ("-12", Value::Int(-12)),
            ("1.5", Value::Float(1.5)),
            ("1.5e3", Value::Str("1.5e3".into())),
            ("1.5e+3", Value::Float(1500.0)),
            ("1e5", Value::Str("1e5".into())),
            (".5", Value::Float(0.5)),
            ("1.", Value::Float(1.0)),
            ("~", Value::Null),
            ("", Value::Null),
            ("null", Value::Null),
            ("2020-01-01", Value::Str("2020-01-01".into())),
            (
                "2024-01-31 10:20:30",
                Value::Str("2024-01-31T10:20:30".into()),
            ),
            (
                "2001-12-14t21:59:43.10-05:00",
                Value::Str("2001-12-14T21:59:43.100000-05:00".into()),
            ),
            (
                "2001-12-14 21:59:43.10 Z",
                Value::Str("2001-12-14T21:59:43.100000+00:00".into()),
            ),
            ("2024-1-5 1:02:03", Value::Str("2024-01-05T01:02:03".into())),
            ("09", Value::Str("09".into())),
            ("v3.11", Value::Str("v3.11".into())),
        ];
        for (t, want) in cases {
            let got = resolve_plain(t);
            match (&got, &want) {
                (Value::Float(a), Value::Float(b)) => assert!((a - b).abs() < 1e-9, "{t}"),
                _ => assert_eq!(got, want, "{t}"),
            }
        }
    }

    #[test]
    fn lines_tags_and_merges() {
        let text = "base: &b\n  x: 1\nall:\n  vars:\n    <<: *b\n    q: 'yes'\n    p: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n      3132\n";
        let n = parse(text, Path::new("t.yml"), None).unwrap().unwrap();
        let Kind::Map(top) = &n.kind else { panic!() };
        let (_, all) = &top[1];
        assert_eq!(all.line, 4);
        let v = all.to_value();
        let Value::Map(m) = v else { panic!() };
        let Value::Map(vars) = &m["vars"] else {
            panic!()
        };
        assert_eq!(vars["q"], Value::Str("yes".into()));
        assert_eq!(vars["x"], Value::Int(1));
        assert!(
            matches!(&vars["p"], Value::Vault(v) if v.ciphertext.starts_with("$ANSIBLE_VAULT"))
        );
    }

    #[test]
    fn syntax_error_names_line() {
        let e = parse(
            "all:\n  hosts:\n    a: [1,\n  bad: }\n",
            Path::new("inv.yml"),
            None,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("inv.yml:"), "{e}");
    }
}

#[cfg(test)]
mod prop {
    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        /// Any text: no panic; a rejection names the file.
        #[test]
        fn never_panics(text in "[a-z0-9:\\-\\[\\]{}!&*|>'\" \\n]{0,80}") {
            if let Err(e) = super::parse(&text, std::path::Path::new("f.yml"), None) {
                proptest::prop_assert!(e.to_string().starts_with("f.yml:"), "{e}");
            }
        }
    }
}
