//! The docs/design.md §3 rule table (Docker's merge rules 1–6), one test per row, plus
//! properties.

use super::*;
use proptest::prelude::*;
use serde_json::json;

const W: &str = DEFAULT_WAITER;

fn cfg() -> RewriteConfig {
    RewriteConfig::default()
}

fn image(entrypoint: Option<&[&str]>, cmd: Option<&[&str]>) -> ImageConfig {
    let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
    ImageConfig {
        entrypoint: entrypoint.map(own),
        cmd: cmd.map(own),
    }
}

/// A create body with WEAVE_CIDR and the given Entrypoint/Cmd JSON values.
pub(crate) fn create(entrypoint: Value, cmd: Value) -> Value {
    json!({
        "Env": ["WEAVE_CIDR=10.2.1.1/24"],
        "Image": "example/app:1",
        "Entrypoint": entrypoint,
        "Cmd": cmd,
        "HostConfig": {"NetworkMode": "default", "VolumesFrom": null}
    })
}

/// Rewrites and returns (Entrypoint, Cmd) of the result.
fn merged(body: Value, img: &ImageConfig) -> Result<(Value, Value), RewriteError> {
    let body = rewrite(body, Some(img), &cfg())?;
    Ok((body["Entrypoint"].clone(), body["Cmd"].clone()))
}

fn full_image() -> ImageConfig {
    image(Some(&["/bin/echo", "img-entry"]), Some(&["img-cmd"]))
}

// ---- Rule 1: merge with the image -------------------------------------------------------

#[test]
fn e_null_c_null_takes_image_entrypoint_and_cmd() {
    let (e, c) = merged(create(Value::Null, Value::Null), &full_image()).unwrap();
    assert_eq!(e, json!([W, "/bin/echo", "img-entry"]));
    assert_eq!(c, json!(["img-cmd"]));
}

#[test]
fn e_absent_c_absent_takes_image_entrypoint_and_cmd() {
    let mut body = create(Value::Null, Value::Null);
    body.as_object_mut().unwrap().remove("Entrypoint");
    body.as_object_mut().unwrap().remove("Cmd");
    let (e, c) = merged(body, &full_image()).unwrap();
    assert_eq!(e, json!([W, "/bin/echo", "img-entry"]));
    assert_eq!(c, json!(["img-cmd"]));
}

#[test]
fn e_null_c_set_keeps_c_and_takes_image_entrypoint() {
    let (e, c) = merged(create(Value::Null, json!(["x", "y"])), &full_image()).unwrap();
    assert_eq!(e, json!([W, "/bin/echo", "img-entry"]));
    assert_eq!(c, json!(["x", "y"]));
}

#[test]
fn e_null_c_empty_list_takes_image_cmd() {
    let (e, c) = merged(create(Value::Null, json!([])), &full_image()).unwrap();
    assert_eq!(e, json!([W, "/bin/echo", "img-entry"]));
    assert_eq!(c, json!(["img-cmd"]));
}

#[test]
fn e_empty_list_is_set_so_image_entrypoint_is_not_taken() {
    let (e, c) = merged(create(json!([]), Value::Null), &full_image()).unwrap();
    assert_eq!(e, json!([W]));
    assert_eq!(c, json!(["img-cmd"]));
}

#[test]
fn e_empty_list_c_set_runs_c_alone() {
    let (e, c) = merged(create(json!([]), json!(["/bin/true"])), &full_image()).unwrap();
    assert_eq!(e, json!([W]));
    assert_eq!(c, json!(["/bin/true"]));
}

#[test]
fn e_set_c_null_does_not_take_image_cmd() {
    // Docker: an explicit entrypoint drops the image's Cmd (the originals appended it).
    let (e, c) = merged(create(json!(["/bin/sh"]), Value::Null), &full_image()).unwrap();
    assert_eq!(e, json!([W, "/bin/sh"]));
    assert_eq!(c, Value::Null);
}

#[test]
fn e_set_c_set_keeps_both() {
    let (e, c) = merged(
        create(json!(["/bin/sh"]), json!(["-c", "true"])),
        &full_image(),
    )
    .unwrap();
    assert_eq!(e, json!([W, "/bin/sh"]));
    assert_eq!(c, json!(["-c", "true"]));
}

