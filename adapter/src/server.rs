//! The HTTP shell of the powerstrip adapter: POST on any path, one envelope per request,
//! always answered 200 with a JSON envelope; connections served concurrently.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::hooks::Adapter;

/// Largest envelope accepted (a create body is a few KiB; images' labels can add more).
pub const MAX_ENVELOPE: usize = 16 * 1024 * 1024;

/// Binds `addr`. Errors name the address (in use, not permitted).
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))
}

/// Serves the adapter on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    adapter: Arc<Adapter>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => return,
        };
        let adapter = adapter.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| answer(adapter.clone(), req));
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        });
    }
}

async fn answer(
    adapter: Arc<Adapter>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() != Method::POST {
        return Ok(reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "powerstrip-weave: POST a powerstrip adapter envelope (protocol v1)\n".into(),
        ));
    }
    let body = match Limited::new(req.into_body(), MAX_ENVELOPE).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            tracing::error!("cannot read the envelope: {e}");
            Bytes::new()
        }
    };
    let envelope = adapter.handle(&body).await;
    Ok(reply(StatusCode::OK, "application/json", envelope))
}

fn reply(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}
