//! Ansible's INI inventory format. This is a line format of its own, not INI:
//! host lines carry `host[1:3]:port k=v` (split like Python's shlex), `:vars`
//! lines are `k = v` with the raw rest of the line as the value, and every value
//! goes through Python's `literal_eval`. rust-ini and `ini` split keys on `:` and
//! know nothing of host lines, so neither is used.

use super::data::{Data, UNGROUPED};
use super::error::{InventoryError, Origin};
use super::{hostpattern, pyliteral, shlex};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Hosts,
    Children,
    Vars,
}

struct Pending {
    line: usize,
    state: State,
    parents: Vec<usize>,
}

/// Reads one INI inventory source into `data`.
pub fn parse(text: &str, file: &Path, data: &mut Data) -> Result<(), InventoryError> {
    let file: Arc<Path> = Arc::from(file);
    let mut pending: HashMap<String, Pending> = HashMap::new();
    let mut pending_order: Vec<String> = Vec::new();
    let mut group = UNGROUPED;
    let mut state = State::Hosts;
    for (idx, raw) in text.lines().enumerate() {
        let lineno = idx + 1;
        let origin = Origin::shared(file.clone(), lineno);
        let err = |msg: String| InventoryError::new(origin.clone(), msg);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some((name, kind)) = section(line) {
            state = match kind {
                None | Some("hosts") => State::Hosts,
                Some("children") => State::Children,
                Some("vars") => State::Vars,
                Some(other) => {
                    return Err(err(format!(
                        "Section [{name}:{other}] has unknown type: {other} (use [{name}], [{name}:children] or [{name}:vars])"
                    )));
                }
            };
            if data.group(name).is_none() {
                if state == State::Vars && !pending.contains_key(name) {
                    pending.insert(
                        name.to_string(),
                        Pending {
                            line: lineno,
                            state,
                            parents: vec![],
                        },
                    );
                    pending_order.push(name.to_string());
                }
                data.add_group(name);
            }
            group = data.group(name).expect("group just added");
            if state != State::Vars
                && let Some(p) = pending.get(name)
            {
                match p.state {
                    State::Children => add_pending_children(name, &mut pending, data, &origin)?,
                    State::Vars => {
                        pending.remove(name);
                    }
                    State::Hosts => {}
                }
            }
            continue;
        } else if line.starts_with('[') && line.ends_with(']') {
            return Err(err(format!(
                "Invalid section entry: '{line}'. Please make sure that there are no spaces in the section entry, and that there are no other invalid characters"
            )));
        }
        match state {
            State::Hosts => {
                let tokens = shlex::split(line)
                    .map_err(|e| err(format!("Error parsing host definition '{line}': {e}")))?;
                let Some(first) = tokens.first() else {
                    continue;
                };
                let (names, port) = hostpattern::expand(first).map_err(err)?;
                let mut vars = Vec::new();
                for t in &tokens[1..] {
                    let Some((k, v)) = t.split_once('=') else {
                        return Err(err(format!(
                            "Expected key=value host variable assignment, got: {t}"
                        )));
                    };
                    vars.push((k.to_string(), pyliteral::parse_value(v)));
                }
                for name in names {
                    let h = data.add_host(&name, group, port, &origin);
                    for (k, v) in &vars {
                        data.set_host_var(h, k, v.clone(), origin.clone());
                    }
                }
            }
            State::Vars => {
                let Some((k, v)) = line.split_once('=') else {
                    return Err(err(format!("Expected key=value, got: {line}")));
                };
                data.set_group_var(
                    group,
                    k.trim(),
                    pyliteral::parse_value(v.trim()),
                    origin.clone(),
                )?;
            }
            State::Children => {
                let child = group_name(line)
                    .ok_or_else(|| err(format!("Expected group name, got: {line}")))?;
                match data.group(child) {
                    Some(c) => data.add_child(group, c, &origin)?,
                    None => match pending.get_mut(child) {
                        Some(p) => p.parents.push(group),
                        None => {
                            pending.insert(
                                child.to_string(),
                                Pending {
                                    line: lineno,
                                    state: State::Children,
                                    parents: vec![group],
                                },
                            );
                            pending_order.push(child.to_string());
                        }
                    },
                }
            }
        }
    }
    for name in pending_order {
        let Some(p) = pending.get(&name) else {
            continue;
        };
        let origin = Origin::shared(file.clone(), p.line);
        return Err(match p.state {
            State::Vars => InventoryError::new(
                origin,
                format!(
                    "Section [{name}:vars] not valid for undefined group '{name}': define [{name}] or [{name}:children] too."
                ),
            ),
            _ => {
                let parent =
                    &data.groups[*p.parents.last().expect("children pending has a parent")].name;
                InventoryError::new(
                    origin,
                    format!(
                        "Section [{parent}:children] includes undefined group '{name}': add a [{name}] section."
                    ),
                )
            }
        });
    }
    Ok(())
}

fn add_pending_children(
    name: &str,
    pending: &mut HashMap<String, Pending>,
    data: &mut Data,
    origin: &Origin,
) -> Result<(), InventoryError> {
    let Some(p) = pending.remove(name) else {
        return Ok(());
    };
    let child = data.add_group(name);
    for parent in p.parents {
        data.add_child(parent, child, origin)?;
        let pname = data.groups[parent].name.clone();
        if pending
            .get(&pname)
            .is_some_and(|pp| pp.state == State::Children)
        {
            add_pending_children(&pname, pending, data, origin)?;
        }
    }
    Ok(())
}

