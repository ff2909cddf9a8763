//! The Docker Registry v2 login check for one credential: ping `/v2/`, follow the
//! challenge (Basic, or a token from the realm), fetch the test image's manifest,
//! and turn every observation into a `Verdict`. Attempts are bounded by a timeout
//! and retried only for transient reasons. The same session, without an image, is
//! `podman login`'s check ([`login_check`]) and finds a registry's token host ([`auth_host`]).

use super::challenge::{self, AuthScheme, Challenge};
use super::classify::{self, Reason, Verdict};
use super::insecure;
use super::reference::ImageRef;
use super::tls::Trust;
use crate::model::{Proxies, RegistryCredential};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Client, Response, Url};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The manifest types the container tools accept; an OCI manifest is answered
/// 404 by distribution when its type is missing here.
pub const MANIFEST_ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.oci.image.index.v1+json";

/// How one credential is checked: trust, proxies, timeout and retries.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Where CA certificates come from.
    pub trust: Trust,
    /// Proxies from the inventory; all `None` means the environment's.
    pub proxies: Proxies,
    /// Limit for one attempt (all its requests together).
    pub timeout: Duration,
    /// Further attempts after a transient failure.
    pub retries: u32,
    /// Pause between attempts unless the registry sends `Retry-After`.
    pub retry_delay: Duration,
    /// What the checks using these options share per host (pings, connections);
    /// start a fresh one when changing the other settings.
    pub shared: Arc<RunCache>,
}

impl Default for CheckOptions {
    /// The installer's numbers: 60 s per attempt, 3 retries 5 s apart.
    fn default() -> Self {
        CheckOptions {
            trust: Trust::new(None),
            proxies: Proxies::default(),
            timeout: Duration::from_secs(60),
            retries: 3,
            retry_delay: Duration::from_secs(5),
            shared: Arc::default(),
        }
    }
}

/// How a credential proves who it is.
#[derive(Debug, Clone, Default)]
pub enum AuthKind {
    /// User name and password (Basic, or for a token).
    #[default]
    Password,
    /// An OAuth2 refresh token (`identitytoken` of an auth file): token services are
    /// asked with `grant_type=refresh_token`, as containers/image does; Basic
    /// challenges still get the user name and password.
    IdentityToken(SecretString),
    /// No credential at all: a registry that asks for a login fails the check.
    Anonymous,
}

/// Checks one credential until a final verdict or the attempts run out;
/// returns the verdict and the number of attempts made.
pub async fn check_with_attempts(cred: &RegistryCredential, opts: &CheckOptions) -> (Verdict, u32) {
    let (v, n, _) = pull_check(cred, &AuthKind::Password, opts).await;
    (v, n)
}

/// Fetches the test image's manifest with `cred` authenticating as `auth`; returns the
/// verdict, the attempts made and, on success, the manifest's digest.
pub async fn pull_check(
    cred: &RegistryCredential,
    auth: &AuthKind,
    opts: &CheckOptions,
) -> (Verdict, u32, Option<String>) {
    let image = match ImageRef::parse(&cred.test_image) {
        Ok(i) => i,
        Err(e) => {
            return (
                Verdict::fail(
                    Reason::RegistryError,
                    format!("{e}: fix test_image for this entry"),
                ),
                0,
                None,
            );
        }
    };
    fetch_manifest(cred, image, auth, Purpose::TestImage, opts).await
}

/// Checks that `image` (its registry is `cred.host`) can be pulled as a node would
/// pull it: with `cred`, or anonymously (`auth` [`AuthKind::Anonymous`], including
/// an anonymous token where the registry's token service gives one). Same reasons as
/// a credential check; messages name the image and what to fix on the registry.
pub async fn image_check(
    cred: &RegistryCredential,
    image: ImageRef,
    auth: &AuthKind,
    opts: &CheckOptions,
) -> (Verdict, u32) {
    let (v, n, _) = fetch_manifest(cred, image, auth, Purpose::Required, opts).await;
    (v, n)
}

async fn fetch_manifest(
    cred: &RegistryCredential,
    mut image: ImageRef,
    auth: &AuthKind,
    purpose: Purpose,
    opts: &CheckOptions,
) -> (Verdict, u32, Option<String>) {
    if is_docker_hub(&cred.host) && !image.repository.contains('/') {
        // Docker Hub's official images live under library/, as docker and skopeo assume.
        image.repository = format!("library/{}", image.repository);
    }
    let (result, attempts) = with_attempts(&cred.host, opts, || {
        let mut session = Session::new(cred, opts, Some(image.clone()), auth.clone());
        session.purpose = purpose;
        async move {
            // A transient verdict can also come from the manifest's own status (5xx).
            let (v, digest) = session.attempt().await;
            let v = session.say_plain_http(v);
            if v.transient { Err(v) } else { Ok((v, digest)) }
        }
    })
    .await;
    match result {
        Ok((v, digest)) => (v, attempts, digest),
        Err(v) => (v, attempts, None),
    }
}

