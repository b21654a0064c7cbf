//! Docker's restart policy restarts a container without any client: the adapter's event
//! follower attaches every new run before its app starts.

use e2e::adapter::{inspect, logs, prerequisites, wait_until, Adapter};
use e2e::docker::unique;

const KILLS: usize = 5;

#[test]
fn restart_always_container_is_reattached_after_every_kill() {
    if !prerequisites() {
        return;
    }
    let mut adapter = Adapter::start(&[]);
    let name = unique("restart");
    // Each run prints how many times it sees its address: 1 when attached before it ran.
    let app = [
        "sh",
        "-c",
        "echo RUN-$(ip -4 -o addr show ethwe 2>/dev/null | grep -c 'inet 10.255.0.61/24'); exec sleep 300",
    ];
    let mut body = adapter.create_body(&["WEAVE_CIDR=10.255.0.61/24"], &app, "default");
    body["HostConfig"]["RestartPolicy"]["Name"] = "always".into();
    adapter.run(&name, &body);
    wait_until(30, "the first run", || logs(&name).contains("RUN-1"));
    for kill in 1..=KILLS {
        let pid = inspect(&name, "{{.State.Pid}}");
        // Kill the app's process behind Docker's back: the daemon restarts it on its own.
        let status = std::process::Command::new("kill")
            .args(["-9", &pid])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -9 {pid}");
        wait_until(60, &format!("restart {kill}"), || {
            inspect(&name, "{{.RestartCount}} {{.State.Running}}") == format!("{kill} true")
        });
        wait_until(30, &format!("run {} to print", kill + 1), || {
            logs(&name).matches("RUN-").count() == kill + 1
        });
    }
    let log = logs(&name);
    assert_eq!(log.matches("RUN-1").count(), KILLS + 1, "{log}");
    assert!(
        !log.contains("RUN-0"),
        "a run started without its address:\n{log}"
    );
}
