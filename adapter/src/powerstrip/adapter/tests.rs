use std::sync::Arc;

use serde_json::{json, Value};

use super::*;
use crate::addr::Addr;
use crate::attach::attacher::Attacher;
use crate::attach::command::Command;
use crate::policy::rewrite::{RewriteConfig, DEFAULT_WAITER};
use crate::policy::Scope;

/// An adapter whose Docker daemon does not exist: any call to it fails, so these tests
/// prove which paths never talk to Docker and that failures still answer.
fn offline() -> PowerstripAdapter {
    offline_in(Scope::default())
}

fn offline_in(scope: Scope) -> PowerstripAdapter {
    // Port 1 on the loopback: connection refused at once.
    let docker = crate::docker::client(&Addr::Tcp {
        host: "127.0.0.1".into(),
        port: 1,
    })
    .unwrap();
    let backend = Arc::new(Command::new("/bin/false".into()));
    let attacher = Attacher::new(docker, backend, RewriteConfig::default(), scope);
    PowerstripAdapter::new(WeaveHooks::new(Arc::new(attacher)))
}

fn pre(request: &str, body: Option<&str>) -> Vec<u8> {
    json!({"Type": "pre-hook", "PowerstripProtocolVersion": 1,
           "ClientRequest": {"Method": "POST", "Request": request, "Body": body}})
    .to_string()
    .into_bytes()
}

fn answered_body(answer: &[u8]) -> Value {
    let a: Value = serde_json::from_slice(answer).unwrap();
    a["ModifiedClientRequest"]["Body"].clone()
}

#[tokio::test]
async fn create_with_entrypoint_is_rewritten_without_docker() {
    let body = "{\"Env\":[\"WEAVE_CIDR=10.2.1.1/24\"],\"Entrypoint\":[\"/a\"],\"X\":1.50}\n";
    let answer = offline()
        .handle(&pre("/v1.41/containers/create?name=x", Some(body)))
        .await;
    let text = answered_body(&answer);
    let sent: Value = serde_json::from_str(text.as_str().unwrap()).unwrap();
    assert_eq!(sent["Entrypoint"], json!([DEFAULT_WAITER, "/a"]));
    assert_eq!(sent["HostConfig"]["VolumesFrom"], json!(["weavewait:ro"]));
    assert!(text.as_str().unwrap().contains("\"X\":1.50"));
}

#[tokio::test]
async fn other_creates_are_echoed_byte_for_byte() {
    for body in [
        "{\"Env\":[\"WEAVE_CIDR=none\"],\"Entrypoint\":null}\n",
        "{\"Env\":null , \"Cmd\":[\"x\"]}\n",
        "not json at all",
        // Needs the image, and the daemon is unreachable: passed through, logged.
        "{\"Env\":[\"WEAVE_CIDR=10.2.1.1/24\"],\"Image\":\"x\"}\n",
        // No command anywhere: Docker says "No command specified" itself.
        "{\"Env\":[\"WEAVE_CIDR=1.2.3.4/8\"],\"Entrypoint\":[\"\"]}\n",
    ] {
        let answer = offline()
            .handle(&pre("/v1.41/containers/create", Some(body)))
            .await;
        assert_eq!(answered_body(&answer), json!(body), "{body}");
    }
}

#[tokio::test]
async fn a_scoped_adapter_echoes_unlabelled_creates_byte_for_byte() {
    let adapter = offline_in("nc=2".parse().unwrap());
    let body = "{\"Env\":[\"WEAVE_CIDR=10.2.1.1/24\"],\"Entrypoint\":[\"/a\"]}\n";
    let answer = adapter
        .handle(&pre("/v1.41/containers/create", Some(body)))
        .await;
    assert_eq!(answered_body(&answer), json!(body));
    let labelled =
        "{\"Env\":[\"WEAVE_CIDR=10.2.1.1/24\"],\"Entrypoint\":[\"/a\"],\"Labels\":{\"nc\":\"2\"}}";
    let answer = adapter
        .handle(&pre("/v1.41/containers/create", Some(labelled)))
        .await;
    let sent: Value = serde_json::from_str(answered_body(&answer).as_str().unwrap()).unwrap();
    assert_eq!(sent["Entrypoint"], json!([DEFAULT_WAITER, "/a"]));
}

