use std::io::Read;

use super::*;
use crate::spec;

const SPEC: &str = r#"
name = "demo"
[config]
Entrypoint = ["/bin/app"]
Volumes = ["/data"]
Labels = { "org.example" = "x" }
[[files]]
path = "/bin/app"
build = "app"
mode = "0755"
[[symlinks]]
path = "/bin/sh"
target = "app"
[[dirs]]
path = "/tmp"
mode = "1777"
"#;

/// A resolved stamp as `meta::resolve` gives it; the core takes it as it is.
fn meta() -> Stamp {
    let facts = BTreeMap::from([
        (
            oci::ANN_CREATED.to_string(),
            "2023-11-14T22:13:20Z".to_string(),
        ),
        (oci::ANN_REVISION.to_string(), "abc123".to_string()),
        (
            oci::ANN_SOURCE.to_string(),
            "https://example.org/repo".to_string(),
        ),
        (oci::ANN_TITLE.to_string(), "demo".to_string()),
        (oci::ANN_VERSION.to_string(), "1.2.3".to_string()),
    ]);
    let mut labels = facts.clone();
    labels.insert("org.example".into(), "x".into());
    Stamp {
        tags: vec!["latest".into(), "1.2.3".into()],
        labels,
        annotations: facts,
        created: Some("2023-11-14T22:13:20Z".into()),
        mtime: 1_700_000_000,
    }
}

fn input(arch: &str, bytes: &[u8]) -> PlatformFiles {
    PlatformFiles {
        platform: spec::Platform::parse(&format!("linux/{arch}")).unwrap(),
        files: BTreeMap::from([("bin/app".to_string(), bytes.to_vec())]),
    }
}

fn blob<T: serde::de::DeserializeOwned>(layout: &Layout, digest: &str) -> T {
    let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
    serde_json::from_slice(&layout.blobs[hex]).expect("blob is JSON")
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn layer_tar_is_sorted_owned_by_root_and_timed_by_the_epoch() {
    let spec = spec::parse("t.toml", SPEC).unwrap();
    let files = input("amd64", b"#!app").files;
    let tar = layer_tar(&spec.entries, &files, 1234).unwrap();
    let mut archive = tar::Archive::new(tar.as_slice());
    let mut seen = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let h = entry.header().clone();
        assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (0, 0));
        assert_eq!(h.mtime().unwrap(), 1234);
        assert_eq!(h.username().unwrap(), Some(""));
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let link = entry
            .link_name()
            .unwrap()
            .map(|l| l.to_string_lossy().into_owned());
        let mut body = Vec::new();
        entry.read_to_end(&mut body).unwrap();
        seen.push((path, h.mode().unwrap(), h.entry_type(), link, body));
    }
    use tar::EntryType as T;
    assert_eq!(
        seen,
        vec![
            ("bin/".into(), 0o755, T::Directory, None, vec![]),
            ("bin/app".into(), 0o755, T::Regular, None, b"#!app".to_vec()),
            (
                "bin/sh".into(),
                0o777,
                T::Symlink,
                Some("app".into()),
                vec![]
            ),
            ("tmp/".into(), 0o1777, T::Directory, None, vec![]),
        ]
    );
}

#[test]
fn long_paths_and_targets_fit() {
    let long = "d/".repeat(80) + "file";
    let text = format!(
        "name = \"a\"\n[[files]]\npath = \"/{long}\"\ntext = \"\"\n[[symlinks]]\npath = \"/l\"\ntarget = \"/{long}\"\n"
    );
    let spec = spec::parse("t.toml", &text).unwrap();
    let files = BTreeMap::from([(long.clone(), vec![])]);
    let tar = layer_tar(&spec.entries, &files, 0).unwrap();
    let mut archive = tar::Archive::new(tar.as_slice());
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.contains(&long), "{names:?}");
}

