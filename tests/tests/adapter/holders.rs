//! One holder per address through powerstrip, which cannot carry an error: the second
//! container asking for an address a running one holds is stopped before its app runs,
//! with the reason in its own log, in the adapter's, and in the post-hook answer.

use e2e::adapter::{inspect, logs, prerequisites, wait_until, Adapter};
use e2e::docker::unique;

#[test]
fn a_held_address_stops_the_second_container_with_the_reason_in_its_log() {
    if !prerequisites() {
        return;
    }
    let mut adapter = Adapter::start(&[]);
    let (a, b) = (unique("holds"), unique("wants"));
    let app = ["sh", "-c", "echo APP-RAN; exec sleep 300"];
    let body = adapter.create_body(&["WEAVE_CIDR=10.255.22.11/24"], &app, "default");
    adapter.run(&a, &body);
    wait_until(30, "the holder's app", || logs(&a).contains("APP-RAN"));

    let (code, resp) = adapter.create(&b, &body);
    assert_eq!(code, 201, "{resp}");
    let (code, post) = adapter.start_container(&b);
    assert_eq!(code, 204, "{post}");
    let held = format!("address 10.255.22.11 is already held by container {a} (");
    let answer = post["ModifiedServerResponse"]["Body"]
        .as_str()
        .unwrap_or("");
    assert!(answer.contains(&held), "post-hook answer: {post}");
    wait_until(30, "the container to stop", || {
        inspect(&b, "{{.State.Running}}") == "false"
    });
    let log = logs(&b);
    assert!(
        log.contains("powerstrip-weave: stopped before its app ran") && log.contains(&held),
        "log of {b}: {log}"
    );
    assert!(!log.contains("APP-RAN"), "the app ran: {log}");
    assert!(adapter.log_text().contains(&held), "{}", adapter.log_text());
    // The holder is untouched.
    assert_eq!(inspect(&a, "{{.State.Running}}"), "true");
}
