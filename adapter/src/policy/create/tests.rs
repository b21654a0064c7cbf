//! The create decision: which creates are acted on (docs/design.md §3), the `WEAVE_CIDR`
//! forms (§4), the label scope, the backend's capability, and what each refusal sends in
//! its place.

use super::*;
use crate::policy::rewrite::tests::create;
use crate::policy::rewrite::DEFAULT_WAITER as W;
use crate::policy::Scope;
use serde_json::json;

/// The defaults, with a backend that allocates (so only the grammar judges `WEAVE_CIDR`).
fn allocating() -> Policy {
    Policy {
        allocates: true,
        backend: "weave",
        ..Policy::default()
    }
}

fn scoped(key: &str, value: &str) -> Policy {
    Policy {
        scope: Scope::new(Some((key.to_string(), value.to_string()))),
        ..allocating()
    }
}

fn with_env(env: Value) -> Value {
    let mut body = create(json!(["/a"]), Value::Null);
    body["Env"] = env;
    body
}

/// The decision for `body` under `policy`, which must not need the image.
fn decide(body: &Value, policy: &Policy) -> Decision {
    match plan(body.to_string().as_bytes(), policy) {
        Plan::Decided(d) => d,
        Plan::Inspect(p) => panic!("{body} needs the image {}", p.image()),
    }
}

/// The rewritten body of a decision that rewrites.
fn rewritten(d: Decision) -> Value {
    match d {
        Decision::Rewrite(text) => {
            assert!(text.ends_with("}\n"), "{text:?}");
            serde_json::from_str(&text).unwrap()
        }
        other => panic!("expected a rewrite, got {other:?}"),
    }
}

