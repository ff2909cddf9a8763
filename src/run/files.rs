//! One host's auth files: in one exec, read every target, merge the host's credentials
//! with the auth-file module here, and write only what changed.

use crate::authfile::{self, Credential, Format, RegistryKey};
use crate::model::HostSpec;
use crate::playbook::AuthTarget;
use crate::ssh::{self, RemoteFile, Session, SshError};

/// What happened to one file on one host.
#[derive(Debug, Clone)]
pub struct FileResult {
    /// Its remote path.
    pub path: String,
    /// Whether its contents changed (or would, in check mode).
    pub changed: bool,
    /// The masked diff, when asked for and changed.
    pub diff: String,
}

/// Why a host's files could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// SSH failed (connection, auth, transport, sudo).
    #[error(transparent)]
    Ssh(#[from] SshError),
    /// A file is there but is not something we may overwrite.
    #[error("{0}")]
    Refused(String),
}

/// The remote path of a target on a host.
pub fn path_of(host: &HostSpec, target: AuthTarget) -> String {
    match target {
        AuthTarget::Runtime => format!(
            "{}/config.json",
            host.runtime_auth_dir.trim_end_matches('/')
        ),
        AuthTarget::Node | AuthTarget::Master => format!(
            "{}/.docker/config.json",
            host.data_dir.trim_end_matches('/')
        ),
    }
}

/// The entries the installer writes: `{"auth": base64(user:password)}` per registry,
/// in inventory order, so for two entries of one host the last wins.
pub fn credentials(host: &HostSpec) -> Result<Vec<(RegistryKey, Credential)>, FilesError> {
    host.registries
        .iter()
        .map(|r| {
            let key = RegistryKey::parse(&r.host)
                .map_err(|e| FilesError::Refused(format!("{}: {e}", r.source)))?;
            let cred = Credential::new(r.user.clone(), r.password.clone(), None)
                .map_err(|e| FilesError::Refused(format!("{}: {e}", r.source)))?;
            Ok((key, cred))
        })
        .collect()
}

/// The new bytes for one file: `None` when nothing changes.
pub fn plan(
    path: &str,
    current: &RemoteFile,
    creds: &[(RegistryKey, Credential)],
) -> Result<Option<Vec<u8>>, FilesError> {
    let existing = match current {
        RemoteFile::Missing => None,
        RemoteFile::Present { contents, .. } => Some(contents.as_slice()),
        RemoteFile::Unreadable(why) => {
            return Err(FilesError::Refused(format!(
                "{path}: cannot read it: {why}"
            )));
        }
    };
    let merged = authfile::merge_all(existing, Format::Config, creds).map_err(|e| {
        FilesError::Refused(format!(
            "{path} is not a valid auth file ({e}); it was left untouched: fix or remove it"
        ))
    })?;
    Ok(merged.changed.then_some(merged.bytes))
}

