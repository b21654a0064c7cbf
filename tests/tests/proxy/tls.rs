//! The proxy's TCP listener: TLS with client certificates from a test CA (generated here),
//! and the refusal to listen off loopback without TLS.

use std::net::TcpListener;
use std::path::Path;

use e2e::proxy::{busybox_image, docker_with, prerequisites, stderr, stdout, Proxy, TempDir};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// Writes ca.pem, server cert/key (for 127.0.0.1 and localhost) and client cert/key.
fn make_pki(dir: &Path) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::CrlSign,
    ];
    ca.distinguished_name.push(DnType::CommonName, "pw test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::from_params(&ca, &ca_key);
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();

    let mut server =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_key = KeyPair::generate().unwrap();
    let server_cert = server.signed_by(&server_key, &issuer).unwrap();
    std::fs::write(dir.join("server-cert.pem"), server_cert.pem()).unwrap();
    std::fs::write(dir.join("server-key.pem"), server_key.serialize_pem()).unwrap();

    let mut client = CertificateParams::new(Vec::<String>::new()).unwrap();
    client.distinguished_name.push(DnType::CommonName, "client");
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_key = KeyPair::generate().unwrap();
    let client_cert = client.signed_by(&client_key, &issuer).unwrap();
    std::fs::write(dir.join("cert.pem"), client_cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), client_key.serialize_pem()).unwrap();
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn tls_listener_with_client_certificates() {
    if !prerequisites() {
        return;
    }
    let pki = TempDir::new("proxy-pki");
    make_pki(&pki.0);
    let p_ = |n: &str| pki.join(n).to_string_lossy().to_string();
    let port = free_port();
    let host = format!("tcp://127.0.0.1:{port}");
    let (cert, key, ca) = (p_("server-cert.pem"), p_("server-key.pem"), p_("ca.pem"));
    let proxy = Proxy::start_with(
        &host,
        &[
            "--listen",
            &host,
            "--no-events",
            "--tlscert",
            &cert,
            "--tlskey",
            &key,
            "--tlscacert",
            &ca,
        ],
        move |_| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
    );
    let certs = pki.0.to_string_lossy().to_string();
    // The docker CLI's own TLS settings: DOCKER_TLS_VERIFY + DOCKER_CERT_PATH (ca.pem,
    // cert.pem, key.pem).
    let env = [
        ("DOCKER_HOST", host.as_str()),
        ("DOCKER_TLS_VERIFY", "1"),
        ("DOCKER_CERT_PATH", certs.as_str()),
    ];
    let out = docker_with(
        &env,
        &["run", "--rm", busybox_image(), "echo", "over-tls"],
        None,
    );
    assert!(
        out.status.success(),
        "{}\nproxy log: {}",
        stderr(&out),
        proxy.log_text()
    );
    assert_eq!(stdout(&out), "over-tls");
    // Interactive (upgraded) streams work over TLS too, stdin end included.
    let out = docker_with(
        &env,
        &[
            "run",
            "--rm",
            "-i",
            busybox_image(),
            "sh",
            "-c",
            "cat; echo end",
        ],
        Some(b"tls-stdin\n"),
    );
    assert_eq!(stdout(&out), "tls-stdin\nend", "{}", stderr(&out));

    // Without a client certificate the handshake is refused.
    let no_client = TempDir::new("proxy-pki-ca-only");
    std::fs::copy(pki.join("ca.pem"), no_client.join("ca.pem")).unwrap();
    let out = docker_with(
        &[("DOCKER_HOST", host.as_str())],
        &[
            "--tls",
            "--tlscacert",
            &no_client.join("ca.pem").to_string_lossy(),
            "version",
        ],
        None,
    );
    assert!(
        !out.status.success(),
        "a client without a certificate got in"
    );
    assert_ne!(out.status.code(), Some(124), "the refused client hung");
}

#[test]
fn refuses_non_loopback_tcp_without_tls() {
    if !prerequisites() {
        return;
    }
    let out = std::process::Command::new("timeout")
        .arg("20")
        .arg(e2e::proxy::binary())
        .args(["proxy", "--listen", "tcp://0.0.0.0:2399"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("non-loopback") && err.contains("--tlscert"),
        "{err}"
    );
}

#[test]
fn a_client_silent_after_connecting_is_dropped_at_the_tls_bound() {
    if !prerequisites() {
        return;
    }
    let pki = TempDir::new("proxy-pki-silent");
    make_pki(&pki.0);
    let p_ = |n: &str| pki.join(n).to_string_lossy().to_string();
    let port = free_port();
    let host = format!("tcp://127.0.0.1:{port}");
    let (cert, key) = (p_("server-cert.pem"), p_("server-key.pem"));
    let proxy = Proxy::start_env(
        &[("POWERSTRIP_WEAVE_BOUNDS", "tls=1s")],
        &host,
        &[
            "--listen",
            &host,
            "--no-weave",
            "--tlscert",
            &cert,
            "--tlskey",
            &key,
        ],
        move |_| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
    );
    // Connects and never starts the handshake.
    let t = std::time::Instant::now();
    let mut silent = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    silent
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let mut got = Vec::new();
    let n = std::io::Read::read_to_end(&mut silent, &mut got).expect("closed, not left open");
    assert_eq!(n, 0);
    let closed = t.elapsed();
    assert!(
        proxy
            .log_text()
            .contains("TLS handshake not done within 1s: closed"),
        "{}",
        proxy.log_text()
    );
    eprintln!(
        "tls=1s: a silent client was disconnected after {:.2} s",
        closed.as_secs_f64()
    );
}
