//! The Docker Engine API through bollard: the one client constructor, and only the calls
//! the adapter needs, each returning the shapes the policy core takes.

use bollard::errors::Error;
use std::collections::HashMap;
use std::fmt;

use bollard::query_parameters::{
    InspectContainerOptions, KillContainerOptions, ListContainersOptions, WaitContainerOptions,
};
use bollard::{ClientVersion, Docker};
use futures::StreamExt;

use crate::addr::Addr;
use crate::policy::create::ImageLookup;
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
        restarting: state.restarting.unwrap_or(false),
        restart_count: c.restart_count.unwrap_or(0),
    }))
}

/// A running container as `GET /containers/json` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Listed {
    /// Full id.
    pub id: String,
    /// `Command`: the first process's path and arguments, space-joined.
    pub command: String,
    /// `Labels`.
    pub labels: HashMap<String, String>,
}

/// The running containers (`GET /containers/json`, which lists those Docker is restarting
/// too).
pub async fn running(docker: &Docker) -> Result<Vec<Listed>, Error> {
    let list = docker
        .list_containers(None::<ListContainersOptions>)
        .await?;
    Ok(list
        .into_iter()
        .filter_map(|c| {
            Some(Listed {
                id: c.id?,
                command: c.command.unwrap_or_default(),
                labels: c.labels.unwrap_or_default(),
            })
        })
        .collect())
}

/// What became of a container that stopped running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// It exited with this status (`State.ExitCode`: 137 after SIGKILL, 143 after SIGTERM).
    Exited(i64),
    /// It was removed.
    Removed,
    /// Its first process is gone (Docker may not have noticed yet).
    ProcessGone,
}

impl fmt::Display for Fate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fate::Exited(code) => write!(f, "exited with status {code}"),
            Fate::Removed => f.write_str("was removed"),
            Fate::ProcessGone => f.write_str("lost its first process"),
        }
    }
}

/// Resolves once container `id` is not running (`POST /containers/{id}/wait?condition=
/// not-running`, at once when it already is not): its exit status, or [`Fate::Removed`]
/// for a 404. Never resolves when the wait fails otherwise (the daemon went away, the call
/// timed out): the caller then learns nothing from it.
pub async fn stopped(docker: &Docker, id: &str) -> Fate {
    let opts = WaitContainerOptions {
        condition: "not-running".to_string(),
    };
    let mut wait = docker.wait_container(id, Some(opts));
    match wait.next().await {
        Some(Ok(answer)) => Fate::Exited(answer.status_code),
        // bollard's spelling of a non-zero exit status.
        Some(Err(Error::DockerContainerWaitError { code, .. })) => Fate::Exited(code),
        Some(Err(e)) if is_not_found(&e) => Fate::Removed,
        _ => std::future::pending().await,
    }
}

/// Whether container `id`, whose first process had host pid `pid`, has ended: removed,
/// stopped, running another process, or (before Docker noticed) its process gone.
/// `None` while it runs that process; also when Docker cannot be asked and the process
/// is there.
pub async fn ended(docker: &Docker, id: &str, pid: u32) -> Option<Fate> {
    // A zombie has no namespaces left: its network namespace cannot be opened.
    let alive = std::fs::File::open(format!("/proc/{pid}/ns/net")).is_ok();
    let state = match docker
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
    {
        Ok(c) => c.state.unwrap_or_default(),
        Err(e) if is_not_found(&e) => return Some(Fate::Removed),
        Err(_) => return (!alive).then_some(Fate::ProcessGone),
    };
    let same_process = state.pid.is_some_and(|p| i64::from(pid) == p);
    if state.running == Some(false) {
        return Some(Fate::Exited(state.exit_code.unwrap_or(-1)));
    }
    (!alive || !same_process).then_some(Fate::ProcessGone)
}

/// What [`kill`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Killed {
    /// Docker sent SIGKILL to the running container.
    Killed,
    /// It had stopped already, or was gone: nothing was killed.
    NotRunning,
}

/// `POST /containers/{id}/kill` with SIGKILL.
///
/// Errors: Docker failed to answer, or refused otherwise than with "not running" (409) or
/// "no such container" (404), which are [`Killed::NotRunning`].
pub async fn kill(docker: &Docker, id: &str) -> Result<Killed, Error> {
    match docker
        .kill_container(
            id,
            Some(KillContainerOptions {
                signal: "SIGKILL".to_string(),
            }),
        )
        .await
    {
        Ok(()) => Ok(Killed::Killed),
        Err(Error::DockerResponseServerError {
            status_code: 404 | 409,
            ..
        }) => Ok(Killed::NotRunning),
        Err(e) => Err(e),
    }
}