/// Brings a host's files up to date over an open session. In check mode nothing is
/// written, but the planned contents go into `planned`, which later steps read instead
/// of the remote file: a dry run then reports exactly what the real run changes.
pub fn update(
    session: &Session,
    host: &HostSpec,
    targets: &[AuthTarget],
    check: bool,
    want_diff: bool,
    planned_writes: &mut std::collections::HashMap<String, Vec<u8>>,
) -> Result<Vec<FileResult>, FilesError> {
    // On a host that is both master and node the node and master files are one file.
    let mut unique: Vec<(AuthTarget, String)> = Vec::new();
    for &t in targets {
        let p = path_of(host, t);
        if !unique.iter().any(|(_, q)| *q == p) {
            unique.push((t, p));
        }
    }
    let paths: Vec<&str> = unique.iter().map(|(_, p)| p.as_str()).collect();
    let creds = credentials(host)?;
    let mut planned = Vec::new();
    // Runs on the control side between the node's read and its write (one exec).
    let decide = |mut current: Vec<RemoteFile>| -> Result<Vec<(usize, Vec<u8>)>, FilesError> {
        for (cur, path) in current.iter_mut().zip(&paths) {
            if let Some(bytes) = planned_writes.get(*path) {
                *cur = RemoteFile::Present {
                    mode: 0o600,
                    uid: 0,
                    contents: bytes.clone(),
                };
            }
        }
        for ((target, path), cur) in unique.iter().zip(&current) {
            let new = plan(path, cur, &creds)?;
            let diff = match (&new, want_diff) {
                (Some(bytes), true) => authfile::masked_diff(cur.contents(), Some(bytes), path),
                _ => String::new(),
            };
            planned.push((*target, path.clone(), new, diff));
        }
        if check {
            for (_, p, new, _) in &planned {
                if let Some(b) = new {
                    planned_writes.insert(p.clone(), b.clone());
                }
            }
            return Ok(Vec::new());
        }
        Ok(planned
            .iter()
            .enumerate()
            .filter_map(|(i, (_, _, new, _))| new.clone().map(|b| (i, b)))
            .collect())
    };
    let outcomes = ssh::update_files(session, &paths, decide)??;
    let written = planned.iter().filter(|(_, _, new, _)| new.is_some());
    for ((_, path, _, _), o) in written.zip(outcomes) {
        if let ssh::WriteOutcome::Failed(why) = o {
            return Err(FilesError::Refused(format!(
                "{path}: not written ({why}); the old file is intact"
            )));
        }
    }
    Ok(planned
        .into_iter()
        .map(|(_, path, new, diff)| FileResult {
            path,
            changed: new.is_some(),
            diff,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RegistryCredential, SshTarget};
    use secrecy::SecretString;

    fn host() -> HostSpec {
        HostSpec {
            name: "n1".into(),
            ssh: SshTarget {
                address: "n1".into(),
                port: 22,
                user: None,
                key_file: None,
                become_: false,
                become_user: "root".into(),
            },
            data_dir: "/var/lib/origin".into(),
            runtime_auth_dir: "/root/.docker/".into(),
            node_restart_command: String::new(),
            master_restart_command: String::new(),
            registries: vec![RegistryCredential {
                host: "reg:5000".into(),
                user: "alice".into(),
                password: SecretString::from("pw"),
                test_login: true,
                test_image: "i".into(),
                tls_verify: true,
                source: "oreg_auth_user".into(),
            }],
            is_master: false,
            is_node: true,
        }
    }

    #[test]
    fn paths_and_plans() {
        let h = host();
        assert_eq!(
            path_of(&h, AuthTarget::Runtime),
            "/root/.docker/config.json"
        );
        assert_eq!(
            path_of(&h, AuthTarget::Node),
            "/var/lib/origin/.docker/config.json"
        );
        let creds = credentials(&h).unwrap();
        let new = plan("/x", &RemoteFile::Missing, &creds)
            .unwrap()
            .expect("a missing file is written");
        let v: serde_json::Value = serde_json::from_slice(&new).unwrap();
        assert_eq!(v["auths"]["reg:5000"]["auth"], "YWxpY2U6cHc=");
        let same = RemoteFile::Present {
            mode: 0o600,
            uid: 0,
            contents: new.clone(),
        };
        assert!(
            plan("/x", &same, &creds).unwrap().is_none(),
            "unchanged file is not rewritten"
        );
        let corrupt = RemoteFile::Present {
            mode: 0o600,
            uid: 0,
            contents: b"{oops".to_vec(),
        };
        let e = plan("/x", &corrupt, &creds).unwrap_err();
        assert!(e.to_string().contains("/x is not a valid auth file"), "{e}");
        let other = RemoteFile::Present {
            mode: 0o600,
            uid: 0,
            contents: br#"{"auths":{"quay.io":{"auth":"eDp5"}}}"#.to_vec(),
        };
        let merged: serde_json::Value =
            serde_json::from_slice(&plan("/x", &other, &creds).unwrap().unwrap()).unwrap();
        assert_eq!(
            merged["auths"]["quay.io"]["auth"], "eDp5",
            "other registries are kept"
        );
    }
}
