//! dockerd stopped and started again under a running proxy (a private daemon: the shared
//! one is never restarted).
//! - While it is down, every request gets a prompt 502 naming the daemon: the CLI's `ps`,
//!   `run` and `exec`, a create, a start, attach and exec upgrades, a new `events` stream;
//!   an `events` stream and an upgraded attach open when it went down end, not hang.
//! - When it is back, the same proxy process serves again, also on a client connection
//!   kept alive across the restart; its events follower has re-subscribed (a container
//!   started by another client is attached from its `start` event); a `--restart=always`
//!   container that Docker restarts gets its `ethwe` before its app runs again.
//! - With live-restore, running containers keep their `ethwe` and are not touched: same
//!   process, same veth (ifindex) on both ends, one run of the app.

use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use e2e::docker::unique;
use e2e::netns::eventually;
use e2e::private::{
    ethwe_indexes, exchange, prerequisites, request, upgrade_request, weavewait_image, Answer,
    BridgeGuard, Client, PrivateDaemon, Snapshot, BUSYBOX,
};
use e2e::proxy::{listens, stderr, Proxy, TempDir};

/// Bound on one answer while the daemon is down: a 502 comes in milliseconds; this only
/// tells "answered" from "hung".
const DOWN_ANSWER: Duration = Duration::from_secs(5);

/// The app of every container here: prints `RUN-<n>`, n being how many times its first
/// instruction sees `cidr` on `ethwe` (1 when attached before it ran), then sleeps.
fn app(cidr: &str) -> String {
    format!(
        "echo RUN-$(ip -4 -o addr show ethwe 2>/dev/null | grep -c 'inet {cidr} '); exec sleep 300"
    )
}

/// The longest pause between re-subscriptions to events given to the proxies here, so a
/// test reaches it while the daemon is down.
const BACKOFF_MS: u64 = 1000;

/// A proxy (events on, unscoped: the daemon is ours alone) in front of the private daemon,
/// with the bridge backend on `bridge`.
fn proxy_on(d: &PrivateDaemon, bridge: &BridgeGuard, dir: &TempDir) -> Proxy {
    let host = format!("unix://{}", dir.join("proxy.sock").display());
    let weavewait = weavewait_image();
    Proxy::start_env(
        &[(
            "POWERSTRIP_WEAVE_BOUNDS",
            &format!("backoff={BACKOFF_MS}ms"),
        )],
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
    )
}

/// `docker run -d` through the proxy of the app asking for `cidr`, with `extra` options
/// before the image; waits until its first run printed.
fn run_app(p: &Proxy, d: &PrivateDaemon, name: &str, cidr: &str, extra: &[&str]) {
    let env = format!("WEAVE_CIDR={cidr}");
    let mut args = vec![
        "run",
        "-d",
        "--name",
        name,
        "--stop-timeout",
        "1",
        "-e",
        &env,
    ];
    args.extend_from_slice(extra);
    let script = app(cidr);
    args.extend([BUSYBOX, "sh", "-c", &script]);
    p.docker_ok(&args);
    wait_runs(d, name, 1);
}

/// Waits (60 s at most) until container `name` printed `runs` RUN lines.
fn wait_runs(d: &PrivateDaemon, name: &str, runs: usize) {
    assert!(
        eventually(Duration::from_secs(60), || d
            .logs(name)
            .matches("RUN-")
            .count()
            >= runs),
        "{name}: {runs} run(s) expected, logs: {}",
        d.logs(name)
    );
}

/// The pauses (ms) the proxy's log announces before re-subscribing to events
/// (`re-subscribing in 400ms`, `… in 1s`).
fn resubscription_pauses(log: &str) -> Vec<u64> {
    log.lines()
        .filter_map(|l| l.split("re-subscribing in ").nth(1))
        .filter_map(|d| {
            let d = d.trim();
            match d.strip_suffix("ms") {
                Some(ms) => ms.parse::<f64>().ok(),
                None => d.strip_suffix('s')?.parse::<f64>().ok().map(|s| s * 1e3),
            }
        })
        .map(|ms| ms.round() as u64)
        .collect()
}

/// The proxy socket path.
fn socket(p: &Proxy) -> std::path::PathBuf {
    p.host.strip_prefix("unix://").unwrap().into()
}

