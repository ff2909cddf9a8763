//! `regauth login`: read a credential from stdin or a file (never argv), check it
//! against the registry unless `--skip-check`, then merge it into an auth file the
//! way `podman login --authfile` does, writing only when something changed.

use crate::authfile::{self, AuthFileError, Credential, RegistryKey};
use crate::exit::{Exit, Failure, HasExit};
use crate::output::{Format, Output};
use crate::registry::{CheckOptions, Reason, Trust};
use secrecy::SecretString;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the password comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// Standard input (one trailing newline dropped).
    Stdin,
    /// A file holding `user:password`.
    BasicFile(PathBuf),
}

/// Validated settings for `regauth login`.
#[derive(Debug, Clone)]
pub struct LoginSettings {
    /// `--registry`, as typed.
    pub registry: String,
    /// `--to`; None means the default file (see [`default_auth_file`]).
    pub to: Option<PathBuf>,
    /// `--username`.
    pub username: Option<String>,
    /// Where the password comes from.
    pub password: PasswordSource,
    /// `--skip-check`.
    pub skip_check: bool,
    /// `--tls-verify` for the check.
    pub tls_verify: bool,
    /// `--certs-dir` instead of /etc/containers/certs.d and /etc/docker/certs.d.
    pub certs_dir: Option<PathBuf>,
    /// Limit per check attempt (`--timeout`).
    pub timeout: Duration,
    /// Further attempts after a transient failure (`--retries`).
    pub retries: u32,
    /// Pause between attempts (`--retry-delay`).
    pub retry_delay: Duration,
}

/// Why a login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// `--password-stdin` without `--username`.
    #[error("--username is required with --password-stdin")]
    NoUsername,
    /// `--username` disagrees with the user in `--auth-basic-file`.
    #[error("--username {given:?} differs from the user in {path}")]
    UsernameMismatch {
        /// The flag's value.
        given: String,
        /// The basic-auth file.
        path: PathBuf,
    },
    /// Standard input could not be read.
    #[error("reading the password from standard input: {0}")]
    Stdin(std::io::Error),
    /// The basic-auth file could not be read.
    #[error("reading {path}: {source}")]
    BasicFile {
        /// The file.
        path: PathBuf,
        /// The operating system's answer.
        source: std::io::Error,
    },
    /// The basic-auth file is not `user:password`.
    #[error("{0}: expected one line `user:password`")]
    BasicFileFormat(PathBuf),
    /// No `--to` and no way to find the default file.
    #[error("no --to given and none of REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR, HOME is set")]
    NoDefaultFile,
    /// `$XDG_RUNTIME_DIR` names a directory that does not exist (podman refuses too).
    #[error("{0:?} set by $XDG_RUNTIME_DIR does not exist; create it, unset it or pass --to")]
    MissingRuntimeDir(PathBuf),
    /// The registry refused the credential or could not be asked; nothing was written.
    #[error("{message} ({reason}); nothing written to {file}")]
    CheckFailed {
        /// The verdict's reason (auth_failed, tls_error, unreachable, ...).
        reason: Reason,
        /// The verdict's sentence.
        message: String,
        /// The auth file that was not written.
        file: String,
    },
    /// Reading, merging or writing the auth file failed.
    #[error(transparent)]
    AuthFile(#[from] AuthFileError),
}

impl HasExit for LoginError {
    fn exit(&self) -> Exit {
        match self {
            LoginError::NoUsername
            | LoginError::UsernameMismatch { .. }
            | LoginError::BasicFileFormat(_)
            | LoginError::NoDefaultFile
            | LoginError::MissingRuntimeDir(_) => Exit::Usage,
            LoginError::AuthFile(e) => e.exit(),
            LoginError::Stdin(_)
            | LoginError::BasicFile { .. }
            | LoginError::CheckFailed { .. } => Exit::Failed,
        }
    }
}

/// The file podman would write: `$REGISTRY_AUTH_FILE`, else
/// `$XDG_RUNTIME_DIR/containers/auth.json`, else `~/.config/containers/auth.json`.
///
/// Without `XDG_RUNTIME_DIR` podman itself uses `/run/containers/$UID/auth.json`, a
/// tmpfs lost at reboot; we choose the persistent `~/.config/containers/auth.json`,
/// which podman, skopeo and buildah read as their next candidate.
pub fn default_auth_file(env: &dyn Fn(&str) -> Option<OsString>) -> Result<PathBuf, LoginError> {
    let set = |name| env(name).filter(|v| !v.is_empty());
    if let Some(f) = set("REGISTRY_AUTH_FILE") {
        return Ok(PathBuf::from(f));
    }
    if let Some(dir) = set("XDG_RUNTIME_DIR") {
        let dir = PathBuf::from(dir);
        if !dir.is_dir() {
            return Err(LoginError::MissingRuntimeDir(dir));
        }
        return Ok(dir.join("containers/auth.json"));
    }
    match set("HOME") {
        Some(home) => Ok(PathBuf::from(home).join(".config/containers/auth.json")),
        None => Err(LoginError::NoDefaultFile),
    }
}

/// Drops one trailing `\n` (and a `\r` before it), as `podman login --password-stdin` does.
fn chomp(mut s: String) -> String {
    if s.ends_with('\n') {
        s.pop();
        if s.ends_with('\r') {
            s.pop();
        }
    }
    s
}

