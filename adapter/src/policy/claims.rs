//! One holder per address (docs/design.md §5 "One holder per address"): on a backend whose
//! containers share one layer-2 segment (the `bridge` backend: one Linux bridge), an exact
//! address held by one container is refused for every other. This module is Docker's view
//! of who holds what, decided without I/O; the backend enforces the kernel's view at
//! attach time, under a lock ([`crate::attach::bridge`]).
//!
//! A container holds the exact addresses of its `WEAVE_CIDR` while Docker says it is
//! running (a container that Docker is restarting counts as running, so it keeps its
//! claim); a stopped one holds nothing. It is on the segment when its attach settings
//! ([`ATTACH_LABEL`], [`super::identity`]) name the segment's bridge, or, without that
//! label (created before it existed), when its Entrypoint starts with the waiter and its
//! host veth is a port of the segment's bridge or it has none yet.
//!
//! When it counts ([`Moment`]):
//! - at a create, and before a start is sent to Docker, every holder counts;
//! - at attach time the container itself runs too, and may race another that wants the
//!   same address and is not attached yet. A holder counts when Docker is restarting it,
//!   or when it comes first in the order both sides compute alike ([`Rank`]); one that is
//!   attached already is seen by the kernel check. So of two racing starts exactly one is
//!   attached, whichever follower (proxy, powerstrip adapter) attaches each.

use std::fmt;
use std::net::Ipv4Addr;

use weave_cidr::Ipv4Cidr;

use super::allocation::exact_addresses;
use super::asks::{asks, shared_namespace, Asks};
pub use super::identity::ATTACH_LABEL;
use super::identity::{self, Identity, Recorded};
use super::target::ContainerFacts;
use super::Policy;

/// The containers attached to one Linux bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The bridge's name.
    pub bridge: String,
}

impl Segment {
    /// The segment of bridge `bridge`.
    pub fn new(bridge: &str) -> Segment {
        Segment {
            bridge: bridge.to_string(),
        }
    }

    /// The attach settings its containers are recorded with ([`ATTACH_LABEL`]):
    /// `bridge:<bridge>`.
    pub fn identity(&self) -> Identity {
        Identity::bridge(&self.bridge)
    }
}

/// Another container as the rule sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Other {
    /// What Docker says of it.
    pub facts: ContainerFacts,
    /// The bridge its host veth is a port of, when it has one (the kernel's view; looked up
    /// only for containers without [`ATTACH_LABEL`]).
    pub bridge: Option<String>,
}

/// When the rule is applied.
#[derive(Debug, Clone, Copy)]
pub enum Moment<'a> {
    /// A create: the container does not exist yet.
    Create,
    /// Before Docker is asked to start container `id`.
    Start {
        /// The container's full id.
        id: &'a str,
    },
    /// Attaching this running container.
    Attach(&'a ContainerFacts),
}

/// The order in which containers that want one address and are not attached yet get it:
/// a container Docker restarted (`RestartCount` > 0) before one starting for the first
/// time, then by id. Every follower computes the same order from Docker's view.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rank<'a>(bool, &'a str);

impl<'a> Rank<'a> {
    /// The rank of `facts`.
    pub fn of(facts: &'a ContainerFacts) -> Rank<'a> {
        Rank(facts.restart_count == 0, &facts.id)
    }
}

/// Who holds an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A container Docker knows.
    Container {
        /// Its name, without the leading `/`.
        name: String,
        /// Its full id.
        id: String,
        /// Docker is restarting it (it keeps its claim meanwhile).
        restarting: bool,
    },
    /// The `ethwe` of a process found on the bridge (the kernel's view) that Docker's view
    /// did not name.
    Process(u32),
}

/// An address that is held: why a create, start or attach is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Held {
    /// The address asked for.
    pub address: Ipv4Addr,
    /// Who holds it.
    pub holder: Holder,
    /// The bridge of the segment.
    pub bridge: String,
}

