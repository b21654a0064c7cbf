//! `net:S` items in real network namespaces: only an IPv4 address inside S will do, with
//! whatever prefix the network gives it.

use e2e::netns::{eventually, waiter_is_waiting, Attach, NetNs};

use crate::support::{
    docker_eth0, prerequisites, ran_once, spawn_in, still_waiting, waiting_app, Arrival, Marker,
    APP, LIMIT,
};

#[test]
fn only_an_address_inside_the_subnet_will_do() {
    let Some(bin) = prerequisites() else { return };
    let ns = NetNs::new();
    let (child, marker) = waiting_app(&ns, &bin, &[("WEAVE_CIDR", "net:10.255.0.0/24")], "ethwe");
    let attach = Attach::all(ns.target(), "ethwe", &[]);
    still_waiting(&child, &marker, "ethwe up without an address");
    for outside in ["10.255.1.5/16", "10.254.0.5/24", "192.168.0.5/24"] {
        attach.add_addr(outside);
        still_waiting(&child, &marker, &format!("{outside}, outside the subnet"));
    }
    // Inside the subnet, with the wider prefix a /16 network would give it.
    attach.add_addr("10.255.0.77/16");
    let (lines, _) = ran_once(child, &marker, "address inside the subnet");
    assert!(lines.contains(&"10.255.0.77/16".to_string()), "{lines:?}");
}

#[test]
fn exact_and_subnet_items_together() {
    let Some(bin) = prerequisites() else { return };
    let ns = NetNs::new();
    let (child, marker) = waiting_app(
        &ns,
        &bin,
        &[("WEAVE_CIDR", "10.9.0.1/24 net:10.3.0.0/16")],
        "ethwe",
    );
    let attach = Attach::all(ns.target(), "ethwe", &["10.9.0.1/24"]);
    still_waiting(&child, &marker, "the exact address alone");
    attach.add_addr("10.3.7.7/24");
    let (lines, _) = ran_once(child, &marker, "both items met");
    assert!(lines.contains(&"10.3.7.7/24".to_string()), "{lines:?}");
}

#[test]
fn with_any_link_eth0_outside_the_subnet_does_not_count() {
    let Some(bin) = prerequisites() else { return };
    let ns = NetNs::new();
    docker_eth0(&ns);
    let marker = Marker::new();
    let child = spawn_in(
        &ns,
        &bin,
        &[
            ("WAIT_FOR_WEAVE_IFACE", "any"),
            ("WEAVE_CIDR", "net:10.255.0.0/24"),
        ],
        &["sh", "-c", APP, "app", marker.path(), "eth1"],
    );
    assert!(eventually(LIMIT, || waiter_is_waiting(child.id())));
    still_waiting(&child, &marker, "only eth0");
    let eth1 = Arrival::create(&ns, "eth1");
    eth1.move_in();
    eth1.add_addr("10.255.1.5/16");
    eth1.up();
    eth1.rename();
    still_waiting(&child, &marker, "eth1 up, outside the subnet");
    eth1.add_addr("10.255.0.77/16");
    let (lines, _) = ran_once(child, &marker, "address inside the subnet on eth1");
    assert!(lines.contains(&"10.255.0.77/16".to_string()), "{lines:?}");
}
