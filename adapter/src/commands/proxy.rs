//! `powerstrip-weave proxy`: serve the Docker API to the vanilla docker CLI, applying the
//! weave create rewrite and attach in process and chaining external powerstrip adapters.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use argh::FromArgs;
use tokio::task::JoinHandle;

use super::flags::subcommand;
use super::settings::{drain, shutdown_signal, WeaveSettings};
use super::volume;
use crate::addr::{refuse_self_loop, Addr, DEFAULT_LISTEN};
use crate::hooks::WeaveHooks;
use crate::proxy::adapters::AdaptersConfig;
use crate::proxy::chain::DEFAULT_TIMEOUT_SECS;
use crate::proxy::server::Listener;
use crate::proxy::service::Shared;
use crate::proxy::tls;
use crate::{docker, events};

subcommand! {
    /// A Docker API proxy for the docker CLI (point DOCKER_HOST at --listen).
    #[derive(FromArgs, Debug, Clone, PartialEq)]
    #[argh(subcommand, name = "proxy")]
    pub struct ProxyArgs {
        /// where to listen: unix:///path.sock (default unix:///run/powerstrip-weave.sock) or
        /// tcp://host:port (non-loopback only with TLS)
        #[argh(option, default = "DEFAULT_LISTEN.to_string()")]
        pub listen: String,

        /// the Docker daemon: unix:///path or tcp://host:port (default: DOCKER_HOST, else
        /// unix:///var/run/docker.sock)
        #[argh(option)]
        pub docker: Option<String>,

        /// TLS certificate chain (PEM) for a tcp:// listener
        #[argh(option)]
        pub tlscert: Option<PathBuf>,

        /// TLS private key (PEM) for a tcp:// listener
        #[argh(option)]
        pub tlskey: Option<PathBuf>,

        /// CA (PEM) that client certificates must be signed by (like dockerd --tlsverify)
        #[argh(option)]
        pub tlscacert: Option<PathBuf>,

        /// powerstrip adapters.yml: external adapters chained after the in-process weave hooks
        #[argh(option)]
        pub adapters: Option<PathBuf>,

        /// bound on one external adapter call, in seconds (default 10)
        #[argh(option, default = "DEFAULT_TIMEOUT_SECS")]
        pub adapter_timeout: u64,

        /// no in-process weave hooks: a plain pass-through proxy (plus --adapters)
        #[argh(switch)]
        pub no_weave: bool,
    }
    with [weave, image]
}

/// Runs the proxy until SIGINT or SIGTERM. Errors (bad flags, unreadable files, address in
/// use) are returned before anything is served.
pub async fn run(args: ProxyArgs) -> anyhow::Result<()> {
    let listen = Addr::parse("--listen", &args.listen)?;
    let docker_host = std::env::var("DOCKER_HOST").ok();
    let docker = Addr::docker(args.docker.as_deref(), docker_host.as_deref())?;
    refuse_self_loop(
        &listen,
        &docker,
        args.docker.as_deref(),
        docker_host.as_deref(),
    )
    .map_err(anyhow::Error::msg)?;
    let tls = match (&args.tlscert, &args.tlskey) {
        (Some(cert), Some(key)) => Some(tls::acceptor(cert, key, args.tlscacert.as_deref())?),
        (None, None) if args.tlscacert.is_none() => None,
        _ => bail!("TLS needs both --tlscert and --tlskey (--tlscacert is optional)"),
    };
    let adapters = match &args.adapters {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--adapters {}: cannot read", path.display()))?;
            AdaptersConfig::parse(&text)
                .with_context(|| format!("--adapters {}", path.display()))?
        }
        None => AdaptersConfig::default(),
    };
    if args.adapter_timeout == 0 {
        bail!("--adapter-timeout must be at least 1 second");
    }
    let (weave, follower) = match args.no_weave {
        true => (None, None),
        false => {
            let (hooks, follower) = weave_hooks(&args, &docker).await?;
            (Some(hooks), follower)
        }
    };
    let shared = Arc::new(Shared {
        adapters,
        hook_timeout: Duration::from_secs(args.adapter_timeout),
        weave,
    });
    let model = match &docker {
        Addr::Unix(p) => Some(p.as_path()),
        Addr::Tcp { .. } => None,
    };
    let listener = Listener::bind(&listen, tls, model).await?;
    tracing::info!("proxy listening on {listen}, forwarding to {docker}");
    listener
        .serve(shared.clone(), docker, shutdown_signal())
        .await?;
    // No new attaches from events, then let those under way finish.
    if let Some(follower) = follower {
        follower.abort();
    }
    if let Some(weave) = &shared.weave {
        drain(weave.attacher()).await;
    }
    Ok(())
}

/// The in-process weave hooks the flags describe, and the events follower's task (which
/// also attaches containers left waiting) unless `--no-events`.
async fn weave_hooks(
    args: &ProxyArgs,
    docker: &Addr,
) -> anyhow::Result<(WeaveHooks, Option<JoinHandle<()>>)> {
    let settings = WeaveSettings::from_flags(args.weave_flags())?;
    let client = docker::client(docker)?;
    // As `launch` does: a missing volume container, or one without the waiter, would
    // otherwise surface only on the first rewritten create or start.
    let (volume, waiter) = (&settings.rewrite.volume_container, &settings.rewrite.waiter);
    volume::prepare(&client, volume, &args.image, waiter).await?;
    let attacher = settings.attacher(client);
    let follower = settings
        .events
        .then(|| tokio::spawn(events::follow(attacher.clone())));
    Ok((WeaveHooks::new(attacher), follower))
}
