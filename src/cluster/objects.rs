//! Comparing and diffing object payloads with every secret value masked.

use k8s_openapi::ByteString;
use std::collections::BTreeMap;

/// True when both byte strings are JSON documents with the same meaning.
pub fn same_json(a: &[u8], b: &[u8]) -> bool {
    match (
        serde_json::from_slice::<serde_json::Value>(a),
        serde_json::from_slice::<serde_json::Value>(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// A unified diff of two secrets' data, decoded, with credentials masked.
pub fn diff_masked(
    old: &BTreeMap<String, ByteString>,
    new: &BTreeMap<String, ByteString>,
) -> String {
    let empty = ByteString(Vec::new());
    let (mut a, mut b) = (String::new(), String::new());
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for k in keys {
        let (o, n) = (old.get(k), new.get(k));
        let (mo, mn) = crate::authmask::mask_pair(&o.unwrap_or(&empty).0, &n.unwrap_or(&empty).0);
        if o.is_some() {
            a.push_str(&format!("{k}:\n{mo}\n"));
        }
        if n.is_some() {
            b.push_str(&format!("{k}:\n{mn}\n"));
        }
    }
    if a == b {
        return String::new();
    }
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header("before", "after")
        .to_string()
}
