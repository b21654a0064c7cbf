//! A container that ends while it is being attached (docs/design.md §5 "A container that
//! ends during its attach"): its waiting client is freed at once with the container's
//! fate, the attach is abandoned, and the proxy's log has no ERROR or WARN line about it,
//! and no "killed" for what was not killed.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use e2e::docker::{docker_ok, unique, Cleanup};
use e2e::proxy::{busybox_image, Proxy};

use super::fixture::{wait_until, warnings, Net, NetProxy};

/// Quick apps through a proxy whose start hook and events follower both attach: each
/// `docker run --rm … true` ends right after its first attach, often while the second runs.
#[test]
fn quick_runs_leave_no_error_nor_warning() {
    let Some(net) = Net::setup() else { return };
    let proxy = net.proxy(&[], "info");
    for i in 0..8 {
        let env = format!("WEAVE_CIDR=10.79.0.{}/24", 10 + i);
        proxy.docker_ok(&[
            "run",
            "--rm",
            "--label",
            &net.label,
            "-e",
            &env,
            busybox_image(),
            "true",
        ]);
    }
    // The events follower's attaches of the last ones end within moments.
    std::thread::sleep(Duration::from_secs(1));
    let log = proxy.log_text();
    assert_eq!(warnings(&log), Vec::<&str>::new(), "{log}");
    assert!(!log.contains("killed"), "{log}");
    // Each attached once or twice (the start hook, and the events follower finding it
    // attached), and nothing else said above debug.
    assert!(log.matches("attached container").count() >= 8, "{log}");
    let other = log.lines().filter(|l| {
        !l.contains("attached container")
            && !l.contains("proxy listening")
            && !l.contains("FORWARD")
    });
    assert_eq!(other.collect::<Vec<_>>(), Vec::<&str>::new(), "{log}");
}

/// A `command:` backend that records that it started, then takes 30 s.
struct SlowBackend {
    dir: tempfile::TempDir,
}

impl SlowBackend {
    fn new() -> SlowBackend {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let script = dir.path().join("slow-attach");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\ntouch {d}/started\nsleep 30\ntouch {d}/finished\n",
                d = dir.path().display()
            ),
        )
        .unwrap();
        let chmod = Command::new("chmod")
            .arg("+x")
            .arg(&script)
            .status()
            .unwrap();
        assert!(chmod.success());
        SlowBackend { dir }
    }

    fn spec(&self) -> String {
        format!("command:{}", self.dir.path().join("slow-attach").display())
    }

    fn marker(&self, name: &str) -> bool {
        Path::new(&self.dir.path().join(name)).exists()
    }
}

/// `docker run --name NAME … sh -c 'echo APP-RAN'` through `proxy`, not waited for.
fn run_in_background(proxy: &Proxy, net: &Net, name: &str) -> Child {
    Command::new("timeout")
        .args([
            "-k", "5", "120", "docker", "run", "--name", name, "--label", &net.label,
        ])
        .args([
            "-e",
            "WEAVE_CIDR=10.79.1.1/24",
            busybox_image(),
            "sh",
            "-c",
            "echo APP-RAN",
        ])
        .env("DOCKER_HOST", &proxy.host)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run docker")
}

/// Runs a container whose attach takes 30 s, ends it with `end` once the attach has
/// begun, and returns the CLI's output, how long it took to return after `end` (for
/// messages), the proxy's log and the backend (whose `finished` marker says whether the
/// attach command ran to its end before the CLI returned).
fn end_during_attach(
    end: &[&str],
) -> Option<(std::process::Output, Duration, String, SlowBackend)> {
    let net = Net::setup()?;
    let slow = SlowBackend::new();
    let spec = slow.spec();
    let proxy: NetProxy = net.proxy(&["--attach", &spec], "info");
    let mut cleanup = Cleanup::default();
    let name = cleanup.add(unique("ending"));
    let run = run_in_background(&proxy, &net, &name);
    wait_until(60, "the attach command to start", || slow.marker("started"));
    let mut end: Vec<&str> = end.to_vec();
    end.push(&name);
    docker_ok(&end);
    let ended = Instant::now();
    let out = run.wait_with_output().expect("wait for docker run");
    let took = ended.elapsed();
    // Whatever the proxy would still log about it comes within moments.
    std::thread::sleep(Duration::from_millis(500));
    Some((out, took, proxy.log_text(), slow))
}

#[test]
fn a_container_stopped_during_a_slow_attach_frees_its_client_at_once() {
    let Some((out, took, log, slow)) = end_during_attach(&["stop", "-t", "10"]) else {
        return;
    };
    // The waiter ends on SIGTERM with 143 (as the app would): the CLI reports it at once,
    // not when the 30 s attach command would have finished.
    assert_eq!(
        out.status.code(),
        Some(143),
        "{}\n{log}",
        e2e::output_text(&out)
    );
    // Had the client waited for the attach command, the command would have finished.
    assert!(
        !slow.marker("finished"),
        "docker run returned {took:?} after the stop\n{log}"
    );
    assert!(!e2e::output_text(&out).contains("APP-RAN"));
    assert!(
        !log.contains("attached container"),
        "a stopped container was called attached:\n{log}"
    );
    assert_eq!(warnings(&log), Vec::<&str>::new(), "{log}");
    assert!(!log.contains("killed"), "{log}");
}

#[test]
fn a_container_removed_during_a_slow_attach_frees_its_client_at_once() {
    let Some((out, took, log, slow)) = end_during_attach(&["rm", "-f"]) else {
        return;
    };
    assert_ne!(out.status.code(), Some(124), "docker run hung\n{log}");
    assert!(
        !slow.marker("finished"),
        "docker run returned {took:?} after the removal\n{log}"
    );
    assert!(!e2e::output_text(&out).contains("APP-RAN"));
    assert!(
        !log.contains("attached container"),
        "a removed container was called attached:\n{log}"
    );
    assert_eq!(warnings(&log), Vec::<&str>::new(), "{log}");
    assert!(!log.contains("killed"), "{log}");
}
