//! Files every connection of a run reads, read once: the known_hosts file (parsed) and
//! private keys (kept in memory, zeroized when the run ends). On a 2,000-host run,
//! reading them per host cost a descriptor each at the worst moment (a host whose
//! key file could not be opened under EMFILE looked like an authentication failure)
//! and the known_hosts parse grew with hosts squared.

use super::SshError;
use super::known_hosts::KnownHosts;
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

/// A private key file's text, or why it could not be read.
pub type KeyText = Result<Arc<Zeroizing<String>>, String>;

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

    /// A private key's text (or why it cannot be read), read on first use and kept,
    /// so every host gets the same answer without a descriptor spent per host. The
    /// outer error is running out of descriptors or memory: not kept, and not about
    /// the key.
    pub fn key(&self, path: &Path) -> Result<KeyText, std::io::Error> {
        let mut map = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = map.get(path) {
            return Ok(k.clone());
        }
        let k = match std::fs::read_to_string(path) {
            Ok(t) => Ok(Arc::new(Zeroizing::new(t))),
            Err(e) if super::exhaustion(&e).is_some() => return Err(e),
            Err(e) => Err(format!("{}: {e}", path.display())),
        };
        map.insert(path.to_path_buf(), k.clone());
        Ok(k)
    }
}
