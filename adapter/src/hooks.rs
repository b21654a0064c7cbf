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
        match protocol::parse(envelope) {
            Ok(Hook::Pre(req)) => {
                let body = self.pre_hook(&req).await;
                protocol::pre_answer(&req, body.as_deref().or(req.body.as_deref()))
            }
            Ok(Hook::Post { request, response }) => {
                let response = self.post_hook(&request, response).await;
                protocol::post_answer(&response)
            }
            Err(e) => {
                tracing::error!("{e}; answering with the unchanged echo");
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
