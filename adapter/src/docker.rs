//! The Docker Engine API through bollard: the one client ([`Daemon`]), and only the calls
//! the adapter needs, each bounded ([`crate::bounds`]) and returning the shapes the policy
//! core takes. Every failure is a [`DaemonError`], whose message names the daemon's address
//! (`--docker` or `DOCKER_HOST`) and the cause underneath bollard's words.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::time::Duration;

use bollard::errors::Error;
use bollard::query_parameters::{
    InspectContainerOptions, KillContainerOptions, ListContainersOptions, WaitContainerOptions,
};
use bollard::{ClientVersion, Docker};
use futures::StreamExt;

use crate::addr::Addr;
use crate::bounds;
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

/// The Docker daemon at one address: bollard's client (reached through `Deref` for calls
/// not wrapped here) and the address, which every [`DaemonError`] names.
#[derive(Debug, Clone)]
pub struct Daemon {
    api: Docker,
    addr: Addr,
}

impl Deref for Daemon {
    type Target = Docker;

    fn deref(&self) -> &Docker {
        &self.api
    }
}

/// A client for the daemon at `addr`: a unix socket, or plain HTTP over `tcp://host:port`.
/// Nothing is sent until the first call, so a daemon that goes down only fails the calls
/// made while it is.
///
/// Errors: bollard refusing the address (a socket file that does not exist, a path that is
/// not UTF-8).
pub fn client(addr: &Addr) -> anyhow::Result<Daemon> {
    // bollard's own bound (whole seconds), a second longer than ours so that ours speaks
    // first for the calls it wraps, bounds the head of the events stream, which it does not.
    client_bounded(addr, bounds::get().docker.as_secs_f64().ceil() as u64 + 1)
}

fn client_bounded(addr: &Addr, secs: u64) -> anyhow::Result<Daemon> {
    let api = match addr {
        Addr::Unix(path) => {
            Docker::connect_with_socket(&path.to_string_lossy(), secs, &API_VERSION)
        }
        Addr::Tcp { .. } => Docker::connect_with_http(&addr.to_string(), secs, &API_VERSION),
    }
    .map_err(|e| anyhow::anyhow!("cannot use the Docker daemon at {addr}: {e}"))?;
    Ok(Daemon {
        api,
        addr: addr.clone(),
    })
}

/// A client for the daemon the docker CLI would use: `DOCKER_HOST`, else
/// `unix:///var/run/docker.sock`.
///
/// Errors: `DOCKER_HOST` in another spelling than `unix:///path` or `tcp://host:port`.
pub fn from_env() -> anyhow::Result<Daemon> {
    let host = std::env::var("DOCKER_HOST").ok();
    client(&Addr::docker(None, host.as_deref())?)
}

impl Daemon {
    /// The address it was given.
    pub fn addr(&self) -> &Addr {
        &self.addr
    }

    /// `e`, naming this daemon.
    pub fn error(&self, e: Error) -> DaemonError {
        DaemonError {
            addr: self.addr.to_string(),
            cause: Cause::Api(e),
        }
    }

