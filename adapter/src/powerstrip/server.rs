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
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use super::adapter::PowerstripAdapter;
use crate::accept::{self, Stream};
use crate::bounds;
use crate::fault;

/// Largest envelope accepted (a create body is a few KiB; images' labels can add more).
pub const MAX_ENVELOPE: usize = 16 * 1024 * 1024;

/// Binds `addr`. Errors name the address (in use, not permitted).
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))
}

/// Serves the adapter on `listener` until `shutdown` completes. A request head must arrive
/// whole within [`bounds::Bounds::header`] (also between requests on a kept-alive
/// connection), its envelope within [`bounds::Bounds::body`].
pub async fn serve(
    listener: TcpListener,
    adapter: Arc<PowerstripAdapter>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let serve_one = |stream: Box<dyn Stream>| {
        let adapter = adapter.clone();
        async move {
            let service = service_fn(move |req| answer(adapter.clone(), req));
            if let Err(e) = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(bounds::get().header)
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!("connection ended: {e}");
            }
        }
    };
    accept::serve_each(&listener, serve_one, shutdown).await;
}

async fn answer(
    adapter: Arc<PowerstripAdapter>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    fault::inject(fault::Point::Request, &req.uri().to_string());
    if req.method() != Method::POST {
        return Ok(reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "powerstrip-weave: POST a powerstrip adapter envelope (protocol v1)\n".into(),
        ));
    }
    let read = Limited::new(req.into_body(), MAX_ENVELOPE).collect();
    let bound = bounds::get().body;
    let body = match tokio::time::timeout(bound, read).await {
        Ok(Ok(b)) => b.to_bytes(),
        Ok(Err(e)) => {
            tracing::error!("cannot read the envelope: {e}");
            Bytes::new()
        }
        Err(_) => {
            tracing::error!("envelope not received within {bound:?}");
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::Addr;
    use crate::attach::attacher::Attacher;
    use crate::attach::command::Command;
    use crate::hooks::WeaveHooks;
    use crate::policy::rewrite::RewriteConfig;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn offline_server() -> SocketAddr {
        let docker = crate::docker::client(&Addr::Tcp {
            host: "127.0.0.1".into(),
            port: 1,
        })
        .unwrap();
        let attacher = Attacher::new(
            docker,
            Arc::new(Command::new("/bin/false".into())),
            RewriteConfig::default(),
            Default::default(),
        );
        let adapter = Arc::new(PowerstripAdapter::new(WeaveHooks::new(Arc::new(attacher))));
        let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve(listener, adapter, std::future::pending()));
        addr
    }

    async fn exchange(addr: SocketAddr, method: &str, body: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let req = format!(
            "{method} /any/path HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    const START: &str = r#"{"Type":"pre-hook","PowerstripProtocolVersion":1,"ClientRequest":{"Method":"POST","Request":"/v1.41/containers/web-5/start","Body":null}}"#;

    #[tokio::test]
    async fn any_path_gets_a_200_json_envelope() {
        let addr = offline_server().await;
        let out = exchange(addr, "POST", START).await;
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        assert!(out.contains("content-type: application/json"), "{out}");
        assert!(out.contains(r#""ModifiedClientRequest":{"Method":"POST","Request":"/v1.41/containers/web-5/start","Body":null}"#), "{out}");
        let out = exchange(addr, "POST", "garbage").await;
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        assert!(out.contains("PowerstripProtocolVersion"), "{out}");
        let out = exchange(addr, "GET", "").await;
        assert!(out.starts_with("HTTP/1.1 405"), "{out}");
    }

    #[tokio::test]
    async fn a_stalled_client_does_not_hold_up_others() {
        let addr = offline_server().await;
        // Headers promise a body that never comes.
        let mut stalled = tokio::net::TcpStream::connect(addr).await.unwrap();
        stalled
            .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            .await
            .unwrap();
        let out = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            exchange(addr, "POST", START),
        )
        .await
        .expect("answered while another request is pending");
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        drop(stalled);
    }
}
