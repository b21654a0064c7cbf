//! A frozen dockerd (SIGSTOP: its socket still accepts connections, nothing answers) under
//! a running proxy, with small `ping` and `docker` bounds: a forwarded request gets a 504
//! naming the daemon once a ping fails, a create whose rewrite needs the image a 502 at the
//! `docker` bound, the CLI an error instead of a hang; thawed, the same proxy serves and
//! attaches again.

use std::time::{Duration, Instant};

use e2e::docker::unique;
use e2e::netns::eventually;
use e2e::private::{
    exchange, prerequisites, request, weavewait_image, BridgeGuard, PrivateDaemon, BUSYBOX,
};
use e2e::proxy::{listens, stderr, Proxy, TempDir};

#[test]
fn a_frozen_daemon_gets_bounded_answers_and_the_proxy_serves_on_when_it_thaws() {
    if !prerequisites() {
        return;
    }
    let d = PrivateDaemon::up(false);
    let bridge = BridgeGuard::new();
    let dir = TempDir::new("proxy-frozen");
    let host = format!("unix://{}", dir.join("proxy.sock").display());
    let weavewait = weavewait_image();
    let mut p = Proxy::start_env(
        &[("POWERSTRIP_WEAVE_BOUNDS", "ping=1s,docker=2s")],
        &host,
        &[
            "--listen",
            &host,
            "--docker",
            d.host(),
            "--attach",
            "bridge",
            "--bridge",
            &bridge.0,
            "--no-firewall",
            "--volume-container",
            "weavewait",
            "--image",
            &weavewait,
        ],
        listens,
    );
    let sock = d.socket().display().to_string();
    let proxy_sock = dir.join("proxy.sock");
    let limit = Duration::from_secs(30);

    let frozen = d.freeze();
    let stopped = || {
        std::fs::read_to_string(format!("/proc/{}/status", d.dockerd_pid()))
            .unwrap_or_default()
            .lines()
            .any(|l| l.starts_with("State:") && l.contains("(stopped)"))
    };
    assert!(stopped(), "dockerd did not stop");
    let list = exchange(
        &proxy_sock,
        &request("GET", "/v1.41/containers/json", None),
        limit,
    )
    .expect("an answer while the daemon is frozen");
    assert_eq!(list.status, 504, "{list:?}");
    assert!(
        list.body.contains(&sock) && list.body.contains("failed a /_ping meanwhile"),
        "{list:?}"
    );
    let create =
        format!(r#"{{"Image":"{BUSYBOX}","Cmd":["true"],"Env":["WEAVE_CIDR=10.255.0.121/24"]}}"#);
    let created = exchange(
        &proxy_sock,
        &request("POST", "/v1.41/containers/create", Some(&create)),
        limit,
    )
    .expect("an answer while the daemon is frozen");
    assert_eq!(created.status, 502, "{created:?}");
    assert!(
        created.body.contains(&format!(
            "cannot inspect image {BUSYBOX}: the Docker daemon at {} did not answer within 2s",
            d.host()
        )),
        "{created:?}"
    );
    assert!(stopped(), "dockerd was continued during the test");
    let t = Instant::now();
    let ps = p.docker(&["ps"]);
    let ps_took = t.elapsed();
    let err = stderr(&ps);
    assert!(
        !ps.status.success() && ps.status.code() != Some(124) && err.contains(&sock),
        "docker ps while frozen: {}: {err}",
        ps.status
    );
    eprintln!(
        "frozen dockerd, ping=1s docker=2s: GET /containers/json 504 after {:.1} s, a create \
         needing the image 502 after {:.1} s, docker ps failed after {:.1} s: {}",
        list.elapsed.as_secs_f64(),
        created.elapsed.as_secs_f64(),
        ps_took.as_secs_f64(),
        err.trim()
    );
    drop(frozen);

    // Thawed: the same process serves and attaches.
    assert!(p.is_running(), "{}", p.log_text());
    let name = unique("thawed");
    let cidr = "10.255.0.122/24";
    let app = format!(
        "echo RUN-$(ip -4 -o addr show ethwe 2>/dev/null | grep -c 'inet {cidr} '); exec sleep 300"
    );
    p.docker_ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--stop-timeout",
        "1",
        "-e",
        &format!("WEAVE_CIDR={cidr}"),
        BUSYBOX,
        "sh",
        "-c",
        &app,
    ]);
    assert!(
        eventually(Duration::from_secs(30), || d.logs(&name).contains("RUN-")),
        "{}",
        p.log_text()
    );
    assert_eq!(d.logs(&name).trim(), "RUN-1");
}
