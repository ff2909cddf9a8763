//! One authenticated SSH session per host: TCP with a connect timeout, key exchange
//! with curve25519 first, the host key checked against known_hosts BEFORE anything
//! about the user is sent, then public-key authentication.

use super::cache::{FileCache, LoadedKey};
use super::known_hosts::{self, HostKeyStatus, KnownHosts};
use super::{HostKeyInfo, SshError};
use crate::model::SshTarget;
use ssh2::MethodType;
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Which key exchange to offer first.
///
/// Measured (`REGAUTH_BENCH_ROUNDS=5 cargo bench --bench ssh_handshake`, OpenSSH 9.2
/// sshd on loopback, vendored libssh2 1.11, 2 cores shared with other builds, so
/// ±20 %): one session (TCP + kex + host-key check + auth) costs 30–40 ms whether
/// curve25519 is pinned first or libssh2's default is used, because libssh2's
/// default order already starts with `curve25519-sha256` and it has no post-quantum
/// kex. 50 hosts in parallel, each connect + read (1 exec) + write (1 exec):
/// medians 1.2 s curve25519-first, 1.2 s libssh2 default, 1.2 s
/// `ecdh-sha2-nistp256`, 1.4 s `diffie-hellman-group14-sha256`; the floor of 50
/// parallel `ssh host true` is 1.2 s with curve25519 and 4.8 s with OpenSSH's
/// default sntrup761x25519. Pinning curve25519 costs nothing today and keeps a
/// future libssh2 that lists a post-quantum kex first from silently changing the
/// cost per host.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum KexPreference {
    /// `curve25519-sha256` first, then libssh2's own order.
    #[default]
    Curve25519First,
    /// Whatever libssh2 offers by default.
    LibraryDefault,
    /// An explicit comma-separated list (for measurements).
    Custom(String),
}

/// How to connect: known_hosts policy, timeouts, key exchange.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// The known_hosts file (`--known-hosts`, default `~/.ssh/known_hosts`).
    pub known_hosts: PathBuf,
    /// Record unknown hosts' keys instead of refusing (`--accept-new-host-keys`).
    pub accept_new: bool,
    /// Limit for the TCP connect.
    pub connect_timeout: Duration,
    /// Limit for each blocking SSH operation after that (handshake, each read/write).
    pub timeout: Duration,
    /// Key exchange order.
    pub kex: KexPreference,
    /// known_hosts and key files, read once for every connection made with these
    /// options (clones share it).
    pub files: Arc<FileCache>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            known_hosts: known_hosts::default_path(),
            accept_new: false,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            kex: KexPreference::default(),
            files: Arc::default(),
        }
    }
}

/// An authenticated session to one host, with the target's become settings.
pub struct Session {
    ssh: ssh2::Session,
    host: String,
    become_user: Option<String>,
    timeout: Duration,
}

// Callers move sessions into `spawn_blocking` and worker threads.
const _: fn() = || {
    fn assert_send<T: Send>() {}
    assert_send::<Session>();
};

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("host", &self.host)
            .field("become_user", &self.become_user)
            .finish()
    }
}

impl Session {
    /// `address:port`, as used in error messages.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The user remote commands run as through `sudo -n -u`, if becoming.
    pub fn become_user(&self) -> Option<&str> {
        self.become_user.as_deref()
    }

    /// The underlying libssh2 session, for operations this module does not wrap.
    pub fn ssh2(&self) -> &ssh2::Session {
        &self.ssh
    }

    /// The socket under the session, for waiting on it in non-blocking reads (the
    /// session owns it: no second descriptor per host).
    pub(crate) fn socket(&self) -> RawFd {
        self.ssh.as_raw_fd()
    }

    /// The per-operation timeout.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Hands back the pages of libssh2's session object that hold only zeros (see
    /// `trim.rs`), for a session about to wait idle; returns the bytes released.
    pub fn release_idle_memory(&self) -> usize {
        super::trim::release_session(&self.ssh)
    }

    /// How many bytes of libssh2's session object are resident (pages it has written).
    pub fn resident_object_bytes(&self) -> usize {
        super::trim::session_resident_bytes(&self.ssh)
    }

    /// Ends the session politely (an SSH disconnect message instead of a reset).
    pub fn close(self) {
        // Drop does the work.
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Best effort: sshd logs a clean disconnect; a dead peer is not an error here.
        let _ = self.ssh.disconnect(None, "regauth done", None);
    }
}

