//! The weave hooks run in process by the proxy (DESIGN §3–§5): the create rewrite, with
//! the proxy's stricter answers (400 for a bad `WEAVE_CIDR`, 404 for a missing image so the
//! CLI pulls and retries), and the attach after start, killing the container on failure.

use std::sync::Arc;
use std::time::Duration;

use bollard::query_parameters::InspectContainerOptions;
use bollard::{ClientVersion, Docker};
use bytes::Bytes;
use serde_json::Value;

use super::addr::Addr;
use super::inprocess::{BoxFuture, CreateOutcome, InProcess};
use crate::attach::container::{Attacher, OnFailure};
use crate::docker;
use crate::rewrite::{self, Rewrite, RewriteConfig, RewriteError};
use weave_cidr::{CidrItem, WeaveCidr};

/// API version used when the daemon does not answer `/version` at start-up: what Docker
/// 20.10 speaks, and every later daemon still accepts.
const FALLBACK_API: ClientVersion = ClientVersion {
    major_version: 1,
    minor_version: 41,
};

/// Bound on each bollard call.
const DOCKER_TIMEOUT_SECS: u64 = 120;

/// A bollard client for the daemon at `addr` (a unix socket, or plain HTTP over
/// `tcp://host:port`), speaking the daemon's own API version.
pub async fn docker_client(addr: &Addr) -> anyhow::Result<Docker> {
    let docker = match addr {
        Addr::Unix(path) => {
            Docker::connect_with_socket(&path.to_string_lossy(), DOCKER_TIMEOUT_SECS, &FALLBACK_API)
        }
        Addr::Tcp { .. } => {
            Docker::connect_with_http(&addr.to_string(), DOCKER_TIMEOUT_SECS, &FALLBACK_API)
        }
    }
    .map_err(|e| anyhow::anyhow!("--docker {addr}: {e}"))?;
    match tokio::time::timeout(Duration::from_secs(10), docker.clone().negotiate_version()).await {
        Ok(Ok(d)) => Ok(d),
        Ok(Err(e)) => {
            tracing::warn!("cannot ask {addr} for its API version ({e}); using 1.41");
            Ok(docker)
        }
        Err(_) => {
            tracing::warn!("{addr} did not give its API version within 10 s; using 1.41");
            Ok(docker)
        }
    }
}

/// The in-process weave hooks.
pub struct Weave {
    /// W and the volume container.
    pub rewrite: RewriteConfig,
    /// Attaches started containers (holds the Docker client and the backend).
    pub attacher: Arc<Attacher>,
    /// The backend assigns only exact addresses (`--attach bridge`): a create asking for
    /// an allocation is refused before anything exists, rather than killed at start.
    pub exact_only: bool,
}

/// The 400 message for a `WEAVE_CIDR` the bridge backend cannot honour (empty, `net:…`),
/// `None` when every item is an exact address (or the value is `none`). Pure.
pub fn needs_allocation(value: &str, cidr: &WeaveCidr) -> Option<String> {
    let WeaveCidr::Attach(items) = cidr else {
        return None;
    };
    if !items.is_empty() && items.iter().all(|i| matches!(i, CidrItem::Ip(_))) {
        return None;
    }
    Some(format!(
        "WEAVE_CIDR {value:?} asks for an address allocation, which the bridge backend does \
         not do: the bridge backend needs exact addresses a.b.c.d/n (or ip:a.b.c.d/n); use \
         --attach weave for allocation"
    ))
}

impl Weave {
    async fn create_outcome(&self, body: Bytes) -> CreateOutcome {
        let forward = CreateOutcome::Forward(body.clone());
        let Ok(create) = serde_json::from_slice::<Value>(&body) else {
            // Docker answers a body it cannot parse better than we could.
            return forward;
        };
        // Out of a `--label` scope nothing is judged either: no attach would follow, so a
        // bad WEAVE_CIDR or a missing image is Docker's business alone.
        if !rewrite::in_scope(&create, &self.rewrite) {
            return forward;
        }
        let Some(value) = rewrite::weave_cidr_of(&create) else {
            return forward;
        };
        let cidr = match weave_cidr::parse(&value) {
            Ok(cidr) => cidr,
            Err(e) => {
                return CreateOutcome::Refuse {
                    status: 400,
                    message: e.to_string(),
                }
            }
        };
        let image = match rewrite::image_needed(&create) {
            None => None,
            Some(name) => match docker::image_config(self.attacher.docker(), &name).await {
                Ok(Some(config)) => Some(config),
                // Docker's own answer for a missing image: the CLI pulls, then retries the
                // create, and the retry is rewritten.
                Ok(None) => {
                    return CreateOutcome::Refuse {
                        status: 404,
                        message: format!("No such image: {name}"),
                    }
                }
                Err(e) => {
                    return CreateOutcome::Refuse {
                        status: 502,
                        message: format!("cannot inspect image {name}: {e}"),
                    }
                }
            },
        };
        match rewrite::rewrite(create, image.as_ref(), &self.rewrite) {
            Ok(Rewrite::PassThrough) => forward,
            Ok(Rewrite::Rewritten { body, .. }) => {
                // Only a create we would attach is judged: host networking, `none` and
                // other scopes pass untouched whatever they ask for.
                if self.exact_only {
                    if let Some(message) = needs_allocation(&value, &cidr) {
                        return CreateOutcome::Refuse {
                            status: 400,
                            message,
                        };
                    }
                }
                let mut text = serde_json::to_vec(&body).expect("a Value always serialises");
                text.push(b'\n');
                CreateOutcome::Forward(Bytes::from(text))
            }
            Err(RewriteError::NoCommand) => CreateOutcome::Refuse {
                status: 400,
                message: RewriteError::NoCommand.to_string(),
            },
            // A field of a type Docker refuses: Docker says so in its own words.
            Err(e) => {
                tracing::warn!("create not rewritten: {e}");
                forward
            }
        }
    }
}

