//! Whether a container asks for `ethwe` (docs/design.md §3, §4), judged alike for a create
//! body ([`super::create`]) and for an inspected container ([`super::target`]): a
//! `WEAVE_CIDR=` entry in its `Env` (the first one wins) that is not exactly `none`, in a
//! container with a network namespace of its own. Every NetworkMode but `host` and
//! `container:<id or name>` gives it one: the default bridge, `none`, and any user-defined
//! network (`mynet`, compose's `<project>_default`, a network id), so `ethwe` is added
//! beside the interfaces Docker gave it. A `WEAVE_CIDR` in a container that shares another
//! namespace is [`Asks::Ignored`], and the front-end that can say so says why.

use std::fmt;

use weave_cidr::{self as cidr, CidrError, CidrItem, WeaveCidr};

/// Whose network namespace a container with a given NetworkMode runs in when it is not
/// its own (moby `container.NetworkMode` `IsHost`: exactly `host`; `IsContainer`: the
/// prefix `container:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shared {
    /// `host`: the host's own namespace.
    Host,
    /// `container:<id or name>`: that container's namespace (compose's
    /// `network_mode: service:x` arrives as `container:<id of x's container>`).
    Container(String),
}

/// The namespace a container whose `HostConfig.NetworkMode` is `mode` (`None`: absent or
/// null) runs in: `None` when it has one of its own that `ethwe` may be added to.
pub fn shared_namespace(mode: Option<&str>) -> Option<Shared> {
    match mode? {
        "host" => Some(Shared::Host),
        m => m
            .strip_prefix("container:")
            .map(|other| Shared::Container(other.to_string())),
    }
}

/// A `WEAVE_CIDR` that is not acted on because the container shares a network namespace:
/// nothing is rewritten and nothing attached, so the app runs at once. Displays as the
/// warning the docker CLI prints after `WARNING: ` (the create answer's `Warnings`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    /// The `WEAVE_CIDR` value as written.
    pub value: String,
    /// Whose namespace the container runs in.
    pub shared: Shared,
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = &self.value;
        match &self.shared {
            Shared::Host => write!(
                f,
                "WEAVE_CIDR {value:?} ignored: with network mode host the container shares the \
                 host's network namespace, which is never given ethwe, so the app starts at once \
                 without it; leave out --network host (the default bridge, none or a user-defined \
                 network all get ethwe)"
            ),
            Shared::Container(other) => {
                // A full id reads as Docker shows ids.
                let full_id = other.len() == 64 && other.bytes().all(|b| b.is_ascii_hexdigit());
                let other = if full_id { &other[..12] } else { other };
                write!(
                f,
                "WEAVE_CIDR {value:?} ignored: with network mode container:{other} the container \
                 shares the network namespace of container {other}, so the app starts at once and \
                 sees that container's interfaces; give the WEAVE_CIDR to {other} instead"
            )
            }
        }
    }
}

/// What a container asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asks {
    /// No `WEAVE_CIDR` entry, or exactly `none`.
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
    /// A `WEAVE_CIDR` (valid or not) in a container that shares a network namespace.
    Ignored(Ignored),
}

/// What a container with environment `env` (`NAME=value` entries) asks for; `shared` is
/// [`shared_namespace`] of its NetworkMode.
pub fn asks<'a>(env: impl IntoIterator<Item = &'a str>, shared: Option<Shared>) -> Asks {
    let Some(value) = cidr::find_in_env(env) else {
        return Asks::Nothing;
    };
    match (cidr::parse(value), shared) {
        (Ok(WeaveCidr::None), _) => Asks::Nothing,
        (_, Some(shared)) => Asks::Ignored(Ignored {
            value: value.to_string(),
            shared,
        }),
        (Ok(WeaveCidr::Attach(items)), None) => Asks::Attach {
            value: value.to_string(),
            items,
        },
        (Err(e), None) => Asks::Invalid(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode_but_host_and_container_has_its_own_namespace() {
        for mode in [
            None,
            Some(""),
            Some("default"),
            Some("bridge"),
            Some("none"),
            Some("my-net"),
            Some("proj_default"),
            Some("3f5c0a1e9d2b"),
            // moby compares exactly: these are (possibly missing) user-defined networks.
            Some("Host"),
            Some("Bridge"),
            Some("containers"),
            Some("container"),
        ] {
            assert_eq!(shared_namespace(mode), None, "{mode:?}");
        }
        assert_eq!(shared_namespace(Some("host")), Some(Shared::Host));
        assert_eq!(
            shared_namespace(Some("container:web-1")),
            Some(Shared::Container("web-1".into()))
        );
        assert_eq!(
            shared_namespace(Some("container:")),
            Some(Shared::Container(String::new()))
        );
    }

    #[test]
    fn what_an_environment_asks_for() {
        assert_eq!(asks(["A=1"], None), Asks::Nothing);
        assert_eq!(asks(["WEAVE_CIDR"], None), Asks::Nothing);
        assert_eq!(asks(["WEAVE_CIDR=none"], None), Asks::Nothing);
        assert!(matches!(
            asks(["WEAVE_CIDR=", "WEAVE_CIDR=none"], None),
            Asks::Attach { items, .. } if items.is_empty()
        ));
        assert!(matches!(
            asks(["WEAVE_CIDR=1.2.3.4"], None),
            Asks::Invalid(e) if e.value == "1.2.3.4"
        ));
    }

    #[test]
    fn a_shared_namespace_ignores_weave_cidr_but_not_none() {
        let host = Some(Shared::Host);
        assert_eq!(asks(["WEAVE_CIDR=none"], host.clone()), Asks::Nothing);
        assert_eq!(asks(["A=1"], host.clone()), Asks::Nothing);
        for value in ["10.2.1.1/24", "1.2.3.4", ""] {
            let env = format!("WEAVE_CIDR={value}");
            assert_eq!(
                asks([env.as_str()], host.clone()),
                Asks::Ignored(Ignored {
                    value: value.into(),
                    shared: Shared::Host
                }),
                "{value:?}"
            );
        }
    }

    #[test]
    fn the_warning_says_what_was_ignored_why_and_what_to_do() {
        let host = Ignored {
            value: "10.2.1.1/24".into(),
            shared: Shared::Host,
        }
        .to_string();
        assert!(
            host.starts_with("WEAVE_CIDR \"10.2.1.1/24\" ignored"),
            "{host}"
        );
        assert!(host.contains("network mode host"), "{host}");
        assert!(host.contains("leave out --network host"), "{host}");
        let shared = Ignored {
            value: "10.2.1.1/24".into(),
            shared: Shared::Container("db".into()),
        }
        .to_string();
        assert!(shared.contains("container:db"), "{shared}");
        assert!(
            shared.contains("give the WEAVE_CIDR to db instead"),
            "{shared}"
        );
        // How compose's `network_mode: service:x` arrives: the id, shown short.
        let id = "35f03a3bc120fa6a70a808c07f17f544ccdc50087b9fc9dfd428cc2a17d616f7";
        let by_id = Ignored {
            value: "10.2.1.1/24".into(),
            shared: Shared::Container(id.into()),
        }
        .to_string();
        assert!(
            by_id.contains("container:35f03a3bc120 the container"),
            "{by_id}"
        );
        assert!(!by_id.contains(id), "{by_id}");
    }
}
