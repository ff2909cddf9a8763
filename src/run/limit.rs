//! `--limit`: Ansible host patterns (names, groups, `*` globs, `!` to exclude, `&` to
//! intersect, `,` or `:` between them) and `@file` (a retry file: one host a line).

use crate::inventory::Inventory;
use std::collections::BTreeSet;

/// The hosts a `--limit` selects, or `None` for all.
pub fn select(inv: &Inventory, pattern: Option<&str>) -> Result<Option<BTreeSet<String>>, String> {
    let Some(pattern) = pattern else {
        return Ok(None);
    };
    let mut parts: Vec<String> = Vec::new();
    for p in pattern
        .split([',', ':'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        if let Some(file) = p.strip_prefix('@') {
            let text =
                std::fs::read_to_string(file).map_err(|e| format!("--limit @{file}: {e}"))?;
            parts.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from),
            );
        } else {
            parts.push(p.to_string());
        }
    }
    let all: Vec<&str> = inv.hosts();
    let matching = |pat: &str| -> BTreeSet<String> {
        if inv.has_group(pat) {
            return inv.group_hosts(pat).into_iter().map(String::from).collect();
        }
        all.iter()
            .filter(|h| glob(pat, h))
            .map(|h| h.to_string())
            .collect()
    };
    let mut selected = BTreeSet::new();
    let (mut plus, mut minus, mut and) = (Vec::new(), Vec::new(), Vec::new());
    for p in &parts {
        if let Some(x) = p.strip_prefix('!') {
            minus.push(x);
        } else if let Some(x) = p.strip_prefix('&') {
            and.push(x);
        } else {
            plus.push(p.as_str());
        }
    }
    for p in plus {
        selected.extend(matching(p));
    }
    for p in and {
        let m = matching(p);
        selected.retain(|h| m.contains(h));
    }
    for p in minus {
        let m = matching(p);
        selected.retain(|h| !m.contains(h));
    }
    if selected.is_empty() {
        return Err(format!(
            "--limit {pattern} matches no host of the inventory"
        ));
    }
    Ok(Some(selected))
}

/// Shell-style `*` and `?` matching, as Ansible's fnmatch patterns.
fn glob(pat: &str, s: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pat.chars().collect(), s.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(sp) = star {
            pi = sp + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    #[test]
    fn globs() {
        assert!(super::glob("node*", "node1.example.com"));
        assert!(super::glob("n?de1", "node1"));
        assert!(!super::glob("node*", "master1"));
        assert!(super::glob("*", "x"));
    }
}
