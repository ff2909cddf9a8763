//! Files every connection of a run reads, read once: the known_hosts file (parsed) and
//! private keys (parsed and kept in memory, zeroized when the run ends). On a 2,000-host run,
//! reading them per host cost a descriptor each at the worst moment (a host whose
//! key file could not be opened under EMFILE looked like an authentication failure)
//! and the known_hosts parse grew with hosts squared.

use super::SshError;
use super::known_hosts::KnownHosts;
use super::sign::NativeKey;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use zeroize::Zeroizing;

/// A file's length and modification time: whether it changed since it was read.
type Stamp = Option<(u64, SystemTime)>;

fn stamp(path: &Path) -> Stamp {
    let m = std::fs::metadata(path).ok()?;
    Some((m.len(), m.modified().ok()?))
}

/// A private key file as read, or why it could not be read.
pub type KeyText = Result<Arc<LoadedKey>, String>;

/// A private key file, read and parsed once per run.
pub enum LoadedKey {
    /// An unencrypted ed25519 or ECDSA OpenSSH key: regauth signs with it itself.
    Native(Box<NativeKey>),
    /// Any other key: its text for libssh2, which parses it per connection, and the
    /// public half when it can be read without the passphrase (an unencrypted
    /// OpenSSH key), which spares libssh2 a second parse to derive it.
    Libssh2 {
        /// The file's text.
        text: Zeroizing<String>,
        /// An authorized_keys line.
        public: Option<String>,
    },
}

impl LoadedKey {
    fn parse(text: String) -> LoadedKey {
        let text = Zeroizing::new(text);
        match NativeKey::parse(&text) {
            Some(key) => LoadedKey::Native(Box::new(key)),
            None => LoadedKey::Libssh2 {
                public: public_line(&text),
                text,
            },
        }
    }

    /// How many signatures regauth made with it itself (`None`: libssh2 signs).
    pub fn native_signatures(&self) -> Option<usize> {
        match self {
            LoadedKey::Native(k) => Some(k.signatures()),
            LoadedKey::Libssh2 { .. } => None,
        }
    }
}

/// Shared by every connection made with one `ConnectOptions` (clones share it).
#[derive(Default)]
pub struct FileCache {
    known_hosts: Mutex<HashMap<PathBuf, (Stamp, Arc<KnownHosts>)>>,
    keys: Mutex<HashMap<PathBuf, KeyText>>,
}

impl std::fmt::Debug for FileCache {
    // Key texts are secrets: only say how many files are held.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "FileCache {{ known_hosts: {}, keys: {} }}",
            self.known_hosts.lock().map_or(0, |m| m.len()),
            self.keys.lock().map_or(0, |m| m.len())
        )
    }
}

impl FileCache {
    /// The parsed known_hosts file, read on first use.
    pub fn known_hosts(&self, path: &Path) -> Result<Arc<KnownHosts>, SshError> {
        let mut map = self.known_hosts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, k)) = map.get(path) {
            return Ok(k.clone());
        }
        let st = stamp(path);
        let k = Arc::new(KnownHosts::load(path)?);
        map.insert(path.to_path_buf(), (st, k.clone()));
        Ok(k)
    }

    /// The file read again if it changed since it was cached (a key recorded by
    /// `--accept-new-host-keys` or another process); `None` if it did not.
    pub fn known_hosts_if_changed(&self, path: &Path) -> Result<Option<Arc<KnownHosts>>, SshError> {
        let mut map = self.known_hosts.lock().unwrap_or_else(|e| e.into_inner());
        let st = stamp(path);
        if map.get(path).is_some_and(|(old, _)| *old == st) {
            return Ok(None);
        }
        let k = Arc::new(KnownHosts::load(path)?);
        map.insert(path.to_path_buf(), (st, k.clone()));
        Ok(Some(k))
    }

    /// A private key (or why it cannot be read), read and parsed on first use and
    /// kept, so every host gets the same answer without a descriptor or a parse spent
    /// per host. The outer error is running out of descriptors or memory: not kept,
    /// and not about the key.
    pub fn key(&self, path: &Path) -> Result<KeyText, std::io::Error> {
        let mut map = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = map.get(path) {
            return Ok(k.clone());
        }
        let k = match std::fs::read_to_string(path) {
            Ok(t) => Ok(Arc::new(LoadedKey::parse(t))),
            Err(e) if super::exhaustion(&e).is_some() => return Err(e),
            Err(e) => Err(format!("{}: {e}", path.display())),
        };
        map.insert(path.to_path_buf(), k.clone());
        Ok(k)
    }
}

/// The public half of an unencrypted OpenSSH-format private key, as an
/// authorized_keys line; `None` for anything else (encrypted keys keep libssh2's own
/// path and errors).
pub fn public_line(text: &str) -> Option<String> {
    let key = ssh_key::PrivateKey::from_openssh(text).ok()?;
    if key.is_encrypted() {
        return None;
    }
    key.public_key().to_openssh().ok()
}

#[cfg(test)]
mod public_tests {
    use super::public_line;
    use std::process::Command;

    #[test]
    fn public_line_matches_ssh_keygen() {
        let dir = tempfile::tempdir().unwrap();
        for (kind, pass) in [("ed25519", ""), ("rsa", ""), ("ed25519", "secret")] {
            let key = dir.path().join(format!("{kind}{}", pass.len()));
            let ok = Command::new("ssh-keygen")
                .args(["-q", "-t", kind, "-N", pass, "-C", "c", "-f"])
                .arg(&key)
                .status()
                .unwrap();
            assert!(ok.success());
            let text = std::fs::read_to_string(&key).unwrap();
            let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
            match pass {
                "" => assert_eq!(public_line(&text).unwrap(), public.trim()),
                _ => assert_eq!(public_line(&text), None),
            }
        }
        assert_eq!(public_line("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n"), None);
    }
}