#[test]
fn ie_null_takes_image_cmd_only() {
    let img = image(None, Some(&["/app", "--fruit", "apples"]));
    let (e, c) = merged(create(Value::Null, Value::Null), &img).unwrap();
    assert_eq!(e, json!([W]));
    assert_eq!(c, json!(["/app", "--fruit", "apples"]));
}

#[test]
fn ic_null_with_ie_set_runs_image_entrypoint() {
    let img = image(Some(&["/entry"]), None);
    let (e, c) = merged(create(Value::Null, Value::Null), &img).unwrap();
    assert_eq!(e, json!([W, "/entry"]));
    assert_eq!(c, Value::Null);
}

#[test]
fn ie_empty_list_and_ic_set() {
    let img = image(Some(&[]), Some(&["/app"]));
    let (e, c) = merged(create(Value::Null, Value::Null), &img).unwrap();
    assert_eq!(e, json!([W]));
    assert_eq!(c, json!(["/app"]));
}

#[test]
fn image_not_read_when_entrypoint_given() {
    let body = create(json!(["/bin/sh"]), Value::Null);
    assert_eq!(image_needed(&body), None);
    // No image config needed at all.
    assert!(rewrite(body, None, &cfg()).is_ok());
}

#[test]
fn image_needed_when_entrypoint_empty_and_error_without_it() {
    for e in [Value::Null, json!([])] {
        let body = create(e, json!(["x"]));
        assert_eq!(image_needed(&body).as_deref(), Some("example/app:1"));
        assert_eq!(
            rewrite(body, None, &cfg()),
            Err(RewriteError::NeedImage("example/app:1".to_string()))
        );
    }
}

// ---- Rule 2: `--entrypoint ""` ----------------------------------------------------------

#[test]
fn e_reset_with_cmd_runs_cmd_alone() {
    let (e, c) = merged(create(json!([""]), json!(["/bin/true"])), &full_image()).unwrap();
    assert_eq!(e, json!([W]));
    assert_eq!(c, json!(["/bin/true"]));
}

#[test]
fn e_reset_without_cmd_is_no_command() {
    // [""] is not empty for rule 1, so the image's Cmd is not taken.
    assert_eq!(
        merged(create(json!([""]), Value::Null), &full_image()),
        Err(RewriteError::NoCommand)
    );
}

#[test]
fn e_reset_as_string_is_a_reset_too() {
    let (e, _) = merged(create(json!(""), json!(["/bin/true"])), &full_image()).unwrap();
    assert_eq!(e, json!([W]));
}

// ---- Strings count as one-element lists ------------------------------------------------

#[test]
fn e_string_is_one_element() {
    let (e, c) = merged(
        create(json!("/bin/sh"), json!(["-c", "true"])),
        &full_image(),
    )
    .unwrap();
    assert_eq!(e, json!([W, "/bin/sh"]));
    assert_eq!(c, json!(["-c", "true"]));
}

#[test]
fn c_string_is_kept_as_given() {
    let (e, c) = merged(create(Value::Null, json!("echo hi")), &full_image()).unwrap();
    assert_eq!(e, json!([W, "/bin/echo", "img-entry"]));
    assert_eq!(c, json!("echo hi"));
}

// ---- Rule 3: no command ----------------------------------------------------------------

#[test]
fn no_command_anywhere_is_refused_with_dockers_words() {
    for (e, c, img) in [
        (Value::Null, Value::Null, image(None, None)),
        (json!([]), json!([]), image(None, None)),
        (Value::Null, json!([]), image(Some(&[]), Some(&[]))),
        (json!([]), Value::Null, image(Some(&["/ignored"]), None)),
    ] {
        let err = merged(create(e.clone(), c.clone()), &img).unwrap_err();
        assert_eq!(err, RewriteError::NoCommand, "{e} {c} {img:?}");
        assert_eq!(err.to_string(), "No command specified");
    }
}

// ---- Rule 4: already prefixed ----------------------------------------------------------

#[test]
fn already_prefixed_entrypoint_is_not_stacked() {
    let (e, c) = merged(
        create(json!([W, "/bin/sh"]), json!(["-c", "x"])),
        &full_image(),
    )
    .unwrap();
    assert_eq!(e, json!([W, "/bin/sh"]));
    assert_eq!(c, json!(["-c", "x"]));
}

