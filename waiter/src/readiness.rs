//! The readiness model: a state table of links and addresses keyed by ifindex, fed by
//! link and address events, answering "may the command run?". Pure: no I/O.
//!
//! # The rule
//!
//! Nothing is ready before the dumps of links and addresses have completed. Then, with
//! *usable* meaning neither tentative nor DAD-failed, and never an IPv6 link-local address
//! (fe80::/10, which the kernel gives every link):
//!
//! - Each [`Expect`] is met by one usable address: [`Expect::Addr`] by exactly that address
//!   with that prefix length (an exact `WEAVE_CIDR` item, `--addr`); [`Expect::Ipv4In`] by
//!   an IPv4 address inside one of its subnets, whatever its prefix length (a `net:S` item:
//!   a network gives the address its own prefix, e.g. `10.255.0.6/16` for `net:10.255.0.0/24`
//!   on a /16 network); [`Expect::AnyIpv4`] by any IPv4 address (`net:default`, an empty
//!   `WEAVE_CIDR`). No expectation at all means one [`Expect::AnyIpv4`].
//! - One address may meet several expectations: allocators give a container one address per
//!   subnet (Weave's IPAM returns the address a container already has in a subnet; a Docker
//!   network endpoint has one IPv4 address), so insisting on distinct addresses could wait
//!   forever for a second one that never comes.
//! - [`Iface::Named`]: ready when a link with that name has `IFF_UP` and its own usable
//!   addresses meet every expectation. The named link is the one being attached, so
//!   addresses elsewhere do not count; a named loopback counts like any other link.
//! - [`Iface::Any`]: ready when every expectation is met on some link that has `IFF_UP` and
//!   is not loopback (`IFF_LOOPBACK`), whatever its name; different expectations may be met
//!   on different links. A container gets one interface per network (Docker names them
//!   `eth0`, `eth1`, … in connect order), so addresses asked on two networks sit on two
//!   links: requiring one link would wait forever, while an address on an up link is there
//!   to be used. Loopback never counts: its addresses reach nothing outside.
//!
//! With [`Iface::Any`], [`Expect::AnyIpv4`] is met at once by an interface that was there
//! before anything was attached (Docker's `eth0`), which nothing in a namespace tells apart
//! from the one being attached (a restarted container finds its attached link already
//! there too). So the command line refuses that combination, and asks for the subnet the
//! default allocation comes from (`--default-subnet`), which makes it an
//! [`Expect::Ipv4In`]; the rule here stays total.
//!
//! Dump replies and notifications are fed alike: the kernel's `RTM_NEWLINK` says "this link
//! exists now, with these flags and this name", whatever caused it. Events can arrive in
//! any order: an address may be reported before its link, a link may be created under a
//! temporary name and renamed, deleted and re-created with a new ifindex.
//!
//! When the wait times out, [`Readiness::explain`] says what is missing, per expectation,
//! and the state of the links.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use crate::cidr::Ipv4Cidr;

mod explain;
#[cfg(test)]
mod tests;

/// `IFF_UP` in `ifinfomsg.ifi_flags` (linux/if.h): the link is administratively up.
pub const IFF_UP: u32 = 0x1;
/// `IFF_LOOPBACK` in `ifinfomsg.ifi_flags` (linux/if.h): a loopback link (`lo`).
pub const IFF_LOOPBACK: u32 = 0x8;
/// `IFA_F_DADFAILED` (linux/if_addr.h): duplicate address detection failed; never usable.
pub const IFA_F_DADFAILED: u32 = 0x08;
/// `IFA_F_TENTATIVE` (linux/if_addr.h): duplicate address detection still running.
pub const IFA_F_TENTATIVE: u32 = 0x40;

/// An interface address with its prefix length, e.g. `10.255.0.51/24` or `fd00::1/64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IfAddr {
    /// The local address (`IFA_LOCAL`, or `IFA_ADDRESS` when there is no `IFA_LOCAL`).
    pub addr: IpAddr,
    /// Prefix length in bits (`ifa_prefixlen`): 0..=32 for IPv4, 0..=128 for IPv6.
    pub prefix: u8,
}

