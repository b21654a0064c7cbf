use super::*;
use crate::cidr::parse_subnet;

const ETHWE: &[u8] = b"ethwe";
const LO: u32 = IFF_UP | IFF_LOOPBACK;

fn a(s: &str) -> IfAddr {
    let (addr, prefix) = s.split_once('/').unwrap();
    IfAddr {
        addr: addr.parse().unwrap(),
        prefix: prefix.parse().unwrap(),
    }
}

fn exact(list: &[&str]) -> Vec<Expect> {
    list.iter().map(|s| Expect::Addr(a(s))).collect()
}

fn inside(subnets: &[&str]) -> Expect {
    Expect::Ipv4In(subnets.iter().map(|s| parse_subnet(s).unwrap()).collect())
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

fn del_addr(index: u32, addr: &str) -> AddrEvent {
    AddrEvent::Del {
        index,
        addr: a(addr),
    }
}

/// A table for `iface` that has seen the dumps of a namespace holding only `lo`.
fn synced_for(iface: Iface, expected: Vec<Expect>) -> Readiness {
    let mut r = Readiness::new(iface, expected);
    r.link(new_link(1, b"lo", LO));
    r.addr(new_addr(1, "127.0.0.1/8"));
    r.synced();
    r
}

/// The same awaiting ethwe with these exact addresses.
fn synced(expected: &[&str]) -> Readiness {
    synced_for(Iface::Named("ethwe".into()), exact(expected))
}

/// The same awaiting any link; Docker's eth0 (ifindex 2) is up with 172.17.0.2/16.
fn synced_any(expected: Vec<Expect>) -> Readiness {
    let mut r = synced_for(Iface::Any, expected);
    r.link(new_link(2, b"eth0", IFF_UP));
    r.addr(new_addr(2, "172.17.0.2/16"));
    r
}

#[test]
fn link_up_before_address() {
    let mut r = synced(&[]);
    r.link(new_link(7, ETHWE, IFF_UP));
    assert!(!r.is_ready());
    r.addr(new_addr(7, "10.255.0.51/24"));
    assert_eq!(
        r.ready(),
        Some(Ready {
            links: vec!["ethwe".into()],
            addrs: vec![a("10.255.0.51/24")]
        })
    );
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
        r.ready().unwrap().addrs,
        vec![a("10.255.0.51/24"), a("fd00::51/64")],
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
    r.addr(del_addr(7, "10.255.0.51/24"));
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
    let mut r = Readiness::new(Iface::Named("weave0".into()), vec![]);
    r.link(new_link(7, ETHWE, IFF_UP));
    r.addr(new_addr(7, "10.255.0.51/24"));
    r.link(new_link(8, b"weave0", IFF_UP));
    r.synced();
    assert!(!r.is_ready());
    r.addr(new_addr(8, "10.0.0.1/8"));
    assert!(r.is_ready());
}

#[test]
fn a_named_loopback_counts() {
    let r = synced_for(Iface::Named("lo".into()), vec![]);
    assert_eq!(r.ready().unwrap().links, ["lo"]);
}

#[test]
fn not_ready_before_the_dumps_complete() {
    for iface in [Iface::Named("ethwe".into()), Iface::Any] {
        let mut r = Readiness::new(iface, exact(&["10.255.0.51/24"]));
        r.link(new_link(7, ETHWE, IFF_UP));
        r.addr(new_addr(7, "10.255.0.51/24"));
        assert!(!r.is_ready());
        r.synced();
        assert!(r.is_ready());
    }
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
    r.link(new_link(1, b"lo", LO));
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
    r.link(new_link(1, b"lo", LO));
    r.synced();
    assert!(!r.is_ready());
}

#[test]
fn deleting_an_unknown_address_or_link_is_harmless() {
    let mut r = synced(&[]);
    r.addr(del_addr(42, "10.0.0.1/8"));
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

// net:S items.

#[test]
fn a_subnet_is_met_by_an_ipv4_address_inside_it_whatever_its_prefix() {
    let named = Iface::Named("ethwe".into());
    let mut r = synced_for(named, vec![inside(&["10.255.0.0/24"])]);
    r.link(new_link(7, ETHWE, IFF_UP));
    for outside in ["10.255.1.5/16", "10.254.0.5/24", "11.255.0.5/24"] {
        r.addr(new_addr(7, outside));
        assert!(!r.is_ready(), "{outside} is outside 10.255.0.0/24");
    }
    r.addr(new_addr(7, "fd00::5/64"));
    assert!(!r.is_ready(), "IPv6 never meets a subnet");
    r.addr(new_addr_flags(7, "10.255.0.77/16", IFA_F_TENTATIVE));
    assert!(!r.is_ready(), "inside but not usable");
    r.addr(new_addr(7, "10.255.0.77/16"));
    assert!(r.is_ready(), "inside, with the network's wider prefix");
}

#[test]
fn subnet_edges_are_inside() {
    for addr in ["10.255.0.0/24", "10.255.0.255/24", "10.255.0.1/32"] {
        let named = Iface::Named("ethwe".into());
        let mut r = synced_for(named, vec![inside(&["10.255.0.0/24"])]);
        r.link(new_link(7, ETHWE, IFF_UP));
        r.addr(new_addr(7, addr));
        assert!(r.is_ready(), "{addr}");
    }
}

#[test]
fn one_of_several_subnets_will_do() {
    let e = inside(&["10.1.0.0/16", "10.2.0.0/16"]);
    let mut r = synced_for(Iface::Named("ethwe".into()), vec![e]);
    r.link(new_link(7, ETHWE, IFF_UP));
    r.addr(new_addr(7, "10.3.0.1/16"));
    assert!(!r.is_ready());
    r.addr(new_addr(7, "10.2.9.9/24"));
    assert!(r.is_ready());
}

#[test]
fn one_address_may_meet_several_expectations() {
    let mut expected = exact(&["10.1.0.5/16"]);
    expected.extend([
        inside(&["10.1.0.0/16"]),
        inside(&["10.0.0.0/8"]),
        Expect::AnyIpv4,
    ]);
    let mut r = synced_for(Iface::Named("ethwe".into()), expected.clone());
    r.link(new_link(7, ETHWE, IFF_UP));
    r.addr(new_addr(7, "10.1.0.5/16"));
    assert!(r.is_ready());
    expected.pop();
    let mut r = synced_any(expected);
    r.link(new_link(3, b"eth1", IFF_UP));
    r.addr(new_addr(3, "10.1.0.5/16"));
    assert_eq!(r.ready().unwrap().links, ["eth1"]);
}

#[test]
fn every_kind_of_expectation_on_one_link() {
    let mut expected = exact(&["10.255.0.51/24"]);
    expected.extend([inside(&["10.3.0.0/16"]), Expect::AnyIpv4]);
    let mut r = synced_for(Iface::Named("ethwe".into()), expected);
    r.link(new_link(7, ETHWE, IFF_UP));
    r.addr(new_addr(7, "10.255.0.51/24"));
    assert!(!r.is_ready(), "nothing inside 10.3.0.0/16 yet");
    r.addr(new_addr(7, "10.3.4.5/24"));
    assert!(r.is_ready());
}

// --iface any.

#[test]
fn any_link_with_the_address_whatever_its_name() {
    let mut r = synced_any(exact(&["10.255.0.61/16"]));
    assert!(!r.is_ready(), "eth0 does not carry it");
    r.link(new_link(3, b"pwg1x2", 0));
    r.addr(new_addr(3, "10.255.0.61/16"));
    assert!(!r.is_ready(), "down");
    r.link(new_link(3, b"pwg1x2", IFF_UP));
    assert_eq!(
        r.ready(),
        Some(Ready {
            links: vec!["pwg1x2".into()],
            addrs: vec![a("10.255.0.61/16")]
        })
    );
    r.link(new_link(3, b"eth1", IFF_UP));
    assert_eq!(r.ready().unwrap().links, ["eth1"], "renamed: still counts");
    r.link(LinkEvent::Del { index: 3 });
    assert!(!r.is_ready(), "moved away");
}

#[test]
fn any_never_counts_loopback() {
    let mut r = synced_any(exact(&["10.255.0.61/16"]));
    r.addr(new_addr(1, "10.255.0.61/16"));
    assert!(!r.is_ready(), "on lo, which is up");
    // A loopback link under another name is still loopback.
    r.link(new_link(5, b"lo2", LO));
    r.addr(new_addr(5, "10.255.0.61/16"));
    assert!(!r.is_ready());
    let mut r = synced_any(vec![inside(&["10.255.0.0/16"])]);
    r.addr(new_addr(1, "10.255.0.9/16"));
    assert!(!r.is_ready());
}

#[test]
fn any_with_a_subnet_ignores_what_was_there_outside_it() {
    let mut r = synced_any(vec![inside(&["10.255.0.0/16"])]);
    assert!(!r.is_ready(), "eth0's 172.17.0.2 is outside");
    r.link(new_link(3, b"eth1", IFF_UP));
    r.addr(new_addr(3, "10.255.0.6/16"));
    assert!(r.is_ready());
}

#[test]
fn any_with_any_ipv4_is_met_by_what_was_there() {
    // Why the command line refuses this combination: eth0 meets it at once.
    let r = synced_any(vec![Expect::AnyIpv4]);
    assert_eq!(r.ready().unwrap().links, ["eth0"]);
}

#[test]
fn any_accepts_expectations_met_on_different_links() {
    let mut r = synced_any(exact(&["10.1.0.5/16", "10.2.0.5/16"]));
    r.link(new_link(3, b"eth1", IFF_UP));
    r.link(new_link(4, b"eth2", 0));
    r.addr(new_addr(3, "10.1.0.5/16"));
    r.addr(new_addr(4, "10.2.0.5/16"));
    assert!(!r.is_ready(), "eth2 is down");
    r.link(new_link(4, b"eth2", IFF_UP));
    assert_eq!(
        r.ready(),
        Some(Ready {
            links: vec!["eth1".into(), "eth2".into()],
            addrs: vec![a("10.1.0.5/16"), a("10.2.0.5/16")]
        })
    );
    r.addr(del_addr(3, "10.1.0.5/16"));
    assert!(!r.is_ready(), "one address gone");
}

#[test]
fn any_still_wants_the_exact_prefix() {
    let mut r = synced_any(exact(&["10.255.0.61/24"]));
    r.link(new_link(3, b"eth1", IFF_UP));
    r.addr(new_addr(3, "10.255.0.61/16"));
    assert!(!r.is_ready());
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum State {
    Absent,
    Down,
    Up,
}

/// One situation of the exhaustive table: the awaited link (`ethwe`, ifindex 7) and another
/// link (`eth1`, ifindex 8) in some state; the expected exact address 10.255.0.61/24 and an
/// address inside the expected 10.3.0.0/16 each nowhere or on ifindex 1 (`lo`), 7 or 8.
#[derive(Clone, Copy, Debug)]
struct Case {
    ethwe: State,
    eth1: State,
    exact_at: Option<u32>,
    right_prefix: bool,
    inside_at: Option<u32>,
}

impl Case {
    fn all() -> Vec<Case> {
        const STATES: [State; 3] = [State::Absent, State::Down, State::Up];
        const PLACES: [Option<u32>; 4] = [None, Some(1), Some(7), Some(8)];
        let mut all = Vec::new();
        for ethwe in STATES {
            for eth1 in STATES {
                for exact_at in PLACES {
                    for right_prefix in [true, false] {
                        for inside_at in PLACES {
                            all.push(Case {
                                ethwe,
                                eth1,
                                exact_at,
                                right_prefix,
                                inside_at,
                            });
                        }
                    }
                }
            }
        }
        all
    }

    fn state(&self, index: u32) -> State {
        match index {
            1 => State::Up,
            7 => self.ethwe,
            _ => self.eth1,
        }
    }

    /// The rule, restated over the case: both addresses on links that count, the exact
    /// one with its prefix. A link counts only once it exists and is up, so an address
    /// on an absent link does not.
    fn expected(&self, iface: &Iface) -> bool {
        let counts = |i: u32| {
            self.state(i) == State::Up
                && match iface {
                    Iface::Named(_) => i == 7,
                    Iface::Any => i != 1,
                }
        };
        self.right_prefix && self.exact_at.is_some_and(counts) && self.inside_at.is_some_and(counts)
    }

    fn feed_links(&self, r: &mut Readiness) {
        r.link(new_link(1, b"lo", LO));
        for (index, name, state) in [(7, ETHWE, self.ethwe), (8, &b"eth1"[..], self.eth1)] {
            match state {
                State::Absent => {}
                State::Down => r.link(new_link(index, name, 0)),
                State::Up => r.link(new_link(index, name, IFF_UP)),
            }
        }
    }

    fn feed_addrs(&self, r: &mut Readiness) {
        r.addr(new_addr(1, "127.0.0.1/8"));
        r.addr(new_addr(7, "10.9.9.9/8"));
        if let Some(i) = self.exact_at {
            let prefix = if self.right_prefix { 24 } else { 16 };
            r.addr(new_addr(i, &format!("10.255.0.61/{prefix}")));
        }
        if let Some(i) = self.inside_at {
            r.addr(new_addr(i, "10.3.200.1/24"));
        }
    }
}

/// Every [`Case`], for a named link and for any link, fed links first and addresses first:
/// readiness agrees with the rule as the module states it, never before the dumps complete,
/// and the timeout message is empty exactly when ready.
#[test]
fn exhaustive_table() {
    let expected = vec![Expect::Addr(a("10.255.0.61/24")), inside(&["10.3.0.0/16"])];
    let mut checked = 0;
    for case in Case::all() {
        for iface in [Iface::Named("ethwe".into()), Iface::Any] {
            for links_first in [true, false] {
                let mut r = Readiness::new(iface.clone(), expected.clone());
                if links_first {
                    case.feed_links(&mut r);
                    case.feed_addrs(&mut r);
                } else {
                    case.feed_addrs(&mut r);
                    case.feed_links(&mut r);
                }
                assert!(!r.is_ready(), "never before the dumps complete");
                r.synced();
                let want = case.expected(&iface);
                assert_eq!(
                    r.is_ready(),
                    want,
                    "{iface:?} {case:?} links_first={links_first}"
                );
                assert_eq!(r.explain().is_empty(), want, "{}", r.explain());
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 3 * 3 * 4 * 2 * 4 * 2 * 2);
}

// The timeout message.

#[test]
fn explains_a_named_link() {
    let ethwe = |expected: Vec<Expect>| synced_for(Iface::Named("ethwe".into()), expected);
    let r = ethwe(exact(&["10.255.0.51/24"]));
    assert_eq!(r.explain(), "no link named ethwe");

    let mut r = ethwe(exact(&["10.255.0.51/24"]));
    r.link(new_link(7, ETHWE, 0));
    r.addr(new_addr(7, "10.255.0.51/16"));
    r.addr(new_addr(7, "fe80::1/64"));
    assert_eq!(
        r.explain(),
        "link ethwe is down; 10.255.0.51/24 missing (ethwe carries 10.255.0.51/16)"
    );
    r.addr(new_addr(7, "10.255.0.51/24"));
    assert_eq!(r.explain(), "link ethwe is down");
    r.link(new_link(7, ETHWE, IFF_UP));
    assert_eq!(r.explain(), "");

    let mut expected = exact(&["10.255.0.51/24", "fd00::51/64"]);
    expected.push(inside(&["10.3.0.0/16", "10.4.0.0/16"]));
    let mut r = ethwe(expected);
    r.link(new_link(7, ETHWE, IFF_UP));
    r.addr(new_addr_flags(7, "fd00::51/64", IFA_F_TENTATIVE));
    assert_eq!(
        r.explain(),
        "10.255.0.51/24 missing, fd00::51/64 missing, no IPv4 address inside 10.3.0.0/16 \
         or 10.4.0.0/16 (ethwe carries fd00::51/64 tentative)"
    );
    r.addr(new_addr_flags(
        7,
        "fd00::51/64",
        IFA_F_TENTATIVE | IFA_F_DADFAILED,
    ));
    assert!(r
        .explain()
        .contains("(ethwe carries fd00::51/64 DAD-failed)"));

    let mut r = ethwe(vec![]);
    r.link(new_link(7, ETHWE, IFF_UP));
    assert_eq!(r.explain(), "no IPv4 address (ethwe carries no address)");
}

#[test]
fn explains_where_else_an_expected_address_is() {
    let mut r = synced(&["10.255.0.61/16", "10.9.0.1/24"]);
    r.link(new_link(3, b"eth1", IFF_UP));
    r.addr(new_addr(3, "10.255.0.61/16"));
    r.addr(new_addr(1, "10.9.0.1/24"));
    assert_eq!(
        r.explain(),
        "no link named ethwe; 10.255.0.61/16 is on eth1 (--iface any accepts any link)",
        "loopback is never suggested"
    );
    r.link(new_link(7, ETHWE, IFF_UP));
    assert_eq!(
        r.explain(),
        "10.255.0.61/16 missing, 10.9.0.1/24 missing (ethwe carries no address); \
         10.255.0.61/16 is on eth1 (--iface any accepts any link)"
    );
}

#[test]
fn never_points_elsewhere_for_any_ipv4() {
    let mut r = synced_for(Iface::Named("ethwe".into()), vec![inside(&["10.3.0.0/16"])]);
    r.link(new_link(2, b"eth0", IFF_UP));
    r.addr(new_addr(2, "10.3.0.9/16"));
    assert_eq!(
        r.explain(),
        "no link named ethwe; 10.3.0.9/16 is on eth0 (--iface any accepts any link)"
    );
    let mut r = synced(&[]);
    r.link(new_link(2, b"eth0", IFF_UP));
    r.addr(new_addr(2, "10.3.0.9/16"));
    assert_eq!(r.explain(), "no link named ethwe");
}

#[test]
fn explains_any_link() {
    let mut r = synced_any(exact(&["10.255.0.61/16"]));
    assert_eq!(
        r.explain(),
        "10.255.0.61/16 missing; links: eth0 (up; 172.17.0.2/16)"
    );
    r.link(new_link(3, b"eth1", IFF_UP));
    r.addr(new_addr(3, "10.255.0.61/24"));
    assert_eq!(
        r.explain(),
        "10.255.0.61/16 missing; links: eth0 (up; 172.17.0.2/16), eth1 (up; 10.255.0.61/24)"
    );
    r.link(new_link(4, b"eth2", 0));
    r.addr(new_addr(4, "10.255.0.61/16"));
    assert_eq!(
        r.explain(),
        "eth2 carries 10.255.0.61/16 but is down; links: eth0 (up; 172.17.0.2/16), \
         eth1 (up; 10.255.0.61/24), eth2 (down; 10.255.0.61/16)"
    );

    let mut r = synced_any(vec![inside(&["10.255.0.0/16"])]);
    r.addr(new_addr(1, "10.255.0.9/16"));
    assert_eq!(
        r.explain(),
        "10.255.0.9/16 is on lo, and loopback never counts; links: eth0 (up; 172.17.0.2/16)"
    );

    let r = synced_for(Iface::Any, vec![inside(&["10.255.0.0/16"])]);
    assert_eq!(
        r.explain(),
        "no IPv4 address inside 10.255.0.0/16; no link but loopback"
    );
}

#[test]
fn explains_at_most_a_few_links() {
    let mut r = synced_any(exact(&["10.255.0.61/16"]));
    for i in 0..20 {
        r.link(new_link(10 + i, format!("v{i}").as_bytes(), IFF_UP));
    }
    let text = r.explain();
    assert!(
        text.ends_with(", v6 (up; no address) and 13 more"),
        "{text}"
    );
}

#[test]
fn explains_an_incomplete_dump() {
    let r = Readiness::new(Iface::Any, exact(&["10.0.0.1/8"]));
    assert!(r.explain().contains("never finished listing"));
}
