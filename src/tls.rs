//! The one TLS crypto provider (ring) for every client in the process.

/// Installs ring as rustls' process-wide provider; later calls are no-ops.
pub fn install_default_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