/// Connects, checks the host key, and authenticates as the target says.
///
/// Nothing identifying the user or any credential is sent before the host key has
/// been checked: libssh2 sends the `ssh-userauth` service request only from the
/// first `userauth_*` call, which comes after the check.
pub fn connect(target: &SshTarget, opts: &ConnectOptions) -> Result<Session, SshError> {
    let host = format!("{}:{}", target.address, target.port);
    let known = opts.files.known_hosts(&opts.known_hosts)?;
    let tcp = tcp_connect(&host, target, opts.connect_timeout)?;
    let handshake_err = |source: ssh2::Error| {
        if super::ssh2_out_of_memory(&source) {
            return SshError::Exhausted {
                host: host.clone(),
                what: "out of memory".into(),
                advice: "free memory or lower --forks",
                source: std::io::Error::from(std::io::ErrorKind::OutOfMemory),
            };
        }
        SshError::Handshake {
            host: host.clone(),
            source,
        }
    };
    // libssh2_session_init only fails when it cannot allocate.
    let mut ssh = ssh2::Session::new().map_err(|_| SshError::Exhausted {
        host: host.clone(),
        what: "out of memory".into(),
        advice: "free memory or lower --forks",
        source: std::io::Error::from(std::io::ErrorKind::OutOfMemory),
    })?;
    // libssh2 zeroes the whole new object, pages a connection never writes included:
    // hand them back before the handshake, so a session at work holds only what it
    // touches (on a 200-fork run, 200 objects at work at once).
    super::trim::release_session(&ssh);
    ssh.set_tcp_stream(tcp);
    ssh.set_timeout(u32::try_from(opts.timeout.as_millis()).unwrap_or(u32::MAX));

    let name = known_hosts::host_name(&target.address, target.port);
    set_preferences(&ssh, &opts.kex, &known.key_types(&name)).map_err(handshake_err)?;
    ssh.handshake().map_err(handshake_err)?;

    check_host_key(&ssh, &host, &name, &known, opts)?;

    let user = match &target.user {
        Some(u) => u.clone(),
        None => local_user(),
    };
    authenticate(&ssh, &host, &user, target.key_file.as_deref(), &opts.files)?;
    Ok(Session {
        ssh,
        host,
        become_user: target.become_.then(|| target.become_user.clone()),
        timeout: opts.timeout,
    })
}

fn tcp_connect(host: &str, target: &SshTarget, timeout: Duration) -> Result<TcpStream, SshError> {
    let err = |source: std::io::Error| {
        SshError::exhausted(host, source).unwrap_or_else(|source| SshError::Connect {
            host: host.to_string(),
            source,
        })
    };
    let addrs = (target.address.as_str(), target.port)
        .to_socket_addrs()
        .map_err(err)?;
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(tcp) => {
                // Our exchanges are a few small packets each way; Nagle would add
                // a delayed-ACK wait to every round trip.
                let _ = tcp.set_nodelay(true);
                return Ok(tcp);
            }
            Err(e) => last = e,
        }
    }
    Err(err(last))
}

/// Kex order per `kex`; host key types in known_hosts order, so the key negotiated
/// is the one we have on file (libssh2 would otherwise pick by its own order).
fn set_preferences(
    ssh: &ssh2::Session,
    kex: &KexPreference,
    known_types: &[String],
) -> Result<(), ssh2::Error> {
    let kex_list = match kex {
        KexPreference::LibraryDefault => None,
        KexPreference::Custom(list) => Some(list.clone()),
        KexPreference::Curve25519First => {
            let supported = ssh.supported_algs(MethodType::Kex)?;
            let first = ["curve25519-sha256", "curve25519-sha256@libssh.org"];
            Some(prefer(&first, &supported))
        }
    };
    if let Some(list) = kex_list {
        ssh.method_pref(MethodType::Kex, &list)?;
    }
    if !known_types.is_empty() {
        let supported = ssh.supported_algs(MethodType::HostKey)?;
        let wanted: Vec<&str> = known_types
            .iter()
            .flat_map(|t| hostkey_methods(t))
            .copied()
            .collect();
        ssh.method_pref(MethodType::HostKey, &prefer(&wanted, &supported))?;
    }
    Ok(())
}

/// `first` (those supported) then the rest of `supported`, comma-separated.
fn prefer(first: &[&str], supported: &[&str]) -> String {
    let mut out: Vec<&str> = first
        .iter()
        .copied()
        .filter(|a| supported.contains(a))
        .collect();
    for a in supported {
        if !out.contains(a) {
            out.push(a);
        }
    }
    out.join(",")
}

