//! Docker's allocator across the cluster: 5 containers on each of 3 hosts connect to the
//! overlay without `--ip`, all at once. Every address is unique in the cluster (also
//! against the gateway and each host's load-balancer endpoint), inside the subnet, the one
//! the container sees, and reachable from another host.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::thread;
use std::time::Duration;

use e2e::cluster::{Cidr, Cluster};
use e2e::docker::unique;

const PER_HOST: usize = 5;

pub fn unique_across_the_cluster(c: &Cluster) {
    let mut guard = c.containers();
    let names: Vec<(usize, String)> = (1..=3)
        .flat_map(|n| (0..PER_HOST).map(move |i| (n, unique(&format!("alloc-h{n}-{i}")))))
        .collect();
    for (n, name) in &names {
        c.run_sleeper(&mut guard, *n, name, &[]);
    }
    // One thread per host: the manager's allocator serves concurrent requests.
    thread::scope(|s| {
        for n in 1..=3 {
            let mine: Vec<&String> = names
                .iter()
                .filter(|(h, _)| *h == n)
                .map(|(_, x)| x)
                .collect();
            s.spawn(move || {
                for name in mine {
                    c.docker_ok(n, &["network", "connect", &c.network, name]);
                }
            });
        }
    });
    let subnet = c.subnet();
    let mut seen: BTreeMap<Ipv4Addr, String> = BTreeMap::new();
    for (n, name) in &names {
        let ip = c
            .network_address(*n, name)
            .unwrap_or_else(|| panic!("{name} on host {n} has no address on {}", c.network));
        assert!(
            subnet.contains(ip),
            "{name} on host {n} got {ip}, outside {subnet}"
        );
        let inside = Cidr {
            addr: ip,
            prefix: subnet.prefix,
        };
        let ifaces = c.interfaces(*n, name);
        assert!(
            ifaces.iter().any(|(_, cidr)| *cidr == inside),
            "{name} on host {n}: Docker says {ip}, inside it has {ifaces:?}"
        );
        if let Some(other) = seen.insert(ip, format!("{name} on host {n}")) {
            panic!("{ip} given twice: to {other} and to {name} on host {n}");
        }
    }
    // The gateway and every host's load-balancer endpoint hold addresses of the subnet too.
    for n in 1..=3 {
        for reserved in reserved_addresses(c, n) {
            assert!(
                !seen.contains_key(&reserved),
                "{reserved} given to {} is also the gateway or a load-balancer endpoint (host {n})",
                seen[&reserved]
            );
        }
    }
    let (first_on_3, ip) = names
        .iter()
        .find(|(n, _)| *n == 3)
        .map(|(_, name)| (name, c.network_address(3, name).unwrap()))
        .unwrap();
    c.reach(1, &names[0].1, ip, Duration::from_secs(10));
    eprintln!(
        "{} allocated addresses, all unique: {:?}; host 1 reached {first_on_3} at {ip}",
        seen.len(),
        seen.keys().collect::<Vec<_>>()
    );
}

/// The network's gateway and the load-balancer endpoint (`lb-<network>`) host `n` has,
/// from `docker network inspect` there.
fn reserved_addresses(c: &Cluster, n: usize) -> Vec<Ipv4Addr> {
    let text = c.docker_ok(n, &["network", "inspect", &c.network]);
    let v: serde_json::Value = serde_json::from_str(&text).expect("network inspect is JSON");
    let net = &v[0];
    let mut all = Vec::new();
    for cfg in net["IPAM"]["Config"].as_array().into_iter().flatten() {
        if let Some(gw) = cfg["Gateway"].as_str().and_then(|g| g.parse().ok()) {
            all.push(gw);
        }
    }
    for (key, ep) in net["Containers"].as_object().into_iter().flatten() {
        if key.starts_with("lb-") {
            let addr = ep["IPv4Address"].as_str().and_then(Cidr::parse);
            all.extend(addr.map(|a| a.addr));
        }
    }
    all
}
