//! One auth file as a JSON document: the `auths` map we edit, everything else kept.
//!
//! Serialisation is canonical so the same content always gives the same bytes:
//! keys sorted at every level (as Go sorts map keys; independent of serde_json's
//! `preserve_order` feature), tab indentation like `docker login` and `podman login`
//! (both use `json.MarshalIndent(…, "", "\t")`), and a trailing newline, which those
//! tools omit but which keeps the file a proper text file; readers ignore it.

use super::ParseError;
use super::credential::{Credential, StoredCredential};
use super::key::{RegistryKey, normalize_lookup_key};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

/// The two layouts of the same credential map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Docker `config.json` / Podman `auth.json`: `{"auths": {KEY: ENTRY}, ...}`.
    Config,
    /// Legacy `.dockercfg`: `{KEY: ENTRY}` without the `auths` wrapper.
    Legacy,
}

/// Keys whose values are secrets in an entry (docker's `AuthConfig` fields).
const SECRET_FIELDS: [&str; 4] = ["auth", "password", "identitytoken", "registrytoken"];

/// A parsed auth file. Fields we do not own are carried through untouched.
#[derive(Clone, PartialEq)]
pub struct AuthFile {
    root: Map<String, Value>,
    format: Format,
}

/// Debug shows the masked document: a stray `{:?}` in a log must not leak credentials.
impl std::fmt::Debug for AuthFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthFile")
            .field("format", &self.format)
            .field("masked", &self.masked())
            .finish()
    }
}

impl AuthFile {
    /// An empty file of the given layout.
    pub fn new(format: Format) -> Self {
        AuthFile {
            root: Map::new(),
            format,
        }
    }

