//! Whether a container asks for `ethwe` (docs/design.md §3, §4), judged alike for a create
//! body ([`super::create`]) and for an inspected container ([`super::target`]): a
//! `WEAVE_CIDR=` entry in its `Env` (the first one wins) that is not exactly `none`, and a
//! NetworkMode that gives it a network namespace of its own.

use weave_cidr::{self as cidr, CidrError, CidrItem, WeaveCidr};

/// NetworkModes in which the container gets a network namespace of its own that `ethwe`
/// may be added to; `host`, `container:<id>` and user-defined networks are left alone.
const OWN_NAMESPACE_MODES: [&str; 4] = ["", "default", "bridge", "none"];

/// True when a container whose `HostConfig.NetworkMode` is `mode` (`None`: absent or null)
/// has a network namespace of its own that `ethwe` may be added to.
pub fn network_mode_is_ours(mode: Option<&str>) -> bool {
    mode.is_none_or(|m| OWN_NAMESPACE_MODES.contains(&m))
}

/// What a container asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asks {
    /// No `WEAVE_CIDR` entry, exactly `none`, or a NetworkMode we leave alone.
    Nothing,
    /// `ethwe` with these items (empty: one default allocation).
    Attach {
        /// The `WEAVE_CIDR` value as written, for messages.
        value: String,
        /// The parsed items.
        items: Vec<CidrItem>,
    },
    /// A `WEAVE_CIDR` outside the grammar: the container must not run its app.
    Invalid(CidrError),
}

/// What a container with environment `env` (`NAME=value` entries) asks for;
/// `own_namespace` is [`network_mode_is_ours`] of its NetworkMode.
pub fn asks<'a>(env: impl IntoIterator<Item = &'a str>, own_namespace: bool) -> Asks {
    let Some(value) = cidr::find_in_env(env) else {
        return Asks::Nothing;
    };
    match cidr::parse(value) {
        Ok(WeaveCidr::None) => Asks::Nothing,
        _ if !own_namespace => Asks::Nothing,
        Ok(WeaveCidr::Attach(items)) => Asks::Attach {
            value: value.to_string(),
            items,
        },
        Err(e) => Asks::Invalid(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_namespaces() {
        for mode in [
            None,
            Some(""),
            Some("default"),
            Some("bridge"),
            Some("none"),
        ] {
            assert!(network_mode_is_ours(mode), "{mode:?}");
        }
        for mode in ["host", "container:web-1", "my-net", "Bridge"] {
            assert!(!network_mode_is_ours(Some(mode)), "{mode}");
        }
    }

    #[test]
    fn what_an_environment_asks_for() {
        assert_eq!(asks(["A=1"], true), Asks::Nothing);
        assert_eq!(asks(["WEAVE_CIDR"], true), Asks::Nothing);
        assert_eq!(asks(["WEAVE_CIDR=none"], true), Asks::Nothing);
        assert_eq!(asks(["WEAVE_CIDR=10.2.1.1/24"], false), Asks::Nothing);
        assert!(matches!(
            asks(["WEAVE_CIDR=", "WEAVE_CIDR=none"], true),
            Asks::Attach { items, .. } if items.is_empty()
        ));
        assert!(matches!(
            asks(["WEAVE_CIDR=1.2.3.4"], true),
            Asks::Invalid(e) if e.value == "1.2.3.4"
        ));
    }
}
