//! The attach settings a container was created under (docs/design.md §3 rule 7, §5 "Which
//! containers"). The rewrite records them on the container as the label
//! [`ATTACH_LABEL`]`=<settings>`; a follower (proxy or adapter, start hook, `start` event or
//! start-up scan) attaches a container only when that label names its own settings, so two
//! followers with different settings on one daemon never fight over a container.
//!
//! The value is the `--attach` spelling with what tells two followers of that backend apart:
//!
//! | backend | value |
//! |---|---|
//! | `bridge` | `bridge:<bridge>`, e.g. `bridge:weave` |
//! | `weave` | `weave` (one Weave Net router per host) |
//! | `command:<path>` | `command:<path>`, the path as given |
//!
//! A container without the label (created by an older version, a committed image of one,
//! or the standalone waiter run directly) is attached by whichever follower sees it, as
//! before the label existed.

use std::fmt;

use serde_json::{Map, Value};

use super::json::key_of;

/// The label key the rewrite records the attach settings under.
pub const ATTACH_LABEL: &str = "powerstrip-weave.attach";

/// The attach settings of a follower, spelled as [`ATTACH_LABEL`]'s value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity(String);

impl Identity {
    /// The native backend on Linux bridge `bridge`: `bridge:<bridge>`.
    pub fn bridge(bridge: &str) -> Identity {
        Identity(format!("bridge:{bridge}"))
    }

    /// Weave Net's `weave attach`: `weave`.
    pub fn weave() -> Identity {
        Identity("weave".to_string())
    }

    /// An external attach program, as given to `--attach command:<path>`.
    pub fn command(path: &str) -> Identity {
        Identity(format!("command:{path}"))
    }

    /// The label value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Identity {
    /// The defaults of the flags: the `bridge` backend on bridge `weave`.
    fn default() -> Identity {
        Identity::bridge("weave")
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a container's labels say about who attaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Created under these settings.
    Ours,
    /// Created under other settings, spelled as recorded: another follower's container.
    Other(String),
    /// No label (or not a string): attached by any follower, as before the label existed.
    Unrecorded,
}

/// Judges the label value `recorded` (the container's value of [`ATTACH_LABEL`], if any)
/// against the settings `ours`.
pub fn judge(recorded: Option<&str>, ours: &Identity) -> Recorded {
    match recorded {
        None => Recorded::Unrecorded,
        Some(v) if v == ours.as_str() => Recorded::Ours,
        Some(v) => Recorded::Other(v.to_string()),
    }
}

/// Why a create body's labels cannot be recorded: `Labels` has a JSON type Docker refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelsNotAnObject(pub &'static str);

/// Records `identity` in the `Labels` of a create body `create` (an object): `Labels` is
/// found as Go's `encoding/json` finds it, created when absent or null, and its
/// [`ATTACH_LABEL`] set to `identity` (a value the client gave is replaced: the container
/// is attached by whoever rewrote it). Every other label survives.
///
/// Errors: `Labels` is neither an object nor null (Docker refuses the create itself); the
/// JSON type found.
pub fn record(
    create: &mut Map<String, Value>,
    identity: &Identity,
) -> Result<(), LabelsNotAnObject> {
    let key = key_of(create, "Labels").unwrap_or_else(|| "Labels".to_string());
    let labels = create.entry(key).or_insert(Value::Null);
    if labels.is_null() {
        *labels = Value::Object(Map::new());
    }
    let Value::Object(labels) = labels else {
        return Err(LabelsNotAnObject(super::json::kind(labels)));
    };
    labels.insert(
        ATTACH_LABEL.to_string(),
        Value::String(identity.as_str().to_string()),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_the_attach_spelling() {
        assert_eq!(Identity::bridge("weave").as_str(), "bridge:weave");
        assert_eq!(Identity::default(), Identity::bridge("weave"));
        assert_eq!(Identity::weave().to_string(), "weave");
        assert_eq!(
            Identity::command("/usr/local/bin/attach").as_str(),
            "command:/usr/local/bin/attach"
        );
    }

    #[test]
    fn a_container_is_ours_only_with_our_exact_value() {
        let ours = Identity::bridge("b1");
        assert_eq!(judge(Some("bridge:b1"), &ours), Recorded::Ours);
        for other in ["bridge:b2", "bridge:B1", "bridge:b1 ", "weave", ""] {
            assert_eq!(
                judge(Some(other), &ours),
                Recorded::Other(other.to_string())
            );
        }
        assert_eq!(judge(None, &ours), Recorded::Unrecorded);
    }

    fn recorded(mut body: Value) -> Result<Value, LabelsNotAnObject> {
        record(body.as_object_mut().unwrap(), &Identity::bridge("b1"))?;
        Ok(body)
    }

    #[test]
    fn recording_keeps_other_labels_and_finds_labels_like_go() {
        let label = json!({ATTACH_LABEL: "bridge:b1"});
        assert_eq!(recorded(json!({})).unwrap(), json!({"Labels": label}));
        assert_eq!(
            recorded(json!({"Labels": null})).unwrap(),
            json!({"Labels": label})
        );
        assert_eq!(
            recorded(json!({"labels": {"a": "1"}})).unwrap(),
            json!({"labels": {"a": "1", ATTACH_LABEL: "bridge:b1"}})
        );
        // A value the client gave is replaced; recording twice changes nothing more.
        let once = recorded(json!({"Labels": {ATTACH_LABEL: "bridge:b2"}})).unwrap();
        assert_eq!(once, json!({"Labels": label}));
        assert_eq!(recorded(once.clone()).unwrap(), once);
    }

    #[test]
    fn labels_of_another_type_are_left_to_docker() {
        for bad in [json!("a=1"), json!(["a=1"]), json!(1)] {
            let err = recorded(json!({ "Labels": bad })).unwrap_err();
            assert!(!err.0.is_empty());
        }
    }
}
