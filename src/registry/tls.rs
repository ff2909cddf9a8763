//! TLS trust as the containers tools set it up: the system roots plus every
//! `*.crt` in `certs.d/HOST[:PORT]/` (`/etc/containers/certs.d` and
//! `/etc/docker/certs.d`, or `--certs-dir` instead), and `tls_verify=False`
//! accepting any certificate for that one entry. One `ring` provider throughout.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The directories the containers tools read registry CAs from.
pub const DEFAULT_CERTS_DIRS: [&str; 2] = ["/etc/containers/certs.d", "/etc/docker/certs.d"];

/// Where trust comes from for every registry of a run.
#[derive(Debug, Clone)]
pub struct Trust {
    dirs: Vec<PathBuf>,
    system: bool,
    /// CAs trusted for every registry (install-config's `additionalTrustBundle`).
    bundle: Arc<Vec<CertificateDer<'static>>>,
}

/// A CA file that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot use CA file {path}: {why}")]
pub struct TrustError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub why: String,
}

fn provider() -> Arc<CryptoProvider> {
    static P: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The system roots, read once per process (parsing the bundle costs milliseconds).
fn system_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::debug!("system CA store: {e}");
        }
        let mut store = RootCertStore::empty();
        let (added, ignored) = store.add_parsable_certificates(found.certs);
        tracing::debug!("system CA store: {added} roots, {ignored} unusable");
        store
    })
}

impl Trust {
    /// System roots plus `certs.d` under `certs_dir`, or under both default directories.
    pub fn new(certs_dir: Option<PathBuf>) -> Trust {
        let dirs = match certs_dir {
            Some(d) => vec![d],
            None => DEFAULT_CERTS_DIRS.iter().map(PathBuf::from).collect(),
        };
        Trust {
            dirs,
            system: true,
            bundle: Arc::default(),
        }
    }

    /// Also trusts every certificate of `pem` for every registry, as the nodes of a
    /// cluster installed with this `additionalTrustBundle` do.
    pub fn with_bundle(mut self, pem: &[u8]) -> Result<Trust, String> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        if certs.is_empty() {
            return Err("no PEM certificate in it".into());
        }
        let mut all = (*self.bundle).clone();
        all.extend(certs);
        self.bundle = Arc::new(all);
        Ok(self)
    }

    /// Only the CAs under `certs_dir`, no system roots: for tests that must not
    /// depend on the machine's bundle.
    pub fn only(certs_dir: PathBuf) -> Trust {
        Trust {
            dirs: vec![certs_dir],
            system: false,
            bundle: Arc::default(),
        }
    }

    /// The `*.crt` files that apply to `host` (`name` or `name:port`), sorted.
    pub fn ca_files(&self, host: &str) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for dir in &self.dirs {
            let Ok(entries) = std::fs::read_dir(dir.join(host)) else {
                continue;
            };
            let mut here: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "crt"))
                .collect();
            here.sort();
            files.extend(here);
        }
        files
    }

    /// A rustls client configuration for `host`; `verify` false accepts any certificate.
    pub fn client_config(&self, host: &str, verify: bool) -> Result<ClientConfig, TrustError> {
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TrustError {
                path: PathBuf::new(),
                why: e.to_string(),
            })?;
        if !verify {
            return Ok(builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAny(provider())))
                .with_no_client_auth());
        }
        let mut roots = if self.system {
            system_roots().clone()
        } else {
            RootCertStore::empty()
        };
        for c in self.bundle.iter() {
            roots.add(c.clone()).map_err(|e| TrustError {
                path: PathBuf::from("additionalTrustBundle"),
                why: e.to_string(),
            })?;
        }
        for file in self.ca_files(host) {
            add_pem(&mut roots, &file)?;
        }
        Ok(builder.with_root_certificates(roots).with_no_client_auth())
    }
}

fn add_pem(roots: &mut RootCertStore, file: &Path) -> Result<(), TrustError> {
    let err = |why: String| TrustError {
        path: file.to_path_buf(),
        why,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(file)
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no PEM certificate in it".into()));
    }
    for c in certs {
        roots.add(c).map_err(|e| err(e.to_string()))?;
    }
    Ok(())
}

/// `tls_verify=False`: any certificate is accepted, but the handshake signatures
/// are still checked so the connection is at least to whoever holds the key.
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_files_per_host_and_port() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("reg:5000")).unwrap();
        std::fs::create_dir_all(d.path().join("reg")).unwrap();
        std::fs::write(d.path().join("reg:5000/b.crt"), "x").unwrap();
        std::fs::write(d.path().join("reg:5000/a.crt"), "x").unwrap();
        std::fs::write(d.path().join("reg:5000/client.cert"), "x").unwrap();
        std::fs::write(d.path().join("reg/other.crt"), "x").unwrap();
        let t = Trust::only(d.path().to_path_buf());
        let names: Vec<_> = t
            .ca_files("reg:5000")
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.crt", "b.crt"]);
        // A broken CA file is an error naming it, not a silent distrust.
        let e = t.client_config("reg:5000", true).unwrap_err();
        assert!(e.to_string().contains("a.crt"), "{e}");
        assert!(t.client_config("nothing-here", true).is_ok());
        assert!(t.client_config("reg:5000", false).is_ok());
    }
}
