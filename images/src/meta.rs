//! The image's metadata rule: which name tags, labels and annotations an image gets, from
//! its spec and from what the caller of the kit says, with no I/O.
//!
//! The rule, stated once:
//! - **The spec wins.** Its `version`, `title`, `[config] Labels` and `[annotations]` are
//!   taken as written, the `org.opencontainers.image.*` keys included.
//! - **The kit fills in only what it knows**, and only where the spec is silent: `title`
//!   (the image name), `created` (from SOURCE_DATE_EPOCH, when it is set), and the
//!   `version`, `source` and `revision` the caller gives ([`Defaults`]; `make images` gives
//!   ours for our own images, a bare `image-kit spec.toml` gives none). What nobody gave is
//!   left out: there is no `revision=unknown`, no made-up `created`.
//! - **Labels and annotations agree**: an `org.opencontainers.image.*` key the spec sets in
//!   only one of `[config] Labels` (the config, what `docker inspect` shows) and
//!   `[annotations]` (manifest and index, what registries show) is copied to the other.
//! - **Tags** are `latest` and the version: the spec's `version`, else the caller's, else
//!   `latest` alone.
//! - **created**: the config's `created` and `history[].created` are the `created` label when
//!   there is one (the spec's own, else from SOURCE_DATE_EPOCH); without it they are left out.
//!   File times in the layers are SOURCE_DATE_EPOCH, else 0: the kit never reads the clock,
//!   so two builds of the same inputs are byte-identical.

use std::collections::BTreeMap;

use crate::oci;
use crate::spec::Spec;
use crate::time::rfc3339;

/// What the caller of the kit says about every image it builds: `epoch` is
/// SOURCE_DATE_EPOCH in seconds since 1970-01-01 UTC; `version`, `source` and `revision`
/// become `org.opencontainers.image.{version,source,revision}` (and `version` the second
/// tag) where the spec is silent. `None` leaves the fact out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Defaults {
    /// SOURCE_DATE_EPOCH: `created` and every file time; `None`: no `created`, file times 0.
    pub epoch: Option<u64>,
    /// The version for the tag and `org.opencontainers.image.version` (`--image-version`).
    pub version: Option<String>,
    /// `org.opencontainers.image.source`, the repository URL (`--source`).
    pub source: Option<String>,
    /// `org.opencontainers.image.revision`, e.g. a git commit (`--revision`).
    pub revision: Option<String>,
}

/// Everything an image carries besides its files and runtime config, resolved by
/// [`resolve`]: the tags (`latest`, `1.4.2`; the first is the layout's ref name), the
/// config `Labels`, the manifest and index annotations, the `created` time of the config and
/// its history (RFC 3339, or `None` to leave it out), and the mtime of every tar entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// Tags for `<name>:<tag>`, `latest` first, no duplicates.
    pub tags: Vec<String>,
    /// The config's `Labels`.
    pub labels: BTreeMap<String, String>,
    /// The annotations of every manifest and of the platform index.
    pub annotations: BTreeMap<String, String>,
    /// The config's `created` and `history[].created`; `None` leaves them out.
    pub created: Option<String>,
    /// Seconds since 1970 for every tar entry (layers and archive).
    pub mtime: u64,
}

/// Prefix of the keys labels and annotations share (OCI image-spec annotations.md).
pub const OCI_PREFIX: &str = "org.opencontainers.image.";

/// Resolves the tags, labels, annotations and times of `spec` under `defaults` by the rule
/// in this module's header.
pub fn resolve(spec: &Spec, defaults: &Defaults) -> Stamp {
    let version = spec.version.as_ref().or(defaults.version.as_ref());
    let known = [
        (oci::ANN_TITLE, Some(&spec.title)),
        (oci::ANN_VERSION, version),
        (oci::ANN_SOURCE, defaults.source.as_ref()),
        (oci::ANN_REVISION, defaults.revision.as_ref()),
    ];
    let mut kit: BTreeMap<String, String> = known
        .into_iter()
        .filter_map(|(key, value)| Some((key.to_string(), value?.clone())))
        .collect();
    if let Some(epoch) = defaults.epoch {
        kit.insert(oci::ANN_CREATED.to_string(), rfc3339(epoch));
    }
    let labels = layered(&kit, &spec.annotations, &spec.config.labels);
    let annotations = layered(&kit, &spec.config.labels, &spec.annotations);
    let mut tags = vec!["latest".to_string()];
    if let Some(v) = version.filter(|v| *v != "latest") {
        tags.push(v.clone());
    }
    Stamp {
        tags,
        created: labels.get(oci::ANN_CREATED).cloned(),
        labels,
        annotations,
        mtime: defaults.epoch.unwrap_or(0),
    }
}

/// `kit`, then the `org.opencontainers.image.*` keys of `other` (the spec's other table),
/// then every key of `own` (the spec's table for this place): the later wins.
fn layered(
    kit: &BTreeMap<String, String>,
    other: &BTreeMap<String, String>,
    own: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut out = kit.clone();
    out.extend(
        other
            .iter()
            .filter(|(k, _)| k.starts_with(OCI_PREFIX))
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    out.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

#[cfg(test)]
mod tests;
