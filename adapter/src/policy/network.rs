//! The rules of the `network:NAME` backend (docs/design.md §10), as pure functions: which
//! `WEAVE_CIDR` a Docker network can give (from its IPAM config, `GET /networks/{name}`),
//! what the waiter is told to wait for, whether the engine names the interface, and
//! whether an endpoint Docker reports meets what was asked.
//!
//! A Docker network gives a container one endpoint, with one IPv4 address, carrying the
//! prefix of the network's subnet (moby libnetwork `endpoint.go` `assignAddressVersion`);
//! Docker's IPAM allocates from a pool's `IPRange` (else its `Subnet`), trying the pools in
//! order, and cannot be told a narrower range per request. So:
//! - one item at most (none: one default allocation);
//! - an exact address lies inside a subnet of the network, with that subnet's prefix, and is
//!   not its gateway;
//! - `net:S` lies inside a subnet (the rule of [`weave_cidr::CidrItem::place_in`]) and covers
//!   every range Docker allocates from, so whatever Docker gives lies in S.

use std::fmt;
use std::net::Ipv4Addr;

use weave_cidr::{quote, CidrItem, Ipv4Cidr, Misplaced};

/// The per-endpoint driver option Docker Engine 28 (API 1.48) reads as the name of the
/// interface in the container (moby `libnetwork/netlabel` `EndpointIfname`).
pub const IFNAME_OPTION: &str = "com.docker.network.endpoint.ifname";

/// The interface name asked for where the engine takes [`IFNAME_OPTION`].
pub const IFNAME: &str = "ethwe";

/// The first Engine API version that honours [`IFNAME_OPTION`] (Engine 28.0); older
/// engines accept the option and ignore it (measured on 20.10: the interface is `ethN`).
pub const IFNAME_API: (u32, u32) = (1, 48);

/// The waiter's interface variable, and the value the rewrite gives it for this backend:
/// the interface is found by its address (docs/design.md §2).
pub const ENV_IFACE: (&str, &str) = ("WAIT_FOR_WEAVE_IFACE", "any");

/// The waiter's default-subnet variable: what `net:default` and an empty `WEAVE_CIDR` wait
/// for (an IPv4 address inside one of these subnets).
pub const ENV_DEFAULT_SUBNET: &str = "WAIT_FOR_WEAVE_DEFAULT_SUBNET";

/// One IPv4 pool of a network's IPAM config (`IPAM.Config[]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    /// `Subnet`.
    pub subnet: Ipv4Cidr,
    /// `IPRange`, the part of the subnet Docker allocates from; `None`: the whole subnet.
    pub range: Option<Ipv4Cidr>,
    /// `Gateway`, an address no container gets.
    pub gateway: Option<Ipv4Addr>,
}

impl Pool {
    /// The pool of one `IPAM.Config[]` entry, from its `Subnet`, `IPRange` and `Gateway`
    /// strings; `None` when the subnet is not IPv4 (an IPv6 pool) or not a subnet. A range
    /// or gateway that does not parse is left out.
    pub fn parse(subnet: &str, range: Option<&str>, gateway: Option<&str>) -> Option<Pool> {
        let subnet = weave_cidr::parse_subnet(subnet).ok()?;
        Some(Pool {
            subnet,
            range: range
                .filter(|r| !r.is_empty())
                .and_then(|r| weave_cidr::parse_subnet(r).ok()),
            gateway: gateway.and_then(|g| g.parse().ok()),
        })
    }

    /// What Docker allocates from: the range, else the subnet.
    pub fn allocates_from(&self) -> Ipv4Cidr {
        self.range.unwrap_or(self.subnet)
    }
}

/// What the create decision and the backend read of a Docker network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkFacts {
    /// The name as Docker reports it.
    pub name: String,
    /// Its IPv4 pools, in Docker's order.
    pub pools: Vec<Pool>,
    /// `Scope`: `swarm` for a swarm's overlay (the manager allocates, in turn, so an
    /// address released is not handed out again at once), `local` for a network of this
    /// daemon (its IPAM hands out the lowest free address).
    pub scope: String,
}

impl NetworkFacts {
    /// True when the daemon's own IPAM allocates (`Scope` other than `swarm`): an address
    /// released is handed out again at once.
    pub fn reuses_at_once(&self) -> bool {
        self.scope != "swarm"
    }