/// Runs `attempt` until it gives a result or a final verdict, each try bounded by
/// `opts.timeout`; transient verdicts are retried `opts.retries` times, `Retry-After`
/// (capped) or `opts.retry_delay` apart. Returns the outcome and the attempts made.
async fn with_attempts<T, Fut>(
    host: &str,
    opts: &CheckOptions,
    mut attempt: impl FnMut() -> Fut,
) -> (Result<T, Verdict>, u32)
where
    Fut: std::future::Future<Output = Result<T, Verdict>>,
{
    let mut n = 0;
    loop {
        n += 1;
        let result = match tokio::time::timeout(opts.timeout, attempt()).await {
            Ok(r) => r,
            Err(_) => Err(Verdict::transient(
                Reason::Timeout,
                format!(
                    "no answer from {host} within {} s",
                    opts.timeout.as_secs_f32()
                ),
            )),
        };
        match &result {
            Ok(_) => tracing::debug!(registry = %host, attempt = n, "done"),
            Err(v) => {
                tracing::debug!(registry = %host, attempt = n, reason = %v.reason, "{}", v.message)
            }
        }
        let retry = match &result {
            Err(v) if v.transient && n <= opts.retries => v.retry_after.unwrap_or(opts.retry_delay),
            _ => return (result, n),
        };
        tokio::time::sleep(retry).await;
    }
}

/// Checks a login as `podman login` does, without any image: `GET /v2/`; an open
/// registry needs no login (podman succeeds too); Basic: `/v2/` with the credentials;
/// Bearer: a token for `service` with no scope, then `/v2/` with it. Same trust,
/// proxies, timeout, retries, reasons and "credentials only where they belong" rules
/// as [`check_with_attempts`].
pub async fn login_check(
    host: &str,
    user: &str,
    password: &SecretString,
    tls_verify: bool,
    opts: &CheckOptions,
) -> Verdict {
    let cred = RegistryCredential {
        host: host.to_string(),
        user: user.to_string(),
        password: password.clone(),
        test_login: true,
        test_image: String::new(),
        tls_verify,
        source: "login".to_string(),
    };
    login_check_as(&cred, &AuthKind::Password, opts).await.0
}

/// [`login_check`] for a credential authenticating as `auth`; also returns the attempts made.
pub async fn login_check_as(
    cred: &RegistryCredential,
    auth: &AuthKind,
    opts: &CheckOptions,
) -> (Verdict, u32) {
    let (result, attempts) = with_attempts(&cred.host, opts, || {
        let mut session = Session::new(cred, opts, None, auth.clone());
        async move {
            match session.login().await {
                Ok(v) => Ok(session.say_plain_http(v)),
                Err(v) => Err(session.say_plain_http(v)),
            }
        }
    })
    .await;
    (result.unwrap_or_else(|v| v), attempts)
}

/// The `HOST[:PORT]` of the token service `host` sends clients to, when it is not
/// `host` itself (the sso.redhat.com case): node and cluster auth files need an entry
/// for it too. `None` for open registries, Basic auth and same-host realms. Learnt
/// from the unauthenticated `GET /v2/` alone; nothing secret is sent.
pub async fn auth_host(
    host: &str,
    tls_verify: bool,
    opts: &CheckOptions,
) -> Result<Option<String>, Verdict> {
    let cred = RegistryCredential {
        host: host.to_string(),
        user: String::new(),
        password: SecretString::from(String::new()),
        test_login: true,
        test_image: String::new(),
        tls_verify,
        source: "auth host".to_string(),
    };
    with_attempts(host, opts, || {
        let mut session = Session::new(&cred, opts, None, AuthKind::Anonymous);
        async move { session.realm_host().await }
    })
    .await
    .0
}

/// What we have learnt about the registry so far in one check.
struct Session<'a> {
    cred: &'a RegistryCredential,
    opts: &'a CheckOptions,
    /// The test image of a pull check; `None` for a login check.
    image: Option<ImageRef>,
    /// `https`, or `http` once the ping found an insecure registry without TLS.
    scheme: &'static str,
    /// How the credential authenticates.
    auth: AuthKind,
    /// Why the image is checked: the fix a message suggests depends on it.
    purpose: Purpose,
}

/// What a pull check's image is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// A credential's `test_image`: the fix may be another test image.
    TestImage,
    /// An image the run needs: the fix is on the registry (mirror it, grant access).
    Required,
}

