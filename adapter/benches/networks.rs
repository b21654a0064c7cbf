//! `make bench-networks`: the `network:NAME` backend beside the `bridge` backend, in one run
//! (docs/design.md §10).
//!
//! 1. Start → app running, p50/p99 over BENCH_NETWORK_RUNS (default 50) runs each, with the
//!    create decided by the real hooks and the real attacher:
//!    - the bridge backend (an exact address, a veth into the container's namespace);
//!    - the network backend on a local bridge network of the daemon: an exact address, an
//!      allocation (pinned), and the alternative the design did not take, connecting the
//!      created container before its start (exact);
//!    - the same three on a swarm's attachable overlay, from a worker of a 2-host simulated
//!      cluster (`mk/cluster.sh`).
//!
//!    Each row gives start sent → app running and start answered by Docker → app running:
//!    what the proxy adds before it answers the client (connect after the start), or what
//!    is left once Docker answered (connect before the start: nothing).
//! 2. A burst of BENCH_BURST (default 50) `docker run -d` at once through the proxy with
//!    each backend, total wall time, beside the same burst with plain `docker run` against
//!    the daemon (the bridge backend's reference: Docker's default network; a network's:
//!    `--network NAME`, with `--ip` for exact addresses).
//!
//! Needs root, a dockerd, the static proxy (`make static`), the images (`make images`,
//! loaded by the make rule) and the cluster's busybox archive (`make cluster-images`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use adapter::addr::Addr;
use adapter::attach::attacher::{Attacher, OnFailure, Outcome};
use adapter::attach::bridge::BridgeConfig;
use adapter::attach::BackendSpec;
use adapter::commands::volume;
use adapter::docker;
use adapter::hooks::WeaveHooks;
use adapter::policy::create::Decision;
use adapter::policy::rewrite::RewriteConfig;
use adapter::policy::Scope;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{CreateContainerOptions, StartContainerOptions};
use serde_json::json;

const EXAMPLE: &str = "weavewait-example:latest";
const WAITER_IMAGE: &str = "weavewait:latest";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// `p50 X ms p99 Y ms` of `values` (ms).
fn p50_p99(mut values: Vec<f64>) -> String {
    values.sort_by(f64::total_cmp);
    format!(
        "p50 {:>7.1} ms  p99 {:>7.1} ms",
        percentile(&values, 0.5),
        percentile(&values, 0.99)
    )
}

/// Milliseconds from `a` to `b`, negative when `b` came first.
fn signed_ms(a: Instant, b: Instant) -> f64 {
    match b.checked_duration_since(a) {
        Some(d) => d.as_secs_f64() * 1e3,
        None => -(a.duration_since(b).as_secs_f64() * 1e3),
    }
}

/// When the process `pid` stops being the waiter (exec'd the app, or ended), polled every
/// 100 µs from a blocking thread; bounded by 60 s.
fn app_running(pid: u32) -> tokio::task::JoinHandle<Instant> {
    tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
            if !exe.is_some_and(|e| e.to_string_lossy().ends_with("wait-for-weave")) {
                return Instant::now();
            }
            if Instant::now() > deadline {
                return Instant::now();
            }
            std::thread::sleep(Duration::from_micros(100));
        }
    })
}

/// One daemon under test: its client, its DOCKER_HOST, a volume container and a label of
/// the bench's own.
struct Daemon {
    docker: docker::Daemon,
    host: String,
    volume: String,
    label: String,
}

impl Daemon {
    async fn new(host: &str, tag: &str) -> anyhow::Result<Daemon> {
        let docker = docker::client(&Addr::docker(Some(host), None)?)?;
        let volume = format!("pw-bench-ww-{tag}-{}", std::process::id());
        volume::ensure(&docker, &volume, WAITER_IMAGE).await?;
        Ok(Daemon {
            docker,
            host: host.to_string(),
            volume,
            label: format!("pw.bench=net-{tag}-{}", std::process::id()),
        })
    }

    fn rewrite(&self) -> RewriteConfig {
        RewriteConfig {
            volume_container: self.volume.clone(),
            ..RewriteConfig::default()
        }
    }

    fn hooks(&self, backend: &BackendSpec, bridge: &BridgeConfig) -> WeaveHooks {
        let (k, v) = self.label.split_once('=').unwrap();
        let attacher = Attacher::new(
            self.docker.clone(),
            backend.build(bridge, &self.docker, &self.rewrite()),
            self.rewrite(),
            Scope::new(Some((k.to_string(), v.to_string()))),
        );
        WeaveHooks::new(Arc::new(attacher))
    }