impl IfAddr {
    /// True for IPv6 link-local addresses (fe80::/10), which never make a link ready.
    pub fn is_ipv6_link_local(&self) -> bool {
        matches!(self.addr, IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80)
    }
}

impl fmt::Display for IfAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl From<Ipv4Cidr> for IfAddr {
    fn from(c: Ipv4Cidr) -> Self {
        IfAddr {
            addr: IpAddr::V4(c.addr),
            prefix: c.prefix,
        }
    }
}

/// Which links count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Iface {
    /// The link with this name (`--iface ethwe`, 1 to 15 bytes).
    Named(String),
    /// Any link that is up and not loopback (`--iface any`).
    Any,
}

impl fmt::Display for Iface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Iface::Named(name) => f.write_str(name),
            Iface::Any => f.write_str("any"),
        }
    }
}

/// One thing the links must carry; see the module documentation for when it is met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// This exact address with this prefix length.
    Addr(IfAddr),
    /// An IPv4 address inside one of these subnets (at least one), any prefix length.
    Ipv4In(Vec<Ipv4Cidr>),
    /// Any IPv4 address.
    AnyIpv4,
}

impl Expect {
    /// True when the usable address `a` meets this expectation.
    pub fn met_by(&self, a: &IfAddr) -> bool {
        match (self, a.addr) {
            (Expect::Addr(e), _) => e == a,
            (Expect::Ipv4In(subnets), IpAddr::V4(v4)) => subnets.iter().any(|s| s.contains(v4)),
            (Expect::AnyIpv4, IpAddr::V4(_)) => true,
            _ => false,
        }
    }
}

/// A link event: an `RTM_NEWLINK` or `RTM_DELLINK`, from a dump reply or a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    /// `RTM_NEWLINK`: link `index` exists with these `ifi_flags` and, when the message
    /// carries `IFLA_IFNAME`, this name (raw bytes, no NUL). A new name is a rename.
    New {
        /// `ifi_index`.
        index: u32,
        /// `IFLA_IFNAME`, when present.
        name: Option<Vec<u8>>,
        /// `ifi_flags` (`IFF_UP`, `IFF_LOOPBACK` …).
        flags: u32,
    },
    /// `RTM_DELLINK`: link `index` is gone (deleted, or moved to another namespace), and
    /// its addresses with it.
    Del {
        /// `ifi_index`.
        index: u32,
    },
}

/// An address event: an `RTM_NEWADDR` or `RTM_DELADDR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrEvent {
    /// `RTM_NEWADDR`: `addr` is on link `index` with these flags (`IFA_FLAGS` when present,
    /// else `ifa_flags`). Repeated for the same address when its flags change (DAD done).
    New {
        /// `ifa_index`.
        index: u32,
        /// The address and its prefix length.
        addr: IfAddr,
        /// `IFA_F_*` flags.
        flags: u32,
    },
    /// `RTM_DELADDR`: `addr` was removed from link `index`.
    Del {
        /// `ifa_index`.
        index: u32,
        /// The address and its prefix length.
        addr: IfAddr,
    },
}

/// What made the table ready: the links whose addresses met the expectations, and their
/// usable addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    /// Names of the links, by ifindex (one for [`Iface::Named`]).
    pub links: Vec<String>,
    /// Every usable address of those links, sorted.
    pub addrs: Vec<IfAddr>,
}

#[derive(Debug, Clone, Default)]
struct Link {
    name: Vec<u8>,
    flags: u32,
}

impl Link {
    fn is_up(&self) -> bool {
        self.flags & IFF_UP != 0
    }

    fn is_loopback(&self) -> bool {
        self.flags & IFF_LOOPBACK != 0
    }

