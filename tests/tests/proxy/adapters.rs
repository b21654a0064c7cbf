//! External powerstrip adapters chained by the proxy from an `adapters.yml`: envelopes as
//! powerstrip sends them, rewrites applied in order, and every adapter failure (unreachable,
//! silent, nonsense) a prompt 502 instead of powerstrip's hang.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use e2e::docker::{unique, Cleanup};
use e2e::proxy::{busybox_image, prerequisites, stderr, Proxy};
use serde_json::Value;

/// How the test adapter answers.
#[derive(Clone, Copy)]
enum Mode {
    /// A valid answer built by the test's function.
    Answer(fn(&Value) -> Value),
    /// Accept, read, never answer.
    Silent,
    /// Answer 200 with a body that is not an envelope.
    Garbage,
}

/// A powerstrip adapter on 127.0.0.1 that records every envelope it receives.
struct Adapter {
    port: u16,
    seen: Arc<Mutex<Vec<Value>>>,
}

impl Adapter {
    fn start(mode: Mode) -> Adapter {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let log = log.clone();
                std::thread::spawn(move || serve(conn, mode, &log));
            }
        });
        Adapter { port, seen }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/v1/extension", self.port)
    }

    fn seen(&self) -> Vec<Value> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(conn: TcpStream, mode: Mode, log: &Mutex<Vec<Value>>) {
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let l = line.trim_end().to_ascii_lowercase();
        if l.is_empty() {
            break;
        }
        if let Some(v) = l.strip_prefix("content-length:") {
            len = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    let envelope: Value = serde_json::from_slice(&body).expect("the proxy sent JSON");
    log.lock().unwrap().push(envelope.clone());
    let answer = match mode {
        Mode::Answer(f) => serde_json::to_vec(&f(&envelope)).unwrap(),
        Mode::Silent => {
            std::thread::sleep(Duration::from_secs(15));
            return;
        }
        Mode::Garbage => b"<html>not an envelope</html>".to_vec(),
    };
    let mut conn = conn;
    let _ = write!(
        conn,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        answer.len()
    );
    let _ = conn.write_all(&answer);
}

/// Pre-hook: add a label to the create body. Post-hook: echo the body.
fn label_create(env: &Value) -> Value {
    let req = &env["ClientRequest"];
    if env["Type"] == "pre-hook" {
        let mut body: Value = serde_json::from_str(req["Body"].as_str().unwrap()).unwrap();
        body["Labels"]["chained"] = Value::from("yes");
        serde_json::json!({"PowerstripProtocolVersion": 1, "ModifiedClientRequest": {
            "Method": req["Method"], "Request": req["Request"], "Body": body.to_string()}})
    } else {
        serde_json::json!({"PowerstripProtocolVersion": 1,
            "ModifiedServerResponse": env["ServerResponse"].clone()})
    }
}

/// Post-hook on GET /version: change the reported server version.
fn rename_version(env: &Value) -> Value {
    let mut body: Value =
        serde_json::from_str(env["ServerResponse"]["Body"].as_str().unwrap()).unwrap();
    body["Version"] = Value::from("chained-version");
    serde_json::json!({"PowerstripProtocolVersion": 1, "ModifiedServerResponse": {
        "ContentType": "application/json", "Code": 200, "Body": body.to_string()}})
}

fn with_adapters(yaml: &str, extra: &[&str]) -> Proxy {
    let dir = e2e::proxy::TempDir::new("proxy-adapters");
    let path = dir.join("adapters.yml");
    std::fs::write(&path, yaml).unwrap();
    let path = path.to_string_lossy().to_string();
    let mut args = vec!["--adapters", path.as_str()];
    args.extend_from_slice(extra);
    let p = Proxy::start(&args);
    // The proxy has read the file; the directory can go.
    drop(dir);
    p
}

#[test]
fn pre_and_post_hooks_chain_like_powerstrip() {
    if !prerequisites() {
        return;
    }
    let a = Adapter::start(Mode::Answer(label_create));
    let v = Adapter::start(Mode::Answer(rename_version));
    let p = with_adapters(
        &format!(
            "version: 1\nendpoints:\n  \"POST /*/containers/create\":\n    pre: [label]\n    post: [label]\n  \
             \"GET /*/version\":\n    post: [version]\nadapters:\n  label: {}\n  version: {}\n",
            a.url(),
            v.url()
        ),
        &[],
    );
    let mut c = Cleanup::default();
    let name = c.add(unique("proxy-chain"));
    let image = busybox_image();
    p.docker_ok(&["create", "--name", &name, image, "true"]);
    let label = p.docker_ok(&["inspect", "--format", "{{.Config.Labels.chained}}", &name]);
    assert_eq!(label, "yes", "the pre-hook's body did not reach Docker");

    let seen = a.seen();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    let pre = &seen[0];
    assert_eq!(pre["Type"], "pre-hook");
    assert_eq!(pre["PowerstripProtocolVersion"], 1);
    assert_eq!(pre["ClientRequest"]["Method"], "POST");
    let request = pre["ClientRequest"]["Request"].as_str().unwrap();
    assert!(
        request.ends_with(&format!("/containers/create?name={name}")),
        "{request}"
    );
    let body = pre["ClientRequest"]["Body"].as_str().unwrap();
    assert!(
        body.ends_with('\n'),
        "the CLI's raw body, trailing newline included"
    );
    let post = &seen[1];
    assert_eq!(post["Type"], "post-hook");
    assert_eq!(post["ServerResponse"]["Code"], 201);
    assert_eq!(post["ServerResponse"]["ContentType"], "application/json");
    // Post-hooks see the client's original request, not the rewritten one.
    assert!(!post["ClientRequest"]["Body"]
        .as_str()
        .unwrap()
        .contains("chained"));

    let version = p.docker_ok(&["version", "--format", "{{.Server.Version}}"]);
    assert_eq!(version, "chained-version");
    // Requests no endpoint matches never reach an adapter.
    p.docker_ok(&["ps", "-a", "--filter", &format!("name={name}")]);
    assert_eq!(a.seen().len(), 2);
}

fn assert_prompt_502(p: &Proxy, needle: &str, bound: Duration) {
    let started = Instant::now();
    let out = p.docker(&["create", busybox_image(), "true"]);
    let took = started.elapsed();
    let err = stderr(&out);
    assert!(
        !out.status.success(),
        "create succeeded despite the adapter"
    );
    assert_ne!(out.status.code(), Some(124), "the CLI hung");
    assert!(err.contains(needle), "stderr {err:?} lacks {needle:?}");
    assert!(took < bound, "took {took:?}");
}

fn one_pre_hook(url: &str) -> String {
    format!(
        "endpoints:\n  \"POST /*/containers/create\":\n    pre: [bad]\nadapters:\n  bad: {url}\n"
    )
}

#[test]
fn unreachable_adapter_is_a_502() {
    if !prerequisites() {
        return;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let p = with_adapters(&one_pre_hook(&format!("http://127.0.0.1:{port}/x")), &[]);
    assert_prompt_502(
        &p,
        "is unreachable for the pre-hook",
        Duration::from_secs(30),
    );
}

#[test]
fn silent_adapter_times_out_as_a_502() {
    if !prerequisites() {
        return;
    }
    let a = Adapter::start(Mode::Silent);
    let p = with_adapters(&one_pre_hook(&a.url()), &["--adapter-timeout", "1"]);
    assert_prompt_502(
        &p,
        "did not answer the pre-hook within 1 s",
        Duration::from_secs(30),
    );
    assert_eq!(a.seen().len(), 1);
}

#[test]
fn nonsense_answer_is_a_502() {
    if !prerequisites() {
        return;
    }
    let a = Adapter::start(Mode::Garbage);
    let p = with_adapters(&one_pre_hook(&a.url()), &[]);
    assert_prompt_502(&p, "gave a bad pre-hook answer", Duration::from_secs(30));
}

#[test]
fn bad_adapters_file_is_refused_at_start() {
    if !prerequisites() {
        return;
    }
    let dir = e2e::proxy::TempDir::new("proxy-badyml");
    let path = dir.join("adapters.yml");
    std::fs::write(
        &path,
        "endpoints:\n  \"GET *\":\n    pre: [nope]\nadapters: {}\n",
    )
    .unwrap();
    let sock = dir.join("p.sock");
    let out = std::process::Command::new("timeout")
        .arg("20")
        .arg(e2e::proxy::binary())
        .arg("proxy")
        .arg("--listen")
        .arg(format!("unix://{}", sock.display()))
        .arg("--adapters")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("\"nope\", which is not defined"), "{err}");
}
