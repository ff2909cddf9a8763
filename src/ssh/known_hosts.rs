//! The OpenSSH known_hosts file: look up a host's keys, check a presented key,
//! and record a new one (accept-new) without corrupting the file under concurrency.
//!
//! We parse the file ourselves instead of using libssh2's `KnownHosts`: libssh2
//! stops reading at the first line it cannot parse (`@cert-authority`, `sk-*` keys,
//! lines over 4 KiB), which silently turns every later host into "unknown" — and
//! with accept-new, an unknown host is accepted. It also falls back from
//! `[host]:port` to a plain `host` entry, which OpenSSH does not do. Here unparseable
//! lines are skipped one by one, and matching follows OpenSSH (`ssh(1)` KNOWN_HOSTS).

use super::SshError;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Digest;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What the file says about a presented host key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyStatus {
    /// An entry for the host has exactly this key.
    Match,
    /// The host has entries, none with this key: refuse.
    Mismatch,
    /// The key is listed under `@revoked`: refuse.
    Revoked,
    /// The host has no entry at all.
    NotFound,
}

#[derive(Debug, Clone)]
enum Marker {
    None,
    Revoked,
    CertAuthority,
}

#[derive(Debug, Clone)]
struct Entry {
    marker: Marker,
    hosts: Hosts,
    key_type: String,
    key: Vec<u8>,
}

#[derive(Debug, Clone)]
enum Hosts {
    /// `|1|salt|hash`: the HMAC keyed with the salt, and the hash (`None`: malformed,
    /// matches nothing).
    Hashed(Option<(Hmac<sha1::Sha1>, Vec<u8>)>),
    /// `a,b,!c,*.d`.
    Patterns(String),
}

/// The parsed entries of one known_hosts file.
///
/// Entries whose host field lists only plain names are indexed by name; hashed,
/// wildcard and negated ones are matched one by one, once per name: a run looks
/// every host up twice per handshake, and a linear scan per lookup made the cost
/// grow with hosts squared (at 2,000 hosts as much per connection as the key
/// exchange; with hashed entries, an HMAC per entry per lookup).
#[derive(Debug, Clone, Default)]
pub struct KnownHosts {
    entries: Vec<Entry>,
    /// Lowercased plain name → indices of the entries listing it, in file order.
    by_name: HashMap<String, Vec<usize>>,
    /// Indices of the entries that must be matched one by one.
    others: Vec<usize>,
    /// Name → indices of the `others` it matched, for names looked up before.
    scanned: Arc<Mutex<HashMap<String, Arc<[usize]>>>>,
}

/// The name a host is filed under: `host` on port 22, `[host]:port` otherwise.
pub fn host_name(address: &str, port: u16) -> String {
    if port == 22 {
        address.to_string()
    } else {
        format!("[{address}]:{port}")
    }
}

/// The key type named inside an SSH public-key blob (`ssh-ed25519`), if well formed.
pub fn blob_key_type(blob: &[u8]) -> Option<&str> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    std::str::from_utf8(blob.get(4..4 + len)?).ok()
}

/// OpenSSH's fingerprint of a key blob: `SHA256:` and unpadded base64.
pub fn fingerprint(blob: &[u8]) -> String {
    format!(
        "SHA256:{}",
        STANDARD_NO_PAD.encode(sha2::Sha256::digest(blob))
    )
}

