//! The node side, in as few round trips as possible: one exec reads every target
//! file, one exec writes every changed file (or one does both: `update.rs`), one exec
//! runs a restart command.
//!
//! The remote side is POSIX `sh` plus coreutils (`base64`, `head -c`, `stat`, `sync`),
//! because nodes have no Python. File contents travel only over the channel's stdin
//! (writes) or stdout (reads): never in argv or the environment, where any local
//! user could read them from `/proc/*/cmdline` or sudo's log. Argv carries only
//! the script, paths and byte counts.

use super::SshError;
use super::session::Session;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::io::{Read, Write};
use std::time::Duration;

/// Bytes of a remote file as read, or why it could not be read.
#[derive(Clone, PartialEq, Eq)]
pub enum RemoteFile {
    /// No such file.
    Missing,
    /// A regular file.
    Present {
        /// Permission bits (`0o600`).
        mode: u32,
        /// Owner's uid.
        uid: u32,
        /// The file's bytes.
        contents: Vec<u8>,
    },
    /// It exists but could not be read as a regular file (a directory, permission denied).
    Unreadable(String),
}

impl RemoteFile {
    /// The contents, if the file exists and was read.
    pub fn contents(&self) -> Option<&[u8]> {
        match self {
            RemoteFile::Present { contents, .. } => Some(contents),
            _ => None,
        }
    }
}

impl std::fmt::Debug for RemoteFile {
    // Contents may hold credentials: show only their length.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RemoteFile::Missing => f.write_str("Missing"),
            RemoteFile::Present {
                mode,
                uid,
                contents,
            } => write!(
                f,
                "Present {{ mode: {mode:o}, uid: {uid}, {} bytes }}",
                contents.len()
            ),
            RemoteFile::Unreadable(m) => write!(f, "Unreadable({m:?})"),
        }
    }
}

/// One file to write: an absolute remote path and its new bytes.
#[derive(Clone, Copy)]
pub struct FileWrite<'a> {
    /// Absolute path on the node.
    pub path: &'a str,
    /// The complete new contents.
    pub contents: &'a [u8],
}

/// What happened to one file of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Replaced atomically; the previous version (if any) is `<path>.regauth-backup`.
    Written,
    /// Not replaced; the old file is untouched. The message says why.
    Failed(String),
}

/// A command's exit and its merged stdout+stderr, cut at a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutput {
    /// Exit status; `None` if the command died from a signal or the status was lost.
    pub status: Option<i32>,
    /// The signal that killed it (`TERM`), if any.
    pub signal: Option<String>,
    /// The first [`OUTPUT_LIMIT`] bytes of stdout and stderr, interleaved.
    pub output: Vec<u8>,
    /// Whether more output was produced and dropped.
    pub truncated: bool,
}

impl RunOutput {
    /// Exited with status 0.
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }
}

/// Output kept from [`run`]: enough for a failing restart's journal excerpt.
pub const OUTPUT_LIMIT: usize = 64 * 1024;

/// Largest read reply we accept; auth files are kilobytes.
pub(crate) const READ_LIMIT: usize = 64 * 1024 * 1024;

/// Suffix of the kept previous version.
pub const BACKUP_SUFFIX: &str = ".regauth-backup";

use super::scripts::{COMMIT_LINE, READ_SCRIPT, WRITE_SCRIPT};
pub use super::scripts::{script_command, shell_quote};

/// The command and stdin bytes [`write_files`] sends; public so tests can replay a
/// write with an interrupted stdin.
pub fn write_request(
    become_user: Option<&str>,
    files: &[FileWrite<'_>],
) -> Result<(String, Vec<u8>), String> {
    let sizes: Vec<String> = files.iter().map(|f| f.contents.len().to_string()).collect();
    let mut args: Vec<&str> = Vec::new();
    for (f, size) in files.iter().zip(&sizes) {
        check_path(f.path)?;
        args.push(f.path);
        args.push(size);
    }
    Ok((
        script_command(become_user, WRITE_SCRIPT, &args),
        write_stdin(files),
    ))
}

/// The write script's stdin: every file's contents in order, then the commit line.
pub(crate) fn write_stdin(files: &[FileWrite<'_>]) -> Vec<u8> {
    let mut stdin = Vec::with_capacity(
        files.iter().map(|f| f.contents.len()).sum::<usize>() + COMMIT_LINE.len(),
    );
    for f in files {
        stdin.extend_from_slice(f.contents);
    }
    stdin.extend_from_slice(COMMIT_LINE);
    stdin
}

pub(crate) fn check_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') || path.contains(['\n', '\0']) || path.ends_with('/') {
        return Err(format!(
            "remote path must be an absolute file path: {path:?}"
        ));
    }
    Ok(())
}

