//! `powerstrip-weave launch`: make sure the volume container carrying the waiter exists,
//! then serve the adapter (what the `powerstrip-weave` image runs).

use std::net::SocketAddr;

use argh::FromArgs;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::CreateContainerOptions;
use bollard::Docker;

use super::adapter::AdapterArgs;
use super::serve;
use crate::attach::BackendSpec;
use crate::docker;
use crate::rewrite::{DEFAULT_VOLUME_CONTAINER, DEFAULT_WAITER};

/// Default image of the volume container.
pub const DEFAULT_IMAGE: &str = "weavewait:latest";

/// Create the weavewait volume container if missing (from the weavewait image), then serve
/// the powerstrip adapter.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "launch")]
pub struct LaunchArgs {
    /// image of the volume container (default weavewait:latest)
    #[argh(option, default = "DEFAULT_IMAGE.to_string()")]
    pub image: String,
    /// address to listen on (default 0.0.0.0:80)
    #[argh(option, default = "SocketAddr::from(([0, 0, 0, 0], 80))")]
    pub listen: SocketAddr,
    /// attach backend: bridge (default, native), weave, or command:<path>
    #[argh(option, default = "BackendSpec::Bridge")]
    pub attach: BackendSpec,
    /// the Linux bridge of the bridge backend (default weave)
    #[argh(option, default = "String::from(\"weave\")")]
    pub bridge: String,
    /// do not add the iptables FORWARD rule when creating the bridge
    #[argh(switch)]
    pub no_firewall: bool,
    /// path of the waiter in containers (default /home/weavewait/wait-for-weave)
    #[argh(option, default = "DEFAULT_WAITER.to_string()")]
    pub waiter: String,
    /// volume container carrying the waiter (default weavewait)
    #[argh(option, default = "DEFAULT_VOLUME_CONTAINER.to_string()")]
    pub volume_container: String,
    /// only attach containers carrying this key=value label
    #[argh(option, from_str_fn(label))]
    pub label: Option<(String, String)>,
    /// do not follow Docker events nor attach waiting containers at start-up
    #[argh(switch)]
    pub no_events: bool,
}

fn label(s: &str) -> Result<(String, String), String> {
    serve::parse_label(s)
}

/// Ensures the volume container `name` exists, creating it from `image` when missing.
/// Returns whether it was created.
///
/// Errors: the image is absent ("run make load"), or Docker refuses the create.
pub async fn ensure_volume_container(
    docker: &Docker,
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
    match docker.create_container(Some(opts), body).await {
        Ok(_) => Ok(true),
        // Created meanwhile by another launch.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 409, ..
        }) => Ok(false),
        Err(e) => Err(anyhow::anyhow!(
            "cannot create volume container {name} from {image}: {e}"
        )),
    }
}

/// Ensures the volume container, then serves until SIGINT/SIGTERM.
pub async fn run(args: LaunchArgs) -> anyhow::Result<()> {
    let adapter = AdapterArgs {
        listen: args.listen,
        attach: args.attach,
        bridge: args.bridge,
        no_firewall: args.no_firewall,
        waiter: args.waiter,
        volume_container: args.volume_container,
        label: args.label,
        no_events: args.no_events,
    };
    let opts = adapter.options()?;
    let docker = docker::connect()?;
    if ensure_volume_container(&docker, &opts.weave.rewrite.volume_container, &args.image).await? {
        tracing::info!(
            container = %opts.weave.rewrite.volume_container,
            image = %args.image,
            "created the volume container"
        );
    }
    serve::run(opts).await
}
