//! When attaching fails, the app never runs without its network: the container is killed
//! and the error travels back in the post-hook answer.

use e2e::adapter::{inspect, logs, prerequisites, wait_until, Adapter};
use e2e::docker::unique;

#[test]
fn failing_attach_backend_stops_the_container_before_its_app_runs() {
    if !prerequisites() {
        return;
    }
    let mut adapter = Adapter::start(&["--attach", "command:/bin/false"]);
    let name = unique("fail");
    let app = ["sh", "-c", "echo APP-RAN; exec sleep 300"];
    let body = adapter.create_body(&["WEAVE_CIDR=10.255.2.11/24"], &app, "default");
    let (code, resp) = adapter.create(&name, &body);
    assert_eq!(code, 201, "{resp}");
    let (code, post) = adapter.start_container(&name);
    assert_eq!(code, 204);
    let message = post["ModifiedServerResponse"]["Body"]
        .as_str()
        .unwrap_or("");
    assert!(
        message.contains("/bin/false attach ip:10.255.2.11/24") && message.contains("failed"),
        "post-hook answer: {post}"
    );
    wait_until(30, "the container to stop", || {
        inspect(&name, "{{.State.Running}}") == "false"
    });
    // Give a would-be app time to print, then check it never did.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        !logs(&name).contains("APP-RAN"),
        "the app ran: {}",
        logs(&name)
    );
    assert_eq!(inspect(&name, "{{.State.Running}}"), "false");
}