fn refusal(d: Decision) -> Refusal {
    match d {
        Decision::Refuse(r) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

// ---- Which creates are ours ------------------------------------------------------------

#[test]
fn network_modes_with_own_namespace_are_rewritten() {
    for mode in [
        json!(""),
        json!("default"),
        json!("bridge"),
        json!("none"),
        Value::Null,
    ] {
        let mut body = create(json!(["/a"]), Value::Null);
        body["HostConfig"]["NetworkMode"] = mode.clone();
        assert!(
            matches!(decide(&body, &allocating()), Decision::Rewrite(_)),
            "{mode}"
        );
    }
    let mut body = create(json!(["/a"]), Value::Null);
    body["HostConfig"]
        .as_object_mut()
        .unwrap()
        .remove("NetworkMode");
    assert!(matches!(decide(&body, &allocating()), Decision::Rewrite(_)));
}

#[test]
fn network_modes_host_container_and_user_networks_pass_through() {
    for mode in [
        json!("host"),
        json!("container:web-1"),
        json!("my-net"),
        json!("Bridge"),
        json!(5),
    ] {
        let mut body = create(json!(["/a"]), Value::Null);
        body["HostConfig"]["NetworkMode"] = mode.clone();
        assert_eq!(decide(&body, &allocating()), Decision::Pass, "{mode}");
    }
}

#[test]
fn weave_cidr_none_passes_through() {
    for env in [json!(["WEAVE_CIDR=none"]), json!(["WEAVE_CIDR= none\t"])] {
        assert_eq!(decide(&with_env(env), &allocating()), Decision::Pass);
    }
}

#[test]
fn no_weave_cidr_passes_through() {
    for env in [
        Value::Null,
        json!([]),
        json!(["A=1"]),
        json!(["WEAVE_CIDR"]),
        json!(["WEAVE_CIDRX=1.2.3.4/8"]),
        json!("WEAVE_CIDR=1.2.3.4/8"),
    ] {
        assert_eq!(
            decide(&with_env(env.clone()), &allocating()),
            Decision::Pass,
            "{env}"
        );
    }
    let mut body = create(json!(["/a"]), Value::Null);
    body.as_object_mut().unwrap().remove("Env");
    assert_eq!(decide(&body, &allocating()), Decision::Pass);
}

#[test]
fn bodies_that_are_not_json_objects_pass_through() {
    for body in [&b"not json"[..], b"[1]", b"\"x\"", b""] {
        assert_eq!(
            plan(body, &allocating()),
            Plan::Decided(Decision::Pass),
            "{body:?}"
        );
    }
}

/// The decision for body text `body` under `policy`, which must not need the image.
fn decide_text(body: &[u8], policy: &Policy) -> Decision {
    match plan(body, policy) {
        Plan::Decided(d) => d,
        Plan::Inspect(p) => panic!("{body:?} needs the image {}", p.image()),
    }
}

#[test]
fn bodies_dockerd_reads_are_read_so() {
    // dockerd 20.10 creates from each of these (tried): they must not slip past the waiter.
    let asking = r#"{"Env":["WEAVE_CIDR=10.2.1.1/24"],"Entrypoint":["/a"],"Labels":{"l":"#;
    for tail in [&b"\"x\"}} trailing"[..], b"\"\xff\"}}", br#""\ud800"}}"#] {
        let body = [asking.as_bytes(), tail].concat();
        let sent = rewritten(decide_text(&body, &allocating()));
        assert_eq!(sent["Entrypoint"], json!([W, "/a"]), "{body:?}");
        assert!(sent["Labels"]["l"].is_string(), "{body:?}");
    }
    // U+212A KELVIN SIGN folds to k: this is the host's network.
    let host = r#"{"Env":["WEAVE_CIDR=10.2.1.1/24"],"Entrypoint":["/a"],"HostConfig":{"NetworKMode":"host"}}"#
        .replace("KMode", "\u{212A}Mode");
    assert_eq!(decide_text(host.as_bytes(), &allocating()), Decision::Pass);
}

#[test]
fn fields_given_under_several_spellings_are_refused_when_asking() {
    for (body, field) in [
        (
            r#"{"Env":["WEAVE_CIDR=10.2.1.1/24"],"Entrypoint":["/a"],"entrypoint":["/b"]}"#,
            "Entrypoint",
        ),
        (
            r#"{"Env":["A=1"],"ENV":["WEAVE_CIDR=10.2.1.1/24"],"Entrypoint":["/a"]}"#,
            "Env",
        ),
        (
            r#"{"Env":["WEAVE_CIDR=1.2.3.4"],"HostConfig":{"NetworkMode":"none","networkmode":"host"}}"#,
            "HostConfig.NetworkMode",
        ),
        (
            r#"{"Env":["WEAVE_CIDR="],"Entrypoint":["/a"],"HostConfig":{},"Ho\u017ftConfig":null}"#,
            "HostConfig",
        ),
    ] {
        let r = refusal(decide_text(body.as_bytes(), &allocating()));
        assert_eq!(r.kind, RefusalKind::AmbiguousField, "{body}");
        assert_eq!(r.instead, Instead::Original);
        let message = &r.message;
        assert!(
            message.contains(&format!("gives {field} under several spellings")),
            "{message}"
        );
        assert!(message.contains("give each field once"), "{message}");
    }
    // Nothing asks for ethwe under any spelling: Docker's business.
    for body in [
        r#"{"Env":["A=1"],"env":["WEAVE_CIDR=none"],"Entrypoint":["/a"]}"#,
        r#"{"Cmd":["/a"],"cmd":["/b"]}"#,
    ] {
        assert_eq!(
            decide_text(body.as_bytes(), &allocating()),
            Decision::Pass,
            "{body}"
        );
    }
}

#[test]
fn image_not_needed_when_passing_through() {
    let mut body = create(Value::Null, Value::Null);
    body["Env"] = json!(["WEAVE_CIDR=none"]);
    assert_eq!(decide(&body, &allocating()), Decision::Pass);
}

#[test]
fn first_weave_cidr_entry_wins() {
    let env = json!(["WEAVE_CIDR=none", "WEAVE_CIDR=10.2.1.1/24"]);
    assert_eq!(decide(&with_env(env), &allocating()), Decision::Pass);
    let env = json!(["WEAVE_CIDR=10.2.1.1/24", "WEAVE_CIDR=none"]);
    assert!(matches!(
        decide(&with_env(env), &allocating()),
        Decision::Rewrite(_)
    ));
}

// ---- WEAVE_CIDR forms (grammar: weave_cidr) ------------------------------------------

#[test]
fn every_weave_cidr_form_is_rewritten() {
    for value in [
        "",
        "  ",
        "10.2.1.1/24",
        "ip:10.2.1.1/24",
        "net:10.2.0.0/16",
        "net:default",
        "10.2.1.1/24 ip:10.2.1.2/24 net:default",
    ] {
        let env = json!([format!("WEAVE_CIDR={value}")]);
        let body = rewritten(decide(&with_env(env), &allocating()));
        assert_eq!(body["Entrypoint"], json!([W, "/a"]), "{value:?}");
    }
}

#[test]
fn invalid_weave_cidr_is_refused_and_rewritten_so_the_waiter_refuses_it() {
    for value in [
        "10.2.1.1",
        "10.2.1.1/24,10.2.1.2/24",
        "$(reboot)",
        "none 1.2.3.4/8",
    ] {
        let env = json!([format!("WEAVE_CIDR={value}")]);
        let r = refusal(decide(&with_env(env), &allocating()));
        assert_eq!(r.kind, RefusalKind::InvalidCidr);
        assert!(r.message.starts_with("invalid WEAVE_CIDR"), "{}", r.message);
        assert!(r.message.contains(&format!("{value:?}")), "{}", r.message);
        let Instead::Rewritten(text) = r.instead else {
            panic!("{value:?}: the original would run the app unnetworked")
        };
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["Entrypoint"], json!([W, "/a"]));
    }
}

#[test]
fn invalid_weave_cidr_is_named_before_image_and_command_problems() {
    let mut body = create(Value::Null, Value::Null);
    body["Env"] = json!(["WEAVE_CIDR=10.0.0.1"]);
    let Plan::Inspect(pending) = plan(body.to_string().as_bytes(), &allocating()) else {
        panic!("the merge needs the image")
    };
    for lookup in [
        ImageLookup::Missing,
        ImageLookup::Failed("timeout".into()),
        ImageLookup::Found(ImageConfig::default()),
    ] {
        let r = refusal(pending.clone().decide(lookup.clone(), &allocating()));
        assert_eq!(r.kind, RefusalKind::InvalidCidr, "{lookup:?}");
        // Nothing to rewrite: Docker sees the original and answers by itself.
        assert_eq!(r.instead, Instead::Original, "{lookup:?}");
    }
}

// ---- The image, the command ------------------------------------------------------------

#[test]
fn the_image_is_inspected_only_when_the_entrypoint_is_empty() {
    // Rule 1: a nil Entrypoint takes the image's, an empty-but-set one does not.
    for (e, merged) in [(Value::Null, json!([W, "/entry"])), (json!([]), json!([W]))] {
        let body = create(e, json!(["x"]));
        let Plan::Inspect(pending) = plan(body.to_string().as_bytes(), &allocating()) else {
            panic!("{body} needs the image")
        };
        assert_eq!(pending.image(), "example/app:1");
        let image = ImageConfig {
            entrypoint: Some(vec!["/entry".into()]),
            cmd: None,
        };
        let body = rewritten(pending.decide(ImageLookup::Found(image), &allocating()));
        assert_eq!(body["Entrypoint"], merged);
        assert_eq!(body["Cmd"], json!(["x"]));
    }
}

#[test]
fn a_missing_image_gets_dockers_404_words_and_the_original_body() {
    let body = create(Value::Null, Value::Null);
    let Plan::Inspect(pending) = plan(body.to_string().as_bytes(), &allocating()) else {
        panic!("the merge needs the image")
    };
    let r = refusal(pending.clone().decide(ImageLookup::Missing, &allocating()));
    assert_eq!(r.kind, RefusalKind::NoSuchImage);
    assert_eq!(r.message, "No such image: example/app:1");
    assert_eq!(r.instead, Instead::Original);
    let r = refusal(pending.decide(ImageLookup::Failed("EOF".into()), &allocating()));
    assert_eq!(r.kind, RefusalKind::ImageUnreadable);
    assert_eq!(r.message, "cannot inspect image example/app:1: EOF");
    assert_eq!(r.instead, Instead::Original);
}

#[test]
fn no_command_is_refused_in_dockers_words_with_the_original_body() {
    let body = json!({"Env": ["WEAVE_CIDR=1.2.3.4/8"], "Entrypoint": [""]});
    let r = refusal(decide(&body, &allocating()));
    assert_eq!(r.kind, RefusalKind::NoCommand);
    assert_eq!(r.message, "No command specified");
    assert_eq!(r.instead, Instead::Original);
}

#[test]
fn malformed_fields_are_left_to_docker() {
    let body = json!({"Env": ["WEAVE_CIDR=1.2.3.4/8"], "Entrypoint": ["/a"], "HostConfig": 5});
    assert_eq!(decide(&body, &allocating()), Decision::Pass);
    let body = json!({"Env": ["WEAVE_CIDR=1.2.3.4/8"], "Entrypoint": ["/a"],
        "HostConfig": {"NetworkMode": 0}});
    assert_eq!(decide(&body, &allocating()), Decision::Pass);
}

#[test]
fn an_invalid_cidr_is_named_before_a_malformed_field() {
    for host in [
        json!(5),
        json!({"NetworkMode": 0}),
        json!({"NetworkMode": ["host"]}),
    ] {
        let body = json!({"Env": ["WEAVE_CIDR=10.2.1.300/24"], "Entrypoint": ["/a"],
            "HostConfig": host});
        let r = refusal(decide(&body, &allocating()));
        assert_eq!(r.kind, RefusalKind::InvalidCidr, "{host}");
        assert!(r
            .message
            .starts_with("invalid WEAVE_CIDR \"10.2.1.300/24\""));
    }
}

// ---- What the backend can do -----------------------------------------------------------

#[test]
fn allocations_are_refused_when_the_backend_cannot_allocate() {
    let bridge = Policy::default();
    for value in [
        "",
        "net:default",
        "net:10.9.0.0/16",
        "10.2.0.1/24 net:default",
    ] {
        let env = json!([format!("WEAVE_CIDR={value}")]);
        let r = refusal(decide(&with_env(env.clone()), &bridge));
        assert_eq!(r.kind, RefusalKind::NeedsAllocation, "{value:?}");
        assert!(r.message.contains(&format!("{value:?}")), "{}", r.message);
        assert!(r.message.contains("a.b.c.d/n"), "{}", r.message);
        assert!(r.message.contains("--attach weave"), "{}", r.message);
        // Powerstrip cannot refuse: the failed attach at start kills the container.
        assert!(matches!(r.instead, Instead::Rewritten(_)), "{value:?}");
        assert!(matches!(
            decide(&with_env(env), &allocating()),
            Decision::Rewrite(_)
        ));
    }
    for value in ["none", "10.2.0.1/24", "ip:10.2.0.1/24 10.3.0.1/16"] {
        let env = json!([format!("WEAVE_CIDR={value}")]);
        assert!(
            !matches!(decide(&with_env(env), &bridge), Decision::Refuse(_)),
            "{value}"
        );
    }
}

// ---- label scope -----------------------------------------------------------------------

#[test]
fn label_scope_passes_unlabelled_creates_through() {
    let body = create(json!(["/a"]), Value::Null);
    assert_eq!(decide(&body, &scoped("nc", "2")), Decision::Pass);
}

#[test]
fn label_scope_passes_other_values_and_types_through() {
    for labels in [
        json!({"nc": "3"}),
        json!({"NC": "2"}),
        json!({"nc": 2}),
        json!(null),
        json!(["nc=2"]),
    ] {
        let mut body = create(json!(["/a"]), Value::Null);
        body["Labels"] = labels.clone();
        assert_eq!(
            decide(&body, &scoped("nc", "2")),
            Decision::Pass,
            "Labels {labels}"
        );
    }
}

#[test]
fn label_scope_rewrites_labelled_creates() {
    let mut body = create(json!(["/a"]), Value::Null);
    // Go's encoding/json matches the field name case-insensitively.
    body["labels"] = json!({"nc": "2", "other": "x"});
    let body = rewritten(decide(&body, &scoped("nc", "2")));
    assert_eq!(body["Entrypoint"], json!([W, "/a"]));
}

#[test]
fn creates_out_of_the_label_scope_pass_untouched_whatever_they_ask() {
    let policy = Policy {
        scope: Scope::new(Some(("scope".into(), "a".into()))),
        ..Policy::default()
    };
    for body in [
        r#"{"Image":"nowhere:1","Env":["WEAVE_CIDR=10.0.0.1"]}"#,
        r#"{"Image":"nowhere:1","Env":["WEAVE_CIDR=net:default"]}"#,
        r#"{"Image":"nowhere:1","Env":["WEAVE_CIDR=10.0.0.1/24"],"Labels":{"scope":"b"}}"#,
    ] {
        // Decided without inspecting the image.
        assert_eq!(
            plan(body.as_bytes(), &policy),
            Plan::Decided(Decision::Pass),
            "{body}"
        );
    }
    let labelled = r#"{"Image":"nowhere:1","Env":["WEAVE_CIDR=10.0.0.1"],"Labels":{"scope":"a"}}"#;
    assert!(matches!(
        plan(labelled.as_bytes(), &policy),
        Plan::Inspect(_)
    ));
}

#[test]
fn no_label_scope_means_every_create_is_in_scope() {
    assert!(matches!(
        decide(&create(json!(["/a"]), Value::Null), &allocating()),
        Decision::Rewrite(_)
    ));
}

// ---- the attach settings recorded on the container --------------------------------------

#[test]
fn every_rewrite_records_the_attach_settings_and_keeps_other_labels() {
    use crate::policy::identity::{Identity, ATTACH_LABEL};
    let b2 = Policy {
        identity: Identity::bridge("b2"),
        ..Policy::default()
    };
    let mut body = with_env(json!(["WEAVE_CIDR=10.2.1.1/24"]));
    body["Labels"] = json!({"app": "web"});
    let out = rewritten(decide(&body, &b2));
    assert_eq!(
        out["Labels"],
        json!({"app": "web", ATTACH_LABEL: "bridge:b2"})
    );
    // Every other field as it was.
    let mut back = out.clone();
    back["Labels"] = json!({"app": "web"});
    back["Entrypoint"] = body["Entrypoint"].clone();
    back["HostConfig"]["VolumesFrom"] = body["HostConfig"]["VolumesFrom"].clone();
    assert_eq!(back, body);

    // Absent or null Labels, a committed image's create, another follower's value.
    let out = rewritten(decide(
        &with_env(json!(["WEAVE_CIDR=10.2.1.1/24"])),
        &allocating(),
    ));
    assert_eq!(out["Labels"][ATTACH_LABEL], "bridge:weave");
    let mut body = with_env(json!(["WEAVE_CIDR=10.2.1.1/24"]));
    body["Labels"] = json!({ATTACH_LABEL: "bridge:b1"});
    let out = rewritten(decide(&body, &b2));
    assert_eq!(out["Labels"], json!({ATTACH_LABEL: "bridge:b2"}));
    // Recorded on the body a front-end without errors sends in place of a refusal too.
    let r = refusal(decide(&with_env(json!(["WEAVE_CIDR=net:default"])), &b2));
    let Instead::Rewritten(text) = r.instead else {
        panic!("expected the rewritten body")
    };
    let sent: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(sent["Labels"][ATTACH_LABEL], "bridge:b2");
}

#[test]
fn creates_left_alone_get_no_label() {
    for env in [json!(["WEAVE_CIDR=none"]), json!(["A=1"])] {
        assert_eq!(decide(&with_env(env), &allocating()), Decision::Pass);
    }
}

#[test]
fn labels_of_a_type_docker_refuses_are_left_to_docker() {
    for labels in [json!("a=1"), json!(["a=1"]), json!(5)] {
        let mut body = with_env(json!(["WEAVE_CIDR=10.2.1.1/24"]));
        body["Labels"] = labels.clone();
        assert_eq!(decide(&body, &allocating()), Decision::Pass, "{labels}");
    }
}

// ---- Docker's answer to a rewritten create ---------------------------------------------

#[test]
fn a_missing_volume_container_is_explained_with_how_to_create_it() {
    let cfg = crate::policy::rewrite::RewriteConfig::default();
    let m = explain_create_error("No such container: weavewait", &cfg).unwrap();
    assert!(m.starts_with("No such container: weavewait: weavewait is the volume container carrying the waiter (/home/weavewait/wait-for-weave)"), "{m}");
    assert!(
        m.contains("`docker create --name weavewait weavewait:latest`"),
        "{m}"
    );
    assert!(m.contains("restart the proxy"), "{m}");
    for other in [
        "No such container: db",
        "No such container: weavewait2",
        "No such image: weavewait",
        "Conflict. The container name \"/x\" is already in use",
        "",
    ] {
        assert_eq!(explain_create_error(other, &cfg), None, "{other}");
    }
}
