//! Two containers created and started through the adapter get `ethwe` on the native bridge
//! before their app runs, and reach each other over it.

use e2e::adapter::{inspect, logs, prerequisites, wait_until, Adapter, WAITER};
use e2e::docker::{docker, unique};

const APP: &[&str] = &[
    "sh",
    "-c",
    "echo APP-RAN; ip -4 -o addr show ethwe; exec sleep 300",
];

#[test]
fn two_containers_ping_each_other_over_ethwe() {
    if !prerequisites() {
        return;
    }
    let mut adapter = Adapter::start(&[]);
    let (a, b) = (unique("ping-a"), unique("ping-b"));
    for (name, cidr) in [(&a, "10.255.0.51/24"), (&b, "10.255.0.52/24")] {
        let body = adapter.create_body(&[&format!("WEAVE_CIDR={cidr}")], APP, "default");
        adapter.run(name, &body);
    }
    for (name, addr) in [(&a, "10.255.0.51/24"), (&b, "10.255.0.52/24")] {
        // The rewrite put the waiter first and kept the app as Cmd.
        let entrypoint = inspect(name, "{{json .Config.Entrypoint}}");
        assert_eq!(entrypoint, format!("[\"{WAITER}\"]"));
        wait_until(30, "the app to run", || logs(name).contains("APP-RAN"));
        // The app's first instruction already saw its address.
        let log = logs(name);
        assert!(log.contains(&format!("inet {addr}")), "{name}: {log}");
    }
    for (from, to) in [(&a, "10.255.0.52"), (&b, "10.255.0.51")] {
        let out = docker(&[
            "exec", from, "ping", "-c", "2", "-W", "3", "-I", "ethwe", to,
        ]);
        assert!(
            out.status.success(),
            "{from} → {to}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Both host ends are ports of the test's bridge.
    let ports = std::process::Command::new("ip")
        .args(["-o", "link", "show", "master", &adapter.bridge])
        .output()
        .expect("ip link");
    let ports = String::from_utf8_lossy(&ports.stdout);
    assert_eq!(
        ports.lines().filter(|l| l.contains("vethwepl")).count(),
        2,
        "{ports}"
    );
}
