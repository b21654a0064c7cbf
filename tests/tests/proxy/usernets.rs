//! User-defined networks through the proxy with the vanilla docker CLI: a container on one
//! (by name or id) gets `ethwe` beside the interface Docker gave it before its app runs; a
//! container sharing the host's or another container's namespace is left alone, and the
//! CLI prints why its WEAVE_CIDR was ignored.

use e2e::docker::{docker, docker_ok, unique, Cleanup};
use e2e::proxy::{busybox_image, stderr, stdout};

use crate::weave::{assert_attached, Weave};

/// The app: its first instruction lists its IPv4 addresses.
const SHOW: &str = "ip -4 -o addr show";

/// A user-defined network, removed on drop (after the containers on it: declare it first).
struct Network {
    name: String,
    id: String,
}

impl Network {
    fn create(subnet: &str) -> Network {
        let name = unique("net");
        let id = docker_ok(&["network", "create", "--subnet", subnet, &name]);
        Network { name, id }
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        let _ = docker(&["network", "rm", &self.name]);
    }
}

/// The address (`a.b.c.d/n`) of `iface` in `ip -4 -o addr show` output, if any.
fn address_of<'a>(out: &'a str, iface: &str) -> Option<&'a str> {
    out.lines()
        .find(|l| l.split_whitespace().nth(1) == Some(iface))
        .and_then(|l| l.split_whitespace().nth(3))
}

#[test]
fn a_container_on_a_user_network_gets_ethwe_beside_its_own_interface() {
    let Some(w) = Weave::setup() else { return };
    let net = Network::create("10.213.7.0/24");
    let p = w.proxy(&[]);
    for (network, cidr) in [(&net.name, "10.255.20.11/24"), (&net.id, "10.255.20.12/24")] {
        let env = format!("WEAVE_CIDR={cidr}");
        let out = p.docker_ok(&[
            "run",
            "--rm",
            "--network",
            network,
            "-e",
            &env,
            busybox_image(),
            "sh",
            "-c",
            SHOW,
        ]);
        // Already there for the app's first instruction: both interfaces.
        assert_eq!(address_of(&out, "ethwe"), Some(cidr), "{network}: {out}");
        let eth0 = address_of(&out, "eth0").unwrap_or_default();
        assert!(
            eth0.starts_with("10.213.7."),
            "{network}: no address of the network on eth0: {out}"
        );
    }
}

#[test]
fn the_example_waits_for_ethwe_on_a_user_network() {
    let Some(w) = Weave::setup() else { return };
    let net = Network::create("10.213.8.0/24");
    let p = w.proxy(&[]);
    let mut c = Cleanup::default();
    let name = c.add(unique("usernet-d"));
    p.docker_ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--network",
        &net.name,
        "-e",
        "WEAVE_CIDR=10.255.20.13/24",
        &w.example,
    ]);
    assert_eq!(p.docker_ok(&["wait", &name]), "0");
    assert_attached(&p.docker_ok(&["logs", &name]), "10.255.20.13/24");
    let mode = p.docker_ok(&["inspect", "--format", "{{.HostConfig.NetworkMode}}", &name]);
    assert_eq!(mode, net.name, "the network mode was changed");
}

#[test]
fn host_and_container_network_modes_are_left_alone_with_a_warning() {
    let Some(w) = Weave::setup() else { return };
    let p = w.proxy(&[]);
    let mut c = Cleanup::default();
    let peer = c.add(unique("shared-peer"));
    p.docker_ok(&["run", "-d", "--name", &peer, busybox_image(), "sleep", "60"]);
    let shared = format!("container:{peer}");
    let shared_why = format!("shares the network namespace of container {peer}");
    let host_why = "with network mode host the container shares the host's network namespace";
    for (mode, why) in [("host", host_why), (shared.as_str(), shared_why.as_str())] {
        let name = c.add(unique("shared"));
        let out = p.docker(&[
            "create",
            "--name",
            &name,
            "--network",
            mode,
            "-e",
            "WEAVE_CIDR=10.255.20.14/24",
            busybox_image(),
            "sh",
            "-c",
            "echo APP-RAN",
        ]);
        p.check(&["create", mode], &out);
        let err = stderr(&out);
        assert!(
            err.contains("WARNING: WEAVE_CIDR \"10.255.20.14/24\" ignored") && err.contains(why),
            "{mode}: stderr: {err}"
        );
        // Not rewritten: Docker's own Entrypoint, no waiter volume; the app runs at once.
        let entry = p.docker_ok(&["inspect", "--format", "{{json .Config.Entrypoint}}", &name]);
        assert_eq!(entry, "null", "{mode}");
        let out = p.docker(&["start", "-a", &name]);
        assert_eq!(stdout(&out), "APP-RAN", "{mode}: {}", stderr(&out));
    }
    // A WEAVE_CIDR of `none` asks for nothing: no warning.
    let name = c.add(unique("shared-none"));
    let out = p.docker(&[
        "create",
        "--name",
        &name,
        "--network",
        "host",
        "-e",
        "WEAVE_CIDR=none",
        busybox_image(),
        "true",
    ]);
    p.check(&["create", "none"], &out);
    assert!(!stderr(&out).contains("WARNING"), "{}", stderr(&out));
}
