//! Variable values as Ansible holds them: the Python types YAML and INI produce.

use indexmap::IndexMap;
use secrecy::{ExposeSecret, SecretString};

/// A vault-encrypted string: the ciphertext, and the plaintext once decrypted.
#[derive(Clone)]
pub struct VaultString {
    /// The `$ANSIBLE_VAULT;...` text as written in the file.
    pub ciphertext: String,
    /// The decrypted value, when a vault password was given.
    pub plaintext: Option<SecretString>,
}

impl std::fmt::Debug for VaultString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaultString(***)")
    }
}

impl PartialEq for VaultString {
    fn eq(&self, other: &Self) -> bool {
        self.ciphertext == other.ciphertext
    }
}

/// A variable's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// None / null.
    Null,
    /// True / False.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A list (also Python tuples and sets).
    List(Vec<Value>),
    /// A mapping, in insertion order.
    Map(IndexMap<String, Value>),
    /// A `!vault` value.
    Vault(VaultString),
}

impl Value {
    /// The string inside, if this is a string (or a decrypted vault value).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            Value::Vault(VaultString {
                plaintext: Some(p), ..
            }) => Some(p.expose_secret()),
            _ => None,
        }
    }
}
