//! The one accept loop of both servers (the powerstrip adapter and the proxy): accept, hand
//! each connection to a task of its own, until shutdown.

use std::future::Future;
use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};

/// Any byte stream the servers speak HTTP over (unix, TCP, TLS).
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for T {}

/// A listening socket.
pub trait Accept {
    /// The next connection.
    fn accept(&self) -> impl Future<Output = io::Result<Box<dyn Stream>>> + Send;
}

impl Accept for TcpListener {
    async fn accept(&self) -> io::Result<Box<dyn Stream>> {
        let (s, _) = TcpListener::accept(self).await?;
        // Requests and answers are small and interactive.
        s.set_nodelay(true)?;
        Ok(Box::new(s))
    }
}

impl Accept for UnixListener {
    async fn accept(&self) -> io::Result<Box<dyn Stream>> {
        Ok(Box::new(UnixListener::accept(self).await?.0))
    }
}

/// Pause after a failed accept (EMFILE and the like) before the next one.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Accepts connections on `listener` and runs `serve` on each in a task of its own, until
/// `shutdown` completes. A slow client, or a panic while serving one (logged by
/// [`crate::panics`]), ends only its own task; a failed accept is logged and retried, so
/// the connections already served go on.
pub async fn serve_each<L, S, F>(listener: &L, serve: S, shutdown: impl Future<Output = ()>)
where
    L: Accept,
    S: Fn(Box<dyn Stream>) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(stream) => stream,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                }
            },
        };
        tokio::spawn(serve(stream));
    }
}
