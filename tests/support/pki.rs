//! The lab's certificate authority: one CA per lab, leaf certificates for loopback
//! addresses, and a second, untrusted CA for the "unknown issuer" cases.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use std::net::IpAddr;

/// A CA that signs the lab's server certificates.
pub struct Ca {
    /// PEM of the CA certificate (what certs.d holds).
    pub cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A server certificate and its key, PEM.
pub struct Leaf {
    /// Certificate chain (leaf only) in PEM.
    pub cert_pem: String,
    /// PKCS#8 private key in PEM.
    pub key_pem: String,
}

impl Ca {
    /// A fresh CA named `name`.
    pub fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca {
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A certificate for `ip` (and `localhost`), signed by this CA.
    pub fn leaf(&self, ip: IpAddr) -> Leaf {
        self.leaf_with(ip, |_| {})
    }

    /// Like [`Ca::leaf`], letting the caller change the parameters (names, validity).
    pub fn leaf_with(&self, ip: IpAddr, tweak: impl FnOnce(&mut CertificateParams)) -> Leaf {
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.subject_alt_names.push(SanType::IpAddress(ip));
        params
            .distinguished_name
            .push(DnType::CommonName, ip.to_string());
        tweak(&mut params);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}
