//! A user's own image spec, in a directory of its own outside this repository (no git),
//! through the real `image-kit` binary and the real dockerd: the image carries the spec's
//! name, version, labels and annotations plus the kit's `created` rule, and nothing that
//! claims to be this project; the sizes the kit prints are positive and add up.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::docker::{docker, docker_ok, unique};
use e2e::{kit, prereq};
use images::layout::blob_path;
use images::oci::{DockerManifest, ImageConfig, Manifest};

fn kit_bin() -> PathBuf {
    prereq::workspace_root().join("target/release/image-kit")
}

fn ready() -> bool {
    prereq::require(
        kit_bin().exists(),
        "target/release/image-kit (run `make images`)",
    )
}

/// The user's spec: their name, version, title, labels (among them OCI keys the kit would
/// otherwise fill in) and annotations, a host file next to the spec and an inline file.
fn spec(name: &str, extra_annotations: &str) -> String {
    format!(
        r#"name = "{name}"
version = "1.4.2"
title = "Hello"

[config]
Entrypoint = ["/hello"]

[config.Labels]
"org.opencontainers.image.source" = "https://example.org/acme/hello"
"org.opencontainers.image.revision" = "v1.4.2-0-gfeedbee"
"com.example.team" = "web"

[annotations]
"org.opencontainers.image.url" = "https://example.org/acme"
"com.example.pipeline" = "42"
{extra_annotations}
[[files]]
path = "/hello"
host = "hello.bin"
mode = "0755"

[[files]]
path = "/etc/hello.conf"
text = "greeting = hi\n"
"#
    )
}

/// Bytes of the files the spec names: `hello.bin` and the inline text.
const HELLO_BIN: usize = 300_000;
const FILE_BYTES: u64 = HELLO_BIN as u64 + "greeting = hi\n".len() as u64;

/// A directory of the user's own: the spec and its host file, no git anywhere above the
/// files the kit reads. Returns the directory and the spec's file name.
fn user_dir(name: &str, extra_annotations: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    // Compressible but not trivially: a counter in text.
    let mut bin = String::new();
    let mut i = 0u64;
    while bin.len() < HELLO_BIN {
        bin.push_str(&format!("{:x} ", i.wrapping_mul(2_654_435_761) % 65_521));
        i += 1;
    }
    bin.truncate(HELLO_BIN);
    std::fs::write(dir.path().join("hello.bin"), bin).unwrap();
    std::fs::write(dir.path().join("hello.toml"), spec(name, extra_annotations)).unwrap();
    dir
}

