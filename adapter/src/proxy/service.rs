//! One client request through the proxy (docs/design.md §7), step by step: read what must
//! be looked at, the weave create decision, external pre-hooks, the daemon, an upgrade or
//! the attach before a start is answered, external post-hooks. Everything not looked at
//! streams.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Incoming;
use hyper::header::{
    HeaderMap, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING, UPGRADE,
};
use hyper::http::request::Parts;
use hyper::upgrade::OnUpgrade;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

use super::adapters::{AdaptersConfig, Hooks};
use super::answer::{error_response, full, refused};
use super::chain;
use super::upstream::{BoxError, ProxyBody, Upstream};
use crate::bounds;
use crate::fault;
use crate::hooks::WeaveHooks;
use crate::policy::create::{self, Decision};
use crate::policy::route::{self, Route};
use crate::powerstrip::envelope::{ClientRequest, ServerResponse};

/// Largest request or response body the proxy reads whole (create bodies, bodies shown to
/// adapters); anything else streams without a limit. Reading one is also bounded in time
/// ([`bounds::Bounds::body`]).
pub const MAX_BUFFERED: usize = 64 << 20;

/// What every connection of the proxy shares.
pub struct Shared {
    /// External adapters (empty: none).
    pub adapters: AdaptersConfig,
    /// Bound on one adapter call.
    pub hook_timeout: Duration,
    /// The in-process weave hooks; `None` with `--no-weave`.
    pub weave: Option<WeaveHooks>,
}

/// An early answer: a step that ends the request answers the client with it.
type Answer = Response<ProxyBody>;

/// Serves one request. Never fails at the HTTP level: every problem is an error response.
pub async fn handle(
    shared: Arc<Shared>,
    upstream: Arc<Upstream>,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
    fault::inject(fault::Point::Request, &req.uri().to_string());
    Ok(match serve(&shared, &upstream, req).await {
        Ok(r) | Err(r) => r,
    })
}

async fn serve(
    shared: &Shared,
    upstream: &Upstream,
    req: Request<Incoming>,
) -> Result<Answer, Answer> {
    let (mut cx, parts, body) = Context::of(req, &shared.adapters);
    let body = read_if_looked_at(&mut cx, body).await?;
    // In process first (the weave adapter was first in powerstrip's chain), then the
    // external pre-hooks see the rewritten body.
    let (body, rewritten) = weave_create(shared, &cx, body).await?;
    cx.rewritten = rewritten;
    let body = pre_hooks(shared, &cx, body).await?;
    let resp = forward(upstream, parts, body, cx.upgrade.is_some()).await?;
    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        return Ok(switch(resp, cx.upgrade));
    }
    let resp = explain_create_error(shared, &cx, resp).await?;
    attach_started(shared, &cx.route, resp.status()).await?;
    post_hooks(shared, &cx, resp).await
}

/// What the steps know of the request besides its body.
struct Context {
    /// Whether the weave hooks act on it.
    route: Route,
    /// The external adapters whose endpoints match it.
    hooks: Hooks,
    /// The client's end of a protocol switch, when it asked for one.
    upgrade: Option<OnUpgrade>,
    /// Powerstrip shows a body to adapters only when the Content-Type is exactly JSON.
    is_json: bool,
    /// The request as the client sent it, as adapters see it (body once read).
    original: ClientRequest,
    /// The weave hooks rewrote the create.
    rewritten: bool,
}

impl Context {
    fn of(mut req: Request<Incoming>, adapters: &AdaptersConfig) -> (Context, Parts, Incoming) {
        let path = req.uri().path();
        let target = req
            .uri()
            .path_and_query()
            .map_or(path, |p| p.as_str())
            .to_string();
        let method = req.method().to_string();
        let hooks = adapters.hooks_for(&method, path);
        let cx = Context {
            route: route::classify(&method, &target),
            hooks,
            upgrade: wants_upgrade(req.headers()).then(|| hyper::upgrade::on(&mut req)),
            is_json: req
                .headers()
                .get(CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes() == b"application/json"),
            original: ClientRequest {
                method,
                request: target,
                body: None,
            },
            rewritten: false,
        };
        let (parts, body) = req.into_parts();
        (cx, parts, body)
    }

    /// `bytes` as adapters are shown them: only a JSON body, as text.
    fn shown(&self, bytes: &Bytes) -> Option<String> {
        self.is_json
            .then(|| String::from_utf8_lossy(bytes).into_owned())
    }
}

/// A body on its way: the request's to the daemon, or the daemon's answer to the client.
enum Outgoing {
    /// Streamed as it comes.
    Stream(Incoming),
    /// Read whole (and maybe rewritten).
    Whole(Bytes),
}

