//! The create decision: which creates are acted on (docs/design.md §3), the `WEAVE_CIDR`
//! forms (§4), the label scope, the backend's capability, and what each refusal sends in
//! its place.

use super::*;
use crate::policy::asks::Shared;
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
        Plan::Inspect(p) => panic!("{body} needs the image {:?}", p.image()),
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
    // The default bridge, none, and user-defined networks by name or id: what
    // `docker run --network mynet` sends (NetworkMode "mynet", an empty EndpointsConfig)
    // and what docker-compose sends (NetworkMode "<project>_default", the network in
    // EndpointsConfig with its aliases).
    for mode in [
        json!(""),
        json!("default"),
        json!("bridge"),
        json!("none"),
        json!("my-net"),
        json!("proj_default"),
        json!("Bridge"),
        json!("6f0a7b9c2d1e"),
        Value::Null,
    ] {
        let mut body = create(json!(["/a"]), Value::Null);
        body["HostConfig"]["NetworkMode"] = mode.clone();
        body["NetworkingConfig"] = json!({"EndpointsConfig": {"proj_default": {"Aliases": ["a"]}}});
        let out = rewritten(decide(&body, &allocating()));
        assert_eq!(out["Entrypoint"], json!([W, "/a"]), "{mode}");
        // Docker's network settings are the user's: kept as sent.
        assert_eq!(out["HostConfig"]["NetworkMode"], mode, "{mode}");
        assert_eq!(out["NetworkingConfig"], body["NetworkingConfig"], "{mode}");
    }
    let mut body = create(json!(["/a"]), Value::Null);
    body["HostConfig"]
        .as_object_mut()
        .unwrap()
        .remove("NetworkMode");
    assert!(matches!(decide(&body, &allocating()), Decision::Rewrite(_)));
}

#[test]
fn shared_namespaces_pass_through_with_a_warning() {
    for (mode, shared) in [
        ("host", Shared::Host),
        ("container:web-1", Shared::Container("web-1".into())),
    ] {
        let mut body = create(json!(["/a"]), Value::Null);
        body["HostConfig"]["NetworkMode"] = json!(mode);
        let want = Decision::Ignore(Ignored {
            value: "10.2.1.1/24".into(),
            shared,
        });
        assert_eq!(decide(&body, &allocating()), want, "{mode}");
        // Also a value the grammar refuses, or one the backend cannot honour: nothing is
        // rewritten, so nothing would come of it.
        for value in ["1.2.3.4", "net:default"] {
            body["Env"] = json!([format!("WEAVE_CIDR={value}")]);
            let decision = decide(&body, &Policy::default());
            assert!(
                matches!(&decision, Decision::Ignore(i) if i.value == value),
                "{mode} {value}: {decision:?}"
            );
        }
        // `none` asks for nothing: no warning.
        body["Env"] = json!(["WEAVE_CIDR=none"]);
        assert_eq!(decide(&body, &allocating()), Decision::Pass, "{mode}");
    }
}

#[test]
fn a_network_mode_docker_refuses_passes_through() {
    let mut body = create(json!(["/a"]), Value::Null);
    body["HostConfig"]["NetworkMode"] = json!(5);
    assert_eq!(decide(&body, &allocating()), Decision::Pass);
}

