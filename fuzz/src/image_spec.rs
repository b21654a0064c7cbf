//! Target `image_spec`: the image kit's spec parser (`images::spec::parse`), input = the
//! TOML text of one spec as UTF-8 (a spec file that is not UTF-8 is refused before).
//!
//! Properties:
//! - a refused spec gives one line naming the spec file (`fuzz.toml: …`);
//! - an accepted spec's entries are normalised paths under the image root (no empty, `.` or
//!   `..` component, no leading `/`, no NUL), sorted, without duplicates, with every parent
//!   present as a directory, and modes within 0o7777;
//! - nothing is lost: every `[[files]]`, `[[dirs]]` and `[[symlinks]]` table of the text (read
//!   here with the plain TOML reader) has its entry, of its kind, named by its origin;
//! - volumes are absolute and normalised; a `version` is a Docker tag (restated from
//!   distribution/reference: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`); no label or annotation
//!   key is blank.

use images::spec::{self, EntryKind, Spec};

const NAME: &str = "fuzz.toml";

/// Checks the properties above for one input; panics when one fails.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = spec::parse(NAME, text);
    assert_eq!(
        parsed,
        spec::parse(NAME, text),
        "the same text parsed twice"
    );
    match parsed {
        Err(e) => {
            assert_eq!(e.spec, NAME);
            assert!(!e.message.is_empty(), "{e:?}");
            let line = e.to_string();
            assert!(line.starts_with("fuzz.toml: "), "{line}");
            assert!(!line.contains('\n'), "one line: {line}");
        }
        Ok(spec) => {
            check_entries(&spec);
            check_nothing_lost(&spec, text);
            for v in &spec.config.volumes {
                let rest = v.strip_prefix('/').expect("an absolute volume");
                assert!(is_normal(rest), "volume {v:?}");
            }
            if let Some(v) = &spec.version {
                assert!(is_tag(v), "version {v:?} is not a tag");
            }
            let keys = spec.config.labels.keys().chain(spec.annotations.keys());
            for key in keys {
                assert!(!key.trim().is_empty(), "blank key {key:?}");
            }
        }
    }
}

/// A normalised relative path: non-empty components, none `.` or `..`, no NUL.
fn is_normal(path: &str) -> bool {
    !path.contains('\0')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

fn is_tag(v: &str) -> bool {
    let mut chars = v.chars();
    let first = chars.next();
    v.len() <= 128
        && first.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

fn check_entries(spec: &Spec) {
    for pair in spec.entries.windows(2) {
        assert!(
            pair[0].path < pair[1].path,
            "not sorted or duplicate: {pair:?}"
        );
    }
    for entry in &spec.entries {
        assert!(is_normal(&entry.path), "entry path {:?}", entry.path);
        assert_eq!(
            spec::normalize(&entry.path).as_deref(),
            Ok(entry.path.as_str())
        );
        let mut parent = entry.path.as_str();
        while let Some(cut) = parent.rfind('/') {
            parent = &parent[..cut];
            let found = spec.entries.iter().find(|e| e.path == parent);
            assert!(
                matches!(found.map(|e| &e.kind), Some(EntryKind::Dir { .. })),
                "parent {parent:?} of {:?} is {found:?}",
                entry.path
            );
        }
        match &entry.kind {
            EntryKind::File { mode, .. } | EntryKind::Dir { mode } => {
                assert!(*mode <= 0o7777, "mode {mode:o}")
            }
            EntryKind::Symlink { target } => {
                assert!(!target.is_empty() && !target.contains('\0'), "{target:?}")
            }
        }
    }
}

fn check_nothing_lost(spec: &Spec, text: &str) {
    let table: toml::Table = toml::from_str(text).expect("an accepted spec is TOML");
    for key in ["files", "dirs", "symlinks"] {
        let Some(list) = table.get(key) else {
            continue;
        };
        let list = list.as_array().expect("an array of tables");
        for (i, item) in list.iter().enumerate() {
            let path = item["path"].as_str().expect("a path string");
            let origin = format!("{key}[{i}] {path:?}");
            let entry = spec.entries.iter().find(|e| e.origin == origin);
            let kind = entry.map(|e| &e.kind);
            let ok = match key {
                "files" => matches!(kind, Some(EntryKind::File { .. })),
                "dirs" => matches!(kind, Some(EntryKind::Dir { .. })),
                _ => matches!(kind, Some(EntryKind::Symlink { .. })),
            };
            assert!(ok, "{origin} lost: {entry:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_and_refused_specs() {
        for text in [
            "name = \"a\"\n[[files]]\npath = \"usr//./lib/../bin/x\"\ntext = \"\"\n",
            "name = \"a\"\n[[dirs]]\npath = \"/tmp\"\nmode = \"1777\"\n[[symlinks]]\npath = \"/tmp/x\"\ntarget = \"..\"\n",
            "name = \"a\"\n[[files]]\npath = \"../x\"\ntext = \"\"\n",
            "name = \"a\"\n[config]\nVolumes = [\"/v/./w/\"]\n",
            "name = [",
        ] {
            check(text.as_bytes());
        }
    }

    #[test]
    fn the_seeds_are_accepted_but_the_refused_one() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/image_spec");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let refused = path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("refused");
            let parsed = spec::parse(NAME, &text);
            assert_eq!(parsed.is_err(), refused, "{}: {parsed:?}", path.display());
        }
    }

    #[test]
    #[should_panic(expected = "lost")]
    fn the_check_can_fail() {
        let spec = spec::parse(NAME, "name = \"a\"").unwrap();
        check_nothing_lost(&spec, "name = \"a\"\n[[dirs]]\npath = \"/x\"\n");
    }
}
