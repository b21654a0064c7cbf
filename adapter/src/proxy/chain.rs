//! Calls external powerstrip adapters: one POST per hook on a new connection, as powerstrip
//! does, but bounded: an unreachable adapter, a timeout or a bad answer is an error the
//! proxy answers with 502 instead of leaving the client hanging.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::adapters::ExternalAdapter;
use crate::powerstrip::envelope::{self, AnswerError, ClientRequest, ServerResponse};

/// Default bound on one adapter call (connect, send, whole answer), in seconds.
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;

/// Largest adapter answer read (bodies are create requests and small responses).
const MAX_ANSWER: usize = 64 << 20;

/// Why an adapter call failed; the text names the adapter, its URL and the hook.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// Connection refused, name not resolved, reset.
    #[error("adapter {name:?} ({url}) is unreachable for the {hook}: {why}")]
    Unreachable {
        /// Adapter name in adapters.yml.
        name: String,
        /// Its URL.
        url: String,
        /// `pre-hook` or `post-hook`.
        hook: &'static str,
        /// The I/O or HTTP error.
        why: String,
    },
    /// No full answer within the bound.
    #[error("adapter {name:?} ({url}) did not answer the {hook} within {secs} s")]
    Timeout {
        /// Adapter name.
        name: String,
        /// Its URL.
        url: String,
        /// `pre-hook` or `post-hook`.
        hook: &'static str,
        /// The bound.
        secs: u64,
    },
    /// An answer that is not a powerstrip envelope.
    #[error("adapter {name:?} ({url}) gave a bad {hook} answer (HTTP {status}): {why}")]
    BadAnswer {
        /// Adapter name.
        name: String,
        /// Its URL.
        url: String,
        /// `pre-hook` or `post-hook`.
        hook: &'static str,
        /// The adapter's HTTP status.
        status: u16,
        /// What is wrong with it.
        why: AnswerError,
    },
}

/// Posts `envelope` to `adapter` and returns the status and the whole answer body, within
/// `timeout`.
async fn post(
    adapter: &ExternalAdapter,
    hook: &'static str,
    envelope: Vec<u8>,
    timeout: Duration,
) -> Result<(StatusCode, Bytes), HookError> {
    let unreachable = |why: String| HookError::Unreachable {
        name: adapter.name.clone(),
        url: adapter.url.url.clone(),
        hook,
        why,
    };
    let exchange = async {
        let url = &adapter.url;
        let tcp = TcpStream::connect((url.host.as_str(), url.port))
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let (mut sender, conn) = http1::handshake::<_, Full<Bytes>>(TokioIo::new(tcp))
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let driver = tokio::spawn(conn);
        let req = Request::builder()
            .method(Method::POST)
            .uri(url.path.as_str())
            .header(hyper::header::HOST, url.authority.as_str())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::CONTENT_LENGTH, envelope.len())
            .body(Full::new(Bytes::from(envelope)))
            .map_err(|e| unreachable(e.to_string()))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let status = resp.status();
        let body = http_body_util::Limited::new(resp.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| unreachable(format!("reading the answer: {e}")))?
            .to_bytes();
        driver.abort();
        Ok((status, body))
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(r) => r,
        Err(_) => Err(HookError::Timeout {
            name: adapter.name.clone(),
            url: adapter.url.url.clone(),
            hook,
            secs: timeout.as_secs(),
        }),
    }
}

fn bad(
    adapter: &ExternalAdapter,
    hook: &'static str,
    status: StatusCode,
    why: AnswerError,
) -> HookError {
    HookError::BadAnswer {
        name: adapter.name.clone(),
        url: adapter.url.url.clone(),
        hook,
        status: status.as_u16(),
        why,
    }
}

/// Runs the pre-hooks in order, each seeing the body the previous one returned, and returns
/// the final body (`None`: null). With no hooks, `req.body` unchanged.
pub async fn run_pre(
    hooks: &[ExternalAdapter],
    req: &ClientRequest,
    timeout: Duration,
) -> Result<Option<String>, HookError> {
    let mut current = req.clone();
    for adapter in hooks {
        let (status, answer) =
            post(adapter, "pre-hook", envelope::pre_hook(&current), timeout).await?;
        // Powerstrip treats any status with a valid envelope as success.
        current.body =
            envelope::read_pre_answer(&answer).map_err(|e| bad(adapter, "pre-hook", status, e))?;
    }
    Ok(current.body)
}

/// Runs the post-hooks in order over Docker's `response` and returns the final body text.
/// `original` is the request as the client sent it.
pub async fn run_post(
    hooks: &[ExternalAdapter],
    original: &ClientRequest,
    mut response: ServerResponse,
    timeout: Duration,
) -> Result<String, HookError> {
    for adapter in hooks {
        let env = envelope::post_hook(original, &response);
        let (status, answer) = post(adapter, "post-hook", env, timeout).await?;
        response.body = envelope::read_post_answer(&answer)
            .map_err(|e| bad(adapter, "post-hook", status, e))?;
    }
    Ok(response.body)
}