impl Outgoing {
    fn into_proxy_body(self) -> ProxyBody {
        match self {
            Outgoing::Stream(b) => streamed(b),
            Outgoing::Whole(b) => full(b),
        }
    }
}

/// Reads the client's body whole only when something must look at it: the create decision,
/// or adapters shown a JSON body.
async fn read_if_looked_at(cx: &mut Context, body: Incoming) -> Result<Outgoing, Answer> {
    let looked_at = cx.route == Route::Create || (cx.is_json && !cx.hooks.is_empty());
    if !looked_at {
        return Ok(Outgoing::Stream(body));
    }
    let whole = read_whole(body, "request body").await?;
    cx.original.body = cx.shown(&whole);
    Ok(Outgoing::Whole(whole))
}

/// The create decision, mapped to what the daemon gets (and whether it was rewritten) or
/// to Docker's own error shape.
async fn weave_create(
    shared: &Shared,
    cx: &Context,
    body: Outgoing,
) -> Result<(Outgoing, bool), Answer> {
    let (Some(weave), Route::Create, Outgoing::Whole(bytes)) = (&shared.weave, &cx.route, &body)
    else {
        return Ok((body, false));
    };
    match weave.create(bytes).await {
        Decision::Pass => Ok((body, false)),
        Decision::Rewrite(text) => Ok((Outgoing::Whole(Bytes::from(text)), true)),
        Decision::Refuse(refusal) => Err(refused(&refusal)),
    }
}

/// The external pre-hooks, in order, each seeing the body the previous one returned.
async fn pre_hooks(shared: &Shared, cx: &Context, body: Outgoing) -> Result<Outgoing, Answer> {
    if cx.hooks.pre.is_empty() {
        return Ok(body);
    }
    let current = match &body {
        Outgoing::Whole(b) => cx.shown(b),
        Outgoing::Stream(_) => None,
    };
    let sent_some = current.is_some();
    let pre = ClientRequest {
        body: current,
        ..cx.original.clone()
    };
    match chain::run_pre(&cx.hooks.pre, &pre, shared.hook_timeout).await {
        Ok(Some(text)) => Ok(Outgoing::Whole(Bytes::from(text))),
        // Powerstrip sends an empty body when an adapter answers null to a body.
        Ok(None) if sent_some => Ok(Outgoing::Whole(Bytes::new())),
        // Nothing shown, nothing changed: the body goes on as it came.
        Ok(None) => Ok(body),
        Err(e) => Err(error_response(StatusCode::BAD_GATEWAY, &e.to_string())),
    }
}

/// Sends the request to the daemon; the answer's body streams.
async fn forward(
    upstream: &Upstream,
    mut parts: Parts,
    body: Outgoing,
    upgrade: bool,
) -> Result<Response<Incoming>, Answer> {
    if let Outgoing::Whole(b) = &body {
        parts.headers.remove(TRANSFER_ENCODING);
        parts.headers.insert(CONTENT_LENGTH, b.len().into());
    }
    let body = body.into_proxy_body();
    upstream
        .send(Request::from_parts(parts, body), upgrade)
        .await
        .map_err(|e| error_response(e.status(), &e.to_string()))
}

/// Docker's refusal (4xx: 400 from Docker 20.10, 404 from later ones) of a create we
/// rewrote, explained when it is about the volume container
/// ([`create::explain_create_error`]), with Docker's status; every other answer goes on as
/// Docker gave it.
async fn explain_create_error(
    shared: &Shared,
    cx: &Context,
    resp: Response<Incoming>,
) -> Result<Response<Outgoing>, Answer> {
    let (mut parts, body) = resp.into_parts();
    let (Some(weave), true, true) = (&shared.weave, cx.rewritten, parts.status.is_client_error())
    else {
        return Ok(Response::from_parts(parts, Outgoing::Stream(body)));
    };
    let whole = read_whole(body, "daemon's response").await?;
    let message = serde_json::from_slice::<serde_json::Value>(&whole)
        .ok()
        .and_then(|v| v.get("message")?.as_str().map(str::to_string));
    let rewrite = &weave.attacher().policy().rewrite;
    match message.and_then(|m| create::explain_create_error(&m, rewrite)) {
        Some(explained) => Err(error_response(parts.status, &explained)),
        None => {
            parts.headers.insert(CONTENT_LENGTH, whole.len().into());
            parts.headers.remove(TRANSFER_ENCODING);
            Ok(Response::from_parts(parts, Outgoing::Whole(whole)))
        }
    }
}

/// Holds the answer to a successful start or restart until the container is attached: the
/// client learns of a failed attach (a 500 naming it) instead of a started container that
/// never runs its app.
async fn attach_started(shared: &Shared, route: &Route, status: StatusCode) -> Result<(), Answer> {
    let (Some(weave), Some(container)) = (&shared.weave, route.started_container()) else {
        return Ok(());
    };
    if !route::attach_after(status.as_u16()) {
        return Ok(());
    }
    weave
        .started(container)
        .await
        .map_err(|reason| error_response(StatusCode::INTERNAL_SERVER_ERROR, &reason))
}

