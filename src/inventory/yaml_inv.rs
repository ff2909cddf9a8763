//! Ansible's YAML inventory format: top-level groups (usually `all`), each with
//! optional `hosts`, `children` and `vars` mappings.

use super::data::Data;
use super::error::{InventoryError, Origin};
use super::hostpattern;
use super::yaml::{Kind, Node};
use std::path::Path;
use std::sync::Arc;

/// Reads a parsed YAML inventory document into `data`; non-fatal oddities become warnings.
pub fn load(
    doc: Option<Node>,
    file: &Path,
    data: &mut Data,
    warnings: &mut Vec<String>,
) -> Result<(), InventoryError> {
    let file: Arc<Path> = Arc::from(file);
    let Some(doc) = doc else {
        return Err(InventoryError::new(
            Origin::shared(file, 1),
            "Parsed empty YAML file",
        ));
    };
    let Kind::Map(groups) = doc.kind else {
        return Err(InventoryError::new(
            Origin::shared(file, doc.line),
            "YAML inventory has invalid structure, it should be a dictionary (e.g. 'all: {hosts: {...}}')",
        ));
    };
    if groups.iter().any(|(k, _)| k == "plugin") {
        return Err(InventoryError::new(
            Origin::shared(file, doc.line),
            "Plugin configuration YAML file, not YAML inventory (inventory plugins are not supported)",
        ));
    }
    for (name, node) in groups {
        parse_group(&name, node, &file, data, warnings)?;
    }
    Ok(())
}

fn parse_group(
    name: &str,
    node: Node,
    file: &Arc<Path>,
    data: &mut Data,
    warnings: &mut Vec<String>,
) -> Result<usize, InventoryError> {
    let at = |line: usize| Origin::shared(file.clone(), line);
    let entries = match node.kind {
        Kind::Map(entries) => entries,
        Kind::Scalar(ref v) if node.is_null() || matches!(v, super::value::Value::Null) => {
            return Ok(data.add_group(name));
        }
        _ => {
            warnings.push(format!(
                "{}: Skipping '{name}' as this is not a valid group definition",
                at(node.line)
            ));
            return Ok(data.add_group(name));
        }
    };
    let g = data.add_group(name);
    for (key, section) in entries {
        // A bare string is allowed where a mapping is expected: `hosts: web1`.
        let pairs: Vec<(String, Node)> = match section.kind {
            Kind::Map(p) => p,
            Kind::Scalar(super::value::Value::Null) => continue,
            Kind::Scalar(super::value::Value::Str(s))
                if matches!(key.as_str(), "vars" | "children" | "hosts") =>
            {
                vec![(
                    s,
                    Node {
                        kind: Kind::Scalar(super::value::Value::Null),
                        line: section.line,
                    },
                )]
            }
            _ => {
                if matches!(key.as_str(), "vars" | "children" | "hosts") {
                    return Err(InventoryError::new(
                        at(section.line),
                        format!(
                            "Invalid \"{key}\" entry for \"{name}\" group, requires a dictionary"
                        ),
                    ));
                }
                warnings.push(format!(
                    "{}: Skipping key ({key}) in group ({name}) as it is not a mapping",
                    at(section.line)
                ));
                continue;
            }
        };
        match key.as_str() {
            "vars" => {
                for (k, v) in pairs {
                    let origin = at(v.line);
                    data.set_group_var(g, &k, v.to_value(), origin)?;
                }
            }
            "children" => {
                for (child, cnode) in pairs {
                    let line = cnode.line;
                    let c = parse_group(&child, cnode, file, data, warnings)?;
                    data.add_child(g, c, &at(line))?;
                }
            }
            "hosts" => {
                for (pattern, hnode) in pairs {
                    let origin = at(hnode.line);
                    let (names, port) = hostpattern::expand(&pattern)
                        .map_err(|e| InventoryError::new(origin.clone(), e))?;
                    let vars: Vec<(String, super::value::Value, usize)> = match hnode.kind {
                        Kind::Map(vs) => vs.into_iter().map(|(k, v)| (k, v.to_value(), v.line)).collect(),
                        Kind::Scalar(super::value::Value::Null) => vec![],
                        _ => {
                            return Err(InventoryError::new(
                                origin,
                                format!("Invalid data for host '{pattern}': expected a dictionary of variables"),
                            ));
                        }
                    };
                    for n in names {
                        let h = data.add_host(&n, g, port, &origin);
                        for (k, v, line) in &vars {
                            data.set_host_var(h, k, v.clone(), at(*line));
                        }
                    }
                }
            }
            other => warnings.push(format!(
                "{}: Skipping unexpected key ({other}) in group ({name}), only \"vars\", \"children\" and \"hosts\" are valid",
                at(section.line)
            )),
        }
    }
    Ok(g)
}
