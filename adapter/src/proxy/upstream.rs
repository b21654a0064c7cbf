//! The proxy's side towards the Docker daemon: HTTP/1.1 over the daemon's unix socket (or
//! TCP), one kept-alive connection per client connection, a fresh one for every upgrade.

use std::error::Error as StdError;
use std::io;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpStream, UnixStream};

use crate::accept::Stream;
use crate::addr::Addr;

/// Boxed error of a streamed body.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// The body type the proxy sends both ways: a client's or daemon's streamed body, or one
/// the proxy built (rewritten create, error message).
pub type ProxyBody = BoxBody<Bytes, BoxError>;

/// Bound on connecting to the daemon: a dead daemon must give a 502, not a hang.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Bound on waiting for the kept-alive connection to finish its previous exchange before a
/// fresh connection is opened instead.
const REUSE_WAIT: Duration = Duration::from_secs(2);

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
}

/// Opens a raw stream to `addr`, bounded by [`CONNECT_TIMEOUT`].
pub async fn connect(addr: &Addr) -> Result<Box<dyn Stream>, UpstreamError> {
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
    match tokio::time::timeout(CONNECT_TIMEOUT, fut).await {
        Ok(r) => r.map_err(fail),
        Err(_) => Err(fail(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no connection within {} s", CONNECT_TIMEOUT.as_secs()),
        ))),
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
}

impl Upstream {
    /// A handle for one client connection; no connection is opened until the first request.
    pub fn new(addr: Addr) -> Upstream {
        Upstream {
            addr,
            kept: Mutex::new(None),
        }
    }

    /// The daemon endpoint, for messages.
    pub fn addr(&self) -> &Addr {
        &self.addr
    }

    /// Sends `req` and returns the daemon's response as soon as its headers arrived; the body
    /// streams. With `upgrade`, the request goes over a connection of its own whose bytes
    /// are handed over on a `101` (see `hyper::upgrade::on`).
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
        let resp = sender
            .send_request(req)
            .await
            .map_err(|source| UpstreamError::Http {
                addr: self.addr.to_string(),
                source,
            })?;
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
        match tokio::time::timeout(REUSE_WAIT, s.ready()).await {
            Ok(Ok(())) => Some(s),
            _ => None,
        }
    }

    async fn open(&self) -> Result<SendRequest<ProxyBody>, UpstreamError> {
        let stream = connect(&self.addr).await?;
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
