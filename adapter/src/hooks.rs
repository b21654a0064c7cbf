//! The powerstrip adapter: one envelope in, one envelope out (DESIGN §3, §5, §6).
//!
//! Pre-hook on `POST /containers/create`: the create rewrite, reading the image only when
//! the merge needs it. Post-hook on `POST /containers/<id>/start|restart` answered 2xx
//! (not 304): attach, killing the container when that fails. Everything else, and every
//! error, is answered with the unchanged echo: powerstrip must never hang the client.

use std::sync::Arc;

use serde_json::Value;

use crate::attach::container::{Attacher, OnFailure, Outcome};
use crate::docker;
use crate::protocol::{self, ClientRequest, Hook, ServerResponse};
use crate::rewrite::{self, Rewrite, RewriteConfig};

/// The adapter's state: the rewrite settings and the attacher (which holds the Docker
/// client).
#[derive(Debug, Clone)]
pub struct Adapter {
    /// W and the volume container.
    pub rewrite: RewriteConfig,
    /// Attaches containers on post-hooks.
    pub attacher: Arc<Attacher>,
}

impl Adapter {
    /// Answers one envelope (the POST body from powerstrip) with the envelope to send back
    /// with status 200. Never fails: errors are logged and answered with the echo.
    pub async fn handle(&self, envelope: &[u8]) -> Vec<u8> {
        let parsed = protocol::parse_envelope(envelope).map(|e| {
            if let Some(why) = &e.version_problem {
                tracing::error!("{why}");
            }
            e.hook
        });
        match parsed {
            Ok(Hook::Pre(req)) => {
                let body = self.pre_hook(&req).await;
                protocol::pre_answer(&req, body.as_deref().or(req.body.as_deref()))
            }
            Ok(Hook::Post { request, response }) => {
                let response = self.post_hook(&request, response).await;
                protocol::post_answer(&response)
            }
            Err(e) => {
                tracing::error!("{e}; answered with a 200 echo of what could be read");
                e.fallback
            }
        }
    }

    /// The rewritten body, or `None` to send the original bytes.
    async fn pre_hook(&self, req: &ClientRequest) -> Option<String> {
        if !protocol::is_create(&req.method, &req.request) {
            return None;
        }
        let text = req.body.as_deref()?;
        let create: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(request = %req.request, "create body is not JSON ({e}); passed through");
                return None;
            }
        };
        if !rewrite::in_scope(&create, &self.rewrite) {
            // No attach follows for it (the attacher has the same scope): leave it alone
            // rather than make it wait forever, and don't inspect its image.
            return None;
        }
        let image = match rewrite::image_needed(&create) {
            None => None,
            Some(name) => match docker::image_config(self.attacher.docker(), &name).await {
                Ok(Some(config)) => Some(config),
                Ok(None) => {
                    // The CLI pulls on Docker's 404 and retries; the retry is rewritten.
                    tracing::info!(image = %name, "image not present locally; create passed through");
                    return None;
                }
                Err(e) => {
                    tracing::error!(image = %name, "cannot inspect image: {e}; create passed through");
                    return None;
                }
            },
        };
        match rewrite::rewrite(create, image.as_ref(), &self.rewrite) {
            Ok(Rewrite::PassThrough) => None,
            Ok(Rewrite::Rewritten { body, cidr }) => {
                if let Err(e) = cidr {
                    tracing::warn!(request = %req.request, "{e}; the waiter will refuse to start it");
                }
                Some(format!("{body}\n"))
            }
            Err(e) => {
                // Docker then answers the same error itself ("No command specified").
                tracing::warn!(request = %req.request, "create not rewritten: {e}");
                None
            }
        }
    }

    async fn post_hook(&self, req: &ClientRequest, response: ServerResponse) -> ServerResponse {
        let Some(name) = protocol::start_target(&req.method, &req.request) else {
            return response;
        };
        if !(200..300).contains(&response.code) || response.code == 304 {
            return response;
        }
        match self.attacher.attach(&name, OnFailure::KillContainer).await {
            Ok(Outcome::Attached(_)) | Ok(Outcome::Skipped(_)) => response,
            Err(e) => ServerResponse {
                body: serde_json::json!({"message": e.to_string()}).to_string(),
                ..response
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attach::command::Command;
    use serde_json::json;

    /// An adapter whose Docker daemon does not exist: any call to it fails, so these tests
    /// prove which paths never talk to Docker and that failures still answer.
    fn offline() -> Adapter {
        // Port 1 on the loopback: connection refused at once.
        let docker = bollard::Docker::connect_with_http(
            "http://127.0.0.1:1",
            5,
            bollard::API_DEFAULT_VERSION,
        )
        .unwrap();
        let backend = Arc::new(Command::new("/bin/false".into()));
        Adapter {
            rewrite: RewriteConfig::default(),
            attacher: Arc::new(Attacher::new(
                docker,
                backend,
                rewrite::DEFAULT_WAITER.into(),
                None,
            )),
        }
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
        assert_eq!(sent["Entrypoint"], json!([rewrite::DEFAULT_WAITER, "/a"]));
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
        let adapter = Adapter {
            rewrite: RewriteConfig {
                label: Some(("nc".into(), "2".into())),
                ..RewriteConfig::default()
            },
            ..offline()
        };
        let body = "{\"Env\":[\"WEAVE_CIDR=10.2.1.1/24\"],\"Entrypoint\":[\"/a\"]}\n";
        let answer = adapter
            .handle(&pre("/v1.41/containers/create", Some(body)))
            .await;
        assert_eq!(answered_body(&answer), json!(body));
        let labelled = "{\"Env\":[\"WEAVE_CIDR=10.2.1.1/24\"],\"Entrypoint\":[\"/a\"],\"Labels\":{\"nc\":\"2\"}}";
        let answer = adapter
            .handle(&pre("/v1.41/containers/create", Some(labelled)))
            .await;
        let sent: Value = serde_json::from_str(answered_body(&answer).as_str().unwrap()).unwrap();
        assert_eq!(sent["Entrypoint"], json!([rewrite::DEFAULT_WAITER, "/a"]));
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
}
