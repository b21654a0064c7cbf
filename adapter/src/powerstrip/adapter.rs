//! Our powerstrip adapter: one envelope in, one envelope out (docs/design.md §3, §5, §6).
//!
//! Pre-hook on a create: the create decision, mapped to the body Docker gets; a refusal
//! sends what [`Refusal::instead`] says (powerstrip cannot carry an error). Post-hook on a
//! start or restart Docker answered 2xx (not 304): attach, killing the container when that
//! fails, and the error replaces Docker's body. Everything else, and every error, is
//! answered with the unchanged echo: powerstrip must never hang the client.

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
        let parsed = envelope::parse_envelope(envelope).map(|e| {
            if let Some(why) = &e.version_problem {
                tracing::error!("{why}");
            }
            e.hook
        });
        match parsed {
            Ok(Hook::Pre(req)) => {
                let body = self.pre_hook(&req).await;
                envelope::pre_answer(&req, body.as_deref().or(req.body.as_deref()))
            }
            Ok(Hook::Post { request, response }) => {
                let response = self.post_hook(&request, response).await;
                envelope::post_answer(&response)
            }
            Err(e) => {
                tracing::error!("{e}; answered with a 200 echo of what could be read");
                e.fallback
            }
        }
    }

    /// The body Docker gets instead of the client's, or `None` for the client's own.
    async fn pre_hook(&self, req: &ClientRequest) -> Option<String> {
        if route::classify(&req.method, &req.request) != Route::Create {
            return None;
        }
        match self.hooks.create(req.body.as_deref()?.as_bytes()).await {
            // Powerstrip gives the client no warning of ours: the hooks logged it.
            Decision::Pass | Decision::Ignore(_) => None,
            Decision::Rewrite(body) => Some(body),
            Decision::Refuse(refusal) => {
                log_refusal(&req.request, &refusal);
                match refusal.instead {
                    Instead::Original => None,
                    Instead::Rewritten(body) => Some(body),
                }
            }
        }
    }

    async fn post_hook(&self, req: &ClientRequest, response: ServerResponse) -> ServerResponse {
        let route = route::classify(&req.method, &req.request);
        let Some(container) = route.started_container() else {
            return response;
        };
        if !route::attach_after(response.code) {
            return response;
        }
        match self.hooks.started(container).await {
            Ok(()) => response,
            Err(failed) => ServerResponse {
                body: json!({ "message": failed.message }).to_string(),
                ..response
            },
        }
    }
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