    /// Parses bytes, telling the layouts apart: `auths` present means `Config`; an
    /// object whose values are all objects, at least one with an `auth` field, is a
    /// legacy `.dockercfg`; anything else (including `{}`) is `Config`.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        Self::parse_hinted(bytes, Format::Config)
    }

    /// Like [`AuthFile::parse`], but content that fits both layouts (`{}`, or entries
    /// without `auth`) takes `hint`, e.g. `Legacy` for a file named `.dockercfg`.
    pub fn parse_hinted(bytes: &[u8], hint: Format) -> Result<Self, ParseError> {
        let root = parse_object(bytes)?;
        let legacy = !root.contains_key("auths")
            && root.values().all(Value::is_object)
            && (hint == Format::Legacy
                || root
                    .values()
                    .any(|v| v.get("auth").is_some_and(Value::is_string)));
        let format = if legacy {
            Format::Legacy
        } else {
            Format::Config
        };
        Self::from_root(root, format)
    }

    /// Parses bytes known to be of one layout (e.g. from the file's name or a secret's type).
    pub fn parse_as(bytes: &[u8], format: Format) -> Result<Self, ParseError> {
        Self::from_root(parse_object(bytes)?, format)
    }

    fn from_root(root: Map<String, Value>, format: Format) -> Result<Self, ParseError> {
        if format == Format::Config {
            match root.get("auths") {
                None | Some(Value::Null) | Some(Value::Object(_)) => {}
                Some(_) => return Err(ParseError::AuthsNotObject),
            }
        }
        Ok(AuthFile { root, format })
    }

    /// The layout this file uses.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The credential map (`auths`, or the whole object for a legacy file).
    pub fn auths(&self) -> Option<&Map<String, Value>> {
        match self.format {
            Format::Legacy => Some(&self.root),
            Format::Config => self.root.get("auths").and_then(Value::as_object),
        }
    }

    fn auths_mut(&mut self) -> &mut Map<String, Value> {
        match self.format {
            Format::Legacy => &mut self.root,
            Format::Config => {
                let slot = self
                    .root
                    .entry("auths")
                    .or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    // Only `null` gets here (parse refuses other non-objects); Go reads
                    // `"auths": null` as an empty map too.
                    *slot = Value::Object(Map::new());
                }
                slot.as_object_mut().expect("just made an object")
            }
        }
    }

    /// The whole document as a JSON value.
    pub fn value(&self) -> Value {
        Value::Object(self.root.clone())
    }

    /// True when a credential helper or store, not this file, answers for `key`'s host
    /// in docker (`credHelpers`, `credsStore`) or podman (`credHelpers`); returns the
    /// helper's name.
    pub fn helper_for(&self, key: &RegistryKey) -> Option<String> {
        if self.format == Format::Legacy {
            return None;
        }
        let helpers = self.root.get("credHelpers").and_then(Value::as_object);
        if let Some(h) = helpers
            .and_then(|h| h.get(key.host()))
            .and_then(Value::as_str)
        {
            return Some(h.to_string());
        }
        self.root
            .get("credsStore")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }

    /// Finds the credential containers/image would use for `key`: exact keys from the
    /// most specific path to the host, then keys normalised to their host.
    pub fn find(&self, key: &RegistryKey) -> Option<StoredCredential> {
        let auths = self.auths()?;
        for candidate in key.lookup_candidates() {
            if let Some(entry) = auths.get(candidate) {
                return Some(StoredCredential::from_entry(candidate, entry));
            }
        }
        let wanted = normalize_lookup_key(key.host(), false);
        let legacy = self.format == Format::Legacy;
        // Sorted iteration makes the pick deterministic when two keys normalise alike.
        let mut keys: Vec<&String> = auths.keys().collect();
        keys.sort();
        keys.into_iter()
            .find(|k| normalize_lookup_key(k, legacy) == wanted)
            .map(|k| StoredCredential::from_entry(k, &auths[k.as_str()]))
    }

    /// Sets (replaces) the entry under exactly `key`, as `podman login` does; says
    /// whether the document changed. Other keys, even ones that normalise to the same
    /// host, are left alone: the exact key wins at lookup.
    pub fn set(&mut self, key: &RegistryKey, credential: &Credential) -> bool {
        let entry = credential.file_entry();
        let auths = self.auths_mut();
        if auths.get(key.as_str()) == Some(&entry) {
            return false;
        }
        auths.insert(key.as_str().to_string(), entry);
        true
    }

    /// Canonical bytes: sorted keys, tab indent, trailing newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
        Sorted(&Value::Object(self.root.clone()))
            .serialize(&mut ser)
            .expect("serialising a JSON value cannot fail");
        out.push(b'\n');
        out
    }

    /// The canonical text with every secret value replaced by `********`, for diffs.
    pub fn masked(&self) -> String {
        let mut v = Value::Object(self.root.clone());
        mask(&mut v);
        let mut out = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
        Sorted(&v)
            .serialize(&mut ser)
            .expect("serialising a JSON value cannot fail");
        out.push(b'\n');
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }
}

/// Masks the secrets of any auth-file bytes (for `--diff`); bytes that are not an
/// auth file are shown as a placeholder, never raw.
pub fn masked_json(bytes: &[u8]) -> String {
    match AuthFile::parse(bytes) {
        Ok(f) => f.masked(),
        Err(e) => format!("<unreadable auth file: {e}>\n"),
    }
}

fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ParseError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ParseError::NotObject),
        // Only the category and position: serde_json's messages for `Value` quote no
        // input, but keep it that way by construction.
        Err(e) => Err(ParseError::NotJson(format!(
            "{} at line {} column {}",
            match e.classify() {
                serde_json::error::Category::Io => "read error",
                serde_json::error::Category::Syntax => "syntax error",
                serde_json::error::Category::Data => "data error",
                serde_json::error::Category::Eof => "unexpected end of input",
            },
            e.line(),
            e.column()
        ))),
    }
}

