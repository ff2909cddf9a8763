//! Reaching nodes over SSH: sessions with checked host keys (`session`), the
//! known_hosts file (`known_hosts`), the one-round-trip read and write protocol
//! run on the node (`remote`), user keys parsed once per run and signed with here
//! (`sign`, `cache`), and a bounded pool to do it on many hosts at once.
//!
//! Everything here is blocking (libssh2 through `ssh2`) and `Send`: async callers run
//! it on `tokio::task::spawn_blocking`. A caller's shape per host is
//! connect → [`update::update_files`] (1 exec: read, compute here, write the changed
//! files) → maybe [`remote::run`] a restart (1 exec). [`remote::read_files`] and
//! [`remote::write_files`] do one half each.

pub mod cache;
pub mod known_hosts;
pub mod remote;
mod scripts;
pub mod session;
pub mod sign;
mod trim;
pub mod update;

pub use known_hosts::{HostKeyStatus, KnownHosts};
pub use remote::{FileWrite, RemoteFile, RunOutput, WriteOutcome, read_files, run, write_files};
pub use session::{ConnectOptions, KexPreference, Session, connect};
pub use update::update_files;

use crate::exit::{Exit, HasExit};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Why talking to a host failed; each variant names the host and what to do.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    /// The TCP connection could not be made (refused, no route, timed out).
    #[error("{host}: cannot connect: {source}")]
    Connect {
        /// `address:port` as dialled.
        host: String,
        /// The socket error.
        source: std::io::Error,
    },
    /// The SSH handshake (key exchange) failed or timed out.
    #[error("{host}: SSH handshake failed: {source}")]
    Handshake {
        /// `address:port`.
        host: String,
        /// libssh2's error.
        source: ssh2::Error,
    },
    /// The host presented a key different from the one on file: possible impersonation.
    #[error(
        "{}: REMOTE HOST KEY CHANGED: it presented {} {}, which is not the key on file for {} \
         in {}; refusing to authenticate or send anything. If the host was really reinstalled, \
         remove its old entry (ssh-keygen -R '{}' -f {})",
        .0.host, .0.key_type, .0.fingerprint, .0.name, .0.known_hosts.display(), .0.name,
        .0.known_hosts.display()
    )]
    HostKeyMismatch(Box<HostKeyInfo>),
    /// The presented key is marked `@revoked` in known_hosts.
    #[error(
        "{}: host key {} {} is marked @revoked in {}",
        .0.host, .0.key_type, .0.fingerprint, .0.known_hosts.display()
    )]
    HostKeyRevoked(Box<HostKeyInfo>),
    /// No key is on file for the host and recording new keys was not allowed.
    #[error(
        "{}: host key for {} is not in {} (it presented {} {}); add it with ssh-keyscan, or \
         pass --accept-new-host-keys to record it",
        .0.host, .0.name, .0.known_hosts.display(), .0.key_type, .0.fingerprint
    )]
    HostKeyUnknown(Box<HostKeyInfo>),
    /// Reading or appending to the known_hosts file failed.
    #[error("known hosts file {}: {source}", path.display())]
    KnownHostsFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// No offered key was accepted for the user.
    #[error("{host}: authentication failed for user {user} (tried: {tried})")]
    Auth {
        /// `address:port`.
        host: String,
        /// Login user.
        user: String,
        /// What was tried and why each failed, `; `-separated.
        tried: String,
    },
    /// The connection broke or an operation timed out after the session was set up.
    #[error("{host}: {op}: {source}")]
    Transport {
        /// `address:port`.
        host: String,
        /// What we were doing (`exec`, `reading output`...).
        op: &'static str,
        /// libssh2's error (or an I/O error turned into one).
        source: std::io::Error,
    },
    /// A command went quiet past the timeout while the connection still answered:
    /// the command hung, the host did not go away.
    #[error("{host}: `{command}` hung: no output for {after:?} (the connection is alive)")]
    CommandTimeout {
        /// `address:port`.
        host: String,
        /// The command as given (before sudo wrapping).
        command: String,
        /// The quiet time allowed.
        after: std::time::Duration,
    },
    /// `sudo -n` refused (a password is required, or the user may not become).
    #[error("{host}: cannot become {user} with sudo -n: {message}")]
    Become {
        /// `address:port`.
        host: String,
        /// The user we tried to become.
        user: String,
        /// sudo's message.
        message: String,
    },
    /// This control host ran out of file descriptors or memory: nothing is known
    /// about the host itself.
    #[error("{host}: {what} on this control host ({source}); {advice}")]
    Exhausted {
        /// `address:port`.
        host: String,
        /// `out of file descriptors (EMFILE, limit 1024)` and the like.
        what: String,
        /// What to change.
        advice: &'static str,
        /// The system error.
        source: std::io::Error,
    },
    /// The remote script failed or printed something we do not understand.
    #[error("{host}: remote {op} failed: {message}")]
    Remote {
        /// `address:port`.
        host: String,
        /// `read` or `write`.
        op: &'static str,
        /// Exit status and stderr, or what was malformed.
        message: String,
    },
}

