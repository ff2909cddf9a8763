//! Ansible inventories (INI and YAML, group_vars/host_vars, vault), read exactly
//! as ansible-inventory reads them, and the merged per-host variables.

mod data;
mod error;
mod extra;
mod hostpattern;
mod ini;
mod pyliteral;
pub mod render;
mod shlex;
mod splitter;
mod value;
mod vars;
pub mod yaml;
mod yaml_inv;

pub use data::{Var, Vars};
pub use error::{InventoryError, Origin};
pub use pyliteral::safe_eval;
pub use render::Secrets;
pub use value::{Value, VaultString};

use data::{ALL, Data};
use secrecy::{ExposeSecret, SecretString};
use std::path::{Path, PathBuf};

/// What to read: the `-i` sources in order and the vault password file.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Inventory files or directories, in the order given.
    pub sources: Vec<PathBuf>,
    /// File holding the vault password (or an executable printing it).
    pub vault_password_file: Option<PathBuf>,
    /// `-e` arguments in order (`K=V ...`, inline YAML/JSON, `@FILE`): above every
    /// inventory variable, as ansible-playbook's extra vars.
    pub extra_vars: Vec<String>,
}

/// A loaded inventory: groups, hosts and every variable with its origin.
#[derive(Debug)]
pub struct Inventory {
    data: Data,
    files: vars::VarFiles,
    warnings: Vec<String>,
    extra: Vars,
}

// Ansible (2.19) skips these in an inventory directory (INVENTORY_IGNORE_EXTS);
// older releases also skipped `.ini`, 2.19 reads them.
const IGNORED_EXTS: [&str; 12] = [
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry",
];

/// Reads every source, then the group_vars/host_vars beside them.
pub fn load(opts: &LoadOptions) -> Result<Inventory, InventoryError> {
    let password = match &opts.vault_password_file {
        Some(p) => Some(crate::vault::load_password_file(p).map_err(|e| {
            InventoryError::new(Origin::file(p), format!("vault password file: {e}"))
        })?),
        None => None,
    };
    let decrypt_value = |text: &str| -> Result<SecretString, String> {
        let pw = password.as_ref().expect("only called with a password");
        crate::vault::decrypt(text, pw).map_err(|e| format!("cannot decrypt vault value: {e}"))
    };
    let value_hook: Option<yaml::Decrypt<'_>> = if password.is_some() {
        Some(&decrypt_value)
    } else {
        None
    };
    let decrypt_file = |text: &str, path: &Path| -> Result<String, InventoryError> {
        let Some(pw) = password.as_ref() else {
            return Err(InventoryError::new(
                Origin::file(path),
                "file is vault-encrypted: give --vault-password-file or set ANSIBLE_VAULT_PASSWORD_FILE",
            ));
        };
        crate::vault::decrypt(text, pw)
            .map(|s| s.expose_secret().to_string())
            .map_err(|e| InventoryError::new(Origin::file(path), format!("cannot decrypt: {e}")))
    };

    let mut data = Data::default();
    let mut warnings = Vec::new();
    let mut basedirs = Vec::new();
    for src in &opts.sources {
        if src.is_dir() {
            load_dir(src, &mut data, &mut warnings, &decrypt_file, value_hook)?;
            basedirs.push(src.clone());
        } else if src.is_file() {
            load_file(src, &mut data, &mut warnings, &decrypt_file, value_hook)?;
            basedirs.push(src.parent().map(Path::to_path_buf).unwrap_or_default());
        } else if src.to_string_lossy().contains(',') {
            load_host_list(&src.to_string_lossy(), &mut data)?;
        } else {
            return Err(InventoryError::new(
                Origin::file(src),
                "inventory source not found: give an existing file or directory with -i",
            ));
        }
    }
    data.reconcile();
    let files = vars::load_files(&basedirs, &data, &decrypt_file, value_hook)?;
    let extra = extra::load(&opts.extra_vars, &decrypt_file, value_hook)?;
    Ok(Inventory {
        data,
        files,
        warnings,
        extra,
    })
}

fn load_dir(
    dir: &Path,
    data: &mut Data,
    warnings: &mut Vec<String>,
    decrypt_file: &dyn Fn(&str, &Path) -> Result<String, InventoryError>,
    value_hook: Option<yaml::Decrypt<'_>>,
) -> Result<(), InventoryError> {
    let rd = std::fs::read_dir(dir).map_err(|e| {
        InventoryError::new(
            Origin::file(dir),
            format!("cannot read inventory directory: {e}"),
        )
    })?;
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.')
            || matches!(name, "group_vars" | "host_vars" | "vars_plugins")
            || IGNORED_EXTS.iter().any(|e| name.ends_with(e))
        {
            continue;
        }
        if p.is_dir() {
            load_dir(&p, data, warnings, decrypt_file, value_hook)?;
        } else {
            load_file(&p, data, warnings, decrypt_file, value_hook)?;
        }
    }
    Ok(())
}