/// A 502 in Docker's error shape whose message names the daemon's socket; otherwise
/// what came instead.
fn is_502_naming(what: &str, a: &Answer, d: &PrivateDaemon) -> Result<(), String> {
    let sock = d.socket().display().to_string();
    if a.status == 502 && a.body.contains("\"message\"") && a.body.contains(&sock) {
        return Ok(());
    }
    Err(format!(
        "{what}: expected a 502 naming the daemon {sock}, got {}: {}",
        a.status,
        a.body.trim()
    ))
}

/// A stream through the proxy that stays open (an `events` stream, an upgraded attach),
/// read on a thread of its own once its head came with `status`: reports when and how it
/// ended.
fn open_stream(p: &Proxy, request: &str, status: &str) -> mpsc::Receiver<(Instant, String)> {
    let mut c = Client::connect(&socket(p)).expect("connect to the proxy");
    let s = c.stream();
    s.write_all(request.as_bytes()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    // The head first: the daemon's side is open before the daemon goes.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            s.read(&mut byte).expect("stream head"),
            1,
            "stream head cut"
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_string();
    assert!(head.starts_with(status), "expected {status}: {head}");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut body = Vec::new();
        let mut buf = [0u8; 4096];
        let how = loop {
            match c.stream().read(&mut buf) {
                Ok(0) => break "closed",
                Ok(n) => body.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    break "still open after 120 s"
                }
                Err(_) => break "reset",
            }
        };
        let last_chunk = String::from_utf8_lossy(&body).ends_with("0\r\n\r\n");
        let _ = tx.send((
            Instant::now(),
            format!(
                "{how} {} a final chunk",
                if last_chunk { "after" } else { "without" }
            ),
        ));
    });
    rx
}