/// What a host presented and where we looked it up, for host-key refusals.
#[derive(Debug)]
pub struct HostKeyInfo {
    /// `address:port`.
    pub host: String,
    /// The known_hosts name looked up (`host` or `[host]:port`).
    pub name: String,
    /// Type of the presented key (`ssh-ed25519`).
    pub key_type: String,
    /// OpenSSH-style `SHA256:...` fingerprint of the presented key.
    pub fingerprint: String,
    /// The file checked.
    pub known_hosts: PathBuf,
}

impl HasExit for SshError {
    /// Like Ansible: anything that stops us from getting a working session (TCP,
    /// handshake, host key, authentication, a broken connection) makes the host
    /// UNREACHABLE; a session that works but whose command fails is FAILED.
    fn exit(&self) -> Exit {
        match self {
            SshError::Connect { .. }
            | SshError::Handshake { .. }
            | SshError::HostKeyMismatch(_)
            | SshError::HostKeyRevoked(_)
            | SshError::HostKeyUnknown(_)
            | SshError::Auth { .. }
            | SshError::Transport { .. } => Exit::Unreachable,
            // Our own shortage (Exhausted) is not the host's; a hung command is the
            // command's: failed, never unreachable.
            SshError::KnownHostsFile { .. }
            | SshError::Become { .. }
            | SshError::Remote { .. }
            | SshError::Exhausted { .. }
            | SshError::CommandTimeout { .. } => Exit::Failed,
        }
    }
}

impl SshError {
    /// The host's error for a shortage `e` on this control host, if `e` is one.
    pub fn exhausted(host: &str, e: std::io::Error) -> Result<SshError, std::io::Error> {
        match exhaustion(&e) {
            Some((what, advice)) => Ok(SshError::Exhausted {
                host: host.to_string(),
                what,
                advice,
                source: e,
            }),
            None => Err(e),
        }
    }
}

/// Whether `e` is this process running out of descriptors or memory, and if so what
/// to say and what to do about it.
pub fn exhaustion(e: &std::io::Error) -> Option<(String, &'static str)> {
    const FDS: &str = "raise the descriptor limit (`ulimit -n`, or LimitNOFILE for a \
        service) or lower --forks";
    match e.raw_os_error() {
        Some(libc::EMFILE) => Some((
            format!(
                "out of file descriptors (EMFILE: the per-process limit is {})",
                nofile_limit().0
            ),
            FDS,
        )),
        Some(libc::ENFILE) => Some((
            "out of file descriptors (ENFILE: the system-wide table is full)".into(),
            "close other programs' files, raise fs.file-max, or lower --forks",
        )),
        Some(libc::ENOMEM | libc::ENOBUFS) => {
            Some(("out of memory".into(), "free memory or lower --forks"))
        }
        _ if e.kind() == std::io::ErrorKind::OutOfMemory => {
            Some(("out of memory".into(), "free memory or lower --forks"))
        }
        _ => None,
    }
}

