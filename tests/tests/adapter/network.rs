//! The powerstrip adapter with `--attach network:NAME` (docs/design.md §10), on a local
//! bridge network of the test's own: the pre-hook's rewrite tells the waiter to find its
//! interface by address, the post-hook connects the started container before its app
//! runs (an exact address, and Docker's allocation), and what the network cannot give,
//! which the pre-hook cannot refuse, is refused by the attach: the container is killed
//! before its app runs, the reason in the post-hook's answer.

use e2e::adapter::{inspect, logs, prerequisites, wait_until, Adapter};
use e2e::docker::{docker, unique};
use e2e::network::{endpoint, LocalNetwork};

const APP: &[&str] = &[
    "sh",
    "-c",
    "echo APP-RAN; ip -4 -o addr show; exec sleep 300",
];

#[test]
fn the_post_hook_connects_before_the_app_runs() {
    if !prerequisites() {
        return;
    }
    let net = LocalNetwork::new();
    let mut adapter = Adapter::start(&["--attach", &format!("network:{}", net.name)]);
    let (a, b) = (unique("net-a"), unique("net-b"));
    let exact = net.cidr(51);
    for (name, cidr) in [(&a, exact.as_str()), (&b, "net:default")] {
        let body = adapter.create_body(&[&format!("WEAVE_CIDR={cidr}")], APP, "default");
        let rewritten = adapter
            .pre_create(name, &body.to_string())
            .expect("rewritten");
        assert!(
            rewritten.contains("WAIT_FOR_WEAVE_IFACE=any"),
            "{rewritten}"
        );
        adapter.run(name, &body);
    }
    let b_addr = endpoint(&b, &net.name).expect("b is on the network").0;
    assert!(net.contains(b_addr), "{b_addr}");
    for (name, addr) in [(&a, exact.clone()), (&b, format!("{b_addr}/24"))] {
        wait_until(30, "the app to run", || logs(name).contains("APP-RAN"));
        // The app's first instruction already saw its address.
        let log = logs(name);
        assert!(log.contains(&format!("inet {addr}")), "{name}: {log}");
    }
    let out = docker(&[
        "exec",
        &a,
        "ping",
        "-c",
        "2",
        "-W",
        "3",
        &b_addr.to_string(),
    ]);
    assert!(out.status.success(), "{}", e2e::output_text(&out));
}

#[test]
fn what_the_network_cannot_give_is_refused_at_attach() {
    if !prerequisites() {
        return;
    }
    let net = LocalNetwork::new();
    let mut adapter = Adapter::start(&["--attach", &format!("network:{}", net.name)]);
    let name = unique("net-prefix");
    let wrong = format!("{}.52/16", net.prefix);
    let body = adapter.create_body(&[&format!("WEAVE_CIDR={wrong}")], APP, "default");
    let (code, resp) = adapter.create(&name, &body);
    assert_eq!(code, 201, "powerstrip cannot refuse a create: {resp}");
    let (code, post) = adapter.start_container(&name);
    assert_eq!(code, 204);
    let message = post["ModifiedServerResponse"]["Body"]
        .as_str()
        .unwrap_or("");
    assert!(
        message.contains(&format!(
            "asks for prefix /16, but the network's subnet is {}",
            net.subnet
        )),
        "post-hook answer: {post}"
    );
    wait_until(30, "the container to stop", || {
        inspect(&name, "{{.State.Running}}") == "false"
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        !logs(&name).contains("APP-RAN"),
        "the app ran: {}",
        logs(&name)
    );
    assert_eq!(endpoint(&name, &net.name), None);
}
