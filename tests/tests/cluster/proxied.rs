//! The product across hosts: the vanilla CLI through one `powerstrip-weave proxy --attach
//! network:wnet` per host (docs/design.md §10), on the swarm's attachable overlay.
//! - exact addresses on hosts 2 and 3 reach each other, and an app's first instruction on
//!   host 2 reaches a server on host 3;
//! - Docker's allocations from 3 hosts x 5 containers at once are unique, inside the
//!   subnet, and pinned;
//! - what the network cannot give is refused at create, also on a worker that does not
//!   show the overlay yet (a probe container learns its subnet);
//! - `--restart=always` containers keep the network and the address across `docker
//!   restart`, a crash, and their worker's dockerd restarted, with nothing connected twice;
//! - the manager stopped: a new connect fails with Docker's reason, the container is
//!   killed and its app never runs; on a worker not showing the overlay, the create is
//!   refused with the probe's reason.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::thread;
use std::time::{Duration, Instant};

use e2e::cluster::{self, Cluster, BUSYBOX};
use e2e::docker::unique;
use e2e::netns::eventually;
use e2e::proxy::stderr;

use crate::proxies::Proxies;

const EXAMPLE: &str = "weavewait-example:latest";
/// Bound on a fresh endpoint answering from another host (gossip spreads it).
const REACH: Duration = Duration::from_secs(10);

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

pub fn exact_addresses_and_the_first_instruction(c: &Cluster) {
    let p = Proxies::start(c);
    let mut guard = c.containers();
    let (a, b) = (unique("px-a"), unique("px-b"));
    let sleeper = [BUSYBOX, "sleep", "3600"];
    let start = Instant::now();
    p.run_ok(&mut guard, 2, &a, "10.255.1.2/16", &[], &sleeper);
    p.run_ok(&mut guard, 3, &b, "10.255.1.3/16", &[], &sleeper);
    eprintln!(
        "two proxied docker run -d with exact addresses: {:.0} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    for (n, name, want) in [(2, &a, "10.255.1.2"), (3, &b, "10.255.1.3")] {
        assert_eq!(p.endpoint(n, name), Some((ip(want), Some(ip(want)))));
    }
    let first = c.reach(2, &a, ip("10.255.1.3"), REACH);
    c.reach(3, &b, ip("10.255.1.2"), REACH);
    let rtt = c.ping_ok(2, &a, ip("10.255.1.3"), 3);
    eprintln!(
        "host 2 -> host 3 through the proxies' endpoints: first answer after {:.0} ms, avg {:.3} ms",
        first.as_secs_f64() * 1e3,
        rtt.avg
    );

    // The app's very first instruction on host 2 reaches a server on host 3 (one try).
    let (srv, cli) = (unique("px-srv"), unique("px-cli"));
    let serve = [EXAMPLE, "--iface", "any", "--serve", "7000"];
    p.run_ok(&mut guard, 3, &srv, "10.255.1.13/16", &[], &serve);
    let reach = "10.255.1.13:7000";
    let client = [EXAMPLE, "--iface", "any", "--reach", reach];
    p.run_ok(&mut guard, 2, &cli, "10.255.1.12/16", &[], &client);
    assert_eq!(c.docker_ok(2, &["wait", &cli]), "0", "{}", logs(c, 2, &cli));
    let out = logs(c, 2, &cli);
    assert!(
        out.contains("inet 10.255.1.12/16")
            && out.contains(&format!("reached {reach} at the first try: hello from "))
            && out.contains("10.255.1.13"),
        "the first instruction on host 2 did not reach host 3: {out}"
    );
    eprintln!("{}", out.trim());
}

