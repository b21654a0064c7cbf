//! Image specs: one TOML file per image, parsed and validated with no I/O.
//!
//! ```toml
//! name = "weavewait"                 # image name: target/images/<name>.tar, tags <name>:latest, <name>:<version>
//! version = "1.4.2"                  # optional: second tag and org.opencontainers.image.version
//! title = "weavewait"                # optional: org.opencontainers.image.title (default: name)
//! platforms = ["linux/amd64"]        # optional: default linux/amd64; the kit's --platforms overrides
//!
//! [config]                           # Docker's names (image config `config` object)
//! Entrypoint = ["/home/weavewait/wait-for-weave"]
//! Cmd = []
//! Env = ["WAIT_FOR_WEAVE_QUIT=yes"]
//! WorkingDir = "/"
//! User = "0:0"
//! Volumes = ["/home/weavewait"]
//! ExposedPorts = ["80/tcp"]
//! StopSignal = "SIGTERM"
//! Labels = { "org.example.key" = "value" }
//!
//! [annotations]                      # manifest and index annotations
//! "org.opencontainers.image.url" = "https://example.org"
//!
//! [[files]]
//! path = "/home/weavewait/wait-for-weave"
//! build = "wait-for-weave"           # static binary target/<rust target of the platform>/<profile>/<build>
//! profile = "release-waiter"         # cargo profile of a `build` file, default "release"
//! mode = "0755"                      # octal string, default "0644"
//! [[files]]
//! path = "/bin/busybox"
//! host = "/bin/busybox"              # a host file (relative paths are relative to the spec file),
//!                                    # or one per platform: { "linux/amd64" = "…", "linux/arm64" = "…" }
//! [[files]]
//! path = "/etc/passwd"
//! text = "root:x:0:0:root:/:/bin/sh\n"
//! [[dirs]]
//! path = "/tmp"
//! mode = "1777"                      # default "0755"
//! [[symlinks]]
//! path = "/bin/sh"
//! target = "busybox"
//! ```
//!
//! Unknown keys are errors. Entry paths are absolute and normalised (`.`, `..`, repeated
//! `/`); a relative path, a path that leaves the image root, a duplicate path, an entry
//! under a file or symlink, a bad mode and a symlink loop are errors naming the spec file
//! and the entry (`files[2] "/bin/sh"`). What the config's program, `WorkingDir` and
//! `Volumes` name in the image is checked by `resolve`; `StopSignal` by [`crate::signal`].
//! Parent directories that no entry names are added with mode 0755. `version` must be a
//! Docker tag; label and annotation keys must not be empty; an `org.opencontainers.image.created`
//! must be an RFC 3339 time; `org.opencontainers.image.ref.name` is the kit's (the tag).
//! How labels, annotations and tags are completed is [`crate::meta`]'s rule.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Deserialize;

use crate::oci;

/// A spec problem: which spec file (as given by the caller), which entry when there is
/// one (e.g. `files[0] "/home/weavewait/wait-for-weave"` or `line 7`), and why.
/// Displays as one line: `<spec>: <entry>: <message>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The spec file, as the caller names it (usually its path).
    pub spec: String,
    /// The offending entry or location, if any.
    pub entry: Option<String>,
    /// What is wrong and, where it helps, what to do.
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.entry {
            Some(entry) => write!(f, "{}: {}: {}", self.spec, entry, self.message),
            None => write!(f, "{}: {}", self.spec, self.message),
        }
    }
}

impl std::error::Error for SpecError {}