/// `[name]` or `[name:kind]`, optionally followed by a comment.
fn section(line: &str) -> Option<(&str, Option<&str>)> {
    let rest = line.strip_prefix('[')?;
    let close = rest.find(']')?;
    let inner = &rest[..close];
    let after = rest[close + 1..].trim_start();
    if !(after.is_empty() || after.starts_with('#')) {
        return None;
    }
    let (name, kind) = match inner.split_once(':') {
        Some((n, k)) => (n, Some(k)),
        None => (inner, None),
    };
    if name.is_empty() || name.chars().any(|c| c == ']' || c.is_whitespace()) {
        return None;
    }
    if let Some(k) = kind
        && (k.is_empty() || !k.chars().all(|c| c.is_alphanumeric() || c == '_'))
    {
        return None;
    }
    Some((name, kind))
}

/// A `[g:children]` line: a name without `:`, `]` or blanks, then an optional comment.
fn group_name(line: &str) -> Option<&str> {
    let end = line
        .find(|c: char| c == ':' || c == ']' || c.is_whitespace())
        .unwrap_or(line.len());
    let name = &line[..end];
    let rest = line[end..].trim_start();
    if name.is_empty() || !(rest.is_empty() || rest.starts_with('#')) {
        return None;
    }
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::value::Value;

    fn load(text: &str) -> Result<Data, InventoryError> {
        let mut d = Data::default();
        parse(text, Path::new("hosts.ini"), &mut d)?;
        d.reconcile();
        Ok(d)
    }

    fn hvar(d: &Data, h: &str, k: &str) -> Value {
        d.hosts[d.host_index[h]].vars[k].value.clone()
    }

    #[test]
    fn sections_hosts_and_values() {
        let d = load(
            "[OSEv3:children]\nmasters\n[OSEv3:vars]\nx=True\ny=\"True\"\n[masters]\nm1:2222 a=\"True\" b=10 c='10' pw='a#b;c:d'\n",
        )
        .unwrap();
        let os = d.group("OSEv3").unwrap();
        assert_eq!(d.groups[os].children, vec![d.group("masters").unwrap()]);
        assert_eq!(d.groups[os].vars["x"].value, Value::Bool(true));
        assert_eq!(d.groups[os].vars["y"].value, Value::Str("True".into()));
        assert_eq!(hvar(&d, "m1", "a"), Value::Bool(true));
        assert_eq!(hvar(&d, "m1", "b"), Value::Int(10));
        assert_eq!(hvar(&d, "m1", "c"), Value::Int(10));
        assert_eq!(hvar(&d, "m1", "pw"), Value::Str("a#b;c:d".into()));
        assert_eq!(hvar(&d, "m1", "ansible_port"), Value::Int(2222));
        assert_eq!(d.groups[os].vars["x"].origin.to_string(), "hosts.ini:4");
    }

    #[test]
    fn ungrouped_hosts() {
        let d = load("lonely\nboth\n[g]\nboth\n").unwrap();
        let ung: Vec<&str> = d.groups[UNGROUPED]
            .hosts
            .iter()
            .map(|&h| d.hosts[h].name.as_str())
            .collect();
        assert_eq!(ung, ["lonely"]);
    }

    #[test]
    fn errors_name_line() {
        for (text, line, what) in [
            ("[g]\nnode[1:\n", 2, "range"),
            ("[g:unknown]\n", 1, "unknown type"),
            ("[g:vars]\nx=1\n", 1, "undefined group"),
            ("[p:children]\nmissing\n", 2, "undefined group 'missing'"),
            ("[g]\nh novalue\n", 2, "key=value"),
            ("[g]\nh x='open\n", 2, "No closing quotation"),
            ("[g]\nh:\n", 2, "ending in ':'"),
            ("[g:vars]\nnovalue\n[g]\n", 2, "Expected key=value"),
            ("[bad group]\n", 1, "Invalid section"),
        ] {
            let e = load(text).unwrap_err();
            assert_eq!(e.origin.line, Some(line), "{text:?}: {e}");
            assert!(e.message.contains(what), "{text:?}: {e}");
        }
    }

    #[test]
    fn child_loops_are_refused() {
        let e = load("[a:children]\nb\n[b:children]\na\n").unwrap_err();
        assert!(e.message.contains("recursive"), "{e}");
    }
}

#[cfg(test)]
mod prop {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        /// Any text: no panic, and every rejection names the file and a line in it.
        #[test]
        fn never_panics_and_errors_name_a_line(
            lines in proptest::collection::vec(
                proptest::prop_oneof![
                    "\\[[a-z:]{0,12}\\]",
                    "[a-z0-9\\[\\]:.=' \"#;-]{0,30}",
                    "[a-z]{1,5}=[^\\n]{0,20}",
                ],
                0..12,
            )
        ) {
            let text = lines.join("\n");
            let mut d = Data::default();
            if let Err(e) = parse(&text, Path::new("fuzz.ini"), &mut d) {
                let line = e.origin.line.expect("an INI error has a line");
                proptest::prop_assert!(line >= 1 && line <= lines.len().max(1), "{e}");
                proptest::prop_assert!(e.to_string().starts_with("fuzz.ini:"));
            }
        }
    }
}
