//! Running the powerstrip adapter: HTTP server, event follower, start-up catch-up.

use std::net::SocketAddr;
use std::sync::Arc;

use bollard::Docker;

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
    /// The rewrite and attach settings.
    pub weave: WeaveSettings,
}

/// The weave settings shared by `adapter`, `launch` and `proxy`. argh cannot flatten one
/// set of flags into several subcommands, so each declares them and hands them here to be
/// checked in one place.
#[derive(Debug, Clone)]
pub struct WeaveSettings {
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

impl WeaveSettings {
    /// Checks the flags `--attach --bridge --no-firewall --waiter --volume-container
    /// --label --no-events` (as values: `firewall` and `events` are the negations).
    ///
    /// Errors: a bridge name outside 1 to 15 bytes (Linux IFNAMSIZ), a relative waiter
    /// path.
    pub fn new(
        backend: BackendSpec,
        bridge: String,
        firewall: bool,
        waiter: String,
        volume_container: String,
        label: Option<(String, String)>,
        events: bool,
    ) -> anyhow::Result<Self> {
        if bridge.is_empty() || bridge.len() > 15 {
            anyhow::bail!("--bridge {bridge:?}: a Linux interface name has 1 to 15 bytes");
        }
        if !waiter.starts_with('/') {
            anyhow::bail!("--waiter {waiter:?}: give an absolute path");
        }
        Ok(WeaveSettings {
            backend,
            bridge: BridgeConfig {
                bridge,
                firewall,
                ..BridgeConfig::default()
            },
            rewrite: RewriteConfig {
                waiter,
                volume_container,
                label: label.clone(),
            },
            label,
            events,
        })
    }

    /// The attacher these settings describe, talking to `docker`.
    pub fn attacher(&self, docker: Docker) -> Arc<Attacher> {
        Arc::new(Attacher::new(
            docker,
            self.backend.build(&self.bridge),
            self.rewrite.waiter.clone(),
            self.label.clone(),
        ))
    }
}

/// Parses `key=value` (the `--label` option).
pub fn parse_label(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("label {s:?} is not key=value")),
    }
}

/// Serves until SIGINT or SIGTERM.
pub async fn run(opts: ServeOptions) -> anyhow::Result<()> {
    let attacher = opts.weave.attacher(docker::connect()?);
    let listener = server::bind(opts.listen).await?;
    tracing::info!(
        listen = %listener.local_addr()?,
        backend = ?opts.weave.backend,
        "powerstrip adapter ready"
    );
    if opts.weave.events {
        tokio::spawn(events::follow(attacher.clone()));
    }
    let adapter = Arc::new(Adapter {
        rewrite: opts.weave.rewrite,
        attacher,
    });
    server::serve(listener, adapter, shutdown_signal()).await;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on the first SIGINT or SIGTERM.
pub(crate) async fn shutdown_signal() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_reaches_the_rewrite_config() {
        let label = Some(("nc".to_string(), "2".to_string()));
        let s = WeaveSettings::new(
            BackendSpec::Bridge,
            "weave".to_string(),
            true,
            crate::rewrite::DEFAULT_WAITER.to_string(),
            "weavewait".to_string(),
            label.clone(),
            true,
        )
        .unwrap();
        assert_eq!(s.rewrite.label, label);
        assert_eq!(s.label, label);
    }
}