pub fn allocation_through_the_proxies(c: &Cluster) {
    const PER_HOST: usize = 5;
    let p = Proxies::start(c);
    let mut guard = c.containers();
    let names: Vec<(usize, String)> = (1..=3)
        .flat_map(|n| (0..PER_HOST).map(move |i| (n, unique(&format!("px-alloc-h{n}-{i}")))))
        .collect();
    for (n, name) in &names {
        guard.add(*n, name.clone());
    }
    let start = Instant::now();
    // Every container of every host at once.
    let outs: Vec<_> = thread::scope(|s| {
        let runs: Vec<_> = names
            .iter()
            .map(|(n, name)| {
                let p = &p;
                s.spawn(move || {
                    (
                        *n,
                        name,
                        p.run(*n, name, "", &[], &[BUSYBOX, "sleep", "3600"]),
                    )
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let took = start.elapsed();
    for (n, name, out) in &outs {
        p.on(*n).check(&["run", name], out);
    }
    let subnet = c.subnet();
    let mut seen: BTreeMap<Ipv4Addr, String> = BTreeMap::new();
    for (n, name) in &names {
        let (addr, asked) = p
            .endpoint(*n, name)
            .unwrap_or_else(|| panic!("{name} on host {n} is not on {}", c.network));
        assert!(subnet.contains(addr), "{name}: {addr} outside {subnet}");
        assert_eq!(asked, Some(addr), "{name}: the allocation is not pinned");
        let inside: Vec<_> = c.interfaces(*n, name);
        assert!(
            inside
                .iter()
                .any(|(_, cidr)| cidr.addr == addr && cidr.prefix == subnet.prefix),
            "{name}: Docker says {addr}, inside: {inside:?}"
        );
        if let Some(other) = seen.insert(addr, format!("{name} on host {n}")) {
            panic!("{addr} given twice: to {other} and to {name} on host {n}");
        }
    }
    let (last, _) = seen.iter().next_back().unwrap();
    c.reach(1, &names[0].1, *last, REACH);
    eprintln!(
        "{} proxied allocations in {:.1} s, all unique and pinned: {:?}",
        seen.len(),
        took.as_secs_f64(),
        seen.keys().collect::<Vec<_>>()
    );
}

pub fn refused_at_create(c: &Cluster) {
    let p = Proxies::start(c);
    // Host 2 shows the overlay only while one of its containers is on it.
    let shown = c
        .docker(2, &["network", "inspect", &c.network])
        .status
        .success();
    for (n, value, needle) in [
        (
            2,
            "10.255.1.50/24",
            "item \"10.255.1.50/24\" asks for prefix /24, but the network's subnet is 10.255.0.0/16",
        ),
        (1, "10.254.1.50/16", "lies outside the network's subnets (10.255.0.0/16)"),
        (3, "net:10.255.1.0/24", "Docker allocates from 10.255.0.0/16"),
    ] {
        let name = unique("px-refused");
        let env = format!("WEAVE_CIDR={value}");
        let out = p.on(n).docker(&[
            "run", "-d", "--name", &name, "--label", &p.label, "-e", &env, BUSYBOX, "true",
        ]);
        let err = stderr(&out);
        assert!(!out.status.success(), "host {n}: {value} was accepted");
        assert!(err.contains(needle) && err.contains("wnet"), "host {n}: {err}");
        let listed = c.docker_ok(n, &["ps", "-aq", "--filter", &format!("name={name}")]);
        assert_eq!(listed, "", "host {n}: {value} created a container");
    }
    if !shown {
        let log = p.on(2).log_text();
        assert!(
            log.contains("a probe container learned its subnets 10.255.0.0/16"),
            "{log}"
        );
    }
    let left = c.docker_ok(
        2,
        &["ps", "-aq", "--filter", "label=powerstrip-weave.probe"],
    );
    assert_eq!(left, "", "a probe container was left on host 2");
}

pub fn restarts_keep_network_and_address(c: &Cluster) {
    // Host 3's dockerd was restarted by the scenario before: this one restarts host 2's.
    const WORKER: usize = 2;
    const PEER: usize = 3;
    let p = Proxies::start(c);
    let mut guard = c.containers();
    let (fixed, alloc, peer) = (unique("px-fixed"), unique("px-alloc"), unique("px-peer"));
    let sleeper = [BUSYBOX, "sleep", "3600"];
    p.run_ok(
        &mut guard,
        WORKER,
        &fixed,
        "10.255.1.71/16",
        &["--restart=always"],
        &sleeper,
    );
    p.run_ok(
        &mut guard,
        WORKER,
        &alloc,
        "net:default",
        &["--restart=always"],
        &sleeper,
    );
    p.run_ok(&mut guard, PEER, &peer, "10.255.1.73/16", &[], &sleeper);
    let (alloc_ip, _) = p.endpoint(WORKER, &alloc).expect("allocated");
    let addresses = |when: &str| {
        for (name, want) in [(&fixed, ip("10.255.1.71")), (&alloc, alloc_ip)] {
            assert_eq!(
                p.endpoint(WORKER, name).map(|e| e.0),
                Some(want),
                "{name} after {when}"
            );
            c.reach(PEER, &peer, want, REACH);
        }
    };
    // `State.Running` is also true while Docker waits to restart it: ask for the status.
    let running = |name: &str, restarts: u32| {
        eventually(Duration::from_secs(60), || {
            let f = "{{.RestartCount}} {{.State.Status}}";
            c.docker(WORKER, &["inspect", "--format", f, name]).stdout
                == format!("{restarts} running\n").into_bytes()
        })
    };

    p.on(WORKER)
        .docker_ok(&["restart", "-t", "1", &fixed, &alloc]);
    addresses("docker restart");

    for name in [&fixed, &alloc] {
        let pid = c.docker_ok(WORKER, &["inspect", "--format", "{{.State.Pid}}", name]);
        let st = std::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .unwrap();
        assert!(st.success());
    }
    for name in [&fixed, &alloc] {
        assert!(running(name, 1), "{name} was not restarted by its policy");
    }
    addresses("a crash");

    let stop = c.stop_daemon(WORKER);
    let start = c.start_daemon(WORKER);
    eprintln!(
        "host {WORKER}: dockerd stopped in {:.1} s, back in the swarm in {:.1} s",
        stop.as_secs_f64(),
        start.as_secs_f64()
    );
    for name in [&fixed, &alloc] {
        assert!(
            eventually(Duration::from_secs(60), || {
                c.docker(WORKER, &["inspect", "--format", "{{.State.Status}}", name])
                    .stdout
                    == b"running\n"
            }),
            "{name} is not running again after its dockerd came back"
        );
    }
    addresses("the worker's dockerd restarted");
    // Docker attached them at every start: the proxy connected each once (the allocation
    // twice: allocate, then pin), and its events follower never again.
    assert_eq!(
        p.connects(WORKER, &fixed).len(),
        1,
        "{:#?}",
        p.connects(WORKER, &fixed)
    );
    assert_eq!(
        p.connects(WORKER, &alloc).len(),
        2,
        "{:#?}",
        p.connects(WORKER, &alloc)
    );
    eprintln!(
        "{fixed} kept 10.255.1.71 and {alloc} kept its allocated {alloc_ip} across docker \
         restart, a crash and a dockerd restart"
    );
}

pub fn manager_stopped(c: &Cluster) {
    const MANAGER: usize = 1;
    let p = Proxies::start(c);
    let mut guard = c.containers();
    // Host 2 shows the overlay (a container of its own is on it); host 3 does not.
    let holder = unique("px-holder");
    p.run_ok(
        &mut guard,
        2,
        &holder,
        "10.255.1.90/16",
        &[],
        &[BUSYBOX, "sleep", "3600"],
    );
    let shown_on_3 = c
        .docker(3, &["network", "inspect", &c.network])
        .status
        .success();
    c.stop_daemon(MANAGER);
    // The manager back for the scenarios after this one, also when this one fails.
    let _back = ManagerBack(c, MANAGER);

    let (exact, alloc, fresh) = (
        unique("px-nomgr-x"),
        unique("px-nomgr-a"),
        unique("px-nomgr-3"),
    );
    for (n, name) in [(2, &exact), (2, &alloc), (3, &fresh)] {
        guard.add(n, name.clone());
    }
    let app = [EXAMPLE, "--iface", "any"];
    let outs: Vec<_> = thread::scope(|s| {
        let runs: Vec<_> = [
            (2, &exact, "10.255.1.91/16"),
            (2, &alloc, ""),
            (3, &fresh, "10.255.1.92/16"),
        ]
        .into_iter()
        .map(|(n, name, cidr)| {
            let (p, app) = (&p, &app);
            s.spawn(move || {
                let t = Instant::now();
                let out = p.run(n, name, cidr, &[], app);
                (n, name, out, t.elapsed())
            })
        })
        .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    for (n, name, out, took) in &outs {
        let err = stderr(out);
        eprintln!(
            "without a manager, host {n}: {name} failed after {:.1} s: {}",
            took.as_secs_f64(),
            err.trim()
        );
        assert!(!out.status.success(), "{name} ran without a manager");
        assert_ne!(out.status.code(), Some(124), "docker run hung");
        assert!(
            err.contains("Could not attach to network wnet")
                && err.contains("context deadline exceeded"),
            "host {n}: {err}"
        );
    }
    for name in [&exact, &alloc] {
        assert!(
            stderr(&outs.iter().find(|o| o.1 == name).unwrap().2)
                .contains(&format!("container {name} (")),
            "{name}"
        );
        let state = c.docker_ok(
            2,
            &[
                "inspect",
                "--format",
                "{{.State.Running}} {{.State.ExitCode}}",
                name,
            ],
        );
        assert_eq!(state, "false 137", "{name}");
        let log = logs(c, 2, name);
        assert_eq!(e2e::app_output(&log), "", "{name}'s app ran: {log}");
        assert_eq!(p.endpoint(2, name), None, "{name} is on the overlay");
    }
    // Host 3 did not show the overlay: the create's probe could not join it, so nothing
    // was created.
    if !shown_on_3 {
        let listed = c.docker_ok(3, &["ps", "-aq", "--filter", &format!("name={fresh}")]);
        assert_eq!(listed, "", "{fresh} was created on host 3");
    }
    network_bound_reached(c, &mut guard);
}

/// The backend's own bound on a connect (`network`, docs/design.md §9), set below the 20 s
/// Docker waits for the manager: `attach --attach network:wnet` on host 2 fails at the
/// bound, naming the daemon and the network, and leaves the container off the overlay.
fn network_bound_reached(c: &Cluster, guard: &mut cluster::Containers<'_>) {
    let name = unique("px-nomgr-bound");
    guard.add(2, name.clone());
    c.docker_ok(2, &["run", "-d", "--name", &name, BUSYBOX, "sleep", "3600"]);
    let t = Instant::now();
    let out = std::process::Command::new("timeout")
        .args(["-k", "5", "30"])
        .arg(e2e::proxy::binary())
        .args([
            "attach",
            "--attach",
            "network:wnet",
            "10.255.1.95/16",
            &name,
        ])
        .env("DOCKER_HOST", &c.host(2).docker_host)
        .env("POWERSTRIP_WEAVE_BOUNDS", "network=2s")
        .output()
        .expect("powerstrip-weave attach runs");
    let (took, err) = (t.elapsed(), stderr(&out));
    eprintln!(
        "without a manager, attach with network=2s failed after {:.1} s: {}",
        took.as_secs_f64(),
        err.trim()
    );
    assert!(!out.status.success(), "attached without a manager");
    assert!(
        err.contains(&format!("container {name} ("))
            && err.contains("cannot connect it to network wnet")
            && err.contains(&format!(
                "the Docker daemon at {} did not answer within 2s",
                c.host(2).docker_host
            )),
        "{err}"
    );
}

/// Starts host `.1`'s dockerd again when dropped.
struct ManagerBack<'a>(&'a Cluster, usize);

impl Drop for ManagerBack<'_> {
    fn drop(&mut self) {
        let n = self.1.to_string();
        let out = cluster::run_script(&["start", &self.0.id, &n], cluster::DOWN_TIMEOUT);
        if !out.status.success() {
            eprintln!(
                "host {n}: dockerd did not start again: {}",
                e2e::output_text(&out)
            );
        }
    }
}

fn logs(c: &Cluster, n: usize, name: &str) -> String {
    e2e::output_text(&c.docker(n, &["logs", name]))
}
