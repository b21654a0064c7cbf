//! One client request through the proxy: in-process hooks, external pre-hooks, the daemon,
//! upgrades, the start hold, external post-hooks. Everything not rewritten streams.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{
    HeaderMap, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING, UPGRADE,
};
use hyper::upgrade::OnUpgrade;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

use super::adapters::AdaptersConfig;
use super::chain;
use super::envelope::ClientRequest;
use super::inprocess::{CreateOutcome, InProcess};
use super::route::{classify, Route};
use super::upstream::{BoxError, ProxyBody, Upstream};

/// Largest request or response body the proxy reads whole (create bodies, bodies shown to
/// adapters); anything else streams without a limit.
pub const MAX_BUFFERED: usize = 64 << 20;

/// What every connection of the proxy shares.
pub struct Shared {
    /// External adapters (empty: none).
    pub adapters: AdaptersConfig,
    /// Bound on one adapter call.
    pub hook_timeout: Duration,
    /// The in-process create rewrite and start hold.
    pub inprocess: Arc<dyn InProcess>,
}

/// A body the proxy built.
pub fn full(bytes: impl Into<Bytes>) -> ProxyBody {
    Full::new(bytes.into()).map_err(|e| match e {}).boxed()
}

fn streamed(body: Incoming) -> ProxyBody {
    body.map_err(|e| Box::new(e) as BoxError).boxed()
}

/// An answer in Docker's error shape, `{"message": "..."}`, which the docker CLI prints as
/// `Error response from daemon: <message>`.
pub fn error_response(status: StatusCode, message: &str) -> Response<ProxyBody> {
    let mut text = serde_json::to_vec(&serde_json::json!({ "message": message }))
        .expect("a Value always serialises");
    text.push(b'\n');
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .header(CONTENT_LENGTH, text.len())
        .body(full(text))
        .expect("a valid response")
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

async fn read_whole(body: Incoming, what: &str) -> Result<Bytes, Response<ProxyBody>> {
    match Limited::new(body, MAX_BUFFERED).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) => Err(error_response(
            StatusCode::BAD_REQUEST,
            &format!("reading the {what} failed (limit {MAX_BUFFERED} bytes): {e}"),
        )),
    }
}

/// The request body as it goes on to the daemon.
enum Outgoing {
    /// The client's body, streamed as it comes.
    Stream(Incoming),
    /// A body read whole (and maybe rewritten).
    Whole(Bytes),
}

/// Serves one request. Never fails at the HTTP level: every problem is an error response.
pub async fn handle(
    shared: Arc<Shared>,
    upstream: Arc<Upstream>,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
    Ok(match serve(&shared, &upstream, req).await {
        Ok(r) | Err(r) => r,
    })
}

async fn serve(
    shared: &Shared,
    upstream: &Upstream,
    mut req: Request<Incoming>,
) -> Result<Response<ProxyBody>, Response<ProxyBody>> {
    let path = req.uri().path().to_string();
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| path.clone(), |p| p.as_str().to_string());
    let query = req.uri().query().map(str::to_string);
    let method = req.method().clone();
    let route = classify(&method, &path);
    let hooks = shared.adapters.hooks_for(method.as_str(), &path);
    let upgrade = wants_upgrade(req.headers());
    let client_upgrade: Option<OnUpgrade> = upgrade.then(|| hyper::upgrade::on(&mut req));
    // Powerstrip shows a body to adapters only when the Content-Type is exactly JSON.
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/json");
    let (mut parts, body) = req.into_parts();

    // The client's body, read whole only when something must look at it.
    let (original, mut outgoing) = if route == Route::Create || (is_json && !hooks.is_empty()) {
        let whole = read_whole(body, "request body").await?;
        (Some(whole.clone()), Outgoing::Whole(whole))
    } else {
        (None, Outgoing::Stream(body))
    };
    let shown = |b: &Option<Bytes>| {
        b.as_ref()
            .filter(|_| is_json)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    };
    let original_request = ClientRequest {
        method: method.to_string(),
        request: target.clone(),
        body: shown(&original),
    };

    // In process first (the weave adapter was first in powerstrip's chain), then the
    // external pre-hooks see the rewritten body.
    if route == Route::Create {
        let body = original.clone().unwrap_or_default();
        match shared.inprocess.create(query.as_deref(), body).await {
            CreateOutcome::Forward(b) => outgoing = Outgoing::Whole(b),
            CreateOutcome::Refuse { status, message } => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return Err(error_response(status, &message));
            }
        }
    }
    if !hooks.pre.is_empty() {
        let current = match &outgoing {
            Outgoing::Whole(b) => shown(&Some(b.clone())),
            Outgoing::Stream(_) => None,
        };
        let sent_some = current.is_some();
        let pre = ClientRequest {
            body: current,
            ..original_request.clone()
        };
        match chain::run_pre(&hooks.pre, &pre, shared.hook_timeout).await {
            Ok(Some(text)) => outgoing = Outgoing::Whole(Bytes::from(text)),
            // Powerstrip sends an empty body when an adapter answers null to a body.
            Ok(None) if sent_some => outgoing = Outgoing::Whole(Bytes::new()),
            // Nothing shown, nothing changed: the body goes on as it came.
            Ok(None) => {}
            Err(e) => return Err(error_response(StatusCode::BAD_GATEWAY, &e.to_string())),
        }
    }

    let body = match outgoing {
        Outgoing::Stream(b) => streamed(b),
        Outgoing::Whole(b) => {
            parts.headers.remove(TRANSFER_ENCODING);
            parts.headers.insert(CONTENT_LENGTH, b.len().into());
            full(b)
        }
    };
    let resp = upstream
        .send(Request::from_parts(parts, body), upgrade)
        .await
        .map_err(|e| error_response(StatusCode::BAD_GATEWAY, &e.to_string()))?;

    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        return Ok(switch(resp, client_upgrade));
    }

    if let Some(container) = route.started_container() {
        let s = resp.status();
        if s.is_success() && s != StatusCode::NOT_MODIFIED {
            if let Err(reason) = shared.inprocess.started(container).await {
                return Err(error_response(StatusCode::INTERNAL_SERVER_ERROR, &reason));
            }
        }
    }

    // Post-hooks need the whole response; like powerstrip, chunked (streaming) answers
    // skip them.
    if hooks.post.is_empty() || is_chunked(resp.headers()) {
        let (parts, body) = resp.into_parts();
        return Ok(Response::from_parts(parts, streamed(body)));
    }
    let (mut parts, body) = resp.into_parts();
    let whole = read_whole(body, "daemon's response").await?;
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = chain::run_post(
        &hooks.post,
        &original_request,
        content_type.as_deref(),
        parts.status.as_u16(),
        String::from_utf8_lossy(&whole).into_owned(),
        shared.hook_timeout,
    )
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

    #[tokio::test]
    async fn errors_have_dockers_shape() {
        let r = error_response(StatusCode::BAD_GATEWAY, "adapter \"x\" is down");
        assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
        let body = r.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"{\"message\":\"adapter \\\"x\\\" is down\"}\n");
    }
}
