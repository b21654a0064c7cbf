//! `powerstrip-weave adapter`: serve the powerstrip adapter protocol v1.

use std::net::SocketAddr;
use std::sync::Arc;

use argh::FromArgs;

use super::flags::subcommand;
use super::settings::{drain, shutdown_signal, WeaveSettings};
use super::volume;
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

/// Checks the volume container, then runs the adapter until SIGINT/SIGTERM. Unlike
/// `launch`, it creates nothing; a daemon that does not answer yet only gets a warning,
/// since the adapter follows it once it does.
pub async fn run(args: AdapterArgs) -> anyhow::Result<()> {
    let settings = WeaveSettings::from_flags(args.weave_flags())?;
    let docker = docker::from_env()?;
    let (name, waiter) = (&settings.rewrite.volume_container, &settings.rewrite.waiter);
    match volume::check_waiter(&docker, name, waiter).await {
        Ok(()) => {}
        Err(volume::Problem::Docker(why)) => {
            tracing::warn!("cannot check volume container {name} yet: {why}")
        }
        Err(problem) => return Err(volume::found_problem(name, problem)),
    }
    serve(args.listen, settings, docker).await
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