    /// Runs one bollard call, bounded by [`bounds::Bounds::docker`].
    ///
    /// Errors: the call's, or [`DaemonError`] saying the daemon did not answer in time.
    pub async fn call<T>(
        &self,
        call: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, DaemonError> {
        self.call_within(bounds::get().docker, call).await
    }

    async fn call_within<T>(
        &self,
        bound: Duration,
        call: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, DaemonError> {
        match tokio::time::timeout(bound, call).await {
            Ok(result) => result.map_err(|e| self.error(e)),
            Err(_) => Err(DaemonError {
                addr: self.addr.to_string(),
                cause: Cause::TimedOut(bound),
            }),
        }
    }
}

/// A call to the daemon that failed. Its message names the daemon and says why, e.g.
/// `cannot connect to the Docker daemon at unix:///var/run/docker.sock: No such file or
/// directory (os error 2); is dockerd running?`.
#[derive(Debug)]
pub struct DaemonError {
    addr: String,
    cause: Cause,
}

#[derive(Debug)]
enum Cause {
    Api(Error),
    TimedOut(Duration),
}

impl DaemonError {
    /// True when the daemon answered 404 (no such image or container).
    pub fn is_not_found(&self) -> bool {
        matches!(&self.cause, Cause::Api(e) if is_not_found(e))
    }

    /// The status the daemon answered with, when it answered.
    pub fn status(&self) -> Option<u16> {
        match &self.cause {
            Cause::Api(Error::DockerResponseServerError { status_code, .. }) => Some(*status_code),
            _ => None,
        }
    }
}

impl fmt::Display for DaemonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let addr = &self.addr;
        let e = match &self.cause {
            Cause::TimedOut(d) => {
                return write!(f, "the Docker daemon at {addr} did not answer within {d:?}")
            }
            Cause::Api(Error::DockerResponseServerError {
                status_code,
                message,
            }) => {
                return write!(
                    f,
                    "the Docker daemon at {addr} answered {status_code}: {message}"
                )
            }
            Cause::Api(Error::RequestTimeoutError) => {
                return write!(f, "the Docker daemon at {addr} did not answer in time")
            }
            Cause::Api(e) => e,
        };
        let chain: Vec<&(dyn StdError + 'static)> = chain(e);
        let connect = chain.iter().position(|c| {
            c.downcast_ref::<hyper_util::client::legacy::Error>()
                .is_some_and(|l| l.is_connect())
        });
        match connect {
            Some(at) => {
                write!(
                    f,
                    "cannot connect to the Docker daemon at {addr}: {}",
                    messages(&chain[at + 1..])
                )?;
                let absent = chain.iter().any(|c| {
                    c.downcast_ref::<std::io::Error>().is_some_and(|io| {
                        matches!(
                            io.kind(),
                            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                        )
                    })
                });
                if absent {
                    f.write_str("; is dockerd running?")?;
                }
                Ok(())
            }
            None => write!(
                f,
                "the Docker daemon at {addr} failed to answer: {}",
                messages(&chain)
            ),
        }
    }
}

impl StdError for DaemonError {}

/// `e` and its sources, outermost first.
fn chain<'a>(e: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut all = vec![e];
    let mut next = e.source();
    while let Some(source) = next {
        all.push(source);
        next = source.source();
    }
    all
}

