//! The create rewrite (DESIGN §3): a pure function from a `POST /containers/create` body to
//! the body Docker should see, so that the container's first process is the waiter.
//!
//! Docker's own merge of request and image (moby `daemon/create.go` + `daemon/commit.go`
//! `merge`) is applied first, then the waiter prefix, so `docker inspect`, `docker commit`
//! and `docker run img newargs` keep Docker's meaning. Field names are matched like Go's
//! `encoding/json` does (exact spelling first, then ASCII case-insensitively), because that
//! is how the daemon will read them.

use serde_json::{Map, Value};
use weave_cidr::{self as cidr, CidrError, WeaveCidr};

/// Default path of the waiter inside containers (`/home/weavewait` is the volume of the
/// `weavewait` image).
pub const DEFAULT_WAITER: &str = "/home/weavewait/wait-for-weave";
/// Default name of the volume container that carries the waiter.
pub const DEFAULT_VOLUME_CONTAINER: &str = "weavewait";

/// What the rewrite inserts; both configurable on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewriteConfig {
    /// W: absolute path of the waiter in the container, prefixed to the Entrypoint.
    pub waiter: String,
    /// Name of the volume container added to `HostConfig.VolumesFrom` as `<name>:ro`.
    pub volume_container: String,
    /// The `key=value` label an adapter is scoped to (`--label`): a create whose body's
    /// `Labels` lacks it is passed through untouched, since no attach will follow for it.
    /// `None`: every create is in scope.
    pub label: Option<(String, String)>,
}

impl Default for RewriteConfig {
    fn default() -> Self {
        RewriteConfig {
            waiter: DEFAULT_WAITER.to_string(),
            volume_container: DEFAULT_VOLUME_CONTAINER.to_string(),
            label: None,
        }
    }
}

/// The parts of an image's config the merge reads (`Config.Entrypoint`, `Config.Cmd` of
/// `GET /images/{name}/json`); `None` is Docker's nil.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageConfig {
    /// IE: the image's Entrypoint.
    pub entrypoint: Option<Vec<String>>,
    /// IC: the image's Cmd.
    pub cmd: Option<Vec<String>>,
}

/// The outcome of [`rewrite`].
#[derive(Debug, Clone, PartialEq)]
pub enum Rewrite {
    /// The request is not ours (no `WEAVE_CIDR`, `none`, or a NetworkMode we leave alone):
    /// send the original bytes unchanged.
    PassThrough,
    /// The rewritten body, and the parsed `WEAVE_CIDR` (an error when the value is outside
    /// the grammar: the container is still rewritten so the waiter refuses to start it with
    /// the grammar's message; a proxy may refuse the create instead).
    Rewritten {
        /// The body to send to Docker.
        body: Value,
        /// The container's `WEAVE_CIDR`, parsed.
        cidr: Result<WeaveCidr, CidrError>,
    },
}

/// Why a create the rewrite acts on cannot be rewritten. Nothing is created in that case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RewriteError {
    /// Request and image both give no command (rule 3); Docker's own words.
    #[error("No command specified")]
    NoCommand,
    /// Entrypoint and Cmd of the request are both empty, so the image's must be read, but
    /// no image config was given: inspect `image` and call again.
    #[error("the create of image {0:?} needs the image's Entrypoint and Cmd: inspect it first")]
    NeedImage(String),
    /// A field has a JSON type Docker itself would refuse; the body is left to Docker.
    #[error("create body field {field} is {found}, expected {expected}")]
    Malformed {
        /// The field, e.g. `HostConfig.VolumesFrom`.
        field: &'static str,
        /// What was found, e.g. `a number`.
        found: &'static str,
        /// What Docker accepts there.
        expected: &'static str,
    },
}

/// NetworkModes in which the container gets a network namespace of its own that we may add
/// `ethwe` to; `host`, `container:<id>` and user networks are left alone.
const OUR_NETWORK_MODES: [&str; 4] = ["", "default", "bridge", "none"];