impl fmt::Display for Held {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (address, bridge) = (self.address, &self.bridge);
        match &self.holder {
            Holder::Container {
                name,
                id,
                restarting,
            } => {
                let short = id.get(..12).unwrap_or(id);
                let state = if *restarting { "restarting" } else { "running" };
                write!(
                    f,
                    "address {address} is already held by container {name} ({short}, {state}) on \
                     bridge {bridge}: give this container another address, or stop {name} first"
                )
            }
            Holder::Process(pid) => write!(
                f,
                "address {address} is already held by the ethwe of process {pid} on bridge \
                 {bridge}: give this container another address"
            ),
        }
    }
}

/// The exact addresses a container with environment `env` and NetworkMode `mode` holds
/// while it runs: none unless its `WEAVE_CIDR` asks for exact addresses only (what the
/// bridge backend attaches).
pub fn claims<'a>(env: impl IntoIterator<Item = &'a str>, mode: Option<&str>) -> Vec<Ipv4Cidr> {
    match asks(env, shared_namespace(mode)) {
        Asks::Attach { items, .. } => exact_addresses(&items).unwrap_or_default(),
        Asks::Nothing | Asks::Invalid(_) | Asks::Ignored(_) => Vec::new(),
    }
}

/// The exact addresses container `facts` will hold once attached under `policy`: none
/// unless the policy has a segment and the container is in its scope, recorded with the
/// policy's attach settings (or unrecorded) and waits (its Entrypoint starts with the
/// waiter), as [`super::target::target_of`] judges at attach.
pub fn wanted(facts: &ContainerFacts, policy: &Policy) -> Vec<Ipv4Cidr> {
    let recorded = facts.labels.get(ATTACH_LABEL).map(String::as_str);
    let ours = policy.segment.is_some()
        && policy
            .scope
            .admits(|key| facts.labels.get(key).map(String::as_str))
        && !matches!(
            identity::judge(recorded, &policy.identity),
            Recorded::Other(_)
        )
        && facts.entrypoint.first() == Some(&policy.rewrite.waiter);
    if !ours {
        return Vec::new();
    }
    claims(
        facts.env.iter().map(String::as_str),
        facts.network_mode.as_deref(),
    )
}

/// The first of `wanted` that a container in `others` holds on `segment`, at `moment`
/// (see the module doc); `waiter` is W, which an unlabelled container's Entrypoint must
/// start with. `None`: every address is free as far as Docker knows.
pub fn held(
    wanted: &[Ipv4Cidr],
    moment: Moment<'_>,
    others: &[Other],
    segment: &Segment,
    waiter: &str,
) -> Option<Held> {
    let label = segment.identity();
    let contenders: Vec<&Other> = others
        .iter()
        .filter(|o| o.facts.running && on_segment(o, segment, &label, waiter))
        .filter(|o| counts(&o.facts, moment))
        .collect();
    wanted.iter().find_map(|want| {
        contenders.iter().find_map(|o| {
            let f = &o.facts;
            let holds = claims(f.env.iter().map(String::as_str), f.network_mode.as_deref())
                .iter()
                .any(|c| c.addr == want.addr);
            holds.then(|| Held {
                address: want.addr,
                holder: Holder::Container {
                    name: f.name.clone(),
                    id: f.id.clone(),
                    restarting: f.restarting,
                },
                bridge: segment.bridge.clone(),
            })
        })
    })
}

/// True when `o` is on `segment` (whose attach settings are `label`).
fn on_segment(o: &Other, segment: &Segment, label: &Identity, waiter: &str) -> bool {
    match o.facts.labels.get(ATTACH_LABEL) {
        Some(recorded) => recorded == label.as_str(),
        None => {
            o.facts.entrypoint.first().map(String::as_str) == Some(waiter)
                && o.bridge.as_ref().is_none_or(|b| *b == segment.bridge)
        }
    }
}