/// Reads every path in one exec; results in the same order.
pub fn read_files(session: &Session, paths: &[&str]) -> Result<Vec<RemoteFile>, SshError> {
    let remote = |message: String| SshError::Remote {
        host: session.host().to_string(),
        op: "read",
        message,
    };
    for p in paths {
        check_path(p).map_err(remote)?;
    }
    let command = script_command(session.become_user(), READ_SCRIPT, paths);
    let reply = exec(session, &command, &[], READ_LIMIT)?;
    let stdout = banner_or_error(session, "read", &reply, "regauth-read-1")?;
    parse_read(stdout, paths.len(), "regauth-end").map_err(remote)
}

/// Writes every file in one exec; outcomes in the same order.
///
/// Staging is all-or-nothing (see the script): if any file cannot be staged, none is
/// replaced and every outcome is `Failed`. An `Err` means the session or sudo failed
/// and nothing can be said per file; the script's traps still leave old files intact.
pub fn write_files(
    session: &Session,
    files: &[FileWrite<'_>],
) -> Result<Vec<WriteOutcome>, SshError> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let (command, stdin) =
        write_request(session.become_user(), files).map_err(|message| SshError::Remote {
            host: session.host().to_string(),
            op: "write",
            message,
        })?;
    let reply = exec(session, &command, &stdin, OUTPUT_LIMIT);
    drop(zeroize::Zeroizing::new(stdin));
    let reply = reply?;
    let stdout = banner_or_error(session, "write", &reply, "regauth-write-1")?;
    parse_write(stdout, files.len()).map_err(|message| SshError::Remote {
        host: session.host().to_string(),
        op: "write",
        message: format!("{message}; exit status {:?}", reply.status),
    })
}

/// Runs a shell command (a restart), as the become user if set; output is bounded.
///
/// A command that prints nothing for longer than the session's timeout
/// (`ConnectOptions::timeout`) ends with `SshError::CommandTimeout` when the connection
/// still answers a fresh command, `SshError::Transport` when it does not: give slow
/// restarts a timeout that fits them.
pub fn run(session: &Session, command: &str) -> Result<RunOutput, SshError> {
    let full = match session.become_user() {
        Some(user) => format!(
            "sudo -n -u {} -- sh -c {}",
            shell_quote(user),
            shell_quote(command)
        ),
        None => command.to_string(),
    };
    let transport = |op, source| SshError::Transport {
        host: session.host().to_string(),
        op,
        source,
    };
    let mut channel = session
        .ssh2()
        .channel_session()
        .map_err(|e| transport("opening a channel", e.into()))?;
    // Merged: one interleaved log, in the order a person at the terminal sees it.
    channel
        .handle_extended_data(ssh2::ExtendedData::Merge)
        .map_err(|e| transport("exec", e.into()))?;
    channel
        .exec(&full)
        .map_err(|e| transport("exec", e.into()))?;
    channel
        .send_eof()
        .map_err(|e| transport("exec", e.into()))?;
    let (output, _, truncated) = match drain(session, &channel, OUTPUT_LIMIT) {
        Ok(r) => r,
        // Ansible's line: a hung command fails the task; only a lost connection
        // makes the host unreachable. A second command tells the two apart.
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut && answers(session) => {
            return Err(SshError::CommandTimeout {
                host: session.host().to_string(),
                command: command.to_string(),
                after: session.timeout(),
            });
        }
        Err(e) => return Err(transport("reading output", e)),
    };
    let (status, signal) = finish(&mut channel).map_err(|e| transport("closing", e))?;
    Ok(RunOutput {
        status,
        signal,
        output,
        truncated,
    })
}

