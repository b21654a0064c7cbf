//! `make bench-adapter`: figures for the powerstrip adapter on this machine.
//!
//! 1. Pre-hook throughput and p50/p99 latency of `POST /containers/create` envelopes, each on
//!    a new connection as powerstrip sends them, with the image lookup against the real
//!    daemon (Entrypoint null) and without it (Entrypoint given).
//! 2. Attach latency with the native bridge backend: `POST /containers/{id}/start` sent →
//!    app running (the waiter has exec'd it: `/proc/<pid>/exe` changed), and start answered
//!    → app running (what the adapter adds: inspect, veth, addresses, waiter wake-up).
//!
//! Needs root, a dockerd, and the images `weavewait:latest` and `weavewait-example:latest`
//! (`make load`). Tunables: BENCH_REQUESTS (default 20000), BENCH_CONCURRENCY (16),
//! BENCH_ATTACH_RUNS (30).

use std::sync::Arc;
use std::time::{Duration, Instant};

use adapter::attach::attacher::{Attacher, OnFailure, Outcome};
use adapter::attach::bridge::BridgeConfig;
use adapter::attach::BackendSpec;
use adapter::commands::volume;
use adapter::docker;
use adapter::hooks::WeaveHooks;
use adapter::policy::rewrite::{RewriteConfig, DEFAULT_WAITER};
use adapter::policy::Scope;
use adapter::powerstrip::adapter::PowerstripAdapter;
use adapter::powerstrip::server;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptions, RemoveContainerOptions};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

async fn post(addr: std::net::SocketAddr, body: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let head = format!(
        "POST /v1/extension HTTP/1.1\r\nHost: weave\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await?;
    s.write_all(body).await?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).await?;
    anyhow::ensure!(
        out.starts_with(b"HTTP/1.1 200"),
        "adapter did not answer 200"
    );
    Ok(out)
}

async fn prehook_load(
    label: &str,
    addr: std::net::SocketAddr,
    envelope: Vec<u8>,
) -> anyhow::Result<()> {
    let total = env_usize("BENCH_REQUESTS", 20_000);
    let concurrency = env_usize("BENCH_CONCURRENCY", 16);
    let envelope = Arc::new(envelope);
    // Warm-up: connections, image cache in the daemon.
    for _ in 0..50 {
        post(addr, &envelope).await?;
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let envelope = envelope.clone();
        let n = total / concurrency + usize::from(w < total % concurrency);
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(n);
            for _ in 0..n {
                let t = Instant::now();
                post(addr, &envelope).await?;
                lat.push(t.elapsed());
            }
            anyhow::Ok(lat)
        }));
    }
    let mut lat = Vec::with_capacity(total);
    for t in tasks {
        lat.extend(t.await??);
    }
    let elapsed = started.elapsed();
    lat.sort();
    println!(
        "pre-hook {label:<22} {total} requests, {concurrency} clients: {:>8.0} req/s  p50 {}  p99 {}",
        total as f64 / elapsed.as_secs_f64(),
        ms(percentile(&lat, 0.50)),
        ms(percentile(&lat, 0.99)),
    );
    Ok(())
}

/// A create the adapter rewrites: `label` is the value of the `pw.bench` label it is
/// scoped to.
fn create_envelope(entrypoint: serde_json::Value, image: &str, label: &str) -> Vec<u8> {
    let body = json!({
        "Hostname": "", "Env": ["WEAVE_CIDR=10.255.0.51/24"], "Cmd": ["x", "y"],
        "Image": image, "Entrypoint": entrypoint, "Labels": {"pw.bench": label},
        "HostConfig": {"NetworkMode": "default", "VolumesFrom": null, "ShmSize": 0}
    });
    json!({
        "Type": "pre-hook", "PowerstripProtocolVersion": 1,
        "ClientRequest": {
            "Method": "POST", "Request": "/v1.41/containers/create?name=bench",
            "Body": format!("{body}\n"),
        }
    })
    .to_string()
    .into_bytes()
}