/// True for the names docker and the auth files use for Docker Hub.
fn is_docker_hub(host: &str) -> bool {
    matches!(
        host,
        "docker.io" | "index.docker.io" | "registry-1.docker.io"
    )
}

/// Where a registry's API answers: Docker Hub's names map to registry-1.docker.io.
fn api_host(host: &str) -> &str {
    if is_docker_hub(host) {
        "registry-1.docker.io"
    } else {
        host
    }
}

/// `host[:port]` of a URL as certs.d names it (port only when not the default).
fn host_key(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// Follows at most 10 redirects and, for a verified registry, never one from https
/// to http: the Authorization header would travel in clear. reqwest itself drops
/// Authorization when a redirect goes to another host or port.
fn redirect_policy(tls_verify: bool) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        let downgrade = attempt.url().scheme() == "http"
            && attempt.previous().iter().any(|u| u.scheme() == "https");
        if downgrade && !insecure::may_follow_https_to_http(tls_verify) {
            attempt.error("refusing a redirect from https to plain http")
        } else if attempt.previous().len() >= 10 {
            attempt.error("more than 10 redirects")
        } else {
            attempt.follow()
        }
    })
}

impl<'a> Session<'a> {
    fn new(
        cred: &'a RegistryCredential,
        opts: &'a CheckOptions,
        image: Option<ImageRef>,
        auth: AuthKind,
    ) -> Session<'a> {
        Session {
            cred,
            opts,
            image,
            scheme: "https",
            auth,
            purpose: Purpose::TestImage,
        }
    }

    fn host(&self) -> &str {
        &self.cred.host
    }

    /// Adds to a verdict reached over plain HTTP that it was (the user asked for
    /// `tls_verify=False`, and should know the password travelled in clear).
    fn say_plain_http(&self, mut v: Verdict) -> Verdict {
        if self.scheme == "http" {
            v.message.push_str(&insecure::plain_http_note(self.host()));
        }
        v
    }

    /// Who the messages say is asking.
    fn user_label(&self) -> String {
        match (&self.auth, self.cred.user.as_str()) {
            (AuthKind::Anonymous, _) => "an anonymous client".to_string(),
            (AuthKind::IdentityToken(_), "") => "the identity token".to_string(),
            (_, user) => user.to_string(),
        }
    }

    fn client(&mut self, url: &Url) -> Result<Client, Verdict> {
        let mut key = host_key(url);
        // The registry's certs.d directory is named as the inventory writes the host
        // (`reg:443` stays `reg:443`), as the containers tools look it up.
        if self.registry_url("/").is_ok_and(|r| host_key(&r) == key) {
            key = self.cred.host.clone();
        }
        // One client per host and trust setting for the whole run: each host gets its
        // own certs.d trust, and the checks of one host share its connections (HTTP/2
        // multiplexes them over one TLS session where the registry offers it).
        let slot = (key.clone(), self.cred.tls_verify);
        let mut clients = self
            .opts
            .shared
            .clients
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(&slot) {
            return Ok(c.clone());
        }
        let mut tls = self
            .opts
            .trust
            .client_config(&key, self.cred.tls_verify)
            .map_err(|e| Verdict::fail(Reason::TlsError, e.to_string()))?;
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let mut b = Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(redirect_policy(self.cred.tls_verify))
            .user_agent(concat!("regauth/", env!("CARGO_PKG_VERSION")));
        let p = &self.opts.proxies;
        if p.http.is_some() || p.https.is_some() {
            // The inventory's proxies replace the environment's, as the installer does.
            let no = p
                .no_proxy
                .as_deref()
                .and_then(reqwest::NoProxy::from_string);
            b = b.no_proxy();
            for (url, https) in [(&p.http, false), (&p.https, true)] {
                let Some(url) = url else { continue };
                let proxy = if https {
                    reqwest::Proxy::https(url)
                } else {
                    reqwest::Proxy::http(url)
                };
                let proxy = proxy.map_err(|e| {
                    Verdict::fail(
                        Reason::RegistryError,
                        format!("proxy setting is not a URL: {e}"),
                    )
                })?;
                b = b.proxy(proxy.no_proxy(no.clone()));
            }
        }
        let c = b.build().map_err(|e| {
            Verdict::fail(
                Reason::RegistryError,
                format!("HTTP client: {}", classify::chain(&e)),
            )
        })?;
        clients.insert(slot, c.clone());
        Ok(c)
    }

    async fn send(
        &mut self,
        url: &Url,
        auth: Option<&Auth>,
        accept: Option<&str>,
    ) -> Result<Response, Verdict> {
        let client = self.client(url)?;
        let mut req = client.get(url.clone());
        if let Some(a) = accept {
            req = req.header(ACCEPT, a);
        }
        req = match auth {
            None => req,
            Some(Auth::Basic) => {
                req.basic_auth(&self.cred.user, Some(self.cred.password.expose_secret()))
            }
            Some(Auth::Bearer(token)) => req.header(AUTHORIZATION, token.clone()),
        };
        let host = host_key(url);
        match req.send().await {
            Ok(r) => {
                tracing::debug!("GET {url} -> {}", r.status().as_u16());
                Ok(r)
            }
            Err(e) => {
                let mut v = classify::transport(&e, &host);
                if let Some(p) = proxy_for(&self.opts.proxies, url) {
                    v.message.push_str(&format!(" (through proxy {p})"));
                }
                Err(v)
            }
        }
    }

    fn registry_url(&self, path: &str) -> Result<Url, Verdict> {
        let scheme = self.scheme;
        Url::parse(&format!("{scheme}://{}{path}", api_host(self.host()))).map_err(|e| {
            Verdict::fail(
                Reason::RegistryError,
                format!("`{}` is not a registry host: {e}", self.host()),
            )
        })
    }

    /// One attempt: ping, authenticate, fetch the manifest; the manifest's digest on success.
    async fn attempt(&mut self) -> (Verdict, Option<String>) {
        match self.attempt_inner().await {
            Ok(done) => done,
            Err(v) => (v, None),
        }
    }

    /// One login attempt (no image): ping, then `/v2/` with what the challenge asks for.
    async fn login(&mut self) -> Result<Verdict, Verdict> {
        let (user, host) = (self.user_label(), self.host().to_string());
        let challenges = match self.ping().await? {
            // podman login succeeds here too: there is nothing to log in to.
            Ping::Open => {
                return Ok(Verdict::ok(format!(
                    "{host} answers without a login; the credential could not be checked there"
                )));
            }
            Ping::Challenged(c) => c,
        };
        let auth = self.authenticate(&challenges).await?;
        let ping = self.registry_url("/v2/")?;
        let resp = self.send(&ping, Some(&auth), None).await?;
        match (resp.status().as_u16(), &auth) {
            (200..=299, _) => Ok(Verdict::ok(format!("{user} logged in to {host}"))),
            (401 | 403, Auth::Basic) => Err(self.wrong_password(None)),
            (401 | 403, Auth::Bearer(_)) => Err(Verdict::fail(
                Reason::AuthFailed,
                format!(
                    "{host} refused the token its token service issued to {user}: check the registry's token configuration"
                ),
            )),
            (s, _) => Err(self.status_verdict(s, &resp, "/v2/")),
        }
    }

    /// The realm's `HOST[:PORT]` when the registry's Bearer challenge names another host.
    async fn realm_host(&mut self) -> Result<Option<String>, Verdict> {
        let Ping::Challenged(challenges) = self.ping().await? else {
            return Ok(None);
        };
        let Some(AuthScheme::Bearer { realm, .. }) = challenge::choose(&challenges) else {
            return Ok(None);
        };
        let url = Url::parse(&realm).map_err(|e| {
            Verdict::fail(
                Reason::RegistryError,
                format!(
                    "{} names a token service that is not a URL ({realm}): {e}",
                    self.host()
                ),
            )
        })?;
        let realm_host = host_key(&url);
        let registry_host = host_key(&self.registry_url("/")?);
        Ok((realm_host != registry_host && realm_host != self.host()).then_some(realm_host))
    }

    async fn attempt_inner(&mut self) -> Result<(Verdict, Option<String>), Verdict> {
        let Some(image) = self.image.clone() else {
            return self.login().await.map(|v| (v, None));
        };
        let mut auth = match self.ping().await? {
            Ping::Open => None,
            Ping::Challenged(challenges) => Some(self.authenticate(&challenges).await?),
        };
        let path = format!("/v2/{}/manifests/{}", image.repository, image.reference());
        let manifest = self.registry_url(&path)?;
        let mut resp = self
            .send(&manifest, auth.as_ref(), Some(MANIFEST_ACCEPT))
            .await?;
        if auth.is_none() && resp.status().as_u16() == 401 {
            // The ping was open but the repository is not: authenticate now.
            auth = Some(self.authenticate(&challenges_of(&resp)).await?);
            resp = self
                .send(&manifest, auth.as_ref(), Some(MANIFEST_ACCEPT))
                .await?;
        }
        let status = resp.status().as_u16();
        let retry = retry_after(&resp);
        let digest = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        // A cut body is fine here: error codes come first in any sane answer.
        let (body, cut) = read_capped(resp, MAX_ANSWER_BODY).await.unwrap_or_default();
        let codes = classify::error_codes(&body);
        let (user, host) = (self.user_label(), self.host().to_string());
        if (200..=299).contains(&status) {
            // The registry's digest, else the bytes' own (what a pull verifies).
            let digest = digest.or_else(|| {
                use sha2::Digest;
                (!cut).then(|| format!("sha256:{}", hex::encode(sha2::Sha256::digest(&body))))
            });
            if let (super::reference::Target::Digest(want), Some(got)) = (&image.target, &digest)
                && want != got
            {
                return Ok((
                    Verdict::fail(
                        Reason::RegistryError,
                        format!("{host} answered {image} with another manifest ({got})"),
                    ),
                    None,
                ));
            }
            return Ok((
                Verdict::ok(format!("{user} can pull {image} from {host}")),
                digest,
            ));
        }
        Ok((
            match status {
                401 | 403
                    if matches!(auth, Some(Auth::Basic)) && !self.basic_login_works().await? =>
                {
                    self.wrong_password(None)
                }
                401 | 403 if matches!(self.auth, AuthKind::Anonymous) => self.no_credential(),
                401 | 403 => Verdict::fail(
                    Reason::AccessDenied,
                    match self.purpose {
                        Purpose::TestImage => format!(
                            "{user} can log in to {host} but may not pull {}: grant pull access or set test_image to an image {user} may pull",
                            image.repository
                        ),
                        Purpose::Required => format!(
                            "{user} can log in to {host} but may not pull {image}: grant {user} pull access to {}",
                            image.repository
                        ),
                    },
                ),
                404 => {
                    // distribution answers MANIFEST_UNKNOWN for a missing repository too;
                    // the tag list tells the two apart so the message names the right fix.
                    let repo_missing = codes.iter().any(|c| c == "NAME_UNKNOWN")
                        || self
                            .repository_missing(&image.repository, auth.as_ref())
                            .await;
                    let what = match (repo_missing, self.purpose) {
                        (true, Purpose::Required) => format!(
                            "{image} not found on {host}: repository {} does not exist there",
                            image.repository
                        ),
                        (true, Purpose::TestImage) => {
                            format!("repository {} does not exist on {host}", image.repository)
                        }
                        (false, _) => format!("{image} not found on {host}"),
                    };
                    let fix = match self.purpose {
                        Purpose::TestImage => "set test_image for this entry",
                        Purpose::Required => {
                            "mirror it there, or set openshift_image_tag / oreg_url to images that exist"
                        }
                    };
                    Verdict::fail(Reason::ImageNotFound, format!("{what} — {fix}"))
                }
                s => {
                    let mut v = classify::unexpected_status(s, &host, &path, retry);
                    if !codes.is_empty() {
                        v.message.push_str(&format!(" ({})", codes.join(", ")));
                    }
                    v
                }
            },
            None,
        ))
    }

    /// True when the tag list says the repository itself is unknown.
    async fn repository_missing(&mut self, repository: &str, auth: Option<&Auth>) -> bool {
        let Ok(url) = self.registry_url(&format!("/v2/{repository}/tags/list")) else {
            return false;
        };
        match self.send(&url, auth, None).await {
            Ok(r) if r.status().as_u16() == 404 => {
                let body = read_capped(r, MAX_ANSWER_BODY)
                    .await
                    .map(|(b, _)| b)
                    .unwrap_or_default();
                classify::error_codes(&body)
                    .iter()
                    .any(|c| c == "NAME_UNKNOWN")
            }
            _ => false,
        }
    }

    fn status_verdict(&self, status: u16, resp: &Response, what: &str) -> Verdict {
        classify::unexpected_status(status, self.host(), what, retry_after(resp))
    }

    /// `GET /v2/` without credentials, once per host, trust setting and run: the answer
    /// does not depend on the credential, and each request costs the registry CPU that
    /// 50 concurrent checks compete for. Failures are not shared (each check retries).
    /// Sets the scheme the rest of the session uses (see [`insecure`]).
    async fn ping(&mut self) -> Result<Ping, Verdict> {
        let cell = self
            .opts
            .shared
            .ping_cell(&self.cred.host, self.cred.tls_verify);
        let found = cell
            .get_or_try_init(|| async {
                match self.ping_once("https").await {
                    Ok(p) => Ok(("https", p)),
                    Err(e) if self.cred.tls_verify => Err(e),
                    Err(https) => match self.ping_once("http").await {
                        Ok(p) => Ok(("http", p)),
                        Err(http) => Err(insecure::both_failed(https, http)),
                    },
                }
            })
            .await
            .cloned();
        // A failed ping leaves nothing said over plain HTTP that the message should flag.
        self.scheme = found.as_ref().map_or("https", |(scheme, _)| *scheme);
        found.map(|(_, ping)| ping)
    }

    /// One unauthenticated `GET /v2/` over `scheme`.
    async fn ping_once(&mut self, scheme: &'static str) -> Result<Ping, Verdict> {
        self.scheme = scheme;
        let url = self.registry_url("/v2/")?;
        let resp = self.send(&url, None, None).await?;
        match resp.status().as_u16() {
            200..=299 => Ok(Ping::Open),
            401 => Ok(Ping::Challenged(challenges_of(&resp))),
            s => Err(self.status_verdict(s, &resp, "/v2/")),
        }
    }

    /// Turns a 401's challenge into working credentials, or the verdict why not.
    async fn authenticate(&mut self, challenges: &[Challenge]) -> Result<Auth, Verdict> {
        let anonymous = matches!(self.auth, AuthKind::Anonymous);
        match challenge::choose(challenges) {
            // Public images of a token-auth registry (quay.io, registry.access.redhat.com)
            // come with an anonymous token; Basic has nothing to offer without credentials.
            Some(AuthScheme::Basic) if anonymous => Err(self.no_credential()),
            Some(AuthScheme::Bearer { .. }) if anonymous && self.purpose == Purpose::TestImage => {
                Err(self.no_credential())
            }
            // Basic: the credentials themselves. They are not tried on `/v2/` first: the
            // manifest request tells (each try costs the registry a bcrypt); only a 401
            // there needs `/v2/` to tell a wrong password from a missing pull right.
            Some(AuthScheme::Basic) => Ok(Auth::Basic),
            Some(AuthScheme::Bearer { realm, service }) => {
                self.bearer(&realm, service.as_deref()).await
            }
            None => Err(Verdict::fail(
                Reason::RegistryError,
                format!(
                    "{} asks for a login it does not describe (no Basic or Bearer challenge)",
                    self.host()
                ),
            )),
        }
    }

    /// After a 401/403 on the manifest with Basic: does `/v2/` accept the credentials?
    async fn basic_login_works(&mut self) -> Result<bool, Verdict> {
        let ping = self.registry_url("/v2/")?;
        let resp = self.send(&ping, Some(&Auth::Basic), None).await?;
        match resp.status().as_u16() {
            200..=299 => Ok(true),
            401 | 403 => Ok(false),
            s => Err(self.status_verdict(s, &resp, "/v2/")),
        }
    }

    /// Anonymous and refused: say which credential is missing.
    fn no_credential(&self) -> Verdict {
        let host = self.host();
        Verdict::fail(
            Reason::AuthFailed,
            match self.purpose {
                Purpose::TestImage => format!(
                    "{host} asks for a login and no credential applies to it: add one for it"
                ),
                Purpose::Required => format!(
                    "{host} refuses anonymous pulls and the nodes have no credential for it: add it to openshift_additional_registry_credentials"
                ),
            },
        )
    }

    fn wrong_password(&self, token_host: Option<&str>) -> Verdict {
        let (user, host) = (&self.cred.user, self.host());
        let via = token_host
            .map(|t| format!(" (rejected by its token service {t})"))
            .unwrap_or_default();
        Verdict::fail(
            Reason::AuthFailed,
            format!("wrong user name or password for {user} at {host}{via}"),
        )
    }

    /// Bearer: ask the realm for a pull token with the credentials.
    async fn bearer(&mut self, realm: &str, service: Option<&str>) -> Result<Auth, Verdict> {
        let host = self.host().to_string();
        let mut url = Url::parse(realm).map_err(|e| {
            Verdict::fail(
                Reason::RegistryError,
                format!("{host} names a token service that is not a URL ({realm}): {e}"),
            )
        })?;
        let realm_host = host_key(&url);
        match url.scheme() {
            "https" => {}
            "http" if realm_host == host => {}
            "http" if insecure::may_send_to_plain_http_realm(self.cred.tls_verify) => {}
            "http" => {
                return Err(Verdict::fail(
                    Reason::RegistryError,
                    format!(
                        "{host} sends logins to {realm}, plain HTTP on another host; regauth will not send the password there"
                    ),
                ));
            }
            s => {
                return Err(Verdict::fail(
                    Reason::RegistryError,
                    format!("{host} names a token service with scheme {s}"),
                ));
            }
        }
        if let AuthKind::IdentityToken(refresh) = &self.auth {
            let refresh = refresh.clone();
            return self.bearer_oauth2(url, service, &refresh).await;
        }
        {
            let mut q = url.query_pairs_mut();
            match &self.image {
                Some(image) => {
                    if let Some(s) = service {
                        q.append_pair("service", s);
                    }
                    q.append_pair("scope", &format!("repository:{}:pull", image.repository));
                }
                // A login check asks as containers/image's CheckAuth does: the
                // account, the service and no scope (a token for `/v2/` only).
                None => {
                    q.append_pair("account", &self.cred.user);
                    if let Some(s) = service.filter(|s| !s.is_empty()) {
                        q.append_pair("service", s);
                    }
                }
            }
        }
        let anonymous = matches!(self.auth, AuthKind::Anonymous);
        let basic = (!anonymous).then_some(Auth::Basic);
        let resp = self.send(&url, basic.as_ref(), None).await?;
        let status = resp.status().as_u16();
        match status {
            200..=299 => {}
            401 | 403 if anonymous => return Err(self.no_credential()),
            401 | 403 => return Err(self.wrong_password(Some(&realm_host))),
            s => {
                return Err(classify::unexpected_status(
                    s,
                    &realm_host,
                    "its token request",
                    retry_after(&resp),
                ));
            }
        }
        self.token_of(resp, &realm_host).await
    }

    /// OAuth2 with a refresh token, as containers/image's `getBearerTokenOAuth2`: a
    /// form POST to the realm (`grant_type=refresh_token`, `client_id=containers/image`).
    async fn bearer_oauth2(
        &mut self,
        url: Url,
        service: Option<&str>,
        refresh: &SecretString,
    ) -> Result<Auth, Verdict> {
        let realm_host = host_key(&url);
        // The form body is built with the URL serializer (reqwest's `form` needs a feature).
        let mut form = Url::parse("https://form.invalid/").expect("a constant URL");
        {
            let mut q = form.query_pairs_mut();
            if let Some(s) = service.filter(|s| !s.is_empty()) {
                q.append_pair("service", s);
            }
            if let Some(image) = &self.image {
                q.append_pair("scope", &format!("repository:{}:pull", image.repository));
            }
            q.append_pair("grant_type", "refresh_token");
            q.append_pair("refresh_token", refresh.expose_secret());
            q.append_pair("client_id", "containers/image");
        }
        let body = form.query().unwrap_or_default().to_string();
        let client = self.client(&url)?;
        let resp = client
            .post(url.clone())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(|e| classify::transport(&e, &realm_host))?;
        tracing::debug!("POST {url} -> {}", resp.status().as_u16());
        match resp.status().as_u16() {
            200..=299 => self.token_of(resp, &realm_host).await,
            400 | 401 | 403 => Err(Verdict::fail(
                Reason::AuthFailed,
                format!(
                    "the identity token for {} was rejected by its token service {realm_host}: log in again to get a new one",
                    self.host()
                ),
            )),
            s => Err(classify::unexpected_status(
                s,
                &realm_host,
                "its OAuth2 token request",
                retry_after(&resp),
            )),
        }
    }

    /// The bearer token of a token service's answer.
    async fn token_of(&mut self, resp: Response, realm_host: &str) -> Result<Auth, Verdict> {
        #[derive(serde::Deserialize)]
        struct TokenAnswer {
            token: Option<String>,
            access_token: Option<String>,
        }
        let (body, cut) = read_capped(resp, MAX_TOKEN_BODY)
            .await
            .map_err(|e| classify::transport(&e, realm_host))?;
        if cut {
            return Err(Verdict::fail(
                Reason::RegistryError,
                format!(
                    "token service {realm_host} answered more than {} KiB, which is not a token",
                    MAX_TOKEN_BODY / 1024
                ),
            ));
        }
        let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|e| {
            Verdict::fail(
                Reason::RegistryError,
                format!("token service {realm_host} answered something that is not a token: {e}"),
            )
        })?;
        let token = answer
            .token
            .filter(|t| !t.is_empty())
            .or(answer.access_token.filter(|t| !t.is_empty()))
            .ok_or_else(|| {
                Verdict::fail(
                    Reason::RegistryError,
                    format!("token service {realm_host} answered without a token"),
                )
            })?;
        let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            Verdict::fail(
                Reason::RegistryError,
                format!("token service {realm_host} issued a token that is not a header value"),
            )
        })?;
        // Sensitive values are never printed by the HTTP stack's own Debug output.
        value.set_sensitive(true);
        Ok(Auth::Bearer(value))
    }
}

