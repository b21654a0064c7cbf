//! Every committed input of every target, replayed through its check: the seeds of
//! `fuzz/corpus/<target>/` and the inputs of `fuzz/regressions/<target>/` that once broke a
//! property. Also keeps the targets of the checks and the corpus directories (which
//! `make fuzz` runs) in step.

use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

fn dir(parts: &[&str]) -> PathBuf {
    parts.iter().fold(
        Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf(),
        |p, part| p.join(part),
    )
}

/// The files of `dir`, sorted; none when it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_committed_input_passes_its_check() {
    let mut failures = Vec::new();
    let mut count = 0;
    for (target, check) in fuzz_checks::TARGETS {
        for kind in ["corpus", "regressions"] {
            for file in files(&dir(&[kind, target])) {
                let data = fs::read(&file).expect("readable");
                count += 1;
                if panic::catch_unwind(|| check(&data)).is_err() {
                    failures.push(file.display().to_string());
                }
            }
        }
    }
    assert!(failures.is_empty(), "failed: {failures:#?}");
    assert!(count > 0, "no input replayed");
}

/// The names of the subdirectories of `dir`, sorted.
fn subdirs(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_target_has_seeds_and_every_input_directory_a_target() {
    let mut targets: Vec<String> = fuzz_checks::TARGETS
        .iter()
        .map(|(t, _)| t.to_string())
        .collect();
    targets.sort();
    // make fuzz runs the targets of fuzz/corpus/: none may be missing or unknown.
    assert_eq!(
        subdirs(&dir(&["corpus"])),
        targets,
        "fuzz/corpus/ against TARGETS"
    );
    for target in &targets {
        assert!(
            !files(&dir(&["corpus", target])).is_empty(),
            "fuzz/corpus/{target}/ holds no seed"
        );
    }
    for name in subdirs(&dir(&["regressions"])) {
        assert!(
            targets.contains(&name),
            "fuzz/regressions/{name}/ has no target"
        );
    }
}
