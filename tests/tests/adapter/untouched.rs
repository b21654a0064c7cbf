//! What the adapter must leave alone, byte for byte: `WEAVE_CIDR=none`, `--net=host`, and
//! creates of images missing locally (the CLI pulls and retries); and a user network, which
//! is not left alone: its container gets `ethwe` beside Docker's interface.

use e2e::adapter::{inspect, logs, prerequisites, wait_until, Adapter};
use e2e::docker::{docker, docker_ok, unique, Cleanup};

const APP: &[&str] = &["sh", "-c", "echo APP-RAN; exec sleep 300"];

/// Runs `body` through the adapter; the pre-hook must answer the original bytes, and the
/// app must run at once with Docker's own Entrypoint and no `ethwe`.
fn untouched(adapter: &mut Adapter, name: &str, body: serde_json::Value) {
    let original = format!("{body}\n");
    assert_eq!(
        adapter.pre_create(name, &original).as_deref(),
        Some(original.as_str())
    );
    adapter.run(name, &body);
    wait_until(30, &format!("{name} to run"), || {
        logs(name).contains("APP-RAN")
    });
    assert_eq!(inspect(name, "{{json .Config.Entrypoint}}"), "null");
    assert_eq!(inspect(name, "{{json .HostConfig.VolumesFrom}}"), "null");
    let out = docker(&["exec", name, "ip", "link", "show", "ethwe"]);
    assert!(!out.status.success(), "{name} got an ethwe");
}

#[test]
fn weave_cidr_none_is_left_alone() {
    if !prerequisites() {
        return;
    }
    let mut adapter = Adapter::start(&[]);
    let body = adapter.create_body(&["WEAVE_CIDR=none"], APP, "default");
    untouched(&mut adapter, &unique("none"), body);
}

#[test]
fn host_network_is_left_alone() {
    if !prerequisites() {
        return;
    }
    let mut adapter = Adapter::start(&[]);
    let body = adapter.create_body(&["WEAVE_CIDR=10.255.3.11/24"], APP, "host");
    untouched(&mut adapter, &unique("host"), body);
}

#[test]
fn a_user_network_gets_ethwe_beside_its_own_interface() {
    if !prerequisites() {
        return;
    }
    let mut adapter = Adapter::start(&[]);
    let net = unique("net");
    docker_ok(&["network", "create", "--subnet", "10.213.9.0/24", &net]);
    struct Net(String);
    impl Drop for Net {
        fn drop(&mut self) {
            let _ = docker(&["network", "rm", &self.0]);
        }
    }
    let _net = Net(net.clone());
    let mut c = Cleanup::default();
    let name = c.add(unique("usernet"));
    let app = [
        "sh",
        "-c",
        "ip -4 -o addr show; echo APP-RAN; exec sleep 300",
    ];
    let body = adapter.create_body(&["WEAVE_CIDR=10.255.3.12/24"], &app, &net);
    adapter.run(&name, &body);
    wait_until(30, &format!("{name} to run"), || {
        logs(&name).contains("APP-RAN")
    });
    // The app's first instruction saw both: Docker's interface and ethwe.
    let log = logs(&name).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(log.contains("ethwe inet 10.255.3.12/24"), "{log}");
    assert!(log.contains("eth0 inet 10.213.9."), "{log}");
    assert_eq!(inspect(&name, "{{.HostConfig.NetworkMode}}"), net);
}

#[test]
fn image_missing_locally_passes_through_for_the_cli_to_pull() {
    if !prerequisites() {
        return;
    }
    let mut adapter = Adapter::start(&[]);
    let name = unique("missing");
    let mut body = adapter.create_body(&["WEAVE_CIDR=10.255.3.13/24"], &[], "default");
    body["Image"] = format!("{}-absent:latest", unique("img")).into();
    let original = format!("{body}\n");
    assert_eq!(
        adapter.pre_create(&name, &original).as_deref(),
        Some(original.as_str())
    );
    // Docker's 404 is what makes the CLI pull and retry (the retry is rewritten).
    let (code, resp) = adapter.create(&name, &body);
    assert_eq!(code, 404, "{resp}");
    assert!(resp.contains("No such image"), "{resp}");
}