/// The proxy a request to `url` goes through, for messages: the inventory's, else
/// the environment's, unless no_proxy names the host; user info stripped.
fn proxy_for(p: &Proxies, url: &Url) -> Option<String> {
    let env = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
    };
    let inventory = p.http.is_some() || p.https.is_some();
    let (proxy, no_proxy) = if inventory {
        let proxy = if url.scheme() == "https" {
            p.https.clone()
        } else {
            p.http.clone()
        };
        (proxy, p.no_proxy.clone())
    } else {
        let proxy = if url.scheme() == "https" {
            env(&["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"])
        } else {
            env(&["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])
        };
        (proxy, env(&["NO_PROXY", "no_proxy"]))
    };
    let proxy = proxy?;
    let host = url.host_str().unwrap_or_default();
    let bypass = no_proxy
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .any(|n| {
            let n = n.trim_start_matches('.');
            n == "*" || (!n.is_empty() && (host == n || host.ends_with(&format!(".{n}"))))
        });
    if bypass {
        return None;
    }
    Some(match Url::parse(&proxy) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        // Not a URL: reqwest refused it already; do not echo what might be a secret.
        Err(_) => "(unparsable proxy setting)".to_string(),
    })
}

/// Every challenge of every `WWW-Authenticate` header of `resp`.
fn challenges_of(resp: &Response) -> Vec<Challenge> {
    resp.headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(challenge::parse)
        .collect()
}