#[test]
fn committed_waiter_image_is_not_stacked() {
    let img = image(Some(&[W, "/bin/echo"]), Some(&["hi"]));
    let (e, c) = merged(create(Value::Null, Value::Null), &img).unwrap();
    assert_eq!(e, json!([W, "/bin/echo"]));
    assert_eq!(c, json!(["hi"]));
}

#[test]
fn configured_waiter_and_volume_container_are_used() {
    let cfg = RewriteConfig {
        waiter: "/w/wait".to_string(),
        volume_container: "ww2".to_string(),
    };
    let body = rewrite(create(json!(["/a"]), Value::Null), None, &cfg).unwrap();
    assert_eq!(body["Entrypoint"], json!(["/w/wait", "/a"]));
    assert_eq!(body["HostConfig"]["VolumesFrom"], json!(["ww2:ro"]));
}

// ---- HostConfig and VolumesFrom --------------------------------------------------------

#[test]
fn missing_host_config_is_created() {
    let body = json!({"Env": ["WEAVE_CIDR="], "Entrypoint": ["/a"]});
    let Ok(body) = rewrite(body, None, &cfg()) else {
        panic!()
    };
    assert_eq!(body["HostConfig"], json!({"VolumesFrom": ["weavewait:ro"]}));
}

#[test]
fn null_host_config_is_created() {
    let body = json!({"Env": ["WEAVE_CIDR="], "Entrypoint": ["/a"], "HostConfig": null});
    let Ok(body) = rewrite(body, None, &cfg()) else {
        panic!()
    };
    assert_eq!(body["HostConfig"], json!({"VolumesFrom": ["weavewait:ro"]}));
}

#[test]
fn non_object_host_config_is_malformed() {
    let body = json!({"Env": ["WEAVE_CIDR="], "Entrypoint": ["/a"], "HostConfig": "x"});
    assert!(matches!(
        rewrite(body, None, &cfg()),
        Err(RewriteError::Malformed {
            field: "HostConfig",
            ..
        })
    ));
}

#[test]
fn volumes_from_is_appended_to_existing_entries() {
    let mut body = create(json!(["/a"]), Value::Null);
    body["HostConfig"]["VolumesFrom"] = json!(["other:ro"]);
    let Ok(body) = rewrite(body, None, &cfg()) else {
        panic!()
    };
    assert_eq!(
        body["HostConfig"]["VolumesFrom"],
        json!(["other:ro", "weavewait:ro"])
    );
}

#[test]
fn volumes_from_is_not_duplicated() {
    for existing in [
        json!(["weavewait:ro"]),
        json!(["weavewait"]),
        json!(["a", "weavewait:rw"]),
    ] {
        let mut body = create(json!(["/a"]), Value::Null);
        body["HostConfig"]["VolumesFrom"] = existing.clone();
        let Ok(body) = rewrite(body, None, &cfg()) else {
            panic!()
        };
        assert_eq!(body["HostConfig"]["VolumesFrom"], existing);
    }
}

#[test]
fn volumes_from_of_another_name_prefix_is_not_ours() {
    let mut body = create(json!(["/a"]), Value::Null);
    body["HostConfig"]["VolumesFrom"] = json!(["weavewait2:ro"]);
    let Ok(body) = rewrite(body, None, &cfg()) else {
        panic!()
    };
    assert_eq!(
        body["HostConfig"]["VolumesFrom"],
        json!(["weavewait2:ro", "weavewait:ro"])
    );
}

#[test]
fn non_array_volumes_from_is_malformed() {
    let mut body = create(json!(["/a"]), Value::Null);
    body["HostConfig"]["VolumesFrom"] = json!("weavewait:ro");
    assert!(matches!(
        rewrite(body, None, &cfg()),
        Err(RewriteError::Malformed {
            field: "HostConfig.VolumesFrom",
            ..
        })
    ));
}

#[test]
fn malformed_entrypoint_and_cmd_are_reported() {
    for (e, c, field) in [
        (json!(5), Value::Null, "Entrypoint"),
        (json!([1]), Value::Null, "Entrypoint"),
        (json!(["/a"]), json!({"x": 1}), "Cmd"),
    ] {
        let err = rewrite(create(e, c), Some(&full_image()), &cfg()).unwrap_err();
        assert!(
            matches!(err, RewriteError::Malformed { field: f, .. } if f == field),
            "{err}"
        );
    }
}

// ---- Field names as Go reads them ------------------------------------------------------

