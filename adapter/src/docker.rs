//! The Docker Engine API through bollard: the one client constructor, and only the calls
//! the adapter needs, each returning the shapes the policy core takes.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use bollard::errors::Error;
use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, NetworkConnectRequest,
    NetworkDisconnectRequest,
};
use bollard::query_parameters::{
    CreateContainerOptions, InspectContainerOptions, InspectNetworkOptions, KillContainerOptions,
    RemoveContainerOptions, StartContainerOptions, TopOptions,
};
use bollard::{ClientVersion, Docker};
use weave_cidr::Ipv4Cidr;

use crate::addr::Addr;
use crate::policy::create::ImageLookup;
use crate::policy::network::{NetworkFacts, Pool};
use crate::policy::rewrite::ImageConfig;
use crate::policy::target::ContainerFacts;

/// The API version bollard is given: Docker 20.10's, which every later daemon still serves.
/// (bollard joins each call's absolute path onto its base URL, which drops the version
/// segment, so what reaches the daemon is unversioned and served at the daemon's own
/// version.)
const API_VERSION: ClientVersion = ClientVersion {
    major_version: 1,
    minor_version: 41,
};

/// Bound on each call, in seconds (bollard's unit).
const CALL_TIMEOUT_SECS: u64 = 120;

/// A client for the daemon at `addr`: a unix socket, or plain HTTP over `tcp://host:port`.
/// Lazy: nothing is sent until the first call, so a daemon that is down only fails the
/// calls made while it is.
///
/// Errors: bollard refusing the address (a socket path that is not UTF-8).
pub fn client(addr: &Addr) -> anyhow::Result<Docker> {
    match addr {
        Addr::Unix(path) => {
            Docker::connect_with_socket(&path.to_string_lossy(), CALL_TIMEOUT_SECS, &API_VERSION)
        }
        Addr::Tcp { .. } => {
            Docker::connect_with_http(&addr.to_string(), CALL_TIMEOUT_SECS, &API_VERSION)
        }
    }
    .map_err(|e| anyhow::anyhow!("cannot use the Docker daemon at {addr}: {e}"))
}

/// A client for the daemon the docker CLI would use: `DOCKER_HOST`, else
/// `unix:///var/run/docker.sock`.
///
/// Errors: `DOCKER_HOST` in another spelling than `unix:///path` or `tcp://host:port`.
pub fn from_env() -> anyhow::Result<Docker> {
    let host = std::env::var("DOCKER_HOST").ok();
    client(&Addr::docker(None, host.as_deref())?)
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

/// [`image_config`] as the create decision takes it.
pub async fn image_lookup(docker: &Docker, name: &str) -> ImageLookup {
    match image_config(docker, name).await {
        Ok(Some(config)) => ImageLookup::Found(config),
        Ok(None) => ImageLookup::Missing,
        Err(e) => ImageLookup::Failed(e.to_string()),
    }
}

/// Inspects container `id_or_name` (`GET /containers/{id}/json`); `Ok(None)` when there is
/// no such container.
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
        network_mode: c.host_config.and_then(|hc| hc.network_mode),
    }))
}

