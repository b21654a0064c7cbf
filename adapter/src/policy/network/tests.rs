use super::*;
use weave_cidr::{parse, WeaveCidr};

fn items(value: &str) -> Vec<CidrItem> {
    match parse(value).unwrap() {
        WeaveCidr::Attach(items) => items,
        WeaveCidr::None => panic!("none"),
    }
}

fn cidr(s: &str) -> Ipv4Cidr {
    let (a, p) = s.split_once('/').unwrap();
    Ipv4Cidr {
        addr: a.parse().unwrap(),
        prefix: p.parse().unwrap(),
    }
}

/// `wnet` with one pool per `(subnet, range, gateway)`.
fn net(pools: &[(&str, Option<&str>, Option<&str>)]) -> NetworkFacts {
    NetworkFacts {
        name: "wnet".into(),
        pools: pools
            .iter()
            .map(|(s, r, g)| Pool::parse(s, *r, *g).unwrap())
            .collect(),
        scope: "swarm".into(),
    }
}

fn wnet() -> NetworkFacts {
    net(&[("10.255.0.0/16", None, Some("10.255.0.1"))])
}

fn fits(value: &str, network: &NetworkFacts) -> Result<Want, String> {
    fit(value, &items(value), network).map_err(|e| e.to_string())
}

#[test]
fn pools_are_ipv4_subnets_with_their_range_and_gateway() {
    let p = Pool::parse("10.255.0.0/16", Some("10.255.8.0/24"), Some("10.255.0.1")).unwrap();
    assert_eq!(p.subnet, cidr("10.255.0.0/16"));
    assert_eq!(p.allocates_from(), cidr("10.255.8.0/24"));
    assert_eq!(p.gateway, Some("10.255.0.1".parse().unwrap()));
    let whole = Pool::parse("10.9.0.0/24", Some(""), None).unwrap();
    assert_eq!(whole.allocates_from(), cidr("10.9.0.0/24"));
    for not_v4 in ["fd00:1::/64", "", "10.9.0.0", "nonsense"] {
        assert_eq!(Pool::parse(not_v4, None, None), None, "{not_v4}");
    }
}

#[test]
fn one_item_each_form() {
    let n = wnet();
    assert_eq!(
        fits("10.255.0.61/16", &n),
        Ok(Want::Exact(cidr("10.255.0.61/16")))
    );
    assert_eq!(
        fits("ip:10.255.3.4/16", &n),
        Ok(Want::Exact(cidr("10.255.3.4/16")))
    );
    assert_eq!(fits("", &n), Ok(Want::Allocate(None)));
    assert_eq!(fits("net:default", &n), Ok(Want::Allocate(None)));
    assert_eq!(
        fits("net:10.255.0.0/16", &n),
        Ok(Want::Allocate(Some(cidr("10.255.0.0/16"))))
    );
}

#[test]
fn several_items_are_refused_naming_the_count() {
    let e = fits("10.255.0.5/16 10.255.0.6/16", &wnet()).unwrap_err();
    assert_eq!(
        e,
        "WEAVE_CIDR \"10.255.0.5/16 10.255.0.6/16\" has 2 items, and network wnet gives a \
         container one address: keep one item"
    );
    assert!(want_of("", &items("net:default 10.1.0.1/8"), "x").is_err());
}

#[test]
fn a_prefix_other_than_the_subnets_is_refused_naming_both() {
    let e = fits("10.255.0.61/24", &wnet()).unwrap_err();
    assert_eq!(
        e,
        "WEAVE_CIDR on network wnet: item \"10.255.0.61/24\" asks for prefix /24, but the \
         network's subnet is 10.255.0.0/16 and the interface will carry /16; write \
         10.255.0.61/16"
    );
}

#[test]
fn outside_every_subnet_is_refused_naming_them() {
    let n = net(&[("10.255.0.0/16", None, None), ("10.9.0.0/24", None, None)]);
    let e = fits("10.8.0.1/24", &n).unwrap_err();
    assert!(e.contains("(10.255.0.0/16, 10.9.0.0/24)"), "{e}");
    assert!(e.contains("\"10.8.0.1/24\""), "{e}");
    let e = fits("net:10.0.0.0/8", &n).unwrap_err();
    assert!(e.contains("lies outside the network's subnets"), "{e}");
}

#[test]
fn the_gateway_is_refused() {
    let e = fits("10.255.0.1/16", &wnet()).unwrap_err();
    assert_eq!(
        e,
        "WEAVE_CIDR on network wnet: item \"10.255.0.1/16\" is the gateway of 10.255.0.0/16; \
         give another address"
    );
}

#[test]
fn net_s_must_cover_what_docker_allocates_from() {
    // Narrower than the subnet: Docker may allocate outside it.
    let e = fits("net:10.255.8.0/24", &wnet()).unwrap_err();
    assert!(
        e.contains("Docker allocates from 10.255.0.0/16, not only inside 10.255.8.0/24")
            && e.contains("write net:10.255.0.0/16")
            && e.contains("--ip-range 10.255.8.0/24"),
        "{e}"
    );
    // A network made with that range: Docker allocates inside S.
    let ranged = net(&[("10.255.0.0/16", Some("10.255.8.0/24"), None)]);
    assert_eq!(
        fits("net:10.255.8.0/24", &ranged),
        Ok(Want::Allocate(Some(cidr("10.255.8.0/24"))))
    );
    assert_eq!(
        fits("net:10.255.8.0/23", &ranged),
        Ok(Want::Allocate(Some(cidr("10.255.8.0/23"))))
    );
    // Two pools: Docker moves on to the second when the first is full.
    let two = net(&[("10.1.0.0/16", None, None), ("10.2.0.0/16", None, None)]);
    assert!(fits("net:10.1.0.0/16", &two).is_err());
    assert_eq!(fits("", &two), Ok(Want::Allocate(None)));
}

