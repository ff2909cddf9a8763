//! A host's read–compare–write in one exec: the node reads its files, the control side
//! decides what changes, and the node writes it, on one channel (`UPDATE_SCRIPT` in
//! scripts.rs). A read exec followed by a write exec cost the node a second channel,
//! login shell and script per host; on a 2,000-node run the node side is what the
//! control host waits for.

use super::remote::{self, FileWrite, OUTPUT_LIMIT, READ_LIMIT, RemoteFile, Reply, WriteOutcome};
use super::scripts::{self, UPDATE_SCRIPT};
use super::{Session, SshError};
use std::io::Write;
use zeroize::Zeroizing;

/// The line that ends the read part of the reply; the script then waits on stdin.
const READ_END: &str = "regauth-read-end";

/// Reads every path, hands what was read to `plan`, and writes what it returns, in one
/// exec. `plan` gives the files to write as (index into `paths`, new contents); an
/// error from it ends the exec with nothing written and comes back inside `Ok`.
/// Outcomes are in the order of `plan`'s writes; staging is all-or-nothing as in
/// [`remote::write_files`].
pub fn update_files<E>(
    session: &Session,
    paths: &[&str],
    plan: impl FnOnce(Vec<RemoteFile>) -> Result<Vec<(usize, Vec<u8>)>, E>,
) -> Result<Result<Vec<WriteOutcome>, E>, SshError> {
    let remote_err = |op, message| SshError::Remote {
        host: session.host().to_string(),
        op,
        message,
    };
    let transport = |op, source| SshError::Transport {
        host: session.host().to_string(),
        op,
        source,
    };
    let command =
        update_command(session.become_user(), paths).map_err(|m| remote_err("read", m))?;
    let mut channel = session
        .ssh2()
        .channel_session()
        .map_err(|e| transport("opening a channel", e.into()))?;
    channel
        .exec(&command)
        .map_err(|e| transport("exec", e.into()))?;

    let marker = format!("\n{READ_END}\n");
    let (stdout, stderr, truncated) = remote::drain_until(
        session,
        &channel,
        READ_LIMIT,
        session.timeout(),
        Some(marker.as_bytes()),
    )
    .map_err(|e| transport("reading output", e))?;
    if truncated {
        return Err(remote_err(
            "read",
            format!("reply larger than {READ_LIMIT} bytes"),
        ));
    }
    // Short of the marker the script has ended (sudo refused, no sh): its status says how.
    let status = match stdout.ends_with(marker.as_bytes()) {
        true => None,
        false => {
            remote::finish(&mut channel)
                .map_err(|e| transport("closing", e))?
                .0
        }
    };
    let reply = Reply {
        stdout,
        stderr,
        status,
    };
    let text = remote::banner_or_error(session, "read", &reply, "regauth-read-1")?;
    let files =
        remote::parse_read(text, paths.len(), READ_END).map_err(|m| remote_err("read", m))?;

    let writes = match plan(files) {
        Ok(w) if !w.is_empty() => w,
        other => {
            // Nothing to write (or no decision): end of input tells the script so.
            channel
                .send_eof()
                .map_err(|e| transport("closing", e.into()))?;
            remote::drain(session, &channel, OUTPUT_LIMIT)
                .map_err(|e| transport("reading output", e))?;
            remote::finish(&mut channel).map_err(|e| transport("closing", e))?;
            return Ok(other.map(|_| Vec::new()));
        }
    };
    let count = writes.len();
    let request = update_request(paths, &writes).map_err(|m| remote_err("write", m))?;
    drop(writes);

    // As in a write exec: the script may stop reading early (a staging error) and its
    // report says why, so a failed stdin write matters only if no report follows.
    let write_err = channel.write_all(&request).err();
    drop(request);
    let _ = channel.send_eof();
    let (stdout, stderr, truncated) = match remote::drain(session, &channel, OUTPUT_LIMIT) {
        Ok(r) => r,
        Err(e) => return Err(transport("reading output", write_err.unwrap_or(e))),
    };
    let (status, _) = remote::finish(&mut channel).map_err(|e| transport("closing", e))?;
    if truncated {
        return Err(remote_err(
            "write",
            format!("reply larger than {OUTPUT_LIMIT} bytes"),
        ));
    }
    let reply = Reply {
        stdout,
        stderr,
        status,
    };
    let text = remote::banner_or_error(session, "write", &reply, "regauth-write-1")?;
    remote::parse_write(text, count)
        .map(Ok)
        .map_err(|m| remote_err("write", format!("{m}; exit status {status:?}")))
}

/// The command line of an update exec on `paths` (absolute file paths).
pub fn update_command(become_user: Option<&str>, paths: &[&str]) -> Result<String, String> {
    for p in paths {
        remote::check_path(p)?;
    }
    Ok(scripts::script_command(become_user, UPDATE_SCRIPT, paths))
}

/// The stdin that asks an update exec on `paths` to write `writes` (index into
/// `paths`, new contents), sent after the read part of its reply.
pub fn update_request(
    paths: &[&str],
    writes: &[(usize, Vec<u8>)],
) -> Result<Zeroizing<Vec<u8>>, String> {
    let mut files = Vec::with_capacity(writes.len());
    let mut request = Zeroizing::new(format!("regauth-write {}\n", writes.len()).into_bytes());
    for (i, contents) in writes {
        let path = paths
            .get(*i)
            .ok_or_else(|| format!("no file #{i} was read"))?;
        request.extend_from_slice(format!("{} {path}\n", contents.len()).as_bytes());
        files.push(FileWrite { path, contents });
    }
    request.extend_from_slice(&Zeroizing::new(remote::write_stdin(&files)));
    Ok(request)
}