/// `State.Running` and `State.ExitCode` of `container` as Docker reports them; `None` when
/// it cannot be inspected.
pub async fn run_state(docker: &Docker, container: &str) -> Option<(Option<bool>, Option<i64>)> {
    let state = docker
        .inspect_container(container, None::<InspectContainerOptions>)
        .await
        .ok()?
        .state?;
    Some((state.running, state.exit_code))
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

/// The IPv4 pools of network `name` (`GET /networks/{name}`, name or id); `Ok(None)` when
/// this daemon does not know it (404: also a swarm overlay on a worker where no container
/// is attached to it yet).
pub async fn network_facts(docker: &Docker, name: &str) -> Result<Option<NetworkFacts>, Error> {
    let net = match docker
        .inspect_network(name, None::<InspectNetworkOptions>)
        .await
    {
        Ok(net) => net,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let pools = net
        .ipam
        .and_then(|ipam| ipam.config)
        .unwrap_or_default()
        .iter()
        .filter_map(|c| {
            Pool::parse(
                c.subnet.as_deref()?,
                c.ip_range.as_deref(),
                c.gateway.as_deref(),
            )
        })
        .collect();
    Ok(Some(NetworkFacts {
        name: net.name.unwrap_or_else(|| name.to_string()),
        pools,
    }))
}

/// A running container's state on one network, as inspect reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// `State.Paused`.
    pub paused: bool,
    /// The endpoint's IPv4 address and prefix (`IPAddress`, `IPPrefixLen`); `None` when
    /// the container has no endpoint on the network.
    pub address: Option<Ipv4Cidr>,
}

/// Container `id`'s [`Attachment`] to `network` (a name, or an id or its prefix, as the
/// `--attach` flag gives it); `Ok(None)` when there is no such container.
pub async fn attachment(
    docker: &Docker,
    id: &str,
    network: &str,
) -> Result<Option<Attachment>, Error> {
    let c = match docker
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
    {
        Ok(c) => c,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let paused = c.state.and_then(|s| s.paused).unwrap_or(false);
    let networks = c
        .network_settings
        .and_then(|n| n.networks)
        .unwrap_or_default();
    // Keyed by name; an id given to --attach is matched against each endpoint's.
    let endpoint = networks.get(network).or_else(|| {
        networks.values().find(|ep| {
            ep.network_id
                .as_deref()
                .is_some_and(|nid| network.len() >= 12 && nid.starts_with(network))
        })
    });
    let address = endpoint
        .filter(|ep| ep.endpoint_id.as_deref().is_some_and(|e| !e.is_empty()))
        .and_then(|ep| {
            let addr: Ipv4Addr = ep.ip_address.as_deref()?.parse().ok()?;
            let prefix = u8::try_from(ep.ip_prefix_len?).ok().filter(|p| *p <= 32)?;
            Some(Ipv4Cidr { addr, prefix })
        });
    Ok(Some(Attachment { paused, address }))
}

/// `POST /networks/{network}/connect` for container `id`: with `ip`, that address
/// (`EndpointSettings.IPAMConfig.IPv4Address`, which Docker keeps for every later start);
/// without, Docker's IPAM allocates one. `driver_opts` go to the endpoint as given (e.g.
/// the interface name on Engine ≥ 28).
pub async fn connect(
    docker: &Docker,
    network: &str,
    id: &str,
    ip: Option<Ipv4Addr>,
    driver_opts: HashMap<String, String>,
) -> Result<(), Error> {
    let endpoint = EndpointSettings {
        ipam_config: ip.map(|ip| EndpointIpamConfig {
            ipv4_address: Some(ip.to_string()),
            ..Default::default()
        }),
        driver_opts: (!driver_opts.is_empty()).then_some(driver_opts),
        ..Default::default()
    };
    docker
        .connect_network(
            network,
            NetworkConnectRequest {
                container: id.to_string(),
                endpoint_config: Some(endpoint),
            },
        )
        .await
}

/// `POST /networks/{network}/disconnect` for container `id`, forced (Docker then removes
/// the endpoint even when the network's driver cannot be reached).
pub async fn disconnect(docker: &Docker, network: &str, id: &str) -> Result<(), Error> {
    docker
        .disconnect_network(
            network,
            NetworkDisconnectRequest {
                container: id.to_string(),
                force: Some(true),
            },
        )
        .await
}

/// `POST /containers/{id}/pause`: freezes every process of the container (cgroup freezer).
pub async fn pause(docker: &Docker, id: &str) -> Result<(), Error> {
    docker.pause_container(id).await
}

/// `POST /containers/{id}/unpause`.
pub async fn unpause(docker: &Docker, id: &str) -> Result<(), Error> {
    docker.unpause_container(id).await
}

/// The command names (`comm`, at most 15 bytes) of container `id`'s processes
/// (`GET /containers/{id}/top?ps_args=-o pid,comm`; works on a paused container).
pub async fn process_names(docker: &Docker, id: &str) -> Result<Vec<String>, Error> {
    let top = docker
        .top_processes(
            id,
            Some(TopOptions {
                ps_args: "-o pid,comm".to_string(),
            }),
        )
        .await?;
    let column = top
        .titles
        .unwrap_or_default()
        .iter()
        .position(|t| t == "COMMAND" || t == "COMM" || t == "CMD")
        .unwrap_or(1);
    Ok(top
        .processes
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.into_iter().nth(column))
        .collect())
}

/// The daemon's Engine API version (`GET /version` `ApiVersion`, e.g. `1.41`).
pub async fn api_version(docker: &Docker) -> Result<String, Error> {
    Ok(docker.version().await?.api_version.unwrap_or_default())
}

/// `Image` (the image id) of container `name`; `Ok(None)` when there is no such container.
pub async fn container_image(docker: &Docker, name: &str) -> Result<Option<String>, Error> {
    match docker
        .inspect_container(name, None::<InspectContainerOptions>)
        .await
    {
        Ok(c) => Ok(c.image),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Creates container `name` from `body` and starts it; returns its id. A container that
/// was created but could not be started is removed again.
pub async fn run(docker: &Docker, name: &str, body: ContainerCreateBody) -> Result<String, Error> {
    let opts = CreateContainerOptions {
        name: Some(name.to_string()),
        ..Default::default()
    };
    let id = docker.create_container(Some(opts), body).await?.id;
    if let Err(e) = docker
        .start_container(&id, None::<StartContainerOptions>)
        .await
    {
        let _ = remove(docker, &id).await;
        return Err(e);
    }
    Ok(id)
}

/// Removes container `id` with its anonymous volumes, killing it when it runs. A container
/// already gone (or being removed by Docker's AutoRemove) is fine.
pub async fn remove(docker: &Docker, id: &str) -> Result<(), Error> {
    let opts = RemoveContainerOptions {
        force: true,
        v: true,
        ..Default::default()
    };
    match docker.remove_container(id, Some(opts)).await {
        Ok(()) => Ok(()),
        Err(Error::DockerResponseServerError {
            status_code: 404 | 409,
            ..
        }) => Ok(()),
        Err(e) => Err(e),
    }
}
