//! `powerstrip-weave launch`: make sure the volume container carrying the waiter exists,
//! then serve the adapter (what the `powerstrip-weave` image runs).

use std::net::SocketAddr;

use argh::FromArgs;

use super::flags::subcommand;
use super::settings::WeaveSettings;
use super::volume;
use crate::docker;

/// Default image of the volume container.
pub const DEFAULT_IMAGE: &str = "weavewait:latest";

subcommand! {
    /// Create the weavewait volume container if missing (from the weavewait image), then
    /// serve the powerstrip adapter.
    #[derive(FromArgs, Debug)]
    #[argh(subcommand, name = "launch")]
    pub struct LaunchArgs {
        /// address to listen on (default 0.0.0.0:80)
        #[argh(option, default = "SocketAddr::from(([0, 0, 0, 0], 80))")]
        pub listen: SocketAddr,
    }
    with [weave, image]
}

/// Prepares the volume container ([`volume::prepare`]), then serves until SIGINT/SIGTERM.
pub async fn run(args: LaunchArgs) -> anyhow::Result<()> {
    let settings = WeaveSettings::from_flags(args.weave_flags())?;
    let docker = docker::from_env()?;
    let rewrite = &settings.rewrite;
    volume::prepare(
        &docker,
        &rewrite.volume_container,
        &args.image,
        &rewrite.waiter,
    )
    .await?;
    super::adapter::serve(args.listen, settings, docker).await
}
