//! The thin shell around the core: read a spec file and the bytes it names, run
//! [`layout::build`], write the archive atomically.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::archive::write_atomic;
use crate::layout::{self, LayoutError, PlatformFiles};
use crate::meta::{self, Defaults};
use crate::oci::Descriptor;
use crate::spec::{self, EntryKind, Platform, Source, SpecError};

/// How to build: where archives go (`out_dir`, e.g. `target/images`), where our static
/// binaries are (`target_dir`, holding `<rust target>/<profile>/<binary>`), the platforms
/// that override the spec's (`None`: the spec's, else linux/amd64), what the caller says
/// about every image ([`Defaults`]) and, rarely, tags instead of the usual ones.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where `<name>.tar` goes (created if missing).
    pub out_dir: PathBuf,
    /// Cargo target directory: `build = "x"` reads `<target_dir>/<rust target>/<profile>/x` (profile default `release`).
    pub target_dir: PathBuf,
    /// Platforms for every spec, overriding the spec's own list.
    pub platforms: Option<Vec<Platform>>,
    /// SOURCE_DATE_EPOCH, and the version, source and revision where the spec is silent.
    pub defaults: Defaults,
    /// Tags instead of `latest` and the version (the first names the image in index.json),
    /// e.g. for a build that must not move `latest`; `None`: [`meta::resolve`]'s.
    pub tags: Option<Vec<String>>,
}

/// One image written: its name, the archive path, the descriptor index.json points to
/// (its `digest` is what registries and `docker pull` show), the `name:tag` references
/// `docker load` applies, its platforms, and sizes in bytes.
#[derive(Debug, Clone)]
pub struct Built {
    /// Image name from the spec.
    pub name: String,
    /// Path of the written archive.
    pub archive: PathBuf,
    /// The descriptor in index.json (manifest, or index for several platforms).
    pub root: Descriptor,
    /// `name:tag` references `docker load` applies.
    pub refs: Vec<String>,
    /// The platforms built, in index order.
    pub platforms: Vec<Platform>,
    /// Size of the archive file.
    pub archive_bytes: u64,
    /// Sum of the files' contents over all platforms: what the layers unpack to.
    pub file_bytes: u64,
    /// Sum of the distinct compressed layer blobs in the archive.
    pub layer_bytes: u64,
}

impl Built {
    /// The archive's bytes that are not compressed layers: tar headers and padding, index,
    /// manifests, configs, `manifest.json`, `oci-layout`. Always positive: the archive holds
    /// every layer blob, each behind a tar header.
    pub fn metadata_bytes(&self) -> u64 {
        self.archive_bytes.saturating_sub(self.layer_bytes)
    }
}

/// Why an image was not built; every variant names the spec file, most the entry.
#[derive(Debug, thiserror::Error)]
pub enum KitError {
    /// The spec file is invalid (see [`spec::parse`]).
    #[error("{0}")]
    Spec(#[from] SpecError),
    /// The spec file itself cannot be read.
    #[error("{spec}: cannot read the spec file: {source}")]
    ReadSpec {
        /// The spec file.
        spec: String,
        /// Why it cannot be read.
        source: std::io::Error,
    },
    /// A file the spec names cannot be read.
    #[error("{spec}: {entry}: cannot read {path}: {source}{hint}")]
    ReadFile {
        /// The spec file.
        spec: String,
        /// The entry naming the file, e.g. `files[0] "/bin/sh"`.
        entry: String,
        /// The file that cannot be read.
        path: PathBuf,
        /// Why it cannot be read.
        source: std::io::Error,
        /// What to do, e.g. ` (build it with `cargo build …`, or give --target-dir)`, or empty.
        hint: String,
    },
    /// The core refused the inputs.
    #[error("{spec}: {source}")]
    Layout {
        /// The spec file.
        spec: String,
        /// The core's error, naming the entry.
        source: LayoutError,
    },
    /// The archive cannot be written (nothing was left at the destination).
    #[error("{spec}: {source}")]
    Write {
        /// The spec file.
        spec: String,
        /// The I/O error, naming the path.
        source: std::io::Error,
    },
}

/// How to build a missing `build = …` binary: the cargo command for the platform's static
/// target (arm64 links with rust-lld, as `make static-arm64` does), or another directory.
fn build_hint(platform: &Platform, profile: &str) -> String {
    let linker = match platform.architecture.as_str() {
        "arm64" => "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld ",
        _ => "",
    };
    format!(
        " (build it with `{linker}cargo build --profile {profile} --target {}`, or give --target-dir)",
        platform.rust_target()
    )
}

/// Reads a file a spec names, which must be a regular file (symlinks followed): a FIFO
/// would block the build forever and a device such as `/dev/zero` would fill memory.
///
/// Errors: the I/O error, or `InvalidInput` saying what the path is instead.
fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let not_regular = |meta: &std::fs::Metadata| {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        let what = if t.is_dir() {
            "a directory"
        } else if t.is_fifo() {
            "a named pipe (FIFO)"
        } else if t.is_char_device() {
            "a character device"
        } else if t.is_block_device() {
            "a block device"
        } else if t.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("it is {what}: name a regular file"),
        )
    };
    // Checked before opening: opening a FIFO for reading waits for a writer.
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    let mut file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads and validates the spec file at `spec_path` (named by its path in errors).
///
/// Errors: [`KitError::ReadSpec`] or [`KitError::Spec`].
pub fn read_spec(spec_path: &Path) -> Result<spec::Spec, KitError> {
    let spec_name = spec_path.display().to_string();
    let bytes = read_regular(spec_path).map_err(|source| KitError::ReadSpec {
        spec: spec_name.clone(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        let column = valid.len() - valid.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1) + 1;
        KitError::Spec(SpecError {
            spec: spec_name.clone(),
            entry: Some(format!("line {line}")),
            message: format!(
                "byte {column} is not UTF-8: TOML files are UTF-8, save the file as UTF-8"
            ),
        })
    })?;
    Ok(spec::parse(&spec_name, &text)?)
}