/// One file: YAML when it reads as a YAML mapping (for .yml/.yaml/.json or no
/// extension, as Ansible's yaml plugin), INI otherwise — like Ansible's plugin chain.
fn load_file(
    path: &Path,
    data: &mut Data,
    warnings: &mut Vec<String>,
    decrypt_file: &dyn Fn(&str, &Path) -> Result<String, InventoryError>,
    value_hook: Option<yaml::Decrypt<'_>>,
) -> Result<(), InventoryError> {
    let bytes = std::fs::read(path).map_err(|e| {
        InventoryError::new(Origin::file(path), format!("cannot read inventory: {e}"))
    })?;
    let raw = String::from_utf8(bytes)
        .map_err(|_| InventoryError::new(Origin::file(path), "inventory is not valid UTF-8"))?;
    let text = if crate::vault::is_vault(&raw) {
        decrypt_file(&raw, path)?
    } else {
        raw
    };
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let yaml_ext = matches!(ext, "yml" | "yaml" | "json");
    if yaml_ext || ext.is_empty() {
        let yaml_result = yaml::parse(&text, path, value_hook).and_then(|doc| {
            let mut scratch = data.clone();
            let mut w = Vec::new();
            yaml_inv::load(doc, path, &mut scratch, &mut w).map(|()| (scratch, w))
        });
        match yaml_result {
            Ok((scratch, w)) => {
                *data = scratch;
                warnings.extend(w);
                return Ok(());
            }
            Err(e) if yaml_ext => {
                // The yaml plugin failed; Ansible would still try the INI plugin.
                let mut scratch = data.clone();
                if ini::parse(&text, path, &mut scratch).is_ok() && looks_like_ini(&text) {
                    *data = scratch;
                    return Ok(());
                }
                return Err(e);
            }
            Err(_) => {}
        }
    }
    ini::parse(&text, path, data)
}

fn looks_like_ini(text: &str) -> bool {
    text.lines().any(|l| l.trim_start().starts_with('['))
}

/// `-i 'host1,host2'`: Ansible's host_list plugin.
fn load_host_list(list: &str, data: &mut Data) -> Result<(), InventoryError> {
    let origin = Origin::file(Path::new(list));
    for part in list.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (names, port) =
            hostpattern::expand(part).map_err(|e| InventoryError::new(origin.clone(), e))?;
        for n in names {
            data.add_host(&n, data::UNGROUPED, port, &origin);
        }
    }
    Ok(())
}

impl Inventory {
    /// Warnings Ansible would print (skipped keys and the like).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Every host name, in first-seen order.
    pub fn hosts(&self) -> Vec<&str> {
        self.data
            .hosts_under(ALL)
            .into_iter()
            .map(|h| self.data.hosts[h].name.as_str())
            .collect()
    }

    /// True when the inventory defines this group.
    pub fn has_group(&self, group: &str) -> bool {
        self.data.group(group).is_some()
    }

    /// Hosts in a group or its descendants, in Ansible's order; empty for an unknown group.
    pub fn group_hosts(&self, group: &str) -> Vec<&str> {
        match self.data.group(group) {
            Some(g) => self
                .data
                .hosts_under(g)
                .into_iter()
                .map(|h| self.data.hosts[h].name.as_str())
                .collect(),
            None => Vec::new(),
        }
    }

    /// A host's merged variables, with origins; extra vars on top.
    pub fn host_vars(&self, host: &str) -> Option<Vars> {
        let h = *self.data.host_index.get(host)?;
        Some(self.with_extra(vars::Merger::new(&self.data, &self.files).host_vars(h)))
    }

    /// Every host's merged variables, in first-seen order; extra vars on top.
    pub fn all_host_vars(&self) -> Vec<(String, Vars)> {
        let mut m = vars::Merger::new(&self.data, &self.files);
        self.data
            .hosts_under(ALL)
            .into_iter()
            .map(|h| {
                (
                    self.data.hosts[h].name.clone(),
                    self.with_extra(m.host_vars(h)),
                )
            })
            .collect()
    }

    /// The variables the `all` group resolves to for a host that is in no other group;
    /// extra vars on top.
    pub fn all_group_vars(&self) -> Vars {
        self.with_extra(vars::Merger::new(&self.data, &self.files).group_vars(ALL))
    }

    /// The `-e` variables, merged in order.
    pub fn extra_vars(&self) -> &Vars {
        &self.extra
    }

    /// Extra vars have the highest precedence of all (Ansible's variable precedence).
    fn with_extra(&self, mut vars: Vars) -> Vars {
        for (k, v) in &self.extra {
            vars.insert(k.clone(), v.clone());
        }
        vars
    }

    /// `ansible-inventory --list`.
    pub fn list_json(&self, secrets: Secrets) -> String {
        let mut m = vars::Merger::new(&self.data, &self.files);
        let hv: Vec<_> = self
            .data
            .hosts_under(ALL)
            .into_iter()
            .map(|h| (h, m.host_refs(h)))
            .collect();
        render::list_json(&self.data, hv, secrets)
    }

    /// `ansible-inventory --host H`.
    pub fn host_json(&self, host: &str, secrets: Secrets) -> Option<String> {
        let h = *self.data.host_index.get(host)?;
        let refs = vars::Merger::new(&self.data, &self.files).host_refs(h);
        Some(render::host_json(&refs, secrets))
    }

    /// `ansible-inventory --graph [GROUP]`.
    pub fn graph(&self, group: &str) -> Option<String> {
        self.data.group(group).map(|g| render::graph(&self.data, g))
    }
}
