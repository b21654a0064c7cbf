//! Bad specs through the real `image-kit` binary: exit status 1, one line per bad spec
//! naming the spec and the entry, and no archive (nor temporary file) written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use e2e::prereq;

fn kit_bin() -> PathBuf {
    prereq::workspace_root().join("target/release/image-kit")
}

fn kit(dir: &Path, specs: &[&Path]) -> Output {
    Command::new(kit_bin())
        .arg("--out")
        .arg(dir.join("out"))
        .arg("--target-dir")
        .arg(dir.join("target"))
        .args(specs)
        .env("SOURCE_DATE_EPOCH", "0")
        .output()
        .expect("image-kit runs")
}

fn out_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("out"))
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

const CASES: [(&str, &str, &str); 11] = [
    (
        "missing",
        "[[files]]\npath = \"/app\"\nbuild = \"no-such-binary\"\nmode = \"0755\"\n",
        "files[0] \"/app\": cannot read ",
    ),
    (
        "badmode",
        "[[files]]\npath = \"/app\"\ntext = \"x\"\nmode = \"0855\"\n",
        "files[0] \"/app\": bad mode \"0855\"",
    ),
    (
        "escape",
        "[[symlinks]]\npath = \"/etc/../../x\"\ntarget = \"y\"\n",
        "symlinks[0] \"/etc/../../x\": path \"/etc/../../x\" escapes the image root",
    ),
    (
        "duplicate",
        "[[dirs]]\npath = \"/data\"\n[[files]]\npath = \"/data/\"\ntext = \"\"\n",
        "dirs[0] \"/data\": duplicate path: files[0] \"/data/\" names it too",
    ),
    (
        "loop",
        "[[symlinks]]\npath = \"/a\"\ntarget = \"b\"\n[[symlinks]]\npath = \"/b\"\ntarget = \"a\"\n",
        "symlinks[0] \"/a\": symlink loop: /a -> b, /b -> a, …",
    ),
    (
        "badversion",
        "version = \"1.0+build.5\"\n",
        "version: \"1.0+build.5\": a version is also a tag",
    ),
    (
        "badcreated",
        "[annotations]\n\"org.opencontainers.image.created\" = \"2024-02-30T00:00:00Z\"\n",
        "annotations \"org.opencontainers.image.created\": \"2024-02-30T00:00:00Z\" is not an RFC 3339 time (no such day)",
    ),
    (
        "device",
        "[[files]]\npath = \"/x\"\nhost = \"/dev/null\"\n",
        "files[0] \"/x\": cannot read /dev/null: it is a character device: name a regular file",
    ),
    (
        "noexec",
        "[config]\nEntrypoint = [\"/app\"]\n[[files]]\npath = \"/app\"\ntext = \"#!/bin/sh\\n\"\n",
        "config.Entrypoint[0] \"/app\": files[0] \"/app\" has mode 0644, which nobody may execute: give it mode = \"0755\"",
    ),
    (
        "stopsignal",
        "[config]\nStopSignal = \"SIGFOO\"\n",
        "config.StopSignal: \"SIGFOO\" is not a signal",
    ),
    (
        "unknown",
        "[[files]]\npath = \"/app\"\ntext = \"\"\nowner = \"root\"\n",
        "line 5: unknown field `owner`",
    ),
];

#[test]
fn each_bad_spec_gives_one_line_naming_spec_and_entry_and_no_archive() {
    if !prereq::require(
        kit_bin().exists(),
        "target/release/image-kit (run `make images`)",
    ) {
        return;
    }
    for (name, body, expected) in CASES {
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join(format!("{name}.toml"));
        std::fs::write(&spec, format!("name = \"{name}\"\n{body}")).unwrap();
        let out = kit(dir.path(), &[&spec]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: one line: {stderr}");
        let prefix = format!("image-kit: {}: {expected}", spec.display());
        assert!(
            stderr.starts_with(&prefix),
            "{name}:\n got {stderr}\nwant {prefix}…"
        );
        assert!(out.stdout.is_empty(), "{name}: nothing reported built");
        assert_eq!(
            out_files(dir.path()),
            Vec::<String>::new(),
            "{name}: no archive"
        );
    }
}

#[test]
fn a_bad_spec_never_touches_an_existing_archive_and_good_ones_still_build() {
    if !prereq::require(
        kit_bin().exists(),
        "target/release/image-kit (run `make images`)",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("out")).unwrap();
    std::fs::write(dir.path().join("out/app.tar"), b"previous archive").unwrap();
    let bad = dir.path().join("app.toml");
    std::fs::write(
        &bad,
        "name = \"app\"\n[[files]]\npath = \"/app\"\nbuild = \"not-built\"\n",
    )
    .unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "name = \"good\"\n[[files]]\npath = \"/hello\"\ntext = \"hi\\n\"\n",
    )
    .unwrap();
    let out = kit(dir.path(), &[&bad, &good]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "(build it with `cargo build --profile release --target x86_64-unknown-linux-musl`, or give --target-dir)"
        ),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("out/app.tar")).unwrap(),
        b"previous archive"
    );
    assert_eq!(out_files(dir.path()), vec!["app.tar", "good.tar"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("good "), "{stdout}");
}

#[test]
fn two_specs_with_one_image_name_are_refused_and_bad_platforms_or_versions_are_usage_errors() {
    if !prereq::require(
        kit_bin().exists(),
        "target/release/image-kit (run `make images`)",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("one.toml"), dir.path().join("two.toml"));
    for (path, text) in [(&one, "first"), (&two, "second")] {
        std::fs::write(
            path,
            format!("name = \"same\"\n[[files]]\npath = \"/x\"\ntext = \"{text}\"\n"),
        )
        .unwrap();
    }
    let out = kit(dir.path(), &[&one, &two]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "image-kit: {}: name: image \"same\" is already built by {}",
            two.display(),
            one.display()
        )
    );
    let files = e2e::kit::archive_files(&dir.path().join("out/same.tar"));
    assert!(files.len() > 3, "the first spec's archive is intact");

    let out = Command::new(kit_bin())
        .args(["--platforms", "linux/amd64,linux/s390x"])
        .arg(&one)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported platform \"linux/s390x\""));

    let out = Command::new(kit_bin())
        .args(["--image-version", "1.0 beta"])
        .arg(&one)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).lines().next(),
        Some("image-kit: --image-version \"1.0 beta\": a version is also a tag: up to 128 letters, digits, _ . and -, not starting with . or -")
    );
}

#[test]
fn odd_command_lines_are_usage_errors_with_status_2_and_version_answers() {
    if !prereq::require(
        kit_bin().exists(),
        "target/release/image-kit (run `make images`)",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("a.toml");
    std::fs::write(&spec, "name = \"a\"\n").unwrap();
    let spec = spec.to_str().unwrap();
    std::fs::write(dir.path().join("file"), b"").unwrap();
    for args in [
        &["--out", "file", spec][..],
        &["--bogus", spec],
        &["--out"],
        &["-h"],
        &[],
        &["--out", "", spec],
    ] {
        let out = Command::new(kit_bin())
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("image-kit: "), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        2,
        "nothing written beside the spec and the file"
    );
    let out = Command::new(kit_bin()).arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("image-kit {}\n", e2e::kit::version())
    );
}
