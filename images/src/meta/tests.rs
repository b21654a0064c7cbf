use std::collections::BTreeMap;

use super::*;
use crate::spec;

fn spec(text: &str) -> Spec {
    spec::parse("t.toml", text).unwrap_or_else(|e| panic!("{e}"))
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// What `make images` gives for our own images.
fn ours() -> Defaults {
    Defaults {
        epoch: Some(1_700_000_000),
        version: Some("0.1.0".into()),
        source: Some("https://github.com/powerstrip-weave/powerstrip-weave".into()),
        revision: Some("0123abcd".into()),
    }
}

const T: &str = "org.opencontainers.image.title";
const V: &str = "org.opencontainers.image.version";
const S: &str = "org.opencontainers.image.source";
const R: &str = "org.opencontainers.image.revision";
const C: &str = "org.opencontainers.image.created";
const D: &str = "org.opencontainers.image.description";

#[test]
fn a_bare_spec_gets_only_its_title_no_time_and_the_latest_tag() {
    let stamp = resolve(&spec("name = \"hello\"\n"), &Defaults::default());
    assert_eq!(stamp.labels, map(&[(T, "hello")]));
    assert_eq!(stamp.annotations, map(&[(T, "hello")]));
    assert_eq!(stamp.tags, vec!["latest"]);
    assert_eq!(stamp.created, None);
    assert_eq!(stamp.mtime, 0);
}

#[test]
fn source_date_epoch_alone_gives_created_and_the_file_times() {
    let defaults = Defaults {
        epoch: Some(0),
        ..Defaults::default()
    };
    let stamp = resolve(&spec("name = \"hello\"\n"), &defaults);
    // SOURCE_DATE_EPOCH=0 asked for 1970, so 1970 it is.
    let want = map(&[(C, "1970-01-01T00:00:00Z"), (T, "hello")]);
    assert_eq!((&stamp.labels, &stamp.annotations), (&want, &want));
    assert_eq!(stamp.created.as_deref(), Some("1970-01-01T00:00:00Z"));
    assert_eq!(stamp.mtime, 0);
}

#[test]
fn our_images_get_the_callers_facts_where_the_spec_is_silent() {
    let s = spec(
        "name = \"weavewait\"\n[config]\nLabels = { \"org.opencontainers.image.description\" = \"the waiter\" }\n",
    );
    let stamp = resolve(&s, &ours());
    let want = map(&[
        (C, "2023-11-14T22:13:20Z"),
        (D, "the waiter"),
        (R, "0123abcd"),
        (S, "https://github.com/powerstrip-weave/powerstrip-weave"),
        (T, "weavewait"),
        (V, "0.1.0"),
    ]);
    assert_eq!(stamp.labels, want);
    assert_eq!(
        stamp.annotations, want,
        "the description reaches registries too"
    );
    assert_eq!(stamp.tags, vec!["latest", "0.1.0"]);
    assert_eq!(stamp.created.as_deref(), Some("2023-11-14T22:13:20Z"));
    assert_eq!(stamp.mtime, 1_700_000_000);
}

#[test]
fn the_spec_wins_over_every_default_in_labels_annotations_and_tags() {
    let s = spec(
        r#"
name = "acme/hello"
version = "1.4.2"
title = "Hello"
[config.Labels]
"org.opencontainers.image.source" = "https://example.org/acme/hello"
"org.opencontainers.image.revision" = "v1.4.2"
"com.example.team" = "web"
[annotations]
"org.opencontainers.image.created" = "2024-05-01T12:00:00Z"
"org.opencontainers.image.url" = "https://example.org"
"com.example.pipeline" = "42"
"#,
    );
    let stamp = resolve(&s, &ours());
    let shared = [
        (C, "2024-05-01T12:00:00Z"),
        (R, "v1.4.2"),
        (S, "https://example.org/acme/hello"),
        (T, "Hello"),
        ("org.opencontainers.image.url", "https://example.org"),
        (V, "1.4.2"),
    ];
    let mut labels = map(&shared);
    labels.insert("com.example.team".into(), "web".into());
    let mut annotations = map(&shared);
    annotations.insert("com.example.pipeline".into(), "42".into());
    assert_eq!(stamp.labels, labels);
    assert_eq!(stamp.annotations, annotations);
    assert_eq!(stamp.tags, vec!["latest", "1.4.2"]);
    assert_eq!(stamp.created.as_deref(), Some("2024-05-01T12:00:00Z"));
    // The spec's created names the image's time; the files keep SOURCE_DATE_EPOCH.
    assert_eq!(stamp.mtime, 1_700_000_000);
}

#[test]
fn a_key_set_in_both_tables_keeps_each_value_and_other_keys_stay_where_written() {
    let s = spec(
        r#"
name = "a"
[config.Labels]
"org.opencontainers.image.version" = "1.0-label"
"com.example.only-label" = "x"
[annotations]
"org.opencontainers.image.version" = "1.0-annotation"
"com.example.only-annotation" = "y"
"#,
    );
    let stamp = resolve(&s, &Defaults::default());
    assert_eq!(
        stamp.labels,
        map(&[("com.example.only-label", "x"), (T, "a"), (V, "1.0-label")])
    );
    assert_eq!(
        stamp.annotations,
        map(&[
            ("com.example.only-annotation", "y"),
            (T, "a"),
            (V, "1.0-annotation")
        ])
    );
    // The tag comes from `version = …` or the caller only.
    assert_eq!(stamp.tags, vec!["latest"]);
}

#[test]
fn a_created_annotation_alone_is_the_configs_created_time() {
    let s = spec("name = \"a\"\n[annotations]\n\"org.opencontainers.image.created\" = \"2020-01-02T03:04:05+01:00\"\n");
    let stamp = resolve(&s, &Defaults::default());
    assert_eq!(stamp.created.as_deref(), Some("2020-01-02T03:04:05+01:00"));
    assert_eq!(stamp.labels[C], "2020-01-02T03:04:05+01:00");
    assert_eq!(stamp.mtime, 0);
}

#[test]
fn tags_come_from_the_spec_then_the_caller_then_latest_alone() {
    let caller = Defaults {
        version: Some("9.9.9".into()),
        ..Defaults::default()
    };
    let with = spec("name = \"a\"\nversion = \"1.4.2\"\n");
    let without = spec("name = \"a\"\n");
    assert_eq!(resolve(&with, &caller).tags, vec!["latest", "1.4.2"]);
    assert_eq!(resolve(&without, &caller).tags, vec!["latest", "9.9.9"]);
    assert_eq!(resolve(&without, &caller).labels[V], "9.9.9");
    assert_eq!(resolve(&without, &Defaults::default()).tags, vec!["latest"]);
    let latest = spec("name = \"a\"\nversion = \"latest\"\n");
    assert_eq!(resolve(&latest, &caller).tags, vec!["latest"]);
}
