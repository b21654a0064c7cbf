use super::*;

fn ok(text: &str) -> Spec {
    parse("t.toml", text).unwrap_or_else(|e| panic!("{e}"))
}

fn bad(text: &str) -> String {
    let e = parse("t.toml", text).expect_err("spec must be refused");
    assert_eq!(e.spec, "t.toml");
    let line = e.to_string();
    assert!(!line.contains('\n'), "one line: {line}");
    line
}

fn paths(spec: &Spec) -> Vec<(&str, &EntryKind)> {
    spec.entries
        .iter()
        .map(|e| (e.path.as_str(), &e.kind))
        .collect()
}

#[test]
fn minimal_spec_gets_defaults_and_sorted_entries_with_parents() {
    let spec = ok(r#"
name = "app"
[[files]]
path = "/usr/bin/app"
text = "x"
[[symlinks]]
path = "/bin"
target = "usr/bin"
[[dirs]]
path = "/tmp"
mode = "1777"
"#);
    assert_eq!(spec.title, "app");
    assert!(spec.platforms.is_empty());
    assert_eq!(spec.config, Config::default());
    let file = EntryKind::File {
        source: Source::Text("x".into()),
        mode: 0o644,
    };
    let dir = EntryKind::Dir { mode: 0o755 };
    let link = EntryKind::Symlink {
        target: "usr/bin".into(),
    };
    assert_eq!(
        paths(&spec),
        vec![
            ("bin", &link),
            ("tmp", &EntryKind::Dir { mode: 0o1777 }),
            ("usr", &dir),
            ("usr/bin", &dir),
            ("usr/bin/app", &file),
        ]
    );
    assert_eq!(
        spec.entries[2].origin,
        "parent of files[0] \"/usr/bin/app\""
    );
}

#[test]
fn config_fields_in_docker_names() {
    let spec = ok(r#"
name = "weavewait"
title = "The waiter"
platforms = ["linux/amd64", "linux/arm64"]
[config]
Entrypoint = ["/w"]
Cmd = []
Env = ["A=1", "B="]
WorkingDir = "/srv"
User = "65534:65534"
Volumes = ["/home/weavewait/", "/data"]
ExposedPorts = ["80/tcp"]
StopSignal = "SIGINT"
Labels = { "org.example" = "yes" }
"#);
    assert_eq!(spec.title, "The waiter");
    assert_eq!(
        spec.platforms,
        vec![
            Platform::parse("linux/amd64").unwrap(),
            Platform::parse("linux/arm64").unwrap()
        ]
    );
    assert_eq!(
        spec.platforms[1].rust_target(),
        "aarch64-unknown-linux-musl"
    );
    assert_eq!(spec.platforms[1].to_string(), "linux/arm64/v8");
    let c = &spec.config;
    assert_eq!(c.entrypoint, Some(vec!["/w".to_string()]));
    assert_eq!(c.cmd, Some(vec![]));
    assert_eq!(c.env, vec!["A=1", "B="]);
    assert_eq!(c.working_dir.as_deref(), Some("/srv"));
    assert_eq!(c.user.as_deref(), Some("65534:65534"));
    assert_eq!(
        c.volumes.iter().collect::<Vec<_>>(),
        vec!["/data", "/home/weavewait"]
    );
    assert!(c.exposed_ports.contains("80/tcp"));
    assert_eq!(c.stop_signal.as_deref(), Some("SIGINT"));
    assert_eq!(c.labels["org.example"], "yes");
    assert!(spec.entries.is_empty());
}

#[test]
fn paths_are_normalised() {
    let spec = ok(r#"
name = "a"
[[files]]
path = "/usr//./lib/../bin/x"
text = ""
"#);
    assert_eq!(spec.entries.last().unwrap().path, "usr/bin/x");
    assert_eq!(normalize("/a/b/../c/").unwrap(), "a/c");
}

#[test]
fn unknown_keys_are_refused_with_their_line() {
    let e = bad("name = \"a\"\ncolour = \"red\"\n");
    assert!(
        e.starts_with("t.toml: line 2: unknown field `colour`"),
        "{e}"
    );
    let e = bad("name = \"a\"\n[[files]]\npath = \"/x\"\ntext = \"\"\nmodee = \"0644\"\n");
    assert!(
        e.contains("line 5") && e.contains("unknown field `modee`"),
        "{e}"
    );
    let e = bad("name = \"a\"\n[config]\nentrypoint = [\"/x\"]\n");
    assert!(e.contains("unknown field `entrypoint`"), "{e}");
}

#[test]
fn file_needs_exactly_one_source() {
    let e = bad("name = \"a\"\n[[files]]\npath = \"/x\"\n");
    assert_eq!(
        e,
        "t.toml: files[0] \"/x\": give exactly one of build, host or text"
    );
    let e = bad("name = \"a\"\n[[files]]\npath = \"/x\"\ntext = \"\"\nhost = \"/etc/hosts\"\n");
    assert!(e.contains("exactly one"), "{e}");
    let e = bad("name = \"a\"\n[[files]]\npath = \"/x\"\nbuild = \"../x\"\n");
    assert!(e.contains("must be a binary name"), "{e}");
}

#[test]
fn bad_modes_are_refused() {
    for mode in ["0999", "rwxr-xr-x", "77777", "", "-1", "0o8"] {
        let e = bad(&format!(
            "name = \"a\"\n[[files]]\npath = \"/x\"\ntext = \"\"\nmode = \"{mode}\"\n"
        ));
        assert!(
            e.starts_with("t.toml: files[0] \"/x\": bad mode"),
            "{mode}: {e}"
        );
    }
    let e = bad("name = \"a\"\n[[dirs]]\npath = \"/d\"\nmode = \"8\"\n");
    assert!(e.starts_with("t.toml: dirs[0] \"/d\": bad mode"), "{e}");
    let e = bad("name = \"a\"\n[[files]]\npath = \"/x\"\ntext = \"\"\nmode = 755\n");
    assert!(e.contains("line 5"), "an integer is not a mode string: {e}");
    let spec = ok("name = \"a\"\n[[files]]\npath = \"/x\"\ntext = \"\"\nmode = \"0o4755\"\n");
    assert!(matches!(
        spec.entries[0].kind,
        EntryKind::File { mode: 0o4755, .. }
    ));
}

#[test]
fn paths_escaping_the_root_are_refused() {
    for path in ["/../etc/passwd", "/a/../../b", "/..", "/", ""] {
        let e = bad(&format!(
            "name = \"a\"\n[[symlinks]]\npath = \"{path}\"\ntarget = \"x\"\n"
        ));
        assert!(
            e.starts_with(&format!("t.toml: symlinks[0] \"{path}\": path")),
            "{e}"
        );
        assert!(
            e.contains("escapes the image root") || e.contains("is the image root"),
            "{e}"
        );
    }
}

#[test]
fn duplicate_paths_are_refused_naming_both_entries() {
    let e = bad(r#"
name = "a"
[[files]]
path = "/bin/sh"
text = ""
[[symlinks]]
path = "//bin//sh"
target = "busybox"
"#);
    assert_eq!(
        e,
        "t.toml: symlinks[0] \"//bin//sh\": duplicate path: files[0] \"/bin/sh\" names it too"
    );
}

#[test]
fn entries_below_files_or_symlinks_are_refused() {
    let e = bad(r#"
name = "a"
[[files]]
path = "/etc"
text = ""
[[files]]
path = "/etc/passwd"
text = ""
"#);
    assert_eq!(
        e,
        "t.toml: files[1] \"/etc/passwd\": its parent /etc is not a directory (files[0] \"/etc\")"
    );
    let e = bad(r#"
name = "a"
[[symlinks]]
path = "/bin"
target = "usr/bin"
[[files]]
path = "/bin/sh"
text = ""
"#);
    assert!(
        e.contains("its parent /bin is not a directory (symlinks[0]"),
        "{e}"
    );
}

#[test]
fn symlink_loops_are_refused() {
    let e = bad("name = \"a\"\n[[symlinks]]\npath = \"/a\"\ntarget = \"a\"\n");
    assert_eq!(e, "t.toml: symlinks[0] \"/a\": symlink loop: /a -> a, …");
    let e = bad(r#"
name = "a"
[[symlinks]]
path = "/x/a"
target = "../y/b"
[[symlinks]]
path = "/y/b"
target = "/x/a"
"#);
    assert!(
        e.contains("symlink loop: /x/a -> ../y/b, /y/b -> /x/a, …"),
        "{e}"
    );
    // Through a directory symlink: /d -> /d/e resolves /d again and again.
    let e = bad("name = \"a\"\n[[symlinks]]\npath = \"/d\"\ntarget = \"/d/e\"\n");
    assert!(e.contains("symlink loop"), "{e}");
}

#[test]
fn symlink_chains_dangling_and_outside_links_are_fine() {
    ok(r#"
name = "a"
[[files]]
path = "/bin/busybox"
text = ""
[[symlinks]]
path = "/bin/sh"
target = "busybox"
[[symlinks]]
path = "/usr/bin/sh"
target = "../../bin/sh"
[[symlinks]]
path = "/sbin"
target = "/usr/bin/../../bin"
[[symlinks]]
path = "/etc/mtab"
target = "/proc/self/mounts"
[[symlinks]]
path = "/up"
target = "../../../../bin/sh"
"#);
}

#[test]
fn names_platforms_env_volumes_ports_and_labels_are_checked() {
    let e = bad("name = \"Weave Wait\"\n");
    assert!(e.starts_with("t.toml: name: invalid image name"), "{e}");
    let e = bad("name = \"a\"\nplatforms = [\"linux/s390x\"]\n");
    assert_eq!(
        e,
        "t.toml: platforms[0]: unsupported platform \"linux/s390x\": use linux/amd64 or linux/arm64"
    );
    let e = bad("name = \"a\"\nplatforms = [\"linux/arm64\", \"linux/arm64/v8\"]\n");
    assert!(e.contains("platforms[1]") && e.contains("twice"), "{e}");
    let e = bad("name = \"a\"\n[config]\nEnv = [\"=x\"]\n");
    assert_eq!(e, "t.toml: config.Env[0]: \"=x\" is not KEY=VALUE");
    let e = bad("name = \"a\"\n[config]\nVolumes = [\"data\"]\n");
    assert!(
        e.contains("config.Volumes[0]") && e.contains("absolute"),
        "{e}"
    );
    let e = bad("name = \"a\"\n[config]\nVolumes = [\"/data\", \"/data/\"]\n");
    assert!(
        e.contains("config.Volumes[1]") && e.contains("twice"),
        "{e}"
    );
    let e = bad("name = \"a\"\n[config]\nExposedPorts = [\"80\"]\n");
    assert!(e.contains("config.ExposedPorts[0]"), "{e}");
    let e = bad("name = \"a\"\n[config]\nWorkingDir = \"srv\"\n");
    assert!(e.contains("config.WorkingDir"), "{e}");
}

#[test]
fn version_labels_and_annotations_are_the_specs_own_with_checked_forms() {
    let spec = ok(r#"
name = "acme/hello"
version = "1.4.2_rc-1"
[config.Labels]
"org.opencontainers.image.version" = "1.4.2+rc.1"
"org.opencontainers.image.created" = "2024-05-01T12:00:00Z"
[annotations]
"org.opencontainers.image.source" = "https://example.org/acme/hello"
"com.example" = ""
"#);
    assert_eq!(spec.version.as_deref(), Some("1.4.2_rc-1"));
    assert_eq!(
        spec.config.labels["org.opencontainers.image.version"],
        "1.4.2+rc.1"
    );
    assert_eq!(spec.annotations.len(), 2);
    assert_eq!(spec.annotations["com.example"], "");
    assert_eq!(ok("name = \"a\"\n").version, None);

    for v in ["", ".1", "-1", "1.4.2+build", "v 1", &"9".repeat(129)] {
        let e = bad(&format!("name = \"a\"\nversion = \"{v}\"\n"));
        assert!(
            e.starts_with("t.toml: version: ") && e.contains("a version is also a tag"),
            "{v}: {e}"
        );
        assert!(e.len() < 200, "a long value is cut: {e}");
    }
    let e = bad("name = \"a\"\n[annotations]\n\"\" = \"x\"\n");
    assert_eq!(e, "t.toml: annotations \"\": a key must not be empty");
    let e = bad("name = \"a\"\n[config]\nLabels = { \" \" = \"x\" }\n");
    assert!(e.starts_with("t.toml: config.Labels \" \": a key"), "{e}");
    for table in ["[annotations]", "[config.Labels]"] {
        let e = bad(&format!(
            "name = \"a\"\n{table}\n\"org.opencontainers.image.ref.name\" = \"v1\"\n"
        ));
        assert!(
            e.contains("the kit sets this in index.json to the tag"),
            "{e}"
        );
        let e = bad(&format!(
            "name = \"a\"\n{table}\n\"org.opencontainers.image.created\" = \"yesterday\"\n"
        ));
        assert!(
            e.ends_with(
                "\"org.opencontainers.image.created\": \"yesterday\" is not an RFC 3339 time \
                 (not YYYY-MM-DDTHH:MM:SS): write e.g. \"2024-05-01T12:00:00Z\""
            ),
            "{e}"
        );
    }
    let e = bad("name = \"a\"\n[labels]\na = \"b\"\n");
    assert!(
        e.starts_with("t.toml: line 2: unknown field `labels`")
            && e.ends_with(": labels go in [config] Labels"),
        "{e}"
    );
}

#[test]
fn tags_follow_the_reference_grammar() {
    for t in [
        "latest",
        "1.4.2",
        "v1",
        "_x",
        "1.0-rc.1_b",
        &"a".repeat(128),
    ] {
        assert!(valid_tag(t), "{t}");
    }
    for t in ["", ".x", "-x", "1+2", "a/b", "a:b", "é", &"a".repeat(129)] {
        assert!(!valid_tag(t), "{t}");
    }
}

#[test]
fn a_stop_signal_docker_cannot_send_is_refused() {
    let e = bad("name = \"a\"\n[config]\nStopSignal = \"SIGFOO\"\n");
    assert_eq!(
        e,
        "t.toml: config.StopSignal: \"SIGFOO\" is not a signal: write a name like \"SIGTERM\" or \"SIGQUIT\", or a number from 1 to 64"
    );
    let spec = ok("name = \"a\"\n[config]\nStopSignal = \"SIGRTMIN+3\"\n");
    assert_eq!(spec.config.stop_signal.as_deref(), Some("SIGRTMIN+3"));
}

#[test]
fn relative_entry_paths_are_refused_with_the_absolute_one_to_write() {
    for (table, key) in [
        ("files", "text = \"\""),
        ("dirs", ""),
        ("symlinks", "target = \"x\""),
    ] {
        let e = bad(&format!(
            "name = \"a\"\n[[{table}]]\npath = \"etc/x\"\n{key}\n"
        ));
        assert_eq!(
            e,
            format!("t.toml: {table}[0] \"etc/x\": path \"etc/x\" is relative: write it from the image root, \"/etc/x\"")
        );
    }
}

#[test]
fn an_empty_platform_list_is_refused_and_a_missing_one_is_the_default() {
    let e = bad("name = \"a\"\nplatforms = []\n");
    assert_eq!(
        e,
        "t.toml: platforms: the list is empty: name at least one, e.g. [\"linux/amd64\"], or leave it out for linux/amd64"
    );
    assert!(ok("name = \"a\"\n").platforms.is_empty());
}

#[test]
fn the_program_docker_runs_must_be_executable_when_the_image_holds_it() {
    let e = bad(
        "name = \"a\"\n[config]\nEntrypoint = [\"/app/hello\", \"x\"]\n[[files]]\npath = \"/app/hello\"\nhost = \"hello\"\n",
    );
    assert_eq!(
        e,
        "t.toml: config.Entrypoint[0] \"/app/hello\": files[0] \"/app/hello\" has mode 0644, which nobody may execute: give it mode = \"0755\""
    );
    // Through a symlink, and Cmd when Entrypoint is empty.
    let e = bad(r#"
name = "a"
[config]
Entrypoint = []
Cmd = ["/bin/sh"]
[[files]]
path = "/bin/busybox"
host = "/bin/busybox"
mode = "0640"
[[symlinks]]
path = "/bin/sh"
target = "busybox"
"#);
    assert_eq!(
        e,
        "t.toml: config.Cmd[0] \"/bin/sh\": files[0] \"/bin/busybox\" has mode 0640, which nobody may execute: give it mode = \"0755\""
    );
    let e = bad(
        "name = \"a\"\n[config]\nCmd = [\"/app\"]\n[[files]]\npath = \"/app/x\"\ntext = \"\"\n",
    );
    assert_eq!(
        e,
        "t.toml: config.Cmd[0] \"/app\": parent of files[0] \"/app/x\" is a directory, not a program: name the program in it"
    );
    // Executable, not in the image (a volume may bring it), relative (PATH), Cmd behind an
    // Entrypoint: all fine.
    for config in [
        "Entrypoint = [\"/x\"]",
        "Entrypoint = [\"/y\"]",
        "Entrypoint = [\"x\"]",
        "Entrypoint = [\"/x\"]\nCmd = [\"/etc/conf\"]",
    ] {
        ok(&format!(
            "name = \"a\"\n[config]\n{config}\n[[files]]\npath = \"/x\"\ntext = \"\"\nmode = \"0100\"\n[[files]]\npath = \"/etc/conf\"\ntext = \"\"\n"
        ));
    }
}

#[test]
fn working_dir_and_volumes_must_not_be_files() {
    let spec = |config: &str| {
        format!("name = \"a\"\n[config]\n{config}\n[[files]]\npath = \"/etc/motd\"\ntext = \"\"\n[[symlinks]]\npath = \"/motd\"\ntarget = \"etc/motd\"\n")
    };
    let e = bad(&spec("WorkingDir = \"/etc/motd\""));
    assert_eq!(
        e,
        "t.toml: config.WorkingDir \"/etc/motd\": files[0] \"/etc/motd\" is a file: Docker needs a directory here (it refuses to start the container)"
    );
    let e = bad(&spec("Volumes = [\"/data\", \"/motd\"]"));
    assert!(
        e.starts_with("t.toml: config.Volumes \"/motd\": files[0] \"/etc/motd\" is a file"),
        "{e}"
    );
    ok(&spec(
        "WorkingDir = \"/etc\"\nVolumes = [\"/data\", \"/etc\"]",
    ));
}

#[test]
fn host_is_a_path_or_one_path_per_platform() {
    let spec = ok(r#"
name = "a"
[[files]]
path = "/app"
host = { "linux/amd64" = "app-amd64", "linux/arm64/v8" = "app-arm64" }
"#);
    let EntryKind::File {
        source: Source::HostPerPlatform(paths),
        ..
    } = &spec.entries[0].kind
    else {
        panic!("{:?}", spec.entries[0]);
    };
    let arm64 = Platform::parse("linux/arm64").unwrap();
    assert_eq!(paths[&arm64], "app-arm64");
    assert_eq!(paths[&Platform::default_platform()], "app-amd64");
    let usage = "host must be a path, or one path per platform: host = { \"linux/amd64\" = \"…\", \"linux/arm64\" = \"…\" }";
    for (host, message) in [
        ("\"\"".to_string(), usage.to_string()),
        ("7".into(), usage.into()),
        ("{}".into(), usage.into()),
        (
            "{ \"linux/amd64\" = 7 }".into(),
            format!("host \"linux/amd64\": {usage}"),
        ),
        (
            "{ \"linux/s390x\" = \"x\" }".into(),
            "host \"linux/s390x\": unsupported platform \"linux/s390x\": use linux/amd64 or linux/arm64".into(),
        ),
        (
            "{ \"linux/arm64\" = \"x\", \"linux/arm64/v8\" = \"y\" }".into(),
            "host \"linux/arm64/v8\": this platform is named twice".into(),
        ),
    ] {
        let e = bad(&format!(
            "name = \"a\"\n[[files]]\npath = \"/app\"\nhost = {host}\n"
        ));
        assert_eq!(e, format!("t.toml: files[0] \"/app\": {message}"), "{host}");
    }
}

#[test]
fn type_errors_show_their_line_in_toml_words() {
    let e = bad("name = \"a\"\n[config]\nEntrypoint = \"/x\"\n");
    assert_eq!(
        e,
        "t.toml: line 3: invalid type: string \"/x\", expected an array, e.g. [\"a\", \"b\"] (at `Entrypoint = \"/x\"`)"
    );
    let e = bad("name = \"a\"\n[config]\nEnv = { A = \"b\" }\n");
    assert_eq!(
        e,
        "t.toml: line 3: invalid type: table, expected an array, e.g. [\"a\", \"b\"] (at `Env = { A = \"b\" }`)"
    );
    let long = "x".repeat(100);
    let e = bad(&format!("name = \"a\"\n[config]\nUser = [\"{long}\"]\n"));
    assert!(
        e.ends_with(&format!("(at `User = [\"{}…`)", &long[..51])),
        "{e}"
    );
}

#[test]
fn a_long_chain_of_links_is_not_called_a_loop_and_long_messages_are_cut() {
    let mut text = String::from("name = \"a\"\n");
    for i in 0..45 {
        text.push_str(&format!(
            "[[symlinks]]\npath = \"/l{i}\"\ntarget = \"l{}\"\n",
            i + 1
        ));
    }
    let e = bad(&text);
    assert_eq!(
        e,
        "t.toml: symlinks[0] \"/l0\": more than 40 symlinks in a row, where Linux gives up (ELOOP): /l0 -> l1, /l1 -> l2, /l2 -> l3, /l3 -> l4, …: link to the end of the chain directly"
    );
    let mut text = String::from("name = \"a\"\n");
    for i in 0..6 {
        text.push_str(&format!(
            "[[symlinks]]\npath = \"/r{i}\"\ntarget = \"r{}\"\n",
            (i + 1) % 6
        ));
    }
    let e = bad(&text);
    assert_eq!(
        e,
        "t.toml: symlinks[0] \"/r0\": symlink loop: /r0 -> r1, /r1 -> r2, /r2 -> r3, /r3 -> r4, … (6 links)"
    );
}

#[test]
fn a_full_reference_as_name_says_where_tag_and_registry_go() {
    for name in ["localhost:5000/app", "app:1.0", "app@sha256:00"] {
        let e = bad(&format!("name = \"{name}\"\n"));
        assert_eq!(
            e,
            format!("t.toml: name: invalid image name \"{name}\": use lower-case letters, digits and single . _ - / between them: a name holds no registry port, tag or digest (set version = … for a tag; the registry comes when pushing: skopeo copy oci-archive:… docker://host:port/<name>)")
        );
    }
    let e = bad(&format!("name = \"{}\"\n", "A".repeat(100)));
    assert!(e.len() < 200, "a long name is cut: {e}");
}