    /// The IPv4 subnets, in order.
    pub fn subnets(&self) -> Vec<Ipv4Cidr> {
        self.pools.iter().map(|p| p.subnet).collect()
    }
}

/// What the inspect of the backend's network found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkLookup {
    /// The network and its pools.
    Found(NetworkFacts),
    /// 404: no such network on this daemon, not even after a probe (§10).
    Missing,
    /// Any other failure, in words.
    Failed(String),
}

/// The address a container is to get on the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    /// Exactly this address, with this prefix.
    Exact(Ipv4Cidr),
    /// Whatever Docker's IPAM allocates, inside `S` for `net:S`; `None` for a default
    /// allocation (empty `WEAVE_CIDR`, `net:default`): inside one of the network's subnets.
    Allocate(Option<Ipv4Cidr>),
}

impl fmt::Display for Want {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Want::Exact(c) => write!(f, "{c}"),
            Want::Allocate(Some(s)) => write!(f, "an address in {s}"),
            Want::Allocate(None) => f.write_str("an allocated address"),
        }
    }
}

/// Why a `WEAVE_CIDR` cannot be had from a network. Displays naming the network, the item
/// and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unfit {
    /// More than one item: a network gives a container one address.
    #[error(
        "WEAVE_CIDR {} has {count} items, and network {network} gives a container one \
         address: keep one item",
        quote(value)
    )]
    SeveralItems {
        /// The value as written.
        value: String,
        /// How many items it has.
        count: usize,
        /// The network's name.
        network: String,
    },
    /// The item lies outside the network's subnets, or asks for another prefix.
    #[error("WEAVE_CIDR on network {network}: {source}")]
    Misplaced {
        /// The network's name.
        network: String,
        /// Where it does not fit, and the fix.
        source: Misplaced,
    },
    /// The exact address is the network's gateway.
    #[error(
        "WEAVE_CIDR on network {network}: item \"{item}\" is the gateway of {subnet}; give \
         another address"
    )]
    Gateway {
        /// The network's name.
        network: String,
        /// The address and prefix asked for.
        item: Ipv4Cidr,
        /// The subnet it is the gateway of.
        subnet: Ipv4Cidr,
    },
    /// `net:S` where Docker allocates from outside S.
    #[error(
        "WEAVE_CIDR on network {network}: item \"net:{inside}\": Docker allocates from {}, \
         not only inside {inside}, and cannot be told a narrower range; write net:{wider} \
         (or net:default), an exact address inside {inside}, or create the network with \
         --ip-range {inside}",
        list(ranges)
    )]
    NarrowerThanRange {
        /// The network's name.
        network: String,
        /// S.
        inside: Ipv4Cidr,
        /// Where Docker allocates from (each pool's range or subnet).
        ranges: Vec<Ipv4Cidr>,
        /// The subnet holding S, the one to write instead.
        wider: Ipv4Cidr,
    },
}

fn list(cidrs: &[Ipv4Cidr]) -> String {
    let words: Vec<String> = cidrs.iter().map(ToString::to_string).collect();
    words.join(", ")
}

/// What `items` (the parsed `WEAVE_CIDR` `value`) ask of a network, before it is known:
/// the one item's [`Want`].
///
/// Errors: [`Unfit::SeveralItems`]; `network` names the network in it.
pub fn want_of(value: &str, items: &[CidrItem], network: &str) -> Result<Want, Unfit> {
    match items {
        [] | [CidrItem::NetDefault] => Ok(Want::Allocate(None)),
        [CidrItem::Net(s)] => Ok(Want::Allocate(Some(*s))),
        [CidrItem::Ip(c)] => Ok(Want::Exact(*c)),
        _ => Err(Unfit::SeveralItems {
            value: value.to_string(),
            count: items.len(),
            network: network.to_string(),
        }),
    }
}

