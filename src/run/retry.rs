//! The retry file: the failed and unreachable hosts of a run, one a line, for
//! `--limit @FILE`, where ansible-playbook puts it (playbook_executor.py):
//! `$ANSIBLE_RETRY_FILES_SAVE_PATH/<stem>.retry` when that is set, else beside the
//! playbook; when that directory cannot be written, the working directory (SPEC).

use std::io::Write;
use std::path::{Path, PathBuf};

/// Where the retry file of `playbook` goes first, as an absolute path (Ansible
/// prints it absolute), and the working-directory fallback.
pub fn candidates(playbook: &Path) -> (PathBuf, PathBuf) {
    let stem = playbook
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "playbook".into());
    let name = format!("{stem}.retry");
    let cwd = std::env::current_dir().unwrap_or_default();
    let dir = match std::env::var_os("ANSIBLE_RETRY_FILES_SAVE_PATH").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => cwd
            .join(playbook)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| cwd.clone()),
    };
    (dir.join(&name), cwd.join(name))
}

/// Writes the hosts to the first place that takes them; the path written, or why
/// neither could be.
pub fn write(playbook: &Path, hosts: &[&str]) -> Result<PathBuf, String> {
    let (first, fallback) = candidates(playbook);
    write_to(&first, &fallback, hosts)
}

fn write_to(first: &Path, fallback: &Path, hosts: &[&str]) -> Result<PathBuf, String> {
    let text: String = hosts.iter().map(|h| format!("{h}\n")).collect();
    match write_atomically(first, text.as_bytes()) {
        Ok(()) => Ok(first.to_path_buf()),
        Err(e1) if first != fallback => write_atomically(fallback, text.as_bytes())
            .map(|()| fallback.to_path_buf())
            .map_err(|e2| {
                format!(
                    "could not create retry file {} ({e1}) nor {} ({e2})",
                    first.display(),
                    fallback.display()
                )
            }),
        Err(e) => Err(format!(
            "could not create retry file {}: {e}",
            first.display()
        )),
    }
}

/// A temp file beside the target renamed over it: an interrupted run never leaves a
/// torn retry file for the next `--limit @FILE`.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_after_the_playbook_file_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let pb = dir.path().join("site.yml");
        let p = write(&pb, &["b", "a"]).unwrap();
        assert_eq!(p, dir.path().join("site.retry"));
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "b\na\n");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp file left");
    }

    #[test]
    fn falls_back_when_the_first_place_cannot_be_written() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("a-file");
        std::fs::write(&blocker, "").unwrap();
        let fallback = dir.path().join("site.retry");
        let p = write_to(&blocker.join("site.retry"), &fallback, &["h"]).unwrap();
        assert_eq!(p, fallback);
        let e = write_to(&blocker.join("x.retry"), &blocker.join("y.retry"), &["h"]).unwrap_err();
        assert!(e.contains("x.retry") && e.contains("y.retry"), "{e}");
    }
}