/// The messages of `chain` joined with `: `, each said once: a wrapper whose message
/// already contains its source's is followed by the source's only when it adds words.
fn messages(chain: &[&(dyn StdError + 'static)]) -> String {
    let mut said: Vec<String> = Vec::new();
    for e in chain {
        let m = e.to_string();
        if m.is_empty() || said.last().is_some_and(|last| last.contains(&m)) {
            continue;
        }
        // A source that repeats the wrapper's words whole replaces it.
        if said.last().is_some_and(|last| m.contains(last.as_str())) {
            said.pop();
        }
        said.push(m);
    }
    if said.is_empty() {
        return "no reason given".to_string();
    }
    said.join(": ")
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
pub async fn image_config(docker: &Daemon, name: &str) -> Result<Option<ImageConfig>, DaemonError> {
    match docker.call(docker.inspect_image(name)).await {
        Ok(image) => {
            let config = image.config.unwrap_or_default();
            Ok(Some(ImageConfig {
                entrypoint: config.entrypoint,
                cmd: config.cmd,
            }))
        }
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// [`image_config`] as the create decision takes it.
pub async fn image_lookup(docker: &Daemon, name: &str) -> ImageLookup {
    match image_config(docker, name).await {
        Ok(Some(config)) => ImageLookup::Found(config),
        Ok(None) => ImageLookup::Missing,
        Err(e) => ImageLookup::Failed(e.to_string()),
    }
}

/// Inspects container `id_or_name` (`GET /containers/{id}/json`); `Ok(None)` when there is
/// no such container.
pub async fn container_facts(
    docker: &Daemon,
    id_or_name: &str,
) -> Result<Option<ContainerFacts>, DaemonError> {
    let inspect = docker.inspect_container(id_or_name, None::<InspectContainerOptions>);
    let c = match docker.call(inspect).await {
        Ok(c) => c,
        Err(e) if e.is_not_found() => return Ok(None),
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

/// Ids of the running containers matching `filters` (`GET /containers/json`).
pub async fn running(
    docker: &Daemon,
    filters: std::collections::HashMap<String, Vec<String>>,
) -> Result<Vec<String>, DaemonError> {
    let opts = ListContainersOptions {
        filters: Some(filters),
        ..Default::default()
    };
    let list = docker.call(docker.list_containers(Some(opts))).await?;
    Ok(list.into_iter().filter_map(|c| c.id).collect())
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
/// timed out): the caller then learns nothing from it. Not bounded by itself: it is raced
/// against an attach, which is.
pub async fn stopped(docker: &Daemon, id: &str) -> Fate {
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
/// stopped, running another process, or its process gone before Docker noticed
/// (`process_gone`, which the caller knows from its handle on that process). `None` while
/// it runs that process; also when Docker cannot be asked and the process is there.
pub async fn ended(docker: &Daemon, id: &str, pid: u32, process_gone: bool) -> Option<Fate> {
    let inspect = docker.inspect_container(id, None::<InspectContainerOptions>);
    let state = match docker.call(inspect).await {
        Ok(c) => c.state.unwrap_or_default(),
        Err(e) if e.is_not_found() => return Some(Fate::Removed),
        Err(_) => return process_gone.then_some(Fate::ProcessGone),
    };
    let same_process = state.pid.is_some_and(|p| i64::from(pid) == p);
    if state.running == Some(false) {
        return Some(Fate::Exited(state.exit_code.unwrap_or(-1)));
    }
    (process_gone || !same_process).then_some(Fate::ProcessGone)
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
pub async fn kill(docker: &Daemon, id: &str) -> Result<Killed, DaemonError> {
    let opts = KillContainerOptions {
        signal: "SIGKILL".to_string(),
    };
    match docker.call(docker.kill_container(id, Some(opts))).await {
        Ok(()) => Ok(Killed::Killed),
        Err(e) if matches!(e.status(), Some(404 | 409)) => Ok(Killed::NotRunning),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<dyn StdError + 'static>>);

    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl StdError for Layer {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            self.1.as_deref()
        }
    }

    #[test]
    fn messages_say_each_cause_once() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let e = Layer(
            "Error in the client: client error (Connect)",
            Some(Box::new(Layer(
                "client error (Connect)",
                Some(Box::new(Layer("tcp connect error", Some(Box::new(io))))),
            ))),
        );
        assert_eq!(
            messages(&chain(&e)),
            "Error in the client: client error (Connect): tcp connect error: connection refused"
        );
        assert_eq!(
            messages(&chain(&e)[2..]),
            "tcp connect error: connection refused"
        );
        assert_eq!(messages(&chain(&Layer("", None))), "no reason given");
    }

    #[tokio::test]
    async fn unreachable_daemons_are_named_with_the_cause() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("docker.sock");
        let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let daemon = client(&Addr::Unix(sock.clone())).unwrap();
        drop(listener);
        let refused = daemon.call(daemon.ping()).await.unwrap_err().to_string();
        assert_eq!(
            refused,
            format!(
                "cannot connect to the Docker daemon at unix://{}: Connection refused \
                 (os error 111); is dockerd running?",
                sock.display()
            )
        );
        std::fs::remove_file(&sock).unwrap();
        let absent = daemon.call(daemon.ping()).await.unwrap_err().to_string();
        assert!(
            absent.contains("No such file or directory (os error 2); is dockerd running?"),
            "{absent}"
        );
        let tcp = client(&Addr::Tcp {
            host: "127.0.0.1".into(),
            port: 1,
        })
        .unwrap();
        let e = tcp.call(tcp.ping()).await.unwrap_err().to_string();
        assert_eq!(
            e,
            "cannot connect to the Docker daemon at tcp://127.0.0.1:1: tcp connect error: \
             Connection refused (os error 111); is dockerd running?"
        );
    }

    #[tokio::test]
    async fn the_head_of_a_stream_from_a_silent_daemon_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("docker.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let daemon = client_bounded(&Addr::Unix(sock.clone()), 1).unwrap();
        let mut events = daemon.events(None::<bollard::query_parameters::EventsOptions>);
        let e = daemon.error(events.next().await.unwrap().unwrap_err());
        assert_eq!(
            e.to_string(),
            format!(
                "the Docker daemon at unix://{} did not answer in time",
                sock.display()
            )
        );
    }

    #[tokio::test]
    async fn a_silent_daemon_is_bounded() {
        // Accepts (the kernel's backlog) and never answers: a frozen daemon.
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("docker.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let daemon = client(&Addr::Unix(sock.clone())).unwrap();
        let bound = Duration::from_millis(50);
        let e = daemon
            .call_within(bound, daemon.ping())
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "the Docker daemon at unix://{} did not answer within 50ms",
                sock.display()
            )
        );
    }
}