/// What `items` get from `network`: [`want_of`], checked against the network's pools (the
/// rules of the module doc).
///
/// Errors: an [`Unfit`] naming the item, the network's subnets and the fix.
pub fn fit(value: &str, items: &[CidrItem], network: &NetworkFacts) -> Result<Want, Unfit> {
    let want = want_of(value, items, &network.name)?;
    let subnets = network.subnets();
    let misplaced = |source| Unfit::Misplaced {
        network: network.name.clone(),
        source,
    };
    let item = match &want {
        Want::Exact(c) => CidrItem::Ip(*c),
        Want::Allocate(Some(s)) => CidrItem::Net(*s),
        Want::Allocate(None) => CidrItem::NetDefault,
    };
    let holding = item.place_in(&subnets).map_err(misplaced)?;
    match want {
        Want::Exact(c) => {
            let gateway = network
                .pools
                .iter()
                .find(|p| p.subnet == holding && p.gateway == Some(c.addr));
            if let Some(pool) = gateway {
                return Err(Unfit::Gateway {
                    network: network.name.clone(),
                    item: c,
                    subnet: pool.subnet,
                });
            }
        }
        Want::Allocate(Some(s)) => {
            let ranges: Vec<Ipv4Cidr> = network.pools.iter().map(Pool::allocates_from).collect();
            if !ranges.iter().all(|r| s.covers(r)) {
                return Err(Unfit::NarrowerThanRange {
                    network: network.name.clone(),
                    inside: s,
                    ranges,
                    wider: holding,
                });
            }
        }
        Want::Allocate(None) => {}
    }
    Ok(want)
}

/// The environment entries the rewrite adds for this backend (each only where the create
/// has no entry of that name: the user's own wins): the waiter finds its interface by
/// address, and a default allocation waits for an address inside the network's subnets
/// (known only when `want` and `network` are).
pub fn waiter_env(
    want: Option<&Want>,
    network: Option<&NetworkFacts>,
) -> Vec<(&'static str, String)> {
    let mut env = vec![(ENV_IFACE.0, ENV_IFACE.1.to_string())];
    if let (Some(Want::Allocate(None)), Some(net)) = (want, network) {
        env.push((ENV_DEFAULT_SUBNET, list(&net.subnets()).replace(", ", " ")));
    }
    env
}

/// True when an engine whose API version is `api` (`"1.48"`, from `GET /version`) names
/// the interface after [`IFNAME_OPTION`]. An unreadable version counts as older.
pub fn takes_ifname(api: &str) -> bool {
    let mut parts = api.trim().split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= IFNAME_API,
        _ => false,
    }
}

/// True when an endpoint carrying `got` (address and prefix, as Docker reports it) meets
/// `want`; `subnets` are the network's, for a default allocation (empty: not known, any
/// address meets it).
pub fn meets(want: &Want, got: Ipv4Cidr, subnets: &[Ipv4Cidr]) -> bool {
    match want {
        Want::Exact(c) => *c == got,
        Want::Allocate(Some(s)) => s.contains(got.addr),
        Want::Allocate(None) => subnets.is_empty() || subnets.iter().any(|s| s.contains(got.addr)),
    }
}

/// What the backend does with a running container, from what Docker reports of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// It has what was asked: Docker attached it at its start (a restart keeps the
    /// network), or another attach of it came first. Nothing is connected twice.
    Done,
    /// Paused with its app running: someone else's pause, left alone.
    LeaveAlone,
    /// Connect with this exact address.
    Connect(Ipv4Cidr),
    /// Let Docker allocate, then pin what it gave, with the container paused meanwhile.
    Allocate,
    /// Paused, still waiting, with an address the network gave: an allocation cut short
    /// (the adapter stopped between its steps). Pin that address.
    Repin(Ipv4Cidr),
    /// On the network with another address than asked.
    Conflict(Ipv4Cidr),
}

/// The [`Step`] for a container that asks `want`, has `address` on the network (`None`:
/// no endpoint there), is `paused` or not, and (when paused) whose only process is still
/// the waiter (`waiting`); `subnets` are the network's (empty when not known).
pub fn step(
    want: &Want,
    address: Option<Ipv4Cidr>,
    paused: bool,
    waiting: bool,
    subnets: &[Ipv4Cidr],
) -> Step {
    if paused && !waiting {
        return Step::LeaveAlone;
    }
    match (want, address) {
        (_, Some(got)) if !meets(want, got, subnets) => Step::Conflict(got),
        (Want::Allocate(_), Some(got)) if paused => Step::Repin(got),
        (_, Some(_)) => Step::Done,
        (Want::Exact(c), None) => Step::Connect(*c),
        (Want::Allocate(_), None) => Step::Allocate,
    }
}

#[cfg(test)]
mod tests;