/// Whether the connection still runs a trivial command. The probe gets at least
/// `PROBE_TIMEOUT`: a busy host that is slow to start `true` is still there.
fn answers(session: &Session) -> bool {
    let wait = session.timeout().max(PROBE_TIMEOUT);
    let ssh = session.ssh2();
    ssh.set_timeout(u32::try_from(wait.as_millis()).unwrap_or(u32::MAX));
    let alive = ssh.channel_session().is_ok_and(|mut channel| {
        channel.exec("true").is_ok()
            && channel.send_eof().is_ok()
            && drain_until(session, &channel, 0, wait, None).is_ok()
            && finish(&mut channel).is_ok()
    });
    ssh.set_timeout(u32::try_from(session.timeout().as_millis()).unwrap_or(u32::MAX));
    alive
}

const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) struct Reply {
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
    pub(crate) status: Option<i32>,
}

/// One exec: send `stdin`, close it, collect stdout (up to `limit`) and stderr.
fn exec(session: &Session, command: &str, stdin: &[u8], limit: usize) -> Result<Reply, SshError> {
    let transport = |op, source| SshError::Transport {
        host: session.host().to_string(),
        op,
        source,
    };
    let mut channel = session
        .ssh2()
        .channel_session()
        .map_err(|e| transport("opening a channel", e.into()))?;
    channel
        .exec(command)
        .map_err(|e| transport("exec", e.into()))?;
    // The script may stop reading early (a staging error); its report on stdout
    // says why, so a failed stdin write is only fatal if no report follows.
    // No `flush()`: on an ssh2 Channel it is libssh2_channel_flush, which DISCARDS
    // unread incoming data — under load it ate the script's first line.
    let write_err = channel.write_all(stdin).err();
    let _ = channel.send_eof();
    let (stdout, stderr, truncated) = match drain(session, &channel, limit) {
        Ok(r) => r,
        Err(e) => return Err(transport("reading output", write_err.unwrap_or(e))),
    };
    if truncated {
        return Err(SshError::Remote {
            host: session.host().to_string(),
            op: "exec",
            message: format!("reply larger than {limit} bytes"),
        });
    }
    let (status, _) = finish(&mut channel).map_err(|e| transport("closing", e))?;
    Ok(Reply {
        stdout,
        stderr,
        status,
    })
}

/// Reads stdout and stderr to the channel's end; keeps `limit` and
/// [`OUTPUT_LIMIT`] bytes of them and says whether stdout was cut.
///
/// Non-blocking, both streams in turn, waiting on the socket in between: a blocking
/// stdout read could stall behind a full window of unread stderr, and
/// `libssh2_channel_read` may return 0 (which `Read` takes for EOF) when the
/// transport delivered a packet for something else. End is when libssh2 says the
/// channel is at EOF with nothing queued for it.
pub(crate) fn drain(
    session: &Session,
    channel: &ssh2::Channel,
    limit: usize,
) -> std::io::Result<(Vec<u8>, Vec<u8>, bool)> {
    drain_until(session, channel, limit, session.timeout(), None)
}

/// `drain` with another allowance for silence than the session's timeout (`quiet`),
/// stopping early once stdout ends with `until` (a script that now waits for its stdin).
pub(crate) fn drain_until(
    session: &Session,
    channel: &ssh2::Channel,
    limit: usize,
    quiet: Duration,
    until: Option<&[u8]>,
) -> std::io::Result<(Vec<u8>, Vec<u8>, bool)> {
    let ssh = session.ssh2();
    ssh.set_blocking(false);
    let result = drain_nonblocking(session, channel, limit, quiet, until);
    ssh.set_blocking(true);
    result
}

fn drain_nonblocking(
    session: &Session,
    channel: &ssh2::Channel,
    limit: usize,
    quiet: Duration,
    until: Option<&[u8]>,
) -> std::io::Result<(Vec<u8>, Vec<u8>, bool)> {
    let mut out = (Vec::new(), Vec::new());
    let mut truncated = false;
    let mut buf = vec![0u8; 32 * 1024];
    let mut quiet_since = std::time::Instant::now();
    loop {
        let mut progressed = false;
        for stream_id in [0, 1] {
            let mut stream = channel.stream(stream_id);
            loop {
                match stream.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        progressed = true;
                        let (dest, cap) = if stream_id == 0 {
                            (&mut out.0, limit)
                        } else {
                            (&mut out.1, OUTPUT_LIMIT)
                        };
                        let room = cap.saturating_sub(dest.len());
                        dest.extend_from_slice(&buf[..n.min(room)]);
                        truncated |= stream_id == 0 && n > room;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
        }
        if channel.eof() || until.is_some_and(|m| out.0.ends_with(m)) {
            return Ok((out.0, out.1, truncated));
        }
        if progressed {
            quiet_since = std::time::Instant::now();
            continue;
        }
        if quiet_since.elapsed() > quiet {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no output for {quiet:?}"),
            ));
        }
        wait_socket(session)?;
    }
}

