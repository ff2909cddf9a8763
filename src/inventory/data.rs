//! Groups and hosts as Ansible's `InventoryData` keeps them: insertion order,
//! children and parents, depth and priority, and the reconcile rules for `all`
//! and `ungrouped`. The parsers only call these operations.

use super::error::{InventoryError, Origin};
use super::value::Value;
use indexmap::IndexMap;

/// A variable's value and where it was set.
#[derive(Debug, Clone)]
pub struct Var {
    /// The value.
    pub value: Value,
    /// Where it was defined.
    pub origin: Origin,
}

/// Variables by name, in definition order.
pub type Vars = IndexMap<String, Var>;

/// An inventory group.
#[derive(Debug, Clone)]
pub struct Group {
    /// The group's name.
    pub name: String,
    /// Variables set in the inventory source itself.
    pub vars: Vars,
    /// Child groups, by index, in the order they were added.
    pub children: Vec<usize>,
    /// Parent groups, by index.
    pub parents: Vec<usize>,
    /// Hosts directly in this group, by index, in the order they were added.
    pub hosts: Vec<usize>,
    /// `ansible_group_priority` (default 1).
    pub priority: i64,
}

/// An inventory host.
#[derive(Debug, Clone)]
pub struct Host {
    /// The host's inventory name.
    pub name: String,
    /// Variables set in the inventory source itself.
    pub vars: Vars,
    /// Groups the host was put in directly.
    pub groups: Vec<usize>,
}

/// All groups and hosts of the inventory sources read so far.
#[derive(Debug, Clone)]
pub struct Data {
    /// Groups, `all` first and `ungrouped` second.
    pub groups: Vec<Group>,
    /// Group index by name.
    pub group_index: IndexMap<String, usize>,
    /// Hosts in the order first seen.
    pub hosts: Vec<Host>,
    /// Host index by name.
    pub host_index: IndexMap<String, usize>,
}

/// Index of the `all` group.
pub const ALL: usize = 0;
/// Index of the `ungrouped` group.
pub const UNGROUPED: usize = 1;

impl Default for Data {
    fn default() -> Self {
        let mut d = Data {
            groups: Vec::new(),
            group_index: IndexMap::new(),
            hosts: Vec::new(),
            host_index: IndexMap::new(),
        };
        d.add_group("all");
        d.add_group("ungrouped");
        d.groups[ALL].children.push(UNGROUPED);
        d.groups[UNGROUPED].parents.push(ALL);
        d
    }
}

impl Data {
    /// Adds a group if it is new; returns its index.
    pub fn add_group(&mut self, name: &str) -> usize {
        if let Some(&i) = self.group_index.get(name) {
            return i;
        }
        let i = self.groups.len();
        self.groups.push(Group {
            name: name.to_string(),
            vars: Vars::new(),
            children: Vec::new(),
            parents: Vec::new(),
            hosts: Vec::new(),
            priority: 1,
        });
        self.group_index.insert(name.to_string(), i);
        i
    }

    /// The index of a group, if it exists.
    pub fn group(&self, name: &str) -> Option<usize> {
        self.group_index.get(name).copied()
    }

    /// Adds a host (if new) and puts it in `group`; `port` sets `ansible_port` only
    /// when the host is new, as `InventoryData.add_host` passes it to `Host(name, port)`
    /// and ignores it for a host it already has (a later `host:port` line changes
    /// nothing; a later `ansible_port=` variable does).
    pub fn add_host(
        &mut self,
        name: &str,
        group: usize,
        port: Option<u16>,
        origin: &Origin,
    ) -> usize {
        let h = match self.host_index.get(name) {
            Some(&h) => h,
            None => {
                let h = self.hosts.len();
                self.hosts.push(Host {
                    name: name.to_string(),
                    vars: Vars::new(),
                    groups: Vec::new(),
                });
                self.host_index.insert(name.to_string(), h);
                if let Some(p) = port {
                    self.set_host_var(h, "ansible_port", Value::Int(p as i64), origin.clone());
                }
                h
            }
        };
        if !self.groups[group].hosts.contains(&h) {
            self.groups[group].hosts.push(h);
            self.hosts[h].groups.push(group);
        }
        h
    }

    /// Makes `child` a child of `parent`, refusing loops as Ansible does.
    pub fn add_child(
        &mut self,
        parent: usize,
        child: usize,
        origin: &Origin,
    ) -> Result<(), InventoryError> {
        if parent == child || self.is_ancestor(child, parent) {
            return Err(InventoryError::new(
                origin.clone(),
                format!(
                    "Adding group '{}' as child to '{}' creates a recursive dependency loop.",
                    self.groups[child].name, self.groups[parent].name
                ),
            ));
        }
        if !self.groups[parent].children.contains(&child) {
            self.groups[parent].children.push(child);
            self.groups[child].parents.push(parent);
        }
        Ok(())
    }

