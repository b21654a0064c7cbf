//! Every bound of the proxy reached end to end (docs/design.md "Bounds"), each with a small value set
//! through `POWERSTRIP_WEAVE_BOUNDS`, and what the user sees then: the CLI's error, the
//! container's fate, what is left behind. The daemon-side bounds on a frozen dockerd are
//! in `frozen.rs`; the re-subscription backoff in `daemon_restart.rs`.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e::docker::{docker, docker_ok, unique, Cleanup};
use e2e::netns::{eventually, output_bounded};
use e2e::prereq;
use e2e::private::{exchange, request};
use e2e::proxy::{busybox_image, listens, prerequisites, stderr, Proxy, TempDir};

use crate::weave::{Weave, WAITER};

/// The app: prints `RUN-<n>`, n being how many times its first instruction sees `cidr` on
/// `ethwe` (1 when attached before it ran), then sleeps.
fn app(cidr: &str) -> String {
    format!(
        "echo RUN-$(ip -4 -o addr show ethwe 2>/dev/null | grep -c 'inet {cidr} '); exec sleep 300"
    )
}

fn logs(name: &str) -> String {
    e2e::output_text(&docker(&["logs", name]))
}

/// An executable script `dir/name` with `body` after the shebang.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A `command:` backend (`tool attach <items…> <id>`) that records its pid in `dir/pids`,
/// sleeps `delay` seconds, writes `dir/done`, then hands over to the native attach on
/// `bridge`.
fn slow_attach(dir: &Path, bridge: &str, delay: u32) -> String {
    let tool = script(
        dir,
        "attach-tool",
        // Short sleeps: a killed tool leaves no sleep of its own behind for long.
        &format!(
            "echo $$ >>{pids}\ni=0\nwhile [ $i -lt {tenths} ]; do sleep 0.1; i=$((i+1)); done\n\
             touch {done}\nshift\nexec {bin} attach --bridge {bridge} --no-firewall \"$@\"\n",
            tenths = delay * 10,
            pids = dir.join("pids").display(),
            done = dir.join("done").display(),
            bin = e2e::proxy::binary().display(),
        ),
    );
    format!("command:{}", tool.display())
}