/// Waits until the socket is ready in the direction libssh2 is blocked on (at most
/// 100 ms, so a missed wakeup costs little and the caller's timeout still counts).
fn wait_socket(session: &Session) -> std::io::Result<()> {
    let events = match session.ssh2().block_directions() {
        ssh2::BlockDirections::Outbound => libc::POLLOUT,
        ssh2::BlockDirections::Both => libc::POLLIN | libc::POLLOUT,
        ssh2::BlockDirections::Inbound | ssh2::BlockDirections::None => libc::POLLIN,
    };
    let mut fd = libc::pollfd {
        fd: session.socket(),
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    let rc = unsafe { libc::poll(&mut fd, 1, 100) };
    if rc < 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(())
}

pub(crate) fn finish(
    channel: &mut ssh2::Channel,
) -> std::io::Result<(Option<i32>, Option<String>)> {
    channel.wait_close()?;
    let signal = channel.exit_signal().ok().and_then(|s| s.exit_signal);
    let status = if signal.is_some() {
        None
    } else {
        Some(channel.exit_status()?)
    };
    Ok((status, signal))
}

/// The stdout after the banner line, or the error that kept the script from starting
/// (sudo refusing, no `sh`).
pub(crate) fn banner_or_error<'r>(
    session: &Session,
    op: &'static str,
    reply: &'r Reply,
    banner: &str,
) -> Result<&'r str, SshError> {
    let stdout = std::str::from_utf8(&reply.stdout).map_err(|_| SshError::Remote {
        host: session.host().to_string(),
        op,
        message: "reply is not UTF-8".into(),
    })?;
    if let Some(rest) = stdout
        .strip_prefix(banner)
        .and_then(|r| r.strip_prefix('\n'))
    {
        return Ok(rest);
    }
    let stderr = String::from_utf8_lossy(&reply.stderr).trim().to_string();
    match session.become_user() {
        Some(user) if stderr.contains("sudo") => Err(SshError::Become {
            host: session.host().to_string(),
            user: user.to_string(),
            message: stderr,
        }),
        _ => Err(SshError::Remote {
            host: session.host().to_string(),
            op,
            message: format!("script did not start (exit {:?}): {stderr}", reply.status),
        }),
    }
}

/// The files of a read reply, which ends with the line `end`.
pub(crate) fn parse_read(stdout: &str, count: usize, end: &str) -> Result<Vec<RemoteFile>, String> {
    let mut files = Vec::with_capacity(count);
    let mut lines = stdout.split('\n');
    for i in 0..count {
        let header = lines.next().ok_or("reply ended early")?;
        let rest = header
            .strip_prefix(&format!("regauth-file {i} "))
            .ok_or_else(|| format!("unexpected line {header:?}"))?;
        let file = if rest == "missing" {
            RemoteFile::Missing
        } else if let Some(msg) = rest.strip_prefix("error ") {
            RemoteFile::Unreadable(msg.trim().to_string())
        } else if let Some(meta) = rest.strip_prefix("present ") {
            let (mode, uid) = meta.split_once(' ').ok_or("bad file metadata")?;
            let mode = u32::from_str_radix(mode, 8).map_err(|_| "bad file mode")?;
            let uid = uid.parse().map_err(|_| "bad file owner")?;
            let b64 = lines.next().ok_or("reply ended early")?;
            let contents = STANDARD
                .decode(b64)
                .map_err(|e| format!("bad base64: {e}"))?;
            RemoteFile::Present {
                mode,
                uid,
                contents,
            }
        } else {
            return Err(format!("unexpected line {header:?}"));
        };
        files.push(file);
    }
    match lines.next() {
        Some(last) if last == end => Ok(files),
        other => Err(format!(
            "reply incomplete (got {other:?} instead of the end)"
        )),
    }
}

