//! The timeout message in real network namespaces: for each way of not being ready, the
//! link's state and what is missing, in one line, with status 124.

use e2e::netns::{output_bounded, Attach, NetNs};

use crate::support::{docker_eth0, prerequisites, spawn_in, timeout_line, Arrival, LIMIT};

const EXPECT_51: [(&str, &str); 1] = [("WEAVE_CIDR", "10.255.0.51/24")];

#[test]
fn down_and_carrying_the_address_with_another_prefix() {
    let Some(bin) = prerequisites() else { return };
    let ns = NetNs::new();
    let attach = Attach::create(ns.target(), "ethwe");
    attach.move_in().rename().add_addr("10.255.0.51/16");
    assert_eq!(
        timeout_line(&ns, &bin, &EXPECT_51, &[]),
        "ethwe not ready after 0.3 s: link ethwe is down; 10.255.0.51/24 missing \
         (ethwe carries 10.255.0.51/16)"
    );
    attach.up();
    assert_eq!(
        timeout_line(&ns, &bin, &EXPECT_51, &[]),
        "ethwe not ready after 0.3 s: 10.255.0.51/24 missing (ethwe carries 10.255.0.51/16)"
    );
}

#[test]
fn no_link_named_so_and_where_the_address_is() {
    let Some(bin) = prerequisites() else { return };
    let ns = NetNs::new();
    assert_eq!(
        timeout_line(&ns, &bin, &EXPECT_51, &[]),
        "ethwe not ready after 0.3 s: no link named ethwe"
    );
    let _eth1 = Attach::all(ns.target(), "eth1", &["10.255.0.51/24"]);
    assert_eq!(
        timeout_line(&ns, &bin, &EXPECT_51, &[]),
        "ethwe not ready after 0.3 s: no link named ethwe; 10.255.0.51/24 is on eth1 \
         (--iface any accepts any link)"
    );
}

#[test]
fn every_missing_item_with_what_the_link_carries() {
    let Some(bin) = prerequisites() else { return };
    let ns = NetNs::new();
    let _attach = Attach::all(ns.target(), "ethwe", &["10.9.0.1/24"]);
    let env = [("WEAVE_CIDR", "10.255.0.51/24 net:10.3.0.0/16 10.9.0.1/24")];
    assert_eq!(
        timeout_line(&ns, &bin, &env, &[]),
        "ethwe not ready after 0.3 s: 10.255.0.51/24 missing, no IPv4 address inside \
         10.3.0.0/16 (ethwe carries 10.9.0.1/24)"
    );
    let env = [("WEAVE_CIDR", "")];
    let ns = NetNs::new();
    let _attach = Attach::all(ns.target(), "ethwe", &[]);
    assert_eq!(
        timeout_line(&ns, &bin, &env, &[]),
        "ethwe not ready after 0.3 s: no IPv4 address (ethwe carries no address)"
    );
}

#[test]
fn a_tentative_ipv6_address() {
    let Some(bin) = prerequisites() else { return };
    let ns = NetNs::new();
    // Up without a carrier (its peer stays down): duplicate address detection cannot run,
    // so the address stays tentative.
    ns.ip(&[
        "link", "add", "ethwe", "type", "veth", "peer", "name", "peer0",
    ]);
    ns.ip(&["link", "set", "ethwe", "up"]);
    ns.ip(&["addr", "add", "fd00::51/64", "dev", "ethwe"]);
    assert_eq!(
        timeout_line(&ns, &bin, &[], &["--addr", "fd00::51/64"]),
        "ethwe not ready after 0.3 s: fd00::51/64 missing (ethwe carries fd00::51/64 tentative)"
    );
}

#[test]
fn any_link_lists_the_links() {
    let Some(bin) = prerequisites() else { return };
    let ns = NetNs::new();
    docker_eth0(&ns);
    let env = [("WEAVE_CIDR", "10.255.0.61/16")];
    let eth1 = Arrival::create(&ns, "eth1");
    eth1.move_in();
    eth1.rename();
    eth1.add_addr("10.255.0.61/16");
    // veth0 is eth0's peer, in the namespace, down.
    let links = |eth1: &str| {
        let mut all = vec![
            "veth0 (down; no address)".to_string(),
            "eth0 (up; 172.17.0.2/16)".to_string(),
        ];
        all.push(eth1.to_string());
        all
    };
    let line = timeout_line(&ns, &bin, &env, &["--iface", "any"]);
    let (problem, list) = line
        .split_once("; links: ")
        .unwrap_or_else(|| panic!("{line}"));
    assert_eq!(
        problem,
        "no interface ready after 0.3 s: eth1 carries 10.255.0.61/16 but is down"
    );
    assert_same_links(list, &links("eth1 (down; 10.255.0.61/16)"));

    // Up, but the address carries the network's prefix, not the one asked for.
    let env = [("WEAVE_CIDR", "10.255.0.61/24")];
    eth1.up();
    let line = timeout_line(&ns, &bin, &env, &["--iface", "any"]);
    let (problem, list) = line
        .split_once("; links: ")
        .unwrap_or_else(|| panic!("{line}"));
    assert_eq!(
        problem,
        "no interface ready after 0.3 s: 10.255.0.61/24 missing"
    );
    assert_same_links(list, &links("eth1 (up; 10.255.0.61/16)"));
}

/// The links of the message are these, in ifindex order, whatever that order is.
fn assert_same_links(list: &str, expected: &[String]) {
    let mut got: Vec<&str> = list.split("), ").collect();
    let last = got.len() - 1;
    let owned: Vec<String> = got
        .drain(..)
        .enumerate()
        .map(|(i, l)| {
            if i == last {
                l.to_string()
            } else {
                format!("{l})")
            }
        })
        .collect();
    let mut sorted = owned.clone();
    sorted.sort();
    let mut want = expected.to_vec();
    want.sort();
    assert_eq!(sorted, want, "{list}");
}

/// A timeout past the range of the monotonic clock (hundreds of years) is as good as
/// forever: the waiter waits as with `0`, and does not end on an overflow.
#[test]
fn a_timeout_past_the_clock_is_forever() {
    let Some(bin) = prerequisites() else { return };
    let ns = NetNs::new();
    let _attach = Attach::all(ns.target(), "ethwe", &["10.255.0.51/24"]);
    for timeout in ["18446744073709551615", "9223372036854775807.5"] {
        let args = ["--timeout", timeout, "echo", "ran"];
        let out = output_bounded(spawn_in(&ns, &bin, &EXPECT_51, &args), LIMIT, timeout);
        assert!(out.status.success(), "--timeout {timeout}: {out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "ran\n");
    }
}
