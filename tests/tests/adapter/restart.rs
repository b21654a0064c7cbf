//! Docker's restart policy restarts a container without any client: the adapter's event
//! follower attaches every new run before its app starts.

use e2e::adapter::{http, inspect, logs, prerequisites, wait_until, Adapter, Conn, API};
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

/// A daemon-initiated restart whose attach fails: only the process is killed, so the app
/// never runs unnetworked and the restart policy keeps retrying; once attaching works
/// again the next retry runs, networked.
#[test]
fn failed_attach_on_daemon_restart_kills_the_process_and_the_policy_retries() {
    if !prerequisites() {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let flag = dir.path().join("fail");
    let script = dir.path().join("attach-tool");
    let bridge_slot = dir.path().join("bridge");
    // `command:` backend: `attach-tool attach <items...> <id>`; fails while the flag exists,
    // otherwise hands over to the native attach.
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n[ -e {flag} ] && {{ echo attach disabled >&2; exit 1; }}\nshift\nexec {bin} attach --bridge \"$(cat {slot})\" \"$@\"\n",
            flag = flag.display(),
            bin = e2e::prereq::static_bin("powerstrip-weave").display(),
            slot = bridge_slot.display(),
        ),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
    let backend = format!("command:{}", script.display());
    let mut adapter = Adapter::start(&["--attach", &backend]);
    std::fs::write(&bridge_slot, &adapter.bridge).unwrap();

    let name = unique("restart-fail");
    let app = [
        "sh",
        "-c",
        "echo RUN-$(ip -4 -o addr show ethwe 2>/dev/null | grep -c 'inet 10.255.0.62/24'); exec sleep 300",
    ];
    let mut body = adapter.create_body(&["WEAVE_CIDR=10.255.0.62/24"], &app, "default");
    body["HostConfig"]["RestartPolicy"]["Name"] = "always".into();
    adapter.run(&name, &body);
    wait_until(30, "the first run", || logs(&name).contains("RUN-1"));

    std::fs::write(&flag, "").unwrap();
    let pid = inspect(&name, "{{.State.Pid}}");
    assert!(std::process::Command::new("kill")
        .args(["-9", &pid])
        .status()
        .unwrap()
        .success());
    // Restarts whose attach fails: killed before the app runs, and retried by the policy.
    wait_until(60, "two failed restarts", || {
        inspect(&name, "{{.RestartCount}}")
            .parse::<u32>()
            .unwrap_or(0)
            >= 3
    });
    assert_eq!(logs(&name).matches("RUN-").count(), 1, "{}", logs(&name));

    std::fs::remove_file(&flag).unwrap();
    wait_until(60, "a networked run after attaching works again", || {
        logs(&name).matches("RUN-").count() == 2
    });
    let log = logs(&name);
    assert_eq!(log.matches("RUN-1").count(), 2, "{log}");
    assert!(!log.contains("RUN-0"), "{log}");
    assert_eq!(inspect(&name, "{{.State.Running}}"), "true");
}

/// `docker restart` through powerstrip: the post-hook on `/restart` attaches the new run
/// (events off, so only the hook can have done it).
#[test]
fn restart_post_hook_attaches_the_new_run() {
    if !prerequisites() {
        return;
    }
    let mut adapter = Adapter::start(&["--no-events"]);
    let name = unique("restart.hook");
    let app = [
        "sh",
        "-c",
        "echo RUN-$(ip -4 -o addr show ethwe 2>/dev/null | grep -c 'inet 10.255.0.63/24'); exec sleep 300",
    ];
    let body = adapter.create_body(&["WEAVE_CIDR=10.255.0.63/24"], &app, "default");
    adapter.run(&name, &body);
    wait_until(30, "the first run", || logs(&name).contains("RUN-1"));

    let path = format!("{API}/containers/{name}/restart?t=1");
    let (code, resp) = http(Conn::Docker, "POST", &path, None);
    assert_eq!(code, 204, "{resp}");
    let post = adapter.hook(&serde_json::json!({
        "Type": "post-hook", "PowerstripProtocolVersion": 1,
        "ClientRequest": {"Method": "POST", "Request": path, "Body": null},
        "ServerResponse": {"Body": "", "Code": 204, "ContentType": null},
    }));
    assert_eq!(post["ModifiedServerResponse"]["Body"], "", "{post}");
    wait_until(30, "the second run", || {
        logs(&name).matches("RUN-").count() == 2
    });
    let log = logs(&name);
    assert_eq!(log.matches("RUN-1").count(), 2, "{log}");
}
