//! Registry keys of the `auths` map, normalised the way containers/image does.
//!
//! Writing: a key is `HOST[:PORT]` or `HOST[:PORT]/NAMESPACE[/REPO]` (podman's
//! repository-scoped logins). An `http(s)://` URL is accepted from the user and
//! reduced to its host, as `podman login https://quay.io` does; a path after a
//! scheme is an API path (`/v1/`, `/v2/`), not a namespace, so it is dropped.
//!
//! Looking up (containers/image `pkg/docker/config`): exact keys first, from the
//! most specific repository path to the bare host; then every key is normalised
//! (`http(s)://` and, for URL-shaped or legacy keys, any path dropped;
//! `docker.io`/`registry-1.docker.io` → `index.docker.io`) and compared with the
//! normalised host. So `https://reg:5000/v2/` serves `reg:5000`, but the path-scoped
//! `reg:5000/team` never serves `reg:5000/other`.

use super::AuthFileError;
use std::fmt;

/// A validated `auths` key: `HOST[:PORT][/PATH]`, without scheme or trailing slash.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegistryKey(String);

impl RegistryKey {
    /// Validates and normalises what a user typed as `--registry`.
    pub fn parse(input: &str) -> Result<Self, AuthFileError> {
        let bad = |reason| AuthFileError::InvalidKey {
            input: input.to_string(),
            reason,
        };
        let trimmed = input.trim();
        let (stripped, had_scheme) = strip_scheme(trimmed);
        let key = if had_scheme {
            stripped.split('/').next().unwrap_or_default()
        } else {
            stripped.trim_end_matches('/')
        };
        if key.is_empty() {
            return Err(bad("no registry host"));
        }
        if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("contains whitespace"));
        }
        if key.contains('@') {
            return Err(bad(
                "contains '@' (a digest is not a registry or repository)",
            ));
        }
        if let Some((host, path)) = key.split_once('/') {
            if host.is_empty() || path.split('/').any(str::is_empty) {
                return Err(bad("empty path component"));
            }
            if path.contains(':') {
                return Err(bad(
                    "contains ':' after the host (a tag is not a repository)",
                ));
            }
        }
        Ok(RegistryKey(key.to_string()))
    }

    /// The key as written into `auths`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `HOST[:PORT]` part.
    pub fn host(&self) -> &str {
        self.0.split('/').next().unwrap_or(&self.0)
    }

    /// The repository path after the host, if the key is scoped to one.
    pub fn path(&self) -> Option<&str> {
        self.0.split_once('/').map(|(_, p)| p)
    }

    /// Exact keys to try for this key, most specific first (containers/image `authKeysForRef`).
    pub fn lookup_candidates(&self) -> Vec<&str> {
        let mut out = vec![self.0.as_str()];
        let mut rest = self.0.as_str();
        while let Some(i) = rest.rfind('/') {
            rest = &rest[..i];
            out.push(rest);
        }
        out
    }
}

impl fmt::Display for RegistryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn strip_scheme(s: &str) -> (&str, bool) {
    for scheme in ["https://", "http://"] {
        if let Some(rest) = s.strip_prefix(scheme) {
            return (rest, true);
        }
    }
    (s, false)
}

/// Normalises an existing `auths` key for the fallback lookup (containers/image
/// `normalizeAuthFileKey`): drops `http(s)://`, drops the path when there was a
/// scheme or the file is legacy, and maps Docker Hub's host names to `index.docker.io`.
pub fn normalize_lookup_key(key: &str, legacy: bool) -> String {
    let (stripped, had_scheme) = strip_scheme(key);
    let stripped = if legacy || had_scheme {
        stripped.split('/').next().unwrap_or_default()
    } else {
        stripped
    };
    normalize_hub(stripped).to_string()
}

fn normalize_hub(host: &str) -> &str {
    match host {
        "registry-1.docker.io" | "docker.io" => "index.docker.io",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let ok = [
            ("quay.io", "quay.io"),
            ("reg:5000", "reg:5000"),
            ("https://reg:5000/v2/", "reg:5000"),
            ("http://reg", "reg"),
            ("quay.io/repository-main", "quay.io/repository-main"),
            ("localhost:5000/a/b/", "localhost:5000/a/b"),
            (" docker.io ", "docker.io"),
        ];
        for (input, want) in ok {
            assert_eq!(
                RegistryKey::parse(input).expect(input).as_str(),
                want,
                "{input}"
            );
        }
        for bad in [
            "",
            "https://",
            "quay.io/a:tag",
            "quay.io/a@sha256:00",
            "a b",
            "q//x",
            "/x",
        ] {
            assert!(RegistryKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn host_path_and_candidates() {
        let k = RegistryKey::parse("reg:5000/ns/repo").unwrap();
        assert_eq!(k.host(), "reg:5000");
        assert_eq!(k.path(), Some("ns/repo"));
        assert_eq!(
            k.lookup_candidates(),
            ["reg:5000/ns/repo", "reg:5000/ns", "reg:5000"]
        );
    }

    #[test]
    fn normalize_like_containers_image() {
        assert_eq!(
            normalize_lookup_key("https://reg:5000/v2/", false),
            "reg:5000"
        );
        assert_eq!(
            normalize_lookup_key("https://index.docker.io/v1/", false),
            "index.docker.io"
        );
        assert_eq!(normalize_lookup_key("docker.io", false), "index.docker.io");
        // Without a scheme a path is a namespace in auth.json, so it stays.
        assert_eq!(normalize_lookup_key("quay.io/team", false), "quay.io/team");
        assert_eq!(normalize_lookup_key("quay.io/team", true), "quay.io");
    }
}