#[test]
fn field_names_match_case_insensitively_like_go() {
    let body = json!({
        "env": ["WEAVE_CIDR=10.2.1.1/24"],
        "entrypoint": ["/a"],
        "hostConfig": {"networkMode": "bridge", "volumesFrom": ["x"]}
    });
    let Ok(body) = rewrite(body, None, &cfg()) else {
        panic!()
    };
    let obj = body.as_object().unwrap();
    assert_eq!(
        obj.keys().collect::<Vec<_>>(),
        ["env", "entrypoint", "hostConfig"]
    );
    assert_eq!(body["entrypoint"], json!([W, "/a"]));
    assert_eq!(
        body["hostConfig"]["volumesFrom"],
        json!(["x", "weavewait:ro"])
    );
}

// ---- The captured CLI body (docs/design.md §6) ----------------------------------------------

const CAPTURED_CREATE: &str = r#"{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":["WEAVE_CIDR=10.2.1.1/24"],"Cmd":null,"Image":"example/app:1","Volumes":{},"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{},"HostConfig":{"Binds":null,"ContainerIDFile":"","LogConfig":{"Type":"","Config":{}},"NetworkMode":"default","PortBindings":{},"RestartPolicy":{"Name":"no","MaximumRetryCount":0},"AutoRemove":false,"VolumeDriver":"","VolumesFrom":null,"ConsoleSize":[0,0],"CapAdd":null,"CapDrop":null,"CgroupnsMode":"","Dns":[],"DnsOptions":[],"DnsSearch":[],"ExtraHosts":null,"GroupAdd":null,"IpcMode":"","Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"","Privileged":false,"PublishAllPorts":false,"ReadonlyRootfs":false,"SecurityOpt":null,"UTSMode":"","UsernsMode":"","ShmSize":0,"Isolation":"","CpuShares":0,"Memory":0,"NanoCpus":0,"CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":[],"BlkioDeviceReadBps":[],"BlkioDeviceWriteBps":[],"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[],"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":[],"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":-1,"OomKillDisable":false,"PidsLimit":0,"Ulimits":[],"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"MaskedPaths":null,"ReadonlyPaths":null},"NetworkingConfig":{"EndpointsConfig":{"default":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}}
"#;

#[test]
fn captured_cli_body_changes_only_the_three_fields() {
    let before: Value = serde_json::from_str(CAPTURED_CREATE).unwrap();
    let img = image(Some(&["/bin/echo", "img-entry"]), Some(&["img-cmd"]));
    let Ok(body) = rewrite(before.clone(), Some(&img), &cfg()) else {
        panic!()
    };
    assert_eq!(body["Entrypoint"], json!([W, "/bin/echo", "img-entry"]));
    assert_eq!(body["Cmd"], json!(["img-cmd"]));
    assert_eq!(body["HostConfig"]["VolumesFrom"], json!(["weavewait:ro"]));
    let (mut a, mut b) = (before, body);
    for v in [&mut a, &mut b] {
        let o = v.as_object_mut().unwrap();
        o.remove("Entrypoint");
        o.remove("Cmd");
        o["HostConfig"]
            .as_object_mut()
            .unwrap()
            .remove("VolumesFrom");
    }
    // Same fields, same order, same text.
    assert_eq!(a.to_string(), b.to_string());
}

// ---- Properties ------------------------------------------------------------------------

fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("1.50".to_string()),
        Just("1e400".to_string()),
        Just("123456789012345678901234567890".to_string()),
        Just("-0.0".to_string()),
        Just("2.5E-3".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
    ]
}

fn str_slice_json() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("null".to_string()),
        Just("[]".to_string()),
        Just("[\"\"]".to_string()),
        Just("\"/bin/sh\"".to_string()),
        Just(format!("[\"{W}\",\"/x\"]")),
        prop::collection::vec("[a-z/]{1,6}", 1..3).prop_map(|v| serde_json::to_string(&v).unwrap()),
    ]
}