/// The external post-hooks over the daemon's whole answer. Like powerstrip, chunked
/// (streaming) answers skip them.
async fn post_hooks(
    shared: &Shared,
    cx: &Context,
    resp: Response<Outgoing>,
) -> Result<Answer, Answer> {
    let (mut parts, body) = resp.into_parts();
    if cx.hooks.post.is_empty() || is_chunked(&parts.headers) {
        return Ok(Response::from_parts(parts, body.into_proxy_body()));
    }
    let whole = match body {
        Outgoing::Stream(body) => read_whole(body, "daemon's response").await?,
        Outgoing::Whole(whole) => whole,
    };
    let response = ServerResponse {
        content_type: parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: String::from_utf8_lossy(&whole).into_owned(),
        code: parts.status.as_u16(),
    };
    let text = chain::run_post(&cx.hooks.post, &cx.original, response, shared.hook_timeout)
        .await
        .map_err(|e| error_response(StatusCode::BAD_GATEWAY, &e.to_string()))?;
    parts.headers.insert(CONTENT_LENGTH, text.len().into());
    Ok(Response::from_parts(parts, full(text)))
}

/// Answers the client with the daemon's own `101` (status and headers, e.g. `Upgrade: tcp`
/// and the raw- or multiplexed-stream Content-Type), then copies bytes both ways, passing
/// each side's end of stream on as a half-close so stdin EOF reaches the container while
/// its output keeps flowing.
fn switch(mut resp: Response<Incoming>, client: Option<OnUpgrade>) -> Response<ProxyBody> {
    let daemon = hyper::upgrade::on(&mut resp);
    let Some(client) = client else {
        return error_response(
            StatusCode::BAD_GATEWAY,
            "the Docker daemon switched protocols on a request that did not ask for it",
        );
    };
    tokio::spawn(async move {
        let (client, daemon) = tokio::join!(client, daemon);
        match (client, daemon) {
            (Ok(c), Ok(d)) => {
                let (mut c, mut d) = (TokioIo::new(c), TokioIo::new(d));
                if let Err(e) = tokio::io::copy_bidirectional(&mut c, &mut d).await {
                    tracing::debug!("upgraded stream ended: {e}");
                }
            }
            (c, d) => tracing::warn!("upgrade failed: client {:?}, daemon {:?}", c.err(), d.err()),
        }
    });
    let (parts, _) = resp.into_parts();
    Response::from_parts(parts, Empty::new().map_err(|e| match e {}).boxed())
}

fn streamed(body: Incoming) -> ProxyBody {
    body.map_err(|e| Box::new(e) as BoxError).boxed()
}

async fn read_whole(body: Incoming, what: &str) -> Result<Bytes, Answer> {
    let bound = bounds::get().body;
    match tokio::time::timeout(bound, Limited::new(body, MAX_BUFFERED).collect()).await {
        Ok(Ok(c)) => Ok(c.to_bytes()),
        Ok(Err(e)) => Err(error_response(
            StatusCode::BAD_REQUEST,
            &format!("reading the {what} failed (limit {MAX_BUFFERED} bytes): {e}"),
        )),
        Err(_) => Err(error_response(
            StatusCode::REQUEST_TIMEOUT,
            &format!("the {what} did not arrive whole within {bound:?}"),
        )),
    }
}

/// True when the request asks for a protocol switch (`Connection: Upgrade` + `Upgrade:`),
/// as the docker CLI does for attach, exec start and build sessions.
fn wants_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(UPGRADE)
        && headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
}

fn is_chunked(headers: &HeaderMap) -> bool {
    headers
        .get_all(TRANSFER_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("chunked"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn upgrade_needs_both_headers() {
        assert!(wants_upgrade(&headers(&[
            ("connection", "Upgrade"),
            ("upgrade", "tcp")
        ])));
        assert!(wants_upgrade(&headers(&[
            ("connection", "keep-alive, upgrade"),
            ("upgrade", "h2c")
        ])));
        assert!(!wants_upgrade(&headers(&[("upgrade", "tcp")])));
        assert!(!wants_upgrade(&headers(&[("connection", "Upgrade")])));
        assert!(!wants_upgrade(&headers(&[("connection", "keep-alive")])));
    }

    #[test]
    fn chunked_is_read_from_transfer_encoding() {
        assert!(is_chunked(&headers(&[("transfer-encoding", "chunked")])));
        assert!(is_chunked(&headers(&[(
            "transfer-encoding",
            "gzip, Chunked"
        )])));
        assert!(!is_chunked(&headers(&[("content-length", "2")])));
    }
}
