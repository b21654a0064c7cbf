//! The waiter behind a real Docker network, as the network backend attaches it: Engine 20.10
//! names the interface `eth1` (next to its own `eth0`) and gives it the network's prefix, so
//! the app waits with `WAIT_FOR_WEAVE_IFACE=any` for the address `docker network connect`
//! brings.

use std::time::Duration;

use e2e::docker::{docker, docker_ok, unique};
use e2e::netns::{eventually, waiter_is_waiting};

use crate::docker::{pid_of, setup};

/// What the app prints first: its pid, then each IPv4 address with its link.
const APP: &str = r#"echo "pid $$"; ip -o -4 addr show | awk '{print "addr " $2 " " $4}'"#;

/// A user-defined bridge network with a /24 of its own, removed on drop with the
/// containers still on it (ours: nobody else knows its name).
struct Network {
    name: String,
    /// `10.X.Y.` (the /24 without its last byte).
    prefix: String,
}

impl Network {
    /// Tries /24s in 10.200.0.0/13 from one derived from our pid, skipping those another
    /// network on the shared daemon already has.
    fn create() -> Network {
        let name = unique("waiter-net");
        let start = std::process::id() as usize;
        for i in 0..64 {
            let n = (start + i * 7) % (8 * 256);
            let prefix = format!("10.{}.{}.", 200 + n / 256, n % 256);
            let subnet = format!("{prefix}0/24");
            let out = docker(&["network", "create", "--subnet", &subnet, &name]);
            if out.status.success() {
                return Network { name, prefix };
            }
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("overlaps"), "docker network create: {err}");
        }
        panic!("no free /24 in 10.200.0.0/13 for a test network");
    }

    fn addr(&self, host: u8) -> String {
        format!("{}{host}", self.prefix)
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        let format = "{{range .Containers}}{{.Name}} {{end}}";
        let out = docker(&["network", "inspect", "--format", format, &self.name]);
        for container in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            let _ = docker(&["rm", "-f", "-v", container]);
        }
        let _ = docker(&["network", "rm", &self.name]);
    }
}

fn waiting(container: &str) -> bool {
    let pid = pid_of(container);
    eventually(Duration::from_secs(10), || waiter_is_waiting(pid))
}

#[test]
fn connect_with_ip_runs_the_app_on_eth1_with_its_address() {
    let Some(mut s) = setup() else { return };
    let net = Network::create();
    let ip = net.addr(61);
    let cidr = format!("WEAVE_CIDR={ip}/24");
    let app = s.run_app(&["WAIT_FOR_WEAVE_IFACE=any", &cidr], &["sh", "-c", APP]);
    assert!(waiting(&app), "the waiter never waited");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(docker_ok(&["logs", &app]), "", "ran before the connect");
    docker_ok(&["network", "connect", "--ip", &ip, &net.name, &app]);
    assert_eq!(docker_ok(&["wait", &app]), "0");
    let logs = docker_ok(&["logs", &app]);
    let lines: Vec<&str> = logs.lines().collect();
    assert_eq!(lines[0], "pid 1", "exec'd as PID 1: {logs}");
    assert!(
        lines.contains(&format!("addr eth1 {ip}/24").as_str()),
        "the app's first look saw its address on eth1: {logs}"
    );
}

#[test]
fn a_subnet_item_waits_for_the_address_docker_allocates() {
    let Some(mut s) = setup() else { return };
    let net = Network::create();
    let cidr = format!("WEAVE_CIDR=net:{}0/24", net.prefix);
    let app = s.run_app(&["WAIT_FOR_WEAVE_IFACE=any", &cidr], &["sh", "-c", APP]);
    assert!(waiting(&app), "the waiter never waited");
    docker_ok(&["network", "connect", &net.name, &app]);
    assert_eq!(docker_ok(&["wait", &app]), "0");
    let logs = docker_ok(&["logs", &app]);
    let allocated = format!("addr eth1 {}", net.prefix);
    assert!(
        logs.lines()
            .any(|l| l.starts_with(&allocated) && l.ends_with("/24")),
        "{logs}"
    );
}

#[test]
fn a_prefix_other_than_the_network_s_times_out_saying_so() {
    let Some(mut s) = setup() else { return };
    let net = Network::create();
    let ip = net.addr(62);
    let cidr = format!("WEAVE_CIDR={ip}/16");
    let app = s.run_app(
        &["WAIT_FOR_WEAVE_IFACE=any", "WAIT_FOR_SECONDS=4", &cidr],
        &["echo", "must not run"],
    );
    assert!(waiting(&app), "the waiter never waited");
    docker_ok(&["network", "connect", "--ip", &ip, &net.name, &app]);
    assert_eq!(docker_ok(&["wait", &app]), "124");
    let out = docker(&["logs", &app]);
    assert!(out.stdout.is_empty(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "wait-for-weave: no interface ready after 4 s: {ip}/16 missing; links: eth0 (up; "
        )) && stderr
            .trim_end()
            .ends_with(&format!(", eth1 (up; {ip}/24)")),
        "{stderr}"
    );
}