pub(crate) fn parse_write(stdout: &str, count: usize) -> Result<Vec<WriteOutcome>, String> {
    let mut outcomes: Vec<Option<WriteOutcome>> = vec![None; count];
    let mut staging_error = None;
    let mut ended = false;
    for line in stdout.lines() {
        if line == "regauth-end" {
            ended = true;
            break;
        }
        let mut parts = line.splitn(4, ' ');
        let (kind, idx, status) = (parts.next(), parts.next(), parts.next());
        let msg = parts.next().unwrap_or("").trim().to_string();
        let idx: usize = idx
            .and_then(|i| i.parse().ok())
            .filter(|i| *i < count)
            .ok_or_else(|| format!("unexpected line {line:?}"))?;
        match (kind, status) {
            (Some("regauth-write"), Some("ok")) => outcomes[idx] = Some(WriteOutcome::Written),
            (Some("regauth-write"), Some("error")) => {
                outcomes[idx] = Some(WriteOutcome::Failed(msg));
            }
            (Some("regauth-stage"), Some("error")) => staging_error = Some((idx, msg)),
            _ => return Err(format!("unexpected line {line:?}")),
        }
    }
    if !ended {
        return Err("reply incomplete".into());
    }
    if let Some((idx, msg)) = staging_error {
        return Ok((0..count)
            .map(|i| {
                WriteOutcome::Failed(if i == idx {
                    msg.clone()
                } else {
                    format!("not written: file #{} could not be staged: {msg}", idx + 1)
                })
            })
            .collect());
    }
    outcomes
        .into_iter()
        .enumerate()
        .map(|(i, o)| o.ok_or_else(|| format!("no outcome for file #{}", i + 1)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
        let cmd = script_command(Some("root"), "echo 'x'", &["/p q"]);
        assert!(cmd.starts_with("sudo -n -u 'root' -- sh -c 'echo '\\''x'\\'''"));
        assert!(cmd.ends_with(" regauth '/p q'"));
    }

    #[test]
    fn write_request_keeps_contents_out_of_the_command() {
        let files = [
            FileWrite {
                path: "/a/config.json",
                contents: b"SECRET-ONE",
            },
            FileWrite {
                path: "/b/config.json",
                contents: b"",
            },
        ];
        let (cmd, stdin) = write_request(None, &files).unwrap();
        assert!(!cmd.contains("SECRET"));
        assert!(cmd.ends_with("'/a/config.json' '10' '/b/config.json' '0'"));
        assert_eq!(stdin, b"SECRET-ONEregauth-commit\n");
        let bad = [FileWrite {
            path: "relative",
            contents: b"",
        }];
        assert!(write_request(None, &bad).is_err());
    }

    #[test]
    fn parse_read_reply() {
        let reply = "regauth-file 0 missing\nregauth-file 1 present 600 0\naGk=\nregauth-file 2 present 644 1000\n\nregauth-file 3 error not a regular file\nregauth-end\n";
        let files = parse_read(reply, 4, "regauth-end").unwrap();
        assert_eq!(files[0], RemoteFile::Missing);
        assert_eq!(
            files[1],
            RemoteFile::Present {
                mode: 0o600,
                uid: 0,
                contents: b"hi".to_vec()
            }
        );
        assert_eq!(files[2].contents(), Some(&b""[..]));
        assert!(matches!(files[3], RemoteFile::Unreadable(_)));
        assert!(parse_read("regauth-file 0 missing\n", 1, "regauth-end").is_err());
        assert!(parse_read("regauth-file 0 present 600 0\n", 1, "regauth-end").is_err());
    }

    #[test]
    fn parse_write_reply() {
        let ok = "regauth-write 0 ok\nregauth-write 1 error mv: denied\nregauth-end\n";
        assert_eq!(
            parse_write(ok, 2).unwrap(),
            vec![
                WriteOutcome::Written,
                WriteOutcome::Failed("mv: denied".into())
            ]
        );
        let staged = "regauth-stage 1 error input ended after 3 of 9 bytes\nregauth-end\n";
        let out = parse_write(staged, 2).unwrap();
        assert!(out.iter().all(|o| matches!(o, WriteOutcome::Failed(_))));
        assert!(parse_write("regauth-write 0 ok\n", 1).is_err());
        assert!(parse_write("regauth-end\n", 1).is_err());
    }
}
