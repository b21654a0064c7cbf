//! Images for the end-to-end tests: the archives `make images` wrote, and test images built
//! from specs with the image kit (`images` crate) and loaded into the real dockerd.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use images::kit::{self, Built, Options};
use images::meta::Defaults;
use images::oci::{Descriptor, Index};

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

/// The options the tests build with: archives into `out_dir`, our static binaries from
/// the workspace's `target/`, the spec's platforms, SOURCE_DATE_EPOCH 0 and nothing else
/// (no version: the one tag is `latest`). Tests adjust fields as they need.
pub fn options(out_dir: &Path) -> Options {
    Options {
        out_dir: out_dir.to_path_buf(),
        target_dir: workspace_root().join("target"),
        platforms: None,
        defaults: Defaults {
            epoch: Some(0),
            ..Defaults::default()
        },
        tags: None,
    }
}

/// Builds the image of `spec` (absolute, or relative to the workspace root, e.g.
/// `tests/images/busybox.toml`) with `opts`. Panics with the kit's one-line error when
/// the spec is bad or a file is missing.
pub fn build_with(spec: &Path, opts: &Options) -> Built {
    let spec = workspace_root().join(spec);
    kit::build_spec_file(&spec, opts).unwrap_or_else(|e| panic!("image kit: {e}"))
}

/// Builds the image of `spec` (see [`build_with`]) into `out_dir` with [`options`].
pub fn build(spec: &Path, out_dir: &Path) -> Built {
    build_with(spec, &options(out_dir))
}

/// Builds the image of `spec` (see [`build`]) in a temporary directory, `docker load`s it
/// and returns its reference, `<name>:latest`.
pub fn build_and_load(spec: impl AsRef<Path>) -> String {
    let dir = tempfile::tempdir().expect("temporary directory");
    let built = build(spec.as_ref(), dir.path());
    docker::load(&built.archive);
    built.refs[0].clone()
}

/// Every regular file of an archive (or any tar): path → bytes, e.g. `index.json`,
/// `blobs/sha256/<hex>`. Panics when the file is not a readable tar.
pub fn archive_files(archive: &Path) -> BTreeMap<String, Vec<u8>> {
    let file =
        std::fs::File::open(archive).unwrap_or_else(|e| panic!("{}: {e}", archive.display()));
    let mut tar = tar::Archive::new(file);
    let mut files = BTreeMap::new();
    for entry in tar.entries().expect("tar entries") {
        let mut entry = entry.expect("tar entry");
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let path = entry
            .path()
            .expect("entry path")
            .to_string_lossy()
            .into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("entry bytes");
        files.insert(path, bytes);
    }
    files
}

/// The descriptor `index.json` of an OCI layout archive points to (its digest is the one
/// registries and `docker pull` report).
pub fn root_descriptor(archive: &Path) -> Descriptor {
    let files = archive_files(archive);
    let index: Index = serde_json::from_slice(&files["index.json"]).expect("index.json parses");
    assert_eq!(index.manifests.len(), 1, "index.json has one entry");
    index.manifests[0].clone()
}

/// `sha256:<hex>` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    images::layout::sha256(bytes).0
}
