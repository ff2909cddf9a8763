//! Variable precedence exactly as Ansible's VariableManager applies it for a host:
//! `all` inventory vars < other groups' inventory vars (by depth, priority, name) <
//! `group_vars/all` < other `group_vars/*` (same order) < host inventory vars <
//! `host_vars/*`. Note that `group_vars/all` beats `[child:vars]`: Ansible does so.

use super::data::{ALL, Data, Var, Vars};
use super::error::{InventoryError, Origin};
use super::value::Value;
use super::yaml::{self, Kind};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Variables from `group_vars/` and `host_vars/` beside each inventory source.
#[derive(Debug, Default)]
pub struct VarFiles {
    /// Per source directory, in source order: group name → vars.
    pub groups: Vec<HashMap<String, Vars>>,
    /// Per source directory, in source order: host name → vars.
    pub hosts: Vec<HashMap<String, Vars>>,
}

/// Reads `group_vars/NAME*` and `host_vars/NAME*` for every group and host, per base directory.
pub fn load_files(
    basedirs: &[PathBuf],
    data: &Data,
    decrypt: &dyn Fn(&str, &Path) -> Result<String, InventoryError>,
    vault_value: Option<yaml::Decrypt<'_>>,
) -> Result<VarFiles, InventoryError> {
    let mut out = VarFiles::default();
    for base in basedirs {
        let mut groups = HashMap::new();
        let gdir = base.join("group_vars");
        if let Some(present) = entries(&gdir) {
            for g in &data.groups {
                let vars = load_entity(&gdir, &present, &g.name, decrypt, vault_value)?;
                if !vars.is_empty() {
                    groups.insert(g.name.clone(), vars);
                }
            }
        }
        let mut hosts = HashMap::new();
        let hdir = base.join("host_vars");
        if let Some(present) = entries(&hdir) {
            for h in &data.hosts {
                let vars = load_entity(&hdir, &present, &h.name, decrypt, vault_value)?;
                if !vars.is_empty() {
                    hosts.insert(h.name.clone(), vars);
                }
            }
        }
        out.groups.push(groups);
        out.hosts.push(hosts);
    }
    Ok(out)
}

const EXTENSIONS: [&str; 4] = ["", ".yml", ".yaml", ".json"];

/// The names in a vars directory, read once: probing every host's four candidate
/// names on disk costs a stat each (40,000 for 5,000 hosts).
fn entries(dir: &Path) -> Option<std::collections::HashSet<std::ffi::OsString>> {
    let rd = std::fs::read_dir(dir).ok()?;
    Some(rd.filter_map(|e| e.ok().map(|e| e.file_name())).collect())
}

/// Ansible's `find_vars_files`: the first of NAME, NAME.yml, NAME.yaml, NAME.json;
/// a directory is read whole (sorted, recursively, hidden and `~` files skipped).
fn load_entity(
    dir: &Path,
    present: &std::collections::HashSet<std::ffi::OsString>,
    name: &str,
    decrypt: &dyn Fn(&str, &Path) -> Result<String, InventoryError>,
    vault_value: Option<yaml::Decrypt<'_>>,
) -> Result<Vars, InventoryError> {
    let mut files = Vec::new();
    for ext in EXTENSIONS {
        let candidate = format!("{name}{ext}");
        if !present.contains(std::ffi::OsStr::new(&candidate)) {
            continue;
        }
        let p = dir.join(candidate);
        if p.is_dir() {
            dir_files(&p, &mut files)?;
            break;
        } else if p.is_file() {
            files.push(p);
            break;
        }
    }
    let mut vars = Vars::new();
    for f in files {
        for (k, v) in load_vars_file(&f, decrypt, vault_value)? {
            vars.insert(k, v);
        }
    }
    Ok(vars)
}

fn dir_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), InventoryError> {
    let rd = std::fs::read_dir(dir).map_err(|e| {
        InventoryError::new(Origin::file(dir), format!("cannot read directory: {e}"))
    })?;
    let mut names: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    names.sort();
    for p in names {
        let fname = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if fname.starts_with('.') || fname.ends_with('~') {
            continue;
        }
        let ext = p
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| format!(".{e}"));
        if p.is_dir() && ext.is_none() {
            dir_files(&p, out)?;
        } else if p.is_file() && ext.as_deref().is_none_or(|e| EXTENSIONS.contains(&e)) {
            out.push(p);
        }
    }
    Ok(())
}

