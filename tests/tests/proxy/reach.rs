//! Peers reach a re-attached container at once (docs/design.md §5, the bridge backend):
//! `ethwe` keeps the MAC its address gives it, and its addresses are announced once the
//! link runs. A peer that only sends (its ARP cache warm from the container's previous
//! run) gets through on its very first ping after each way a container is attached again:
//! `docker restart` through the proxy, a restart-policy restart, a start behind the
//! proxy's back, a proxy that comes back to a waiting container; and a peer that cached
//! another MAC for the address is corrected by the announcement.

use std::process::Command;

use e2e::docker::{docker, docker_ok, unique, Cleanup};
use e2e::proxy::busybox_image;

use super::fixture::{logs, wait_until, Net, NetProxy};

const PEER_IP: &str = "10.77.0.1";
const TARGET_IP: &str = "10.77.0.2";

/// A peer and a target on one test's bridge, created through a proxy following events.
struct Pair {
    net: Net,
    proxy: Option<NetProxy>,
    peer: String,
    target: String,
    _cleanup: Cleanup,
}

impl Pair {
    /// The two containers, the target with `target_args` (e.g. a restart policy); the
    /// peer's ARP cache is warmed by pinging the target until it answers.
    fn new(target_args: &[&str]) -> Option<Pair> {
        let net = Net::setup()?;
        let proxy = net.proxy(&[], "info");
        let mut cleanup = Cleanup::default();
        let peer = cleanup.add(unique("reach-peer"));
        let target = cleanup.add(unique("reach-target"));
        let cidr = |ip: &str| format!("WEAVE_CIDR={ip}/24");
        proxy.docker_ok(&[
            "run",
            "-d",
            "--name",
            &peer,
            "--label",
            &net.label,
            "-e",
            &cidr(PEER_IP),
            busybox_image(),
            "sleep",
            "600",
        ]);
        let mut run = vec!["run", "-d", "--name", &target, "--label", &net.label];
        run.extend_from_slice(target_args);
        let env = cidr(TARGET_IP);
        run.extend_from_slice(&["-e", &env, busybox_image(), "sh", "-c"]);
        // It only answers: it never sends on its own.
        run.push("echo RUN; exec sleep 600");
        proxy.docker_ok(&run);
        let pair = Pair {
            net,
            proxy: Some(proxy),
            peer,
            target,
            _cleanup: cleanup,
        };
        wait_until(30, "the first ping to the target", || {
            pair.ping().status.success()
        });
        Some(pair)
    }

    fn proxy(&self) -> &NetProxy {
        self.proxy.as_ref().expect("a proxy runs")
    }

    /// One ping from the peer to the target, waiting at most 1 s for the answer.
    fn ping(&self) -> std::process::Output {
        docker(&["exec", &self.peer, "ping", "-c", "1", "-W", "1", TARGET_IP])
    }

    /// Waits until the target's app has started `runs` times (it runs only once attached).
    fn wait_for_run(&self, runs: usize) {
        wait_until(60, &format!("run {runs} of the target"), || {
            logs(&self.target).matches("RUN").count() == runs
        });
    }

    /// The target's first process, as the host sees it.
    fn pid(&self) -> String {
        docker_ok(&["inspect", "-f", "{{.State.Pid}}", &self.target])
    }

    /// Kills the target's process behind Docker's back (its restart policy restarts it).
    fn kill_target(&self) {
        let pid = self.pid();
        let killed = Command::new("kill").args(["-9", &pid]).status().unwrap();
        assert!(killed.success(), "kill -9 {pid}");
    }

    /// The peer's very first ping after the re-attach gets its answer within 1 s.
    fn assert_reached(&self, how: &str) {
        let out = self.ping();
        let log = self
            .proxy
            .as_ref()
            .map(|p| p.log_text())
            .unwrap_or_default();
        assert!(
            out.status.success(),
            "after {how}, the peer's first ping to {TARGET_IP} got no answer within 1 s:\n{}\
             peer's neighbour entry: {}\nproxy log:\n{log}",
            e2e::output_text(&out),
            self.neighbour()
        );
    }

    /// The peer's ARP entry for the target, for failure messages.
    fn neighbour(&self) -> String {
        e2e::output_text(&docker(&[
            "exec", &self.peer, "ip", "neigh", "show", TARGET_IP,
        ]))
    }
}

#[test]
fn a_peer_reaches_a_container_restarted_through_the_proxy_at_once() {
    let Some(pair) = Pair::new(&[]) else { return };
    pair.proxy()
        .docker_ok(&["restart", "-t", "0", &pair.target]);
    pair.wait_for_run(2);
    pair.assert_reached("docker restart");
}

#[test]
fn a_peer_reaches_a_container_its_restart_policy_restarted_at_once() {
    let Some(pair) = Pair::new(&["--restart=always"]) else {
        return;
    };
    pair.kill_target();
    pair.wait_for_run(2);
    pair.assert_reached("a restart-policy restart");
}

#[test]
fn a_peer_reaches_a_container_started_behind_the_proxys_back_at_once() {
    let Some(pair) = Pair::new(&[]) else { return };
    docker_ok(&["stop", "-t", "0", &pair.target]);
    docker_ok(&["start", &pair.target]);
    pair.wait_for_run(2);
    pair.assert_reached("a docker stop and start at the daemon");
}

#[test]
fn a_peer_reaches_a_container_a_returning_proxy_attached_at_once() {
    let Some(mut pair) = Pair::new(&["--restart=always"]) else {
        return;
    };
    // No follower: the restarted container waits, unreachable, until the proxy is back.
    drop(pair.proxy.take());
    pair.kill_target();
    wait_until(30, "the restart", || {
        docker_ok(&[
            "inspect",
            "-f",
            "{{.RestartCount}} {{.State.Running}}",
            &pair.target,
        ]) == "1 true"
    });
    assert_eq!(
        logs(&pair.target).matches("RUN").count(),
        1,
        "it ran unattached"
    );
    pair.proxy = Some(pair.net.proxy(&[], "info"));
    pair.wait_for_run(2);
    pair.assert_reached("the start-up attach of a returning proxy");
}

#[test]
fn a_peer_that_cached_another_mac_for_the_address_is_corrected_at_once() {
    let Some(pair) = Pair::new(&[]) else { return };
    // As when the address belonged to another container before: the peer holds another
    // MAC for it, confirmed (REACHABLE), which only the announcement replaces.
    let peer_pid = docker_ok(&["inspect", "-f", "{{.State.Pid}}", &pair.peer]);
    let set = Command::new("nsenter")
        .args(["-t", &peer_pid, "-n", "ip", "neigh", "replace", TARGET_IP])
        .args([
            "lladdr",
            "02:00:00:00:00:01",
            "dev",
            "ethwe",
            "nud",
            "reachable",
        ])
        .output()
        .expect("run nsenter");
    assert!(set.status.success(), "{}", e2e::output_text(&set));
    pair.proxy()
        .docker_ok(&["restart", "-t", "0", &pair.target]);
    pair.wait_for_run(2);
    pair.assert_reached("a restart, with another MAC cached for the address");
    assert!(
        !pair.neighbour().contains("02:00:00:00:00:01"),
        "{}",
        pair.neighbour()
    );
}
