//! The local effect: write an auth file so that a crash at any point leaves either
//! the old or the new file, whole (temp file in the same directory, fsync, rename,
//! fsync the directory), mode 0600 in a 0700 directory, the previous version kept
//! as `<name>.regauth-backup`.
//!
//! Every step goes through a hook so tests can make each one fail in turn; the
//! production hook does nothing.
//!
//! Not handled, on purpose: two regauth processes writing the same file at once (no
//! lock, like podman and docker; the last rename wins, and each result is whole), and
//! temp files left by a process killed with SIGKILL between create and rename (they
//! are dot-files named `.<name>.regauth-<pid>-<n>.tmp`, never read by anyone).

use super::{AuthFileError, Credential, Format, RegistryKey, merge};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Which file a step works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `<name>.regauth-backup`, a copy of the previous file.
    Backup,
    /// The auth file itself.
    File,
}

/// One step of a safe write, in the order they happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Creating the directory (0700) when missing.
    CreateDir,
    /// Creating the temp file (0600) next to the target.
    CreateTemp(Target),
    /// Writing the bytes into the temp file.
    WriteTemp(Target),
    /// fsync of the temp file.
    SyncTemp(Target),
    /// Renaming the temp file over the target.
    Rename(Target),
    /// fsync of the directory, making the renames durable.
    SyncDir,
}

impl Step {
    /// Every step of a write that also keeps a backup, in order.
    pub const ALL: [Step; 10] = [
        Step::CreateDir,
        Step::CreateTemp(Target::Backup),
        Step::WriteTemp(Target::Backup),
        Step::SyncTemp(Target::Backup),
        Step::Rename(Target::Backup),
        Step::CreateTemp(Target::File),
        Step::WriteTemp(Target::File),
        Step::SyncTemp(Target::File),
        Step::Rename(Target::File),
        Step::SyncDir,
    ];
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = |t: &Target| match t {
            Target::Backup => "backup ",
            Target::File => "",
        };
        match self {
            Step::CreateDir => write!(f, "creating the directory"),
            Step::CreateTemp(t) => write!(f, "creating the {}temp file", what(t)),
            Step::WriteTemp(t) => write!(f, "writing the {}temp file", what(t)),
            Step::SyncTemp(t) => write!(f, "syncing the {}temp file", what(t)),
            Step::Rename(t) => write!(f, "renaming the {}temp file into place", what(t)),
            Step::SyncDir => write!(
                f,
                "syncing the directory (the new file is in place but may not survive a crash)"
            ),
        }
    }
}

/// What [`update_file`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Updated {
    /// The file written (or left alone).
    pub path: PathBuf,
    /// False when the file already held this credential and was not touched.
    pub changed: bool,
    /// Where the previous version was kept, when there was one and it changed.
    pub backup: Option<PathBuf>,
    /// Warnings from the merge.
    pub warnings: Vec<String>,
}

/// Merges `credential` under `key` into the file at `path` and writes it safely if,
/// and only if, its meaning changed. A missing file is created (layout: legacy when
/// the name ends in `.dockercfg`, else config.json); an existing file that is not an
/// auth file is refused and left byte-identical.
pub fn update_file(
    path: &Path,
    key: &RegistryKey,
    credential: &Credential,
) -> Result<Updated, AuthFileError> {
    update_file_with(path, key, credential, &mut |_| Ok(()))
}

/// [`update_file`] with a hook called before every write step (for failure injection).
pub fn update_file_with(
    path: &Path,
    key: &RegistryKey,
    credential: &Credential,
    hook: &mut dyn FnMut(Step) -> io::Result<()>,
) -> Result<Updated, AuthFileError> {
    let path = &resolve_symlink(path);
    let existing = read_existing(path)?;
    let merged =
        merge(existing.as_deref(), layout_hint(path), key, credential).map_err(|reason| {
            AuthFileError::Refused {
                path: path.to_path_buf(),
                reason,
            }
        })?;
    let mut backup = None;
    if merged.changed {
        backup = write_atomic_with(path, &merged.bytes, existing.as_deref(), hook)?;
    }
    Ok(Updated {
        path: path.to_path_buf(),
        changed: merged.changed,
        backup,
        warnings: merged.warnings,
    })
}

/// The layout a file's name suggests: legacy for `.dockercfg` (and `*.dockercfg`).
pub fn layout_hint(path: &Path) -> Format {
    match path.file_name().and_then(|n| n.to_str()) {
        Some(n) if n.ends_with(".dockercfg") => Format::Legacy,
        _ => Format::Config,
    }
}

