//! Images for the end-to-end tests: the archives `make images` wrote, and test images built
//! from specs with the image kit (`images` crate) and loaded into the real dockerd.

use std::path::{Path, PathBuf};

use images::kit::{self, Built, Options};
use images::layout::Meta;

use crate::docker;
use crate::prereq::workspace_root;

/// The archive `make images` writes for image `name`: `<workspace>/target/images/<name>.tar`.
pub fn archive_path(name: &str) -> PathBuf {
    workspace_root()
        .join("target/images")
        .join(format!("{name}.tar"))
}

/// The version tag `make images` gives every image (the workspace version, e.g. `0.1.0`).
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// `docker load`s `target/images/<name>.tar` and returns `<name>:<version>`.
/// Panics when the load fails (run `make images` first; check with [`archive_path`]).
pub fn load_archive(name: &str) -> String {
    docker::load(&archive_path(name));
    format!("{name}:{}", version())
}

/// Builds the image of `spec` (absolute, or relative to the workspace root, e.g.
/// `tests/images/busybox.toml`) into `out_dir` with fixed metadata (SOURCE_DATE_EPOCH 0,
/// revision and version `e2e`, tag `latest`), taking our static binaries from the
/// workspace's `target/`. Panics with the kit's one-line error when the spec is bad.
pub fn build(spec: &Path, out_dir: &Path) -> Built {
    let spec = workspace_root().join(spec);
    let opts = Options {
        out_dir: out_dir.to_path_buf(),
        target_dir: workspace_root().join("target"),
        platforms: None,
        meta: Meta {
            epoch: 0,
            revision: "e2e".into(),
            source: "e2e".into(),
            version: "e2e".into(),
            tags: vec!["latest".into()],
        },
    };
    kit::build_spec_file(&spec, &opts).unwrap_or_else(|e| panic!("image kit: {e}"))
}

/// Builds the image of `spec` (see [`build`]) in a temporary directory, `docker load`s it
/// and returns its reference, `<name>:latest`.
pub fn build_and_load(spec: impl AsRef<Path>) -> String {
    let dir = tempfile::tempdir().expect("temporary directory");
    let built = build(spec.as_ref(), dir.path());
    docker::load(&built.archive);
    built.refs[0].clone()
}
