//! An invalid WEAVE_CIDR cannot be refused through powerstrip (the answer can only carry a
//! body), so the container is rewritten anyway and the waiter refuses to start it with
//! the grammar's message.

use e2e::adapter::{inspect, logs, prerequisites, wait_until, Adapter, WAITER};
use e2e::docker::unique;

#[test]
fn invalid_weave_cidr_is_refused_by_the_waiter_with_the_grammar_message() {
    if !prerequisites() {
        return;
    }
    let mut adapter = Adapter::start(&[]);
    let name = unique("invalid");
    let app = ["sh", "-c", "echo APP-RAN; exec sleep 300"];
    let value = "10.255.4.11/24,10.255.4.12/24";
    let body = adapter.create_body(&[&format!("WEAVE_CIDR={value}")], &app, "default");
    adapter.run(&name, &body);
    assert_eq!(inspect(&name, "{{index .Config.Entrypoint 0}}"), WAITER);
    wait_until(30, "the waiter to refuse", || {
        inspect(&name, "{{.State.Running}}") == "false"
    });
    let log = logs(&name);
    assert!(
        log.contains(&format!("invalid WEAVE_CIDR {value:?}")),
        "{log}"
    );
    assert!(!log.contains("APP-RAN"), "{log}");
    assert_ne!(inspect(&name, "{{.State.ExitCode}}"), "0");
}