impl KnownHosts {
    /// Reads a known_hosts file; a missing file is an empty one.
    pub fn load(path: &Path) -> Result<Self, SshError> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(Self::parse(&String::from_utf8_lossy(&bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(SshError::KnownHostsFile {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Parses known_hosts text, skipping comments and lines it cannot read.
    pub fn parse(text: &str) -> Self {
        let entries: Vec<Entry> = text.lines().filter_map(parse_line).collect();
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        let mut others = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            match &e.hosts {
                Hosts::Patterns(p) if !p.contains(['*', '?', '!']) => {
                    for name in p.split(',') {
                        let at = by_name.entry(name.to_ascii_lowercase()).or_default();
                        if at.last() != Some(&i) {
                            at.push(i);
                        }
                    }
                }
                _ => others.push(i),
            }
        }
        KnownHosts {
            entries,
            by_name,
            others,
            scanned: Arc::default(),
        }
    }

    /// The entries for `name`, in file order.
    fn matching<'s>(&'s self, name: &str) -> impl Iterator<Item = &'s Entry> {
        let mut at: Vec<usize> = self
            .by_name
            .get(&name.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default();
        let plain = at.len();
        at.extend_from_slice(&self.scan(name));
        if plain > 0 && at.len() > plain {
            at.sort_unstable();
        }
        at.into_iter().map(|i| &self.entries[i])
    }

    /// The `others` matching `name`, matched on the first lookup of the name.
    fn scan(&self, name: &str) -> Arc<[usize]> {
        if self.others.is_empty() {
            return Arc::default();
        }
        let memo = || self.scanned.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = memo().get(name) {
            return found.clone();
        }
        let found: Arc<[usize]> = self
            .others
            .iter()
            .copied()
            .filter(|&i| hosts_match(&self.entries[i].hosts, name))
            .collect();
        memo().insert(name.to_string(), found.clone());
        found
    }

    /// Key types on file for `name` (see [`host_name`]), in file order, without repeats.
    pub fn key_types(&self, name: &str) -> Vec<String> {
        let mut types: Vec<String> = Vec::new();
        for e in self
            .matching(name)
            .filter(|e| matches!(e.marker, Marker::None))
        {
            if !types.contains(&e.key_type) {
                types.push(e.key_type.clone());
            }
        }
        types
    }

    /// Checks the key blob a host presented under `name`.
    ///
    /// Stricter than OpenSSH in one way, on purpose: if the host has keys on file of
    /// other types only, that is a mismatch (OpenSSH would treat it as new and, with
    /// accept-new, accept it). We negotiate the types on file first, so an honest host
    /// presents one of them.
    pub fn check(&self, name: &str, blob: &[u8]) -> HostKeyStatus {
        let mut seen = false;
        let mut matched = false;
        for e in self.matching(name) {
            match e.marker {
                Marker::Revoked if e.key == blob => return HostKeyStatus::Revoked,
                Marker::Revoked | Marker::CertAuthority => {}
                Marker::None => {
                    seen = true;
                    matched |= e.key == blob;
                }
            }
        }
        match (seen, matched) {
            (_, true) => HostKeyStatus::Match,
            (true, false) => HostKeyStatus::Mismatch,
            (false, false) => HostKeyStatus::NotFound,
        }
    }
}

fn parse_line(line: &str) -> Option<Entry> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.split_whitespace();
    let mut first = fields.next()?;
    let marker = match first {
        "@revoked" => Marker::Revoked,
        "@cert-authority" => Marker::CertAuthority,
        m if m.starts_with('@') => return None,
        _ => Marker::None,
    };
    if !matches!(marker, Marker::None) {
        first = fields.next()?;
    }
    let key_type = fields.next()?.to_string();
    let key = STANDARD.decode(fields.next()?).ok()?;
    let hosts = match first.strip_prefix("|1|") {
        Some(hashed) => Hosts::Hashed(decode_hashed(hashed)),
        None => Hosts::Patterns(first.to_string()),
    };
    Some(Entry {
        marker,
        hosts,
        key_type,
        key,
    })
}

/// Whether a host field (`a,b,!c,*.d` or `|1|salt|hash`) matches `name`.
fn hosts_match(hosts: &Hosts, name: &str) -> bool {
    let field = match hosts {
        Hosts::Hashed(Some((keyed, hash))) => return hashed_match(keyed, hash, name),
        Hosts::Hashed(None) => return false,
        Hosts::Patterns(p) => p,
    };
    let name = name.to_ascii_lowercase();
    let mut positive = false;
    for pattern in field.split(',') {
        let (negated, pattern) = match pattern.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pattern),
        };
        if glob(pattern.to_ascii_lowercase().as_bytes(), name.as_bytes()) {
            if negated {
                return false;
            }
            positive = true;
        }
    }
    positive
}

