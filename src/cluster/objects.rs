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
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .map(|k| {
            crate::authfile::masked_diff(
                old.get(k).map(|b| b.0.as_slice()),
                new.get(k).map(|b| b.0.as_slice()),
                k,
            )
        })
        .collect()
}
