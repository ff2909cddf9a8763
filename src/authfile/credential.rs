//! Credentials going into a file, and credentials read back out of one.

use super::AuthFileError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

/// A user name and password (plus the optional e-mail Docker and kubectl record).
#[derive(Debug, Clone)]
pub struct Credential {
    username: String,
    password: SecretString,
    email: Option<String>,
}

impl Credential {
    /// Checks that tools can read the credential back: the user name must not contain
    /// `:` (readers split `auth` at the first colon) and neither part may be empty.
    pub fn new(
        username: impl Into<String>,
        password: SecretString,
        email: Option<String>,
    ) -> Result<Self, AuthFileError> {
        let username = username.into();
        if username.is_empty() {
            return Err(AuthFileError::InvalidCredential("empty user name"));
        }
        if username.contains(':') {
            return Err(AuthFileError::InvalidCredential(
                "the user name contains ':', which readers of `auth` cannot split back",
            ));
        }
        if password.expose_secret().is_empty() {
            return Err(AuthFileError::InvalidCredential("empty password"));
        }
        Ok(Credential {
            username,
            password,
            email: email.filter(|e| !e.is_empty()),
        })
    }

    /// The user name.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The password, still wrapped.
    pub fn password(&self) -> &SecretString {
        &self.password
    }

    /// The e-mail address, when one was given.
    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }

    /// `base64(user:password)`, the `auth` field every reader understands.
    pub fn auth_field(&self) -> String {
        let mut raw = format!("{}:{}", self.username, self.password.expose_secret());
        let out = STANDARD.encode(raw.as_bytes());
        zeroize::Zeroize::zeroize(&mut raw);
        out
    }

    /// The `auths` entry podman/docker login write: `auth`, plus `email` when given.
    pub(crate) fn file_entry(&self) -> Value {
        let mut entry = Map::new();
        entry.insert("auth".into(), Value::String(self.auth_field()));
        if let Some(email) = &self.email {
            entry.insert("email".into(), Value::String(email.clone()));
        }
        Value::Object(entry)
    }
}

/// A credential found in a file: whichever of the forms the entry uses.
#[derive(Debug, Clone, Default)]
pub struct StoredCredential {
    /// The `auths` key it was found under.
    pub key: String,
    /// User name, from `auth` or from `username`.
    pub username: Option<String>,
    /// Password, from `auth` or from `password`.
    pub password: Option<SecretString>,
    /// OAuth2 refresh token (`identitytoken`), used instead of the password.
    pub identity_token: Option<SecretString>,
    /// `email`, when recorded.
    pub email: Option<String>,
}

impl StoredCredential {
    /// Reads one `auths` entry. `auth` wins over `username`/`password`, as in docker;
    /// an `auth` that is not base64 of `user:password` yields no user/password, as in
    /// containers/image ("if it's invalid just skip, as docker does").
    pub fn from_entry(key: &str, entry: &Value) -> Self {
        let field = |name: &str| {
            entry
                .get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let mut out = StoredCredential {
            key: key.to_string(),
            email: field("email").map(str::to_string),
            identity_token: field("identitytoken").map(|t| SecretString::from(t.to_string())),
            ..Default::default()
        };
        if let Some(auth) = field("auth") {
            if let Some((user, pass)) = decode_auth(auth) {
                out.username = Some(user);
                out.password = Some(pass);
            }
        } else {
            out.username = field("username").map(str::to_string);
            out.password = field("password").map(|p| SecretString::from(p.to_string()));
        }
        out
    }
}

/// Splits `base64(user:password)` at the first colon; trailing NULs of the password
/// are dropped as containers/image does.
pub(crate) fn decode_auth(auth: &str) -> Option<(String, SecretString)> {
    let bytes = STANDARD.decode(auth.trim()).ok()?;
    let mut text = String::from_utf8(bytes).ok()?;
    let out = text.split_once(':').map(|(u, p)| {
        (
            u.to_string(),
            SecretString::from(p.trim_matches('\0').to_string()),
        )
    });
    zeroize::Zeroize::zeroize(&mut text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    #[test]
    fn colon_in_password_splits_at_first() {
        let c = Credential::new("u", secret("a:b:c"), None).unwrap();
        let (u, p) = decode_auth(&c.auth_field()).unwrap();
        assert_eq!(u, "u");
        assert_eq!(p.expose_secret(), "a:b:c");
    }

    #[test]
    fn rejects_unreadable_credentials() {
        assert!(Credential::new("a:b", secret("x"), None).is_err());
        assert!(Credential::new("", secret("x"), None).is_err());
        assert!(Credential::new("a", secret(""), None).is_err());
    }

    #[test]
    fn stored_forms() {
        let e = json!({"auth": "dXNlcjpwYXNzOndpdGg6Y29sb25z"});
        let s = StoredCredential::from_entry("k", &e);
        assert_eq!(s.username.as_deref(), Some("user"));
        assert_eq!(s.password.unwrap().expose_secret(), "pass:with:colons");

        let e = json!({"username": "u", "password": "p", "email": "e@x"});
        let s = StoredCredential::from_entry("k", &e);
        assert_eq!(
            (s.username.as_deref(), s.email.as_deref()),
            (Some("u"), Some("e@x"))
        );

        let e = json!({"auth": "not base64!", "identitytoken": "tok"});
        let s = StoredCredential::from_entry("k", &e);
        assert!(s.username.is_none());
        assert_eq!(s.identity_token.unwrap().expose_secret(), "tok");
    }

    #[test]
    fn debug_never_shows_the_password() {
        let c = Credential::new("u", secret("hunter2-visible?"), None).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