fn hashed_match(keyed: &Hmac<sha1::Sha1>, hash: &[u8], name: &str) -> bool {
    let mut mac = keyed.clone();
    mac.update(name.as_bytes());
    mac.verify_slice(hash).is_ok()
}

/// The HMAC keyed with the salt, and the hash, of a hashed host field (after `|1|`).
fn decode_hashed(hashed: &str) -> Option<(Hmac<sha1::Sha1>, Vec<u8>)> {
    let (salt, hash) = hashed.split_once('|')?;
    let keyed = Hmac::new_from_slice(&STANDARD.decode(salt).ok()?).ok()?;
    Some((keyed, STANDARD.decode(hash).ok()?))
}

/// `*` and `?` wildcards, as in OpenSSH's `match_pattern`.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| glob(rest, &text[i..])),
        Some((b'?', rest)) => !text.is_empty() && glob(rest, &text[1..]),
        Some((c, rest)) => text.first() == Some(c) && glob(rest, &text[1..]),
    }
}

/// Records `name keytype base64` at the end of the file, like accept-new.
///
/// Safe against concurrent recorders (threads of this process and other processes):
/// the file is opened in append mode and held under an exclusive `flock` while we
/// re-read it (another recorder may have just added this host: then we check
/// against that entry instead of adding a second one) and append one whole line
/// with a single write. The directory is created 0700 and the file 0600 if missing.
pub fn record(path: &Path, name: &str, blob: &[u8]) -> Result<HostKeyStatus, SshError> {
    let io = |source| SshError::KnownHostsFile {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir).map_err(io)?;
    }
    let mut file = open_append(path).map_err(io)?;
    file.lock().map_err(io)?;
    let mut current = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut current))
        .map_err(io)?;
    let status = KnownHosts::parse(&String::from_utf8_lossy(&current)).check(name, blob);
    if status != HostKeyStatus::NotFound {
        return Ok(status);
    }
    let key_type = blob_key_type(blob).unwrap_or("unknown");
    let mut line = String::new();
    if !current.is_empty() && !current.ends_with(b"\n") {
        line.push('\n');
    }
    line.push_str(&format!("{name} {key_type} {}\n", STANDARD.encode(blob)));
    file.write_all(line.as_bytes()).map_err(io)?;
    file.sync_data().map_err(io)?;
    // The lock is released when `file` is closed.
    Ok(HostKeyStatus::Match)
}

fn open_append(path: &Path) -> std::io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

