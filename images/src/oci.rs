//! The JSON documents of an image: OCI image-spec v1.1 (descriptor.md, manifest.md,
//! image-index.md, config.md, image-layout.md) and Docker's docker-archive `manifest.json`
//! (moby image/tarexport). Maps are `BTreeMap`s and optional fields are skipped when
//! unset, so one input always serialises to the same bytes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `mediaType` of an image manifest.
pub const MEDIA_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// `mediaType` of an image index.
pub const MEDIA_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// `mediaType` of an image config.
pub const MEDIA_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// `mediaType` of a gzip-compressed layer.
pub const MEDIA_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// Content of the `oci-layout` file (image-layout.md).
pub const OCI_LAYOUT: &str = r#"{"imageLayoutVersion":"1.0.0"}"#;

/// Annotation: the tag of a manifest in an OCI layout's index.json (`skopeo … oci-archive:x.tar:<ref>`).
pub const ANN_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Annotation/label: build time (RFC 3339: the spec's, else from SOURCE_DATE_EPOCH).
pub const ANN_CREATED: &str = "org.opencontainers.image.created";
/// Annotation/label: source control revision (git commit).
pub const ANN_REVISION: &str = "org.opencontainers.image.revision";
/// Annotation/label: URL of the source repository.
pub const ANN_SOURCE: &str = "org.opencontainers.image.source";
/// Annotation/label: version of the packaged software.
pub const ANN_VERSION: &str = "org.opencontainers.image.version";
/// Annotation/label: human-readable title.
pub const ANN_TITLE: &str = "org.opencontainers.image.title";

/// A content descriptor (descriptor.md): `mediaType`, `digest` (`sha256:<64 hex>`),
/// `size` in bytes, and for index entries `platform` and `annotations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// `mediaType`, e.g. [`MEDIA_MANIFEST`].
    pub media_type: String,
    /// `sha256:<64 lower-case hex>` of the content.
    pub digest: String,
    /// Content length in bytes.
    pub size: u64,
    /// Platform of the manifest an index entry points to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformJson>,
    /// Annotations (`org.opencontainers.image.*`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// `platform` of a descriptor, also the `architecture`/`os`/`variant` of a config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformJson {
    /// Go architecture name: `amd64`, `arm64`.
    pub architecture: String,
    /// Operating system: `linux`.
    pub os: String,
    /// CPU variant, e.g. `v8` for arm64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// An image manifest (manifest.md): one config, the layers bottom-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// `mediaType`, e.g. [`MEDIA_MANIFEST`].
    pub media_type: String,
    /// The image config blob.
    pub config: Descriptor,
    /// Layer blobs, bottom first.
    pub layers: Vec<Descriptor>,
    /// Annotations (`org.opencontainers.image.*`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image index (image-index.md): index.json of a layout, or a multi-platform list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    /// Always 2.
    pub schema_version: u32,
    /// `mediaType`, e.g. [`MEDIA_MANIFEST`].
    pub media_type: String,
    /// Manifests (or nested indexes), one per platform or tag.
    pub manifests: Vec<Descriptor>,
    /// Annotations (`org.opencontainers.image.*`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image config (config.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    /// RFC 3339 creation time (the `org.opencontainers.image.created` label); optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Go architecture name: `amd64`, `arm64`.
    pub architecture: String,
    /// Operating system: `linux`.
    pub os: String,
    /// CPU variant, e.g. `v8` for arm64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Runtime defaults: Entrypoint, Cmd, Env, …
    pub config: ContainerConfig,
    /// The uncompressed layer digests.
    pub rootfs: RootFs,
    /// One entry per layer.
    #[serde(default)]
    pub history: Vec<History>,
}

/// The empty JSON object Docker uses as the value of `Volumes` and `ExposedPorts` keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// The `config` object of an image config, in Docker's field names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    /// `User`: `uid[:gid]` or names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `ExposedPorts`: `port/proto` → `{}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub exposed_ports: BTreeMap<String, Empty>,
    /// `Env`: `KEY=VALUE` entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    /// `Entrypoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// `Cmd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// `Volumes`: absolute path → `{}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, Empty>,
    /// `WorkingDir`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// `Labels`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `StopSignal`, e.g. `SIGTERM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
}

/// `rootfs`: `type` is always `layers`; `diff_ids` are the sha256 of the uncompressed layers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootFs {
    /// `type`: always `layers`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `sha256:<hex>` of each uncompressed layer tar, bottom first.
    pub diff_ids: Vec<String>,
}

/// One `history` entry per layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// RFC 3339 creation time, as the config's `created`; optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// What made the layer (`image-kit <version>`).
    pub created_by: String,
}

/// One entry of a docker-archive `manifest.json` (moby image/tarexport): paths inside the
/// archive of the config and the layers, and the `name:tag`s `docker load` applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DockerManifest {
    /// Archive path of the config blob, `blobs/sha256/<hex>`.
    pub config: String,
    /// `name:tag` references to apply.
    pub repo_tags: Vec<String>,
    /// Archive paths of the layer blobs, bottom first.
    pub layers: Vec<String>,
}
