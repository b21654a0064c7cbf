//! One holder per address on the bridge backend, through the proxy with the vanilla docker
//! CLI: a create or start asking for an address a running container holds is refused with
//! 409 naming both, and its app never runs; a stopped holder frees it; of two runs racing
//! for one address (through one proxy or two) exactly one runs; the kernel's view catches a
//! holder Docker does not know of; a container its restart policy restarts keeps its
//! address.

use std::process::Output;
use std::time::{Duration, Instant};

use e2e::docker::{docker, docker_ok, unique, Cleanup};
use e2e::proxy::{busybox_image, stderr, stdout, Proxy};

use crate::weave::{Weave, WAITER};

/// `docker run -d --name NAME -e WEAVE_CIDR=CIDR busybox sleep 60` through `p`: a holder.
fn hold(p: &Proxy, name: &str, cidr: &str) {
    let env = format!("WEAVE_CIDR={cidr}");
    p.docker_ok(&[
        "run",
        "-d",
        "--name",
        name,
        "-e",
        &env,
        busybox_image(),
        "sleep",
        "60",
    ]);
}

/// `docker run --name NAME -e WEAVE_CIDR=CIDR busybox sh -c 'echo APP-RAN; sleep S'`.
fn run_app(p: &Proxy, name: &str, cidr: &str, sleep: &str) -> Output {
    let env = format!("WEAVE_CIDR={cidr}");
    let app = format!("echo APP-RAN; sleep {sleep}");
    p.docker(&[
        "run",
        "--name",
        name,
        "-e",
        &env,
        busybox_image(),
        "sh",
        "-c",
        &app,
    ])
}

/// Asserts that `out` is the CLI refused with the address and its holder named, and the
/// app did not run.
fn assert_refused(out: &Output, address: &str, holder: &str) {
    let err = stderr(out);
    assert!(!out.status.success(), "ran: {}", stdout(out));
    assert!(
        err.contains(&format!(
            "address {address} is already held by container {holder} ("
        )),
        "stderr: {err}"
    );
    assert!(
        !stdout(out).contains("APP-RAN"),
        "the app ran: {}",
        stdout(out)
    );
}

fn exists(name: &str) -> bool {
    !docker_ok(&["ps", "-a", "-q", "--filter", &format!("name=^{name}$")]).is_empty()
}

#[test]
fn a_held_address_is_refused_at_create_until_its_holder_stops() {
    let Some(w) = Weave::setup() else { return };
    let p = w.proxy(&[]);
    let mut c = Cleanup::default();
    let (a, b) = (c.add(unique("holder-a")), c.add(unique("holder-b")));
    hold(&p, &a, "10.255.21.11/24");
    // Another prefix length is the same address on the segment.
    let out = run_app(&p, &b, "10.255.21.11/16", "0");
    assert_refused(&out, "10.255.21.11", &a);
    assert!(!exists(&b), "the refused create left a container");

    // A stopped container holds nothing.
    docker_ok(&["stop", "-t", "0", &a]);
    let out = run_app(&p, &b, "10.255.21.11/24", "0");
    p.check(&["run", &b], &out);
    assert_eq!(stdout(&out), "APP-RAN");
}

#[test]
fn a_start_is_refused_when_the_holder_came_after_the_create() {
    let Some(w) = Weave::setup() else { return };
    let p = w.proxy(&[]);
    let mut c = Cleanup::default();
    let (a, b) = (c.add(unique("late-a")), c.add(unique("late-b")));
    p.docker_ok(&[
        "create",
        "--name",
        &b,
        "-e",
        "WEAVE_CIDR=10.255.21.12/24",
        busybox_image(),
        "echo",
        "APP-RAN",
    ]);
    hold(&p, &a, "10.255.21.12/24");
    let out = p.docker(&["start", "-a", &b]);
    assert_refused(&out, "10.255.21.12", &a);
    // Refused before Docker was asked: never started, nothing in its log.
    let started = docker_ok(&["inspect", "--format", "{{.State.StartedAt}}", &b]);
    assert!(started.starts_with("0001-01-01"), "started at {started}");
    assert_eq!(docker_ok(&["logs", &b]), "");

    docker_ok(&["rm", "-f", &a]);
    let out = p.docker(&["start", "-a", &b]);
    p.check(&["start", "-a", &b], &out);
    assert_eq!(stdout(&out), "APP-RAN");
}