/// libssh2 could not allocate memory.
pub(crate) fn ssh2_out_of_memory(e: &ssh2::Error) -> bool {
    // LIBSSH2_ERROR_ALLOC
    e.code() == ssh2::ErrorCode::Session(-6)
}

/// The soft and hard RLIMIT_NOFILE.
pub fn nofile_limit() -> (u64, u64) {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } != 0 {
        return (0, 0);
    }
    (r.rlim_cur, r.rlim_max)
}

/// Raises the soft RLIMIT_NOFILE to the hard limit (as systemd advises for programs
/// that need many descriptors and use neither select() nor old libraries that do);
/// returns the new soft limit.
pub fn raise_nofile_limit() -> u64 {
    let (soft, hard) = nofile_limit();
    if soft < hard {
        let r = libc::rlimit {
            rlim_cur: hard,
            rlim_max: hard,
        };
        // SAFETY: setrlimit reads one rlimit we own.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) } == 0 {
            return hard;
        }
    }
    soft
}

/// Runs `f` on every host with at most `forks` at a time; results in input order.
///
/// Plain threads rather than tokio: libssh2 blocks, so each in-flight host needs a
/// thread anyway, and `forks` worker threads pulling from a shared index bound both
/// threads and open connections (Ansible's `--forks`). A panic in `f` propagates.
/// Async callers run the whole call inside one `spawn_blocking`.
pub fn for_each_host<H, T, F>(hosts: &[H], forks: usize, f: F) -> Vec<(&H, Result<T, SshError>)>
where
    H: Sync,
    T: Send,
    F: Fn(&H) -> Result<T, SshError> + Sync,
{
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Result<T, SshError>>>> =
        hosts.iter().map(|_| Mutex::new(None)).collect();
    let workers = forks.clamp(1, hosts.len().max(1));
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(host) = hosts.get(i) else { break };
            let result = f(host);
            *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
        }
    };
    std::thread::scope(|scope| {
        let mut started = 0;
        for _ in 0..workers {
            // Out of threads or memory: carry on with the workers there are (at
            // worst this one), rather than abort the run.
            match std::thread::Builder::new().spawn_scoped(scope, work) {
                Ok(_) => started += 1,
                Err(e) => {
                    tracing::warn!(
                        "could not start a worker thread ({e}); continuing with {started}"
                    );
                    break;
                }
            }
        }
        if started == 0 {
            work();
        }
    });
    hosts
        .iter()
        .zip(slots)
        .map(|(h, slot)| {
            let result = slot
                .into_inner()
                .unwrap_or_else(|e| e.into_inner())
                // Every index below hosts.len() is taken by exactly one worker, and
                // the scope joined them all (a panic would have propagated).
                .expect("every host was run");
            (h, result)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn for_each_host_keeps_order_and_bounds_concurrency() {
        let hosts: Vec<u32> = (0..40).collect();
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let out = for_each_host(&hosts, 5, |h| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(2));
            running.fetch_sub(1, Ordering::SeqCst);
            if h % 7 == 0 {
                Err(SshError::Remote {
                    host: h.to_string(),
                    op: "test",
                    message: "boom".into(),
                })
            } else {
                Ok(h * 2)
            }
        });
        assert_eq!(out.len(), 40);
        for (i, (h, r)) in out.iter().enumerate() {
            assert_eq!(**h, i as u32);
            match r {
                Ok(v) => assert_eq!(*v, **h * 2),
                Err(_) => assert_eq!(**h % 7, 0),
            }
        }
        assert!(peak.load(Ordering::SeqCst) <= 5);
    }

    #[test]
    fn for_each_host_handles_empty_and_zero_forks() {
        let none: Vec<u8> = vec![];
        assert!(for_each_host(&none, 0, |_| Ok(())).is_empty());
        let one = [1u8];
        assert_eq!(for_each_host(&one, 0, |h| Ok(*h)).len(), 1);
    }
}