/// Reads the credential the settings point at; `stdin` is the process's standard input.
pub fn read_credential(
    settings: &LoginSettings,
    stdin: &mut dyn Read,
) -> Result<Credential, LoginError> {
    let (user, password) = match &settings.password {
        PasswordSource::Stdin => {
            let user = settings.username.clone().ok_or(LoginError::NoUsername)?;
            let mut buf = String::new();
            stdin.read_to_string(&mut buf).map_err(LoginError::Stdin)?;
            (user, SecretString::from(chomp(buf)))
        }
        PasswordSource::BasicFile(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| LoginError::BasicFile {
                path: path.clone(),
                source,
            })?;
            let text = chomp(text);
            let (user, pass) = text
                .split_once(':')
                .ok_or_else(|| LoginError::BasicFileFormat(path.clone()))?;
            if let Some(given) = &settings.username
                && given != user
            {
                return Err(LoginError::UsernameMismatch {
                    given: given.clone(),
                    path: path.clone(),
                });
            }
            (user.to_string(), SecretString::from(pass.to_string()))
        }
    };
    Ok(Credential::new(user, password, None)?)
}

/// Checks the credential against the registry of `key` as `podman login` does
/// (authentication only: a repository path in the key is not a scope to ask for,
/// podman's check ignores it too) before anything is written; returns what to tell.
fn check(
    key: &RegistryKey,
    credential: &Credential,
    settings: &LoginSettings,
    file: &Path,
) -> Result<String, LoginError> {
    let opts = CheckOptions {
        trust: Trust::new(settings.certs_dir.clone()),
        timeout: settings.timeout,
        retries: settings.retries,
        retry_delay: settings.retry_delay,
        ..CheckOptions::default()
    };
    let verdict = crate::commands::block_on(crate::registry::login_check(
        key.host(),
        credential.username(),
        credential.password(),
        settings.tls_verify,
        &opts,
    ));
    if verdict.reason == Reason::Ok {
        Ok(verdict.message)
    } else {
        Err(LoginError::CheckFailed {
            reason: verdict.reason,
            message: verdict.message,
            file: file.display().to_string(),
        })
    }
}

/// Runs `regauth login`.
pub fn run(settings: &LoginSettings, out: &Output, stdin: &mut dyn Read) -> Result<Exit, Failure> {
    run_inner(settings, out, stdin, &|name| std::env::var_os(name)).map_err(Failure::from_err)
}

fn run_inner(
    settings: &LoginSettings,
    out: &Output,
    stdin: &mut dyn Read,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Exit, LoginError> {
    let key = RegistryKey::parse(&settings.registry)?;
    let path = match &settings.to {
        Some(p) => p.clone(),
        None => default_auth_file(env)?,
    };
    let credential = read_credential(settings, stdin)?;
    if !settings.skip_check {
        let said = check(&key, &credential, settings, &path)?;
        out.status(&said);
    }
    let updated = authfile::update_file(&path, &key, &credential)?;
    for w in &updated.warnings {
        out.warn(w);
    }
    report(out, &key, &path, &updated, !settings.skip_check);
    Ok(Exit::Ok)
}

fn report(
    out: &Output,
    key: &RegistryKey,
    path: &Path,
    updated: &authfile::Updated,
    checked: bool,
) {
    if out.format() == Format::Json {
        out.json(&serde_json::json!({
            "registry": key.as_str(),
            "file": path.display().to_string(),
            "changed": updated.changed,
            "checked": checked,
            "backup": updated.backup.as_ref().map(|b| b.display().to_string()),
        }));
        return;
    }
    // podman prints this on stdout; scripts grep for it.
    out.data("Login Succeeded!");
    match (&updated.backup, updated.changed) {
        (_, false) => out.status(&format!("{}: already up to date for {key}", path.display())),
        (Some(b), true) => out.status(&format!(
            "{}: updated for {key} (previous version kept as {})",
            path.display(),
            b.display()
        )),
        (None, true) => out.status(&format!("{}: created for {key}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |n| {
            vars.iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn default_file_order() {
        let tmp = std::env::temp_dir();
        let t = tmp.to_str().unwrap();
        let f = default_auth_file(&env(&[
            ("REGISTRY_AUTH_FILE", "/a.json"),
            ("XDG_RUNTIME_DIR", t),
        ]));
        assert_eq!(f.unwrap(), PathBuf::from("/a.json"));
        let f = default_auth_file(&env(&[
            ("REGISTRY_AUTH_FILE", ""),
            ("XDG_RUNTIME_DIR", t),
            ("HOME", "/h"),
        ]));
        assert_eq!(f.unwrap(), tmp.join("containers/auth.json"));
        let f = default_auth_file(&env(&[("HOME", "/h")]));
        assert_eq!(f.unwrap(), PathBuf::from("/h/.config/containers/auth.json"));
        assert!(matches!(
            default_auth_file(&env(&[])),
            Err(LoginError::NoDefaultFile)
        ));
        let f = default_auth_file(&env(&[("XDG_RUNTIME_DIR", "/nonexistent/regauth")]));
        assert!(matches!(f, Err(LoginError::MissingRuntimeDir(_))));
    }

    #[test]
    fn chomp_drops_one_newline() {
        assert_eq!(chomp("a\n\n".into()), "a\n");
        assert_eq!(chomp("a\r\n".into()), "a");
        assert_eq!(chomp("a".into()), "a");
    }
}