#[test]
fn missing_file_bytes_name_the_entry() {
    let spec = spec::parse("t.toml", SPEC).unwrap();
    let e = layer_tar(&spec.entries, &BTreeMap::new(), 0).unwrap_err();
    assert_eq!(
        e.to_string(),
        "files[0] \"/bin/app\": no bytes given for this file"
    );
    let e = build(&spec, &[], &meta()).unwrap_err();
    assert_eq!(e.to_string(), "platforms: no platform to build");
}

#[test]
fn gzip_is_fixed_and_round_trips() {
    let data = b"hello hello hello hello".repeat(100);
    let a = gzip(&data);
    assert_eq!(a, gzip(&data));
    assert_eq!(
        &a[..4],
        &[0x1f, 0x8b, 8, 0],
        "gzip magic, deflate, no flags"
    );
    assert_eq!(&a[4..8], &[0, 0, 0, 0], "header mtime 0");
    assert_eq!(a[9], 255, "OS unknown");
    assert_eq!(gunzip(&a), data);
}

#[test]
fn single_platform_image_is_consistent_end_to_end() {
    let spec = spec::parse("t.toml", SPEC).unwrap();
    let layout = build(&spec, &[input("amd64", b"binary")], &meta()).unwrap();

    // Every blob is stored under its own digest.
    for (hex, bytes) in &layout.blobs {
        assert_eq!(&sha256(bytes).1, hex);
    }
    let index: Index = serde_json::from_slice(&layout.index_json).unwrap();
    assert_eq!(index.manifests.len(), 1);
    let root = &index.manifests[0];
    assert_eq!(root, &layout.root);
    assert_eq!(root.media_type, oci::MEDIA_MANIFEST);
    assert_eq!(root.annotations[oci::ANN_REF_NAME], "latest");
    assert_eq!(root.platform.as_ref().unwrap().architecture, "amd64");
    let hex = root.digest.strip_prefix("sha256:").unwrap();
    assert_eq!(root.size, layout.blobs[hex].len() as u64);

    let manifest: Manifest = blob(&layout, &root.digest);
    assert_eq!(manifest.schema_version, 2);
    assert_eq!(
        manifest.annotations[oci::ANN_CREATED],
        "2023-11-14T22:13:20Z"
    );
    assert_eq!(manifest.annotations[oci::ANN_REVISION], "abc123");
    assert_eq!(
        manifest.annotations[oci::ANN_SOURCE],
        "https://example.org/repo"
    );
    assert_eq!(manifest.annotations[oci::ANN_VERSION], "1.2.3");
    assert_eq!(manifest.annotations[oci::ANN_TITLE], "demo");

    let config: ImageConfig = blob(&layout, &manifest.config.digest);
    assert_eq!(config.created.as_deref(), Some("2023-11-14T22:13:20Z"));
    assert_eq!(config.history[0].created, config.created);
    assert_eq!(
        (config.os.as_str(), config.architecture.as_str()),
        ("linux", "amd64")
    );
    assert_eq!(config.config.entrypoint, Some(vec!["/bin/app".to_string()]));
    assert!(config.config.volumes.contains_key("/data"));
    assert_eq!(config.config.labels["org.example"], "x");
    assert_eq!(config.config.labels[oci::ANN_VERSION], "1.2.3");

    let layer_hex = manifest.layers[0].digest.strip_prefix("sha256:").unwrap();
    let uncompressed = gunzip(&layout.blobs[layer_hex]);
    assert_eq!(config.rootfs.diff_ids, vec![sha256(&uncompressed).0]);
    assert_eq!(manifest.layers[0].media_type, oci::MEDIA_LAYER_GZIP);

    let docker: Vec<DockerManifest> = serde_json::from_slice(&layout.docker_manifest_json).unwrap();
    assert_eq!(
        docker,
        vec![DockerManifest {
            config: blob_path(&manifest.config.digest),
            repo_tags: vec!["demo:latest".into(), "demo:1.2.3".into()],
            layers: vec![blob_path(&manifest.layers[0].digest)],
        }]
    );
    assert_eq!(layout.file_bytes, 6);
    assert_eq!(layout.layer_bytes, manifest.layers[0].size);
}

