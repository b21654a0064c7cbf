//! Exact addresses: a container on host 2 and one on host 3, each connected to the overlay
//! with `docker network connect --ip`, reach each other across the switch.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use e2e::cluster::{Cidr, Cluster};
use e2e::docker::unique;

pub fn ping_across_hosts(c: &Cluster) {
    let mut guard = c.containers();
    let a = unique("exact-a");
    let b = unique("exact-b");
    c.run_sleeper(&mut guard, 2, &a, &[]);
    c.run_sleeper(&mut guard, 3, &b, &[]);
    let a_ip: Ipv4Addr = "10.255.0.61".parse().unwrap();
    let b_ip: Ipv4Addr = "10.255.0.62".parse().unwrap();
    for (n, name, ip) in [(2, &a, a_ip), (3, &b, b_ip)] {
        let start = Instant::now();
        c.docker_ok(
            n,
            &[
                "network",
                "connect",
                "--ip",
                &ip.to_string(),
                &c.network,
                name,
            ],
        );
        eprintln!(
            "host {n}: docker network connect --ip {ip} took {:.0} ms",
            start.elapsed().as_secs_f64() * 1000.0
        );
        assert_eq!(c.network_address(n, name), Some(ip), "{name} on host {n}");
        // Inside, the address carries the network's prefix, whatever the request said.
        let want = Cidr {
            addr: ip,
            prefix: c.subnet().prefix,
        };
        let ifaces = c.interfaces(n, name);
        assert!(
            ifaces.iter().any(|(_, cidr)| *cidr == want),
            "{name} on host {n} lacks {want}: {ifaces:?}"
        );
    }
    let first = c.reach(2, &a, b_ip, Duration::from_secs(10));
    eprintln!(
        "host 2 -> host 3: first answer after {:.0} ms",
        first.as_secs_f64() * 1000.0
    );
    c.reach(3, &b, a_ip, Duration::from_secs(10));
    let there = c.ping_ok(2, &a, b_ip, 3);
    let back = c.ping_ok(3, &b, a_ip, 3);
    eprintln!(
        "ping host 2 -> host 3: avg {:.3} ms; host 3 -> host 2: avg {:.3} ms",
        there.avg, back.avg
    );
}