/// The libssh2 host-key methods that yield a key of known_hosts type `key_type`.
fn hostkey_methods(key_type: &str) -> &'static [&'static str] {
    match key_type {
        "ssh-ed25519" => &["ssh-ed25519"],
        "ecdsa-sha2-nistp256" => &["ecdsa-sha2-nistp256"],
        "ecdsa-sha2-nistp384" => &["ecdsa-sha2-nistp384"],
        "ecdsa-sha2-nistp521" => &["ecdsa-sha2-nistp521"],
        "ssh-rsa" => &["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
        _ => &[],
    }
}

fn check_host_key(
    ssh: &ssh2::Session,
    host: &str,
    name: &str,
    known: &KnownHosts,
    opts: &ConnectOptions,
) -> Result<(), SshError> {
    let Some((blob, _)) = ssh.host_key() else {
        return Err(SshError::Remote {
            host: host.to_string(),
            op: "handshake",
            message: "no host key after key exchange".into(),
        });
    };
    let key_type = known_hosts::blob_key_type(blob)
        .unwrap_or("unknown")
        .to_string();
    let fingerprint = known_hosts::fingerprint(blob);
    let mut status = known.check(name, blob);
    if status == HostKeyStatus::NotFound
        && let Some(fresh) = opts.files.known_hosts_if_changed(&opts.known_hosts)?
    {
        status = fresh.check(name, blob);
    }
    if status == HostKeyStatus::NotFound && opts.accept_new {
        // Re-checked under the file lock: another thread may have recorded it.
        status = known_hosts::record(&opts.known_hosts, name, blob)?;
        if status == HostKeyStatus::Match {
            tracing::info!(host, %fingerprint, file = %opts.known_hosts.display(), "recorded new host key");
        }
    }
    let info = || {
        Box::new(HostKeyInfo {
            host: host.to_string(),
            name: name.to_string(),
            key_type: key_type.clone(),
            fingerprint: fingerprint.clone(),
            known_hosts: opts.known_hosts.clone(),
        })
    };
    match status {
        HostKeyStatus::Match => Ok(()),
        HostKeyStatus::Mismatch => Err(SshError::HostKeyMismatch(info())),
        HostKeyStatus::Revoked => Err(SshError::HostKeyRevoked(info())),
        HostKeyStatus::NotFound => Err(SshError::HostKeyUnknown(info())),
    }
}

/// One way of proving who we are, in the order [`auth_plan`] gives.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AuthSource {
    /// A private key file (no passphrase: there is nobody to ask).
    KeyFile(PathBuf),
    /// Every identity the ssh-agent at `$SSH_AUTH_SOCK` holds.
    Agent,
}

/// `ansible_ssh_private_key_file` if set (only that), else the agent's keys if an
/// agent is there, then whichever of `~/.ssh/id_ed25519` and `~/.ssh/id_rsa` exist —
/// SPEC.md's order.
fn auth_plan(
    key_file: Option<&Path>,
    agent: bool,
    ssh_dir: &Path,
    exists: impl Fn(&Path) -> bool,
) -> Vec<AuthSource> {
    if let Some(path) = key_file {
        return vec![AuthSource::KeyFile(path.to_path_buf())];
    }
    let mut plan = Vec::new();
    if agent {
        plan.push(AuthSource::Agent);
    }
    for name in ["id_ed25519", "id_rsa"] {
        let path = ssh_dir.join(name);
        if exists(&path) {
            plan.push(AuthSource::KeyFile(path));
        }
    }
    plan
}

fn authenticate(
    ssh: &ssh2::Session,
    host: &str,
    user: &str,
    key_file: Option<&Path>,
    files: &FileCache,
) -> Result<(), SshError> {
    let ssh_dir = home_dir().join(".ssh");
    let agent = std::env::var_os("SSH_AUTH_SOCK").is_some_and(|s| !s.is_empty());
    let plan = auth_plan(key_file, agent, &ssh_dir, |p| p.exists());
    let mut tried: Vec<String> = Vec::new();
    for source in &plan {
        let ok = match source {
            AuthSource::Agent => try_agent(ssh, host, user, &mut tried)?,
            AuthSource::KeyFile(path) => {
                let key = files.key(path).map_err(|e| {
                    SshError::exhausted(host, e).unwrap_or_else(|source| SshError::Transport {
                        host: host.to_string(),
                        op: "reading the private key",
                        source,
                    })
                })?;
                let result = match key.as_deref() {
                    Err(why) => Err(why.clone()),
                    Ok(LoadedKey::Native(key)) => super::sign::userauth(ssh, user, key)
                        .map_err(|e| format!("{}: {}", path.display(), e.message())),
                    Ok(LoadedKey::Libssh2 { text, public }) => {
                        super::sign::userauth_libssh2(ssh, user, public.as_deref(), text)
                            .map_err(|e| format!("{}: {}", path.display(), e.message()))
                    }
                };
                result.map_err(|why| tried.push(why)).is_ok()
            }
        };
        if ok {
            return Ok(());
        }
    }
    if plan.is_empty() {
        tried.push(format!(
            "no key: no ssh-agent and no {}/id_ed25519 or id_rsa",
            ssh_dir.display()
        ));
    }
    Err(SshError::Auth {
        host: host.to_string(),
        user: user.to_string(),
        tried: tried.join("; "),
    })
}