#[test]
fn the_proxy_serves_on_across_a_dockerd_restart() {
    if !prerequisites() {
        return;
    }
    let d = PrivateDaemon::up(false);
    let bridge = BridgeGuard::new();
    let dir = TempDir::new("proxy-restart");
    let mut p = proxy_on(&d, &bridge, &dir);
    let pid = p.pid();
    let always = unique("always");
    run_app(&p, &d, &always, "10.255.0.81/24", &["--restart=always"]);
    assert_eq!(d.logs(&always).trim(), "RUN-1");

    let mut kept = Client::connect(&socket(&p)).unwrap();
    let ping = request("GET", "/_ping", None);
    assert_eq!(kept.ask(&ping, DOWN_ANSWER).unwrap().status, 200);
    let events = open_stream(&p, &request("GET", "/v1.41/events", None), "HTTP/1.1 200");
    let attached = open_stream(
        &p,
        &upgrade_request(
            &format!("/v1.41/containers/{always}/attach?stream=1&stdout=1&stderr=1"),
            None,
        ),
        "HTTP/1.1 101",
    );

    let stopping = Instant::now();
    let took = d.stop();
    eprintln!("dockerd stopped in {:.1} s", took.as_secs_f64());

    // The streams open when the daemon went: ended, not hanging.
    for (what, stream) in [("events stream", events), ("upgraded attach", attached)] {
        let (ended, how) = stream.recv_timeout(Duration::from_secs(30)).unwrap_or_else(|_| {
            panic!("the {what} open through the proxy did not end within 30 s of the daemon's exit")
        });
        eprintln!(
            "{what} open across the stop: {how}, {:.0} ms after SIGTERM (dockerd took {:.0} ms to exit)",
            ended.duration_since(stopping).as_secs_f64() * 1e3,
            took.as_secs_f64() * 1e3
        );
    }

    // Every request while it is down: a prompt 502 naming the daemon.
    let create = format!(
        r#"{{"Image":"{BUSYBOX}","Entrypoint":["sh"],"Cmd":["-c","true"],"Env":["WEAVE_CIDR=10.255.0.89/24"]}}"#
    );
    let create_image_only =
        format!(r#"{{"Image":"{BUSYBOX}","Cmd":["true"],"Env":["WEAVE_CIDR=10.255.0.89/24"]}}"#);
    let attach = format!("/v1.41/containers/{always}/attach?stream=1&stdout=1&stderr=1");
    let cases = [
        ("GET /_ping", request("GET", "/_ping", None)),
        (
            "GET /containers/json",
            request("GET", "/v1.41/containers/json", None),
        ),
        (
            "POST /containers/create (rewritten without the image)",
            request("POST", "/v1.41/containers/create", Some(&create)),
        ),
        (
            "POST /containers/create (the merge needs the image's Entrypoint)",
            request("POST", "/v1.41/containers/create", Some(&create_image_only)),
        ),
        (
            "POST /containers/{id}/start",
            request("POST", &format!("/v1.41/containers/{always}/start"), None),
        ),
        ("attach upgrade", upgrade_request(&attach, None)),
        (
            "exec start upgrade",
            upgrade_request(
                "/v1.41/exec/0123456789ab/start",
                Some(r#"{"Detach":false,"Tty":false}"#),
            ),
        ),
        ("GET /events", request("GET", "/v1.41/events", None)),
    ];
    let mut failures = Vec::new();
    let mut latencies = Vec::new();
    for (what, req) in &cases {
        match exchange(&socket(&p), req, DOWN_ANSWER) {
            Ok(a) => {
                latencies.push(format!("{what} {:.2} ms", a.elapsed.as_secs_f64() * 1e3));
                if let Err(e) = is_502_naming(what, &a, &d) {
                    failures.push(e);
                }
            }
            Err(e) => failures.push(format!("{what}: {e}")),
        }
    }
    match kept.ask(&ping, DOWN_ANSWER) {
        Ok(a) => {
            latencies.push(format!(
                "kept-alive GET /_ping {:.2} ms",
                a.elapsed.as_secs_f64() * 1e3
            ));
            if a.status != 502 {
                failures.push(format!("kept-alive GET /_ping while down: {a:?}"));
            }
        }
        Err(e) => failures.push(format!("kept-alive GET /_ping while down: {e}")),
    }
    let sock = d.socket().display().to_string();
    for args in [
        vec!["ps"],
        vec![
            "run",
            "--rm",
            "-e",
            "WEAVE_CIDR=10.255.0.88/24",
            BUSYBOX,
            "true",
        ],
        vec!["exec", &always, "true"],
    ] {
        let t = Instant::now();
        let out = p.docker(&args);
        let took = t.elapsed();
        latencies.push(format!(
            "docker {} {:.0} ms",
            args[0],
            took.as_secs_f64() * 1e3
        ));
        let err = stderr(&out);
        if out.status.success() || out.status.code() == Some(124) || !err.contains(&sock) {
            failures.push(format!(
                "docker {args:?} while the daemon is down: {} in {took:?}, stderr: {err}",
                out.status
            ));
        }
    }
    eprintln!("while dockerd is down: {}", latencies.join(", "));

    // The follower retries with backoff while the daemon is down, up to its bound and no
    // further: kept down until two pauses at the bound were announced.
    let at_bound = |log: &str| {
        resubscription_pauses(log)
            .iter()
            .filter(|&&ms| ms == BACKOFF_MS)
            .count()
    };
    let reached = eventually(Duration::from_secs(20), || at_bound(&p.log_text()) >= 2);
    let pauses = resubscription_pauses(&p.log_text());
    if !reached || pauses.iter().any(|&ms| ms > BACKOFF_MS) {
        failures.push(format!(
            "re-subscription pauses while down: {pauses:?} ms, expected them to grow to \
             {BACKOFF_MS} ms and no further"
        ));
    }

    // Back: the same proxy serves again.
    let took = d.start();
    let back = Instant::now();
    eprintln!("dockerd back in {:.1} s", took.as_secs_f64());
    assert!(p.is_running(), "the proxy exited: {}", p.log_text());
    assert_eq!(p.pid(), pid);
    // Started by another client at once: attached when the follower is back.
    let other = unique("other");
    let other_cidr = "10.255.0.83/24";
    let script = app(other_cidr);
    p.docker_ok(&[
        "create",
        "--name",
        &other,
        "--stop-timeout",
        "1",
        "-e",
        &format!("WEAVE_CIDR={other_cidr}"),
        BUSYBOX,
        "sh",
        "-c",
        &script,
    ]);
    d.docker_ok(&["start", &other]);
    wait_runs(&d, &other, 1);
    let resubscribed = back.elapsed();
    assert_eq!(d.logs(&other).trim(), "RUN-1", "{}", p.log_text());
    match kept.ask(&ping, DOWN_ANSWER) {
        Ok(a) if a.status == 200 => {}
        other => failures.push(format!(
            "kept-alive GET /_ping after the restart: {other:?}"
        )),
    }
    assert_eq!(
        p.docker_ok(&["inspect", "-f", "{{.State.Running}}", &other]),
        "true"
    );

    // The restart-policy container: restarted by Docker, attached before its app ran.
    wait_runs(&d, &always, 2);
    let restarted = back.elapsed();
    let log = d.logs(&always);
    assert_eq!(log.matches("RUN-1").count(), 2, "{log}\n{}", p.log_text());
    assert!(
        !log.contains("RUN-0"),
        "a run started without its address:\n{log}"
    );

    // The follower stays subscribed: a later start comes through its stream, which does
    // not end again.
    let ended_before = p.log_text().matches("event stream ended").count();
    let later = unique("later");
    let later_cidr = "10.255.0.84/24";
    let script = app(later_cidr);
    p.docker_ok(&[
        "create",
        "--name",
        &later,
        "--stop-timeout",
        "1",
        "-e",
        &format!("WEAVE_CIDR={later_cidr}"),
        BUSYBOX,
        "sh",
        "-c",
        &script,
    ]);
    d.docker_ok(&["start", &later]);
    wait_runs(&d, &later, 1);
    assert_eq!(d.logs(&later).trim(), "RUN-1");
    assert_eq!(
        p.log_text().matches("event stream ended").count(),
        ended_before,
        "the event stream ended again after the restart:\n{}",
        p.log_text()
    );
    eprintln!(
        "after dockerd came back: a container started by another client ran attached {:.2} s later; \
         the --restart=always container ran again attached {:.2} s later",
        resubscribed.as_secs_f64(),
        restarted.as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} problem(s) while the daemon was down or after:\n{}\nproxy log:\n{}",
        failures.len(),
        failures.join("\n"),
        p.log_text()
    );
}

#[test]
fn with_live_restore_running_containers_keep_their_ethwe_untouched() {
    if !prerequisites() {
        return;
    }
    let d = PrivateDaemon::up(true);
    let bridge = BridgeGuard::new();
    let dir = TempDir::new("proxy-live");
    let mut p = proxy_on(&d, &bridge, &dir);
    let plain = unique("live");
    let always = unique("live-always");
    run_app(&p, &d, &plain, "10.255.0.85/24", &[]);
    run_app(&p, &d, &always, "10.255.0.86/24", &["--restart=always"]);
    let before: Vec<Snapshot> = [&plain, &always]
        .iter()
        .map(|name| {
            let snap = d.snapshot(name);
            assert_eq!(
                snap.host_veth,
                Some(snap.ethwe.1),
                "{name}: the host end is not ethwe's peer"
            );
            snap
        })
        .collect();

    d.stop();
    // Down: the containers keep running with their ethwe; the proxy answers 502.
    for snap in &before {
        let (name, pid) = (&snap.name, &snap.pid);
        assert!(
            std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "{name} (pid {pid}) died with dockerd despite live-restore"
        );
        assert_eq!(
            ethwe_indexes(pid),
            snap.ethwe,
            "{name}: ethwe changed while dockerd was down"
        );
    }
    let a = exchange(&socket(&p), &request("GET", "/_ping", None), DOWN_ANSWER)
        .expect("an answer while the daemon is down");
    is_502_naming("GET /_ping", &a, &d).unwrap();

    d.start();
    // The follower is back (its re-subscription scans the running containers first): a
    // container started by another client gets attached.
    let other = unique("live-other");
    let script = app("10.255.0.87/24");
    p.docker_ok(&[
        "create",
        "--name",
        &other,
        "--stop-timeout",
        "1",
        "-e",
        "WEAVE_CIDR=10.255.0.87/24",
        BUSYBOX,
        "sh",
        "-c",
        &script,
    ]);
    d.docker_ok(&["start", &other]);
    wait_runs(&d, &other, 1);
    assert_eq!(d.logs(&other).trim(), "RUN-1");
    assert!(
        eventually(Duration::from_secs(30), || p
            .log_text()
            .contains("running container(s) attached or found attached")),
        "the follower's re-subscription scan did not run:\n{}",
        p.log_text()
    );

    // Untouched: same process, never restarted, one run, same veth on both ends.
    d.assert_untouched(&before, "proxy", &p.log_text());
    assert!(p.is_running());
}