/// The pids `dir/pids` recorded.
fn pids(dir: &Path) -> Vec<u32> {
    std::fs::read_to_string(dir.join("pids"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// A weave proxy for `w`, scoped to `label`, attaching with `backend`, with `bounds`
/// (`name=duration,…`) and debug logs; events followed only when `events`.
fn proxy(
    w: &Weave,
    dir: &TempDir,
    bounds: &str,
    backend: &str,
    label: &str,
    events: bool,
) -> Proxy {
    proxy_env(
        w,
        dir,
        &[("POWERSTRIP_WEAVE_BOUNDS", bounds)],
        backend,
        label,
        events,
        &["--no-firewall"],
    )
}

fn proxy_env(
    w: &Weave,
    dir: &TempDir,
    env: &[(&str, &str)],
    backend: &str,
    label: &str,
    events: bool,
    extra: &[&str],
) -> Proxy {
    let host = format!("unix://{}", dir.join("proxy.sock").display());
    let label_flag = label.to_string();
    let mut args = vec![
        "--listen",
        &host,
        "--attach",
        backend,
        "--bridge",
        &w.bridge,
        "--volume-container",
        &w.volume,
        "--label",
        &label_flag,
        "--waiter",
        WAITER,
    ];
    if !events {
        args.push("--no-events");
    }
    args.extend_from_slice(extra);
    let mut all_env = vec![("RUST_LOG", "info,adapter=debug")];
    all_env.extend_from_slice(env);
    Proxy::start_env(&all_env, &host, &args, listens)
}

/// `docker run -d` through `p` of the app asking for `cidr`, in `label`'s scope.
fn run_d(p: &Proxy, name: &str, label: &str, cidr: &str) -> std::process::Output {
    p.docker(
        &run_args(name, label, cidr)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
}

fn run_args(name: &str, label: &str, cidr: &str) -> Vec<String> {
    [
        "run",
        "-d",
        "--name",
        name,
        "--stop-timeout",
        "1",
        "--label",
        label,
        "-e",
        &format!("WEAVE_CIDR={cidr}"),
        busybox_image(),
        "sh",
        "-c",
        &app(cidr),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn socket(p: &Proxy) -> PathBuf {
    p.host.strip_prefix("unix://").unwrap().into()
}

#[test]
fn a_daemon_that_accepts_no_connection_is_a_502_at_the_connect_bound() {
    if !prerequisites() {
        return;
    }
    // A TCP "daemon" whose accept queue is full: the kernel drops further SYNs, so a
    // connect neither succeeds nor fails.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // SAFETY: listen(2) again on our own listening socket only shrinks its backlog.
    assert_eq!(unsafe { nix::libc::listen(listener.as_raw_fd(), 0) }, 0);
    let addr = listener.local_addr().unwrap();
    let mut filling = Vec::new();
    while let Ok(s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
        filling.push(s);
        assert!(filling.len() < 64, "the accept queue never filled");
    }
    let daemon = format!("tcp://{addr}");
    let dir = TempDir::new("bound-connect");
    let host = format!("unix://{}", dir.join("proxy.sock").display());
    let p = Proxy::start_env(
        &[("POWERSTRIP_WEAVE_BOUNDS", "connect=1s")],
        &host,
        &["--listen", &host, "--docker", &daemon, "--no-weave"],
        listens,
    );
    let a = exchange(
        &socket(&p),
        &request("GET", "/_ping", None),
        Duration::from_secs(20),
    )
    .expect("an answer");
    assert_eq!(a.status, 502, "{a:?}");
    assert!(
        a.body.contains(&format!(
            "cannot connect to the Docker daemon at {daemon}: no connection within 1s"
        )),
        "{a:?}"
    );
    let out = p.docker(&["ps"]);
    let err = stderr(&out);
    assert!(
        !out.status.success() && err.contains("no connection within 1s") && err.contains(&daemon),
        "docker ps through the proxy: {}: {err}",
        out.status
    );
    eprintln!(
        "connect bound: 502 after {:.2} s; docker ps said: {}",
        a.elapsed.as_secs_f64(),
        err.trim()
    );
    drop(filling);
}

#[test]
fn a_long_stop_is_waited_for_while_the_daemon_answers_pings() {
    if !prerequisites() {
        return;
    }
    let dir = TempDir::new("bound-ping");
    let host = format!("unix://{}", dir.join("proxy.sock").display());
    let p = Proxy::start_env(
        &[
            ("POWERSTRIP_WEAVE_BOUNDS", "ping=500ms"),
            ("RUST_LOG", "info,adapter=debug"),
        ],
        &host,
        &["--listen", &host, "--no-weave"],
        listens,
    );
    let mut c = Cleanup::default();
    let name = c.add(unique("stop"));
    // `sleep` as PID 1 ignores SIGTERM: Docker answers the stop only after its timeout.
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &name,
        busybox_image(),
        "sleep",
        "300",
    ]);
    let t = Instant::now();
    p.docker_ok(&["stop", "-t", "3", &name]);
    let took = t.elapsed();
    let pings = p
        .log_text()
        .matches("an answer is awaited; the Docker daemon at")
        .count();
    eprintln!(
        "docker stop -t 3 through the proxy with ping=500ms: {:.1} s, {pings} ping(s) answered meanwhile",
        took.as_secs_f64()
    );
    assert!(
        pings >= 1,
        "no ping while the stop was awaited:\n{}",
        p.log_text()
    );
}

#[test]
fn request_heads_and_bodies_are_bounded_and_idle_connections_closed() {
    if !prerequisites() {
        return;
    }
    let dir = TempDir::new("bound-head");
    let host = format!("unix://{}", dir.join("proxy.sock").display());
    let p = Proxy::start_env(
        &[("POWERSTRIP_WEAVE_BOUNDS", "header=1s,body=1s")],
        &host,
        &["--listen", &host, "--no-weave"],
        listens,
    );
    let closed_within = |s: &mut UnixStream, limit: Duration| -> Result<Duration, String> {
        let t = Instant::now();
        s.set_read_timeout(Some(limit)).unwrap();
        let mut buf = [0u8; 4096];
        let mut got = Vec::new();
        loop {
            match s.read(&mut buf) {
                Ok(0) => return Ok(t.elapsed()),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(format!(
                        "still open after {limit:?} ({e}); got {:?}",
                        String::from_utf8_lossy(&got)
                    ))
                }
            }
        }
    };
    // A head that stops midway.
    let mut half = UnixStream::connect(socket(&p)).unwrap();
    half.write_all(b"GET /_ping HTTP/1.1\r\nHost: do").unwrap();
    let head_closed = closed_within(&mut half, Duration::from_secs(20)).unwrap();
    // A kept-alive connection left idle after an exchange.
    let mut idle = e2e::private::Client::connect(&socket(&p)).unwrap();
    let a = idle
        .ask(&request("GET", "/_ping", None), Duration::from_secs(20))
        .unwrap();
    assert_eq!(a.status, 200);
    let idle_closed = closed_within(idle.stream(), Duration::from_secs(20)).unwrap();
    // A create body that stops midway.
    let t = Instant::now();
    let mut body = UnixStream::connect(socket(&p)).unwrap();
    body.write_all(
        b"POST /containers/create HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"Image\":",
    )
    .unwrap();
    body.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let answer = loop {
        let mut buf = vec![0u8; 4096];
        match body.read(&mut buf) {
            Ok(n) => break String::from_utf8_lossy(&buf[..n]).to_string(),
            // A signal to this test process: read again.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => panic!("no answer to half a create body: {e}"),
        }
    };
    let body_answered = t.elapsed();
    assert!(
        answer.starts_with("HTTP/1.1 408")
            && answer.contains("the request body did not arrive whole within 1s"),
        "{answer}"
    );
    eprintln!(
        "header=1s: half a head closed after {:.2} s, an idle kept-alive connection after {:.2} s; \
         body=1s: half a create body answered 408 after {:.2} s",
        head_closed.as_secs_f64(),
        idle_closed.as_secs_f64(),
        body_answered.as_secs_f64()
    );
}

#[test]
fn a_start_held_past_its_bound_is_answered_and_its_attach_goes_on() {
    let Some(w) = Weave::setup() else { return };
    let dir = TempDir::new("bound-hold");
    let backend = slow_attach(&dir.0, &w.bridge, 4);
    let label = format!("pw.test={}", unique("hold"));
    let p = proxy(&w, &dir, "hold=1s", &backend, &label, false);
    let mut c = Cleanup::default();
    let name = c.add(unique("held"));
    let cidr = "10.255.0.101/24";
    let out = run_d(&p, &name, &label, cidr);
    let done_when_answered = dir.join("done").exists();
    let err = stderr(&out);
    // The CLI starts the container by id.
    let id = docker_ok(&["inspect", "-f", "{{.Id}}", &name]);
    assert!(
        !out.status.success()
            && err.contains(&format!(
                "container {id} was not given its network within 1s: its attach goes on"
            )),
        "docker run -d: {}: {err}\n{}",
        out.status,
        p.log_text()
    );
    assert!(
        !done_when_answered,
        "the client was answered only after the attach"
    );
    assert!(
        eventually(Duration::from_secs(30), || logs(&name).contains("RUN-")),
        "the attach did not go on:\n{}",
        p.log_text()
    );
    assert_eq!(logs(&name).trim(), "RUN-1");
    let log = p.log_text();
    assert!(!log.contains("so it never runs unnetworked"), "{log}");
}

#[test]
fn an_attach_waiting_past_the_lock_bound_leaves_the_container_to_the_one_under_way() {
    let Some(w) = Weave::setup() else { return };
    let dir = TempDir::new("bound-lock");
    let backend = slow_attach(&dir.0, &w.bridge, 3);
    let label = format!("pw.test={}", unique("lock"));
    // Events on: the start hook and the `start` event attach the same container.
    let p = proxy(&w, &dir, "lock=1s", &backend, &label, true);
    let mut c = Cleanup::default();
    let name = c.add(unique("locked"));
    let cidr = "10.255.0.102/24";
    let out = run_d(&p, &name, &label, cidr);
    assert!(
        eventually(Duration::from_secs(30), || logs(&name).contains("RUN-")),
        "never attached:\n{}",
        p.log_text()
    );
    assert_eq!(logs(&name).trim(), "RUN-1");
    let log = p.log_text();
    assert!(
        log.contains("left to the one under way: another attach of it held its lock for over 1s"),
        "no attach gave up on the lock:\n{log}"
    );
    assert_eq!(
        pids(&dir.0).len(),
        1,
        "the backend ran more than once:\n{log}"
    );
    assert!(!log.contains("so it never runs unnetworked"), "{log}");
    eprintln!(
        "lock=1s: the {} gave up on the lock; docker run -d {}",
        if out.status.success() {
            "start event's attach"
        } else {
            "start hook's attach"
        },
        if out.status.success() {
            "succeeded".to_string()
        } else {
            format!("said: {}", stderr(&out).trim())
        }
    );
}

#[test]
fn a_hung_attach_command_is_killed_at_its_bound() {
    let Some(w) = Weave::setup() else { return };
    let dir = TempDir::new("bound-command");
    let backend = slow_attach(&dir.0, &w.bridge, 300);
    let label = format!("pw.test={}", unique("cmd"));
    let p = proxy(&w, &dir, "command=1s", &backend, &label, false);
    let mut c = Cleanup::default();
    let name = c.add(unique("cmd"));
    let out = run_d(&p, &name, &label, "10.255.0.104/24");
    let err = stderr(&out);
    assert!(
        !out.status.success() && err.contains("did not finish within 1s and was killed"),
        "docker run -d: {}: {err}",
        out.status
    );
    let tool = pids(&dir.0);
    assert_eq!(tool.len(), 1);
    assert!(
        eventually(Duration::from_secs(5), || !alive(tool[0])),
        "the attach command (pid {}) still runs",
        tool[0]
    );
    assert_eq!(
        docker_ok(&["inspect", "-f", "{{.State.Running}}", &name]),
        "false",
        "the container was not killed"
    );
    assert!(logs(&name).is_empty(), "the app ran: {}", logs(&name));
}

#[test]
fn a_hung_iptables_is_killed_at_its_bound_and_the_attach_goes_on() {
    let Some(w) = Weave::setup() else { return };
    let filtered = std::fs::read_to_string("/proc/sys/net/bridge/bridge-nf-call-iptables")
        .is_ok_and(|v| v.trim() == "1");
    if !prereq::require(
        filtered,
        "net.bridge.bridge-nf-call-iptables = 1 (dockerd sets it when br_netfilter is loaded)",
    ) {
        return;
    }
    let dir = TempDir::new("bound-iptables");
    // An iptables that hangs, first on the proxy's PATH: the host's rules are never
    // touched, and the bound is reached.
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    script(
        &bin,
        "iptables",
        &format!("echo $$ >>{}\nexec sleep 300\n", dir.join("pids").display()),
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let label = format!("pw.test={}", unique("ipt"));
    // With the firewall step: the proxy creates the test's bridge.
    let p = proxy_env(
        &w,
        &dir,
        &[("POWERSTRIP_WEAVE_BOUNDS", "iptables=1s"), ("PATH", &path)],
        "bridge",
        &label,
        false,
        &[],
    );
    let mut c = Cleanup::default();
    let name = c.add(unique("ipt"));
    let out = run_d(&p, &name, &label, "10.255.0.105/24");
    p.check(&["run", "-d"], &out);
    assert!(
        eventually(Duration::from_secs(30), || logs(&name).contains("RUN-")),
        "not attached:\n{}",
        p.log_text()
    );
    assert_eq!(logs(&name).trim(), "RUN-1");
    let log = p.log_text();
    assert!(
        log.contains("iptables did not finish within 1s and was killed"),
        "{log}"
    );
    let runs = pids(&dir.0);
    assert!(!runs.is_empty());
    assert!(
        eventually(Duration::from_secs(5), || runs.iter().all(|p| !alive(*p))),
        "an iptables run is left: {runs:?}"
    );
}

#[test]
fn the_start_up_scan_gives_up_after_its_attempts_and_kills_nothing() {
    let Some(w) = Weave::setup() else { return };
    let dir = TempDir::new("bound-scan");
    let failing = script(
        &dir.0,
        "attach-tool",
        &format!(
            "echo $$ >>{}\necho refused >&2\nexit 1\n",
            dir.join("pids").display()
        ),
    );
    let backend = format!("command:{}", failing.display());
    let label = format!("pw.test={}", unique("scan"));
    let mut c = Cleanup::default();
    let name = c.add(unique("scan"));
    {
        // Created (rewritten) through a proxy, started behind its back: it waits.
        let p = proxy(&w, &dir, "", &backend, &label, false);
        let args = run_args(&name, &label, "10.255.0.106/24");
        let mut create: Vec<&str> = args.iter().map(String::as_str).collect();
        create.splice(0..2, ["create"]);
        p.docker_ok(&create);
    }
    docker_ok(&["start", &name]);
    let before = docker_ok(&["inspect", "-f", "{{.State.Pid}} {{.State.Running}}", &name]);
    let p = proxy(
        &w,
        &TempDir::new("bound-scan-2"),
        "",
        &backend,
        &label,
        true,
    );
    assert!(
        eventually(Duration::from_secs(30), || p
            .log_text()
            .contains("giving up on")),
        "the scan did not give up:\n{}",
        p.log_text()
    );
    assert_eq!(
        pids(&dir.0).len(),
        SCAN_ATTEMPTS,
        "attempts:\n{}",
        p.log_text()
    );
    assert_eq!(
        docker_ok(&["inspect", "-f", "{{.State.Pid}} {{.State.Running}}", &name]),
        before,
        "the waiting container was touched"
    );
    assert!(logs(&name).is_empty(), "the app ran: {}", logs(&name));
}

/// Attempts per waiting container of the start-up scan (docs/design.md "Bounds").
const SCAN_ATTEMPTS: usize = 5;

#[test]
fn a_stopping_proxy_lets_its_attaches_finish_within_the_drain_bound() {
    let Some(w) = Weave::setup() else { return };
    let label = format!("pw.test={}", unique("drain"));
    let mut c = Cleanup::default();

    // An attach of 2 s under way at SIGTERM: finished before the proxy exits.
    let dir = TempDir::new("bound-drain");
    let mut p = proxy(
        &w,
        &dir,
        "",
        &slow_attach(&dir.0, &w.bridge, 2),
        &label,
        false,
    );
    let finished = c.add(unique("drained"));
    let cli = docker_run_background(&p, &finished, &label, "10.255.0.107/24");
    assert!(eventually(Duration::from_secs(30), || !pids(&dir.0).is_empty()));
    let (status, took) = p
        .terminate(Duration::from_secs(30))
        .expect("the proxy exited");
    assert!(status.success(), "{status}: {}", p.log_text());
    let _ = output_bounded(cli, Duration::from_secs(30), "docker run -d");
    assert!(
        p.log_text()
            .contains("waiting up to 8s for 1 attach(es) under way"),
        "{}",
        p.log_text()
    );
    assert!(
        eventually(Duration::from_secs(10), || logs(&finished).contains("RUN-")),
        "the attach under way was cut off:\n{}",
        p.log_text()
    );
    assert_eq!(logs(&finished).trim(), "RUN-1");
    eprintln!(
        "SIGTERM with an attach under way: the proxy exited after {:.1} s",
        took.as_secs_f64()
    );

    // One of 300 s: the proxy exits at the bound, the container keeps waiting.
    let dir = TempDir::new("bound-drain-2");
    let mut p = proxy(
        &w,
        &dir,
        "drain=500ms",
        &slow_attach(&dir.0, &w.bridge, 300),
        &label,
        false,
    );
    let waiting = c.add(unique("undrained"));
    let cli = docker_run_background(&p, &waiting, &label, "10.255.0.108/24");
    assert!(eventually(Duration::from_secs(30), || !pids(&dir.0).is_empty()));
    let (status, took) = p
        .terminate(Duration::from_secs(30))
        .expect("the proxy exited");
    assert!(status.success(), "{status}: {}", p.log_text());
    let _ = output_bounded(cli, Duration::from_secs(30), "docker run -d");
    let log = p.log_text();
    let id = docker_ok(&["inspect", "-f", "{{.Id}}", &waiting]);
    assert!(
        log.contains(&format!(
            "stopping with 1 attach(es) unfinished after 500ms: {id}"
        )),
        "{log}"
    );
    assert_eq!(
        docker_ok(&["inspect", "-f", "{{.State.Running}}", &waiting]),
        "true",
        "the waiting container was stopped"
    );
    assert!(logs(&waiting).is_empty(), "the app ran: {}", logs(&waiting));
    eprintln!(
        "SIGTERM with an attach of 300 s under way, drain=500ms: exited after {:.1} s",
        took.as_secs_f64()
    );
}

/// `docker run -d` through `p` in the background (its start is held by the attach).
fn docker_run_background(p: &Proxy, name: &str, label: &str, cidr: &str) -> std::process::Child {
    Command::new("timeout")
        .args(["-k", "5", "120", "docker"])
        .args(run_args(name, label, cidr))
        .env("DOCKER_HOST", &p.host)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("docker run")
}