impl InProcess for Weave {
    fn create<'a>(&'a self, _query: Option<&'a str>, body: Bytes) -> BoxFuture<'a, CreateOutcome> {
        Box::pin(self.create_outcome(body))
    }

    fn started<'a>(&'a self, container: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let Err(e) = self
                .attacher
                .attach(container, OnFailure::KillContainer)
                .await
            else {
                return Ok(());
            };
            // The start hook and the events follower may both attach a container; when the
            // first one wins and the app is quick, the second finds the process gone. The
            // waiter execs the app only once ethwe is ready, so a container that ended on
            // its own (not SIGKILLed) did get its network.
            if ended_on_its_own(self.attacher.docker(), container).await {
                tracing::info!("{container} ended on its own during a second attach ({e})");
                return Ok(());
            }
            Err(format!(
                "container {container} was not given its network: {e}"
            ))
        })
    }
}

/// True when `container` stops running within a few seconds (Docker may still report a
/// process that just exited as running) and did not die of SIGKILL (exit 137, what a failed
/// attach does to it).
async fn ended_on_its_own(docker: &Docker, container: &str) -> bool {
    for _ in 0..50 {
        let state = docker
            .inspect_container(container, None::<InspectContainerOptions>)
            .await
            .ok()
            .and_then(|c| c.state);
        let Some(state) = state else { return false };
        if state.running == Some(false) {
            return state.exit_code.is_some_and(|code| code != 137);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attach::command::Command;

    /// A scoped Weave whose daemon is unreachable: any call to it would fail the create.
    fn scoped_weave() -> Weave {
        let docker =
            Docker::connect_with_http("http://127.0.0.1:1", 5, bollard::API_DEFAULT_VERSION)
                .unwrap();
        let rewrite = RewriteConfig {
            label: Some(("scope".into(), "a".into())),
            ..RewriteConfig::default()
        };
        let attacher = Arc::new(Attacher::new(
            docker,
            Arc::new(Command::new("/bin/false".into())),
            rewrite.waiter.clone(),
            rewrite.label.clone(),
        ));
        Weave {
            rewrite,
            attacher,
            exact_only: true,
        }
    }

    #[tokio::test]
    async fn creates_out_of_the_label_scope_pass_untouched_whatever_they_ask() {
        let weave = scoped_weave();
        for body in [
            r#"{"Image":"nowhere:1","Env":["WEAVE_CIDR=10.0.0.1"]}"#,
            r#"{"Image":"nowhere:1","Env":["WEAVE_CIDR=net:default"]}"#,
            r#"{"Image":"nowhere:1","Env":["WEAVE_CIDR=10.0.0.1/24"],"Labels":{"scope":"b"}}"#,
        ] {
            match weave.create_outcome(Bytes::from(body)).await {
                CreateOutcome::Forward(out) => assert_eq!(out, body.as_bytes(), "{body}"),
                CreateOutcome::Refuse { status, message } => {
                    panic!("{body}: refused {status} {message}")
                }
            }
        }
        let labelled =
            r#"{"Image":"nowhere:1","Env":["WEAVE_CIDR=10.0.0.1"],"Labels":{"scope":"a"}}"#;
        assert!(matches!(
            weave.create_outcome(Bytes::from(labelled)).await,
            CreateOutcome::Refuse { status: 400, .. }
        ));
    }

    #[test]
    fn allocations_are_refused_with_the_value_and_the_fix() {
        for value in [
            "",
            "net:default",
            "net:10.9.0.0/16",
            "10.2.0.1/24 net:default",
        ] {
            let cidr = weave_cidr::parse(value).unwrap();
            let message = needs_allocation(value, &cidr).expect(value);
            assert!(message.contains(&format!("{value:?}")), "{message}");
            assert!(message.contains("a.b.c.d/n"), "{message}");
            assert!(message.contains("--attach weave"), "{message}");
        }
        for value in ["none", "10.2.0.1/24", "ip:10.2.0.1/24 10.3.0.1/16"] {
            let cidr = weave_cidr::parse(value).unwrap();
            assert_eq!(needs_allocation(value, &cidr), None, "{value}");
        }
    }
}