/// Runs the kit in `dir` on `hello.toml` as a user would (`image-kit --out out hello.toml`),
/// with `epoch` as SOURCE_DATE_EPOCH (`None`: unset) and `args` before the spec.
fn run_kit(dir: &Path, epoch: Option<&str>, args: &[&str]) -> String {
    let mut cmd = Command::new(kit_bin());
    cmd.current_dir(dir)
        .args(["--out", "out"])
        .args(args)
        .arg("hello.toml")
        .env_remove("SOURCE_DATE_EPOCH")
        // Nothing of a git repository may reach the kit: no checkout above, none by env.
        .env("GIT_CEILING_DIRECTORIES", dir.parent().unwrap())
        .env_remove("GIT_DIR");
    if let Some(e) = epoch {
        cmd.env("SOURCE_DATE_EPOCH", e);
    }
    let out = cmd.output().expect("image-kit runs");
    assert!(
        out.status.success(),
        "image-kit failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What the archive says about itself: config, manifest, index.json's root annotations,
/// manifest.json, every JSON document's text, and the distinct layer blob sizes.
struct Parsed {
    config: ImageConfig,
    manifest: Manifest,
    root_digest: String,
    root_annotations: BTreeMap<String, String>,
    docker: Vec<DockerManifest>,
    json_texts: Vec<String>,
    layer_bytes: u64,
}

fn parse(archive: &Path) -> Parsed {
    let files = kit::archive_files(archive);
    let root = kit::root_descriptor(archive);
    let manifest: Manifest = serde_json::from_slice(&files[&blob_path(&root.digest)]).unwrap();
    let config = serde_json::from_slice(&files[&blob_path(&manifest.config.digest)]).unwrap();
    let layers: BTreeMap<&str, u64> = manifest
        .layers
        .iter()
        .map(|d| (d.digest.as_str(), d.size))
        .collect();
    let json_texts = files
        .iter()
        .filter(|(_, bytes)| bytes.first() == Some(&b'{') || bytes.first() == Some(&b'['))
        .map(|(_, bytes)| String::from_utf8(bytes.clone()).unwrap())
        .collect();
    Parsed {
        config,
        docker: serde_json::from_slice(&files["manifest.json"]).unwrap(),
        root_digest: root.digest,
        root_annotations: root.annotations,
        json_texts,
        layer_bytes: layers.values().sum(),
        manifest,
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const OCI: &str = "org.opencontainers.image.";

/// The labels and annotations the spec asks for, with `created` when given: the spec's
/// OCI keys reach both, its other keys only their own table.
fn expected(created: Option<&str>) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut shared = map(&[
        ("org.opencontainers.image.revision", "v1.4.2-0-gfeedbee"),
        (
            "org.opencontainers.image.source",
            "https://example.org/acme/hello",
        ),
        ("org.opencontainers.image.title", "Hello"),
        ("org.opencontainers.image.url", "https://example.org/acme"),
        ("org.opencontainers.image.version", "1.4.2"),
    ]);
    if let Some(c) = created {
        shared.insert(format!("{OCI}created"), c.to_string());
    }
    let mut labels = shared.clone();
    labels.insert("com.example.team".into(), "web".into());
    let mut annotations = shared;
    annotations.insert("com.example.pipeline".into(), "42".into());
    (labels, annotations)
}

/// Our repository URL, as `make images` passes it: the workspace's `repository`.
fn our_source() -> String {
    let manifest = std::fs::read_to_string(prereq::workspace_root().join("Cargo.toml")).unwrap();
    let url = manifest
        .lines()
        .find_map(|l| l.strip_prefix("repository = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("the workspace Cargo.toml names its repository");
    assert!(url.contains("powerstrip"), "{url}");
    url.to_string()
}

/// Fails when any JSON document of the archive names this project, its revision, or a
/// time nobody gave.
fn assert_nothing_of_ours(parsed: &Parsed, also_absent: &[&str]) {
    let ours = ["powerstrip", "weave", "revision\":\"unknown"];
    let head = Command::new("git")
        .arg("-C")
        .arg(prereq::workspace_root())
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    for text in &parsed.json_texts {
        for needle in ours
            .iter()
            .chain(also_absent)
            .copied()
            .chain(head.as_deref())
        {
            assert!(!text.contains(needle), "{needle:?} in {text}");
        }
    }
}

/// `(bytes, value in unit, unit)` for every `N bytes (X UNIT)` in `line`.
fn sizes(line: &str) -> Vec<(u64, f64, String)> {
    let parts: Vec<&str> = line.split(" bytes (").collect();
    (1..parts.len())
        .map(|i| {
            let bytes = parts[i - 1].rsplit(' ').next().unwrap().parse().unwrap();
            let (number, rest) = parts[i].split_once(' ').unwrap();
            let unit = rest.split(')').next().unwrap().to_string();
            (bytes, number.parse().unwrap(), unit)
        })
        .collect()
}

/// The kit's report for one image: first line `NAME ARCHIVE DIGEST TAG…`, then the sizes.
/// Checks every figure against the archive and returns the tags it lists.
fn check_report(report: &str, dir: &Path, name: &str, parsed: &Parsed) -> Vec<String> {
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 3, "{report}");
    let head: Vec<&str> = lines[0].split(' ').collect();
    let archive_path = format!("out/{name}.tar");
    assert_eq!(
        head[..3],
        [name, archive_path.as_str(), parsed.root_digest.as_str()],
        "{report}"
    );

    assert!(lines[1].starts_with("  archive "), "{report}");
    let Ok([archive, layers, metadata]) = <[_; 3]>::try_from(sizes(lines[1])) else {
        panic!("archive = layers + metadata: {report}")
    };
    assert!(lines[1].contains(" = compressed layers ") && lines[1].contains(" + metadata "));
    let on_disk = std::fs::metadata(dir.join(format!("out/{name}.tar")))
        .unwrap()
        .len();
    assert_eq!(archive.0, on_disk, "archive bytes are the file's");
    assert_eq!(
        layers.0, parsed.layer_bytes,
        "compressed layers are the layer blobs"
    );
    assert!(metadata.0 > 0 && layers.0 > 0, "{report}");
    assert_eq!(
        layers.0 + metadata.0,
        archive.0,
        "the parts add up: {report}"
    );

    assert!(lines[2].starts_with("  files ") && lines[2].ends_with(" uncompressed, linux/amd64"));
    let Ok([files]) = <[_; 1]>::try_from(sizes(lines[2])) else {
        panic!("one size: {report}")
    };
    assert_eq!(files.0, FILE_BYTES, "files: the spec's files' contents");
    assert!(layers.0 < files.0, "the text compresses: {report}");

    for (bytes, value, unit) in [archive, layers, metadata, files] {
        let scale = match unit.as_str() {
            "KiB" => 1024.0,
            "MiB" => 1024.0 * 1024.0,
            other => panic!("unit {other}: {report}"),
        };
        assert!(
            (value * scale - bytes as f64).abs() <= 0.05 * scale,
            "{bytes} bytes shown as {value} {unit}"
        );
        assert!(
            (1.0..1024.0).contains(&value) || bytes < 1024,
            "{value} {unit}"
        );
    }
    head[3..].iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_bare_kit_stamps_the_users_spec_and_nothing_of_ours() {
    if !ready() {
        return;
    }
    let name = "acme-hello";
    let dir = user_dir(name, "");
    let report = run_kit(dir.path(), None, &[]);
    let parsed = parse(&dir.path().join(format!("out/{name}.tar")));

    let (labels, annotations) = expected(None);
    assert_eq!(parsed.config.config.labels, labels);
    assert_eq!(parsed.manifest.annotations, annotations);
    assert_eq!(
        parsed.root_annotations,
        map(&[(&format!("{OCI}ref.name"), "latest")])
    );
    assert_eq!(
        parsed.docker[0].repo_tags,
        vec![format!("{name}:latest"), format!("{name}:1.4.2")]
    );
    // Without SOURCE_DATE_EPOCH and without a created of the spec's, no time is made up.
    assert_eq!(parsed.config.created, None);
    assert!(parsed.config.history.iter().all(|h| h.created.is_none()));
    assert_nothing_of_ours(&parsed, &["\"created\":", "image.created", "1970-01-01"]);

    let tags = check_report(&report, dir.path(), name, &parsed);
    assert_eq!(
        tags,
        vec![format!("{name}:latest"), format!("{name}:1.4.2")]
    );
}

#[test]
fn source_date_epoch_gives_created_and_the_specs_values_beat_the_callers() {
    if !ready() {
        return;
    }
    let name = "acme-hello";
    // SOURCE_DATE_EPOCH alone: created everywhere, from it.
    let dir = user_dir(name, "");
    run_kit(dir.path(), Some("1700000000"), &[]);
    let parsed = parse(&dir.path().join(format!("out/{name}.tar")));
    let (labels, annotations) = expected(Some("2023-11-14T22:13:20Z"));
    assert_eq!(parsed.config.config.labels, labels);
    assert_eq!(parsed.manifest.annotations, annotations);
    assert_eq!(
        parsed.config.created.as_deref(),
        Some("2023-11-14T22:13:20Z")
    );
    assert_nothing_of_ours(&parsed, &[]);

    // The spec's own created, and the flags `make images` gives our images: the spec wins
    // every key it sets, the tag is the spec's version.
    let created = format!("\"{OCI}created\" = \"2024-05-01T12:00:00Z\"\n");
    let dir = user_dir(name, &created);
    let source = our_source();
    let flags = [
        "--image-version",
        "9.9.9",
        "--source",
        &source,
        "--revision",
        "0123abcd",
    ];
    let report = run_kit(dir.path(), Some("1700000000"), &flags);
    let parsed = parse(&dir.path().join(format!("out/{name}.tar")));
    let (labels, annotations) = expected(Some("2024-05-01T12:00:00Z"));
    assert_eq!(parsed.config.config.labels, labels);
    assert_eq!(parsed.manifest.annotations, annotations);
    assert_eq!(
        parsed.config.created.as_deref(),
        Some("2024-05-01T12:00:00Z")
    );
    assert_nothing_of_ours(&parsed, &["9.9.9", "0123abcd", "2023-11-14"]);
    let tags = check_report(&report, dir.path(), name, &parsed);
    assert_eq!(
        tags,
        vec![format!("{name}:latest"), format!("{name}:1.4.2")]
    );
}

/// Removes image references when dropped, also when the test panics.
struct Images(Vec<String>);

impl Drop for Images {
    fn drop(&mut self) {
        for image in &self.0 {
            let _ = docker(&["rmi", image]);
        }
    }
}

#[test]
fn docker_load_gives_the_specs_tags_and_labels() {
    if !ready() || !prereq::require(prereq::docker_answers(), "a Docker daemon (`docker info`)") {
        return;
    }
    let name = unique("user-hello");
    let _loaded = Images(vec![format!("{name}:latest"), format!("{name}:1.4.2")]);
    let dir = user_dir(&name, "");
    run_kit(dir.path(), None, &[]);
    let out = docker_ok(&[
        "load",
        "-i",
        &dir.path().join(format!("out/{name}.tar")).to_string_lossy(),
    ]);
    assert!(
        out.contains(&format!("Loaded image: {name}:1.4.2")),
        "{out}"
    );
    let inspect = |image: &str| {
        docker_ok(&[
            "image",
            "inspect",
            "--format",
            "{{.Id}} {{json .RepoTags}} {{json .Config.Labels}}",
            image,
        ])
    };
    let by_version = inspect(&format!("{name}:1.4.2"));
    assert_eq!(by_version, inspect(&format!("{name}:latest")));
    let (id, rest) = by_version.split_once(' ').unwrap();
    let (tags, labels) = rest.split_once(' ').unwrap();
    assert!(id.starts_with("sha256:"), "{by_version}");
    let mut tags: Vec<String> = serde_json::from_str(tags).unwrap();
    tags.sort();
    assert_eq!(
        tags,
        vec![format!("{name}:1.4.2"), format!("{name}:latest")]
    );
    let labels: BTreeMap<String, String> = serde_json::from_str(labels).unwrap();
    assert_eq!(labels, expected(None).0);
}