#[tokio::test]
async fn null_bodies_are_echoed_as_null() {
    for request in ["/v1.41/containers/create", "/v1.41/containers/web-5/start"] {
        let answer = offline().handle(&pre(request, None)).await;
        assert_eq!(answered_body(&answer), Value::Null);
    }
}

fn post(request: &str, code: u16) -> Vec<u8> {
    json!({"Type": "post-hook", "PowerstripProtocolVersion": 1,
           "ClientRequest": {"Method": "POST", "Request": request, "Body": null},
           "ServerResponse": {"Body": "docker said", "Code": code, "ContentType": "text/plain"}})
    .to_string()
    .into_bytes()
}

fn answered_response(answer: &[u8]) -> Value {
    let a: Value = serde_json::from_slice(answer).unwrap();
    a["ModifiedServerResponse"].clone()
}

#[tokio::test]
async fn failed_or_unchanged_starts_are_not_attached() {
    // An attach attempt would fail (no daemon) and change the Body: these must not try.
    for (request, code) in [
        ("/v1.41/containers/web-5/start", 304),
        ("/v1.41/containers/web-5/start", 404),
        ("/v1.41/containers/web-5/start", 500),
        ("/v1.41/containers/web-5/stop", 204),
        ("/v1.41/containers/create", 201),
    ] {
        let answer = offline().handle(&post(request, code)).await;
        let r = answered_response(&answer);
        assert_eq!(r["Body"], "docker said", "{request} {code}");
        assert_eq!(r["Code"], code);
        assert_eq!(r["ContentType"], "text/plain");
    }
}

#[tokio::test]
async fn a_started_container_that_cannot_be_resolved_reports_the_error() {
    let answer = offline()
        .handle(&post("/v1.41/containers/web-5/start", 204))
        .await;
    let r = answered_response(&answer);
    let body: Value = serde_json::from_str(r["Body"].as_str().unwrap()).unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("cannot inspect container web-5"),
        "{message}"
    );
    assert_eq!(r["Code"], 204);
}

/// Collects what the adapter logs while `f` runs on this thread.
async fn logged<F: std::future::Future<Output = Vec<u8>>>(f: F) -> (Vec<u8>, String) {
    #[derive(Clone, Default)]
    struct Sink(Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    let answer = f.await;
    drop(guard);
    let text = String::from_utf8_lossy(&sink.0.lock().unwrap()).into_owned();
    (answer, text)
}

#[tokio::test]
async fn another_protocol_version_is_answered_and_logged() {
    let envelope = json!({"Type": "pre-hook", "PowerstripProtocolVersion": 2,
           "ClientRequest": {"Method": "GET", "Request": "/v1.41/info", "Body": null}});
    let (answer, log) = logged(offline().handle(envelope.to_string().as_bytes())).await;
    let a: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(a["ModifiedClientRequest"]["Request"], "/v1.41/info");
    assert!(log.contains("ERROR"), "{log}");
    assert!(log.contains("PowerstripProtocolVersion 2"), "{log}");
    assert!(log.contains("we speak version 1"), "{log}");

    let (_, log) = logged(offline().handle(b"not json")).await;
    assert!(log.contains("ERROR"), "{log}");
    assert!(log.contains("not JSON"), "{log}");
    assert!(log.contains("\"not json\""), "{log}");
}

#[tokio::test]
async fn malformed_envelopes_get_the_fallback() {
    let answer = offline().handle(b"{\"Type\":").await;
    let a: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(a["PowerstripProtocolVersion"], 1);
    assert!(a["ModifiedServerResponse"]["Body"].is_string());
}