fn exe_of(pid: u32) -> Option<String> {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

async fn attach_latency(attacher: Arc<Attacher>, volume: &str, bridge: &str) -> anyhow::Result<()> {
    let d = attacher.docker().clone();
    let runs = env_usize("BENCH_ATTACH_RUNS", 30);
    let mut from_call = Vec::new();
    let mut from_answer = Vec::new();
    for i in 0..runs {
        let name = format!("pw-bench-attach-{}-{i}", std::process::id());
        let body = ContainerCreateBody {
            image: Some("weavewait-example:latest".into()),
            entrypoint: Some(vec![DEFAULT_WAITER.into(), "/weavewait-example".into()]),
            env: Some(vec![format!("WEAVE_CIDR=10.255.9.{}/24", 10 + i % 200)]),
            labels: Some([("pw.bench".to_string(), bridge.to_string())].into()),
            host_config: Some(HostConfig {
                volumes_from: Some(vec![format!("{volume}:ro")]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let opts = CreateContainerOptions {
            name: Some(name.clone()),
            ..Default::default()
        };
        d.create_container(Some(opts), body).await?;
        let t0 = Instant::now();
        d.start_container(
            &name,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await?;
        let t1 = Instant::now();
        let facts = docker::container_facts(&d, &name)
            .await?
            .unwrap_or_default();
        let pid = facts.pid;
        // Watch the exec from a blocking thread while the attach runs on the runtime.
        let watcher = tokio::task::spawn_blocking(move || {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                match exe_of(pid) {
                    Some(exe) if exe.ends_with("wait-for-weave") => {}
                    _ => return Instant::now(),
                }
                if Instant::now() > deadline {
                    return Instant::now();
                }
                std::thread::sleep(Duration::from_micros(100));
            }
        });
        let outcome = attacher.attach(&name, OnFailure::KillContainer).await?;
        anyhow::ensure!(
            matches!(outcome, Outcome::Attached(_)),
            "{name}: {outcome:?}"
        );
        let running = watcher.await?;
        from_call.push(running - t0);
        from_answer.push(running - t1);
        d.remove_container(
            &name,
            Some(RemoveContainerOptions {
                force: true,
                v: true,
                ..Default::default()
            }),
        )
        .await?;
    }
    from_call.sort();
    from_answer.sort();
    println!(
        "attach (bridge) {runs} runs: start sent → app running p50 {} p99 {}; start answered → app running p50 {} p99 {}",
        ms(percentile(&from_call, 0.5)),
        ms(percentile(&from_call, 0.99)),
        ms(percentile(&from_answer, 0.5)),
        ms(percentile(&from_answer, 0.99)),
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let d = docker::from_env()?;
        let bridge = format!("pwbench{}", std::process::id() % 100_000);
        let volume = format!("pw-bench-weavewait-{}", std::process::id());
        let bridge_cfg = BridgeConfig {
            bridge: bridge.clone(),
            ..BridgeConfig::default()
        };
        let attacher = Arc::new(Attacher::new(
            d.clone(),
            BackendSpec::Bridge.build(&bridge_cfg),
            RewriteConfig::default(),
            Scope::new(Some(("pw.bench".to_string(), bridge.clone()))),
        ));
        let adapter = Arc::new(PowerstripAdapter::new(WeaveHooks::new(attacher.clone())));
        let listener = server::bind("127.0.0.1:0".parse()?).await?;
        let addr = listener.local_addr()?;
        tokio::spawn(server::serve(listener, adapter, std::future::pending()));

        prehook_load(
            "(Entrypoint given)",
            addr,
            create_envelope(json!(["/app"]), "weavewait:latest", &bridge),
        )
        .await?;
        prehook_load(
            "(image lookup)",
            addr,
            create_envelope(json!(null), "weavewait:latest", &bridge),
        )
        .await?;

        volume::ensure(&d, &volume, "weavewait:latest").await?;
        let result = attach_latency(attacher, &volume, &bridge).await;
        let _ = d
            .remove_container(
                &volume,
                Some(RemoveContainerOptions {
                    force: true,
                    v: true,
                    ..Default::default()
                }),
            )
            .await;
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &bridge])
            .output();
        let _ = std::process::Command::new("iptables")
            .args([
                "-w", "5", "-D", "FORWARD", "-i", &bridge, "-o", &bridge, "-j", "ACCEPT",
            ])
            .output();
        result
    })
}
