//! The proxy's side towards the Docker daemon: HTTP/1.1 over the daemon's unix socket (or
//! TCP), one kept-alive connection per client connection, a fresh one for every upgrade.
//!
//! Waits ([`Bounds`]): connecting is bounded by `connect`. The daemon's answer to a
//! forwarded request is not bounded by a time of its own: a `stop -t 600`, a commit or a
//! prune legitimately take long before their answer begins, and the docker CLI waits for
//! them without a limit. What is bounded is the daemon being alive: while an answer has
//! not begun, the daemon is asked `GET /_ping` on a connection of its own every `ping`,
//! and a ping unanswered within `ping` ends the wait with [`UpstreamError::Silent`]. A
//! client that goes away ends the wait too (hyper drops the exchange, which closes the
//! daemon connection). Once an answer began, its body flows for as long as the daemon
//! sends it (`logs -f`, `events`, pulls) or the client reads it.

use std::error::Error as StdError;
use std::io;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpStream, UnixStream};

use crate::accept::Stream;
use crate::addr::Addr;
use crate::bounds::{self, Bounds};

/// Boxed error of a streamed body.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// The body type the proxy sends both ways: a client's or daemon's streamed body, or one
/// the proxy built (rewritten create, error message).
pub type ProxyBody = BoxBody<Bytes, BoxError>;

/// Why the daemon could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// Connecting failed or timed out.
    #[error("cannot connect to the Docker daemon at {addr}: {source}")]
    Connect {
        /// The daemon endpoint.
        addr: String,
        /// The I/O error.
        source: io::Error,
    },
    /// The HTTP exchange failed (daemon closed the connection, protocol error).
    #[error("the Docker daemon at {addr} failed to answer: {source}")]
    Http {
        /// The daemon endpoint.
        addr: String,
        /// hyper's error.
        source: hyper::Error,
    },
    /// The answer had not begun and the daemon failed a `GET /_ping` meanwhile: it is
    /// stopped (SIGSTOP) or hung.
    #[error(
        "the Docker daemon at {addr} has not answered for {waited:.1?} and failed a /_ping \
         meanwhile ({why}): it is stopped or hung"
    )]
    Silent {
        /// The daemon endpoint.
        addr: String,
        /// How long the answer was waited for.
        waited: Duration,
        /// Why the ping failed.
        why: String,
    },
}

impl UpstreamError {
    /// The status the client gets: 504 for a daemon that stopped answering, else 502.
    pub fn status(&self) -> StatusCode {
        match self {
            UpstreamError::Silent { .. } => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::BAD_GATEWAY,
        }
    }
}

/// Opens a raw stream to `addr`, bounded by [`Bounds::connect`].
pub async fn connect(addr: &Addr) -> Result<Box<dyn Stream>, UpstreamError> {
    connect_within(addr, bounds::get().connect).await
}

/// Opens a raw stream to `addr`, bounded by `bound`.
async fn connect_within(addr: &Addr, bound: Duration) -> Result<Box<dyn Stream>, UpstreamError> {
    let fail = |source: io::Error| UpstreamError::Connect {
        addr: addr.to_string(),
        source,
    };
    let fut = async {
        let s: Box<dyn Stream> = match addr {
            Addr::Unix(path) => Box::new(UnixStream::connect(path).await?),
            Addr::Tcp { host, port } => {
                let s = TcpStream::connect((host.as_str(), *port)).await?;
                s.set_nodelay(true)?;
                Box::new(s)
            }
        };
        Ok::<_, io::Error>(s)
    };
    match tokio::time::timeout(bound, fut).await {
        Ok(r) => r.map_err(fail),
        Err(_) => Err(fail(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no connection within {bound:?}"),
        ))),
    }
}