prop_compose! {
    /// The JSON text of a create body with random unknown fields, numbers and merge inputs.
    fn create_text()(
        unknown in prop::collection::vec(("[A-Z][a-zA-Z]{0,8}X", number_text()), 0..5),
        entrypoint in prop::option::of(str_slice_json()),
        cmd in prop::option::of(str_slice_json()),
        cidr in prop_oneof![
            Just("10.2.1.1/24"), Just(""), Just("none"), Just("net:default"), Just("bad")
        ],
        mode in prop_oneof![Just("default"), Just("host"), Just("bridge"), Just("none")],
        volumes in prop_oneof![
            Just("null"), Just("[\"weavewait:ro\"]"), Just("[\"a:ro\"]")
        ],
        hc_unknown in number_text(),
    ) -> String {
        let mut fields = vec![format!("\"Env\":[\"WEAVE_CIDR={cidr}\"]")];
        for (k, n) in &unknown {
            fields.push(format!("\"{k}\":{{\"N\":{n},\"L\":[{n}]}}"));
        }
        if let Some(e) = entrypoint {
            fields.push(format!("\"Entrypoint\":{e}"));
        }
        if let Some(c) = cmd {
            fields.push(format!("\"Cmd\":{c}"));
        }
        fields.push(format!(
            "\"HostConfig\":{{\"NetworkMode\":\"{mode}\",\"ShmSizeX\":{hc_unknown},\"VolumesFrom\":{volumes}}}"
        ));
        format!("{{{}}}", fields.join(","))
    }
}

fn any_image() -> impl Strategy<Value = ImageConfig> {
    let list = prop::option::of(prop::collection::vec("[a-z/]{1,4}", 0..3));
    (list.clone(), list).prop_map(|(entrypoint, cmd)| ImageConfig { entrypoint, cmd })
}

#[test]
fn env_entries_are_added_once_and_the_creates_own_win() {
    let entries = [
        ("WAIT_FOR_WEAVE_IFACE", "any".to_string()),
        ("WAIT_FOR_WEAVE_DEFAULT_SUBNET", "10.255.0.0/16".to_string()),
    ];
    let mut body = json!({"env": ["WEAVE_CIDR=", "WAIT_FOR_WEAVE_IFACE=ethwe"], "Image": "x"});
    add_env(&mut body, &entries);
    // Go's case-insensitive match: the body's own `env` key is used, not a second `Env`.
    assert_eq!(
        body["env"],
        json!([
            "WEAVE_CIDR=",
            "WAIT_FOR_WEAVE_IFACE=ethwe",
            "WAIT_FOR_WEAVE_DEFAULT_SUBNET=10.255.0.0/16"
        ])
    );
    assert!(body.get("Env").is_none());
    let once = body.clone();
    add_env(&mut body, &entries);
    assert_eq!(body, once);
    // A bare name (`-e NAME` without a value) counts as set.
    let mut bare = json!({"Env": ["WAIT_FOR_WEAVE_IFACE"]});
    add_env(&mut bare, &entries[..1]);
    assert_eq!(bare["Env"], json!(["WAIT_FOR_WEAVE_IFACE"]));
    // No Env yet: one is made; an Env of another type is Docker's to refuse.
    let mut none = json!({"Env": null});
    add_env(&mut none, &entries[..1]);
    assert_eq!(none["Env"], json!(["WAIT_FOR_WEAVE_IFACE=any"]));
    let mut odd = json!({"Env": "A=1"});
    add_env(&mut odd, &entries);
    assert_eq!(odd["Env"], json!("A=1"));
}

proptest! {
    #[test]
    fn unknown_fields_and_number_text_survive(text in create_text(), img in any_image()) {
        let before: Value = serde_json::from_str(&text).unwrap();
        if let Ok(body) = rewrite(before.clone(), Some(&img), &cfg()) {
            for (k, v) in before.as_object().unwrap() {
                if !["Entrypoint", "Cmd", "HostConfig"].contains(&k.as_str()) {
                    prop_assert_eq!(body[k].to_string(), v.to_string());
                }
            }
            prop_assert_eq!(
                body["HostConfig"]["ShmSizeX"].to_string(),
                before["HostConfig"]["ShmSizeX"].to_string()
            );
            prop_assert_eq!(&body["HostConfig"]["NetworkMode"], &before["HostConfig"]["NetworkMode"]);
        }
    }

    #[test]
    fn rewrite_is_idempotent(text in create_text(), img in any_image()) {
        let before: Value = serde_json::from_str(&text).unwrap();
        if let Ok(body) = rewrite(before, Some(&img), &cfg()) {
            // The second pass must not need the image nor change anything.
            let twice = rewrite(body.clone(), None, &cfg()).unwrap();
            prop_assert_eq!(twice.to_string(), body.to_string());
        }
    }
}
