//! The pure core: a validated [`Spec`] plus the bytes of its files and its resolved
//! [`Stamp`] (tags, labels, annotations, times: see [`crate::meta`]) → layer tar → blobs,
//! config, manifest, index and docker `manifest.json` → the archive tar. No I/O, no clock:
//! every time comes from the stamp, every owner is 0:0, entries are sorted and gzip runs
//! with fixed settings, so equal inputs give byte-identical output.

use std::collections::BTreeMap;
use std::io::Write;

use flate2::{Compression, GzBuilder};
use sha2::{Digest, Sha256};
use tar::{EntryType, Header};

use crate::meta::Stamp;
use crate::oci::{
    self, ContainerConfig, Descriptor, DockerManifest, Empty, History, ImageConfig, Index,
    Manifest, PlatformJson, RootFs,
};
use crate::spec::{Entry, EntryKind, Platform, Source, Spec};

/// The bytes of every file entry of a spec for one platform, keyed by entry path
/// (normalised, as in [`Entry::path`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformFiles {
    /// The platform these bytes are for.
    pub platform: Platform,
    /// Entry path → file contents.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// A complete image, ready to be written: `blobs` by hex digest, the three top-level
/// files, the descriptor index.json points to, and its sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Content-addressed blobs: hex sha256 → bytes (layers, configs, manifests, index).
    pub blobs: BTreeMap<String, Vec<u8>>,
    /// `index.json` (an OCI index with one descriptor: the image or the platform index).
    pub index_json: Vec<u8>,
    /// docker-archive `manifest.json` (the first platform only: `docker load` takes one).
    pub docker_manifest_json: Vec<u8>,
    /// The descriptor in index.json: what a registry stores under the tags.
    pub root: Descriptor,
    /// Sum of the file contents over all platforms, in bytes: what the layers unpack to.
    pub file_bytes: u64,
    /// Sum of the distinct compressed layer blobs, in bytes (a layer two platforms share
    /// is stored, and counted, once): the part of the archive that is image content.
    pub layer_bytes: u64,
}

/// A layout problem: the spec and inputs disagree (a file's bytes are missing for a
/// platform), or a path cannot be stored in a tar header.
#[derive(Debug, thiserror::Error)]
#[error("{entry}: {message}")]
pub struct LayoutError {
    /// The spec entry (origin text, e.g. `files[0] "/bin/sh"`) or the item concerned.
    pub entry: String,
    /// What went wrong.
    pub message: String,
}

/// `sha256:<hex>` of `bytes` and the hex alone.
pub fn sha256(bytes: &[u8]) -> (String, String) {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (format!("sha256:{hex}"), hex)
}

/// The uncompressed layer: a GNU tar of `entries` in path order, uid/gid 0, no user or
/// group names, mtime `epoch`, file bytes from `files`.
///
/// Errors: a file entry without bytes in `files`, or a path a tar header cannot hold.
pub fn layer_tar(
    entries: &[Entry],
    files: &BTreeMap<String, Vec<u8>>,
    epoch: u64,
) -> Result<Vec<u8>, LayoutError> {
    write_layer(entries, files, epoch, Vec::new())
}

/// [`layer_tar`] into `out`, which it returns: the layer streams into its gzip and digest
/// and is never held whole.
fn write_layer<W: Write>(
    entries: &[Entry],
    files: &BTreeMap<String, Vec<u8>>,
    epoch: u64,
    out: W,
) -> Result<W, LayoutError> {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut tar = tar::Builder::new(out);
    for entry in sorted {
        let fail = |e: std::io::Error| LayoutError {
            entry: entry.origin.clone(),
            message: e.to_string(),
        };
        match &entry.kind {
            EntryKind::Dir { mode } => {
                let mut h = header(EntryType::Directory, *mode, 0, epoch);
                tar.append_data(&mut h, format!("{}/", entry.path), std::io::empty())
                    .map_err(fail)?;
            }
            EntryKind::File { mode, .. } => {
                let bytes = files.get(&entry.path).ok_or_else(|| LayoutError {
                    entry: entry.origin.clone(),
                    message: "no bytes given for this file".into(),
                })?;
                let mut h = header(EntryType::Regular, *mode, bytes.len() as u64, epoch);
                tar.append_data(&mut h, &entry.path, bytes.as_slice())
                    .map_err(fail)?;
            }
            EntryKind::Symlink { target } => {
                let mut h = header(EntryType::Symlink, 0o777, 0, epoch);
                tar.append_link(&mut h, &entry.path, target).map_err(fail)?;
            }
        }
    }
    tar.into_inner().map_err(|e| LayoutError {
        entry: "layer".into(),
        message: e.to_string(),
    })
}

fn header(kind: EntryType, mode: u32, size: u64, epoch: u64) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_size(size);
    h.set_mtime(epoch);
    h
}