/// One `GET /_ping` on a connection of its own, answered (any status) within
/// [`Bounds::ping`]. Errors: why not.
async fn ping(addr: &Addr, b: &Bounds) -> Result<(), String> {
    let exchange = async {
        let stream = connect_within(addr, b.connect)
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, conn) = http1::Builder::new()
            .handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let req = Request::get("/_ping")
            .header(hyper::header::HOST, "docker")
            .body(Empty::new())
            .map_err(|e| e.to_string())?;
        sender.send_request(req).await.map_err(|e| e.to_string())?;
        Ok(())
    };
    match tokio::time::timeout(b.ping, exchange).await {
        Ok(answered) => answered,
        Err(_) => Err(format!("no answer within {:?}", b.ping)),
    }
}

/// Resolves only when the daemon at `addr` fails a ping, which it is sent every
/// [`Bounds::ping`]; returns why.
async fn stops_answering(addr: &Addr, b: &Bounds) -> String {
    loop {
        tokio::time::sleep(b.ping).await;
        if let Err(why) = ping(addr, b).await {
            return why;
        }
        tracing::debug!("an answer is awaited; the Docker daemon at {addr} answers /_ping");
    }
}

/// True when `path` is a socket someone accepts connections on.
pub fn socket_answers(path: &Path) -> bool {
    std::os::unix::net::UnixStream::connect(path).is_ok()
}

/// The daemon as seen from one client connection: requests go over one kept-alive
/// connection (HTTP/1 serves them one after another anyway); upgrades get their own.
pub struct Upstream {
    addr: Addr,
    kept: Mutex<Option<SendRequest<ProxyBody>>>,
    bounds: Bounds,
}

impl Upstream {
    /// A handle for one client connection; no connection is opened until the first request.
    pub fn new(addr: Addr) -> Upstream {
        Upstream::with_bounds(addr, *bounds::get())
    }

    /// [`Upstream::new`] with other bounds than those in force.
    pub fn with_bounds(addr: Addr, bounds: Bounds) -> Upstream {
        Upstream {
            addr,
            kept: Mutex::new(None),
            bounds,
        }
    }

    /// The daemon endpoint, for messages.
    pub fn addr(&self) -> &Addr {
        &self.addr
    }

    /// Sends `req` and returns the daemon's response as soon as its headers arrived; the body
    /// streams. With `upgrade`, the request goes over a connection of its own whose bytes
    /// are handed over on a `101` (see `hyper::upgrade::on`).
    ///
    /// Errors: connecting failed or timed out, the exchange failed, or the daemon stopped
    /// answering pings while the answer was awaited ([`UpstreamError::Silent`]).
    pub async fn send(
        &self,
        req: Request<ProxyBody>,
        upgrade: bool,
    ) -> Result<Response<Incoming>, UpstreamError> {
        let reusable = if upgrade {
            None
        } else {
            self.take_ready().await
        };
        let mut sender = match reusable {
            Some(s) => s,
            None => self.open().await?,
        };
        let started = tokio::time::Instant::now();
        let resp = tokio::select! {
            answer = sender.send_request(req) => answer.map_err(|source| UpstreamError::Http {
                addr: self.addr.to_string(),
                source,
            })?,
            why = stops_answering(&self.addr, &self.bounds) => {
                return Err(UpstreamError::Silent {
                    addr: self.addr.to_string(),
                    waited: started.elapsed(),
                    why,
                });
            }
        };
        if !upgrade {
            *self.kept.lock().expect("upstream lock") = Some(sender);
        }
        Ok(resp)
    }

    async fn take_ready(&self) -> Option<SendRequest<ProxyBody>> {
        let mut s = self.kept.lock().expect("upstream lock").take()?;
        if s.is_ready() {
            return Some(s);
        }
        match tokio::time::timeout(self.bounds.reuse, s.ready()).await {
            Ok(Ok(())) => Some(s),
            _ => None,
        }
    }

