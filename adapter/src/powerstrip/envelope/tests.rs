//! Envelopes captured from powerstrip (docs/design.md §6) as fixtures, both ways.

use super::*;

const PRE_CREATE: &str = r#"{"Type":"pre-hook","PowerstripProtocolVersion":1,"ClientRequest":{"Method":"POST","Request":"/v1.41/containers/create?name=web-1","Body":"{\"Env\":[\"WEAVE_CIDR=10.2.1.1/24\"],\"Cmd\":null,\"Image\":\"example/app:1\"}\n"}}"#;
const POST_CREATE: &str = r#"{"Type":"post-hook","PowerstripProtocolVersion":1,
 "ClientRequest":{"Method":"POST","Request":"/v1.41/containers/create?name=web-1","Body":"{}\n"},
 "ServerResponse":{"Body":"{\"Id\":\"c27817ff1c7f1ff1147433828250931e42e2481bf8cd05f6929e9858cbd82c79\",\"Warnings\":[]}\n","Code":201,"ContentType":"application/json"}}"#;
const PRE_START: &str = r#"{"Type":"pre-hook","PowerstripProtocolVersion":1,"ClientRequest":{"Method":"POST","Request":"/v1.41/containers/web-5/start","Body":null}}"#;
const POST_START: &str = r#"{"Type":"post-hook","PowerstripProtocolVersion":1,
 "ClientRequest":{"Method":"POST","Request":"/v1.41/containers/web-5/start","Body":null},
 "ServerResponse":{"Body":"","Code":204,"ContentType":null}}"#;
const POST_RESTART: &str = r#"{"Type":"post-hook","PowerstripProtocolVersion":1,
 "ClientRequest":{"Method":"POST","Request":"/v1.41/containers/6f0136716946e268d51eae11978ec5e42183fc6ed80aeb480e4afc2fcc223419/restart?t=1","Body":null},
 "ServerResponse":{"Body":"","Code":204,"ContentType":null}}"#;
const POST_GET_404: &str = r#"{"Type":"post-hook","PowerstripProtocolVersion":1,"ClientRequest":{"Method":"GET","Request":"/v1.41/images/nonexistent:zz/json?x=1","Body":null},
 "ServerResponse":{"Body":"{\"message\":\"no such image: nonexistent:zz: No such image: nonexistent:zz\"}\n","Code":404,"ContentType":"application/json"}}"#;

fn answer(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("answers are JSON")
}

#[test]
fn pre_hook_create_is_parsed_with_its_body_text() {
    let Hook::Pre(req) = parse(PRE_CREATE.as_bytes()).unwrap() else {
        panic!("expected pre-hook")
    };
    assert_eq!(req.method, "POST");
    assert_eq!(req.request, "/v1.41/containers/create?name=web-1");
    assert!(req.body.as_deref().unwrap().ends_with("}\n"));
}

#[test]
fn pre_hook_start_has_null_body_and_null_is_echoed() {
    let Hook::Pre(req) = parse(PRE_START.as_bytes()).unwrap() else {
        panic!("expected pre-hook")
    };
    assert_eq!(req.body, None);
    let a = answer(&pre_answer(&req, req.body.as_deref()));
    assert_eq!(a["PowerstripProtocolVersion"], 1);
    assert_eq!(a["ModifiedClientRequest"]["Body"], Value::Null);
    assert_eq!(
        a["ModifiedClientRequest"]["Request"],
        "/v1.41/containers/web-5/start"
    );
    assert_eq!(a["ModifiedClientRequest"]["Method"], "POST");
}

#[test]
fn pre_answer_body_is_a_string_holding_json_text() {
    let Hook::Pre(req) = parse(PRE_CREATE.as_bytes()).unwrap() else {
        panic!()
    };
    let a = answer(&pre_answer(&req, Some("{\"A\":1}")));
    assert_eq!(a["ModifiedClientRequest"]["Body"], "{\"A\":1}");
}

