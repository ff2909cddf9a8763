//! The reasons of SPEC.md and how transport errors and registry answers map to
//! them. Pure functions over errors and status codes, so the table is testable
//! without a network.

use serde::Serialize;
use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

/// Why a check ended as it did; the `reason` field of the JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The login works and the test image is readable.
    Ok,
    /// `test_login` is false for this entry.
    Skipped,
    /// The registry or its token service rejected the credentials.
    AuthFailed,
    /// Credentials accepted, but no pull right on the test image's repository.
    AccessDenied,
    /// Credentials accepted; the repository or tag does not exist.
    ImageNotFound,
    /// Certificate not trusted, wrong name, expired, or handshake failed.
    TlsError,
    /// DNS failure, connection refused or reset.
    Unreachable,
    /// No answer within the timeout.
    Timeout,
    /// Anything else: 5xx, malformed answers.
    RegistryError,
}

impl Reason {
    /// The word used in JSON and text output.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Ok => "ok",
            Reason::Skipped => "skipped",
            Reason::AuthFailed => "auth_failed",
            Reason::AccessDenied => "access_denied",
            Reason::ImageNotFound => "image_not_found",
            Reason::TlsError => "tls_error",
            Reason::Unreachable => "unreachable",
            Reason::Timeout => "timeout",
            Reason::RegistryError => "registry_error",
        }
    }

    /// The `status` field: ok, skipped or failed.
    pub fn status(self) -> Status {
        match self {
            Reason::Ok => Status::Ok,
            Reason::Skipped => Status::Skipped,
            _ => Status::Failed,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `status` field of a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Checked and working.
    Ok,
    /// Checked and not working.
    Failed,
    /// Not checked (`test_login` false).
    Skipped,
}

/// Which TLS check failed, so the message can say what to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsProblem {
    /// Signed by a CA that is not trusted here.
    Untrusted,
    /// The certificate is for another name.
    WrongName,
    /// Expired or not yet valid.
    Expired,
    /// Any other handshake failure (protocol, alerts, plain HTTP on the port).
    Handshake,
}

/// The outcome of one attempt: a reason, a sentence, and whether to try again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The reason.
    pub reason: Reason,
    /// One sentence a person can act on; never holds a secret.
    pub message: String,
    /// Worth another attempt (connection trouble, timeouts, 5xx, 429).
    pub transient: bool,
    /// Wait this long before the next attempt (429/503 `Retry-After`).
    pub retry_after: Option<Duration>,
}

impl Verdict {
    /// Success.
    pub fn ok(message: impl Into<String>) -> Verdict {
        Verdict::fail(Reason::Ok, message)
    }

    /// A final verdict: retrying would give the same answer.
    pub fn fail(reason: Reason, message: impl Into<String>) -> Verdict {
        Verdict {
            reason,
            message: message.into(),
            transient: false,
            retry_after: None,
        }
    }

    /// A verdict worth retrying.
    pub fn transient(reason: Reason, message: impl Into<String>) -> Verdict {
        Verdict {
            reason,
            message: message.into(),
            transient: true,
            retry_after: None,
        }
    }
}

/// Finds the rustls error behind a transport error, through io::Error wrappers
/// (whose `source()` skips the wrapped error itself).
fn find_rustls<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(r) = find_rustls(inner)
        {
            return Some(r);
        }
        cur = e.source();
    }
    None
}