    async fn open(&self) -> Result<SendRequest<ProxyBody>, UpstreamError> {
        let stream = connect_within(&self.addr, self.bounds.connect).await?;
        let (sender, conn) = http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|source| UpstreamError::Http {
                addr: self.addr.to_string(),
                source,
            })?;
        tokio::spawn(async move {
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!("daemon connection ended: {e}");
            }
        });
        Ok(sender)
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use http_body_util::{BodyExt, Full, StreamBody};
    use hyper::body::Frame;
    use hyper::server::conn::http1 as server;
    use hyper::service::service_fn;
    use tokio::net::UnixListener;

    use super::*;

    /// A daemon on a socket of the test's: `/_ping` answers unless `pings` is false, `/slow`
    /// answers after `slow`, `/stream` sends its head and a body that never ends. Counts
    /// connections.
    struct Fake {
        addr: Addr,
        connections: Arc<AtomicUsize>,
        _dir: tempfile::TempDir,
    }

    type FakeBody = BoxBody<Bytes, Infallible>;

    async fn answer(pings: bool, slow: Duration, path: &str) -> Response<FakeBody> {
        let body: FakeBody = match path {
            "/_ping" if pings => Full::new(Bytes::from("OK")).boxed(),
            "/_ping" => std::future::pending().await,
            "/slow" => {
                tokio::time::sleep(slow).await;
                Full::new(Bytes::from("done")).boxed()
            }
            _ => StreamBody::new(futures::stream::pending::<Result<Frame<Bytes>, Infallible>>())
                .boxed(),
        };
        Response::new(body)
    }

    fn fake(pings: bool, slow: Duration) -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("docker.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let service = service_fn(move |req: Request<Incoming>| async move {
                    Ok::<_, Infallible>(answer(pings, slow, req.uri().path()).await)
                });
                tokio::spawn(
                    server::Builder::new().serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        Fake {
            addr: Addr::Unix(path),
            connections,
            _dir: dir,
        }
    }

    fn get(path: &str) -> Request<ProxyBody> {
        let empty = Empty::<Bytes>::new().map_err(|e| match e {}).boxed();
        Request::get(path)
            .header("host", "docker")
            .body(empty)
            .unwrap()
    }

    fn bounds(ping_ms: u64, reuse_ms: u64) -> Bounds {
        Bounds {
            ping: Duration::from_millis(ping_ms),
            reuse: Duration::from_millis(reuse_ms),
            ..Bounds::DEFAULT
        }
    }

    #[tokio::test]
    async fn a_long_answer_is_waited_for_while_the_daemon_answers_pings() {
        let daemon = fake(true, Duration::from_millis(400));
        let up = Upstream::with_bounds(daemon.addr.clone(), bounds(50, 2000));
        let t = std::time::Instant::now();
        let resp = up.send(get("/slow"), false).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(t.elapsed() >= Duration::from_millis(400));
        // The request's connection, and pings on connections of their own.
        assert!(daemon.connections.load(Ordering::SeqCst) > 2);
    }

    #[tokio::test]
    async fn a_daemon_that_fails_a_ping_ends_the_wait_with_504() {
        let daemon = fake(false, Duration::from_secs(3600));
        let up = Upstream::with_bounds(daemon.addr.clone(), bounds(50, 2000));
        let t = std::time::Instant::now();
        let e = up.send(get("/slow"), false).await.unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert_eq!(e.status(), StatusCode::GATEWAY_TIMEOUT);
        let text = e.to_string();
        assert!(
            text.contains(&format!("the Docker daemon at {}", daemon.addr))
                && text.contains("failed a /_ping meanwhile (no answer within 50ms)"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_kept_connection_still_busy_is_waited_for_only_within_reuse() {
        let daemon = fake(true, Duration::ZERO);
        let up = Upstream::with_bounds(daemon.addr.clone(), bounds(10_000, 100));
        // Its body never ends, so its connection never becomes free.
        let streaming = up.send(get("/stream"), false).await.unwrap();
        let t = std::time::Instant::now();
        let resp = up.send(get("/_ping"), false).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(t.elapsed() >= Duration::from_millis(100));
        assert_eq!(daemon.connections.load(Ordering::SeqCst), 2);
        drop(streaming);
    }
}
