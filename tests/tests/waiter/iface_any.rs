//! `--iface any` in real network namespaces: the address arrives on a link Docker would
//! name `eth1` (moved in, then renamed, addressed and set up in every order) next to an
//! `eth0` that was there from the start; loopback never counts; addresses may sit on two
//! links; `net:default` waits inside the default subnet.

use e2e::netns::{eventually, waiter_is_waiting, NetNs};

use crate::support::{
    docker_eth0, prerequisites, ran_once, spawn_in, still_waiting, timeout_line, Arrival, Marker,
    APP, APP_BY_ADDR, LIMIT,
};

#[derive(Clone, Copy, Debug)]
enum Step {
    Rename,
    Addr,
    Up,
}

const ORDERS: [[Step; 3]; 6] = [
    [Step::Rename, Step::Addr, Step::Up],
    [Step::Rename, Step::Up, Step::Addr],
    [Step::Addr, Step::Rename, Step::Up],
    [Step::Addr, Step::Up, Step::Rename],
    [Step::Up, Step::Rename, Step::Addr],
    [Step::Up, Step::Addr, Step::Rename],
];

/// With any link, the name does not matter: the app runs once the address is there and
/// the link up, renamed or not.
#[test]
fn the_address_on_eth1_in_every_order() {
    let Some(bin) = prerequisites() else { return };
    for order in ORDERS {
        let ns = NetNs::new();
        docker_eth0(&ns);
        let marker = Marker::new();
        let child = spawn_in(
            &ns,
            &bin,
            &[
                ("WAIT_FOR_WEAVE_IFACE", "any"),
                ("WEAVE_CIDR", "10.255.0.61/16"),
            ],
            &[
                "-v",
                "sh",
                "-c",
                APP_BY_ADDR,
                "app",
                marker.path(),
                "10.255.0.61",
            ],
        );
        assert!(eventually(LIMIT, || waiter_is_waiting(child.id())));
        let eth1 = Arrival::create(&ns, "eth1");
        still_waiting(&child, &marker, "veth created outside");
        eth1.move_in();
        still_waiting(&child, &marker, "moved in under a temporary name");
        let (mut addressed, mut up) = (false, false);
        for (i, step) in order.iter().enumerate() {
            if addressed && up {
                // Ready already: a rename now would race with the app.
                break;
            }
            match step {
                Step::Rename => eth1.rename(),
                Step::Addr => {
                    eth1.add_addr("10.255.0.61/16");
                    addressed = true;
                }
                Step::Up => {
                    eth1.up();
                    up = true;
                }
            }
            if !(addressed && up) {
                still_waiting(&child, &marker, &format!("{:?}", &order[..=i]));
            }
        }
        let name = eth1.current().to_string();
        let (lines, stderr) = ran_once(child, &marker, &format!("{order:?}"));
        assert!(lines.contains(&"10.255.0.61/16".to_string()), "{lines:?}");
        assert_eq!(lines.last(), Some(&format!("link={name}")), "{order:?}");
        assert!(
            stderr.starts_with(&format!("wait-for-weave: {name} ready after "))
                && stderr.trim_end().ends_with(" with 10.255.0.61/16"),
            "{order:?}: {stderr}"
        );
    }
}

#[test]
fn loopback_never_counts() {
    let Some(bin) = prerequisites() else { return };
    let ns = NetNs::new();
    docker_eth0(&ns);
    ns.ip(&["link", "set", "lo", "up"]);
    ns.ip(&["addr", "add", "10.255.0.61/16", "dev", "lo"]);
    let env = [
        ("WAIT_FOR_WEAVE_IFACE", "any"),
        ("WEAVE_CIDR", "10.255.0.61/16"),
    ];
    let line = timeout_line(&ns, &bin, &env, &[]);
    assert!(
        line.starts_with(
            "no interface ready after 0.3 s: 10.255.0.61/16 is on lo, and loopback never \
             counts; links: "
        ) && line.contains("eth0 (up; 172.17.0.2/16)")
            && !line.contains("lo ("),
        "{line}"
    );
}

#[test]
fn addresses_on_two_links_each_up() {
    let Some(bin) = prerequisites() else { return };
    let ns = NetNs::new();
    docker_eth0(&ns);
    let marker = Marker::new();
    let child = spawn_in(
        &ns,
        &bin,
        &[("WEAVE_CIDR", "10.255.0.61/16 10.77.0.5/24")],
        &[
            "-v",
            "--iface",
            "any",
            "sh",
            "-c",
            APP,
            "app",
            marker.path(),
            "eth2",
        ],
    );
    assert!(eventually(LIMIT, || waiter_is_waiting(child.id())));
    let eth1 = Arrival::create(&ns, "eth1");
    eth1.move_in();
    eth1.rename();
    eth1.add_addr("10.255.0.61/16");
    eth1.up();
    still_waiting(&child, &marker, "one of two addresses, on eth1");
    let eth2 = Arrival::create(&ns, "eth2");
    eth2.move_in();
    eth2.rename();
    eth2.add_addr("10.77.0.5/24");
    still_waiting(&child, &marker, "the second on eth2, down");
    eth2.up();
    let (lines, stderr) = ran_once(child, &marker, "both links up");
    assert!(lines.contains(&"10.77.0.5/24".to_string()), "{lines:?}");
    assert!(
        stderr.starts_with("wait-for-weave: eth1, eth2 ready after ")
            && stderr
                .trim_end()
                .ends_with(" with 10.77.0.5/24 10.255.0.61/16"),
        "{stderr}"
    );
}

#[test]
fn net_default_waits_inside_the_default_subnet() {
    let Some(bin) = prerequisites() else { return };
    let ns = NetNs::new();
    docker_eth0(&ns);
    let marker = Marker::new();
    let child = spawn_in(
        &ns,
        &bin,
        &[
            ("WAIT_FOR_WEAVE_IFACE", "any"),
            ("WEAVE_CIDR", ""),
            ("WAIT_FOR_WEAVE_DEFAULT_SUBNET", "10.255.0.0/16"),
        ],
        &["sh", "-c", APP, "app", marker.path(), "eth1"],
    );
    assert!(eventually(LIMIT, || waiter_is_waiting(child.id())));
    still_waiting(&child, &marker, "only eth0, outside the default subnet");
    let eth1 = Arrival::create(&ns, "eth1");
    eth1.move_in();
    eth1.rename();
    eth1.up();
    eth1.add_addr("10.254.0.6/16");
    still_waiting(&child, &marker, "an address outside the default subnet");
    eth1.add_addr("10.255.0.6/16");
    let (lines, _) = ran_once(child, &marker, "address inside the default subnet");
    assert!(lines.contains(&"10.255.0.6/16".to_string()), "{lines:?}");
}
