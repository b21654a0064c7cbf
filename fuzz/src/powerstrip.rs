//! Targets `powerstrip_pre` and `powerstrip_post`: the powerstrip adapter protocol
//! (docs/design.md §6), input = one envelope as powerstrip posts it. The two targets check
//! the same properties on every input; they differ in their seeds and in the part they
//! take further: `powerstrip_pre` runs the real create decision on a create's body,
//! `powerstrip_post` the attach outcomes of a start.
//!
//! The envelope goes to the adapter's pure core: `adapter::powerstrip::adapter::step`, then
//! `answer_create` or `answer_started` with every outcome the hooks can give. Properties:
//! - no input panics;
//! - every answer is an envelope powerstrip accepts (it hangs the client on anything
//!   else): a JSON object with `PowerstripProtocolVersion` 1 and, for the envelope's
//!   `Type`, the right key with a Body of the right type (`ModifiedClientRequest.Body` a
//!   string or null, `ModifiedServerResponse.Body` a string); both keys when the `Type`
//!   cannot be told; and the proxy's reader of answers (`read_pre_answer`,
//!   `read_post_answer`) reads back the Body answered;
//! - where nothing applies the answer echoes what came: a pre-hook that is not a create
//!   with a body gets its own Body back (null for null or absent), a post-hook that is
//!   not a start or restart answered 2xx but 304 gets Docker's Body, Code and ContentType,
//!   and an envelope that cannot be read whole gets back the parts that can (a Body of
//!   another type reads as null, or `""` for Docker's);
//! - a create's answer carries the client's Body unless the decision sends another, then
//!   that one; a start's answer carries Docker's Body, or `{"message": …}` when the attach
//!   failed; Method, Request, Code and ContentType are always echoed;
//! - as the proxy sends hooks to external adapters: an envelope the adapter reads, written
//!   again with `pre_hook` or `post_hook`, reads back to the same hook, as version 1;
//! - the proxy's reader of answers, given the input itself, never panics and reads a Body
//!   exactly when the input has the key with a Body of the right type.

use adapter::policy::create::{self, Decision, ImageLookup, Instead, Plan, Refusal, RefusalKind};
use adapter::policy::rewrite::ImageConfig;
use adapter::policy::route;
use adapter::policy::Policy;
use adapter::powerstrip::adapter::{answer_create, answer_started, step, Step};
use adapter::powerstrip::envelope::{self, ClientRequest, Hook, ServerResponse};
use serde_json::{json, Map, Value};

const PRE: &str = "ModifiedClientRequest";
const POST: &str = "ModifiedServerResponse";

/// Target `powerstrip_pre`: the properties above, and a create's body through the real
/// create decision.
pub fn check_pre(data: &[u8]) {
    check(data);
    if let Step::Create { request, body } = step(data) {
        let policy = Policy::default();
        let decision = match create::plan(body.as_bytes(), &policy) {
            Plan::Decided(d) => d,
            Plan::Inspect(p) => p.decide(ImageLookup::Found(busybox()), &policy),
        };
        let sent = match &decision {
            Decision::Pass
            | Decision::Ignore(_)
            | Decision::Refuse(Refusal {
                instead: Instead::Original,
                ..
            }) => body.clone(),
            Decision::Rewrite(b)
            | Decision::Refuse(Refusal {
                instead: Instead::Rewritten(b),
                ..
            }) => b.clone(),
        };
        let answer = envelope_of(&answer_create(&request, decision), Some("pre-hook"));
        assert_eq!(answer[PRE]["Body"], Value::String(sent), "the decided body");
    }
}

/// Target `powerstrip_post`: the properties above, and Docker's answers of every code to
/// the request of a post-hook.
pub fn check_post(data: &[u8]) {
    check(data);
    if let Ok(Hook::Post { request, response }) = envelope::parse(data) {
        for code in [200, 204, 304, 404, 500] {
            let other = ServerResponse {
                code,
                ..response.clone()
            };
            let again = envelope::post_hook(&request, &other);
            check(&again);
            let attached = matches!(step(&again), Step::Attach { .. });
            let route = route::classify(&request.method, &request.request);
            assert_eq!(
                attached,
                route.started_container().is_some() && code != 304 && code / 100 == 2,
                "{code} to {:?}",
                request.request
            );
        }
    }
}

/// What `docker image inspect` says of busybox.
fn busybox() -> ImageConfig {
    ImageConfig {
        entrypoint: None,
        cmd: Some(vec!["sh".into()]),
    }
}

