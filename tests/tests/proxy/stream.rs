//! HTTP-level faithfulness of the proxy, checked with a raw client on its socket:
//! keep-alive, response headers sent before any body byte, chunks passed on as they come,
//! the socket's owner and mode copied from Docker's.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use e2e::docker::{unique, Cleanup};
use e2e::proxy::{busybox_image, prerequisites, Proxy};

fn socket_of(p: &Proxy) -> String {
    p.host.strip_prefix("unix://").unwrap().to_string()
}

/// Reads one response head (status line and headers) from `r`.
fn read_head(r: &mut impl BufRead) -> Vec<String> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        let n = r.read_line(&mut line).expect("reading the response head");
        assert!(n > 0, "connection closed inside a response head: {head:?}");
        let line = line.trim_end().to_string();
        if line.is_empty() {
            return head;
        }
        head.push(line);
    }
}

fn header<'a>(head: &'a [String], name: &str) -> Option<&'a str> {
    head.iter().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[test]
fn keeps_the_connection_alive_across_requests() {
    if !prerequisites() {
        return;
    }
    let p = Proxy::start(&[]);
    let conn = UnixStream::connect(socket_of(&p)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut w = conn.try_clone().unwrap();
    let mut r = BufReader::new(conn);
    for (i, path) in ["/_ping", "/v1.41/_ping", "/version"].iter().enumerate() {
        write!(w, "GET {path} HTTP/1.1\r\nHost: docker\r\n\r\n").unwrap();
        let head = read_head(&mut r);
        assert!(head[0].starts_with("HTTP/1.1 200"), "request {i}: {head:?}");
        assert_ne!(
            header(&head, "connection").map(str::to_ascii_lowercase),
            Some("close".into()),
            "{head:?}"
        );
        let len: usize = header(&head, "content-length")
            .expect("a Content-Length")
            .parse()
            .unwrap();
        let mut body = vec![0; len];
        r.read_exact(&mut body).unwrap();
        if path.ends_with("_ping") {
            assert_eq!(body, b"OK");
        }
    }
}

#[test]
fn events_headers_come_at_once_and_chunks_as_they_happen() {
    if !prerequisites() {
        return;
    }
    let p = Proxy::start(&[]);
    let label = format!("pw.stream={}", unique("ev"));
    let filters = format!("{{\"label\":[\"{label}\"]}}").replace('"', "%22");
    let conn = UnixStream::connect(socket_of(&p)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut w = conn.try_clone().unwrap();
    let mut r = BufReader::new(conn);
    write!(
        w,
        "GET /v1.41/events?filters={filters} HTTP/1.1\r\nHost: docker\r\n\r\n"
    )
    .unwrap();
    // No event has happened yet: the head must arrive anyway (powerstrip held it back).
    let head = read_head(&mut r);
    assert!(head[0].starts_with("HTTP/1.1 200"), "{head:?}");
    assert_eq!(header(&head, "transfer-encoding"), Some("chunked"));

    let mut c = Cleanup::default();
    let name = c.add(unique("proxy-stream"));
    e2e::docker::docker_ok(&[
        "create",
        "--name",
        &name,
        "--label",
        &label,
        busybox_image(),
        "true",
    ]);
    // The create event arrives as a chunk while the stream stays open.
    let mut size = String::new();
    r.read_line(&mut size).unwrap();
    let size = usize::from_str_radix(size.trim(), 16).expect("a chunk size line");
    let mut chunk = vec![0; size];
    r.read_exact(&mut chunk).unwrap();
    let text = String::from_utf8_lossy(&chunk);
    assert!(
        text.contains("\"create\"") && text.contains(&name),
        "{text}"
    );
}

#[test]
fn socket_gets_the_owner_and_mode_of_dockers() {
    if !prerequisites() {
        return;
    }
    let docker = e2e::docker::socket().and_then(|s| std::fs::metadata(s).ok());
    if !e2e::prereq::require(docker.is_some(), "a daemon on a unix socket (DOCKER_HOST)") {
        return;
    }
    let docker = docker.unwrap();
    let p = Proxy::start(&["--docker", &e2e::docker::host()]);
    let ours = std::fs::metadata(socket_of(&p)).unwrap();
    assert_eq!((ours.uid(), ours.gid()), (docker.uid(), docker.gid()));
    assert_eq!(
        ours.permissions().mode() & 0o7777,
        docker.permissions().mode() & 0o7777
    );
}

#[test]
fn unreachable_daemon_is_a_502_not_a_hang() {
    if !prerequisites() {
        return;
    }
    let dir = e2e::proxy::TempDir::new("proxy-nodaemon");
    let missing = format!("unix://{}", dir.join("no-docker.sock").display());
    // Plain pass-through: the weave hooks refuse to start without a daemon socket.
    let p = Proxy::start(&["--docker", &missing, "--no-weave"]);
    let out = p.docker(&["ps"]);
    assert!(!out.status.success());
    assert_ne!(out.status.code(), Some(124), "the CLI hung");
    let err = e2e::proxy::stderr(&out);
    assert!(
        err.contains("cannot connect to the Docker daemon at") && err.contains("no-docker.sock"),
        "{err}"
    );
}