/// The spec file as written (serde, `deny_unknown_fields` on every table).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    name: String,
    version: Option<String>,
    title: Option<String>,
    platforms: Option<Vec<String>>,
    #[serde(default)]
    config: RawConfig,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    files: Vec<RawFile>,
    #[serde(default)]
    dirs: Vec<RawDir>,
    #[serde(default)]
    symlinks: Vec<RawSymlink>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct RawConfig {
    entrypoint: Option<Vec<String>>,
    cmd: Option<Vec<String>>,
    #[serde(default)]
    env: Vec<String>,
    working_dir: Option<String>,
    user: Option<String>,
    #[serde(default)]
    volumes: Vec<String>,
    #[serde(default)]
    exposed_ports: Vec<String>,
    stop_signal: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    path: String,
    mode: Option<String>,
    build: Option<String>,
    profile: Option<String>,
    /// A path, or a table of one path per platform: checked by [`host_source`].
    host: Option<toml::Value>,
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDir {
    path: String,
    mode: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSymlink {
    path: String,
    target: String,
}

/// A validated image spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// Image name (repository), e.g. `weavewait`.
    pub name: String,
    /// The image's version: its second tag and `org.opencontainers.image.version`; `None`
    /// leaves both to the kit's caller (see [`crate::meta`]).
    pub version: Option<String>,
    /// `org.opencontainers.image.title`; defaults to `name`.
    pub title: String,
    /// Platforms asked for by the spec (may be empty: the caller picks the default).
    pub platforms: Vec<Platform>,
    /// The image config's `config` object.
    pub config: Config,
    /// `[annotations]`: manifest and index annotations, as written.
    pub annotations: BTreeMap<String, String>,
    /// Every entry of the root filesystem layer, sorted by path, parents included.
    pub entries: Vec<Entry>,
}

/// The runtime part of an image config (OCI image-spec config.md `config`, Docker's names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// `Entrypoint`; `None` leaves it unset.
    pub entrypoint: Option<Vec<String>>,
    /// `Cmd`; `None` leaves it unset.
    pub cmd: Option<Vec<String>>,
    /// `Env`, each `KEY=VALUE`, in spec order.
    pub env: Vec<String>,
    /// `WorkingDir`, absolute.
    pub working_dir: Option<String>,
    /// `User` (`uid`, `uid:gid`, or names).
    pub user: Option<String>,
    /// `Volumes`: absolute, normalised paths, sorted.
    pub volumes: BTreeSet<String>,
    /// `ExposedPorts`: `port/proto`, sorted.
    pub exposed_ports: BTreeSet<String>,
    /// `StopSignal`.
    pub stop_signal: Option<String>,
    /// `Labels` as written in the spec ([`crate::meta`] completes them).
    pub labels: BTreeMap<String, String>,
}

/// One entry of the layer: `path` is relative to the image root, normalised, without a
/// leading `/` (e.g. `home/weavewait/wait-for-weave`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Normalised path inside the image, no leading `/`.
    pub path: String,
    /// What the entry is.
    pub kind: EntryKind,
    /// Where the entry comes from in the spec, for errors: `files[0] "/bin/sh"`, or
    /// `parent of files[0] "/bin/sh"` for implicit directories.
    pub origin: String,
}

/// The kinds of layer entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file with permission bits `mode` (≤ 0o7777).
    File {
        /// Where the bytes come from.
        source: Source,
        /// Permission bits.
        mode: u32,
    },
    /// A directory with permission bits `mode`.
    Dir {
        /// Permission bits.
        mode: u32,
    },
    /// A symbolic link to `target` (kept verbatim; may dangle).
    Symlink {
        /// The link's target, verbatim.
        target: String,
    },
}

/// Where a file's bytes come from; the shell reads them, the core never does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A binary of ours: `target/<rust target of the platform>/<profile>/<binary>`.
    Build {
        /// The binary's name, e.g. `wait-for-weave`.
        binary: String,
        /// The cargo profile it was built with, e.g. `release` or `release-waiter`.
        profile: String,
    },
    /// A host file, the same for every platform; relative paths are relative to the spec
    /// file's directory.
    Host(String),
    /// One host file per platform (`host = { "linux/amd64" = "…", "linux/arm64" = "…" }`),
    /// paths as in [`Source::Host`]; a platform built without one is an error of the kit.
    HostPerPlatform(BTreeMap<Platform, String>),
    /// Inline text from the spec.
    Text(String),
}

/// True for a cargo profile name: ASCII letters, digits, `-` and `_`.
fn is_profile_name(p: &str) -> bool {
    !p.is_empty()
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// An OCI platform (image-spec image-index.md `platform`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Platform {
    /// `os`, e.g. `linux`.
    pub os: String,
    /// `architecture` in Go's names, e.g. `amd64`, `arm64`.
    pub architecture: String,
    /// `variant`, e.g. `v8` for arm64.
    pub variant: Option<String>,
}

