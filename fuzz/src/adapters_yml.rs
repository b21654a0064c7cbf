//! Target `adapters_yml`: the proxy's `adapters.yml` (`AdaptersConfig::parse`, then
//! `hooks_for`) and its endpoint patterns (`adapter::proxy::fnmatch`), input = the YAML
//! text as UTF-8, then optionally a NUL and request subjects (`METHOD path`), one a line
//! (without them, the requests of a `docker run`).
//!
//! Properties:
//! - no input panics, and a refusal is one line, `invalid adapters configuration: …`;
//! - an accepted file has what powerstrip requires, read here with the plain YAML reader:
//!   mappings `endpoints` (or null) and `adapters`, every endpoint a non-empty mapping of
//!   `pre`/`post` only;
//! - the hooks of a request are those of every endpoint whose key matches it, in file
//!   order: for every subject, `hooks_for` equals the concatenation, over the endpoints in
//!   order, of what a file with that endpoint alone gives;
//! - the pattern matcher, on every endpoint key and subject of the input: a key without
//!   `*`, `?` or `[` matches exactly itself; every subject matches itself written with its
//!   special characters in brackets, and nothing longer; `*` matches everything, and a
//!   pattern that matches a subject matches it with anything before and after once `*` is
//!   put around it. Agreement with Python's `fnmatch.fnmatchcase` is checked outside the
//!   fuzzing loop, by a test that feeds the committed inputs to one python3 process
//!   (`tests/fnmatch_python.rs`).

use adapter::proxy::adapters::{AdaptersConfig, Hooks};
use adapter::proxy::fnmatch::fnmatch;
use serde_yaml_ng::{Mapping, Value};

/// The requests of a `docker run -d`, as the CLI sends them.
pub const SUBJECTS: &[&str] = &[
    "HEAD /_ping",
    "POST /v1.41/containers/create?name=web-1",
    "POST /v1.41/containers/create",
    "POST /containers/create",
    "POST /v1.41/containers/web-1/start",
    "POST /v1.41/containers/c27817ff1c7f/wait?condition=next-exit",
    "POST /v1.41/containers/web-1/restart?t=1",
    "GET /v1.41/containers/json?all=1",
];

/// Endpoints beyond this many are not taken one by one (the work grows with each).
const MAX_ENDPOINTS: usize = 8;

/// The YAML text and the subjects of an input.
pub fn split(data: &[u8]) -> Option<(&str, Vec<&str>)> {
    let text = std::str::from_utf8(data).ok()?;
    Some(match text.split_once('\0') {
        Some((yaml, subjects)) => (yaml, subjects.split('\n').collect()),
        None => (text, SUBJECTS.to_vec()),
    })
}

