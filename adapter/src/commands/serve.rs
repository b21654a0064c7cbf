//! Running the powerstrip adapter: HTTP server, event follower, start-up catch-up.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::attach::bridge::BridgeConfig;
use crate::attach::container::Attacher;
use crate::attach::BackendSpec;
use crate::hooks::Adapter;
use crate::rewrite::RewriteConfig;
use crate::{docker, events, server};

/// Everything `adapter` and `launch` are configured with.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Attach backend.
    pub backend: BackendSpec,
    /// Settings of the bridge backend.
    pub bridge: BridgeConfig,
    /// W and the volume container.
    pub rewrite: RewriteConfig,
    /// Scope to containers with this `key=value` label.
    pub label: Option<(String, String)>,
    /// Follow Docker events and catch up on start-up (default on).
    pub events: bool,
}

/// Parses `key=value` (the `--label` option).
pub fn parse_label(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("label {s:?} is not key=value")),
    }
}

/// Builds the attacher the options describe.
pub fn attacher(opts: &ServeOptions) -> anyhow::Result<Arc<Attacher>> {
    let docker = docker::connect()?;
    Ok(Arc::new(Attacher::new(
        docker,
        opts.backend.build(&opts.bridge),
        opts.rewrite.waiter.clone(),
        opts.label.clone(),
    )))
}

/// Serves until SIGINT or SIGTERM.
pub async fn run(opts: ServeOptions) -> anyhow::Result<()> {
    let attacher = attacher(&opts)?;
    let listener = server::bind(opts.listen).await?;
    tracing::info!(
        listen = %listener.local_addr()?,
        backend = ?opts.backend,
        "powerstrip adapter ready"
    );
    if opts.events {
        tokio::spawn(events::follow(attacher.clone()));
    }
    let adapter = Arc::new(Adapter {
        rewrite: opts.rewrite,
        attacher,
    });
    server::serve(listener, adapter, shutdown_signal()).await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without handlers the default dispositions still end the process.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
