//! Followers never fight (docs/design.md §5 "Which containers"): two proxies without
//! `--label`, following one daemon's events with different bridges. Every container made
//! through the first records the first's settings, so the second leaves it alone and says
//! so only at debug level; none lands on the second's bridge, none is killed. A container
//! that records no settings is attached as before, but never taken from another bridge.

use e2e::docker::{docker_ok, unique, Cleanup};
use e2e::proxy::busybox_image;

use std::time::{Duration, Instant};

use super::fixture::{logs, ports_of, unique_waiter, wait_until, warnings, Net, WAITER};

const CONTAINERS: usize = 6;

#[test]
fn two_unscoped_followers_with_different_bridges_never_fight() {
    let Some(mut net) = Net::setup() else { return };
    let second_bridge = net.another_bridge();
    // Unscoped, so each hears every start on the daemon; a waiter spelling of this test's
    // own keeps them off other tests' containers.
    let waiter = unique_waiter();
    let first = net.proxy_with(&net.bridge, &waiter, &[], "info");
    let second = net.proxy_with(&second_bridge, &waiter, &[], "debug");

    let mut cleanup = Cleanup::default();
    let mut names = Vec::new();
    for i in 0..CONTAINERS {
        let name = cleanup.add(unique("follow"));
        let env = format!("WEAVE_CIDR=10.78.0.{}/24", 10 + i);
        first.docker_ok(&[
            "run",
            "-d",
            "--name",
            &name,
            "-e",
            &env,
            busybox_image(),
            "sh",
            "-c",
            "echo RUN; ip -4 -o addr show ethwe; exec sleep 600",
        ]);
        names.push(name);
    }
    let ids: Vec<String> = names
        .iter()
        .map(|n| docker_ok(&["inspect", "-f", "{{.Id}}", n]))
        .collect();
    // The second follower heard every start: give it until it has judged each one (or
    // 30 s; the assertions below say what it did instead).
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let log = second.log_text();
        if ids
            .iter()
            .all(|id| log.contains(&format!("left container {id} alone")))
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    assert_eq!(
        ports_of(&net.bridge),
        CONTAINERS,
        "not all on the first bridge"
    );
    assert_eq!(
        ports_of(&second_bridge),
        0,
        "some landed on the second bridge"
    );
    let recorded = format!("powerstrip-weave.attach=bridge:{}", net.bridge);
    for (i, name) in names.iter().enumerate() {
        let label = docker_ok(&[
            "inspect",
            "-f",
            r#"{{index .Config.Labels "powerstrip-weave.attach"}}"#,
            name,
        ]);
        assert_eq!(label, format!("bridge:{}", net.bridge), "{name}");
        let state = docker_ok(&[
            "inspect",
            "-f",
            "{{.State.Running}} {{.RestartCount}} {{.State.ExitCode}}",
            name,
        ]);
        assert_eq!(state, "true 0 0", "{name} was killed or restarted");
        let log = logs(name);
        assert_eq!(log.matches("RUN").count(), 1, "{name}: {log}");
        assert!(
            log.contains(&format!("inet 10.78.0.{}/24", 10 + i)),
            "{name}: {log}"
        );
    }

    let second_log = second.log_text();
    assert_eq!(warnings(&second_log), Vec::<&str>::new(), "{second_log}");
    for (name, id) in names.iter().zip(&ids) {
        for line in second_log.lines().filter(|l| !l.contains(" DEBUG ")) {
            assert!(
                !line.contains(name.as_str()) && !line.contains(&id[..12]),
                "the second follower spoke of {name} above debug: {line}"
            );
        }
        let said = format!("left container {id} alone: it was created for {recorded}");
        assert!(second_log.contains(&said), "{second_log}");
    }
    assert_eq!(warnings(&first.log_text()), Vec::<&str>::new());
}

/// A container that records no settings (created by an older version, or run with the
/// waiter without the proxy) is attached by a follower that sees it, as before; one whose
/// `ethwe` is already on another bridge is left there, and its app keeps running.
#[test]
fn an_unrecorded_container_is_attached_and_never_taken_from_another_bridge() {
    let Some(mut net) = Net::setup() else { return };
    let other = net.another_bridge();
    let mut cleanup = Cleanup::default();
    // As the rewrite made them before the label existed: waiter first, the volume, the
    // proxy's scope label, no powerstrip-weave.attach.
    let direct = |name: &str, cidr: &str| {
        let volumes = format!("{}:ro", net.volume);
        let env = format!("WEAVE_CIDR={cidr}");
        docker_ok(&[
            "run",
            "-d",
            "--name",
            name,
            "--label",
            &net.label,
            "--volumes-from",
            &volumes,
            "--entrypoint",
            WAITER,
            "-e",
            &env,
            busybox_image(),
            "sh",
            "-c",
            "echo RUN; exec sleep 600",
        ]);
    };
    let waiting = cleanup.add(unique("unrecorded"));
    direct(&waiting, "10.78.1.1/24");
    let elsewhere = cleanup.add(unique("elsewhere"));
    direct(&elsewhere, "10.78.1.2/24");
    let attach = std::process::Command::new(e2e::proxy::binary())
        .args(["attach", "--bridge", &other, "10.78.1.2/24", &elsewhere])
        .output()
        .expect("run powerstrip-weave attach");
    assert!(attach.status.success(), "{}", e2e::output_text(&attach));
    wait_until(30, "the app attached by hand", || {
        logs(&elsewhere).contains("RUN")
    });
    assert!(!logs(&waiting).contains("RUN"), "it ran unattached");

    // A follower coming up attaches the waiting one, and leaves the other where it is.
    let proxy = net.proxy(&[], "info");
    wait_until(30, "the waiting one to be attached", || {
        logs(&waiting).contains("RUN")
    });
    let said = format!("is already attached to bridge {other}, not {}", net.bridge);
    wait_until(30, "the follower to find the other", || {
        proxy.log_text().contains(&said)
    });
    assert_eq!(ports_of(&net.bridge), 1, "{}", proxy.log_text());
    assert_eq!(ports_of(&other), 1, "it was taken from its bridge");
    let state = docker_ok(&[
        "inspect",
        "-f",
        "{{.State.Running}} {{.RestartCount}}",
        &elsewhere,
    ]);
    assert_eq!(state, "true 0", "its app was killed");
    let log = proxy.log_text();
    assert!(!log.contains("killed") && !log.contains(" ERROR "), "{log}");
}