/// The TLS problem behind a transport error, if it is one.
pub fn tls_problem(err: &(dyn StdError + 'static)) -> Option<TlsProblem> {
    use rustls::CertificateError as C;
    let r = find_rustls(err)?;
    Some(match r {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer | C::BadSignature | C::UnhandledCriticalExtension => {
                TlsProblem::Untrusted
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => TlsProblem::WrongName,
            C::Expired
            | C::ExpiredContext { .. }
            | C::NotValidYet
            | C::NotValidYetContext { .. } => TlsProblem::Expired,
            _ => TlsProblem::Handshake,
        },
        _ => TlsProblem::Handshake,
    })
}

/// The message for a TLS failure at `host`, saying what to do about it.
pub fn tls_message(problem: TlsProblem, host: &str, detail: &str) -> String {
    match problem {
        TlsProblem::Untrusted => format!(
            "certificate of {host} is not trusted: put its CA in /etc/containers/certs.d/{host}/ca.crt (or --certs-dir), or set tls_verify=False for this entry"
        ),
        TlsProblem::WrongName => {
            format!(
                "certificate of {host} is for another name: use the name the certificate was issued for"
            )
        }
        TlsProblem::Expired => {
            format!("certificate of {host} has expired or is not valid yet: renew it")
        }
        TlsProblem::Handshake => format!("TLS handshake with {host} failed: {detail}"),
    }
}

/// Classifies a transport-level error (no HTTP answer) talking to `host`.
pub fn transport(err: &reqwest::Error, host: &str) -> Verdict {
    tracing::debug!("{host}: {}", chain(err));
    let cause = root_cause(err);
    if let Some(p) = tls_problem(err) {
        return Verdict::fail(Reason::TlsError, tls_message(p, host, &cause));
    }
    if err.is_redirect() {
        // Our redirect policy refused it (https -> http, or a loop): asking again won't help.
        return Verdict::fail(
            Reason::RegistryError,
            format!("{host} redirected badly: {cause}"),
        );
    }
    if err.is_timeout() {
        return Verdict::transient(Reason::Timeout, format!("no answer from {host} in time"));
    }
    let lower = chain(err).to_ascii_lowercase();
    let message = if lower.contains("dns error") || lower.contains("failed to lookup") {
        let name = host
            .rsplit_once(':')
            .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
            .map_or(host, |(name, _)| name);
        format!("cannot resolve {name}: check the host name (DNS, /etc/hosts)")
    } else if lower.contains("refused") {
        format!("connection refused by {host}: is the registry running, and is the port right?")
    } else if lower.contains("reset") || lower.contains("closed") {
        format!("{host} closed the connection: {cause}")
    } else if err.is_connect() {
        format!("cannot connect to {host}: {cause}")
    } else {
        format!("talking to {host}: {cause}")
    };
    let reason = if err.is_connect() || err.is_request() || err.is_body() {
        Reason::Unreachable
    } else {
        Reason::RegistryError
    };
    Verdict::transient(reason, message)
}

/// The innermost cause's message (the one that says what actually happened).
pub fn root_cause(err: &(dyn StdError + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// An error and its causes on one line, deduplicated (hyper repeats itself).
pub fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = e.source();
    }
    parts.join(": ")
}

/// The `code`s of a registry error body `{"errors":[{"code":..}]}`, upper-cased.
pub fn error_codes(body: &[u8]) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default)]
        errors: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        #[serde(default)]
        code: String,
    }
    serde_json::from_slice::<Body>(body)
        .map(|b| {
            b.errors
                .into_iter()
                .map(|e| e.code.to_ascii_uppercase())
                .collect()
        })
        .unwrap_or_default()
}

/// `Retry-After` as seconds or an HTTP date, capped so a hostile value cannot stall a run.
pub fn retry_after(value: Option<&str>, now: std::time::SystemTime) -> Option<Duration> {
    let v = value?.trim();
    let d = match v.parse::<u64>() {
        Ok(s) => Duration::from_secs(s),
        Err(_) => httpdate::parse_http_date(v)
            .ok()?
            .duration_since(now)
            .unwrap_or_default(),
    };
    Some(d.min(Duration::from_secs(300)))
}

/// A status the registry should not answer with (5xx, 429, odd 4xx): transient when 5xx/429.
pub fn unexpected_status(status: u16, host: &str, what: &str, retry: Option<Duration>) -> Verdict {
    let msg = match status {
        429 => format!("{host} is rate-limiting requests (429) on {what}"),
        500..=599 => {
            format!("{host} answered {status} on {what}: the registry is failing, try later")
        }
        _ => format!("{host} answered {status} on {what}, which a registry should not"),
    };
    let mut v = Verdict::fail(Reason::RegistryError, msg);
    v.transient = status == 429 || status >= 500;
    v.retry_after = retry;
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"x"},{"code":"denied"}]}"#;
        assert_eq!(error_codes(body), ["MANIFEST_UNKNOWN", "DENIED"]);
        assert!(error_codes(b"<html>").is_empty());
    }

    #[test]
    fn retry_after_forms() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(retry_after(Some("3"), now), Some(Duration::from_secs(3)));
        assert_eq!(
            retry_after(Some("99999"), now),
            Some(Duration::from_secs(300))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(retry_after(Some(&later), now), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(Some("soon"), now), None);
        assert_eq!(retry_after(None, now), None);
    }

    #[test]
    fn status_transience() {
        assert!(unexpected_status(503, "h", "/v2/", None).transient);
        assert!(unexpected_status(429, "h", "/v2/", None).transient);
        assert!(!unexpected_status(418, "h", "/v2/", None).transient);
    }

    #[test]
    fn tls_problem_through_io_error() {
        let inner = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, inner);
        assert_eq!(tls_problem(&io), Some(TlsProblem::Untrusted));
        let io = std::io::Error::other(rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForName,
        ));
        assert_eq!(tls_problem(&io), Some(TlsProblem::WrongName));
        assert_eq!(tls_problem(&std::io::Error::other("x")), None);
    }
}
