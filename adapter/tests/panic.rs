//! A panic in one connection's or one attach's task ends that task only: the process logs
//! it and serves on. Driven through the debug build's fault hook (`POWERSTRIP_WEAVE_PANIC_ON`,
//! src/fault.rs), which release builds do not contain; release builds unwind like this one
//! (src/main.rs refuses to build otherwise).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The word that makes the fault hook panic.
const FAULT: &str = "boom";

/// A `powerstrip-weave` child with the fault hook armed, its stderr lines on a channel,
/// killed on drop.
struct Service {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Service {
    fn start(args: &[&str]) -> Service {
        let mut child = Command::new(env!("CARGO_BIN_EXE_powerstrip-weave"))
            .args(args)
            .env("RUST_LOG", "info")
            .env("POWERSTRIP_WEAVE_PANIC_ON", FAULT)
            // Nothing answers here: Docker calls fail at once.
            .env("DOCKER_HOST", "tcp://127.0.0.1:1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start powerstrip-weave");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Service {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (at most 30 s) for a log line containing `needle` and returns it.
    fn line_with(&mut self, needle: &str) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        loop {
            match self.lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!("no log line with {needle:?} in 30 s: {:#?}", self.seen),
            }
        }
    }

    fn assert_running(&mut self) {
        assert!(
            self.child.try_wait().expect("wait").is_none(),
            "the process ended: {:#?}",
            self.seen
        );
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `request` and reads until the peer closes; "" when it closed without answering.
fn exchange(mut stream: impl Read + Write, request: &str) -> String {
    stream.write_all(request.as_bytes()).expect("send");
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn post(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn the_proxy_serves_on_after_a_connection_task_panics() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let sock = dir.path().join("proxy.sock");
    let listen = format!("unix://{}", sock.display());
    let daemon = format!("unix://{}", dir.path().join("no-daemon.sock").display());
    let mut proxy = Service::start(&[
        "proxy",
        "--no-weave",
        "--listen",
        &listen,
        "--docker",
        &daemon,
    ]);
    proxy.line_with("proxy listening");
    let connect = |p: &Path| UnixStream::connect(p).expect("connect to the proxy");

    let get = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let answer = exchange(
        connect(&sock),
        &get(&format!("/v1.41/containers/{FAULT}/json")),
    );
    assert_eq!(answer, "", "the panicking connection was answered");
    let line = proxy.line_with("injected fault");
    assert!(
        line.contains("ERROR") && line.contains("serves on"),
        "{line}"
    );

    // Still serving: the daemon is absent, so the proxy's own 502 answers.
    let answer = exchange(connect(&sock), &get("/_ping"));
    assert!(answer.starts_with("HTTP/1.1 502"), "{answer}");
    proxy.assert_running();
}

#[test]
fn the_powerstrip_adapter_serves_on_after_connection_and_attach_tasks_panic() {
    let mut adapter = Service::start(&["adapter", "--listen", "127.0.0.1:0", "--no-events"]);
    let ready = adapter.line_with("powerstrip adapter ready");
    let addr = ready
        .split_whitespace()
        .find_map(|w| w.strip_prefix("listen="))
        .unwrap_or_else(|| panic!("no listen= in {ready}"))
        .to_string();
    let connect = || TcpStream::connect(&addr).expect("connect to the adapter");

    // A connection task panics: that connection ends unanswered.
    let answer = exchange(connect(), &post(&format!("/{FAULT}"), "{}"));
    assert_eq!(answer, "", "the panicking connection was answered");
    adapter.line_with(&format!("Request of /{FAULT}"));

    // An attach task panics: the post-hook is still answered, with the failure.
    let start = format!(
        r#"{{"Type":"post-hook","PowerstripProtocolVersion":1,
            "ClientRequest":{{"Method":"POST","Request":"/v1.41/containers/{FAULT}-1/start","Body":null}},
            "ServerResponse":{{"Body":"","Code":204,"ContentType":null}}}}"#
    );
    let answer = exchange(connect(), &post("/v1/extension", &start));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains(&format!(
            "was not given its network: the attach of container {FAULT}-1 failed: it panicked"
        )),
        "{answer}"
    );
    let line = adapter.line_with(&format!("Attach of {FAULT}-1"));
    assert!(line.contains("ERROR"), "{line}");

    // And serves on.
    let create = r#"{"Type":"pre-hook","PowerstripProtocolVersion":1,"ClientRequest":{"Method":"POST","Request":"/v1.41/containers/create","Body":null}}"#;
    let answer = exchange(connect(), &post("/v1/extension", create));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("ModifiedClientRequest"), "{answer}");
    adapter.assert_running();
}