/// The properties both targets check.
fn check(data: &[u8]) {
    check_answer_reader(data);
    let came: Option<Map<String, Value>> = match serde_json::from_slice(data) {
        Ok(Value::Object(obj)) => Some(obj),
        _ => None,
    };
    let kind = came
        .as_ref()
        .and_then(|obj| obj.get("Type"))
        .and_then(Value::as_str);
    let client = came
        .as_ref()
        .and_then(|obj| obj.get("ClientRequest"))
        .and_then(Value::as_object);
    let server = came
        .as_ref()
        .and_then(|obj| obj.get("ServerResponse"))
        .and_then(Value::as_object);

    match step(data) {
        Step::Answer(answer) => {
            let answer = envelope_of(&answer, kind);
            match kind {
                Some("pre-hook") => echoes_client(&answer, client),
                Some("post-hook") => echoes_server(&answer, server),
                _ => {}
            }
        }
        Step::Create { request, body } => {
            assert_eq!(kind, Some("pre-hook"));
            let client = client.expect("a create has a ClientRequest");
            assert_eq!(client.get("Body"), Some(&Value::String(body.clone())));
            assert_eq!(request.body.as_deref(), Some(body.as_str()));
            for (decision, sent) in decisions(&body) {
                let answer = envelope_of(&answer_create(&request, decision), kind);
                echoes_request(&answer, client);
                assert_eq!(
                    answer[PRE]["Body"],
                    Value::String(sent),
                    "the body Docker gets"
                );
            }
            round_trip(data, Hook::Pre(request));
        }
        Step::Attach {
            container,
            response,
        } => {
            assert_eq!(kind, Some("post-hook"));
            let server = server.expect("an attach has a ServerResponse");
            let request = client
                .map(|c| read_client(c).expect("an attach has a valid ClientRequest"))
                .expect("an attach has a ClientRequest");
            let route = route::classify(&request.method, &request.request);
            assert_eq!(route.started_container(), Some(container.as_str()));
            assert!(route::attach_after(response.code), "{}", response.code);
            for attached in [
                Ok(()),
                Err("container web-5 was not given its network".to_string()),
            ] {
                let failed = attached.clone().err();
                let answer = envelope_of(&answer_started(response.clone(), attached), kind);
                let got = &answer[POST];
                assert_eq!(got["Code"], server["Code"]);
                assert_eq!(
                    got["ContentType"],
                    string_or_null(server.get("ContentType"))
                );
                match failed {
                    None => assert_eq!(got["Body"], server_body(server), "Docker's body"),
                    Some(message) => {
                        let text = got["Body"].as_str().expect("a string");
                        let body: Value = serde_json::from_str(text).expect("JSON");
                        assert_eq!(body, json!({ "message": message }));
                    }
                }
            }
            round_trip(data, Hook::Post { request, response });
        }
    }
}

/// What a decision on `body` may be, with the body Docker then gets.
fn decisions(body: &str) -> Vec<(Decision, String)> {
    let rewritten = "{\"Entrypoint\":[\"/home/weavewait/wait-for-weave\"]}\n".to_string();
    let refusal = |instead| {
        Decision::Refuse(Refusal {
            kind: RefusalKind::InvalidCidr,
            message: "invalid WEAVE_CIDR \"x\": …".into(),
            instead,
        })
    };
    vec![
        (Decision::Pass, body.to_string()),
        (Decision::Rewrite(rewritten.clone()), rewritten.clone()),
        (refusal(Instead::Original), body.to_string()),
        (refusal(Instead::Rewritten(rewritten.clone())), rewritten),
    ]
}

/// Checks that `answer` is an envelope powerstrip accepts for a hook of type `kind`, and
/// returns it.
fn envelope_of(answer: &[u8], kind: Option<&str>) -> Value {
    let v: Value = serde_json::from_slice(answer).expect("an answer is JSON");
    assert!(v.is_object(), "an answer is an object: {v}");
    assert_eq!(v["PowerstripProtocolVersion"], json!(1), "{v}");
    let (pre, post) = match kind {
        Some("pre-hook") => (true, false),
        Some("post-hook") => (false, true),
        _ => (true, true),
    };
    if pre {
        let body = &v[PRE]["Body"];
        assert!(
            v[PRE].get("Body").is_some() && (body.is_string() || body.is_null()),
            "{v}"
        );
        let read = envelope::read_pre_answer(answer).expect("the proxy reads the answer");
        assert_eq!(read.map_or(Value::Null, Value::String), *body);
    }
    if post {
        let body = &v[POST]["Body"];
        assert!(body.is_string(), "{v}");
        let read = envelope::read_post_answer(answer).expect("the proxy reads the answer");
        assert_eq!(Value::String(read), *body);
    }
    v
}

/// A pre-hook answered without a decision: the client's Body back (null for anything but
/// a string), and its Method and Request when it had them.
fn echoes_client(answer: &Value, client: Option<&Map<String, Value>>) {
    let Some(client) = client else {
        assert_eq!(answer[PRE]["Body"], Value::Null);
        return;
    };
    assert_eq!(
        answer[PRE]["Body"],
        string_or_null(client.get("Body")),
        "the echo"
    );
    echoes_request(answer, client);
}