/// The endpoint keys of a YAML text as the plain YAML reader reads them (strings only).
pub fn endpoint_keys(yaml: &str) -> Vec<String> {
    let Ok(doc) = serde_yaml_ng::from_str::<Value>(yaml) else {
        return Vec::new();
    };
    doc.get("endpoints")
        .and_then(Value::as_mapping)
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Checks the properties above for one input; panics when one fails.
pub fn check(data: &[u8]) {
    let Some((yaml, subjects)) = split(data) else {
        return;
    };
    let keys = endpoint_keys(yaml);
    for key in keys.iter().take(MAX_ENDPOINTS) {
        for subject in subjects.iter().take(MAX_ENDPOINTS) {
            check_pattern(key, subject);
        }
        check_pattern(key, key);
    }

    let parsed = AdaptersConfig::parse(yaml);
    let again = AdaptersConfig::parse(yaml);
    let cfg = match parsed {
        Err(e) => {
            let line = e.to_string();
            assert!(
                line.starts_with("invalid adapters configuration: "),
                "{line}"
            );
            assert!(!line.contains('\n'), "one line: {line:?}");
            assert_eq!(again.map_err(|e| e.to_string()).err(), Some(line));
            return;
        }
        Ok(cfg) => cfg,
    };
    let doc: Value = serde_yaml_ng::from_str(yaml).expect("an accepted file is YAML");
    let top = doc.as_mapping().expect("an accepted file is a mapping");
    assert!(
        top.get("adapters").is_some_and(Value::is_mapping),
        "adapters"
    );
    let endpoints = match top.get("endpoints") {
        Some(Value::Null) => Mapping::new(),
        Some(Value::Mapping(m)) => m.clone(),
        other => panic!("accepted with endpoints {other:?}"),
    };
    assert_eq!(cfg.is_empty(), endpoints.is_empty());
    for hooks in endpoints.values() {
        let m = hooks.as_mapping().expect("an endpoint is a mapping");
        assert!(!m.is_empty(), "an empty endpoint accepted");
        for key in m.keys() {
            assert!(
                key.as_str().is_some_and(|k| k == "pre" || k == "post"),
                "endpoint key {key:?} accepted"
            );
        }
    }
    if endpoints.len() > MAX_ENDPOINTS {
        return;
    }
    // Each endpoint alone, in file order. The YAML writer refuses some documents the reader
    // takes (a value tagged with the bare `!`): those are not split.
    let Some(alone) = endpoints
        .iter()
        .map(|(key, hooks)| {
            let mut one = top.clone();
            let mut single = Mapping::new();
            single.insert(key.clone(), hooks.clone());
            one.insert("endpoints".into(), Value::Mapping(single));
            let text = serde_yaml_ng::to_string(&one).ok()?;
            let cfg = AdaptersConfig::parse(&text);
            Some(cfg.expect("an endpoint of an accepted file is accepted alone"))
        })
        .collect::<Option<Vec<AdaptersConfig>>>()
    else {
        return;
    };
    for subject in subjects
        .iter()
        .copied()
        .chain(keys.iter().map(String::as_str))
    {
        let (method, path) = subject.split_once(' ').unwrap_or((subject, ""));
        let got = cfg.hooks_for(method, path);
        let mut want = Hooks::default();
        for one in &alone {
            let h = one.hooks_for(method, path);
            want.pre.extend(h.pre);
            want.post.extend(h.post);
        }
        assert_eq!(got, want, "hooks of {subject:?}");
    }
}

/// The matcher's properties on one pattern and one subject.
fn check_pattern(pattern: &str, subject: &str) {
    check_pattern_with(pattern, subject, fnmatch);
}

/// The properties of `fnmatch`, any matcher (text, pattern) given in its place.
fn check_pattern_with(pattern: &str, subject: &str, fnmatch: fn(&str, &str) -> bool) {
    let matched = fnmatch(subject, pattern);
    if !pattern.contains(['*', '?', '[']) {
        assert_eq!(matched, subject == pattern, "{pattern:?} is a literal");
    }
    let literal = bracketed(subject);
    assert!(
        fnmatch(subject, &literal),
        "{subject:?} against {literal:?}"
    );
    assert!(
        !fnmatch(&format!("{subject}x"), &literal),
        "{literal:?} matches more"
    );
    assert!(fnmatch(subject, "*"));
    if matched {
        let around = format!("x{subject}/é");
        assert!(
            fnmatch(&around, &format!("*{pattern}*")),
            "*{pattern:?}* against {around:?}"
        );
    }
}

/// `text` as a pattern that matches it alone: `*`, `?` and `[` in brackets.
fn bracketed(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '*' | '?' | '[' => format!("[{c}]"),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_made_inputs() {
        for input in [
            include_str!("../../adapters.yml"),
            "endpoints:\n  \"POST *\":\n    pre: [a]\n  \"POST /*/containers/create\":\n    post: [a, b]\nadapters:\n  a: http://a/\n  b: http://[::1]:81/x\n\0POST /v1.41/containers/create\nPOST x",
            "endpoints:\nadapters: {}\n",
            "endpoints: {}\nadapters:\n  a: http://x:99999/\n",
            "endpoints: [\n",
            "- a",
            "\0",
        ] {
            check(input.as_bytes());
        }
    }

    #[test]
    #[should_panic(expected = "against")]
    fn the_check_can_fail() {
        // A matcher that takes every `[` literally.
        fn no_sets(text: &str, pattern: &str) -> bool {
            fnmatch(text, &pattern.replace('[', "[[]"))
        }
        check_pattern_with("POST *", "POST /a*b", no_sets);
    }
}
