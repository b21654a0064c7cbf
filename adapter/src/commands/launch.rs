//! `powerstrip-weave launch`: make sure the volume container carrying the waiter exists,
//! then serve the adapter (what the `powerstrip-weave` image runs).

use std::net::SocketAddr;

use argh::FromArgs;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::CreateContainerOptions;

use super::flags::subcommand;
use super::settings::WeaveSettings;
use crate::docker::{self, Daemon};

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

/// Ensures the volume container `name` exists, creating it from `image` when missing.
/// Returns whether it was created.
///
/// Errors: the image is absent ("run make load"), or Docker refuses the create.
pub async fn ensure_volume_container(
    docker: &Daemon,
    name: &str,
    image: &str,
) -> anyhow::Result<bool> {
    if docker::container_facts(docker, name).await?.is_some() {
        return Ok(false);
    }
    if docker::image_config(docker, image).await?.is_none() {
        anyhow::bail!(
            "image {image} is not present: run `make load` (or `docker load -i target/images/weavewait.tar`) first"
        );
    }
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        ..Default::default()
    };
    let opts = CreateContainerOptions {
        name: Some(name.to_string()),
        ..Default::default()
    };
    match docker.call(docker.create_container(Some(opts), body)).await {
        Ok(_) => Ok(true),
        // Created meanwhile by another launch.
        Err(e) if e.status() == Some(409) => Ok(false),
        Err(e) => Err(anyhow::anyhow!(
            "cannot create volume container {name} from {image}: {e}"
        )),
    }
}

/// Ensures the volume container, then serves until SIGINT/SIGTERM.
pub async fn run(args: LaunchArgs) -> anyhow::Result<()> {
    let settings = WeaveSettings::from_flags(args.weave_flags())?;
    let docker = docker::from_env()?;
    let volume = &settings.rewrite.volume_container;
    if ensure_volume_container(&docker, volume, &args.image).await? {
        tracing::info!(container = %volume, image = %args.image, "created the volume container");
    }
    super::adapter::serve(args.listen, settings, docker).await
}