#[test]
fn a_network_without_ipv4_fits_nothing() {
    let none = NetworkFacts {
        name: "v6only".into(),
        pools: vec![],
        scope: "local".into(),
    };
    assert!(none.reuses_at_once() && !wnet().reuses_at_once());
    for v in ["", "net:default", "10.1.0.1/16", "net:10.1.0.0/16"] {
        let e = fits(v, &none).unwrap_err();
        assert!(e.contains("--subnet"), "{v}: {e}");
    }
}

#[test]
fn the_waiter_finds_its_interface_by_address() {
    let n = net(&[("10.255.0.0/16", None, None), ("10.9.0.0/24", None, None)]);
    assert_eq!(
        waiter_env(Some(&Want::Allocate(None)), Some(&n)),
        [
            ("WAIT_FOR_WEAVE_IFACE", "any".to_string()),
            (
                "WAIT_FOR_WEAVE_DEFAULT_SUBNET",
                "10.255.0.0/16 10.9.0.0/24".to_string()
            )
        ]
    );
    // Exact and net:S items tell the waiter what to wait for themselves.
    for want in [
        Want::Exact(cidr("10.255.0.5/16")),
        Want::Allocate(Some(cidr("10.255.0.0/16"))),
    ] {
        assert_eq!(
            waiter_env(Some(&want), Some(&n)),
            [("WAIT_FOR_WEAVE_IFACE", "any".to_string())]
        );
    }
    // Unknown network or want: no default subnet to give (the waiter then refuses to guess).
    assert_eq!(waiter_env(Some(&Want::Allocate(None)), None).len(), 1);
    assert_eq!(waiter_env(None, Some(&n)).len(), 1);
}

#[test]
fn engines_from_api_1_48_take_the_interface_name() {
    for (api, yes) in [
        ("1.41", false),
        ("1.47", false),
        ("1.48", true),
        ("1.51", true),
        ("2.0", true),
        (" 1.48 ", true),
        ("", false),
        ("1", false),
        ("x.y", false),
    ] {
        assert_eq!(takes_ifname(api), yes, "{api:?}");
    }
}

#[test]
fn endpoints_meet_what_was_asked() {
    let subnets = [cidr("10.255.0.0/16")];
    let exact = Want::Exact(cidr("10.255.0.61/16"));
    assert!(meets(&exact, cidr("10.255.0.61/16"), &subnets));
    assert!(!meets(&exact, cidr("10.255.0.61/24"), &subnets));
    assert!(!meets(&exact, cidr("10.255.0.62/16"), &subnets));
    let inside = Want::Allocate(Some(cidr("10.255.8.0/24")));
    assert!(meets(&inside, cidr("10.255.8.9/16"), &subnets));
    assert!(!meets(&inside, cidr("10.255.9.9/16"), &subnets));
    let any = Want::Allocate(None);
    assert!(meets(&any, cidr("10.255.0.9/16"), &subnets));
    assert!(!meets(&any, cidr("172.17.0.2/16"), &subnets));
    assert!(meets(&any, cidr("172.17.0.2/16"), &[]));
}

#[test]
fn wants_display_for_messages() {
    assert_eq!(Want::Exact(cidr("10.2.0.1/16")).to_string(), "10.2.0.1/16");
    assert_eq!(
        Want::Allocate(Some(cidr("10.2.0.0/16"))).to_string(),
        "an address in 10.2.0.0/16"
    );
    assert_eq!(Want::Allocate(None).to_string(), "an allocated address");
}

#[test]
fn steps_from_what_docker_reports() {
    let subnets = [cidr("10.255.0.0/16")];
    let exact = Want::Exact(cidr("10.255.0.61/16"));
    let alloc = Want::Allocate(None);
    let got = Some(cidr("10.255.0.61/16"));
    let other = Some(cidr("10.255.0.99/16"));
    // Running, not yet on the network.
    assert_eq!(
        step(&exact, None, false, false, &subnets),
        Step::Connect(cidr("10.255.0.61/16"))
    );
    assert_eq!(step(&alloc, None, false, false, &subnets), Step::Allocate);
    // Already there (Docker re-attached it at a restart): never connected twice.
    assert_eq!(step(&exact, got, false, false, &subnets), Step::Done);
    assert_eq!(step(&alloc, other, false, false, &subnets), Step::Done);
    // There with something else.
    assert_eq!(
        step(&exact, other, false, false, &subnets),
        Step::Conflict(cidr("10.255.0.99/16"))
    );
    assert_eq!(
        step(&alloc, Some(cidr("172.17.0.2/16")), false, false, &subnets),
        Step::Conflict(cidr("172.17.0.2/16"))
    );
    // Paused by someone else while its app runs: not ours to touch.
    assert_eq!(step(&exact, None, true, false, &subnets), Step::LeaveAlone);
    assert_eq!(step(&alloc, got, true, false, &subnets), Step::LeaveAlone);
    // Paused and still waiting: an allocation cut short is completed.
    assert_eq!(
        step(&alloc, other, true, true, &subnets),
        Step::Repin(cidr("10.255.0.99/16"))
    );
    assert_eq!(step(&alloc, None, true, true, &subnets), Step::Allocate);
    assert_eq!(step(&exact, got, true, true, &subnets), Step::Done);
}
