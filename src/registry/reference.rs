//! Image references as the container tools write them, reduced to what a login
//! check needs: the repository path and the tag or digest to ask the registry for.

use std::fmt;

/// What to fetch: a tag or a content digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `:TAG` (`latest` when none is given, as docker and skopeo assume).
    Tag(String),
    /// `@sha256:HEX`.
    Digest(String),
}

/// A parsed `[HOST[:PORT]/]PATH[:TAG|@DIGEST]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host when the reference names one (`reg.example.com:5000`).
    pub host: Option<String>,
    /// Repository path (`openshift3/ose-pod`).
    pub repository: String,
    /// Tag or digest.
    pub target: Target,
}

/// Why an image reference could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// Nothing to parse.
    #[error("the test image is empty")]
    Empty,
    /// Characters or shape the distribution grammar does not allow.
    #[error("`{image}` is not a valid image reference: {why}")]
    Invalid {
        /// The reference as given.
        image: String,
        /// What is wrong with it.
        why: &'static str,
    },
}

impl ImageRef {
    /// Parses a reference; a first component with `.`, `:` or `localhost` is a host.
    pub fn parse(image: &str) -> Result<ImageRef, ReferenceError> {
        let image = image.trim();
        if image.is_empty() {
            return Err(ReferenceError::Empty);
        }
        let invalid = |why| ReferenceError::Invalid {
            image: image.to_string(),
            why,
        };
        let (rest, digest) = match image.split_once('@') {
            Some((r, d)) => {
                let valid = d
                    .split_once(':')
                    .is_some_and(|(alg, hex)| !alg.is_empty() && !hex.is_empty());
                if !valid {
                    return Err(invalid("a digest looks like sha256:HEX"));
                }
                (r, Some(d.to_string()))
            }
            None => (image, None),
        };
        let (host, path) = match rest.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (Some(first.to_string()), path)
            }
            _ => (None, rest),
        };
        // A tag is after the last ':' of the last path component (a port's ':' is in the host).
        let last = path.rsplit('/').next().unwrap_or(path);
        let (repository, tag) = match last.rsplit_once(':') {
            Some((_, tag)) => (&path[..path.len() - tag.len() - 1], Some(tag.to_string())),
            None => (path, None),
        };
        if repository.is_empty() || repository.split('/').any(str::is_empty) {
            return Err(invalid("the repository path has an empty component"));
        }
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(c);
        if !repository.chars().all(allowed) {
            return Err(invalid(
                "a repository path has lowercase letters, digits and . _ - / only",
            ));
        }
        let target = match (digest, tag) {
            (Some(d), _) => Target::Digest(d),
            (None, Some(t)) if !t.is_empty() && t.len() <= 128 => Target::Tag(t),
            (None, Some(_)) => return Err(invalid("a tag has 1 to 128 characters")),
            (None, None) => Target::Tag("latest".to_string()),
        };
        Ok(ImageRef {
            host,
            repository: repository.to_string(),
            target,
        })
    }

    /// The tag or digest as it goes into `/v2/NAME/manifests/REF`.
    pub fn reference(&self) -> &str {
        match &self.target {
            Target::Tag(t) | Target::Digest(t) => t,
        }
    }
}

impl fmt::Display for ImageRef {
    /// Prints the reference without its host, as messages name it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            Target::Tag(t) => write!(f, "{}:{t}", self.repository),
            Target::Digest(d) => write!(f, "{}@{d}", self.repository),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(s: &str) -> Target {
        Target::Tag(s.to_string())
    }

    #[test]
    fn table() {
        let cases: &[(&str, Option<&str>, &str, Target)] = &[
            (
                "openshift3/ose-pod:v3.11",
                None,
                "openshift3/ose-pod",
                tag("v3.11"),
            ),
            ("busybox", None, "busybox", tag("latest")),
            (
                "reg.example.com:5000/a/b:1",
                Some("reg.example.com:5000"),
                "a/b",
                tag("1"),
            ),
            ("localhost/x", Some("localhost"), "x", tag("latest")),
            ("host:5000/x", Some("host:5000"), "x", tag("latest")),
            (
                "a/b@sha256:abcd",
                None,
                "a/b",
                Target::Digest("sha256:abcd".to_string()),
            ),
        ];
        for (input, host, repo, target) in cases {
            let r = ImageRef::parse(input).unwrap();
            assert_eq!(r.host.as_deref(), *host, "{input}");
            assert_eq!(r.repository, *repo, "{input}");
            assert_eq!(&r.target, target, "{input}");
        }
    }

    #[test]
    fn rejects() {
        for bad in ["", "a//b", "UPPER/case", "a/b@nodigest", "a/b:", "/a"] {
            assert!(ImageRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_drops_host() {
        let r = ImageRef::parse("reg:5000/openshift3/ose-pod:v3.11").unwrap();
        assert_eq!(r.to_string(), "openshift3/ose-pod:v3.11");
    }
}
