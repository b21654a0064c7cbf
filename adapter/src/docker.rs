//! The Docker Engine API, through bollard (honours `DOCKER_HOST`: `unix://` or `tcp://`).
//! Only the calls the adapter needs, each with the shapes the pure cores take.

use bollard::errors::Error;
use bollard::query_parameters::{InspectContainerOptions, KillContainerOptions};
use bollard::Docker;

use crate::rewrite::ImageConfig;

/// Connects to the daemon named by `DOCKER_HOST` (default `unix:///var/run/docker.sock`).
/// Lazy: nothing is sent until the first call.
///
/// Errors: an unsupported `DOCKER_HOST` scheme.
pub fn connect() -> anyhow::Result<Docker> {
    Docker::connect_with_defaults().map_err(|e| {
        anyhow::anyhow!(
            "cannot use the Docker daemon at DOCKER_HOST: {e} (unix:// or tcp:// expected)"
        )
    })
}

/// True when `e` is Docker's 404 (no such image/container).
pub fn is_not_found(e: &Error) -> bool {
    matches!(
        e,
        Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// `Config.Entrypoint` and `Config.Cmd` of image `name` (`GET /images/{name}/json`);
/// `Ok(None)` when the image is not present locally (404).
pub async fn image_config(docker: &Docker, name: &str) -> Result<Option<ImageConfig>, Error> {
    match docker.inspect_image(name).await {
        Ok(image) => {
            let config = image.config.unwrap_or_default();
            Ok(Some(ImageConfig {
                entrypoint: config.entrypoint,
                cmd: config.cmd,
            }))
        }
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// What attach needs to know about a container (`GET /containers/{id}/json`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerFacts {
    /// Full id.
    pub id: String,
    /// Name without the leading `/`.
    pub name: String,
    /// Host pid of its first process; 0 when not running.
    pub pid: u32,
    /// `State.Running`.
    pub running: bool,
    /// `Config.Entrypoint` (the merged one Docker stored).
    pub entrypoint: Vec<String>,
    /// `Config.Env`.
    pub env: Vec<String>,
    /// `Config.Labels`.
    pub labels: std::collections::HashMap<String, String>,
}

/// Inspects container `id_or_name`; `Ok(None)` when there is no such container.
pub async fn container_facts(
    docker: &Docker,
    id_or_name: &str,
) -> Result<Option<ContainerFacts>, Error> {
    let c = match docker
        .inspect_container(id_or_name, None::<InspectContainerOptions>)
        .await
    {
        Ok(c) => c,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let state = c.state.unwrap_or_default();
    let config = c.config.unwrap_or_default();
    Ok(Some(ContainerFacts {
        id: c.id.unwrap_or_default(),
        name: c
            .name
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        pid: state.pid.and_then(|p| u32::try_from(p).ok()).unwrap_or(0),
        running: state.running.unwrap_or(false),
        entrypoint: config.entrypoint.unwrap_or_default(),
        env: config.env.unwrap_or_default(),
        labels: config.labels.unwrap_or_default(),
    }))
}

/// `POST /containers/{id}/kill` with SIGKILL. A container that already stopped is fine.
pub async fn kill(docker: &Docker, id: &str) -> Result<(), Error> {
    match docker
        .kill_container(
            id,
            Some(KillContainerOptions {
                signal: "SIGKILL".to_string(),
            }),
        )
        .await
    {
        Ok(()) => Ok(()),
        // 404: gone; 409: not running. Either way the app is not running.
        Err(Error::DockerResponseServerError {
            status_code: 404 | 409,
            ..
        }) => Ok(()),
        Err(e) => Err(e),
    }
}