    /// `docker ARGS…` against this daemon (or `host`), bounded; whether it exited 0.
    fn cli(&self, host: &str, args: &[&str]) -> bool {
        Command::new("timeout")
            .args(["-k", "5", "300", "docker", "-H", host])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Removes every container carrying the bench's label.
    fn clean(&self) {
        let out = Command::new("docker")
            .args(["-H", &self.host, "ps", "-aq", "--filter"])
            .arg(format!("label={}", self.label))
            .output();
        let ids = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
        let ids: Vec<String> = ids
            .unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect();
        for chunk in ids.chunks(50) {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(chunk.iter().map(String::as_str));
            self.cli(&self.host, &args);
        }
    }
}

/// When the network is connected.
#[derive(Clone, Copy, PartialEq)]
enum When {
    /// After Docker answered the start, as every backend attaches (the design's choice).
    AfterStart,
    /// To the created container, before its start (exact addresses only): Docker attaches
    /// it as it starts the container.
    BeforeStart,
}

/// BENCH_NETWORK_RUNS runs of create (decided by `hooks`), start and attach; prints one
/// row.
async fn latency(
    row: &str,
    d: &Daemon,
    hooks: &WeaveHooks,
    cidr: impl Fn(usize) -> String,
    when: When,
) -> anyhow::Result<()> {
    let runs = env_usize("BENCH_NETWORK_RUNS", 50);
    let network = hooks.attacher().policy().network.clone();
    let (mut from_call, mut from_answer, mut connect) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..runs {
        let name = format!("pw-bench-lat-{}-{i}", std::process::id());
        let (k, v) = d.label.split_once('=').unwrap();
        let body = json!({
            "Image": EXAMPLE, "Env": [format!("WEAVE_CIDR={}", cidr(i))],
            "Cmd": ["--iface", "any", "--serve", "7000"], "Labels": {k: v}, "HostConfig": {}
        });
        let Decision::Rewrite(text) = hooks.create(body.to_string().as_bytes()).await else {
            anyhow::bail!("{row}: the create of {name} was not rewritten");
        };
        let body: ContainerCreateBody = serde_json::from_str(&text)?;
        let opts = CreateContainerOptions {
            name: Some(name.clone()),
            ..Default::default()
        };
        d.docker.create_container(Some(opts), body).await?;
        if when == When::BeforeStart {
            let net = network.as_deref().expect("a network backend");
            let ip = cidr(i).split('/').next().unwrap().parse()?;
            let t = Instant::now();
            docker::connect(&d.docker, net, &name, Some(ip), Default::default()).await?;
            connect.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let t0 = Instant::now();
        d.docker
            .start_container(&name, None::<StartContainerOptions>)
            .await?;
        let t1 = Instant::now();
        let pid = docker::container_facts(&d.docker, &name)
            .await?
            .map_or(0, |f| f.pid);
        let running = app_running(pid);
        if when == When::AfterStart {
            let outcome = hooks
                .attacher()
                .attach(&name, OnFailure::KillContainer)
                .await?;
            anyhow::ensure!(
                matches!(outcome, Outcome::Attached(_)),
                "{name}: {outcome:?}"
            );
        }
        let running = running.await?;
        from_call.push(signed_ms(t0, running));
        from_answer.push(signed_ms(t1, running));
        docker::remove(&d.docker, &name).await?;
    }
    println!(
        "  {row:<44} start sent → app: {}   start answered → app: {}",
        p50_p99(from_call),
        p50_p99(from_answer)
    );
    if !connect.is_empty() {
        println!(
            "  {:<44} (connect of the created container, before the start: {})",
            "",
            p50_p99(connect)
        );
    }
    Ok(())
}

/// The create decision alone, 200 times (Entrypoint given, so no image inspect): what the
/// network backend's inspect of its network adds to each create.
async fn decision(row: &str, d: &Daemon, hooks: &WeaveHooks, cidr: &str) -> anyhow::Result<()> {
    let (k, v) = d.label.split_once('=').unwrap();
    let body = json!({
        "Image": EXAMPLE, "Entrypoint": ["/weavewait-example"],
        "Env": [format!("WEAVE_CIDR={cidr}")], "Labels": {k: v}, "HostConfig": {}
    })
    .to_string();
    let mut took = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let decided = hooks.create(body.as_bytes()).await;
        took.push(t.elapsed().as_secs_f64() * 1e3);
        anyhow::ensure!(
            matches!(decided, Decision::Rewrite(_)),
            "{row}: {decided:?}"
        );
    }
    println!("  {row:<44} create decision: {}", p50_p99(took));
    Ok(())
}

/// A proxy process for the bursts, killed on drop.
struct ProxyProcess {
    child: std::process::Child,
    host: String,
    _dir: tempfile::TempDir,
}

impl ProxyProcess {
    fn start(d: &Daemon, attach: &str, extra: &[&str]) -> anyhow::Result<ProxyProcess> {
        let dir = tempfile::tempdir()?;
        let sock = dir.path().join("proxy.sock");
        let host = format!("unix://{}", sock.display());
        let bin = root().join("target/x86_64-unknown-linux-musl/release/powerstrip-weave");
        let child = Command::new(&bin)
            .args([
                "proxy", "--listen", &host, "--docker", &d.host, "--attach", attach,
            ])
            .args([
                "--volume-container",
                &d.volume,
                "--label",
                &d.label,
                "--no-events",
            ])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| anyhow::anyhow!("{}: {e} (make static)", bin.display()))?;
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::os::unix::net::UnixStream::connect(&sock).is_err() {
            anyhow::ensure!(Instant::now() < deadline, "the proxy did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(ProxyProcess {
            child,
            host,
            _dir: dir,
        })
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// BENCH_BURST `docker run -d` at once against `host`, container i with the options
/// `opts(i)`; prints one row with the wall time (and how many failed), then removes them.
fn burst(row: &str, d: &Daemon, host: &str, opts: impl Fn(usize) -> Vec<String> + Sync) -> f64 {
    let n = env_usize("BENCH_BURST", 50);
    let start = Instant::now();
    let failed = std::thread::scope(|s| {
        let runs: Vec<_> = (0..n)
            .map(|i| {
                let opts = opts(i);
                s.spawn(move || {
                    let name = format!("pw-bench-burst-{}-{i}", std::process::id());
                    let mut args = vec!["run", "-d", "--name", &name, "--label", &d.label];
                    args.extend(opts.iter().map(String::as_str));
                    args.extend([EXAMPLE, "--iface", "any", "--serve", "7000"]);
                    d.cli(host, &args)
                })
            })
            .collect();
        runs.into_iter()
            .map(|r| r.join().unwrap())
            .filter(|ok| !ok)
            .count()
    });
    let secs = start.elapsed().as_secs_f64();
    let failed = match failed {
        0 => String::new(),
        f => format!("  ({f} failed)"),
    };
    println!("  {row:<52} {secs:>6.2} s{failed}");
    d.clean();
    secs
}

/// A network made for the bench on the shared daemon, removed on drop.
struct BenchNetwork {
    name: String,
    prefix: String,
}

impl BenchNetwork {
    fn new() -> anyhow::Result<BenchNetwork> {
        let name = format!("pw-bench-net-{}", std::process::id());
        for i in 0..40 {
            let prefix = format!("10.{}", 100 + (std::process::id() as usize + i) % 100);
            let ok = Command::new("docker")
                .args([
                    "network",
                    "create",
                    "--subnet",
                    &format!("{prefix}.0.0/16"),
                    &name,
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()?
                .success();
            if ok {
                return Ok(BenchNetwork { name, prefix });
            }
        }
        anyhow::bail!("no free /16 for the bench network")
    }
}

impl Drop for BenchNetwork {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["network", "rm", &self.name])
            .stdout(Stdio::null())
            .status();
    }
}

/// A 2-host simulated cluster, torn down on drop.
struct Cluster {
    id: String,
    worker: String,
}

impl Cluster {
    fn up() -> anyhow::Result<Cluster> {
        let images = [
            "images/weavewait.tar",
            "images/weavewait-example.tar",
            "cluster/pw-test-busybox.tar",
        ];
        let mut cmd = Command::new("bash");
        cmd.arg(root().join("mk/cluster.sh")).args([
            "up",
            "--hosts",
            "2",
            "--owner",
            &std::process::id().to_string(),
        ]);
        for i in images {
            cmd.arg("--image").arg(root().join("target").join(i));
        }
        let out = cmd.stderr(Stdio::inherit()).output()?;
        anyhow::ensure!(out.status.success(), "mk/cluster.sh up failed");
        let env = String::from_utf8_lossy(&out.stdout).into_owned();
        let get = |k: &str| {
            env.lines()
                .find_map(|l| l.strip_prefix(k)?.strip_prefix('=').map(String::from))
                .ok_or_else(|| anyhow::anyhow!("mk/cluster.sh printed no {k}"))
        };
        Ok(Cluster {
            id: get("PWC_ID")?,
            worker: get("PWC_HOST_2")?,
        })
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(root().join("mk/cluster.sh"))
            .args(["down", &self.id])
            .stdout(Stdio::null())
            .status();
    }
}

/// The latency rows and bursts of one network (`net`, addresses `prefix.x.y`) on `d`.
async fn network_rows(d: &Daemon, what: &str, net: &str, prefix: &str) -> anyhow::Result<()> {
    let spec = BackendSpec::Network(net.to_string());
    let hooks = d.hooks(&spec, &BridgeConfig::default());
    let exact = |i: usize| format!("{prefix}.{}.{}/16", 10 + i / 200, 10 + i % 200);
    decision(&format!("network:{what}, exact"), d, &hooks, &exact(0)).await?;
    latency(
        &format!("network:{what}, exact"),
        d,
        &hooks,
        exact,
        When::AfterStart,
    )
    .await?;
    latency(
        &format!("network:{what}, allocation"),
        d,
        &hooks,
        |_| String::new(),
        When::AfterStart,
    )
    .await?;
    latency(
        &format!("network:{what}, exact, connect before start"),
        d,
        &hooks,
        exact,
        When::BeforeStart,
    )
    .await?;
    d.clean();
    let proxy = ProxyProcess::start(d, &format!("network:{net}"), &[])?;
    let burst_ip = |i: usize| format!("{prefix}.{}.{}", 20 + i / 200, 10 + i % 200);
    burst(
        &format!("plain docker run --network {what} --ip"),
        d,
        &d.host,
        |i| vec!["--network".into(), net.into(), "--ip".into(), burst_ip(i)],
    );
    burst(
        &format!("proxy, network:{what}, exact"),
        d,
        &proxy.host,
        |i| vec!["-e".into(), format!("WEAVE_CIDR={}/16", burst_ip(i))],
    );
    burst(
        &format!("plain docker run --network {what}"),
        d,
        &d.host,
        |_| vec!["--network".into(), net.into()],
    );
    burst(
        &format!("proxy, network:{what}, allocation"),
        d,
        &proxy.host,
        |_| vec!["-e".into(), "WEAVE_CIDR=".into()],
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let host = std::env::var("DOCKER_HOST").unwrap_or("unix:///var/run/docker.sock".into());
        let local = Daemon::new(&host, "local").await?;
        let runs = env_usize("BENCH_NETWORK_RUNS", 50);
        println!("bench-networks: start → app running, {runs} runs each (this daemon):");
        let bridge = BridgeConfig {
            bridge: format!("pwbn{}", std::process::id() % 100_000),
            ..BridgeConfig::default()
        };
        let result = async {
            let hooks = local.hooks(&BackendSpec::Bridge, &bridge);
            decision("bridge, exact", &local, &hooks, "10.215.0.10/16").await?;
            latency(
                "bridge (veth into the namespace), exact",
                &local,
                &hooks,
                |i| format!("10.215.{}.{}/16", i / 200, 10 + i % 200),
                When::AfterStart,
            )
            .await?;
            let net = BenchNetwork::new()?;
            network_rows(&local, "local bridge network", &net.name, &net.prefix).await?;
            println!(
                "bench-networks: bursts of {} docker run -d at once (this daemon):",
                env_usize("BENCH_BURST", 50)
            );
            burst(
                "plain docker run (default network)",
                &local,
                &local.host,
                |_| Vec::new(),
            );
            let proxy = ProxyProcess::start(
                &local,
                "bridge",
                &["--bridge", &bridge.bridge, "--no-firewall"],
            )?;
            burst("proxy, bridge backend, exact", &local, &proxy.host, |i| {
                vec![
                    "-e".into(),
                    format!("WEAVE_CIDR=10.215.{}.{}/16", 20 + i / 200, 10 + i % 200),
                ]
            });
            drop(proxy);
            println!("bench-networks: the overlay, from the worker of a 2-host simulated cluster:");
            let cluster = Cluster::up()?;
            let worker = Daemon::new(&cluster.worker, "worker").await?;
            network_rows(&worker, "overlay", "wnet", "10.255").await?;
            worker.clean();
            anyhow::Ok(())
        }
        .await;
        local.clean();
        let _ = docker::remove(&local.docker, &local.volume).await;
        let _ = Command::new("ip")
            .args(["link", "del", &bridge.bridge])
            .status();
        result
    })
}
