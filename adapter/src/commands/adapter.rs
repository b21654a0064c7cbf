//! `powerstrip-weave adapter`: serve the powerstrip adapter protocol v1.

use std::net::SocketAddr;
use std::sync::Arc;

use argh::FromArgs;

use super::flags::subcommand;
use super::settings::{drain, shutdown_signal, WeaveSettings};
use crate::docker::{self, Daemon};
use crate::events;
use crate::hooks::WeaveHooks;
use crate::powerstrip::adapter::PowerstripAdapter;
use crate::powerstrip::server;

subcommand! {
    /// Serve the powerstrip adapter (protocol v1, POST on any path): rewrite creates so the
    /// waiter runs first, attach ethwe on start and on Docker start events.
    #[derive(FromArgs, Debug)]
    #[argh(subcommand, name = "adapter")]
    pub struct AdapterArgs {
        /// address to listen on (default 127.0.0.1:8080)
        #[argh(option, default = "SocketAddr::from(([127, 0, 0, 1], 8080))")]
        pub listen: SocketAddr,
    }
    with [weave]
}

/// Runs the adapter until SIGINT/SIGTERM.
pub async fn run(args: AdapterArgs) -> anyhow::Result<()> {
    let settings = WeaveSettings::from_flags(args.weave_flags())?;
    serve(args.listen, settings, docker::from_env()?).await
}

/// Serves the powerstrip adapter on `listen` until SIGINT or SIGTERM, following Docker
/// events unless the settings say not to. Errors: the address cannot be bound.
pub async fn serve(
    listen: SocketAddr,
    settings: WeaveSettings,
    docker: Daemon,
) -> anyhow::Result<()> {
    let attacher = settings.attacher(docker);
    let listener = server::bind(listen).await?;
    tracing::info!(
        listen = %listener.local_addr()?,
        backend = ?settings.backend,
        "powerstrip adapter ready"
    );
    let follower = settings
        .events
        .then(|| tokio::spawn(events::follow(attacher.clone())));
    let adapter = Arc::new(PowerstripAdapter::new(WeaveHooks::new(attacher.clone())));
    server::serve(listener, adapter, shutdown_signal()).await;
    if let Some(follower) = follower {
        follower.abort();
    }
    drain(&attacher).await;
    tracing::info!("stopped");
    Ok(())
}