#[test]
fn several_platforms_make_an_index_and_docker_gets_the_first() {
    let spec = spec::parse("t.toml", SPEC).unwrap();
    let layout = build(
        &spec,
        &[input("amd64", b"x86 code"), input("arm64", b"arm code")],
        &meta(),
    )
    .unwrap();
    assert_eq!(layout.root.media_type, oci::MEDIA_INDEX);
    assert_eq!(layout.root.platform, None);
    let index: Index = blob(&layout, &layout.root.digest);
    let platforms: Vec<_> = index
        .manifests
        .iter()
        .map(|m| {
            let p = m.platform.clone().unwrap();
            (p.architecture, p.variant)
        })
        .collect();
    assert_eq!(
        platforms,
        vec![("amd64".into(), None), ("arm64".into(), Some("v8".into()))]
    );
    let arm: Manifest = blob(&layout, &index.manifests[1].digest);
    let arm_config: ImageConfig = blob(&layout, &arm.config.digest);
    assert_eq!(arm_config.architecture, "arm64");
    assert_eq!(arm_config.variant.as_deref(), Some("v8"));
    let amd: Manifest = blob(&layout, &index.manifests[0].digest);
    let docker: Vec<DockerManifest> = serde_json::from_slice(&layout.docker_manifest_json).unwrap();
    assert_eq!(docker.len(), 1);
    assert_eq!(docker[0].config, blob_path(&amd.config.digest));
    assert_eq!(layout.file_bytes, 16);
    assert_eq!(
        layout.layer_bytes,
        index
            .manifests
            .iter()
            .map(|d| blob::<Manifest>(&layout, &d.digest).layers[0].size)
            .sum::<u64>()
    );
    assert_eq!(index.annotations, meta().annotations);
}

#[test]
fn equal_inputs_give_equal_bytes_and_the_epoch_is_the_only_clock() {
    let spec = spec::parse("t.toml", SPEC).unwrap();
    let one = build(&spec, &[input("amd64", b"same")], &meta()).unwrap();
    let two = build(&spec, &[input("amd64", b"same")], &meta()).unwrap();
    assert_eq!(one, two);
    assert_eq!(archive_tar(&one, 5), archive_tar(&two, 5));
    let later = Stamp {
        mtime: meta().mtime + 1,
        ..meta()
    };
    let three = build(&spec, &[input("amd64", b"same")], &later).unwrap();
    assert_ne!(one.root.digest, three.root.digest);
}

#[test]
fn archive_is_an_oci_layout_and_a_docker_archive() {
    let spec = spec::parse("t.toml", SPEC).unwrap();
    let layout = build(&spec, &[input("amd64", b"code")], &meta()).unwrap();
    let tar = archive_tar(&layout, 99);
    let mut archive = tar::Archive::new(tar.as_slice());
    let mut names = Vec::new();
    let mut files = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        assert_eq!(entry.header().mtime().unwrap(), 99);
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut body = Vec::new();
        entry.read_to_end(&mut body).unwrap();
        names.push(name.clone());
        files.insert(name, body);
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "entries in sorted order");
    assert_eq!(names.len(), 2 + layout.blobs.len() + 3);
    assert_eq!(files["oci-layout"], br#"{"imageLayoutVersion":"1.0.0"}"#);
    assert_eq!(files["index.json"], layout.index_json);
    let docker: Vec<DockerManifest> = serde_json::from_slice(&files["manifest.json"]).unwrap();
    for path in docker[0].layers.iter().chain([&docker[0].config]) {
        assert!(files.contains_key(path), "{path} is in the archive");
    }
}

