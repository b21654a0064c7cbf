//! The powerstrip adapter's own bounds and its attaches' independence from the client:
//! - powerstrip hanging up during a start's post-hook does not cut the attach short (it
//!   runs in a task of its own): the container gets its network, nothing is killed;
//! - a request head and an envelope that stop midway are bounded (`header`, `body` of
//!   `POWERSTRIP_WEAVE_BOUNDS`): the connection is closed, the envelope answered.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use serde_json::json;

use e2e::adapter::{http, prerequisites, Adapter, API};
use e2e::docker::unique;
use e2e::netns::eventually;
use e2e::proxy::TempDir;

#[test]
fn a_client_hanging_up_during_the_post_hook_does_not_cut_the_attach() {
    if !prerequisites() {
        return;
    }
    let dir = TempDir::new("adapter-hangup");
    let bridge_file = dir.join("bridge");
    let pids = dir.join("pids");
    // `tool attach <items…> <id>`: records its pid, takes 2 s, then the native attach on
    // the adapter's bridge (known once the adapter runs).
    let tool = dir.join("attach-tool");
    std::fs::write(
        &tool,
        format!(
            "#!/bin/sh\necho $$ >>{pids}\ni=0\nwhile [ $i -lt 20 ]; do sleep 0.1; i=$((i+1)); done\n\
             shift\nexec {bin} attach --bridge \"$(cat {bridge})\" --no-firewall \"$@\"\n",
            pids = pids.display(),
            bridge = bridge_file.display(),
            bin = e2e::proxy::binary().display(),
        ),
    )
    .unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    let backend = format!("command:{}", tool.display());
    let mut a = Adapter::start(&["--no-events", "--attach", &backend]);
    std::fs::write(&bridge_file, &a.bridge).unwrap();
    let name = unique("hangup");
    let cidr = "10.255.0.111/24";
    let app = format!(
        "echo RUN-$(ip -4 -o addr show ethwe 2>/dev/null | grep -c 'inet {cidr} '); exec sleep 300"
    );
    let body = a.create_body(
        &[&format!("WEAVE_CIDR={cidr}")],
        &["sh", "-c", &app],
        "default",
    );
    let (code, resp) = a.create(&name, &body);
    assert_eq!(code, 201, "{resp}");
    let path = format!("{API}/containers/{name}/start");
    let (code, resp) = http(a.conn(), "POST", &path, None);
    assert_eq!(code, 204, "{resp}");

    // The post-hook, from a client that hangs up once the attach began.
    let envelope = json!({
        "Type": "post-hook", "PowerstripProtocolVersion": 1,
        "ClientRequest": {"Method": "POST", "Request": path, "Body": null},
        "ServerResponse": {"Body": "", "Code": 204, "ContentType": null},
    })
    .to_string();
    let mut s = TcpStream::connect(a.addr).unwrap();
    write!(
        s,
        "POST /powerstrip HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{envelope}",
        envelope.len()
    )
    .unwrap();
    assert!(
        eventually(Duration::from_secs(30), || pids.exists()),
        "the attach never began:\n{}",
        a.log_text()
    );
    drop(s);

    let logs = |a: &Adapter| e2e::output_text(&a.docker(&["logs", &name]));
    assert!(
        eventually(Duration::from_secs(30), || logs(&a).contains("RUN-")),
        "the attach was cut short with its client:\n{}",
        a.log_text()
    );
    assert_eq!(logs(&a).trim(), "RUN-1");
    let log = a.log_text();
    assert!(log.contains(&format!("attached container {name}")), "{log}");
    assert!(!log.contains("so it never runs unnetworked"), "{log}");
}

/// The first bytes that come on `s` (a read interrupted by a signal is read again).
fn first_bytes(s: &mut impl Read) -> String {
    let mut buf = vec![0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(n) => return String::from_utf8_lossy(&buf[..n]).to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => panic!("no answer: {e}"),
        }
    }
}

#[test]
fn request_heads_and_envelopes_that_stop_midway_are_bounded() {
    if !prerequisites() {
        return;
    }
    let a = Adapter::start_env(&[("POWERSTRIP_WEAVE_BOUNDS", "header=1s,body=1s")], &[]);
    // Half a head: the connection is closed.
    let t = Instant::now();
    let mut s = TcpStream::connect(a.addr).unwrap();
    s.write_all(b"POST /powerstrip HTTP/1.1\r\nHost: lo")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut got = Vec::new();
    let n = s.read_to_end(&mut got).expect("closed, not left open");
    assert_eq!(n, 0, "{}", String::from_utf8_lossy(&got));
    let head_closed = t.elapsed();
    // Half an envelope: answered with the echo of what could be read, a 200 envelope.
    let t = Instant::now();
    let mut s = TcpStream::connect(a.addr).unwrap();
    s.write_all(
        b"POST /powerstrip HTTP/1.1\r\nHost: lo\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"Type\":",
    )
    .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let answer = first_bytes(&mut s);
    let body_answered = t.elapsed();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("PowerstripProtocolVersion"), "{answer}");
    assert!(
        a.log_text().contains("envelope not received within 1s"),
        "{}",
        a.log_text()
    );
    eprintln!(
        "adapter with header=1s,body=1s: half a head closed after {:.2} s, half an envelope \
         answered after {:.2} s",
        head_closed.as_secs_f64(),
        body_answered.as_secs_f64()
    );
}