    fn name(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// The state table and the readiness rule. Build with [`Readiness::new`], feed every event
/// with [`Readiness::link`] / [`Readiness::addr`], call [`Readiness::synced`] once the
/// link and address dumps have completed and [`Readiness::reset`] when events were lost.
#[derive(Debug, Clone)]
pub struct Readiness {
    iface: Iface,
    expected: Vec<Expect>,
    links: BTreeMap<u32, Link>,
    // Kept apart from `links`: an address may be reported before its link.
    addrs: BTreeMap<u32, BTreeMap<IfAddr, u32>>,
    synced: bool,
}

impl Readiness {
    /// A table awaiting `iface` with every expectation of `expected` (none = one
    /// [`Expect::AnyIpv4`]). Starts empty and not synced.
    pub fn new(iface: Iface, expected: Vec<Expect>) -> Self {
        let expected = if expected.is_empty() {
            vec![Expect::AnyIpv4]
        } else {
            expected
        };
        Readiness {
            iface,
            expected,
            links: BTreeMap::new(),
            addrs: BTreeMap::new(),
            synced: false,
        }
    }

    /// Applies one link event.
    pub fn link(&mut self, event: LinkEvent) {
        match event {
            LinkEvent::New { index, name, flags } => {
                let link = self.links.entry(index).or_default();
                link.flags = flags;
                if let Some(name) = name {
                    link.name = name;
                }
            }
            LinkEvent::Del { index } => {
                self.links.remove(&index);
                self.addrs.remove(&index);
            }
        }
    }

    /// Applies one address event.
    pub fn addr(&mut self, event: AddrEvent) {
        match event {
            AddrEvent::New { index, addr, flags } => {
                self.addrs.entry(index).or_default().insert(addr, flags);
            }
            AddrEvent::Del { index, addr } => {
                if let Some(set) = self.addrs.get_mut(&index) {
                    set.remove(&addr);
                    if set.is_empty() {
                        self.addrs.remove(&index);
                    }
                }
            }
        }
    }

    /// Marks the link and address dumps as complete: from now on the table is the truth.
    pub fn synced(&mut self) {
        self.synced = true;
    }

    /// Drops every link and address and forgets that the dumps completed, after events were
    /// lost (`ENOBUFS`): the caller dumps again and calls [`Readiness::synced`] when done.
    pub fn reset(&mut self) {
        self.links.clear();
        self.addrs.clear();
        self.synced = false;
    }

    /// True when ready (see the module documentation).
    pub fn is_ready(&self) -> bool {
        self.ready().is_some()
    }

    /// The links and addresses that make the table ready, or `None` when it is not.
    pub fn ready(&self) -> Option<Ready> {
        if !self.synced {
            return None;
        }
        let chosen: Vec<u32> = match &self.iface {
            Iface::Named(name) => {
                let index = self.links.iter().find_map(|(&index, link)| {
                    let counts = link.name == name.as_bytes() && link.is_up();
                    (counts && self.expected.iter().all(|e| self.met_on(e, index))).then_some(index)
                })?;
                vec![index]
            }
            Iface::Any => {
                let mut chosen = Vec::new();
                for e in &self.expected {
                    let (&index, _) = self.links.iter().find(|(&index, link)| {
                        link.is_up() && !link.is_loopback() && self.met_on(e, index)
                    })?;
                    if !chosen.contains(&index) {
                        chosen.push(index);
                    }
                }
                // In ifindex order. (Not `sort`: each sort instance costs KBs of binary.)
                (self.links.keys())
                    .filter(|i| chosen.contains(i))
                    .copied()
                    .collect()
            }
        };
        let mut addrs: Vec<IfAddr> = Vec::new();
        for a in chosen.iter().flat_map(|&i| self.usable(i)) {
            if let Err(at) = addrs.binary_search(&a) {
                addrs.insert(at, a);
            }
        }
        Some(Ready {
            links: chosen.iter().map(|i| self.links[i].name()).collect(),
            addrs,
        })
    }

    /// The usable addresses of link `index`, sorted.
    fn usable(&self, index: u32) -> impl Iterator<Item = IfAddr> + '_ {
        self.addrs
            .get(&index)
            .into_iter()
            .flatten()
            .filter(|(addr, flags)| usable(addr, **flags))
            .map(|(addr, _)| *addr)
    }

    /// True when a usable address of link `index` meets `e`.
    fn met_on(&self, e: &Expect, index: u32) -> bool {
        self.usable(index).any(|a| e.met_by(&a))
    }
}

fn usable(addr: &IfAddr, flags: u32) -> bool {
    flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED) == 0 && !addr.is_ipv6_link_local()
}