/// True when the claim of `other` counts at `moment`.
fn counts(other: &ContainerFacts, moment: Moment<'_>) -> bool {
    match moment {
        Moment::Create => true,
        Moment::Start { id } => other.id != id,
        Moment::Attach(me) => {
            other.id != me.id && (other.restarting || Rank::of(other) < Rank::of(me))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::rewrite::DEFAULT_WAITER as W;

    fn cidr(s: &str) -> Ipv4Cidr {
        let (addr, prefix) = s.split_once('/').unwrap();
        Ipv4Cidr {
            addr: addr.parse().unwrap(),
            prefix: prefix.parse().unwrap(),
        }
    }

    fn seg() -> Segment {
        Segment::new("weave")
    }

    /// A running, labelled container on bridge `weave` with this WEAVE_CIDR.
    fn other(id: &str, value: &str) -> Other {
        Other {
            facts: ContainerFacts {
                id: id.repeat(64 / id.len()),
                name: format!("c-{id}"),
                pid: 100,
                running: true,
                entrypoint: vec![W.into(), "/app".into()],
                env: vec![format!("WEAVE_CIDR={value}")],
                labels: [(ATTACH_LABEL.to_string(), "bridge:weave".to_string())].into(),
                ..ContainerFacts::default()
            },
            bridge: None,
        }
    }

    fn held_at(moment: Moment<'_>, others: &[Other], want: &str) -> Option<Held> {
        held(&[cidr(want)], moment, others, &seg(), W)
    }

    #[test]
    fn a_running_container_holds_its_exact_addresses_by_ip() {
        let a = other("a", "10.2.1.1/24 10.2.2.1/16");
        for want in ["10.2.1.1/24", "10.2.1.1/16", "10.2.2.1/8"] {
            let h = held_at(Moment::Create, std::slice::from_ref(&a), want).unwrap();
            assert_eq!(h.address.to_string(), want.split('/').next().unwrap());
            assert!(matches!(&h.holder, Holder::Container { name, .. } if name == "c-a"));
        }
        assert_eq!(held_at(Moment::Create, &[a], "10.2.1.2/24"), None);
    }

    #[test]
    fn what_holds_nothing() {
        let mut stopped = other("a", "10.2.1.1/24");
        stopped.facts.running = false;
        let none = other("b", "none");
        let alloc = other("c", "10.2.1.1/24 net:default");
        let invalid = other("d", "10.2.1.1");
        let mut host = other("e", "10.2.1.1/24");
        host.facts.network_mode = Some("host".into());
        let others = [stopped, none, alloc, invalid, host];
        assert_eq!(held_at(Moment::Create, &others, "10.2.1.1/24"), None);
    }

    #[test]
    fn a_restarting_container_keeps_its_claim() {
        // Docker reports a container it is restarting as Running and Restarting, pid 0.
        let mut a = other("a", "10.2.1.1/24");
        a.facts.restarting = true;
        a.facts.pid = 0;
        a.facts.restart_count = 3;
        let me = other("0", "10.2.1.1/24").facts;
        for moment in [
            Moment::Create,
            Moment::Start { id: &me.id },
            Moment::Attach(&me),
        ] {
            let h = held_at(moment, std::slice::from_ref(&a), "10.2.1.1/24").unwrap();
            assert!(h.to_string().contains("restarting"), "{h}");
        }
    }

    #[test]
    fn the_segment_is_the_label_or_for_unlabelled_containers_the_bridge() {
        let mut elsewhere = other("a", "10.2.1.1/24");
        elsewhere
            .facts
            .labels
            .insert(ATTACH_LABEL.into(), "bridge:other".into());
        let mut weave_net = other("b", "10.2.1.1/24");
        weave_net
            .facts
            .labels
            .insert(ATTACH_LABEL.into(), "weave".into());
        assert_eq!(
            held_at(Moment::Create, &[elsewhere, weave_net], "10.2.1.1/24"),
            None
        );

        // Without the label: the waiter's Entrypoint, and the kernel's bridge if attached.
        let mut unlabelled = other("c", "10.2.1.1/24");
        unlabelled.facts.labels.clear();
        let held_by = |o: &Other| held_at(Moment::Create, std::slice::from_ref(o), "10.2.1.1/24");
        assert!(held_by(&unlabelled).is_some());
        unlabelled.bridge = Some("weave".into());
        assert!(held_by(&unlabelled).is_some());
        unlabelled.bridge = Some("other".into());
        assert_eq!(held_by(&unlabelled), None);
        unlabelled.bridge = None;
        unlabelled.facts.entrypoint = vec!["/app".into()];
        assert_eq!(held_by(&unlabelled), None);
    }

    #[test]
    fn a_container_never_conflicts_with_itself() {
        let me = other("a", "10.2.1.1/24");
        let others = std::slice::from_ref(&me);
        assert_eq!(
            held_at(Moment::Start { id: &me.facts.id }, others, "10.2.1.1/24"),
            None
        );
        assert_eq!(
            held_at(Moment::Attach(&me.facts), others, "10.2.1.1/24"),
            None
        );
    }

    #[test]
    fn of_two_racing_attaches_exactly_one_goes_ahead() {
        let (a, b) = (other("a", "10.2.1.1/24"), other("b", "10.2.1.1/24"));
        let both = [a.clone(), b.clone()];
        let a_yields = held_at(Moment::Attach(&a.facts), &both, "10.2.1.1/24").is_some();
        let b_yields = held_at(Moment::Attach(&b.facts), &both, "10.2.1.1/24").is_some();
        assert!(
            a_yields != b_yields,
            "a yields {a_yields}, b yields {b_yields}"
        );
        assert!(b_yields, "the lower id goes first");

        // One that Docker restarted goes before one starting for the first time, so a
        // container restarted by its policy gets its address back.
        let mut b = b;
        b.facts.restart_count = 1;
        let both = [a.clone(), b.clone()];
        assert!(held_at(Moment::Attach(&a.facts), &both, "10.2.1.1/24").is_some());
        assert_eq!(
            held_at(Moment::Attach(&b.facts), &both, "10.2.1.1/24"),
            None
        );
    }

    #[test]
    fn before_a_start_every_running_holder_counts() {
        let (a, b) = (other("a", "10.2.1.1/24"), other("b", "10.2.1.1/24"));
        // a is not running yet; b is, whatever the ranks.
        let h = held_at(
            Moment::Start { id: &a.facts.id },
            std::slice::from_ref(&b),
            "10.2.1.1/24",
        )
        .unwrap();
        assert!(matches!(h.holder, Holder::Container { ref id, .. } if *id == b.facts.id));
    }

    #[test]
    fn messages_name_the_address_the_holder_and_the_fix() {
        let h = Held {
            address: "10.255.5.12".parse().unwrap(),
            holder: Holder::Container {
                name: "web-1".into(),
                id: "3f2a1b4c5d6e7f80".into(),
                restarting: false,
            },
            bridge: "weave".into(),
        };
        assert_eq!(
            h.to_string(),
            "address 10.255.5.12 is already held by container web-1 (3f2a1b4c5d6e, running) on \
             bridge weave: give this container another address, or stop web-1 first"
        );
        let p = Held {
            holder: Holder::Process(42),
            ..h
        };
        assert!(p.to_string().contains("the ethwe of process 42"), "{p}");
    }

    #[test]
    fn what_a_container_will_hold_under_a_policy() {
        let me = other("a", "10.2.1.1/24").facts;
        let policy = Policy::default();
        assert_eq!(wanted(&me, &policy), [cidr("10.2.1.1/24")]);
        let no_segment = Policy {
            segment: None,
            ..Policy::default()
        };
        assert!(wanted(&me, &no_segment).is_empty());
        let scoped = Policy {
            scope: crate::policy::Scope::new(Some(("team".into(), "a".into()))),
            ..Policy::default()
        };
        assert!(wanted(&me, &scoped).is_empty());
        let mut plain = me.clone();
        plain.entrypoint = vec!["/app".into()];
        assert!(wanted(&plain, &policy).is_empty());
    }

    #[test]
    fn claims_are_exact_addresses_only() {
        let got = claims(["WEAVE_CIDR=10.2.1.1/24 ip:10.2.1.2/16"], None);
        assert_eq!(got, [cidr("10.2.1.1/24"), cidr("10.2.1.2/16")]);
        assert_eq!(claims(["WEAVE_CIDR=10.2.1.1/24"], Some("my-net")).len(), 1);
        for (env, mode) in [
            ("WEAVE_CIDR=10.2.1.1/24", Some("host")),
            ("WEAVE_CIDR=net:default", None),
            ("WEAVE_CIDR=none", None),
            ("A=1", None),
        ] {
            assert!(claims([env], mode).is_empty(), "{env} {mode:?}");
        }
    }
}