#[test]
fn post_hooks_of_start_and_restart_name_their_container() {
    let Hook::Post { request, response } = parse(POST_START.as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(response.code, 204);
    assert_eq!(response.content_type, None);
    assert_eq!(response.body, "");
    assert_eq!(request.request, "/v1.41/containers/web-5/start");
    let Hook::Post { request, .. } = parse(POST_RESTART.as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(
        request.request,
        "/v1.41/containers/6f0136716946e268d51eae11978ec5e42183fc6ed80aeb480e4afc2fcc223419/restart?t=1"
    );
}

#[test]
fn post_answer_echoes_dockers_response() {
    for fixture in [POST_CREATE, POST_START, POST_GET_404] {
        let Hook::Post { response, .. } = parse(fixture.as_bytes()).unwrap() else {
            panic!()
        };
        let a = answer(&post_answer(&response));
        let m = &a["ModifiedServerResponse"];
        let original: Value = serde_json::from_str(fixture).unwrap();
        assert_eq!(m["Body"], original["ServerResponse"]["Body"]);
        assert_eq!(m["Code"], original["ServerResponse"]["Code"]);
        assert_eq!(m["ContentType"], original["ServerResponse"]["ContentType"]);
    }
}

#[test]
fn malformed_envelopes_still_get_a_full_answer() {
    for bad in [
        "not json",
        "[]",
        "{}",
        r#"{"Type":"pre-hook"}"#,
        r#"{"Type":"post-hook","ClientRequest":{"Method":"GET","Request":"/x","Body":null}}"#,
        r#"{"Type":"other"}"#,
    ] {
        let err = parse(bad.as_bytes()).unwrap_err();
        let a = answer(&err.fallback);
        assert_eq!(a["PowerstripProtocolVersion"], 1, "{bad}");
        let has_pre = a["ModifiedClientRequest"].is_object();
        let has_post = a["ModifiedServerResponse"]["Body"].is_string();
        assert!(has_pre || has_post, "{bad}: {a}");
    }
}

#[test]
fn malformed_client_body_is_echoed_unchanged() {
    // Body of the wrong type in a pre-hook: echo what we can, Body null.
    let bad = r#"{"Type":"pre-hook","ClientRequest":{"Method":"POST","Request":"/containers/create","Body":{"a":1}}}"#;
    let err = parse(bad.as_bytes()).unwrap_err();
    assert!(err.why.contains("ClientRequest.Body"), "{}", err.why);
    let a = answer(&err.fallback);
    assert_eq!(a["ModifiedClientRequest"]["Request"], "/containers/create");
    // A post-hook with a broken ClientRequest still echoes Docker's answer.
    let bad = r#"{"Type":"post-hook","ClientRequest":{"Method":5},"ServerResponse":{"Body":"x","Code":201,"ContentType":"text/plain"}}"#;
    let err = parse(bad.as_bytes()).unwrap_err();
    let a = answer(&err.fallback);
    assert_eq!(a["ModifiedServerResponse"]["Body"], "x");
    assert_eq!(a["ModifiedServerResponse"]["Code"], 201);
}

#[test]
fn other_versions_are_read_but_named() {
    let v2 = PRE_START.replace(
        "\"PowerstripProtocolVersion\":1",
        "\"PowerstripProtocolVersion\":2",
    );
    assert_ne!(v2, PRE_START);
    let e = parse_envelope(v2.as_bytes()).unwrap();
    assert!(matches!(e.hook, Hook::Pre(_)));
    let why = e.version_problem.expect("version 2 is named");
    assert!(why.contains("PowerstripProtocolVersion 2"), "{why}");
    assert!(why.contains("we speak version 1"), "{why}");

    let none = PRE_START.replace("\"PowerstripProtocolVersion\":1,", "");
    let why = parse_envelope(none.as_bytes()).unwrap().version_problem;
    assert!(why.unwrap().contains("no PowerstripProtocolVersion"));

    assert_eq!(
        parse_envelope(PRE_START.as_bytes())
            .unwrap()
            .version_problem,
        None
    );
}

#[test]
fn non_json_is_named_with_what_came() {
    let err = parse(b"not json").unwrap_err();
    assert!(err.why.contains("not JSON"), "{}", err.why);
    assert!(err.why.contains("\"not json\" (8 bytes)"), "{}", err.why);
    let long = vec![b'x'; 1000];
    let err = parse(&long).unwrap_err();
    assert!(err.why.contains("\"... (1000 bytes)"), "{}", err.why);
}

// ---- As the proxy calling external adapters ----------------------------------------------

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
    let v: Value = serde_json::from_slice(&post_hook(
        &create(),
        &ServerResponse {
            content_type: None,
            body: String::new(),
            code: 204,
        },
    ))
    .unwrap();
    assert_eq!(v["Type"], "post-hook");
    assert_eq!(v["ServerResponse"]["Code"], 204);
    assert!(v["ServerResponse"]["ContentType"].is_null());
    assert_eq!(v["ServerResponse"]["Body"], "");
    assert_eq!(v["ClientRequest"]["Body"], "{\"Image\":\"x\"}\n");
}

#[test]
fn answers_are_checked() {
    let ok = br#"{"PowerstripProtocolVersion":1,"ModifiedClientRequest":{"Method":"POST","Request":"/x","Body":"{}"}}"#;
    assert_eq!(read_pre_answer(ok).unwrap(), Some("{}".to_string()));
    let null = br#"{"ModifiedClientRequest":{"Body":null}}"#;
    assert_eq!(read_pre_answer(null).unwrap(), None);
    assert!(matches!(
        read_pre_answer(b"<html>"),
        Err(AnswerError::NotJson(_))
    ));
    assert!(matches!(
        read_pre_answer(br#"{"ModifiedClientRequest":{"Body":{"a":1}}}"#),
        Err(AnswerError::Shape { .. })
    ));
    assert!(matches!(
        read_pre_answer(br#"{"ModifiedServerResponse":{"Body":"x"}}"#),
        Err(AnswerError::Shape { .. })
    ));
    let post = br#"{"ModifiedServerResponse":{"ContentType":"application/json","Body":"{}\n","Code":201}}"#;
    assert_eq!(read_post_answer(post).unwrap(), "{}\n");
    let err = read_post_answer(br#"{"ModifiedServerResponse":{"Body":null}}"#).unwrap_err();
    assert!(
        err.to_string()
            .contains("ModifiedServerResponse.Body string"),
        "{err}"
    );
}

#[test]
fn what_the_proxy_sends_an_adapter_reads_back_unchanged() {
    let Hook::Pre(req) = parse(&pre_hook(&create())).unwrap() else {
        panic!("expected pre-hook")
    };
    assert_eq!(req, create());
    let response = ServerResponse {
        content_type: Some("application/json".into()),
        body: "{}\n".into(),
        code: 201,
    };
    let Hook::Post {
        request,
        response: r,
    } = parse(&post_hook(&create(), &response)).unwrap()
    else {
        panic!("expected post-hook")
    };
    assert_eq!((request, r), (create(), response));
}