/// Runs two apps asking for `cidr` at once, through `p1` and `p2`; asserts exactly one
/// ran and the other was refused naming the address.
fn race(p1: &Proxy, p2: &Proxy, cidr: &str, round: usize) {
    let mut c = Cleanup::default();
    let (n1, n2) = (c.add(unique("race")), c.add(unique("race")));
    let (o1, o2) = std::thread::scope(|s| {
        let t1 = s.spawn(|| run_app(p1, &n1, cidr, "4"));
        let t2 = s.spawn(|| run_app(p2, &n2, cidr, "4"));
        (t1.join().unwrap(), t2.join().unwrap())
    });
    let ran = [&o1, &o2]
        .iter()
        .filter(|o| o.status.success() && stdout(o) == "APP-RAN")
        .count();
    let address = cidr.split('/').next().unwrap();
    let refused = [&o1, &o2]
        .iter()
        .filter(|o| {
            !o.status.success() && stderr(o).contains(&format!("address {address} is already held"))
        })
        .count();
    assert_eq!(
        (ran, refused),
        (1, 1),
        "round {round}:\n1: {:?} {} {}\n2: {:?} {} {}\nproxy logs:\n{}\n{}",
        o1.status,
        stdout(&o1),
        stderr(&o1),
        o2.status,
        stdout(&o2),
        stderr(&o2),
        p1.log_text(),
        p2.log_text()
    );
}

#[test]
fn of_two_runs_racing_for_one_address_exactly_one_runs() {
    let Some(w) = Weave::setup() else { return };
    let p = w.proxy(&[]);
    for round in 0..3 {
        race(&p, &p, "10.255.21.13/24", round);
    }
    // Two proxies on one daemon and one bridge: the same guarantee.
    let q = w.proxy(&[]);
    for round in 3..6 {
        race(&p, &q, "10.255.21.14/24", round);
    }
}

#[test]
fn the_bridge_itself_refuses_an_address_docker_does_not_know_is_held() {
    let Some(w) = Weave::setup() else { return };
    let p = w.proxy(&[]);
    let mut c = Cleanup::default();
    let (plain, b) = (c.add(unique("plain")), c.add(unique("kernel-b")));
    // A container Docker knows nothing weave about, given the address by hand.
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &plain,
        busybox_image(),
        "sleep",
        "60",
    ]);
    let attach = std::process::Command::new(e2e::proxy::binary())
        .args(["attach", "--bridge", &w.bridge, "--no-firewall"])
        .args(["10.255.21.15/24", &plain])
        .env("DOCKER_HOST", e2e::docker::host())
        .output()
        .unwrap();
    assert!(attach.status.success(), "{attach:?}");
    let pid = docker_ok(&["inspect", "--format", "{{.State.Pid}}", &plain]);

    let out = run_app(&p, &b, "10.255.21.15/24", "0");
    let err = stderr(&out);
    assert!(!out.status.success(), "ran: {}", stdout(&out));
    assert!(
        err.contains(&format!(
            "address 10.255.21.15 is already held by the ethwe of process {pid} on bridge {}",
            w.bridge
        )),
        "stderr: {err}\nproxy log: {}",
        p.log_text()
    );
    // Created, started, then stopped before its app: the reason is in its log.
    let state = docker_ok(&[
        "inspect",
        "--format",
        "{{.State.Running}} {{.State.ExitCode}}",
        &b,
    ]);
    assert_eq!(state, "false 137");
    let log = e2e::output_text(&docker(&["logs", &b]));
    assert!(
        log.contains("powerstrip-weave: stopped before its app ran")
            && log.contains("address 10.255.21.15 is already held"),
        "log of {b}: {log}"
    );
    assert!(!log.contains("APP-RAN"), "the app ran: {log}");
}

