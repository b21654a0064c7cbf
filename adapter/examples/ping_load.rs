//! `ping_load SOCKET [SECONDS] [CONNECTIONS]`: `GET /_ping` throughput over a unix socket,
//! each connection kept alive and sending one request after another; prints
//! `<requests> requests in <s> s = <rate> req/s (p50 <µs> µs, p99 <µs> µs)`.
//! Used by `make bench` to compare the Docker socket with the proxy's.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;

async fn connection(socket: PathBuf, until: Instant) -> anyhow::Result<Vec<u32>> {
    let stream = UnixStream::connect(&socket).await?;
    let (mut sender, conn) = http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut latencies = Vec::new();
    while Instant::now() < until {
        let req = Request::get("/_ping")
            .header("Host", "docker")
            .body(Empty::new())?;
        let start = Instant::now();
        let resp = sender.send_request(req).await?;
        anyhow::ensure!(
            resp.status().is_success(),
            "/_ping answered {}",
            resp.status()
        );
        resp.into_body().collect().await?;
        latencies.push(start.elapsed().as_micros() as u32);
        sender.ready().await?;
    }
    Ok(latencies)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let socket = PathBuf::from(args.next().ok_or_else(|| {
        anyhow::anyhow!("usage: ping_load SOCKET [SECONDS (default 3)] [CONNECTIONS (default 4)]")
    })?);
    let secs: f64 = args.next().map_or(Ok(3.0), |s| s.parse())?;
    let conns: usize = args.next().map_or(Ok(4), |s| s.parse())?;
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(secs);
    let tasks: Vec<_> = (0..conns)
        .map(|_| tokio::spawn(connection(socket.clone(), until)))
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0)
    };
    println!(
        "{} requests in {:.2} s = {:.0} req/s (p50 {} µs, p99 {} µs)",
        all.len(),
        elapsed,
        all.len() as f64 / elapsed,
        pct(0.5),
        pct(0.99)
    );
    Ok(())
}