fn try_agent(
    ssh: &ssh2::Session,
    host: &str,
    user: &str,
    tried: &mut Vec<String>,
) -> Result<bool, SshError> {
    let mut attempt = || -> Result<bool, ssh2::Error> {
        let mut agent = ssh.agent()?;
        clear_errno();
        agent.connect()?;
        agent.list_identities()?;
        for id in agent.identities()? {
            match agent.userauth(user, &id) {
                Ok(()) => return Ok(true),
                Err(e) => tried.push(format!("agent key {}: {}", id.comment(), e.message())),
            }
        }
        Ok(false)
    };
    match attempt() {
        Ok(ok) => Ok(ok),
        Err(e) => {
            // libssh2 says only "failed connecting with agent": the socket's errno
            // tells a descriptor shortage from a missing agent.
            if let Ok(err) = SshError::exhausted(host, std::io::Error::last_os_error()) {
                return Err(err);
            }
            tried.push(format!("ssh-agent: {}", e.message()));
            Ok(false)
        }
    }
}

fn clear_errno() {
    // SAFETY: __errno_location returns this thread's errno, always valid.
    unsafe { *libc::__errno_location() = 0 };
}

/// The local user's name, as ssh picks it: the password database entry of our uid.
pub fn local_user() -> String {
    passwd_field(|pw| pw.pw_name)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "root".to_string())
}

/// The local user's home: `$HOME`, else the password database.
pub fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| passwd_field(|pw| pw.pw_dir).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/"))
}

fn passwd_field(field: fn(&libc::passwd) -> *mut libc::c_char) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: an all-zero passwd is a valid value (null pointers, zero ids).
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwuid_r writes into `pw` and `buf`, which outlive the call; on
    // success `result` points at `pw` whose strings point into `buf`.
    let rc = unsafe {
        libc::getpwuid_r(
            libc::getuid(),
            &mut pw,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() {
        return None;
    }
    let ptr = field(&pw);
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-null, NUL-terminated, inside `buf`.
    let s = unsafe { std::ffi::CStr::from_ptr(ptr) };
    Some(s.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefer_puts_known_first_and_keeps_the_rest() {
        let supported = ["a", "b", "c"];
        assert_eq!(prefer(&["c", "x"], &supported), "c,a,b");
        assert_eq!(prefer(&[], &supported), "a,b,c");
    }

    #[test]
    fn rsa_on_file_means_sha2_signatures_first() {
        assert_eq!(hostkey_methods("ssh-rsa")[0], "rsa-sha2-512");
        assert!(hostkey_methods("sk-ssh-ed25519@openssh.com").is_empty());
    }

    #[test]
    fn auth_order_follows_the_spec() {
        let dir = Path::new("/home/u/.ssh");
        let all = |_: &Path| true;
        let explicit = Path::new("/keys/node");
        assert_eq!(
            auth_plan(Some(explicit), true, dir, all),
            vec![AuthSource::KeyFile(explicit.into())]
        );
        assert_eq!(
            auth_plan(None, true, dir, all),
            vec![
                AuthSource::Agent,
                AuthSource::KeyFile(dir.join("id_ed25519")),
                AuthSource::KeyFile(dir.join("id_rsa")),
            ]
        );
        let only_rsa = |p: &Path| p.ends_with("id_rsa");
        assert_eq!(
            auth_plan(None, false, dir, only_rsa),
            vec![AuthSource::KeyFile(dir.join("id_rsa"))]
        );
        assert!(auth_plan(None, false, dir, |_| false).is_empty());
    }

    #[test]
    fn local_user_is_known() {
        assert!(!local_user().is_empty());
    }
}
