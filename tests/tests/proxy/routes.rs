//! Creates the docker CLI never sends, judged as the daemon reads them (docs/design.md §3):
//! a create routed by its percent-decoded path, a body with text after its JSON value, a
//! key the daemon folds to NetworkMode, and a field given under two spellings. Sent raw on
//! the proxy's socket; the daemon's own answer and `docker inspect` say what it made of
//! each.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use e2e::docker::{docker_ok, unique, Cleanup};
use e2e::proxy::busybox_image;

use super::fixture::{Net, WAITER};

/// `POST target` with `body` as JSON on the proxy's socket `sock`: the status and the
/// response body.
fn post(sock: &str, target: &str, body: &[u8]) -> (u16, String) {
    let mut conn = UnixStream::connect(sock).expect("connect to the proxy");
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let head = format!(
        "POST {target} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(body).unwrap();
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).expect("the proxy answers");
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {answer:?}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

/// A create body asking for `cidr`, in the test's label scope, whose app prints its
/// address (or that it has none).
fn create_body(net: &Net, cidr: &str) -> serde_json::Value {
    let (key, value) = net.label.split_once('=').unwrap();
    serde_json::json!({
        "Image": busybox_image(),
        "Cmd": ["sh", "-c", "ip -4 -o addr show ethwe || echo NO-ETHWE"],
        "Env": [format!("WEAVE_CIDR={cidr}")],
        "Labels": { key: value },
    })
}

fn entrypoint(name: &str) -> String {
    docker_ok(&["inspect", "-f", "{{json .Config.Entrypoint}}", name])
}

#[test]
fn creates_routed_by_their_decoded_path_or_read_past_their_end_are_rewritten() {
    let Some(net) = Net::setup() else { return };
    let p = net.proxy(&[], "info");
    let sock = p.host.strip_prefix("unix://").unwrap().to_string();
    let mut cleanup = Cleanup::default();
    let cases: [(&str, &[u8]); 3] = [
        ("/v1.41/containers%2Fcreate", b""),
        ("/%761.41/containers/cre%61te", b""),
        ("/v1.41/containers/create", b" and text after the body"),
    ];
    for (i, (path, tail)) in cases.iter().enumerate() {
        let name = cleanup.add(unique("route"));
        let cidr = format!("10.79.0.{}/24", 10 + i);
        let body = [create_body(&net, &cidr).to_string().as_bytes(), tail].concat();
        let (status, answer) = post(&sock, &format!("{path}?name={name}"), &body);
        assert_eq!(status, 201, "{path}: {answer}");
        let ep = entrypoint(&name);
        assert!(ep.starts_with(&format!("[\"{WAITER}\"")), "{path}: {ep}");
        let out = p.docker_ok(&["start", "-a", &name]);
        let addr = cidr.split('/').next().unwrap();
        assert!(
            out.contains(&format!("inet {addr}/24")),
            "{path}: the app saw {out:?}"
        );
    }
}

#[test]
fn a_folded_key_and_a_field_under_two_spellings_are_read_as_the_daemon_reads_them() {
    let Some(net) = Net::setup() else { return };
    let p = net.proxy(&[], "info");
    let sock = p.host.strip_prefix("unix://").unwrap().to_string();
    let mut cleanup = Cleanup::default();

    // U+212A KELVIN SIGN folds to k: the daemon puts the container on the host's network,
    // so it is not ours and goes through untouched.
    let name = cleanup.add(unique("route-kelvin"));
    let mut body = create_body(&net, "10.79.1.10/24");
    body["HostConfig"] = serde_json::json!({ "Networ\u{212A}Mode": "host" });
    let (status, answer) = post(
        &sock,
        &format!("/containers/create?name={name}"),
        body.to_string().as_bytes(),
    );
    assert_eq!(status, 201, "{answer}");
    assert_eq!(
        docker_ok(&["inspect", "-f", "{{.HostConfig.NetworkMode}}", &name]),
        "host"
    );
    assert_eq!(entrypoint(&name), "null");

    // Env and env, which the daemon merges: refused, naming the field, nothing created.
    let name = cleanup.add(unique("route-env"));
    let mut body = create_body(&net, "10.79.1.11/24");
    let env = body["Env"].take();
    body["Env"] = serde_json::json!(["A=1"]);
    body["env"] = env;
    let (status, answer) = post(
        &sock,
        &format!("/containers/create?name={name}"),
        body.to_string().as_bytes(),
    );
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer.contains("Env under several spellings") && answer.contains("\\\"env\\\""),
        "{answer}"
    );
    let listed = docker_ok(&["ps", "-a", "-q", "--filter", &format!("name=^{name}$")]);
    assert_eq!(listed, "", "nothing created");
}