/// Follows a symlink to the file it names, as docker's config writer does, so that a
/// linked config (dotfile managers) is updated rather than replaced by a plain file.
/// A dangling link is written through to its target too.
fn resolve_symlink(path: &Path) -> PathBuf {
    let mut current = path.to_path_buf();
    // A bounded walk; a loop is left to fail at read time with the OS's error.
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => match fs::read_link(&current) {
                Ok(target) => {
                    current = match current.parent() {
                        Some(dir) => dir.join(target),
                        None => target,
                    }
                }
                Err(_) => break,
            },
            _ => break,
        }
    }
    current
}

/// Reads the file, or None when it does not exist.
pub fn read_existing(path: &Path) -> Result<Option<Vec<u8>>, AuthFileError> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(AuthFileError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The backup's path: `<name>.regauth-backup` next to the file.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".regauth-backup");
    path.with_file_name(name)
}

/// Writes `bytes` to `path` atomically (mode 0600, directory 0700 when created); when
/// `previous` is given, it is first kept as the backup. Returns the backup's path.
pub fn write_atomic(
    path: &Path,
    bytes: &[u8],
    previous: Option<&[u8]>,
) -> Result<Option<PathBuf>, AuthFileError> {
    write_atomic_with(path, bytes, previous, &mut |_| Ok(()))
}

/// [`write_atomic`] with a hook called before every step (for failure injection).
pub fn write_atomic_with(
    path: &Path,
    bytes: &[u8],
    previous: Option<&[u8]>,
    hook: &mut dyn FnMut(Step) -> io::Result<()>,
) -> Result<Option<PathBuf>, AuthFileError> {
    // A Ctrl-C waits for the rename: the file is old or new, never a temp left behind.
    let _whole = crate::interrupt::defer();
    let err = |step| {
        move |source| AuthFileError::Write {
            path: path.to_path_buf(),
            step,
            source,
        }
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        hook(Step::CreateDir)
            .and_then(|()| {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(&dir)
            })
            .map_err(err(Step::CreateDir))?;
    }
    // Keep the file's owner: root rewriting a user's file must not take it from them.
    let owner = fs::metadata(path).ok().map(|m| (m.uid(), m.gid()));
    let backup = match previous {
        Some(old) => {
            let b = backup_path(path);
            replace(&dir, &b, old, owner, Target::Backup, hook)
                .map_err(|(step, e)| err(step)(e))?;
            Some(b)
        }
        None => None,
    };
    replace(&dir, path, bytes, owner, Target::File, hook).map_err(|(step, e)| err(step)(e))?;
    hook(Step::SyncDir)
        .and_then(|()| File::open(&dir)?.sync_all())
        .map_err(err(Step::SyncDir))?;
    Ok(backup)
}

/// Temp file next to `dest`, write, fsync, rename; the temp file is removed on failure.
fn replace(
    dir: &Path,
    dest: &Path,
    bytes: &[u8],
    owner: Option<(u32, u32)>,
    target: Target,
    hook: &mut dyn FnMut(Step) -> io::Result<()>,
) -> Result<(), (Step, io::Error)> {
    let (tmp, mut file) = create_temp(dir, dest, owner, target, hook)?;
    let result = (|| {
        let step = Step::WriteTemp(target);
        hook(step)
            .and_then(|()| file.write_all(bytes))
            .map_err(|e| (step, e))?;
        let step = Step::SyncTemp(target);
        hook(step)
            .and_then(|()| file.sync_all())
            .map_err(|e| (step, e))?;
        drop(file);
        let step = Step::Rename(target);
        hook(step)
            .and_then(|()| fs::rename(&tmp, dest))
            .map_err(|e| (step, e))
    })();
    if result.is_err() {
        // Best effort: the error that matters is the one being returned.
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn create_temp(
    dir: &Path,
    dest: &Path,
    owner: Option<(u32, u32)>,
    target: Target,
    hook: &mut dyn FnMut(Step) -> io::Result<()>,
) -> Result<(PathBuf, File), (Step, io::Error)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let step = Step::CreateTemp(target);
    hook(step).map_err(|e| (step, e))?;
    let base = dest
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{base}.regauth-{}-{n}.tmp", std::process::id()));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
        {
            Ok(file) => {
                // The umask can only clear bits, but make 0600 explicit regardless.
                let fixed = file
                    .set_permissions(fs::Permissions::from_mode(0o600))
                    .and_then(|()| chown_like(&file, owner));
                if let Err(e) = fixed {
                    let _ = fs::remove_file(&tmp);
                    return Err((step, e));
                }
                return Ok((tmp, file));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err((step, e)),
        }
    }
}

/// Gives the temp file the previous file's owner when it differs from ours (a
/// non-root writer cannot, and then fails before touching the old file).
fn chown_like(file: &File, owner: Option<(u32, u32)>) -> io::Result<()> {
    let Some((uid, gid)) = owner else {
        return Ok(());
    };
    let m = file.metadata()?;
    if (m.uid(), m.gid()) == (uid, gid) {
        return Ok(());
    }
    std::os::unix::fs::fchown(file, Some(uid), Some(gid))
}