impl Platform {
    /// Parses `os/arch[/variant]`; only `linux/amd64` and `linux/arm64` (`/v8`) are
    /// supported, since the kit builds our binaries for their static Rust targets.
    ///
    /// Errors: the text of the message, naming the platforms that work.
    pub fn parse(text: &str) -> Result<Platform, String> {
        match text {
            "linux/amd64" => Ok(Platform::new("amd64", None)),
            "linux/arm64" | "linux/arm64/v8" => Ok(Platform::new("arm64", Some("v8"))),
            other => Err(format!(
                "unsupported platform {other:?}: use linux/amd64 or linux/arm64"
            )),
        }
    }

    fn new(architecture: &str, variant: Option<&str>) -> Platform {
        Platform {
            os: "linux".into(),
            architecture: architecture.into(),
            variant: variant.map(Into::into),
        }
    }

    /// The default platform: `linux/amd64`.
    pub fn default_platform() -> Platform {
        Platform::new("amd64", None)
    }

    /// The static Rust target our binaries are built with for this platform:
    /// `x86_64-unknown-linux-musl` or `aarch64-unknown-linux-musl`.
    pub fn rust_target(&self) -> &'static str {
        match self.architecture.as_str() {
            "arm64" => "aarch64-unknown-linux-musl",
            _ => "x86_64-unknown-linux-musl",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// Parses and validates the TOML text of one spec. `spec` names the file in errors.
///
/// Errors: a [`SpecError`] naming the spec and the entry (or TOML line): unknown keys and
/// wrong types, bad names, modes, platforms, hosts, env entries or stop signals, relative
/// paths or paths leaving the root, duplicate paths, entries under files or symlinks,
/// symlink loops, a program without an execute bit, a `WorkingDir` or volume that is a file.
pub fn parse(spec: &str, text: &str) -> Result<Spec, SpecError> {
    let raw: RawSpec = toml::from_str(text).map_err(|e| toml_error(spec, text, &e))?;
    validate(spec, raw)
}

/// A TOML or type error as one line: `line N: <what> (at `<that line>`)`, serde's words
/// for TOML's things (a sequence is an array, a map a table).
fn toml_error(spec: &str, text: &str, e: &toml::de::Error) -> SpecError {
    let at = e.span().map(|span| {
        let start = span.start.min(text.len());
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let number = text[..start].matches('\n').count() + 1;
        (number, text[line_start..line_end].trim())
    });
    let mut message = e
        .message()
        .trim()
        .replace('\n', " ")
        .replace(
            "expected a sequence",
            "expected an array, e.g. [\"a\", \"b\"]",
        )
        .replace("expected a map", "expected a table")
        .replace("invalid type: sequence", "invalid type: array")
        .replace("invalid type: map", "invalid type: table");
    let labels = message.starts_with("unknown field `labels`");
    if let Some((_, line)) = at.filter(|(_, line)| !line.is_empty()) {
        message.push_str(&format!(" (at `{}`)", quoted_raw(line)));
    }
    if labels {
        // Labels live in the image config, under Docker's name.
        message.push_str(": labels go in [config] Labels");
    }
    SpecError {
        spec: spec.into(),
        entry: at.map(|(number, _)| format!("line {number}")),
        message,
    }
}

/// `text` cut to its first 60 characters, unquoted: a spec line may be long.
fn quoted_raw(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

fn validate(spec: &str, raw: RawSpec) -> Result<Spec, SpecError> {
    let err = |entry: Option<String>, message: String| SpecError {
        spec: spec.into(),
        entry,
        message,
    };
    if !valid_name(&raw.name) {
        // `host:port/app` or `app:1.0`: Docker's full reference, not a name.
        let why = if raw.name.contains([':', '@']) {
            ": a name holds no registry port, tag or digest (set version = … for a tag; \
             the registry comes when pushing: skopeo copy oci-archive:… docker://host:port/<name>)"
        } else {
            ""
        };
        return Err(err(
            Some("name".into()),
            format!(
                "invalid image name {}: use lower-case letters, digits and single . _ - / between them{why}",
                quoted(&raw.name)
            ),
        ));
    }
    if let Some(v) = &raw.version {
        check_version(v).map_err(|m| err(Some("version".into()), m))?;
    }
    check_metadata("annotations", &raw.annotations).map_err(|(entry, m)| err(Some(entry), m))?;
    let mut platforms = Vec::new();
    if raw.platforms.as_ref().is_some_and(Vec::is_empty) {
        return Err(err(
            Some("platforms".into()),
            "the list is empty: name at least one, e.g. [\"linux/amd64\"], or leave it out for linux/amd64".into(),
        ));
    }
    for (i, p) in raw.platforms.iter().flatten().enumerate() {
        let platform = Platform::parse(p).map_err(|m| err(Some(format!("platforms[{i}]")), m))?;
        if platforms.contains(&platform) {
            return Err(err(
                Some(format!("platforms[{i}]")),
                format!("platform {p:?} is listed twice"),
            ));
        }
        platforms.push(platform);
    }
    let config = validate_config(raw.config).map_err(|(entry, m)| err(Some(entry), m))?;

    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    let mut explicit = Vec::new();
    for (i, f) in raw.files.into_iter().enumerate() {
        let origin = format!("files[{i}] {:?}", f.path);
        let profile = match (&f.build, f.profile) {
            (_, None) => "release".to_string(),
            (Some(_), Some(p)) if is_profile_name(&p) => p,
            (Some(_), Some(p)) => {
                return Err(err(
                    Some(origin),
                    format!("profile = {p:?} must be a cargo profile name, e.g. \"release\""),
                ))
            }
            (None, Some(_)) => {
                return Err(err(
                    Some(origin),
                    "profile applies to build files only: remove it or use build".into(),
                ))
            }
        };
        let source = match (f.build, f.host, f.text) {
            (Some(b), None, None) if !b.is_empty() && !b.contains('/') => {
                Source::Build { binary: b, profile }
            }
            (Some(b), None, None) => {
                return Err(err(
                    Some(origin),
                    format!("build = {b:?} must be a binary name, e.g. \"wait-for-weave\""),
                ))
            }
            (None, Some(h), None) => host_source(h).map_err(|m| err(Some(origin.clone()), m))?,
            (None, None, Some(t)) => Source::Text(t),
            _ => {
                return Err(err(
                    Some(origin),
                    "give exactly one of build, host or text".into(),
                ))
            }
        };
        let mode =
            parse_mode(f.mode.as_deref(), 0o644).map_err(|m| err(Some(origin.clone()), m))?;
        explicit.push((f.path, origin, EntryKind::File { source, mode }));
    }
    for (i, d) in raw.dirs.into_iter().enumerate() {
        let origin = format!("dirs[{i}] {:?}", d.path);
        let mode =
            parse_mode(d.mode.as_deref(), 0o755).map_err(|m| err(Some(origin.clone()), m))?;
        explicit.push((d.path, origin, EntryKind::Dir { mode }));
    }
    for (i, s) in raw.symlinks.into_iter().enumerate() {
        let origin = format!("symlinks[{i}] {:?}", s.path);
        if s.target.is_empty() || s.target.contains('\0') {
            return Err(err(
                Some(origin),
                "target must be a non-empty path without NUL".into(),
            ));
        }
        explicit.push((s.path, origin, EntryKind::Symlink { target: s.target }));
    }
    for (path, origin, kind) in explicit {
        // A relative path would read as relative to WorkingDir, as in a Dockerfile's COPY.
        if !path.is_empty() && !path.starts_with('/') {
            return Err(err(
                Some(origin),
                format!("path {path:?} is relative: write it from the image root, \"/{path}\""),
            ));
        }
        let path = normalize(&path).map_err(|m| err(Some(origin.clone()), m))?;
        if let Some(other) = entries.get(&path) {
            return Err(err(
                Some(origin),
                format!("duplicate path: {} names it too", other.origin),
            ));
        }
        entries.insert(path.clone(), Entry { path, kind, origin });
    }

    // Parents: add the missing ones as directories; refuse entries below files/symlinks.
    let paths: Vec<String> = entries.keys().cloned().collect();
    for path in paths {
        let origin = entries[&path].origin.clone();
        let mut parent = path.as_str();
        while let Some(cut) = parent.rfind('/') {
            parent = &parent[..cut];
            match entries.get(parent) {
                Some(Entry {
                    kind: EntryKind::Dir { .. },
                    ..
                }) => {}
                Some(other) => {
                    return Err(err(
                        Some(origin),
                        format!("its parent /{parent} is not a directory ({})", other.origin),
                    ))
                }
                None => {
                    entries.insert(
                        parent.to_string(),
                        Entry {
                            path: parent.to_string(),
                            kind: EntryKind::Dir { mode: 0o755 },
                            origin: format!("parent of {origin}"),
                        },
                    );
                }
            }
        }
    }
    for entry in entries.values() {
        if let EntryKind::Symlink { .. } = entry.kind {
            resolve::follow(&entries, &entry.path)
                .map_err(|m| err(Some(entry.origin.clone()), m))?;
        }
    }
    resolve::check_config(&config, &entries).map_err(|(entry, m)| err(Some(entry), m))?;
    Ok(Spec {
        title: raw.title.unwrap_or_else(|| raw.name.clone()),
        name: raw.name,
        version: raw.version,
        platforms,
        config,
        annotations: raw.annotations,
        entries: entries.into_values().collect(),
    })
}

/// `host = "path"` or `host = { "linux/amd64" = "path", "linux/arm64" = "path" }`.
///
/// Errors: an empty path, an unsupported or repeated platform, an empty table, another type.
fn host_source(value: toml::Value) -> Result<Source, String> {
    let usage = "host must be a path, or one path per platform: host = { \"linux/amd64\" = \"…\", \"linux/arm64\" = \"…\" }";
    match value {
        toml::Value::String(h) if !h.is_empty() => Ok(Source::Host(h)),
        toml::Value::Table(table) if !table.is_empty() => {
            let mut per_platform = BTreeMap::new();
            for (key, path) in table {
                let platform = Platform::parse(&key).map_err(|m| format!("host {key:?}: {m}"))?;
                let path = match path {
                    toml::Value::String(p) if !p.is_empty() => p,
                    _ => return Err(format!("host {key:?}: {usage}")),
                };
                if per_platform.insert(platform, path).is_some() {
                    return Err(format!("host {key:?}: this platform is named twice"));
                }
            }
            Ok(Source::HostPerPlatform(per_platform))
        }
        _ => Err(usage.into()),
    }
}

/// Checks the keys and values of `Labels` or `[annotations]` (`table` names it in errors):
/// no empty key, `created` in RFC 3339 (it becomes the config's `created`, which Docker
/// parses), no `ref.name` (the kit names the tag with it in index.json).
fn check_metadata(table: &str, map: &BTreeMap<String, String>) -> Result<(), (String, String)> {
    for (key, value) in map {
        let entry = || format!("{table} {key:?}");
        if key.trim().is_empty() {
            return Err((entry(), "a key must not be empty".into()));
        }
        if key == oci::ANN_REF_NAME {
            return Err((
                entry(),
                "the kit sets this in index.json to the tag: remove it (set version = … for a tag)"
                    .into(),
            ));
        }
        if key == oci::ANN_CREATED {
            crate::time::check_rfc3339(value).map_err(|why| {
                (
                    entry(),
                    format!(
                        "{} is not an RFC 3339 time ({why}): write e.g. \"2024-05-01T12:00:00Z\"",
                        quoted(value)
                    ),
                )
            })?;
        }
    }
    Ok(())
}

fn validate_config(raw: RawConfig) -> Result<Config, (String, String)> {
    for (i, e) in raw.env.iter().enumerate() {
        match e.split_once('=') {
            Some((key, _)) if !key.is_empty() => {}
            _ => {
                return Err((
                    format!("config.Env[{i}]"),
                    format!("{e:?} is not KEY=VALUE"),
                ))
            }
        }
    }
    check_metadata("config.Labels", &raw.labels)?;
    let mut volumes = BTreeSet::new();
    for (i, v) in raw.volumes.iter().enumerate() {
        let entry = format!("config.Volumes[{i}] {v:?}");
        if !v.starts_with('/') {
            return Err((entry, "a volume must be an absolute path".into()));
        }
        let path = normalize(v).map_err(|m| (entry.clone(), m))?;
        if !volumes.insert(format!("/{path}")) {
            return Err((entry, "volume listed twice".into()));
        }
    }
    if let Some(w) = &raw.working_dir {
        if !w.starts_with('/') {
            return Err((
                "config.WorkingDir".into(),
                format!("{w:?} must be an absolute path"),
            ));
        }
    }
    if let Some(s) = &raw.stop_signal {
        crate::signal::check_stop_signal(s).map_err(|m| ("config.StopSignal".to_string(), m))?;
    }
    let mut exposed_ports = BTreeSet::new();
    for (i, p) in raw.exposed_ports.iter().enumerate() {
        let ok = match p.split_once('/') {
            Some((port, proto)) => {
                port.parse::<u16>().is_ok_and(|n| n > 0) && matches!(proto, "tcp" | "udp" | "sctp")
            }
            None => false,
        };
        if !ok {
            return Err((
                format!("config.ExposedPorts[{i}]"),
                format!("{p:?} is not PORT/tcp, PORT/udp or PORT/sctp"),
            ));
        }
        exposed_ports.insert(p.clone());
    }
    Ok(Config {
        entrypoint: raw.entrypoint,
        cmd: raw.cmd,
        env: raw.env,
        working_dir: raw.working_dir,
        user: raw.user,
        volumes,
        exposed_ports,
        stop_signal: raw.stop_signal,
        labels: raw.labels,
    })
}

/// Docker reference path components: `[a-z0-9]+` joined by one of `.`, `_`, `__`, `-`+,
/// components joined by `/` (distribution/reference grammar, simplified to single
/// separators).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('/').all(|component| {
            !component.is_empty()
                && component.split(['.', '_', '-']).all(|w| {
                    !w.is_empty()
                        && w.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                })
        })
}

