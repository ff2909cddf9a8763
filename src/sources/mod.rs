//! Where `validate` gets credentials besides the inventory: an auth file, an OpenShift 4
//! install-config.yaml, or the cluster's pull secrets. Each yields [`Loaded`]: entries for
//! the registry checker, extra trust, the credentials CRI-O pulls with and the mirror
//! configuration `--release-image` follows.
//!
//! # Files
//! `authfile` auth-file entries, `install_config` install-config.yaml, `cluster` the
//! cluster's secrets and mirror objects, `mirrors` CRI-O's mirror order, `release` the
//! release image through its mirrors.

pub mod authfile;
pub mod cluster;
pub mod install_config;
pub mod mirrors;
pub mod release;

use crate::authfile::{AuthFile, Credential, Format, RegistryKey};
use crate::cluster::ConnectOptions;
use crate::exit::{Exit, Failure};
use crate::model::{Proxies, RegistryCredential};
use crate::registry::{Entry, ImageRef};
use std::path::PathBuf;

/// One kind of credential source per run.
#[derive(Debug, Clone)]
pub enum Source {
    /// The installer inventory (`-i`).
    Inventory,
    /// `--authfile FILE`.
    Authfile(PathBuf),
    /// `--install-config FILE`.
    InstallConfig(PathBuf),
    /// `--from-cluster`, with the namespaces whose secrets are checked too.
    Cluster {
        /// Cluster access.
        kube: ConnectOptions,
        /// `-n NS` / `--all-namespaces`.
        namespaces: Namespaces,
    },
}

/// Which namespaces' registry secrets `--from-cluster` adds to the global pull secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Namespaces {
    /// These (`-n`, possibly none).
    Some(Vec<String>),
    /// Every namespace (`--all-namespaces`).
    All,
}

/// What a source gave.
#[derive(Debug, Default)]
pub struct Loaded {
    /// What to check, in the source's order.
    pub entries: Vec<Entry>,
    /// Proxies for reaching registries.
    pub proxies: Proxies,
    /// PEM trusted for every registry (install-config's `additionalTrustBundle`).
    pub bundle: Option<Vec<u8>>,
    /// The credentials CRI-O pulls with (the global pull secret), for mirrors and the release.
    pub pull_secret: Option<AuthFile>,
    /// Mirror configuration, for `--release-image`.
    pub mirrors: mirrors::Mirrors,
    /// Entries are merged per host on the nodes (the inventory), so a host defined
    /// twice deserves a warning; auth-file keys are distinct by construction.
    pub merged_per_host: bool,
}

impl Loaded {
    /// The inventory's credentials: entries as they are, and as the auth file nodes get.
    pub fn from_credentials(creds: Vec<RegistryCredential>, proxies: Proxies) -> Loaded {
        let mut file = AuthFile::new(Format::Config);
        for c in &creds {
            // The last entry per host wins, as on the nodes; an unusable one is left out.
            if let (Ok(key), Ok(cred)) = (
                RegistryKey::parse(&c.host),
                Credential::new(c.user.clone(), c.password.clone(), None),
            ) {
                file.set(&key, &cred);
            }
        }
        Loaded {
            entries: creds.into_iter().map(Entry::from).collect(),
            proxies,
            pull_secret: Some(file),
            merged_per_host: true,
            ..Default::default()
        }
    }
}

/// Loads a source other than the inventory.
pub async fn load(source: &Source, tests: &mut TestImages) -> Result<Loaded, Failure> {
    match source {
        Source::Inventory => Err(Failure::new(
            Exit::Unexpected,
            "the inventory is loaded by validate itself",
        )),
        Source::Authfile(path) => {
            let file = authfile::read(path)?;
            let entries = authfile::entries(&file, &path.display().to_string(), tests);
            Ok(Loaded {
                entries,
                pull_secret: Some(file),
                ..Default::default()
            })
        }
        Source::InstallConfig(path) => install_config::load(path, tests),
        Source::Cluster { kube, namespaces } => cluster::load(kube, namespaces, tests).await,
    }
}

/// `--test-image KEY=IMAGE` pairs, handed out to the entries whose key they name.
#[derive(Debug, Default)]
pub struct TestImages {
    pairs: Vec<(String, ImageRef, bool)>,
    problems: Vec<String>,
}

impl TestImages {
    /// Parses `KEY=IMAGE` arguments.
    pub fn parse(args: &[String]) -> Result<TestImages, Failure> {
        let mut pairs = Vec::new();
        for a in args {
            let usage = |why: String| Failure::new(Exit::Usage, format!("--test-image {a}: {why}"));
            let Some((key, image)) = a.split_once('=') else {
                return Err(usage("expected KEY=IMAGE".into()));
            };
            let image = ImageRef::parse(image).map_err(|e| usage(e.to_string()))?;
            pairs.push((key.trim().to_string(), image, false));
        }
        Ok(TestImages {
            pairs,
            problems: Vec::new(),
        })
    }

    /// The test image (without host) for the entry keyed `written` (`parsed` once
    /// normalised), or empty for a login check.
    pub fn take(&mut self, written: &str, parsed: &RegistryKey) -> String {
        let Some(i) = self
            .pairs
            .iter()
            .position(|(k, _, _)| k == written || k == parsed.as_str())
        else {
            return String::new();
        };
        self.pairs[i].2 = true;
        let (key, image) = (&self.pairs[i].0, &self.pairs[i].1);
        if let Some(h) = &image.host
            && h != parsed.host()
        {
            self.problems.push(format!(
                "--test-image {key}: {h} is another registry than {}",
                parsed.host()
            ));
            return String::new();
        }
        if let Some(path) = parsed.path()
            && !(image.repository == path || image.repository.starts_with(&format!("{path}/")))
        {
            self.problems.push(format!(
                "--test-image {key}: this credential is used only for images under {parsed}, not for {}",
                image.repository
            ));
            return String::new();
        }
        image.to_string()
    }

    /// A usage error for a KEY no entry has, or an image its credential would not be used for.
    pub fn finish(self, known: &[String]) -> Result<(), Failure> {
        let mut problems = self.problems;
        for (key, _, used) in &self.pairs {
            if !used {
                problems.push(format!(
                    "--test-image {key}=...: the source has no credential keyed {key} (it has: {})",
                    known.join(", ")
                ));
            }
        }
        match problems.is_empty() {
            true => Ok(()),
            false => Err(Failure::new(Exit::Usage, problems.join("; "))),
        }
    }
}
