//! The attach target of a start, restart or `start` event (docs/design.md §5): from what
//! inspect says of a container to "attach it, with these items" or "leave it alone, and
//! why". Judged with the same rules as the create decision ([`super::asks`],
//! [`super::scope`]), so every container the create decision made wait is attached, and no
//! other is; and only by a follower with the attach settings it was created under
//! ([`super::identity`]).

use std::collections::HashMap;
use std::fmt;

use weave_cidr::CidrItem;

use super::asks::{asks, network_mode_is_ours, Asks};
use super::identity::{self, Recorded, ATTACH_LABEL};
use super::Policy;

/// What the attach decision needs to know about a container (`GET /containers/{id}/json`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerFacts {
    /// Full id.
    pub id: String,
    /// Name without the leading `/`.
    pub name: String,
    /// Host pid of its first process; 0 when not running.
    pub pid: u32,
    /// `State.Running`.
    pub running: bool,
    /// `Config.Entrypoint` (the merged one Docker stored).
    pub entrypoint: Vec<String>,
    /// `Config.Env`.
    pub env: Vec<String>,
    /// `Config.Labels` (the image's included).
    pub labels: HashMap<String, String>,
    /// `HostConfig.NetworkMode`, `None` when absent.
    pub network_mode: Option<String>,
}

/// The container to attach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Full container id (64 hex digits).
    pub id: String,
    /// Name without the leading `/`, for messages.
    pub name: String,
    /// Host pid of the container's first process (its network namespace is ours to join).
    pub pid: u32,
    /// The `WEAVE_CIDR` value as written, for messages.
    pub value: String,
    /// The parsed `WEAVE_CIDR` items; empty means "one default allocation".
    pub items: Vec<CidrItem>,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = self.id.get(..12).unwrap_or(&self.id);
        write!(f, "container {} ({short}, pid {})", self.name, self.pid)
    }
}

/// Why a container was left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// No such container.
    Gone,
    /// Not running (exited already, or created only).
    NotRunning,
    /// Its Entrypoint does not start with the waiter.
    NotWaiting,
    /// No `WEAVE_CIDR` entry, `none`, or a NetworkMode without a namespace of its own.
    NoCidr,
    /// `WEAVE_CIDR` is outside the grammar: the waiter refuses to start it with this message.
    InvalidCidr(String),
    /// It lacks the label this adapter is scoped to.
    OtherScope,
    /// It was created under other attach settings (the value of its
    /// [`ATTACH_LABEL`]): another follower's container.
    OtherSettings(String),
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::Gone => f.write_str("no such container"),
            Skip::NotRunning => f.write_str("not running"),
            Skip::NotWaiting => f.write_str("its Entrypoint does not start with the waiter"),
            Skip::NoCidr => f.write_str("it asks for no ethwe"),
            Skip::InvalidCidr(why) => write!(f, "the waiter refuses to start it: {why}"),
            Skip::OtherScope => f.write_str("it lacks the --label of this follower"),
            Skip::OtherSettings(recorded) => write!(
                f,
                "it was created for {ATTACH_LABEL}={recorded}, which another follower attaches"
            ),
        }
    }
}

