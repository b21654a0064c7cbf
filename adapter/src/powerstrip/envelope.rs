//! The powerstrip adapter protocol v1 (docs/design.md §6), both ways, no I/O: as an
//! adapter (hook envelopes in, answers out: [`parse_envelope`], [`pre_answer`],
//! [`post_answer`]) and as the proxy calling external adapters (hook envelopes out, answers
//! in: [`pre_hook`], [`post_hook`], [`read_pre_answer`], [`read_post_answer`]). Bodies are
//! JSON *strings* holding the raw text, or null.
//!
//! Powerstrip hangs the user's docker command on anything but a 200 JSON envelope with the
//! right key and a Body of the right type, so every function here that builds an answer
//! always yields a full envelope, whatever came in.

use serde_json::{json, Map, Value};

/// The protocol version we speak and answer with.
pub const VERSION: u64 = 1;

/// The client request as powerstrip forwards it (`ClientRequest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Raw request target including `?query`, e.g. `/v1.41/containers/create?name=web-1`.
    pub request: String,
    /// The client's body as text; `None` when powerstrip sent null (no JSON content type).
    pub body: Option<String>,
}

/// Docker's answer as powerstrip forwards it to post-hooks (`ServerResponse`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerResponse {
    /// Content-Type of Docker's answer, `None` when it had none.
    pub content_type: Option<String>,
    /// Docker's body, `""` when empty.
    pub body: String,
    /// Docker's HTTP status code.
    pub code: u16,
}

/// One hook call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hook {
    /// Before Docker sees the request: may rewrite the body.
    Pre(ClientRequest),
    /// After Docker answered; `request` is the original (pre-rewrite) client request.
    Post {
        /// The original client request.
        request: ClientRequest,
        /// Docker's answer.
        response: ServerResponse,
    },
}

/// An envelope we cannot act on. `fallback` is the answer to send anyway: the unchanged
/// echo of whatever could be read, so the user's client never hangs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("malformed powerstrip envelope: {why}")]
pub struct ProtocolError {
    /// What is wrong, naming the field.
    pub why: String,
    /// The 200 envelope to answer with.
    pub fallback: Vec<u8>,
}

/// One envelope read: the hook, and what is odd about its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The hook to answer.
    pub hook: Hook,
    /// Set when `PowerstripProtocolVersion` is not [`VERSION`] (or absent): the hook is
    /// still answered, as version 1, since powerstrip hangs the client on anything else,
    /// but the sender should hear of it. Names the version found and the one we speak.
    pub version_problem: Option<String>,
}

/// Parses one hook envelope (the POST body powerstrip sends); see [`parse_envelope`].
pub fn parse(envelope: &[u8]) -> Result<Hook, ProtocolError> {
    parse_envelope(envelope).map(|e| e.hook)
}

/// Parses one hook envelope (the POST body powerstrip sends), noting a
/// `PowerstripProtocolVersion` other than [`VERSION`].
///
/// Errors: not JSON (the message quotes the start of what came), not an object, unknown
/// `Type`, missing or mistyped `ClientRequest` / `ServerResponse` fields. The error
/// carries the answer to send anyway.
pub fn parse_envelope(envelope: &[u8]) -> Result<Envelope, ProtocolError> {
    let value: Value = match serde_json::from_slice(envelope) {
        Ok(v) => v,
        Err(e) => {
            return Err(ProtocolError {
                why: format!("not JSON ({e}), received {}", preview(envelope)),
                fallback: unknown_answer(),
            })
        }
    };
    let hook = parse_hook(&value)?;
    let version_problem = match value.get("PowerstripProtocolVersion") {
        Some(v) if v.as_u64() == Some(VERSION) => None,
        Some(v) => Some(format!(
            "PowerstripProtocolVersion {v} received, but we speak version {VERSION}; answered as version {VERSION}"
        )),
        None => Some(format!(
            "no PowerstripProtocolVersion in the envelope; we speak version {VERSION} and answered as such"
        )),
    };
    Ok(Envelope {
        hook,
        version_problem,
    })
}

