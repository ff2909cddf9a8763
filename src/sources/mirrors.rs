//! Registry mirrors as CRI-O applies them (containers/image `sysregistriesv2`, as the
//! Machine Config Operator writes `registries.conf` from install-config's lists and the
//! cluster's ImageContentSourcePolicy, ImageDigestMirrorSet and ImageTagMirrorSet):
//! the longest matching source prefix wins; its mirrors are tried in order, digest-only
//! mirrors (ICSP, IDMS, imageContentSources, imageDigestSources) only for references by
//! digest and tag-only mirrors (ITMS) only for references by tag; then the source itself,
//! unless a set says `NeverContactSource`.

use crate::registry::reference::{ImageRef, Target};

/// Which references a mirror set serves (`pull-from-mirror` of registries.conf).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullFrom {
    /// Only references by digest (ICSP, IDMS, install-config).
    DigestOnly,
    /// Only references by tag (ITMS).
    TagOnly,
}

/// One source and its mirrors, as one object or install-config list item declares them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorSet {
    /// `HOST[:PORT][/PATH]` the mirrors stand in for.
    pub source: String,
    /// `HOST[:PORT][/PATH]` mirrors, in order.
    pub mirrors: Vec<String>,
    /// Which references they serve.
    pub pull_from: PullFrom,
    /// `mirrorSourcePolicy: NeverContactSource`: the source is never tried.
    pub never_contact_source: bool,
    /// Where the set was declared, for messages (`imageDigestSources[0]`, `ImageDigestMirrorSet/x`).
    pub origin: String,
}

/// Every mirror set of a cluster or install-config.
#[derive(Debug, Clone, Default)]
pub struct Mirrors {
    /// In declaration order; sets with the same source are merged in this order.
    pub sets: Vec<MirrorSet>,
}

/// One way to pull an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Way {
    /// The reference to pull: `HOST[:PORT]/REPO@DIGEST` or `...:TAG`.
    pub image: String,
    /// Why this way: the mirror set's origin, or `source`.
    pub via: String,
}

/// True when `name` (`host/repo`) lies under `prefix`, on a path-component boundary.
fn under(name: &str, prefix: &str) -> bool {
    name == prefix
        || name
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

impl Mirrors {
    /// The ways CRI-O tries to pull `image` (a full `HOST/REPO[:TAG|@DIGEST]`), in order.
    pub fn ways(&self, image: &ImageRef) -> Vec<Way> {
        let host = image.host.clone().unwrap_or_else(|| "docker.io".into());
        let name = format!("{host}/{}", image.repository);
        let suffix = match &image.target {
            Target::Digest(d) => format!("@{d}"),
            Target::Tag(t) => format!(":{t}"),
        };
        let by_digest = matches!(image.target, Target::Digest(_));
        let best = self
            .sets
            .iter()
            .filter(|s| under(&name, &s.source))
            .map(|s| s.source.len())
            .max();
        let mut ways: Vec<Way> = Vec::new();
        let mut never = false;
        if let Some(len) = best {
            for set in self
                .sets
                .iter()
                .filter(|s| s.source.len() == len && under(&name, &s.source))
            {
                never |= set.never_contact_source;
                let serves = match set.pull_from {
                    PullFrom::DigestOnly => by_digest,
                    PullFrom::TagOnly => !by_digest,
                };
                if !serves {
                    continue;
                }
                let rest = &name[set.source.len()..];
                for m in &set.mirrors {
                    let image = format!("{m}{rest}{suffix}");
                    if !ways.iter().any(|w| w.image == image) {
                        ways.push(Way {
                            image,
                            via: set.origin.clone(),
                        });
                    }
                }
            }
        }
        if !never {
            ways.push(Way {
                image: format!("{name}{suffix}"),
                via: "source".into(),
            });
        }
        ways
    }

    /// Every distinct mirror with the origin of its first set, in declaration order.
    pub fn all_mirrors(&self) -> Vec<(&str, &MirrorSet)> {
        let mut out: Vec<(&str, &MirrorSet)> = Vec::new();
        for set in &self.sets {
            for m in &set.mirrors {
                if !out.iter().any(|(x, _)| x == m) {
                    out.push((m, set));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(source: &str, mirrors: &[&str], pull_from: PullFrom, never: bool) -> MirrorSet {
        MirrorSet {
            source: source.into(),
            mirrors: mirrors.iter().map(|m| m.to_string()).collect(),
            pull_from,
            never_contact_source: never,
            origin: format!("set {source}"),
        }
    }

    fn images(m: &Mirrors, r: &str) -> Vec<String> {
        m.ways(&ImageRef::parse(r).unwrap())
            .into_iter()
            .map(|w| w.image)
            .collect()
    }

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn digest_only_mirrors_serve_digests_only() {
        let m = Mirrors {
            sets: vec![set(
                "quay.io/openshift-release-dev/ocp-release",
                &["mirror:5000/ocp/release", "backup:5000/ocp/release"],
                PullFrom::DigestOnly,
                false,
            )],
        };
        let by_digest = format!("quay.io/openshift-release-dev/ocp-release@{D}");
        assert_eq!(
            images(&m, &by_digest),
            [
                format!("mirror:5000/ocp/release@{D}"),
                format!("backup:5000/ocp/release@{D}"),
                by_digest.clone()
            ]
        );
        assert_eq!(
            images(
                &m,
                "quay.io/openshift-release-dev/ocp-release:4.16.0-x86_64"
            ),
            ["quay.io/openshift-release-dev/ocp-release:4.16.0-x86_64"]
        );
    }

    #[test]
    fn never_contact_source_can_leave_no_way() {
        let m = Mirrors {
            sets: vec![set(
                "quay.io/ocp",
                &["tags:5000/ocp"],
                PullFrom::TagOnly,
                true,
            )],
        };
        assert_eq!(
            images(&m, "quay.io/ocp/release:4.16"),
            ["tags:5000/ocp/release:4.16"]
        );
        assert!(images(&m, &format!("quay.io/ocp/release@{D}")).is_empty());
    }

    #[test]
    fn longest_prefix_wins_and_the_rest_of_the_path_follows() {
        let m = Mirrors {
            sets: vec![
                set("quay.io", &["all:5000"], PullFrom::DigestOnly, false),
                set("quay.io/team", &["team:5000/t"], PullFrom::DigestOnly, true),
                set("quay.io/team", &["team2:5000"], PullFrom::TagOnly, false),
                // Not a component boundary: quay.io/teamwork is not under quay.io/team.
                set("quay.io/tea", &["no:1"], PullFrom::DigestOnly, false),
            ],
        };
        assert_eq!(
            images(&m, &format!("quay.io/team/app@{D}")),
            [format!("team:5000/t/app@{D}")]
        );
        assert_eq!(images(&m, "quay.io/team/app:v1"), ["team2:5000/app:v1"]);
        assert_eq!(
            images(&m, &format!("quay.io/teamwork/app@{D}")),
            [
                format!("all:5000/teamwork/app@{D}"),
                format!("quay.io/teamwork/app@{D}")
            ]
        );
    }
}