#[test]
fn labels_annotations_and_tags_are_the_stamps_not_the_specs() {
    // The spec's own Labels reach the config only through the stamp (meta::resolve).
    let spec = spec::parse("t.toml", SPEC).unwrap();
    let stamp = Stamp {
        tags: vec!["v7".into()],
        labels: BTreeMap::from([("only".to_string(), "label".to_string())]),
        annotations: BTreeMap::from([("only".to_string(), "annotation".to_string())]),
        created: None,
        mtime: 0,
    };
    let layout = build(&spec, &[input("amd64", b"x")], &stamp).unwrap();
    let manifest: Manifest = blob(&layout, &layout.root.digest);
    assert_eq!(manifest.annotations, stamp.annotations);
    assert_eq!(layout.root.annotations[oci::ANN_REF_NAME], "v7");
    let hex = manifest.config.digest.strip_prefix("sha256:").unwrap();
    let config: ImageConfig = serde_json::from_slice(&layout.blobs[hex]).unwrap();
    assert_eq!(config.config.labels, stamp.labels);
    let docker: Vec<DockerManifest> = serde_json::from_slice(&layout.docker_manifest_json).unwrap();
    assert_eq!(docker[0].repo_tags, vec!["demo:v7"]);
    // No created time: the config and its history say nothing rather than 1970.
    let text = String::from_utf8(layout.blobs[hex].clone()).unwrap();
    assert!(
        !text.contains("created\":\"") && text.contains("\"created_by\""),
        "{text}"
    );
    assert_eq!(config.created, None);
}

#[test]
fn a_layer_two_platforms_share_is_stored_and_counted_once() {
    let spec = spec::parse("t.toml", SPEC).unwrap();
    let layout = build(
        &spec,
        &[input("amd64", b"same"), input("arm64", b"same")],
        &meta(),
    )
    .unwrap();
    let index: Index = blob(&layout, &layout.root.digest);
    let layers: Vec<Descriptor> = index
        .manifests
        .iter()
        .map(|d| blob::<Manifest>(&layout, &d.digest).layers[0].clone())
        .collect();
    assert_eq!(layers[0], layers[1]);
    assert_eq!(layout.layer_bytes, layers[0].size);
    assert_eq!(layout.file_bytes, 8, "files count per platform");
    let archive = archive_tar(&layout, 0).len() as u64;
    assert!(
        archive > layout.layer_bytes,
        "{archive} vs {}",
        layout.layer_bytes
    );
}

/// The start of an ELF program's header for `machine` (62 x86-64, 183 AArch64).
fn elf(machine: u16) -> Vec<u8> {
    let mut h = b"\x7fELF\x02\x01".to_vec();
    h.resize(18, 0);
    h.extend(machine.to_le_bytes());
    h.resize(64, 0);
    h
}

#[test]
fn an_executable_built_for_another_machine_is_refused_saying_how_to_give_the_right_one() {
    let cases = [
        (
            "host = \"app\"",
            "give one file per platform: host = { \"linux/amd64\" = \"…\", \"linux/arm64\" = \"…\" }",
        ),
        (
            "host = { \"linux/amd64\" = \"a\", \"linux/arm64\" = \"b\" }",
            "host \"linux/arm64\" must name a program built for it",
        ),
        (
            "build = \"app\"",
            "rebuild it for aarch64-unknown-linux-musl",
        ),
    ];
    for (source, fix) in cases {
        let text =
            format!("name = \"a\"\n[[files]]\npath = \"/bin/app\"\n{source}\nmode = \"0755\"\n");
        let spec = spec::parse("t.toml", &text).unwrap();
        let inputs = [input("amd64", &elf(62)), input("arm64", &elf(62))];
        let e = build(&spec, &inputs, &meta()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "files[0] \"/bin/app\": is a program for x86-64, not for linux/arm64/v8: {fix}"
            )
        );
    }
    // The right machine per platform, and a non-executable file of any machine, are fine.
    let spec = spec::parse("t.toml", SPEC).unwrap();
    build(
        &spec,
        &[input("amd64", &elf(62)), input("arm64", &elf(183))],
        &meta(),
    )
    .unwrap();
    let text = "name = \"a\"\n[[files]]\npath = \"/bin/app\"\nhost = \"app\"\n";
    let spec = spec::parse("t.toml", text).unwrap();
    build(&spec, &[input("arm64", &elf(62))], &meta()).unwrap();
}