/// The first bytes of a body for an error message, quoted and escaped.
fn preview(body: &[u8]) -> String {
    const MAX: usize = 64;
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX)]);
    let more = if body.len() > MAX { "..." } else { "" };
    format!("{:?}{more} ({} bytes)", text, body.len())
}

fn parse_hook(value: &Value) -> Result<Hook, ProtocolError> {
    let Some(obj) = value.as_object() else {
        return Err(ProtocolError {
            why: "not a JSON object".to_string(),
            fallback: unknown_answer(),
        });
    };
    let kind = obj.get("Type").and_then(Value::as_str);
    let client = obj.get("ClientRequest").and_then(Value::as_object);
    let fail = |why: String, fallback: Vec<u8>| Err(ProtocolError { why, fallback });
    match kind {
        Some("pre-hook") => {
            let Some(client) = client else {
                return fail("pre-hook without ClientRequest".into(), unknown_answer());
            };
            match client_request(client) {
                Ok(req) => Ok(Hook::Pre(req)),
                Err(why) => fail(why, echo_client(client)),
            }
        }
        Some("post-hook") => {
            let server = obj.get("ServerResponse").and_then(Value::as_object);
            let Some(server) = server else {
                return fail("post-hook without ServerResponse".into(), unknown_answer());
            };
            let response = match server_response(server) {
                Ok(r) => r,
                Err(why) => return fail(why, echo_server(server)),
            };
            let Some(Ok(request)) = client.map(client_request) else {
                return fail(
                    "post-hook without a valid ClientRequest".into(),
                    post_answer(&response),
                );
            };
            Ok(Hook::Post { request, response })
        }
        other => fail(format!("unknown Type {other:?}"), unknown_answer()),
    }
}

fn client_request(obj: &Map<String, Value>) -> Result<ClientRequest, String> {
    let text = |k: &str| {
        obj.get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("ClientRequest.{k} is not a string"))
    };
    let body = match obj.get("Body") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err("ClientRequest.Body is neither a string nor null".to_string()),
    };
    Ok(ClientRequest {
        method: text("Method")?,
        request: text("Request")?,
        body,
    })
}

fn server_response(obj: &Map<String, Value>) -> Result<ServerResponse, String> {
    let body = match obj.get("Body") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err("ServerResponse.Body is not a string".to_string()),
    };
    let code = obj
        .get("Code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .ok_or("ServerResponse.Code is not an HTTP status")?;
    let content_type = obj
        .get("ContentType")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(ServerResponse {
        content_type,
        body,
        code,
    })
}

/// The pre-hook answer: `ModifiedClientRequest` with `body` as the body Docker gets (null
/// only when null was received: powerstrip sends an empty body for null).
pub fn pre_answer(request: &ClientRequest, body: Option<&str>) -> Vec<u8> {
    json!({
        "PowerstripProtocolVersion": VERSION,
        "ModifiedClientRequest": {
            "Method": request.method,
            "Request": request.request,
            "Body": body,
        }
    })
    .to_string()
    .into_bytes()
}

/// The post-hook answer: `ModifiedServerResponse` echoing Docker's answer, `body` the text
/// the client gets (powerstrip uses only the Body; the client gets Docker's status code).
pub fn post_answer(response: &ServerResponse) -> Vec<u8> {
    json!({
        "PowerstripProtocolVersion": VERSION,
        "ModifiedServerResponse": {
            "ContentType": response.content_type,
            "Body": response.body,
            "Code": response.code,
        }
    })
    .to_string()
    .into_bytes()
}

/// The unchanged echo of a ClientRequest we could not fully read.
fn echo_client(obj: &Map<String, Value>) -> Vec<u8> {
    let body = obj.get("Body").and_then(Value::as_str);
    let text = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    pre_answer(
        &ClientRequest {
            method: text("Method"),
            request: text("Request"),
            body: None,
        },
        body,
    )
}

/// The unchanged echo of a ServerResponse we could not fully read.
fn echo_server(obj: &Map<String, Value>) -> Vec<u8> {
    post_answer(&ServerResponse {
        content_type: obj
            .get("ContentType")
            .and_then(Value::as_str)
            .map(str::to_string),
        body: obj
            .get("Body")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        code: obj
            .get("Code")
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok())
            .unwrap_or(200),
    })
}