#[test]
fn out_of_scope_shared_namespaces_get_no_warning() {
    let mut body = create(json!(["/a"]), Value::Null);
    body["HostConfig"]["NetworkMode"] = json!("host");
    assert_eq!(decide(&body, &scoped("team", "a")), Decision::Pass);
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
        Plan::Inspect(p) => panic!("{body:?} needs an inspect: {:?}", p.image()),
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
    let decision = decide_text(host.as_bytes(), &allocating());
    assert!(matches!(decision, Decision::Ignore(_)), "{decision:?}");
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
        assert_eq!(pending.image(), Some("example/app:1"));
        assert_eq!(pending.network(), None);
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

// ---- The network:NAME backend (rule 6) ---------------------------------------------------

use crate::policy::network::{NetworkFacts, NetworkLookup, Pool};

fn on_wnet() -> Policy {
    Policy {
        allocates: true,
        backend: "network",
        network: Some("wnet".into()),
        ..Policy::default()
    }
}

fn wnet() -> NetworkLookup {
    NetworkLookup::Found(NetworkFacts {
        name: "wnet".into(),
        pools: vec![Pool::parse("10.255.0.0/16", None, Some("10.255.0.1")).unwrap()],
        scope: "swarm".into(),
    })
}

/// The decision for `body` with the network inspect answering `lookup`.
fn with_network(body: &Value, lookup: NetworkLookup) -> Decision {
    let Plan::Inspect(pending) = plan(body.to_string().as_bytes(), &on_wnet()) else {
        panic!("{body}: the network backend inspects its network")
    };
    assert_eq!(pending.network(), Some("wnet"));
    assert_eq!(pending.image(), None, "{body}");
    let found = Found {
        image: None,
        network: Some(lookup),
    };
    pending.decide(found, &on_wnet())
}

fn env_of(body: &Value) -> Vec<String> {
    serde_json::from_value(body["Env"].clone()).unwrap()
}

#[test]
fn the_waiter_finds_the_network_interface_by_address() {
    let body = rewritten(with_network(
        &with_env(json!(["WEAVE_CIDR=10.255.0.61/16"])),
        wnet(),
    ));
    assert_eq!(
        env_of(&body),
        ["WEAVE_CIDR=10.255.0.61/16", "WAIT_FOR_WEAVE_IFACE=any"]
    );
    assert_eq!(body["Entrypoint"][0], json!(W));
    for value in ["", "net:default"] {
        let body = rewritten(with_network(
            &with_env(json!([format!("WEAVE_CIDR={value}")])),
            wnet(),
        ));
        assert_eq!(
            env_of(&body)[1..],
            [
                "WAIT_FOR_WEAVE_IFACE=any",
                "WAIT_FOR_WEAVE_DEFAULT_SUBNET=10.255.0.0/16"
            ],
            "{value:?}"
        );
    }
    // The user's own settings win, and nothing is added twice.
    let own = with_env(json!([
        "WAIT_FOR_WEAVE_IFACE=ethwe",
        "WEAVE_CIDR=",
        "WAIT_FOR_WEAVE_DEFAULT_SUBNET=10.255.7.0/24"
    ]));
    let body = rewritten(with_network(&own, wnet()));
    assert_eq!(env_of(&body), env_of(&own));
}

#[test]
fn what_the_network_cannot_give_is_refused_naming_item_and_subnet() {
    for (value, needle) in [
        (
            "10.255.0.61/24",
            "item \"10.255.0.61/24\" asks for prefix /24, but the network's subnet is \
             10.255.0.0/16",
        ),
        (
            "10.254.0.61/16",
            "lies outside the network's subnets (10.255.0.0/16)",
        ),
        ("10.255.0.1/16", "is the gateway of 10.255.0.0/16"),
        ("net:10.255.8.0/24", "Docker allocates from 10.255.0.0/16"),
        ("10.255.0.5/16 10.255.0.6/16", "has 2 items"),
    ] {
        let r = refusal(with_network(
            &with_env(json!([format!("WEAVE_CIDR={value}")])),
            wnet(),
        ));
        assert_eq!(r.kind, RefusalKind::DoesNotFitNetwork, "{value}");
        assert!(r.message.contains(needle), "{value}: {}", r.message);
        assert!(r.message.contains("wnet"), "{}", r.message);
        // Powerstrip creates it anyway: it waits by address, and the attach refuses it.
        let Instead::Rewritten(text) = r.instead else {
            panic!("{value}: the rewritten body goes instead")
        };
        assert!(text.contains("WAIT_FOR_WEAVE_IFACE=any"), "{text}");
    }
}

#[test]
fn a_missing_or_unreadable_network_is_refused_naming_it() {
    let body = with_env(json!(["WEAVE_CIDR=10.255.0.61/16"]));
    let r = refusal(with_network(&body, NetworkLookup::Missing));
    assert_eq!(r.kind, RefusalKind::NetworkUnreadable);
    assert!(
        r.message
            .starts_with("network wnet is not known to this Docker host")
            && r.message.contains("docker network create"),
        "{}",
        r.message
    );
    let r = refusal(with_network(&body, NetworkLookup::Failed("EOF".into())));
    assert_eq!(r.message, "cannot inspect network wnet: EOF");
    assert!(matches!(r.instead, Instead::Rewritten(_)));
    // Two items are refused for what they are, whatever the inspect says.
    let two = with_env(json!(["WEAVE_CIDR=10.255.0.5/16 10.255.0.6/16"]));
    let r = refusal(with_network(&two, NetworkLookup::Missing));
    assert_eq!(r.kind, RefusalKind::DoesNotFitNetwork);
}

#[test]
fn network_none_cannot_be_connected() {
    let mut body = with_env(json!(["WEAVE_CIDR=10.255.0.61/16"]));
    body["HostConfig"]["NetworkMode"] = json!("none");
    let r = refusal(with_network(&body, wnet()));
    assert_eq!(r.kind, RefusalKind::DoesNotFitNetwork);
    assert!(r.message.contains("--network none"), "{}", r.message);
}

#[test]
fn the_network_is_inspected_only_for_an_attach() {
    // Nothing asked, or an invalid value: decided from the body alone.
    for env in [json!(["A=1"]), json!(["WEAVE_CIDR=none"])] {
        assert_eq!(decide(&with_env(env), &on_wnet()), Decision::Pass);
    }
    let r = refusal(decide(&with_env(json!(["WEAVE_CIDR=1.2.3.4"])), &on_wnet()));
    assert_eq!(r.kind, RefusalKind::InvalidCidr);
    // The image and the network together.
    let mut body = create(Value::Null, json!(["x"]));
    body["Env"] = json!(["WEAVE_CIDR="]);
    let Plan::Inspect(pending) = plan(body.to_string().as_bytes(), &on_wnet()) else {
        panic!("needs both")
    };
    assert_eq!(pending.image(), Some("example/app:1"));
    assert_eq!(pending.network(), Some("wnet"));
    let found = Found {
        image: Some(ImageLookup::Found(ImageConfig {
            entrypoint: Some(vec!["/entry".into()]),
            cmd: None,
        })),
        network: Some(wnet()),
    };
    let body = rewritten(pending.clone().decide(found, &on_wnet()));
    assert_eq!(body["Entrypoint"], json!([W, "/entry"]));
    assert!(env_of(&body).contains(&"WAIT_FOR_WEAVE_DEFAULT_SUBNET=10.255.0.0/16".to_string()));
    // A missing image is still Docker's 404, so the CLI pulls.
    let found = Found {
        image: Some(ImageLookup::Missing),
        network: Some(wnet()),
    };
    assert_eq!(
        refusal(pending.decide(found, &on_wnet())).kind,
        RefusalKind::NoSuchImage
    );
}