/// Checks an image version, the spec's `version` or the kit's `--image-version`: it is also
/// the image's second tag, so it must be a Docker tag (see [`valid_tag`]).
///
/// Errors: the message, quoting (the start of) `version`.
pub fn check_version(version: &str) -> Result<(), String> {
    if valid_tag(version) {
        return Ok(());
    }
    Err(format!(
        "{}: a version is also a tag: up to 128 letters, digits, _ . and -, not starting with . or -",
        quoted(version)
    ))
}

/// A Docker tag (distribution/reference `tag`): `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    let word = |c: &u8| c.is_ascii_alphanumeric() || *c == b'_';
    (1..=128).contains(&b.len())
        && word(&b[0])
        && b[1..].iter().all(|c| word(c) || *c == b'.' || *c == b'-')
}

/// `text` quoted for a message, cut to its first 40 characters: a spec may hold anything.
fn quoted(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{:?}…", &text[..cut]),
        None => format!("{text:?}"),
    }
}

/// Octal permission bits as a string (`"755"`, `"0755"`, `"1777"`, `"0o755"`); `None`
/// gives `default`. Errors: the message for anything else or above 0o7777.
fn parse_mode(text: Option<&str>, default: u32) -> Result<u32, String> {
    let Some(text) = text else {
        return Ok(default);
    };
    let digits = text.strip_prefix("0o").unwrap_or(text);
    let bad =
        || format!("bad mode {text:?}: give octal permission bits like \"0755\" (at most 07777)");
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b))
    {
        return Err(bad());
    }
    u32::from_str_radix(digits, 8).map_err(|_| bad())
}

/// Normalises an image path: absolute or relative to the root, `.` and empty components
/// dropped, `..` applied. Returns the path without a leading `/`.
///
/// Errors: the path leaves the image root, is the root itself, or holds a NUL byte.
pub fn normalize(path: &str) -> Result<String, String> {
    if path.contains('\0') {
        return Err("path contains a NUL byte".into());
    }
    let mut parts: Vec<&str> = Vec::new();
    for component in path.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!("path {path:?} escapes the image root with \"..\""));
                }
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return Err(format!(
            "path {path:?} is the image root: name a file below it"
        ));
    }
    Ok(parts.join("/"))
}

mod resolve;
#[cfg(test)]
mod tests;