/// Decides whether the container `facts` describes is one to attach: in the label scope,
/// created under this follower's attach settings (or unrecorded), running, waiting (its
/// Entrypoint starts with the waiter) and asking for `ethwe`.
pub fn target_of(facts: &ContainerFacts, policy: &Policy) -> Result<Target, Skip> {
    if !policy
        .scope
        .admits(|key| facts.labels.get(key).map(String::as_str))
    {
        return Err(Skip::OtherScope);
    }
    let recorded = facts.labels.get(ATTACH_LABEL).map(String::as_str);
    if let Recorded::Other(settings) = identity::judge(recorded, &policy.identity) {
        return Err(Skip::OtherSettings(settings));
    }
    if !facts.running || facts.pid == 0 {
        return Err(Skip::NotRunning);
    }
    if facts.entrypoint.first() != Some(&policy.rewrite.waiter) {
        return Err(Skip::NotWaiting);
    }
    let own_namespace = network_mode_is_ours(facts.network_mode.as_deref());
    match asks(facts.env.iter().map(String::as_str), own_namespace) {
        Asks::Nothing => Err(Skip::NoCidr),
        Asks::Invalid(e) => Err(Skip::InvalidCidr(e.to_string())),
        Asks::Attach { value, items } => Ok(Target {
            id: facts.id.clone(),
            name: facts.name.clone(),
            pid: facts.pid,
            value,
            items,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::rewrite::DEFAULT_WAITER;
    use crate::policy::Scope;

    fn policy(label: Option<(&str, &str)>) -> Policy {
        Policy {
            scope: Scope::new(label.map(|(k, v)| (k.to_string(), v.to_string()))),
            ..Policy::default()
        }
    }

    fn facts(env: &[&str]) -> ContainerFacts {
        ContainerFacts {
            id: "f".repeat(64),
            name: "web-1".into(),
            pid: 42,
            running: true,
            entrypoint: vec![DEFAULT_WAITER.into(), "/app".into()],
            env: env.iter().map(|s| s.to_string()).collect(),
            labels: [("scope".to_string(), "a".to_string())].into(),
            network_mode: Some("default".into()),
        }
    }

    #[test]
    fn waiting_container_with_cidr_is_a_target() {
        let t = target_of(
            &facts(&["A=1", "WEAVE_CIDR=10.2.1.1/24 net:default"]),
            &policy(None),
        )
        .unwrap();
        assert_eq!(t.pid, 42);
        assert_eq!(t.name, "web-1");
        assert_eq!(t.items.len(), 2);
        assert_eq!(t.items[1], CidrItem::NetDefault);
        assert_eq!(t.value, "10.2.1.1/24 net:default");
        // Empty WEAVE_CIDR asks for a default allocation: still a target.
        let t = target_of(&facts(&["WEAVE_CIDR="]), &policy(None)).unwrap();
        assert!(t.items.is_empty());
    }

    #[test]
    fn containers_left_alone() {
        let p = policy(None);
        assert_eq!(target_of(&facts(&[]), &p), Err(Skip::NoCidr));
        assert_eq!(target_of(&facts(&["WEAVE_CIDR"]), &p), Err(Skip::NoCidr));
        assert_eq!(
            target_of(&facts(&["WEAVE_CIDR=none"]), &p),
            Err(Skip::NoCidr)
        );
        let invalid = target_of(&facts(&["WEAVE_CIDR=1.2.3.4"]), &p).unwrap_err();
        assert!(matches!(invalid, Skip::InvalidCidr(m) if m.starts_with("invalid WEAVE_CIDR")));

        let mut f = facts(&["WEAVE_CIDR=10.2.1.1/24"]);
        f.entrypoint = vec!["/app".into(), DEFAULT_WAITER.into()];
        assert_eq!(target_of(&f, &p), Err(Skip::NotWaiting));
        f.entrypoint.clear();
        assert_eq!(target_of(&f, &p), Err(Skip::NotWaiting));

        let mut f = facts(&["WEAVE_CIDR=10.2.1.1/24"]);
        f.running = false;
        assert_eq!(target_of(&f, &p), Err(Skip::NotRunning));
        let mut f = facts(&["WEAVE_CIDR=10.2.1.1/24"]);
        f.pid = 0;
        assert_eq!(target_of(&f, &p), Err(Skip::NotRunning));
    }

    #[test]
    fn a_committed_waiter_image_on_the_host_network_is_left_alone() {
        // The create decision leaves such a create alone, so attach must too: the backend
        // would otherwise plug ethwe into the host's own namespace.
        let mut f = facts(&["WEAVE_CIDR=10.2.1.1/24"]);
        for mode in ["host", "container:db", "my-net"] {
            f.network_mode = Some(mode.into());
            assert_eq!(target_of(&f, &policy(None)), Err(Skip::NoCidr), "{mode}");
        }
        f.network_mode = None;
        assert!(target_of(&f, &policy(None)).is_ok());
    }

    #[test]
    fn only_a_follower_with_the_recorded_settings_attaches() {
        let mut f = facts(&["WEAVE_CIDR=10.2.1.1/24"]);
        let p = policy(None);
        // Unrecorded (an older version's container, a committed image, the waiter run
        // directly): attached by any follower.
        assert!(target_of(&f, &p).is_ok());
        f.labels
            .insert(ATTACH_LABEL.to_string(), "bridge:weave".to_string());
        assert!(target_of(&f, &p).is_ok());
        for other in ["bridge:weave2", "weave", "command:/x", ""] {
            f.labels.insert(ATTACH_LABEL.to_string(), other.to_string());
            assert_eq!(
                target_of(&f, &p),
                Err(Skip::OtherSettings(other.to_string()))
            );
        }
        // Another follower's container whatever its state: not even looked at further.
        f.running = false;
        f.env.clear();
        f.labels
            .insert(ATTACH_LABEL.to_string(), "bridge:b2".to_string());
        let skip = target_of(&f, &p).unwrap_err();
        assert_eq!(skip, Skip::OtherSettings("bridge:b2".into()));
        assert_eq!(
            skip.to_string(),
            "it was created for powerstrip-weave.attach=bridge:b2, which another follower attaches"
        );
    }

    #[test]
    fn label_scope() {
        let f = facts(&["WEAVE_CIDR=10.2.1.1/24"]);
        assert!(target_of(&f, &policy(Some(("scope", "a")))).is_ok());
        assert_eq!(
            target_of(&f, &policy(Some(("scope", "b")))),
            Err(Skip::OtherScope)
        );
        assert_eq!(
            target_of(&f, &policy(Some(("other", "a")))),
            Err(Skip::OtherScope)
        );
    }
}
