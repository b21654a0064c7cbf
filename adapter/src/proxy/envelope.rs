//! Powerstrip protocol v1 envelopes as the proxy sends them to external adapters and reads
//! their answers (pure). Shapes are the ones captured from powerstrip (REFERENCE.md):
//! bodies are JSON *strings* holding the raw text, or null.

use serde_json::{json, Value};

/// What is wrong with an adapter's answer (the proxy turns it into a 502).
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

/// The request part of both envelopes: method, raw request target (path and `?query`) and
/// the body as a string, or `None` (sent as null) when there is none to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    /// `"POST"`, `"GET"`…
    pub method: String,
    /// The raw request target, query included: `/v1.41/containers/create?name=web-1`.
    pub request: String,
    /// The body text, or `None`.
    pub body: Option<String>,
}

impl ClientRequest {
    fn to_value(&self) -> Value {
        json!({"Method": self.method, "Request": self.request, "Body": self.body})
    }
}

/// The pre-hook envelope: `{"PowerstripProtocolVersion":1,"Type":"pre-hook","ClientRequest":…}`.
pub fn pre_hook(req: &ClientRequest) -> Vec<u8> {
    let v = json!({
        "PowerstripProtocolVersion": 1,
        "Type": "pre-hook",
        "ClientRequest": req.to_value(),
    });
    serde_json::to_vec(&v).expect("a Value always serialises")
}

/// The post-hook envelope. `original` is the request as the client sent it (before any
/// pre-hook rewrite); `body` the response text so far ("" when empty); `code` Docker's status.
pub fn post_hook(
    original: &ClientRequest,
    content_type: Option<&str>,
    body: &str,
    code: u16,
) -> Vec<u8> {
    let v = json!({
        "PowerstripProtocolVersion": 1,
        "Type": "post-hook",
        "ClientRequest": original.to_value(),
        "ServerResponse": {"ContentType": content_type, "Body": body, "Code": code},
    });
    serde_json::to_vec(&v).expect("a Value always serialises")
}

/// Reads a pre-hook answer: `ModifiedClientRequest.Body`, a string or null. Powerstrip uses
/// nothing else of the answer (Method and Request are ignored).
pub fn pre_answer(bytes: &[u8]) -> Result<Option<String>, AnswerError> {
    match body_of(bytes, "ModifiedClientRequest")? {
        Value::String(s) => Ok(Some(s)),
        Value::Null => Ok(None),
        other => Err(shape("ModifiedClientRequest", "string or null", &other)),
    }
}

/// Reads a post-hook answer: `ModifiedServerResponse.Body`, a string. Powerstrip keeps
/// Docker's status code and Content-Type whatever the answer says.
pub fn post_answer(bytes: &[u8]) -> Result<String, AnswerError> {
    match body_of(bytes, "ModifiedServerResponse")? {
        Value::String(s) => Ok(s),
        other => Err(shape("ModifiedServerResponse", "string", &other)),
    }
}

fn body_of(bytes: &[u8], key: &'static str) -> Result<Value, AnswerError> {
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
mod tests {
    use super::*;

    fn create() -> ClientRequest {
        ClientRequest {
            method: "POST".into(),
            request: "/v1.41/containers/create?name=web-1".into(),
            body: Some("{\"Image\":\"x\"}\n".into()),
        }
    }

    #[test]
    fn pre_hook_has_powerstrip_shape() {
        let v: Value = serde_json::from_slice(&pre_hook(&create())).unwrap();
        assert_eq!(v["PowerstripProtocolVersion"], 1);
        assert_eq!(v["Type"], "pre-hook");
        assert_eq!(v["ClientRequest"]["Method"], "POST");
        assert_eq!(
            v["ClientRequest"]["Request"],
            "/v1.41/containers/create?name=web-1"
        );
        assert_eq!(v["ClientRequest"]["Body"], "{\"Image\":\"x\"}\n");
        let start = ClientRequest {
            method: "POST".into(),
            request: "/v1.41/containers/web-5/start".into(),
            body: None,
        };
        let v: Value = serde_json::from_slice(&pre_hook(&start)).unwrap();
        assert!(v["ClientRequest"]["Body"].is_null());
    }

    #[test]
    fn post_hook_has_powerstrip_shape() {
        let v: Value = serde_json::from_slice(&post_hook(&create(), None, "", 204)).unwrap();
        assert_eq!(v["Type"], "post-hook");
        assert_eq!(v["ServerResponse"]["Code"], 204);
        assert!(v["ServerResponse"]["ContentType"].is_null());
        assert_eq!(v["ServerResponse"]["Body"], "");
        assert_eq!(v["ClientRequest"]["Body"], "{\"Image\":\"x\"}\n");
    }

    #[test]
    fn answers_are_checked() {
        let ok = br#"{"PowerstripProtocolVersion":1,"ModifiedClientRequest":{"Method":"POST","Request":"/x","Body":"{}"}}"#;
        assert_eq!(pre_answer(ok).unwrap(), Some("{}".to_string()));
        let null = br#"{"ModifiedClientRequest":{"Body":null}}"#;
        assert_eq!(pre_answer(null).unwrap(), None);
        assert!(matches!(
            pre_answer(b"<html>"),
            Err(AnswerError::NotJson(_))
        ));
        assert!(matches!(
            pre_answer(br#"{"ModifiedClientRequest":{"Body":{"a":1}}}"#),
            Err(AnswerError::Shape { .. })
        ));
        assert!(matches!(
            pre_answer(br#"{"ModifiedServerResponse":{"Body":"x"}}"#),
            Err(AnswerError::Shape { .. })
        ));
        let post = br#"{"ModifiedServerResponse":{"ContentType":"application/json","Body":"{}\n","Code":201}}"#;
        assert_eq!(post_answer(post).unwrap(), "{}\n");
        let err = post_answer(br#"{"ModifiedServerResponse":{"Body":null}}"#).unwrap_err();
        assert!(
            err.to_string()
                .contains("ModifiedServerResponse.Body string"),
            "{err}"
        );
    }
}
