//! What `tls_verify=False` allows, as containers/image (skopeo, podman, CRI-O) reads
//! an insecure registry (`--tls-verify=false`, `insecure = true` in registries.conf).
//!
//! containers/image's `dockerClient.detectPropertiesHelper` pings `https://HOST/v2/`
//! and, only when that fails *and* `InsecureSkipVerify` is set, pings
//! `http://HOST/v2/`; whichever answers (200 or 401) fixes the scheme for the rest of
//! the session. So an insecure entry means "HTTPS without verification, else plain
//! HTTP", and a verified entry never leaves HTTPS. Every request of that session,
//! the token request included, goes through the same `http.Client`, whose TLS
//! config skips verification and whose default redirect policy follows https→http.

use super::classify::{Reason, Verdict};

/// The clause added to every message of a check that went over plain HTTP.
pub fn plain_http_note(host: &str) -> String {
    format!(
        " (over plain HTTP: {host} does not answer HTTPS and tls_verify is false, so the login travelled unencrypted)"
    )
}

/// Whether the password may go to a token realm on another host over plain HTTP.
///
/// Verified registries: never (regauth is stricter than containers/image, which
/// sends it to any realm the registry names). Insecure registries: yes, as
/// containers/image does. Refusing would protect nothing there: without
/// verification, whoever answers for the registry can name any realm, or simply
/// ask for Basic credentials, so the registry's own answers are already as
/// trustworthy as the realm's; and refusing would fail configurations (a plain-HTTP
/// mirror with its token service on another machine) that skopeo and the
/// installer accept.
pub fn may_send_to_plain_http_realm(tls_verify: bool) -> bool {
    !tls_verify
}

/// Whether a redirect from https to http may be followed: only for insecure
/// registries, whose requests may be plain HTTP anyway (Go's default policy, which
/// containers/image uses, follows it).
pub fn may_follow_https_to_http(tls_verify: bool) -> bool {
    !tls_verify
}

/// The verdict when neither HTTPS nor plain HTTP gave a registry answer.
/// containers/image reports the plain-HTTP error; regauth reports the one that says
/// more: the HTTP error when HTTPS failed in the handshake (the server does not speak
/// TLS, so plain HTTP was the real try), else the HTTPS error (a registry that speaks
/// TLS but failed, or nothing listening at all), each naming the other.
pub fn both_failed(https: Verdict, http: Verdict) -> Verdict {
    let (mut chosen, other, label) = if https.reason == Reason::TlsError {
        (http, https, "HTTPS failed first")
    } else {
        (https, http, "plain HTTP failed too")
    };
    chosen
        .message
        .push_str(&format!(" ({label}: {})", other.message));
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_more_telling_failure_is_reported() {
        let handshake = Verdict::fail(Reason::TlsError, "TLS handshake with h failed: x");
        let refused = Verdict::transient(Reason::Unreachable, "connection refused by h");
        let v = both_failed(handshake.clone(), refused.clone());
        assert_eq!(v.reason, Reason::Unreachable);
        assert!(v.transient);
        assert!(v.message.contains("HTTPS failed first: TLS handshake"));
        let failing = Verdict::transient(Reason::RegistryError, "h answered 503");
        let v = both_failed(failing, refused);
        assert_eq!(v.reason, Reason::RegistryError);
        assert!(
            v.message
                .contains("plain HTTP failed too: connection refused")
        );
    }

    #[test]
    fn only_insecure_entries_relax() {
        assert!(!may_send_to_plain_http_realm(true));
        assert!(may_send_to_plain_http_realm(false));
        assert!(!may_follow_https_to_http(true));
        assert!(may_follow_https_to_http(false));
    }
}