/// gzip with fixed settings: level 9, header mtime 0, OS byte 255 ("unknown"), no name.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = gzip_encoder();
    // Writing into a Vec cannot fail.
    gz.write_all(bytes).expect("gzip into memory");
    gz.finish().expect("gzip into memory")
}

fn gzip_encoder() -> flate2::write::GzEncoder<Vec<u8>> {
    GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::best())
}

/// Where a layer streams: its sha256 (the diff ID) and its gzip (the blob), together.
struct LayerSink {
    diff_id: Sha256,
    gzip: flate2::write::GzEncoder<Vec<u8>>,
}

impl Write for LayerSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let n = self.gzip.write(bytes)?;
        self.diff_id.update(&bytes[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.gzip.flush()
    }
}

impl LayerSink {
    /// `sha256:<hex>` of the uncompressed layer, and the gzip blob.
    fn finish(self) -> (String, Vec<u8>) {
        let hex: String = self
            .diff_id
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        // Writing into a Vec cannot fail.
        (
            format!("sha256:{hex}"),
            self.gzip.finish().expect("gzip into memory"),
        )
    }
}

fn json(value: &impl serde::Serialize) -> Vec<u8> {
    // Our document types hold only strings, numbers and string maps: serialisation cannot fail.
    serde_json::to_vec(value).expect("image JSON serialises")
}

fn platform_json(p: &Platform) -> PlatformJson {
    PlatformJson {
        architecture: p.architecture.clone(),
        os: p.os.clone(),
        variant: p.variant.clone(),
    }
}

struct Blobs(BTreeMap<String, Vec<u8>>);

impl Blobs {
    fn add(&mut self, media_type: &str, bytes: Vec<u8>) -> Descriptor {
        let (digest, hex) = sha256(&bytes);
        let size = bytes.len() as u64;
        self.0.insert(hex, bytes);
        Descriptor {
            media_type: media_type.into(),
            digest,
            size,
            platform: None,
            annotations: BTreeMap::new(),
        }
    }
}

/// Path of a blob inside the archive, `blobs/sha256/<hex>`, from its `sha256:<hex>` digest.
pub fn blob_path(digest: &str) -> String {
    format!("blobs/{}", digest.replacen(':', "/", 1))
}

/// Builds every blob and JSON document of the image described by `spec` for each of
/// `inputs` (one per platform, in order; the first also goes into the docker-archive
/// `manifest.json`). One platform: index.json points at its manifest. Several: at an
/// image index blob listing one manifest per platform. The config's `Labels`, the
/// annotations, the tags and every time come from `stamp`, not from `spec`.
///
/// Errors: no platforms, an executable file built for another platform (see
/// `check_machines`), or a [`layer_tar`] error.
pub fn build(spec: &Spec, inputs: &[PlatformFiles], stamp: &Stamp) -> Result<Layout, LayoutError> {
    if inputs.is_empty() {
        return Err(LayoutError {
            entry: "platforms".into(),
            message: "no platform to build".into(),
        });
    }
    let mut blobs = Blobs(BTreeMap::new());
    let mut manifests = Vec::new();
    let mut docker = None;
    let mut layers = BTreeMap::new();

    for input in inputs {
        check_machines(&spec.entries, input)?;
        let sink = LayerSink {
            diff_id: Sha256::new(),
            gzip: gzip_encoder(),
        };
        let (diff_id, layer_gz) =
            write_layer(&spec.entries, &input.files, stamp.mtime, sink)?.finish();
        let layer_desc = blobs.add(oci::MEDIA_LAYER_GZIP, layer_gz);
        layers.insert(layer_desc.digest.clone(), layer_desc.size);
        let c = &spec.config;
        let config = ImageConfig {
            created: stamp.created.clone(),
            architecture: input.platform.architecture.clone(),
            os: input.platform.os.clone(),
            variant: input.platform.variant.clone(),
            config: ContainerConfig {
                user: c.user.clone(),
                exposed_ports: c
                    .exposed_ports
                    .iter()
                    .map(|p| (p.clone(), Empty {}))
                    .collect(),
                env: c.env.clone(),
                entrypoint: c.entrypoint.clone(),
                cmd: c.cmd.clone(),
                volumes: c.volumes.iter().map(|v| (v.clone(), Empty {})).collect(),
                working_dir: c.working_dir.clone(),
                labels: stamp.labels.clone(),
                stop_signal: c.stop_signal.clone(),
            },
            rootfs: RootFs {
                kind: "layers".into(),
                diff_ids: vec![diff_id],
            },
            history: vec![History {
                created: stamp.created.clone(),
                created_by: format!("image-kit {}", env!("CARGO_PKG_VERSION")),
            }],
        };
        let config_desc = blobs.add(oci::MEDIA_CONFIG, json(&config));
        if docker.is_none() {
            docker = Some(DockerManifest {
                config: blob_path(&config_desc.digest),
                repo_tags: stamp
                    .tags
                    .iter()
                    .map(|t| format!("{}:{t}", spec.name))
                    .collect(),
                layers: vec![blob_path(&layer_desc.digest)],
            });
        }
        let manifest = Manifest {
            schema_version: 2,
            media_type: oci::MEDIA_MANIFEST.into(),
            config: config_desc,
            layers: vec![layer_desc],
            annotations: stamp.annotations.clone(),
        };
        let mut desc = blobs.add(oci::MEDIA_MANIFEST, json(&manifest));
        desc.platform = Some(platform_json(&input.platform));
        manifests.push(desc);
    }

    let mut root = if manifests.len() == 1 {
        manifests.pop().expect("one manifest")
    } else {
        let index = Index {
            schema_version: 2,
            media_type: oci::MEDIA_INDEX.into(),
            manifests,
            annotations: stamp.annotations.clone(),
        };
        blobs.add(oci::MEDIA_INDEX, json(&index))
    };
    if let Some(tag) = stamp.tags.first() {
        root.annotations
            .insert(oci::ANN_REF_NAME.to_string(), tag.clone());
    }
    let index_json = json(&Index {
        schema_version: 2,
        media_type: oci::MEDIA_INDEX.into(),
        manifests: vec![root.clone()],
        annotations: BTreeMap::new(),
    });
    Ok(Layout {
        blobs: blobs.0,
        index_json,
        docker_manifest_json: json(&vec![docker.expect("one platform at least")]),
        root,
        file_bytes: inputs
            .iter()
            .flat_map(|i| i.files.values())
            .map(|b| b.len() as u64)
            .sum(),
        layer_bytes: layers.values().sum(),
    })
}

