//! The pure "bytes in, bytes out" merge every writer shares (local files, nodes over SSH).

use super::{AuthFile, Credential, Format, ParseError, RegistryKey};

/// The outcome of merging one credential into a file's bytes.
#[derive(Clone, PartialEq)]
pub struct Merged {
    /// What the file should contain; the input bytes themselves when nothing changed.
    pub bytes: Vec<u8>,
    /// False when the file's meaning is unchanged, so it must not be rewritten.
    pub changed: bool,
    /// Things the user should know (e.g. a credential helper will shadow the entry).
    pub warnings: Vec<String>,
}

/// Debug leaves the bytes out (they hold credentials) and shows their size.
impl std::fmt::Debug for Merged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Merged")
            .field("bytes", &format_args!("<{} bytes>", self.bytes.len()))
            .field("changed", &self.changed)
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// Merges `credential` under `key` into `existing` (None: the file does not exist yet).
/// `hint` is the layout of a new file, and of existing content that fits both layouts
/// (see [`AuthFile::parse_hinted`]). Refuses bytes that are not an auth file.
///
/// "Changed" compares meaning, not bytes: a file written by docker with another key
/// order but the same entry is left as it is.
pub fn merge(
    existing: Option<&[u8]>,
    hint: Format,
    key: &RegistryKey,
    credential: &Credential,
) -> Result<Merged, ParseError> {
    merge_all(existing, hint, &[(key.clone(), credential.clone())])
}

/// [`merge`] for several registries at once (a node gets every credential of the
/// inventory in one write).
pub fn merge_all(
    existing: Option<&[u8]>,
    hint: Format,
    credentials: &[(RegistryKey, Credential)],
) -> Result<Merged, ParseError> {
    let mut file = match existing {
        Some(bytes) => AuthFile::parse_hinted(bytes, hint)?,
        None => AuthFile::new(hint),
    };
    let mut warnings = Vec::new();
    let mut changed = existing.is_none();
    for (key, credential) in credentials {
        if let Some(helper) = file.helper_for(key) {
            warnings.push(format!(
                "the file routes {} to credential helper \"{helper}\" (credHelpers/credsStore); \
                 tools that honour it will not use the entry written here",
                key.host()
            ));
        }
        changed |= file.set(key, credential);
    }
    let bytes = match existing {
        Some(old) if !changed => old.to_vec(),
        _ => file.to_bytes(),
    };
    Ok(Merged {
        bytes,
        changed,
        warnings,
    })
}