/// Builds the image of the spec file at `spec_path` into `<out_dir>/<name>.tar`.
///
/// Errors: a [`KitError`] naming the spec and the entry; the archive is then not written
/// (an older archive at the destination stays as it was).
pub fn build_spec_file(spec_path: &Path, opts: &Options) -> Result<Built, KitError> {
    let spec_name = spec_path.display().to_string();
    let spec = read_spec(spec_path)?;
    let platforms = match (&opts.platforms, spec.platforms.is_empty()) {
        (Some(p), _) => p.clone(),
        (None, false) => spec.platforms.clone(),
        (None, true) => vec![Platform::default_platform()],
    };
    let spec_dir = spec_path.parent().unwrap_or(Path::new("."));
    let mut inputs = Vec::new();
    for platform in platforms.iter().cloned() {
        let mut files = BTreeMap::new();
        for entry in &spec.entries {
            let EntryKind::File { source, .. } = &entry.kind else {
                continue;
            };
            let (path, hint) = match source {
                Source::Text(t) => {
                    files.insert(entry.path.clone(), t.clone().into_bytes());
                    continue;
                }
                Source::Host(h) => (spec_dir.join(h), String::new()),
                Source::HostPerPlatform(paths) => match paths.get(&platform) {
                    Some(h) => (spec_dir.join(h), String::new()),
                    None => {
                        return Err(KitError::Spec(SpecError {
                            spec: spec_name.clone(),
                            entry: Some(entry.origin.clone()),
                            message: format!(
                                "host names no file for {platform}: add \"{}/{}\" = \"…\" to it",
                                platform.os, platform.architecture
                            ),
                        }))
                    }
                },
                Source::Build { binary, profile } => (
                    opts.target_dir
                        .join(platform.rust_target())
                        .join(profile)
                        .join(binary),
                    build_hint(&platform, profile),
                ),
            };
            let bytes = read_regular(&path).map_err(|source| KitError::ReadFile {
                spec: spec_name.clone(),
                entry: entry.origin.clone(),
                path: path.clone(),
                source,
                hint,
            })?;
            files.insert(entry.path.clone(), bytes);
        }
        inputs.push(PlatformFiles { platform, files });
    }
    let mut stamp = meta::resolve(&spec, &opts.defaults);
    if let Some(tags) = &opts.tags {
        stamp.tags = tags.clone();
    }
    let layout = layout::build(&spec, &inputs, &stamp).map_err(|source| KitError::Layout {
        spec: spec_name.clone(),
        source,
    })?;
    let archive = opts.out_dir.join(format!("{}.tar", spec.name));
    let archive_bytes = write_atomic(&archive, |out| {
        layout::write_archive(&layout, stamp.mtime, out).map(drop)
    })
    .map_err(|source| KitError::Write {
        spec: spec_name.clone(),
        source,
    })?;
    Ok(Built {
        refs: stamp
            .tags
            .iter()
            .map(|t| format!("{}:{t}", spec.name))
            .collect(),
        name: spec.name,
        archive,
        root: layout.root,
        platforms,
        archive_bytes,
        file_bytes: layout.file_bytes,
        layer_bytes: layout.layer_bytes,
    })
}

#[cfg(test)]
mod tests;