/// Looks a key up like Go's `encoding/json`: exact spelling first, then ASCII
/// case-insensitively. Returns the key as spelled in the object.
fn key_of(obj: &Map<String, Value>, name: &str) -> Option<String> {
    if obj.contains_key(name) {
        return Some(name.to_string());
    }
    obj.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

fn get<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    key_of(obj, name).and_then(|k| obj.get(&k))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Docker's `strslice.StrSlice`: a string counts as a one-element list, null/absent as nil.
fn str_slice(v: Option<&Value>, field: &'static str) -> Result<Option<Vec<String>>, RewriteError> {
    let malformed = |v: &Value| RewriteError::Malformed {
        field,
        found: kind(v),
        expected: "null, a string or an array of strings",
    };
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).ok_or_else(|| malformed(i)))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(malformed(other)),
    }
}

/// The request's `WEAVE_CIDR` value when the rewrite acts on this create: `Env` has a
/// `WEAVE_CIDR=` entry (first wins) whose value is not `none`, and NetworkMode is absent,
/// `""`, `default`, `bridge` or `none`. `None` means "pass through".
pub fn weave_cidr_of(create: &Value) -> Option<String> {
    let obj = create.as_object()?;
    let env = get(obj, "Env")?.as_array()?;
    let value = cidr::find_in_env(env.iter().filter_map(Value::as_str))?;
    if matches!(cidr::parse(value), Ok(WeaveCidr::None)) {
        return None;
    }
    let mode = get(obj, "HostConfig")
        .and_then(Value::as_object)
        .and_then(|hc| get(hc, "NetworkMode"));
    match mode {
        None | Some(Value::Null) => Some(value.to_string()),
        Some(Value::String(m)) if OUR_NETWORK_MODES.contains(&m.as_str()) => {
            Some(value.to_string())
        }
        Some(_) => None,
    }
}

/// True when this create is in the scope of `cfg.label`: no label is configured, or the
/// body's `Labels` (Docker's `Config.Labels`, a string map) holds exactly that key with
/// that value. Labels the image adds are not seen here, so a scoped adapter only rewrites
/// containers created with the label (`docker run --label key=value`).
pub fn in_scope(create: &Value, cfg: &RewriteConfig) -> bool {
    let Some((key, value)) = &cfg.label else {
        return true;
    };
    create
        .as_object()
        .and_then(|obj| get(obj, "Labels"))
        .and_then(Value::as_object)
        .and_then(|labels| labels.get(key))
        .and_then(Value::as_str)
        == Some(value.as_str())
}

/// The image whose config [`rewrite`] needs for this create, if any: the rewrite acts and
/// the request's Entrypoint is empty (rule 1). `Image` as given in the body.
pub fn image_needed(create: &Value) -> Option<String> {
    weave_cidr_of(create)?;
    let obj = create.as_object()?;
    let entrypoint = str_slice(get(obj, "Entrypoint"), "Entrypoint").ok()?;
    if entrypoint.is_some_and(|e| !e.is_empty()) {
        return None;
    }
    Some(
        get(obj, "Image")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    )
}

