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

/// The public half of an unencrypted OpenSSH-format private key, as an
/// authorized_keys line; `None` for anything else. Given to libssh2 with the private
/// key, it spares a second parse of the private key per connection: libssh2's
/// OpenSSL backend sets up OpenSSL 3's decoders for every parse (PEM first, then
/// OpenSSH), which callgrind showed as about half of regauth's instructions per host.
pub fn public_line(text: &str) -> Option<String> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let body: String = text
        .lines()
        .skip_while(|l| l.trim() != "-----BEGIN OPENSSH PRIVATE KEY-----")
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .map(str::trim)
        .collect();
    let raw = Zeroizing::new(b64.decode(body).ok()?);
    let mut r = raw.strip_prefix(b"openssh-key-v1\0")?;
    fn string<'a>(r: &mut &'a [u8]) -> Option<&'a [u8]> {
        let (len, tail) = r.split_first_chunk::<4>()?;
        let n = u32::from_be_bytes(*len) as usize;
        let s = tail.get(..n)?;
        *r = &tail[n..];
        Some(s)
    }
    // Encrypted keys keep libssh2's own path (and its errors).
    if string(&mut r)? != b"none" {
        return None;
    }
    string(&mut r)?; // kdf name
    string(&mut r)?; // kdf options
    let (count, tail) = r.split_first_chunk::<4>()?;
    if u32::from_be_bytes(*count) != 1 {
        return None;
    }
    r = tail;
    let blob = string(&mut r)?;
    let mut b = blob;
    let kind = std::str::from_utf8(string(&mut b)?).ok()?;
    Some(format!("{kind} {}", b64.encode(blob)))
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
            let want: Vec<&str> = public.split_whitespace().take(2).collect();
            match pass {
                "" => assert_eq!(public_line(&text).unwrap(), want.join(" ")),
                _ => assert_eq!(public_line(&text), None),
            }
        }
        assert_eq!(public_line("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n"), None);
    }
}