    /// True when `a` is an ancestor of `g` (or `g` itself).
    fn is_ancestor(&self, a: usize, g: usize) -> bool {
        let mut stack = vec![g];
        let mut seen = vec![false; self.groups.len()];
        while let Some(x) = stack.pop() {
            if x == a {
                return true;
            }
            if std::mem::replace(&mut seen[x], true) {
                continue;
            }
            stack.extend(self.groups[x].parents.iter().copied());
        }
        false
    }

    /// Sets a group variable; `ansible_group_priority` also sets the priority.
    pub fn set_group_var(
        &mut self,
        g: usize,
        key: &str,
        value: Value,
        origin: Origin,
    ) -> Result<(), InventoryError> {
        if key == "ansible_group_priority" {
            let p = match &value {
                Value::Int(i) => *i,
                Value::Str(s) => s.trim().parse().map_err(|_| {
                    InventoryError::new(
                        origin.clone(),
                        format!("ansible_group_priority must be an integer, got '{s}'"),
                    )
                })?,
                Value::Bool(b) => *b as i64,
                _ => {
                    return Err(InventoryError::new(
                        origin,
                        "ansible_group_priority must be an integer",
                    ));
                }
            };
            // Group.set_variable keeps the priority, not a variable.
            self.groups[g].priority = p;
            return Ok(());
        }
        self.groups[g]
            .vars
            .insert(key.to_string(), Var { value, origin });
        Ok(())
    }

    /// Sets a host variable.
    pub fn set_host_var(&mut self, h: usize, key: &str, value: Value, origin: Origin) {
        self.hosts[h]
            .vars
            .insert(key.to_string(), Var { value, origin });
    }

    /// Ansible's `reconcile_inventory`: parentless groups join `all`, hosts in no
    /// group join `ungrouped`, hosts in another group leave it.
    pub fn reconcile(&mut self) {
        for g in 0..self.groups.len() {
            if g != ALL && self.groups[g].parents.is_empty() {
                self.groups[ALL].children.push(g);
                self.groups[g].parents.push(ALL);
            }
        }
        for h in 0..self.hosts.len() {
            let direct = self.hosts[h].groups.clone();
            let others = direct.iter().any(|&g| g != ALL && g != UNGROUPED);
            if direct.contains(&UNGROUPED) {
                if others {
                    self.groups[UNGROUPED].hosts.retain(|&x| x != h);
                    self.hosts[h].groups.retain(|&g| g != UNGROUPED);
                }
            } else if !others {
                self.groups[UNGROUPED].hosts.push(h);
                self.hosts[h].groups.push(UNGROUPED);
            }
        }
    }

    /// Each group's depth: the longest path from `all` (Ansible's `Group.depth`).
    pub fn depths(&self) -> Vec<usize> {
        let mut depth = vec![0usize; self.groups.len()];
        let mut memo = vec![None; self.groups.len()];
        fn visit(d: &Data, g: usize, memo: &mut Vec<Option<usize>>) -> usize {
            if let Some(v) = memo[g] {
                return v;
            }
            let v = d.groups[g]
                .parents
                .iter()
                .map(|&p| visit(d, p, memo) + 1)
                .max()
                .unwrap_or(0);
            memo[g] = Some(v);
            v
        }
        for (g, slot) in depth.iter_mut().enumerate() {
            *slot = visit(self, g, &mut memo);
        }
        depth
    }

    /// Every group a host belongs to, directly or through a parent, `all` included.
    pub fn host_groups(&self, h: usize) -> Vec<usize> {
        let mut seen = vec![false; self.groups.len()];
        let mut out = Vec::new();
        let mut stack: Vec<usize> = self.hosts[h].groups.clone();
        while let Some(g) = stack.pop() {
            if std::mem::replace(&mut seen[g], true) {
                continue;
            }
            out.push(g);
            stack.extend(self.groups[g].parents.iter().copied());
        }
        out
    }

    /// Hosts under a group (itself and its descendants), first-seen order, as
    /// `Group.get_hosts()` lists them.
    pub fn hosts_under(&self, g: usize) -> Vec<usize> {
        let mut seen_g = vec![false; self.groups.len()];
        let mut seen_h = vec![false; self.hosts.len()];
        let mut out = Vec::new();
        let mut order = Vec::new();
        self.descendants(g, &mut seen_g, &mut order);
        for grp in order {
            for &h in &self.groups[grp].hosts {
                if !std::mem::replace(&mut seen_h[h], true) {
                    out.push(h);
                }
            }
        }
        out
    }

    fn descendants(&self, g: usize, seen: &mut Vec<bool>, out: &mut Vec<usize>) {
        if std::mem::replace(&mut seen[g], true) {
            return;
        }
        out.push(g);
        for &c in &self.groups[g].children {
            self.descendants(c, seen, out);
        }
    }
}