/// `~/.ssh/known_hosts` of the local user (`$HOME`, else the password database).
pub fn default_path() -> PathBuf {
    super::session::home_dir().join(".ssh").join("known_hosts")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(kind: &str, body: &[u8]) -> Vec<u8> {
        let mut b = (kind.len() as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind.as_bytes());
        b.extend_from_slice(body);
        b
    }

    fn line(hosts: &str, b: &[u8]) -> String {
        format!(
            "{hosts} {} {}\n",
            blob_key_type(b).unwrap(),
            STANDARD.encode(b)
        )
    }

    fn hashed(name: &str, salt: &[u8]) -> String {
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(salt).unwrap();
        mac.update(name.as_bytes());
        format!(
            "|1|{}|{}",
            STANDARD.encode(salt),
            STANDARD.encode(mac.finalize().into_bytes())
        )
    }

    #[test]
    fn names_follow_openssh() {
        assert_eq!(host_name("node1", 22), "node1");
        assert_eq!(host_name("10.0.0.1", 2222), "[10.0.0.1]:2222");
    }

    #[test]
    fn plain_hashed_and_patterns() {
        let ed = blob("ssh-ed25519", b"one");
        let other = blob("ssh-ed25519", b"two");
        let rsa = blob("ssh-rsa", b"three");
        let text = [
            "# comment\n".to_string(),
            "@cert-authority *.example.com ssh-ed25519 AAAA\n".to_string(),
            "garbage line that libssh2 would choke on\n".to_string(),
            line("[127.0.0.1]:2201", &ed),
            line(&hashed("[127.0.0.1]:2202", b"saltsaltsaltsaltsalt"), &other),
            line("*.example.com,!bad.example.com", &rsa),
            line("Node9", &rsa),
            line("node9", &ed),
        ]
        .concat();
        let kh = KnownHosts::parse(&text);
        assert_eq!(kh.check("[127.0.0.1]:2201", &ed), HostKeyStatus::Match);
        assert_eq!(
            kh.check("[127.0.0.1]:2201", &other),
            HostKeyStatus::Mismatch
        );
        // No fallback from [host]:port to host.
        assert_eq!(kh.check("127.0.0.1", &ed), HostKeyStatus::NotFound);
        assert_eq!(kh.check("[127.0.0.1]:2202", &other), HostKeyStatus::Match);
        assert_eq!(kh.check("[127.0.0.1]:2202", &ed), HostKeyStatus::Mismatch);
        assert_eq!(kh.check("[127.0.0.1]:2203", &ed), HostKeyStatus::NotFound);
        assert_eq!(kh.check("a.example.com", &rsa), HostKeyStatus::Match);
        assert_eq!(kh.check("bad.example.com", &rsa), HostKeyStatus::NotFound);
        // Other types only on file: a mismatch, never "new".
        assert_eq!(kh.check("a.example.com", &ed), HostKeyStatus::Mismatch);
        assert_eq!(kh.key_types("node9"), vec!["ssh-rsa", "ssh-ed25519"]);
        assert_eq!(kh.key_types("[127.0.0.1]:2202"), vec!["ssh-ed25519"]);
    }

    #[test]
    fn indexed_and_scanned_entries_keep_file_order() {
        let ed = blob("ssh-ed25519", b"one");
        let rsa = blob("ssh-rsa", b"two");
        let ecdsa = blob("ecdsa-sha2-nistp256", b"three");
        let text = [
            line("n*", &rsa),
            line("n1,N1,other", &ed),
            line(&hashed("n1", b"salt"), &ecdsa),
            line("n1,!n1", &ed),
        ]
        .concat();
        let kh = KnownHosts::parse(&text);
        assert_eq!(
            kh.key_types("n1"),
            vec!["ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256"]
        );
        assert_eq!(kh.matching("n1").count(), 3);
        assert_eq!(kh.key_types("OTHER"), vec!["ssh-ed25519"]);
        assert_eq!(kh.check("n1", &ecdsa), HostKeyStatus::Match);
        assert_eq!(kh.check("n2", &ed), HostKeyStatus::Mismatch);
    }

    #[test]
    fn revoked_wins() {
        let ed = blob("ssh-ed25519", b"one");
        let text = format!(
            "{}@revoked * ssh-ed25519 {}\n",
            line("h", &ed),
            STANDARD.encode(&ed)
        );
        assert_eq!(
            KnownHosts::parse(&text).check("h", &ed),
            HostKeyStatus::Revoked
        );
    }

    #[test]
    fn fingerprint_matches_openssh_format() {
        let fp = fingerprint(b"x");
        assert!(fp.starts_with("SHA256:") && !fp.ends_with('='));
    }

    #[test]
    fn record_appends_once_and_concurrently() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("known_hosts");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "existing ssh-ed25519 AAAA").unwrap();
        std::thread::scope(|s| {
            for i in 0..16u8 {
                let path = &path;
                s.spawn(move || {
                    let b = blob("ssh-ed25519", &[i]);
                    let name = host_name("127.0.0.1", 3000 + u16::from(i));
                    // Twice each: the second finds the first.
                    assert_eq!(record(path, &name, &b).unwrap(), HostKeyStatus::Match);
                    assert_eq!(record(path, &name, &b).unwrap(), HostKeyStatus::Match);
                });
            }
        });
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 17, "{text}");
        let kh = KnownHosts::parse(&text);
        for i in 0..16u8 {
            let name = host_name("127.0.0.1", 3000 + u16::from(i));
            assert_eq!(
                kh.check(&name, &blob("ssh-ed25519", &[i])),
                HostKeyStatus::Match
            );
        }
        let other = blob("ssh-ed25519", b"evil");
        assert_eq!(
            record(&path, "[127.0.0.1]:3000", &other).unwrap(),
            HostKeyStatus::Mismatch
        );
    }
}
