//! The manager's dockerd stopped: a worker can no longer attach anything to the overlay.
//! `docker network connect` there fails with "Could not attach to network NAME: context
//! deadline exceeded", never hangs, and leaves the container off the network. Docker 20.10
//! gives up after 20 s per request and handles a worker's requests one after the other:
//! of two sent at once, the second fails after 40 s.

use std::thread;
use std::time::Instant;

use e2e::cluster::Cluster;
use e2e::docker::{unique, CALL_TIMEOUT_SECS};

const MANAGER: usize = 1;
const WORKER: usize = 2;

pub fn connect_fails_in_bounded_time(c: &Cluster) {
    let mut guard = c.containers();
    let exact = unique("nomgr-exact");
    let alloc = unique("nomgr-alloc");
    c.run_sleeper(&mut guard, WORKER, &exact, &[]);
    c.run_sleeper(&mut guard, WORKER, &alloc, &[]);
    c.stop_daemon(MANAGER);

    // Both forms at once: each must get its answer within the bound.
    let net = &c.network;
    let (with_ip, without_ip) = thread::scope(|s| {
        let a = s.spawn(|| {
            let start = Instant::now();
            let out = c.docker(
                WORKER,
                &["network", "connect", "--ip", "10.255.0.81", net, &exact],
            );
            (out, start.elapsed())
        });
        let b = s.spawn(|| {
            let start = Instant::now();
            let out = c.docker(WORKER, &["network", "connect", net, &alloc]);
            (out, start.elapsed())
        });
        (a.join().unwrap(), b.join().unwrap())
    });
    for ((out, took), name) in [(with_ip, &exact), (without_ip, &alloc)] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprintln!(
            "without a manager, connect of {name} failed after {:.1} s: {}",
            took.as_secs_f64(),
            stderr.trim()
        );
        assert_ne!(
            out.status.code(),
            Some(124),
            "docker network connect hung: still waiting after {CALL_TIMEOUT_SECS} s"
        );
        assert!(!out.status.success(), "{name} connected without a manager");
        assert!(
            stderr.contains(&format!("Could not attach to network {net}"))
                && stderr.contains("context deadline exceeded"),
            "unexpected error text: {stderr}"
        );
        assert_eq!(c.network_address(WORKER, name), None, "{name} is on {net}");
        let ifaces = c.interfaces(WORKER, name);
        assert!(
            ifaces
                .iter()
                .all(|(_, cidr)| !c.subnet().contains(cidr.addr)),
            "{name} has an address of {} inside: {ifaces:?}",
            c.subnet
        );
    }
}