/// A unified diff of two versions of an auth payload with every secret masked; a
/// secret that differs shows as `******** (changed)`, so a rotation is visible
/// without its value. Empty when the masked texts are equal.
pub fn masked_diff(old: Option<&[u8]>, new: Option<&[u8]>, name: &str) -> String {
    let parse = |b: Option<&[u8]>| b.map(serde_json::from_slice::<Value>);
    let render = |v: &Value| {
        let mut out = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
        Sorted(v)
            .serialize(&mut ser)
            .expect("serialising a JSON value cannot fail");
        out.push(b'\n');
        String::from_utf8(out).expect("serde_json writes UTF-8")
    };
    let unreadable = "<not JSON: contents hidden>\n".to_string();
    let (o, n) = (parse(old), parse(new));
    let mut ov = o.as_ref().and_then(|r| r.as_ref().ok()).cloned();
    let mut nv = n.as_ref().and_then(|r| r.as_ref().ok()).cloned();
    if let (Some(o), Some(n)) = (&ov, &mut nv) {
        mark_changed(o, n);
    }
    ov.iter_mut().for_each(mask);
    nv.iter_mut().for_each(mask);
    let text = |src: &Option<Result<Value, serde_json::Error>>, v: &Option<Value>| match (src, v) {
        (None, _) => String::new(),
        (Some(_), Some(v)) => render(v),
        (Some(_), None) => unreadable.clone(),
    };
    let (a, b) = (text(&o, &ov), text(&n, &nv));
    if a == b {
        return String::new();
    }
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{name} (before)"), &format!("{name} (after)"))
        .to_string()
}

fn is_secret_key(k: &str) -> bool {
    SECRET_FIELDS.contains(&k)
        || crate::redact::is_secret_name(k)
        || k.eq_ignore_ascii_case("authorization")
}

// A value no real auth file holds, so masking can tell "changed" secrets apart.
const CHANGED: &str = "\u{1}regauth-changed";

/// Marks secret leaves of `new` that differ from `old`, for `mask` to label.
fn mark_changed(old: &Value, new: &mut Value) {
    if let Value::Object(nm) = new {
        for (k, nv) in nm.iter_mut() {
            let ov = old.get(k);
            if is_secret_key(k) {
                if !nv.is_null() && ov != Some(nv) {
                    *nv = Value::String(CHANGED.into());
                }
            } else if let Some(o) = ov {
                mark_changed(o, nv);
            }
        }
    }
}

/// Masks secret fields anywhere in the tree, plus any key whose name says secret
/// (`redact::is_secret_name`) and an `Authorization` header in `HttpHeaders`.
fn mask(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                if is_secret_key(k) && !child.is_null() {
                    let text = if child.as_str() == Some(CHANGED) {
                        format!("{} (changed)", crate::redact::MASK)
                    } else {
                        crate::redact::MASK.to_string()
                    };
                    *child = Value::String(text);
                } else {
                    mask(child);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(mask),
        _ => {}
    }
}

/// Serialises a JSON value with object keys in sorted order whatever the map type.
struct Sorted<'a>(&'a Value);

impl Serialize for Sorted<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut map = s.serialize_map(Some(keys.len()))?;
                for k in keys {
                    map.serialize_entry(k, &Sorted(&m[k.as_str()]))?;
                }
                map.end()
            }
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for item in a {
                    seq.serialize_element(&Sorted(item))?;
                }
                seq.end()
            }
            other => other.serialize(s),
        }
    }
}

#[cfg(test)]
mod diff_tests {
    #[test]
    fn rotation_is_visible_but_masked() {
        let d = super::masked_diff(
            Some(br#"{"auths":{"r":{"auth":"b2xk"}}}"#),
            Some(br#"{"auths":{"r":{"auth":"bmV3"}}}"#),
            "config.json",
        );
        assert!(d.contains("+\t\t\t\"auth\": \"******** (changed)\""), "{d}");
        assert!(!d.contains("b2xk") && !d.contains("bmV3"), "{d}");
        let same = super::masked_diff(Some(b"{\"auths\":{}}"), Some(b"{\"auths\":{}}"), "x");
        assert_eq!(same, "");
        let created =
            super::masked_diff(None, Some(br#"{"auths":{"r":{"auth":"c2VjcmV0"}}}"#), "x");
        assert!(
            created.contains("+") && !created.contains("c2VjcmV0"),
            "{created}"
        );
        let garbage = super::masked_diff(Some(b"not json secret"), Some(b"{}"), "x");
        assert!(!garbage.contains("secret"), "{garbage}");
    }
}
