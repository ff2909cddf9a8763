//! Masking credentials inside auth-file payloads for diffs and logs.

use crate::redact::MASK;

/// Pretty JSON of a Docker/Podman auth payload with `auth`, `password` and
/// `identitytoken` values masked (and an `auth`'s user name kept, for context);
/// anything that is not JSON is masked whole.
pub fn mask_payload(bytes: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(mut v) => {
            mask_value(&mut v);
            serde_json::to_string_pretty(&v).unwrap_or_else(|_| MASK.to_string())
        }
        Err(_) => MASK.to_string(),
    }
}

/// Both payloads masked for a diff; a secret that differs between them is shown as
/// `******** (changed)` on the new side, so a rotation is visible without its value.
pub fn mask_pair(old: &[u8], new: &[u8]) -> (String, String) {
    let parse = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).ok();
    match (parse(old), parse(new)) {
        (Some(mut o), Some(mut n)) => {
            mark_changed(&o, &mut n);
            mask_value(&mut o);
            mask_value(&mut n);
            let pretty = |v: &serde_json::Value| {
                serde_json::to_string_pretty(v).unwrap_or_else(|_| MASK.to_string())
            };
            (pretty(&o), pretty(&n))
        }
        _ if old == new => (mask_payload(old), mask_payload(new)),
        _ => (mask_payload(old), format!("{MASK} (changed)")),
    }
}

fn is_secret_key(k: &str) -> bool {
    let lk = k.to_ascii_lowercase();
    matches!(
        lk.as_str(),
        "auth" | "password" | "identitytoken" | "registrytoken"
    ) || crate::redact::is_secret_name(&lk)
}

const CHANGED: &str = "\u{1}changed";

/// Replaces secret leaves of `new` that differ from `old` with a marker `mask_value` keeps.
fn mark_changed(old: &serde_json::Value, new: &mut serde_json::Value) {
    if let serde_json::Value::Object(nm) = new {
        for (k, nv) in nm.iter_mut() {
            let ov = old.get(k);
            if is_secret_key(k) {
                if nv.is_string() && ov.is_some_and(|o| o != nv) {
                    *nv = serde_json::Value::String(CHANGED.into());
                }
            } else if let Some(o) = ov {
                mark_changed(o, nv);
            }
        }
    }
}

fn mask_value(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, val) in m.iter_mut() {
                if is_secret_key(k) {
                    if let serde_json::Value::String(s) = val {
                        let text = if s == CHANGED {
                            format!("{MASK} (changed)")
                        } else {
                            MASK.to_string()
                        };
                        *val = serde_json::Value::String(text);
                    }
                } else {
                    mask_value(val);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(mask_value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_every_credential() {
        let raw = br#"{"auths":{"r:5000":{"auth":"dTpw","password":"p","username":"u","identitytoken":"t"}},"credHelpers":{"x":"y"}}"#;
        let m = super::mask_payload(raw);
        assert!(
            !m.contains("dTpw") && !m.contains("\"p\"") && !m.contains("\"t\""),
            "{m}"
        );
        assert!(m.contains("\"u\"") && m.contains("credHelpers"), "{m}");
    }

    #[test]
    fn rotation_is_visible_but_masked() {
        let (o, n) = super::mask_pair(
            br#"{"auths":{"r":{"auth":"b2xk"}}}"#,
            br#"{"auths":{"r":{"auth":"bmV3"}}}"#,
        );
        assert!(
            n.contains("******** (changed)") && !o.contains("changed"),
            "{o} {n}"
        );
        assert!(!n.contains("bmV3") && !o.contains("b2xk"));
        let (o, n) = super::mask_pair(
            br#"{"auths":{"r":{"auth":"same"}}}"#,
            br#"{"auths":{"r":{"auth":"same"}}}"#,
        );
        assert_eq!(o, n);
    }
}
