//! A burst: 100 containers with distinct WEAVE_CIDR addresses started at once through the
//! proxy (100 `docker run --rm` processes in parallel; events on, so every start is
//! attached twice, by the start hook and by the `start` event, under the container's
//! lock). Every app runs exactly once and its first instruction sees its own address;
//! afterwards nothing is left: no container, no host-side veth of those containers, no
//! port on the bridge, and no per-container attach lock (the proxy's debug log accounts
//! for its lock map).
//!
//! Wall time and the proxy's peak RSS are printed, not asserted; `make bench-burst` sets
//! them beside the same burst of plain `docker run`s.

use std::collections::BTreeMap;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use e2e::docker::{docker_ok, unique, Cleanup};
use e2e::netns::eventually;
use e2e::private::{bridge_ports, link_index};
use e2e::proxy::{busybox_image, listens, Proxy, TempDir};

use crate::weave::{Weave, WAITER};

/// Containers in the burst.
const BURST: usize = 100;

/// The app: one line, its WEAVE_CIDR and how many times its first instruction sees that
/// address on `ethwe` (1 when attached before it ran).
const APP: &str =
    "echo \"RUN $WEAVE_CIDR $(ip -4 -o addr show ethwe 2>/dev/null | grep -c \"inet $WEAVE_CIDR \")\"";

/// The address of container `i`: 10.255.1.1/16, 10.255.1.2/16, …
fn cidr(i: usize) -> String {
    format!("10.255.{}.{}/16", 1 + i / 250, 1 + i % 250)
}

/// `attached container NAME (ID, pid PID)` lines of the proxy's log: name → host pids.
fn attached_pids(log: &str) -> BTreeMap<String, Vec<u32>> {
    let mut found: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for line in log.lines() {
        let Some(rest) = line.split("attached container ").nth(1) else {
            continue;
        };
        let Some((name, tail)) = rest.split_once(' ') else {
            continue;
        };
        let pid = tail
            .split("pid ")
            .nth(1)
            .and_then(|p| p.trim_end_matches(')').parse().ok());
        if let Some(pid) = pid {
            found.entry(name.to_string()).or_default().push(pid);
        }
    }
    found
}

/// `held=N` of the last debug line about the attach lock map, and how many such lines.
fn lock_report(log: &str) -> (usize, Option<usize>) {
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("attach lock") && l.contains("held="))
        .collect();
    let held = lines.last().and_then(|l| {
        l.split("held=")
            .nth(1)?
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    });
    (lines.len(), held)
}

#[test]
fn a_burst_of_100_runs_every_app_once_with_its_address_and_leaves_nothing() {
    let Some(w) = Weave::setup() else { return };
    let label = format!("pw.test={}", unique("burst"));
    let dir = TempDir::new("proxy-burst");
    let host = format!("unix://{}", dir.join("proxy.sock").display());
    let p = Proxy::start_logged(
        "info,adapter=debug",
        &host,
        &[
            "--listen",
            &host,
            "--attach",
            "bridge",
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
        listens,
    );
    let image = busybox_image();
    let idle_rss = p.peak_rss_kib().unwrap_or(0);
    let mut cleanup = Cleanup::default();
    let names: Vec<String> = (0..BURST).map(|_| cleanup.add(unique("burst"))).collect();

    let start = Instant::now();
    let children: Vec<Child> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            Command::new("timeout")
                .args(["-k", "5", "300", "docker", "run", "--rm", "--name", name])
                .args(["--label", &label, "-e", &format!("WEAVE_CIDR={}", cidr(i))])
                .args([image, "sh", "-c", APP])
                .env("DOCKER_HOST", &p.host)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("docker run")
        })
        .collect();
    // Each writes one short line: no pipe fills while the others are waited for.
    let outs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait for docker run"))
        .collect();
    let wall = start.elapsed();
    let peak_rss = p.peak_rss_kib().unwrap_or(0);
    eprintln!(
        "burst of {BURST} `docker run --rm` through the proxy: {:.1} s wall; proxy VmHWM {idle_rss} KiB idle, {peak_rss} KiB after",
        wall.as_secs_f64()
    );

    // Every check runs and reports, so one failure does not hide another.
    let mut problems = Vec::new();
    let mut wrong = Vec::new();
    for (i, out) in outs.iter().enumerate() {
        let expected = format!("RUN {} 1\n", cidr(i));
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || stdout != expected {
            wrong.push(format!(
                "  {} ({}): {}, stdout {stdout:?}, stderr {:?}",
                names[i],
                cidr(i),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    if !wrong.is_empty() {
        problems.push(format!(
            "{} of {BURST} runs did not print their address exactly once, or failed:\n{}",
            wrong.len(),
            wrong.join("\n")
        ));
    }

    // Nothing left: containers, veths, bridge ports.
    let left = docker_ok(&["ps", "-aq", "--filter", &format!("label={label}")]);
    if !left.is_empty() {
        problems.push(format!("containers left behind: {left}"));
    }
    let attached = attached_pids(&p.log_text());
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| !attached.contains_key(*n))
        .collect();
    if !missing.is_empty() {
        problems.push(format!("the proxy's log has no attach of {missing:?}"));
    }
    let pids: Vec<u32> = attached.values().flatten().copied().collect();
    let veth_left = |pids: &[u32]| -> Vec<String> {
        pids.iter()
            .map(|pid| format!("vethwepl{pid}"))
            .filter(|v| link_index(v).is_some())
            .collect()
    };
    if !eventually(Duration::from_secs(15), || veth_left(&pids).is_empty()) {
        problems.push(format!(
            "host-side veths left behind: {:?}",
            veth_left(&pids)
        ));
    }
    if !eventually(Duration::from_secs(15), || {
        bridge_ports(&w.bridge).is_empty()
    }) {
        problems.push(format!(
            "ports left on bridge {}: {:?}",
            w.bridge,
            bridge_ports(&w.bridge)
        ));
    }

    // No lock: once the proxy is idle, its lock map is empty again.
    let quiet = eventually(Duration::from_secs(15), || {
        lock_report(&p.log_text()).1 == Some(0)
    });
    let (reports, held) = lock_report(&p.log_text());
    if !(quiet && reports >= BURST) {
        problems.push(format!(
            "the proxy's debug log does not show its attach lock map empty after the burst: \
             {reports} line(s) with \"attach lock … held=N\" (at least one per attach \
             expected), last held={held:?}"
        ));
    }
    assert!(
        problems.is_empty(),
        "{} problem(s) after the burst:\n{}\n\nproxy log (attaches that failed, kills):\n{}",
        problems.len(),
        problems.join("\n"),
        p.log_text()
            .lines()
            .filter(|l| l.contains("ERROR")
                || l.contains("WARN")
                || l.contains("ended during its attach"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
