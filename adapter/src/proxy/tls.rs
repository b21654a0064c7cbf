//! TLS for the TCP listener, with dockerd's flag names: `--tlscert`/`--tlskey` (PEM) serve
//! TLS; `--tlscacert` also requires client certificates signed by that CA (dockerd
//! `--tlsverify`), which is what `docker --tlsverify` presents.

use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, Context};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// Builds the acceptor from PEM files: `cert` (chain, leaf first), `key` (PKCS#8, PKCS#1 or
/// SEC1) and optionally `ca` (client CA bundle). Errors name the file and what is wrong.
pub fn acceptor(cert: &Path, key: &Path, ca: Option<&Path>) -> anyhow::Result<TlsAcceptor> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("--tlscert {}: cannot read", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("--tlscert {}: not a PEM certificate file", cert.display()))?;
    if certs.is_empty() {
        return Err(anyhow!(
            "--tlscert {}: no CERTIFICATE block found",
            cert.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key).with_context(|| {
        format!(
            "--tlskey {}: no PEM private key (PKCS#8, RSA or EC) found",
            key.display()
        )
    })?;
    // Graviola: pure Rust and assembly, so the static musl build needs no C cross compiler.
    let provider = Arc::new(rustls_graviola::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS: no usable protocol version")?;
    let builder = match ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(ca)
                .with_context(|| format!("--tlscacert {}: cannot read", ca.display()))?
            {
                let c = c.with_context(|| {
                    format!("--tlscacert {}: not a PEM certificate file", ca.display())
                })?;
                roots
                    .add(c)
                    .with_context(|| format!("--tlscacert {}: bad CA certificate", ca.display()))?;
            }
            if roots.is_empty() {
                return Err(anyhow!(
                    "--tlscacert {}: no CERTIFICATE block found",
                    ca.display()
                ));
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .with_context(|| format!("--tlscacert {}: unusable", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .context("--tlscert/--tlskey: the key does not match the certificate")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
