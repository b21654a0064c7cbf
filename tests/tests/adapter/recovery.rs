//! A container started while the adapter is down keeps waiting; when the adapter comes
//! back it attaches it (and never kills anything on that path).

use e2e::adapter::{http, inspect, logs, prerequisites, wait_until, Adapter, Conn, API};
use e2e::docker::unique;

#[test]
fn adapter_restarted_while_a_container_waits_attaches_it() {
    if !prerequisites() {
        return;
    }
    let mut adapter = Adapter::start(&[]);
    let name = unique("recover");
    let app = [
        "sh",
        "-c",
        "echo APP-RAN; ip -4 -o addr show ethwe; exec sleep 300",
    ];
    let body = adapter.create_body(&["WEAVE_CIDR=10.255.0.91/24"], &app, "default");
    let (code, resp) = adapter.create(&name, &body);
    assert_eq!(code, 201, "{resp}");
    adapter.stop();
    // Started behind the adapter's back: no post-hook, no event follower.
    let (code, resp) = http(
        Conn::Docker,
        "POST",
        &format!("{API}/containers/{name}/start"),
        None,
    );
    assert_eq!(code, 204, "{resp}");
    let pid = inspect(&name, "{{.State.Pid}}");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        !logs(&name).contains("APP-RAN"),
        "the app ran without its network"
    );
    assert_eq!(inspect(&name, "{{.State.Running}}"), "true");

    adapter.restart();
    wait_until(30, "the app to run after the adapter came back", || {
        logs(&name).contains("APP-RAN")
    });
    assert!(
        logs(&name).contains("inet 10.255.0.91/24"),
        "{}",
        logs(&name)
    );
    // Same process, never killed nor restarted.
    assert_eq!(
        inspect(&name, "{{.State.Pid}} {{.RestartCount}} {{.State.Running}}"),
        format!("{pid} 0 true")
    );
}
