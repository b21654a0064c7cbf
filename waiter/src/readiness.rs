//! The readiness model: a state table of links and addresses keyed by ifindex, fed by
//! link and address events, answering "is the interface ready?". Pure: no I/O.
//!
//! Ready (DESIGN §2) means: the dumps of links and addresses have completed, and a link
//! with the awaited name exists, has `IFF_UP`, and carries at least one usable IPv4
//! address, or, when addresses are expected, every expected address (address and prefix
//! length). An address is usable unless it is tentative or DAD-failed; IPv6 link-local
//! addresses (fe80::/10) never count.
//!
//! Dump replies and notifications are fed alike: the kernel's `RTM_NEWLINK` says "this link
//! exists now, with these flags and this name", whatever caused it. Events can arrive in
//! any order: an address may be reported before its link, a link may be created under a
//! temporary name and renamed, deleted and re-created with a new ifindex.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

/// `IFF_UP` in `ifinfomsg.ifi_flags` (linux/if.h): the link is administratively up.
pub const IFF_UP: u32 = 0x1;
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

impl From<crate::cidr::Ipv4Cidr> for IfAddr {
    fn from(c: crate::cidr::Ipv4Cidr) -> Self {
        IfAddr {
            addr: IpAddr::V4(c.addr),
            prefix: c.prefix,
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
        /// `ifi_flags` (`IFF_UP` …).
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

#[derive(Debug, Clone, Default)]
struct Link {
    name: Vec<u8>,
    flags: u32,
}

/// The state table and the readiness rule. Build with [`Readiness::new`], feed every event
/// with [`Readiness::link`] / [`Readiness::addr`], call [`Readiness::synced`] once the
/// link and address dumps have completed and [`Readiness::reset`] when events were lost.
#[derive(Debug, Clone)]
pub struct Readiness {
    iface: Vec<u8>,
    expected: Vec<IfAddr>,
    links: BTreeMap<u32, Link>,
    // Kept apart from `links`: an address may be reported before its link.
    addrs: BTreeMap<u32, BTreeMap<IfAddr, u32>>,
    synced: bool,
}

impl Readiness {
    /// A table awaiting the link named `iface` (e.g. `ethwe`) with every address of
    /// `expected` (none = any usable IPv4 address). Starts empty and not synced.
    pub fn new(iface: &str, expected: Vec<IfAddr>) -> Self {
        Readiness {
            iface: iface.as_bytes().to_vec(),
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

    /// True when the awaited link is ready (see the module documentation).
    pub fn is_ready(&self) -> bool {
        self.ready_addrs().is_some()
    }

    /// The usable addresses of the ready link (all of them, sorted), or `None` when it is
    /// not ready.
    pub fn ready_addrs(&self) -> Option<Vec<IfAddr>> {
        if !self.synced {
            return None;
        }
        self.links
            .iter()
            .filter(|(_, link)| link.name == self.iface && link.flags & IFF_UP != 0)
            .find_map(|(index, _)| {
                let usable: Vec<IfAddr> = self
                    .addrs
                    .get(index)
                    .into_iter()
                    .flatten()
                    .filter(|(addr, flags)| usable(addr, **flags))
                    .map(|(addr, _)| *addr)
                    .collect();
                let ready = if self.expected.is_empty() {
                    usable.iter().any(|a| a.addr.is_ipv4())
                } else {
                    self.expected.iter().all(|e| usable.contains(e))
                };
                ready.then_some(usable)
            })
    }
}

fn usable(addr: &IfAddr, flags: u32) -> bool {
    flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED) == 0 && !addr.is_ipv6_link_local()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETHWE: &[u8] = b"ethwe";

    fn a(s: &str) -> IfAddr {
        let (addr, prefix) = s.split_once('/').unwrap();
        IfAddr {
            addr: addr.parse().unwrap(),
            prefix: prefix.parse().unwrap(),
        }
    }

    fn new_link(index: u32, name: &[u8], flags: u32) -> LinkEvent {
        LinkEvent::New {
            index,
            name: Some(name.to_vec()),
            flags,
        }
    }

    fn new_addr(index: u32, addr: &str) -> AddrEvent {
        new_addr_flags(index, addr, 0)
    }

    fn new_addr_flags(index: u32, addr: &str, flags: u32) -> AddrEvent {
        AddrEvent::New {
            index,
            addr: a(addr),
            flags,
        }
    }

    /// A table that has seen the dumps of an empty namespace (only `lo`).
    fn synced(expected: &[&str]) -> Readiness {
        let mut r = Readiness::new("ethwe", expected.iter().map(|s| a(s)).collect());
        r.link(new_link(1, b"lo", IFF_UP));
        r.addr(new_addr(1, "127.0.0.1/8"));
        r.synced();
        r
    }

    #[test]
    fn link_up_before_address() {
        let mut r = synced(&[]);
        r.link(new_link(7, ETHWE, IFF_UP));
        assert!(!r.is_ready());
        r.addr(new_addr(7, "10.255.0.51/24"));
        assert!(r.is_ready());
        assert_eq!(r.ready_addrs(), Some(vec![a("10.255.0.51/24")]));
    }

    #[test]
    fn address_before_link() {
        let mut r = synced(&[]);
        r.addr(new_addr(7, "10.255.0.51/24"));
        assert!(!r.is_ready());
        r.link(new_link(7, ETHWE, 0));
        assert!(!r.is_ready());
        r.link(new_link(7, ETHWE, IFF_UP));
        assert!(r.is_ready());
    }

    #[test]
    fn created_under_another_name_then_renamed() {
        let mut r = synced(&["10.255.0.51/24"]);
        r.link(new_link(9, b"vethwepl123", 0));
        r.addr(new_addr(9, "10.255.0.51/24"));
        r.link(new_link(9, b"vethwepl123", IFF_UP));
        assert!(!r.is_ready(), "right address and up, but wrong name");
        r.link(new_link(9, ETHWE, IFF_UP));
        assert!(r.is_ready());
        // A notification without IFLA_IFNAME keeps the name it had.
        r.link(LinkEvent::New {
            index: 9,
            name: None,
            flags: IFF_UP,
        });
        assert!(r.is_ready());
        // Renamed away again: no longer the awaited link.
        r.link(new_link(9, b"other", IFF_UP));
        assert!(!r.is_ready());
    }

    #[test]
    fn deleted_and_recreated_with_a_new_ifindex() {
        let mut r = synced(&[]);
        r.link(new_link(7, ETHWE, 0));
        r.addr(new_addr(7, "10.255.0.51/24"));
        r.link(LinkEvent::Del { index: 7 });
        // The old link's addresses went with it: the new link is up but bare.
        r.link(new_link(8, ETHWE, IFF_UP));
        assert!(!r.is_ready());
        // A late event for the old ifindex does not count for the new link.
        r.addr(new_addr(7, "10.255.0.52/24"));
        assert!(!r.is_ready());
        r.addr(new_addr(8, "10.255.0.51/24"));
        assert!(r.is_ready());
        r.link(LinkEvent::Del { index: 8 });
        assert!(!r.is_ready());
    }

    #[test]
    fn down_with_an_address_is_not_ready() {
        let mut r = synced(&[]);
        r.link(new_link(7, ETHWE, 0));
        r.addr(new_addr(7, "10.255.0.51/24"));
        assert!(!r.is_ready());
        r.link(new_link(7, ETHWE, IFF_UP));
        assert!(r.is_ready());
        r.link(new_link(7, ETHWE, 0));
        assert!(!r.is_ready(), "set down again");
    }

    #[test]
    fn ipv6_alone_does_not_make_any_ipv4_ready() {
        let mut r = synced(&[]);
        r.link(new_link(7, ETHWE, IFF_UP));
        r.addr(new_addr(7, "fd00::51/64"));
        r.addr(new_addr(7, "fe80::1/64"));
        assert!(!r.is_ready());
        r.addr(new_addr(7, "10.255.0.51/24"));
        assert_eq!(
            r.ready_addrs(),
            Some(vec![a("10.255.0.51/24"), a("fd00::51/64")]),
            "link-local is never listed"
        );
    }

    #[test]
    fn ipv6_link_local_and_tentative_addresses_are_ignored() {
        let mut r = synced(&["fd00::51/64", "fe80::51/64"]);
        r.link(new_link(7, ETHWE, IFF_UP));
        r.addr(new_addr(7, "fe80::51/64"));
        r.addr(new_addr_flags(7, "fd00::51/64", IFA_F_TENTATIVE));
        assert!(!r.is_ready(), "tentative");
        r.addr(new_addr(7, "fd00::51/64"));
        assert!(!r.is_ready(), "a link-local address never counts");

        let mut r = synced(&["fd00::51/64"]);
        r.link(new_link(7, ETHWE, IFF_UP));
        r.addr(new_addr_flags(7, "fd00::51/64", IFA_F_TENTATIVE));
        assert!(!r.is_ready());
        r.addr(new_addr_flags(
            7,
            "fd00::51/64",
            IFA_F_DADFAILED | IFA_F_TENTATIVE,
        ));
        assert!(!r.is_ready(), "DAD failed");
        r.addr(new_addr_flags(
            7,
            "fd00::51/64",
            0x80, /* IFA_F_PERMANENT */
        ));
        assert!(r.is_ready(), "DAD done, other flags do not matter");
    }

    #[test]
    fn every_expected_address_with_its_prefix() {
        let mut r = synced(&["10.255.0.51/24", "10.9.0.1/16"]);
        r.link(new_link(7, ETHWE, IFF_UP));
        r.addr(new_addr(7, "10.255.0.51/24"));
        assert!(!r.is_ready(), "one of two");
        r.addr(new_addr(7, "10.9.0.1/24"));
        assert!(!r.is_ready(), "right address, wrong prefix");
        r.addr(new_addr(7, "10.9.0.1/16"));
        assert!(r.is_ready());
        r.addr(new_addr(7, "192.168.1.1/24"));
        assert!(r.is_ready(), "extra addresses do not matter");
        r.addr(AddrEvent::Del {
            index: 7,
            addr: a("10.255.0.51/24"),
        });
        assert!(!r.is_ready(), "one was removed");
    }

    #[test]
    fn expected_address_on_another_link_does_not_count() {
        let mut r = synced(&["10.255.0.51/24"]);
        r.link(new_link(7, ETHWE, IFF_UP));
        r.link(new_link(8, b"eth0", IFF_UP));
        r.addr(new_addr(8, "10.255.0.51/24"));
        assert!(!r.is_ready());
        r.addr(new_addr(7, "10.255.0.51/24"));
        assert!(r.is_ready());
    }

    #[test]
    fn other_interface_names_never_count() {
        let mut r = Readiness::new("weave0", vec![]);
        r.link(new_link(7, ETHWE, IFF_UP));
        r.addr(new_addr(7, "10.255.0.51/24"));
        r.link(new_link(8, b"weave0", IFF_UP));
        r.synced();
        assert!(!r.is_ready());
        r.addr(new_addr(8, "10.0.0.1/8"));
        assert!(r.is_ready());
    }

    #[test]
    fn not_ready_before_the_dumps_complete() {
        let mut r = Readiness::new("ethwe", vec![]);
        r.link(new_link(7, ETHWE, IFF_UP));
        r.addr(new_addr(7, "10.255.0.51/24"));
        assert!(!r.is_ready());
        r.synced();
        assert!(r.is_ready());
    }

    #[test]
    fn resync_after_overflow() {
        let mut r = synced(&[]);
        r.link(new_link(7, ETHWE, IFF_UP));
        r.addr(new_addr(7, "10.255.0.51/24"));
        assert!(r.is_ready());

        // Events were lost: whatever we knew may be stale.
        r.reset();
        assert!(!r.is_ready());
        // The re-dump finds the link still there, but the address gone.
        r.link(new_link(1, b"lo", IFF_UP));
        r.link(new_link(7, ETHWE, IFF_UP));
        r.synced();
        assert!(
            !r.is_ready(),
            "the address lost in the overflow is not kept"
        );
        r.addr(new_addr(7, "10.255.0.51/24"));
        assert!(r.is_ready());

        // An overflow while a re-dump shows the link deleted meanwhile.
        r.reset();
        r.link(new_link(1, b"lo", IFF_UP));
        r.synced();
        assert!(!r.is_ready());
    }

    #[test]
    fn deleting_an_unknown_address_or_link_is_harmless() {
        let mut r = synced(&[]);
        r.addr(AddrEvent::Del {
            index: 42,
            addr: a("10.0.0.1/8"),
        });
        r.link(LinkEvent::Del { index: 42 });
        r.link(new_link(7, ETHWE, IFF_UP));
        r.addr(new_addr(7, "10.0.0.1/8"));
        assert!(r.is_ready());
    }

    #[test]
    fn ipv6_link_local_range() {
        assert!(a("fe80::1/64").is_ipv6_link_local());
        assert!(a("febf::1/64").is_ipv6_link_local());
        assert!(!a("fec0::1/64").is_ipv6_link_local());
        assert!(!a("169.254.1.1/16").is_ipv6_link_local());
    }
}
