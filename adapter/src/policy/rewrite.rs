//! The create rewrite (docs/design.md §3 rules 1–6): a pure function from a
//! `POST /containers/create` body to the body Docker should see, so that the container's
//! first process is the waiter. Whether a body is rewritten at all is the create decision's
//! business ([`super::create`]).
//!
//! Docker's own merge of request and image (moby `daemon/create.go` + `daemon/commit.go`
//! `merge`) is applied first, then the waiter prefix, so `docker inspect`, `docker commit`
//! and `docker run img newargs` keep Docker's meaning. Field names are matched like Go's
//! `encoding/json` does ([`super::json`]), because that is how the daemon will read them.

use serde_json::{Map, Value};

use super::json::{field, key_of, kind, str_slice, string_array};

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
}

impl Default for RewriteConfig {
    fn default() -> Self {
        RewriteConfig {
            waiter: DEFAULT_WAITER.to_string(),
            volume_container: DEFAULT_VOLUME_CONTAINER.to_string(),
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

/// Why a create cannot be rewritten. Nothing is created in that case.
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

/// `Entrypoint` or `Cmd` of the request as Docker's `StrSlice`.
fn command_field(
    obj: &Map<String, Value>,
    key: &str,
    name: &'static str,
) -> Result<Option<Vec<String>>, RewriteError> {
    str_slice(obj.get(key)).map_err(|found| RewriteError::Malformed {
        field: name,
        found,
        expected: "null, a string or an array of strings",
    })
}

/// The image whose config [`rewrite`] needs for this create, if any: the request's
/// Entrypoint is empty (rule 1). `Image` as given in the body.
pub fn image_needed(create: &Value) -> Option<String> {
    let obj = create.as_object()?;
    let entrypoint = str_slice(field(obj, "Entrypoint")).ok()?;
    if entrypoint.is_some_and(|e| !e.is_empty()) {
        return None;
    }
    Some(
        field(obj, "Image")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    )
}

/// Rewrites a create body (docs/design.md §3 rules 1–6).
///
/// `image` is the image's config; it is read only when the request's Entrypoint is empty
/// (see [`image_needed`]). Every field other than `Entrypoint`, `Cmd` and
/// `HostConfig.VolumesFrom` survives untouched, unknown ones and number text included.
/// Idempotent: `rewrite(rewrite(x)) == rewrite(x)`.
///
/// Errors: [`RewriteError::NoCommand`] when neither request nor image gives a command,
/// [`RewriteError::NeedImage`] when the image is needed but `image` is `None`,
/// [`RewriteError::Malformed`] when the body is not an object or Entrypoint, Cmd,
/// HostConfig or VolumesFrom has a type Docker would refuse.
pub fn rewrite(
    create: Value,
    image: Option<&ImageConfig>,
    cfg: &RewriteConfig,
) -> Result<Value, RewriteError> {
    let mut obj = match create {
        Value::Object(obj) => obj,
        other => {
            return Err(RewriteError::Malformed {
                field: "the body",
                found: kind(&other),
                expected: "an object",
            })
        }
    };
    let ep_key = key_of(&obj, "Entrypoint").unwrap_or_else(|| "Entrypoint".to_string());
    let cmd_key = key_of(&obj, "Cmd").unwrap_or_else(|| "Cmd".to_string());
    let mut entrypoint = command_field(&obj, &ep_key, "Entrypoint")?;
    let mut cmd = command_field(&obj, &cmd_key, "Cmd")?;
    let mut cmd_changed = false;

    // Rule 1: Docker's merge with the image config.
    if entrypoint.as_ref().is_none_or(Vec::is_empty) {
        let image_name = field(&obj, "Image").and_then(Value::as_str).unwrap_or("");
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
    Ok(Value::Object(obj))
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

/// Appends `NAME=value` to the body's `Env` for each of `entries` whose name has no entry
/// yet (`NAME=…`, or a bare `NAME`): what the create sets itself wins, and a second call
/// adds nothing. A body whose `Env` is not an array of strings is left alone (Docker
/// refuses it in its own words).
pub fn add_env(create: &mut Value, entries: &[(&str, String)]) {
    let Some(obj) = create.as_object_mut() else {
        return;
    };
    let key = key_of(obj, "Env").unwrap_or_else(|| "Env".to_string());
    let env = obj.entry(key).or_insert(Value::Null);
    if env.is_null() {
        *env = Value::Array(Vec::new());
    }
    let Value::Array(list) = env else {
        return;
    };
    for (name, value) in entries {
        let set = list
            .iter()
            .filter_map(Value::as_str)
            .any(|e| e.split_once('=').map_or(e, |(n, _)| n) == *name);
        if !set {
            list.push(Value::String(format!("{name}={value}")));
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
