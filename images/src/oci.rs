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
/// Annotation/label: build time (RFC 3339, from SOURCE_DATE_EPOCH).
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
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformJson>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// `platform` of a descriptor, also the `architecture`/`os`/`variant` of a config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformJson {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// An image manifest (manifest.md): one config, the layers bottom-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    pub media_type: String,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image index (image-index.md): index.json of a layout, or a multi-platform list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub schema_version: u32,
    pub media_type: String,
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image config (config.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    pub created: String,
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    pub config: ContainerConfig,
    pub rootfs: RootFs,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub exposed_ports: BTreeMap<String, Empty>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, Empty>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
}

/// `rootfs`: `type` is always `layers`; `diff_ids` are the sha256 of the uncompressed layers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub kind: String,
    pub diff_ids: Vec<String>,
}

/// One `history` entry per layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    pub created: String,
    pub created_by: String,
}

/// One entry of a docker-archive `manifest.json` (moby image/tarexport): paths inside the
/// archive of the config and the layers, and the `name:tag`s `docker load` applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DockerManifest {
    pub config: String,
    pub repo_tags: Vec<String>,
    pub layers: Vec<String>,
}