/// Loads one vars file (YAML or JSON, possibly vault-encrypted as a whole).
pub fn load_vars_file(
    path: &Path,
    decrypt: &dyn Fn(&str, &Path) -> Result<String, InventoryError>,
    vault_value: Option<yaml::Decrypt<'_>>,
) -> Result<Vars, InventoryError> {
    let raw = std::fs::read_to_string(path).map_err(|e| {
        InventoryError::new(Origin::file(path), format!("cannot read vars file: {e}"))
    })?;
    let text = if crate::vault::is_vault(&raw) {
        decrypt(&raw, path)?
    } else {
        raw
    };
    let doc = yaml::parse(&text, path, vault_value)?;
    let file: Arc<Path> = Arc::from(path);
    let mut vars = Vars::new();
    match doc {
        None => {}
        Some(n) => match n.kind {
            Kind::Map(pairs) => {
                for (k, v) in pairs {
                    let origin = Origin::shared(file.clone(), v.line);
                    vars.insert(
                        k,
                        Var {
                            value: v.to_value(),
                            origin,
                        },
                    );
                }
            }
            Kind::Scalar(Value::Null) => {}
            _ => {
                return Err(InventoryError::new(
                    Origin::shared(file, n.line),
                    "vars file must hold a mapping of variable names to values",
                ));
            }
        },
    }
    Ok(vars)
}

/// Merged variables by reference, sorted by name (the order Ansible prints them in).
pub type VarRefs<'a> = std::collections::BTreeMap<&'a str, &'a Var>;

/// Computes every host's merged variables, in precedence order.
pub struct Merger<'a> {
    data: &'a Data,
    files: &'a VarFiles,
    depths: Vec<usize>,
    // Hosts sharing a set of groups share the group-level merge (thousands of nodes,
    // a handful of distinct group sets).
    cache: HashMap<Vec<usize>, VarRefs<'a>>,
}

impl<'a> Merger<'a> {
    /// Prepares a merger over the inventory and its vars files.
    pub fn new(data: &'a Data, files: &'a VarFiles) -> Self {
        Merger {
            data,
            files,
            depths: data.depths(),
            cache: HashMap::new(),
        }
    }

    /// The groups of a host (without `all`) sorted as Ansible's `sort_groups`.
    fn sorted_groups(&self, h: usize) -> Vec<usize> {
        let mut gs: Vec<usize> = self
            .data
            .host_groups(h)
            .into_iter()
            .filter(|&g| g != ALL)
            .collect();
        gs.sort_by(|&a, &b| {
            let (ga, gb) = (&self.data.groups[a], &self.data.groups[b]);
            (self.depths[a], ga.priority, &ga.name).cmp(&(self.depths[b], gb.priority, &gb.name))
        });
        gs
    }

    /// All variables of a host, merged, by reference.
    pub fn host_refs(&mut self, h: usize) -> VarRefs<'a> {
        let groups = self.sorted_groups(h);
        let mut vars = match self.cache.get(&groups) {
            Some(v) => v.clone(),
            None => {
                let v = self.group_level(&groups);
                self.cache.insert(groups, v.clone());
                v
            }
        };
        let data = self.data;
        let host = &data.hosts[h];
        extend_refs(&mut vars, &host.vars);
        for per_source in &self.files.hosts {
            if let Some(v) = per_source.get(&host.name) {
                extend_refs(&mut vars, v);
            }
        }
        vars
    }

    /// All variables of a host, merged, owned.
    pub fn host_vars(&mut self, h: usize) -> Vars {
        self.host_refs(h)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn group_level(&self, groups: &[usize]) -> VarRefs<'a> {
        let d = self.data;
        let mut vars = VarRefs::new();
        extend_refs(&mut vars, &d.groups[ALL].vars);
        for &g in groups {
            extend_refs(&mut vars, &d.groups[g].vars);
        }
        for per_source in &self.files.groups {
            if let Some(v) = per_source.get("all") {
                extend_refs(&mut vars, v);
            }
        }
        for per_source in &self.files.groups {
            for &g in groups {
                if let Some(v) = per_source.get(&d.groups[g].name) {
                    extend_refs(&mut vars, v);
                }
            }
        }
        vars
    }

    /// A group's own variables as `--export` and `--graph --vars` show them.
    pub fn group_vars(&self, g: usize) -> Vars {
        let d = self.data;
        let mut vars = d.groups[g].vars.clone();
        for per_source in &self.files.groups {
            if let Some(v) = per_source.get(&d.groups[g].name) {
                extend(&mut vars, v);
            }
        }
        vars
    }
}

/// `combine_vars` with hash_behaviour=replace, by reference.
fn extend_refs<'a>(into: &mut VarRefs<'a>, from: &'a Vars) {
    for (k, v) in from {
        into.insert(k.as_str(), v);
    }
}

/// `combine_vars` with hash_behaviour=replace: top-level keys override.
fn extend(into: &mut Vars, from: &Vars) {
    for (k, v) in from {
        into.insert(k.clone(), v.clone());
    }
}
