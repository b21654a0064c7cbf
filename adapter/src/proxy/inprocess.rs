//! The seam between the HTTP proxy and what it does in process on create and start
//! (DESIGN §3–§5): the proxy calls these two hooks, the weave implementation lives in
//! [`super::weave`].

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

/// A boxed `Send` future, so the hooks can be trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What to do with a `POST /containers/create` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    /// Send this body to Docker (the original bytes when nothing applies).
    Forward(Bytes),
    /// Answer the client with this status and `{"message": …}` without asking Docker
    /// (400 bad WEAVE_CIDR, 404 missing image so the CLI pulls and retries, 500 …).
    Refuse {
        /// HTTP status.
        status: u16,
        /// The message the docker CLI prints after "Error response from daemon:".
        message: String,
    },
}

/// The in-process hooks of the proxy.
pub trait InProcess: Send + Sync + 'static {
    /// The create rewrite: the raw request body (JSON text) in, what to do out. `query` is
    /// the request's query string (`name=web-1`), if any.
    fn create<'a>(&'a self, query: Option<&'a str>, body: Bytes) -> BoxFuture<'a, CreateOutcome>;

    /// Called after Docker answered a start or restart of `container` (id or name) with a
    /// 2xx other than 304, before the client sees that answer. `Err(reason)` means the
    /// container needed its network and did not get it; the implementation has killed it,
    /// and the client gets a 500 with `reason`.
    fn started<'a>(&'a self, container: &'a str) -> BoxFuture<'a, Result<(), String>>;
}

/// No in-process behaviour: a plain pass-through proxy (with external adapters only).
#[derive(Debug, Clone, Copy, Default)]
pub struct PassThrough;

impl InProcess for PassThrough {
    fn create<'a>(&'a self, _query: Option<&'a str>, body: Bytes) -> BoxFuture<'a, CreateOutcome> {
        Box::pin(async move { CreateOutcome::Forward(body) })
    }

    fn started<'a>(&'a self, _container: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}