/// Rewrites a create body (DESIGN §3 rules 1–6).
///
/// `image` is the image's config; it is read only when the request's Entrypoint is empty
/// (see [`image_needed`]). Every field other than `Entrypoint`, `Cmd` and
/// `HostConfig.VolumesFrom` survives untouched, unknown ones and number text included.
/// Idempotent: `rewrite(rewrite(x)) == rewrite(x)`. A create outside the label scope
/// ([`in_scope`]) is passed through like one without `WEAVE_CIDR`.
///
/// Errors: [`RewriteError::NoCommand`] when neither request nor image gives a command,
/// [`RewriteError::NeedImage`] when the image is needed but `image` is `None`,
/// [`RewriteError::Malformed`] when Entrypoint, Cmd, HostConfig or VolumesFrom has a type
/// Docker would refuse.
pub fn rewrite(
    create: Value,
    image: Option<&ImageConfig>,
    cfg: &RewriteConfig,
) -> Result<Rewrite, RewriteError> {
    if !in_scope(&create, cfg) {
        return Ok(Rewrite::PassThrough);
    }
    let Some(cidr_value) = weave_cidr_of(&create) else {
        return Ok(Rewrite::PassThrough);
    };
    let Value::Object(mut obj) = create else {
        return Ok(Rewrite::PassThrough);
    };
    let ep_key = key_of(&obj, "Entrypoint").unwrap_or_else(|| "Entrypoint".to_string());
    let cmd_key = key_of(&obj, "Cmd").unwrap_or_else(|| "Cmd".to_string());
    let mut entrypoint = str_slice(obj.get(&ep_key), "Entrypoint")?;
    let mut cmd = str_slice(obj.get(&cmd_key), "Cmd")?;
    let mut cmd_changed = false;

    // Rule 1: Docker's merge with the image config.
    if entrypoint.as_ref().is_none_or(Vec::is_empty) {
        let image_name = get(&obj, "Image").and_then(Value::as_str).unwrap_or("");
        let image = image.ok_or_else(|| RewriteError::NeedImage(image_name.to_string()))?;
        if cmd.as_ref().is_none_or(Vec::is_empty) {
            cmd = image.cmd.clone();
            cmd_changed = true;
        }
        if entrypoint.is_none() {
            entrypoint = image.entrypoint.clone();
        }
    }
    // Rule 2: `--entrypoint ""` resets the entrypoint.
    let mut entrypoint = entrypoint.unwrap_or_default();
    if entrypoint == [""] {
        entrypoint.clear();
    }
    // Rule 3.
    if entrypoint.is_empty() && cmd.as_ref().is_none_or(Vec::is_empty) {
        return Err(RewriteError::NoCommand);
    }
    // Rule 4: a committed waiter image must not stack a second waiter.
    if entrypoint.first() != Some(&cfg.waiter) {
        entrypoint.insert(0, cfg.waiter.clone());
    }
    obj.insert(ep_key, string_array(entrypoint));
    if cmd_changed {
        obj.insert(cmd_key, cmd.map_or(Value::Null, string_array));
    }

    // Rule 5.
    let hc_key = key_of(&obj, "HostConfig").unwrap_or_else(|| "HostConfig".to_string());
    let hc = obj.entry(hc_key).or_insert(Value::Null);
    if hc.is_null() {
        *hc = Value::Object(Map::new());
    }
    let Value::Object(hc) = hc else {
        return Err(RewriteError::Malformed {
            field: "HostConfig",
            found: kind(hc),
            expected: "null or an object",
        });
    };
    add_volumes_from(hc, &cfg.volume_container)?;

    Ok(Rewrite::Rewritten {
        body: Value::Object(obj),
        cidr: cidr::parse(&cidr_value),
    })
}

/// Rule 5: `VolumesFrom += "<name>:ro"` unless an entry already names that container
/// (`name`, `name:ro`, `name:rw`): Docker refuses duplicate mount points.
fn add_volumes_from(hc: &mut Map<String, Value>, name: &str) -> Result<(), RewriteError> {
    let key = key_of(hc, "VolumesFrom").unwrap_or_else(|| "VolumesFrom".to_string());
    let entry = hc.entry(key).or_insert(Value::Null);
    if entry.is_null() {
        *entry = Value::Array(Vec::new());
    }
    let Value::Array(list) = entry else {
        return Err(RewriteError::Malformed {
            field: "HostConfig.VolumesFrom",
            found: kind(entry),
            expected: "null or an array of strings",
        });
    };
    let present = list.iter().any(|v| {
        v.as_str()
            .is_some_and(|s| s.split(':').next() == Some(name))
    });
    if !present {
        list.push(Value::String(format!("{name}:ro")));
    }
    Ok(())
}

fn string_array(items: Vec<String>) -> Value {
    Value::Array(items.into_iter().map(Value::String).collect())
}

#[cfg(test)]
mod tests;
