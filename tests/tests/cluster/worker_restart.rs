//! A worker's dockerd stopped (SIGTERM, as a service manager stops it) and started again
//! while its containers run, and what Docker 20.10 does with their overlay endpoints:
//! - without live-restore the daemon stops its containers on the way down;
//! - `--restart=always` with an exact address (`--ip`): running again, same address,
//!   reachable from another host;
//! - `--restart=always` with an allocated address: running again on the network, but with
//!   a new address: the old attachment is released and a new one allocated (the same
//!   happens on `docker restart` and on a restart after a crash);
//! - no restart policy: stays exited; `docker start` brings back its exact address.

use std::time::Duration;

use e2e::cluster::Cluster;
use e2e::docker::unique;
use e2e::netns::eventually;

const WORKER: usize = 3;
const PEER: usize = 2;
/// Bound on a restarted endpoint answering from another host.
const REACH: Duration = Duration::from_secs(10);

pub fn endpoints_after_a_worker_restart(c: &Cluster) {
    let mut guard = c.containers();
    let fixed = unique("restart-fixed");
    let alloc = unique("restart-alloc");
    let plain = unique("restart-plain");
    let peer = unique("restart-peer");
    c.run_sleeper(&mut guard, WORKER, &fixed, &["--restart=always"]);
    c.run_sleeper(&mut guard, WORKER, &alloc, &["--restart=always"]);
    c.run_sleeper(&mut guard, WORKER, &plain, &[]);
    c.run_sleeper(&mut guard, PEER, &peer, &[]);
    let net = &c.network;
    c.docker_ok(
        WORKER,
        &["network", "connect", "--ip", "10.255.0.71", net, &fixed],
    );
    c.docker_ok(WORKER, &["network", "connect", net, &alloc]);
    c.docker_ok(
        WORKER,
        &["network", "connect", "--ip", "10.255.0.72", net, &plain],
    );
    c.docker_ok(
        PEER,
        &["network", "connect", "--ip", "10.255.0.73", net, &peer],
    );
    let alloc_before = c
        .network_address(WORKER, &alloc)
        .expect("alloc has an address");

    let stop = c.stop_daemon(WORKER);
    let start = c.start_daemon(WORKER);
    eprintln!(
        "host {WORKER}: dockerd stopped in {:.1} s, back in the swarm in {:.1} s",
        stop.as_secs_f64(),
        start.as_secs_f64()
    );

    // `State.Running` is also true while Docker waits to restart a container (its network
    // not attached yet): ask for the status.
    let running = |name: &str| {
        c.docker_ok(WORKER, &["inspect", "--format", "{{.State.Status}}", name]) == "running"
    };
    for name in [&fixed, &alloc] {
        assert!(
            eventually(Duration::from_secs(60), || running(name)),
            "{name} (--restart=always) is not running again 60 s after dockerd came back"
        );
    }
    assert!(
        !running(&plain),
        "{plain} (no restart policy) runs again by itself"
    );

    // The exact address is back and reachable from the other host.
    let fixed_ip = "10.255.0.71".parse().unwrap();
    assert_eq!(c.network_address(WORKER, &fixed), Some(fixed_ip));
    c.reach(PEER, &peer, fixed_ip, REACH);

    // The allocated one: on the network, reachable, and new.
    let alloc_after = c
        .network_address(WORKER, &alloc)
        .expect("alloc is back on the network");
    assert!(
        c.subnet().contains(alloc_after),
        "{alloc_after} outside {}",
        c.subnet
    );
    c.reach(PEER, &peer, alloc_after, REACH);
    assert_ne!(
        alloc_before, alloc_after,
        "Docker {} kept the allocated {alloc_before} across a dockerd restart (20.10 allocates anew)",
        c.engine
    );

    // The container without a policy gets its exact address back when started.
    c.docker_ok(WORKER, &["start", &plain]);
    let plain_ip = "10.255.0.72".parse().unwrap();
    assert_eq!(c.network_address(WORKER, &plain), Some(plain_ip));
    c.reach(PEER, &peer, plain_ip, REACH);
    eprintln!(
        "after the restart: {fixed} kept 10.255.0.71; {alloc} moved {alloc_before} -> {alloc_after}; \
         {plain} exited, started again with 10.255.0.72"
    );
}
