//! Our powerstrip adapter: one envelope in, one envelope out (docs/design.md §3, §5, §6).
//!
//! Pre-hook on a create: the create decision, mapped to the body Docker gets; a refusal
//! sends what [`Refusal::instead`] says (powerstrip cannot carry an error). Post-hook on a
//! start or restart Docker answered 2xx (not 304): attach, killing the container when that
//! fails, and the error replaces Docker's body. Everything else, and every error, is
//! answered with the unchanged echo: powerstrip must never hang the client.
//!
//! The protocol side is pure: [`step`] reads an envelope and says what the hooks must do
//! before it can be answered, [`answer_create`] and [`answer_started`] build the answer
//! from what they did; [`PowerstripAdapter::handle`] runs the hooks in between.

use serde_json::json;

use super::envelope::{self, ClientRequest, Hook, ServerResponse};
use crate::hooks::WeaveHooks;
use crate::policy::create::{Decision, Instead, Refusal, RefusalKind};
use crate::policy::route::{self, Route};

/// The powerstrip adapter: the weave hooks behind the protocol.
#[derive(Debug)]
pub struct PowerstripAdapter {
    hooks: WeaveHooks,
}

impl PowerstripAdapter {
    /// An adapter running `hooks`.
    pub fn new(hooks: WeaveHooks) -> PowerstripAdapter {
        PowerstripAdapter { hooks }
    }

    /// Answers one envelope (the POST body from powerstrip) with the envelope to send back
    /// with status 200. Never fails: errors are logged and answered with the echo.
    pub async fn handle(&self, envelope: &[u8]) -> Vec<u8> {
        match step(envelope) {
            Step::Answer(answer) => answer,
            Step::Create { request, body } => {
                let decision = self.hooks.create(body.as_bytes()).await;
                answer_create(&request, decision)
            }
            Step::Attach {
                container,
                response,
            } => {
                let attached = self
                    .hooks
                    .started(&container)
                    .await
                    .map_err(|failed| failed.message);
                answer_started(response, attached)
            }
        }
    }
}

/// What one envelope needs from the hooks before it can be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing: answer with this envelope (the echo, or the fallback of one we cannot
    /// read).
    Answer(Vec<u8>),
    /// The pre-hook of a create with a body: decide on `body`
    /// ([`WeaveHooks::create`]), then answer with [`answer_create`].
    Create {
        /// The client's request, echoed in the answer.
        request: ClientRequest,
        /// The client's body.
        body: String,
    },
    /// The post-hook of a start or restart Docker answered with a 2xx other than 304:
    /// attach `container` ([`WeaveHooks::started`]), then answer with [`answer_started`].
    Attach {
        /// The container as named in the request path.
        container: String,
        /// Docker's answer.
        response: ServerResponse,
    },
}

/// Reads one envelope: what the hooks must do for it, if anything. Logs an envelope it
/// cannot read and a protocol version other than ours (both are answered all the same).
pub fn step(envelope: &[u8]) -> Step {
    let hook = match envelope::parse_envelope(envelope) {
        Ok(e) => {
            if let Some(why) = &e.version_problem {
                tracing::error!("{why}");
            }
            e.hook
        }
        Err(e) => {
            tracing::error!("{e}; answered with a 200 echo of what could be read");
            return Step::Answer(e.fallback);
        }
    };
    match hook {
        Hook::Pre(request) => match &request.body {
            Some(body) if route::classify(&request.method, &request.request) == Route::Create => {
                Step::Create {
                    body: body.clone(),
                    request,
                }
            }
            _ => Step::Answer(envelope::pre_answer(&request, request.body.as_deref())),
        },
        Hook::Post { request, response } => {
            let route = route::classify(&request.method, &request.request);
            match route.started_container() {
                Some(container) if route::attach_after(response.code) => Step::Attach {
                    container: container.to_string(),
                    response,
                },
                _ => Step::Answer(envelope::post_answer(&response)),
            }
        }
    }
}

/// The pre-hook answer to a create `request` the hooks decided on: the body Docker gets
/// (the client's own unless the decision sends another).
pub fn answer_create(request: &ClientRequest, decision: Decision) -> Vec<u8> {
    let body = match decision {
        // Powerstrip gives the client no warning of ours: the hooks logged it.
        Decision::Pass | Decision::Ignore(_) => None,
        Decision::Rewrite(body) => Some(body),
        Decision::Refuse(refusal) => {
            log_refusal(&request.request, &refusal);
            match refusal.instead {
                Instead::Original => None,
                Instead::Rewritten(body) => Some(body),
            }
        }
    };
    envelope::pre_answer(request, body.as_deref().or(request.body.as_deref()))
}

/// The post-hook answer once the started container was attached, or not: a failure
/// (the container has been killed) replaces Docker's body with `{"message": …}`.
pub fn answer_started(response: ServerResponse, attached: Result<(), String>) -> Vec<u8> {
    let response = match attached {
        Ok(()) => response,
        Err(message) => ServerResponse {
            body: json!({ "message": message }).to_string(),
            ..response
        },
    };
    envelope::post_answer(&response)
}

/// What a refused create comes to without an error to send, at the level the operator
/// needs: an unreadable image is ours to fix, a missing one is pulled by the CLI.
fn log_refusal(request: &str, r: &Refusal) {
    let then = match (&r.instead, r.kind) {
        (Instead::Original, _) => "create passed through",
        (Instead::Rewritten(_), RefusalKind::InvalidCidr) => "the waiter will refuse to start it",
        (Instead::Rewritten(_), RefusalKind::AddressHeld) => {
            "the attach at start will stop it if the address is still held then"
        }
        (Instead::Rewritten(_), _) => "the attach at start will fail and kill it",
    };
    match r.kind {
        RefusalKind::NoSuchImage => tracing::info!(request, "{}; {then}", r.message),
        RefusalKind::ImageUnreadable => tracing::error!(request, "{}; {then}", r.message),
        _ => tracing::warn!(request, "{}; {then}", r.message),
    }
}

#[cfg(test)]
mod tests;
