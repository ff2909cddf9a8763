//! A token service for distribution's `auth.token`: checks Basic credentials
//! against its users and issues ES256 JWTs granting `pull` only on the
//! repositories each user may read. The registry finds the key by `kid`, the
//! libtrust key ID of the signing certificate in its `rootcertbundle`.

use super::https::{HttpsServer, Reply, Request};
use super::pki::Ca;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rcgen::{CertificateParams, DnType, KeyPair, PublicKeyData};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The `service` the lab's token registries announce.
pub const SERVICE: &str = "regauth-lab";
/// The `issuer` the lab's token registries accept.
pub const ISSUER: &str = "regauth-lab-issuer";

/// A user of the token service and the repositories it may pull (`*` for all).
#[derive(Clone)]
pub struct TokenUser {
    /// Login name.
    pub name: String,
    /// Password.
    pub password: String,
    /// Repositories with pull access.
    pub pull: Vec<String>,
}

/// A running token service.
pub struct TokenServer {
    /// The HTTPS server (on 127.0.0.2).
    pub server: HttpsServer,
    /// PEM certificate of the signing key (the registry's rootcertbundle).
    pub signer_pem: String,
    /// `https`, or `http` for a plain-HTTP token service.
    pub scheme: &'static str,
    /// OAuth2 refresh-token requests (POST, `grant_type=refresh_token`) answered with a token.
    pub refresh_grants: Arc<std::sync::atomic::AtomicUsize>,
}

impl TokenServer {
    /// The realm URL registries send clients to.
    pub fn realm(&self) -> String {
        format!("{}://{}/token", self.scheme, self.server.host())
    }
}

/// libtrust's key ID: base32 of the first 30 bytes of SHA-256 of the PKIX public
/// key, no padding, in groups of four joined by `:`.
pub fn libtrust_kid(spki_der: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let hash = Sha256::digest(spki_der);
    let mut bits = String::new();
    for b in &hash[..30] {
        bits.push_str(&format!("{b:08b}"));
    }
    let chars: Vec<u8> = bits
        .as_bytes()
        .chunks(5)
        .map(|c| ALPHABET[usize::from_str_radix(std::str::from_utf8(c).unwrap(), 2).unwrap()])
        .collect();
    chars
        .chunks(4)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect::<Vec<_>>()
        .join(":")
}

/// Starts a token service on `ip` with a certificate from `ca`; `access_token`
/// makes it answer with that field instead of `token` (both exist in the wild).
pub fn start(ca: &Ca, ip: IpAddr, users: Vec<TokenUser>, access_token: bool) -> TokenServer {
    start_with(Some(ca), ip, users, access_token)
}

/// Like [`start`]; `ca` `None` serves plain HTTP.
pub fn start_with(
    ca: Option<&Ca>,
    ip: IpAddr,
    users: Vec<TokenUser>,
    access_token: bool,
) -> TokenServer {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "regauth lab token signer");
    let signer_pem = params.self_signed(&key).unwrap().pem();
    let kid = libtrust_kid(&key.subject_public_key_info());
    let rng = ring::rand::SystemRandom::new();
    let signer = Arc::new(
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key.serialize_der(), &rng)
            .unwrap(),
    );
    let refresh_grants = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let grants = refresh_grants.clone();
    let handler = move |req: &Request| {
        let unauthorized = || {
            Reply::json(
                401,
                serde_json::json!({"errors": [{"code": "UNAUTHORIZED", "message": "wrong credentials"}]}),
            )
        };
        // OAuth2 (docker's spec/auth/oauth): a form POST; the lab's refresh token for a
        // user is that user's password. Parameters come from the body, as containers/image sends them.
        let oauth = req.method == "POST";
        let param = |k: &str| if oauth { req.form(k) } else { req.query(k) };
        let user = if oauth {
            if req.form("grant_type").as_deref() != Some("refresh_token")
                || req.form("client_id").is_none_or(|c| c.is_empty())
            {
                return Reply::json(400, serde_json::json!({"error": "unsupported_grant_type"}));
            }
            let refresh = req.form("refresh_token").unwrap_or_default();
            users.iter().find(|u| u.password == refresh)
        } else {
            let Some((name, password)) = basic(req) else {
                return unauthorized();
            };
            users
                .iter()
                .find(|u| u.name == name && u.password == password)
        };
        let Some(user) = user else {
            return unauthorized();
        };
        if oauth {
            grants.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        let scope = param("scope").unwrap_or_default();
        let access: Vec<serde_json::Value> = scope
            .split(' ')
            .filter_map(|s| {
                let mut parts = s.splitn(3, ':');
                let (kind, repo) = (parts.next()?, parts.next()?);
                let allowed = user.pull.iter().any(|p| p == "*" || p == repo);
                (kind == "repository" && allowed).then(
                    || serde_json::json!({"type": "repository", "name": repo, "actions": ["pull"]}),
                )
            })
            .collect();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let header = serde_json::json!({"typ": "JWT", "alg": "ES256", "kid": kid});
        let claims = serde_json::json!({
            "iss": ISSUER, "sub": user.name, "aud": param("service").unwrap_or_default(),
            "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("{now}-{}", user.name),
            "access": access,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap()),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap())
        );
        let sig = signer
            .sign(&ring::rand::SystemRandom::new(), signing_input.as_bytes())
            .unwrap();
        let jwt = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()));
        // OAuth2 answers always use access_token.
        let field = if access_token || oauth {
            "access_token"
        } else {
            "token"
        };
        Reply::json(200, serde_json::json!({ field: jwt, "expires_in": 300 }))
    };
    let (server, scheme) = match ca {
        Some(ca) => (HttpsServer::start(ip, &ca.leaf(ip), handler), "https"),
        None => (HttpsServer::start_plain(ip, handler), "http"),
    };
    TokenServer {
        server,
        signer_pem,
        scheme,
        refresh_grants,
    }
}

fn basic(req: &Request) -> Option<(String, String)> {
    let v = req.header("authorization")?.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(v).ok()?).ok()?;
    let (u, p) = decoded.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}
