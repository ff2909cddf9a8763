//! Ansible vault: decrypts `$ANSIBLE_VAULT;1.1;AES256` and `1.2;AES256;label` texts.
//! (Being written on the `corpus` branch; this placeholder keeps the API compiling.)

use secrecy::SecretString;
use std::path::Path;

/// A vault text could not be read or decrypted.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct VaultError(String);

/// True when the text is vault-encrypted.
pub fn is_vault(text: &str) -> bool {
    text.trim_start().starts_with("$ANSIBLE_VAULT;")
}

/// Decrypts a vault text.
pub fn decrypt(_text: &str, _password: &SecretString) -> Result<SecretString, VaultError> {
    Err(VaultError(
        "vault decryption is not available in this build".into(),
    ))
}

/// Reads the vault password file.
pub fn load_password_file(path: &Path) -> Result<SecretString, VaultError> {
    std::fs::read_to_string(path)
        .map(|s| SecretString::from(s.trim_end().to_string()))
        .map_err(|e| VaultError(e.to_string()))
}