/// When the hook type cannot be told: both answer keys, so powerstrip finds the one it
/// reads (a Body of the right type in each) and the client never hangs.
fn unknown_answer() -> Vec<u8> {
    json!({
        "PowerstripProtocolVersion": VERSION,
        "ModifiedClientRequest": {"Method": "", "Request": "", "Body": null},
        "ModifiedServerResponse": {"ContentType": null, "Body": "", "Code": 200},
    })
    .to_string()
    .into_bytes()
}

impl ClientRequest {
    fn to_value(&self) -> Value {
        json!({"Method": self.method, "Request": self.request, "Body": self.body})
    }
}

/// The pre-hook envelope the proxy sends an external adapter:
/// `{"PowerstripProtocolVersion":1,"Type":"pre-hook","ClientRequest":…}`.
pub fn pre_hook(req: &ClientRequest) -> Vec<u8> {
    json!({
        "PowerstripProtocolVersion": VERSION,
        "Type": "pre-hook",
        "ClientRequest": req.to_value(),
    })
    .to_string()
    .into_bytes()
}

/// The post-hook envelope the proxy sends an external adapter. `original` is the request as
/// the client sent it (before any pre-hook rewrite); `response` Docker's answer so far.
pub fn post_hook(original: &ClientRequest, response: &ServerResponse) -> Vec<u8> {
    json!({
        "PowerstripProtocolVersion": VERSION,
        "Type": "post-hook",
        "ClientRequest": original.to_value(),
        "ServerResponse": {
            "ContentType": response.content_type,
            "Body": response.body,
            "Code": response.code,
        },
    })
    .to_string()
    .into_bytes()
}

/// What is wrong with an external adapter's answer (the proxy turns it into a 502).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    /// Not JSON at all.
    #[error("the answer is not JSON ({0})")]
    NotJson(String),
    /// JSON without the expected key or with a Body of the wrong type.
    #[error("the answer has no {key}.Body {expected} (got {got})")]
    Shape {
        /// `ModifiedClientRequest` or `ModifiedServerResponse`.
        key: &'static str,
        /// What Body must be.
        expected: &'static str,
        /// A short excerpt of what came instead.
        got: String,
    },
}

/// Reads a pre-hook answer: `ModifiedClientRequest.Body`, a string or null. Powerstrip uses
/// nothing else of the answer (Method and Request are ignored).
pub fn read_pre_answer(bytes: &[u8]) -> Result<Option<String>, AnswerError> {
    match answer_body(bytes, "ModifiedClientRequest")? {
        Value::String(s) => Ok(Some(s)),
        Value::Null => Ok(None),
        other => Err(shape("ModifiedClientRequest", "string or null", &other)),
    }
}

/// Reads a post-hook answer: `ModifiedServerResponse.Body`, a string. Powerstrip keeps
/// Docker's status code and Content-Type whatever the answer says.
pub fn read_post_answer(bytes: &[u8]) -> Result<String, AnswerError> {
    match answer_body(bytes, "ModifiedServerResponse")? {
        Value::String(s) => Ok(s),
        other => Err(shape("ModifiedServerResponse", "string", &other)),
    }
}

fn answer_body(bytes: &[u8], key: &'static str) -> Result<Value, AnswerError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| {
        let start = String::from_utf8_lossy(&bytes[..bytes.len().min(80)]).into_owned();
        AnswerError::NotJson(format!("{e}; starts with {start:?}"))
    })?;
    match v.get(key).and_then(|m| m.as_object()) {
        Some(m) if m.contains_key("Body") => Ok(m["Body"].clone()),
        _ => Err(shape(key, "", &v)),
    }
}

fn shape(key: &'static str, expected: &'static str, got: &Value) -> AnswerError {
    let mut got = got.to_string();
    if got.len() > 80 {
        let mut end = 80;
        while !got.is_char_boundary(end) {
            end -= 1;
        }
        got.truncate(end);
        got.push('…');
    }
    AnswerError::Shape { key, expected, got }
}

#[cfg(test)]
mod tests;