/// What `/v2/` without credentials said.
#[derive(Debug, Clone)]
enum Ping {
    /// 2xx: no login needed to talk to the API (a repository may still ask).
    Open,
    /// 401 with these challenges.
    Challenged(Vec<Challenge>),
}

/// The first successful ping of a host under one trust setting, with its scheme.
type PingCell = Arc<tokio::sync::OnceCell<(&'static str, Ping)>>;

/// What the checks of one run share per registry host. Poisoned locks are taken
/// over: they only mean another check panicked, and the maps stay sound.
#[derive(Default)]
pub struct RunCache {
    pings: Mutex<HashMap<(String, bool), PingCell>>,
    clients: Mutex<HashMap<(String, bool), Client>>,
}

impl RunCache {
    /// Keyed by trust setting too: an insecure entry may reach a host over plain
    /// HTTP, which a verifying entry for the same host must never reuse.
    fn ping_cell(&self, host: &str, tls_verify: bool) -> PingCell {
        let mut map = self.pings.lock().unwrap_or_else(|p| p.into_inner());
        map.entry((host.to_string(), tls_verify))
            .or_default()
            .clone()
    }
}

impl std::fmt::Debug for RunCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RunCache")
    }
}

/// Most bytes kept of a manifest or error answer: only its error codes are read, and
/// a hostile or broken registry must not make the check hold megabytes per credential.
const MAX_ANSWER_BODY: usize = 64 * 1024;