/// Method and Request as they came (`""` for what was not a string).
fn echoes_request(answer: &Value, client: &Map<String, Value>) {
    for key in ["Method", "Request"] {
        let came = client.get(key).and_then(Value::as_str).unwrap_or("");
        assert_eq!(answer[PRE][key], json!(came), "{key} echoed");
    }
}

/// A post-hook answered without an attach: Docker's answer back.
fn echoes_server(answer: &Value, server: Option<&Map<String, Value>>) {
    let got = &answer[POST];
    let Some(server) = server else {
        assert_eq!(got["Body"], json!(""));
        return;
    };
    assert_eq!(got["Body"], server_body(server), "Docker's body echoed");
    assert_eq!(
        got["ContentType"],
        string_or_null(server.get("ContentType")),
        "Docker's content type echoed"
    );
    let code = server
        .get("Code")
        .and_then(Value::as_u64)
        .filter(|&c| c <= u64::from(u16::MAX));
    assert_eq!(
        got["Code"].as_u64(),
        Some(code.unwrap_or(200)),
        "Docker's code echoed"
    );
}

fn server_body(server: &Map<String, Value>) -> Value {
    json!(server.get("Body").and_then(Value::as_str).unwrap_or(""))
}

fn string_or_null(v: Option<&Value>) -> Value {
    v.filter(|v| v.is_string()).cloned().unwrap_or(Value::Null)
}

/// The ClientRequest as the adapter must read it: Method and Request strings, Body a
/// string, null or absent.
fn read_client(client: &Map<String, Value>) -> Option<ClientRequest> {
    let body = match client.get("Body") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return None,
    };
    Some(ClientRequest {
        method: client.get("Method")?.as_str()?.to_string(),
        request: client.get("Request")?.as_str()?.to_string(),
        body,
    })
}

/// The hook read from `data`, written again as the proxy writes hooks, reads back the same.
fn round_trip(data: &[u8], hook: Hook) {
    assert_eq!(envelope::parse(data).as_ref(), Ok(&hook));
    let again = match &hook {
        Hook::Pre(request) => envelope::pre_hook(request),
        Hook::Post { request, response } => envelope::post_hook(request, response),
    };
    let read = envelope::parse_envelope(&again).expect("a hook we wrote reads back");
    assert_eq!(read.hook, hook);
    assert_eq!(read.version_problem, None);
}

/// The proxy's reader of an external adapter's answer, given the input as the answer.
fn check_answer_reader(data: &[u8]) {
    let pre = envelope::read_pre_answer(data);
    let post = envelope::read_post_answer(data);
    let v: Option<Value> = serde_json::from_slice(data).ok();
    let body = |key: &str| {
        v.as_ref()
            .and_then(|v| v.get(key))
            .and_then(Value::as_object)
            .and_then(|m| m.get("Body"))
            .cloned()
    };
    match body(PRE) {
        Some(Value::String(s)) => assert_eq!(pre, Ok(Some(s))),
        Some(Value::Null) => assert_eq!(pre, Ok(None)),
        _ => assert!(pre.is_err(), "{pre:?}"),
    }
    match body(POST) {
        Some(Value::String(s)) => assert_eq!(post, Ok(s)),
        _ => assert!(post.is_err(), "{post:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_made_inputs() {
        for input in [
            r#"{"Type":"pre-hook","PowerstripProtocolVersion":1,"ClientRequest":{"Method":"POST","Request":"/v1.41/containers/create","Body":"{\"Env\":[\"WEAVE_CIDR=10.2.1.1/24\"],\"Image\":\"busybox\"}\n"}}"#,
            r#"{"Type":"pre-hook","ClientRequest":{"Method":"POST","Request":"/v1.41/containers/create","Body":7}}"#,
            r#"{"Type":"post-hook","PowerstripProtocolVersion":2,"ClientRequest":{"Method":"POST","Request":"/containers/web-5/start","Body":null},"ServerResponse":{"Body":"","Code":204,"ContentType":null}}"#,
            r#"{"Type":"post-hook","ServerResponse":{"Body":"x","Code":70000}}"#,
            r#"{"Type":"post-hook","ClientRequest":{"Method":"POST","Request":"/containers/a/restart"},"ServerResponse":{"Code":200}}"#,
            r#"{"ModifiedClientRequest":{"Body":null},"ModifiedServerResponse":{"Body":"x"}}"#,
            r#"{"Type":"what"}"#,
            "[]",
            "\u{0}",
        ] {
            check_pre(input.as_bytes());
            check_post(input.as_bytes());
        }
    }

    #[test]
    #[should_panic(expected = "the echo")]
    fn the_check_can_fail() {
        let client = json!({"Method": "GET", "Request": "/info", "Body": "x"});
        // As if a pre-hook had been answered with the body dropped.
        let answer = json!({"PowerstripProtocolVersion": 1,
            "ModifiedClientRequest": {"Method": "GET", "Request": "/info", "Body": null}});
        echoes_client(&answer, client.as_object());
    }
}
