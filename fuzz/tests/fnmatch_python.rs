//! The endpoint patterns of `adapters.yml` against Python's `fnmatch.fnmatchcase`, which
//! powerstrip uses: every endpoint key of the committed `adapters_yml` inputs against every
//! subject (theirs, the requests of a `docker run`, the keys themselves), and patterns and
//! subjects drawn from the characters the pattern syntax gives a meaning, all answered by
//! one python3 process. Outside the fuzzing loop: a process per execution would be too slow.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use adapter::proxy::fnmatch::fnmatch;
use fuzz_checks::adapters_yml;

/// (subject, pattern) pairs of the committed inputs.
fn committed_pairs() -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for kind in ["corpus", "regressions"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(kind)
            .join("adapters_yml");
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let data = fs::read(entry.expect("a directory entry").path()).expect("readable");
            let Some((yaml, subjects)) = adapters_yml::split(&data) else {
                continue;
            };
            let keys = adapters_yml::endpoint_keys(yaml);
            let subjects: Vec<String> = subjects
                .iter()
                .chain(adapters_yml::SUBJECTS)
                .map(|s| s.to_string())
                .chain(keys.iter().cloned())
                .collect();
            for key in &keys {
                for subject in &subjects {
                    pairs.push((subject.clone(), key.clone()));
                }
            }
        }
    }
    pairs
}

/// Short patterns and subjects over the characters that matter to the syntax, from a
/// fixed-seed generator (xorshift), so every run asks the same questions.
fn drawn_pairs(count: usize) -> Vec<(String, String)> {
    const PATTERN: &[char] = &[
        'a', 'b', 'z', '-', '!', '^', ']', '[', '*', '?', '/', '\\', 'é',
    ];
    const TEXT: &[char] = &['a', 'b', 'z', '-', '!', '^', ']', '[', '/', '\\', 'é', '\n'];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    (0..count)
        .map(|_| {
            let pattern: String = (0..next(8)).map(|_| PATTERN[next(PATTERN.len())]).collect();
            let text: String = (0..next(6)).map(|_| TEXT[next(TEXT.len())]).collect();
            (text, pattern)
        })
        .collect()
}

#[test]
fn patterns_match_as_in_python() {
    let Ok(mut python) = Command::new("python3")
        .args([
            "-c",
            "import fnmatch, json, sys\n\
             pairs = json.load(sys.stdin)\n\
             json.dump([fnmatch.fnmatchcase(t, p) for t, p in pairs], sys.stdout)",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    else {
        // python3 is part of the test prerequisites (mk/setup.sh); under CI its absence is
        // a failure.
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 is needed for this test"
        );
        eprintln!("SKIP: no python3 on PATH");
        return;
    };
    let mut pairs = committed_pairs();
    assert!(!pairs.is_empty(), "no committed adapters_yml pattern");
    pairs.extend(drawn_pairs(20_000));
    let question = serde_json::to_vec(&pairs).unwrap();
    python.stdin.take().unwrap().write_all(&question).unwrap();
    let out = python.wait_with_output().unwrap();
    assert!(out.status.success(), "python3 failed");
    let answers: Vec<bool> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answers.len(), pairs.len());
    let wrong: Vec<_> = pairs
        .iter()
        .zip(&answers)
        .filter(|((text, pattern), &python)| fnmatch(text, pattern) != python)
        .map(|((text, pattern), python)| {
            format!("fnmatch({text:?}, {pattern:?}): Python says {python}")
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} differ: {wrong:#?}",
        wrong.len(),
        pairs.len()
    );
}