/// Most bytes accepted from a token service: real tokens are a few KiB (JWTs with
/// many claims stay well under this); more is a broken or hostile realm.
const MAX_TOKEN_BODY: usize = 1024 * 1024;

/// Reads at most `limit` bytes of a body, chunk by chunk, then stops reading (the
/// connection is dropped with the response). True in the second field when the body
/// went on past the limit.
async fn read_capped(mut resp: Response, limit: usize) -> reqwest::Result<(Vec<u8>, bool)> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        let room = limit - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

fn retry_after(resp: &Response) -> Option<Duration> {
    classify::retry_after(
        resp.headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok()),
        std::time::SystemTime::now(),
    )
}

/// How requests authenticate once the challenge is answered.
#[derive(Clone)]
enum Auth {
    /// `Authorization: Basic` with the credential.
    Basic,
    /// `Authorization: Bearer TOKEN` (marked sensitive).
    Bearer(HeaderValue),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_hint_strips_credentials_and_honours_no_proxy() {
        let p = Proxies {
            http: None,
            https: Some("http://user:secret@proxy.example:3128".into()),
            no_proxy: Some(".internal, 10.0.0.1".into()),
        };
        let url = |s: &str| Url::parse(s).unwrap();
        let hint = proxy_for(&p, &url("https://reg.example.com/v2/")).unwrap();
        assert_eq!(hint, "http://proxy.example:3128/");
        assert_eq!(proxy_for(&p, &url("https://reg.internal:5000/v2/")), None);
        assert_eq!(proxy_for(&p, &url("https://10.0.0.1/v2/")), None);
        // The inventory has no http proxy: plain-HTTP URLs go direct.
        assert_eq!(proxy_for(&p, &url("http://reg.example.com/v2/")), None);
    }

    #[test]
    fn docker_hub_names() {
        assert_eq!(api_host("docker.io"), "registry-1.docker.io");
        assert_eq!(api_host("index.docker.io"), "registry-1.docker.io");
        assert_eq!(api_host("quay.io"), "quay.io");
    }

    #[test]
    fn certs_d_key_keeps_explicit_ports_only() {
        assert_eq!(
            host_key(&Url::parse("https://r.example:5000/x").unwrap()),
            "r.example:5000"
        );
        assert_eq!(
            host_key(&Url::parse("https://r.example/x").unwrap()),
            "r.example"
        );
        assert_eq!(
            host_key(&Url::parse("https://r.example:443/x").unwrap()),
            "r.example"
        );
    }
}