/// Checks that every executable file (any execute bit) of `input` that is an ELF program
/// is built for `input`'s platform: an amd64 program in the arm64 image runs on no arm64
/// host (`exec format error`), and nothing would say so before then. Non-executable files
/// may be anything (e.g. another platform's binary offered for download).
///
/// Errors: the entry, the machine its program is built for, and how to give the right one.
fn check_machines(entries: &[Entry], input: &PlatformFiles) -> Result<(), LayoutError> {
    let p = &input.platform;
    for entry in entries {
        let EntryKind::File { source, mode } = &entry.kind else {
            continue;
        };
        let Some(bytes) = input.files.get(&entry.path).filter(|_| mode & 0o111 != 0) else {
            continue;
        };
        if let Err(machine) = crate::elf::check(p, bytes) {
            let fix = match source {
                Source::Host(_) => "give one file per platform: host = { \"linux/amd64\" = \"…\", \"linux/arm64\" = \"…\" }".to_string(),
                Source::HostPerPlatform(_) => format!(
                    "host \"{}/{}\" must name a program built for it",
                    p.os, p.architecture
                ),
                Source::Build { .. } => format!("rebuild it for {}", p.rust_target()),
                Source::Text(_) => "make it non-executable".into(),
            };
            return Err(LayoutError {
                entry: entry.origin.clone(),
                message: format!("is a program for {machine}, not for {p}: {fix}"),
            });
        }
    }
    Ok(())
}

/// The archive: a plain tar holding `blobs/`, `blobs/sha256/`, every blob, `index.json`,
/// `manifest.json` and `oci-layout`, in that (sorted) order, modes 0755/0644, uid/gid 0,
/// mtime `epoch`. It is an OCI image layout and a docker-archive at once.
pub fn archive_tar(layout: &Layout, epoch: u64) -> Vec<u8> {
    // Every path here is short ASCII and the sink is a Vec: writing cannot fail.
    write_archive(layout, epoch, Vec::new()).expect("archive into memory")
}

/// [`archive_tar`] into `out` (e.g. the archive file, so the archive is never held whole
/// beside its blobs), which it returns.
///
/// Errors: those of `out`.
pub fn write_archive<W: Write>(layout: &Layout, epoch: u64, out: W) -> std::io::Result<W> {
    let mut tar = tar::Builder::new(out);
    let mut add = |path: &str, kind: EntryType, data: &[u8]| {
        let mode = if kind == EntryType::Directory {
            0o755
        } else {
            0o644
        };
        let mut h = header(kind, mode, data.len() as u64, epoch);
        tar.append_data(&mut h, path, data)
    };
    add("blobs/", EntryType::Directory, b"")?;
    add("blobs/sha256/", EntryType::Directory, b"")?;
    for (hex, bytes) in &layout.blobs {
        add(&format!("blobs/sha256/{hex}"), EntryType::Regular, bytes)?;
    }
    add("index.json", EntryType::Regular, &layout.index_json)?;
    add(
        "manifest.json",
        EntryType::Regular,
        &layout.docker_manifest_json,
    )?;
    add("oci-layout", EntryType::Regular, oci::OCI_LAYOUT.as_bytes())?;
    tar.into_inner()
}

#[cfg(test)]
mod tests;