#[test]
fn a_container_restarted_by_its_policy_keeps_its_address() {
    let Some(w) = Weave::setup() else { return };
    let label = format!("pw.test={}", unique("scope"));
    // The events follower (scoped to this test's label) attaches each restart.
    let dir = e2e::proxy::TempDir::new("proxy-restart");
    let sock = dir.join("p.sock");
    let host = format!("unix://{}", sock.display());
    let p = Proxy::start_with(
        &host,
        &[
            "--listen",
            &host,
            "--bridge",
            &w.bridge,
            "--no-firewall",
            "--volume-container",
            &w.volume,
            "--label",
            &label,
            "--waiter",
            WAITER,
        ],
        move |_| e2e::proxy::listens(&format!("unix://{}", sock.display())),
    );
    let mut c = Cleanup::default();
    let (a, b) = (c.add(unique("restarts")), c.add(unique("thief")));
    // Each run says whether it has its address, then fails at once: Docker restarts it with
    // a growing delay, during which it is "restarting".
    let app = "echo RUN-$(ip -4 -o addr show ethwe | grep -c 'inet 10.255.21.16/24'); exit 1";
    p.docker_ok(&[
        "run",
        "-d",
        "--name",
        &a,
        "--restart",
        "always",
        "--label",
        &label,
        "-e",
        "WEAVE_CIDR=10.255.21.16/24",
        busybox_image(),
        "sh",
        "-c",
        app,
    ]);
    let state = |f: &str| docker_ok(&["inspect", "--format", f, &a]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while state("{{.RestartCount}}").parse::<u32>().unwrap_or(0) < 4 {
        assert!(
            Instant::now() < deadline,
            "{a} did not restart: {}",
            p.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // While Docker restarts it, another container asking for its address is refused.
    let mut seen_restarting = false;
    for _ in 0..5 {
        while state("{{.State.Restarting}}") != "true" {
            assert!(Instant::now() < deadline, "{a} never restarting");
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = p.docker(&[
            "run",
            "--name",
            &b,
            "--label",
            &label,
            "-e",
            "WEAVE_CIDR=10.255.21.16/24",
            busybox_image(),
            "echo",
            "APP-RAN",
        ]);
        assert_refused(&out, "10.255.21.16", &a);
        if stderr(&out).contains("restarting) on bridge") {
            seen_restarting = true;
            break;
        }
    }
    assert!(seen_restarting, "never refused while {a} was restarting");
    // Every run of the holder had its address before its first instruction.
    let runs = state("{{.RestartCount}}").parse::<usize>().unwrap() + 1;
    let deadline = Instant::now() + Duration::from_secs(30);
    let log = loop {
        let log = docker_ok(&["logs", &a]);
        if log.matches("RUN-").count() >= runs || Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!log.contains("RUN-0"), "a run without its address:\n{log}");
    assert!(log.matches("RUN-1").count() >= runs, "{runs} runs:\n{log}");
}

#[test]
fn an_attached_holder_keeps_its_address_against_a_container_left_waiting() {
    let Some(w) = Weave::setup() else { return };
    let label = format!("pw.test={}", unique("scope"));
    let p = w.proxy(&[]);
    let mut c = Cleanup::default();
    let cidr = "WEAVE_CIDR=10.255.21.17/24";
    let create = |name: &str| {
        p.docker_ok(&[
            "create",
            "--name",
            name,
            "--label",
            &label,
            "-e",
            cidr,
            busybox_image(),
            "sleep",
            "60",
        ])
    };
    // Two containers for one address, the waiting one first in the order of racing
    // attaches (a lower id), so only "attached already" can keep the holder's address.
    let (holder, waiting) = loop {
        let (a, b) = (c.add(unique("attached")), c.add(unique("waiting")));
        let (ia, ib) = (create(&a), create(&b));
        if ib < ia {
            break (a, b);
        }
    };
    p.docker_ok(&["start", &holder]);
    // Started behind the proxy's back, with no follower: it waits for ethwe.
    docker_ok(&["start", &waiting]);
    // A follower starting up attaches every running container still waiting, and the
    // attached one again (which changes nothing).
    let dir = e2e::proxy::TempDir::new("proxy-scan");
    let sock = dir.join("p.sock");
    let host = format!("unix://{}", sock.display());
    let follower = Proxy::start_with(
        &host,
        &[
            "--listen",
            &host,
            "--bridge",
            &w.bridge,
            "--no-firewall",
            "--volume-container",
            &w.volume,
            "--label",
            &label,
            "--waiter",
            WAITER,
        ],
        move |_| e2e::proxy::listens(&format!("unix://{}", sock.display())),
    );
    let refused = format!("address 10.255.21.17 is already held by container {holder} (");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !follower.log_text().contains(&refused) {
        assert!(Instant::now() < deadline, "{}", follower.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = follower.log_text();
    assert!(
        !log.contains(&format!("already held by container {waiting} (")),
        "the attached holder was refused:\n{log}"
    );
    let out = docker_ok(&["exec", &holder, "ip", "-4", "-o", "addr", "show", "ethwe"]);
    assert!(out.contains("inet 10.255.21.17/24"), "{out}");
}
