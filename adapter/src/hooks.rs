//! The weave hooks both front-ends run: the I/O around the policy core. On create, the
//! decision of [`crate::policy::create`] with the image inspect and the look at who holds
//! its addresses ([`crate::holders`]) it may ask for; before a start, that look again; on a
//! started container, the attach with the failure rule of a waiting client (kill the
//! container). Each front-end maps what comes out to its own wire.

use std::sync::Arc;

use crate::attach::attacher::{Attacher, OnFailure};
use crate::bounds;
use crate::docker;
use crate::holders;
use crate::policy::claims::{self, Held, Moment};
use crate::policy::create::{self, Decision, Found, Plan};

/// Why a started container was not given its network (it has been stopped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotNetworked {
    /// What the client is told: the container and the cause.
    pub message: String,
    /// The cause was an address another container holds (the proxy answers 409).
    pub held: bool,
}

/// The create decision and the attach after start, over one Docker client.
#[derive(Debug)]
pub struct WeaveHooks {
    attacher: Arc<Attacher>,
}

impl WeaveHooks {
    /// Hooks deciding by `attacher`'s policy and attaching with it.
    pub fn new(attacher: Arc<Attacher>) -> WeaveHooks {
        WeaveHooks { attacher }
    }

    /// The attacher (which holds the Docker client and the policy).
    pub fn attacher(&self) -> &Arc<Attacher> {
        &self.attacher
    }

    /// The decision for one `POST /containers/create` body, inspecting the image when the
    /// merge needs it and the backend's network when it has one, both at once, and refusing
    /// an exact address a running container holds on the backend's segment. When Docker
    /// cannot say who holds what, the create goes on: the attach checks again.
    pub async fn create(&self, body: &[u8]) -> Decision {
        let policy = self.attacher.policy();
        let decision = match create::plan(body, policy) {
            Plan::Decided(decision) => decision,
            Plan::Inspect(pending) => {
                let image = async {
                    match pending.image() {
                        Some(name) => {
                            Some(docker::image_lookup(self.attacher.docker(), name).await)
                        }
                        None => None,
                    }
                };
                let network = async {
                    match pending.network() {
                        Some(_) => Some(self.attacher.lookup_network().await),
                        None => None,
                    }
                };
                let (image, network) = tokio::join!(image, network);
                pending.decide(Found { image, network }, policy)
            }
        };
        if let Decision::Ignore(ignored) = &decision {
            // Also for clients that do not print a create's warnings (docker-compose v1,
            // the Docker SDK for Python).
            tracing::warn!("{ignored}");
        }
        let wanted = create::claims_of(&decision, policy);
        match holders::held(self.attacher.docker(), policy, &wanted, Moment::Create).await {
            Ok(Some(held)) => create::refuse_held(decision, &held),
            Ok(None) => decision,
            Err(e) => {
                tracing::warn!(
                    "cannot see who holds the addresses of a create ({e}); the attach will check"
                );
                decision
            }
        }
    }

    /// Before Docker is asked to start or restart `container`: `Err` with the address and
    /// its holder when another running container on the segment holds an address it
    /// will ask for, so the client is refused and the container never starts. Anything
    /// Docker cannot tell (no such container) is left for Docker's own answer.
    pub async fn before_start(&self, container: &str) -> Result<(), Held> {
        let policy = self.attacher.policy();
        let docker = self.attacher.docker();
        if policy.segment.is_none() {
            return Ok(());
        }
        let Ok(Some(facts)) = docker::container_facts(docker, container).await else {
            return Ok(());
        };
        let wanted = claims::wanted(&facts, policy);
        let moment = Moment::Start { id: &facts.id };
        match holders::held(docker, policy, &wanted, moment).await {
            Ok(None) => Ok(()),
            Ok(Some(held)) => Err(held),
            Err(e) => {
                tracing::warn!(
                    "cannot see who holds the addresses of {container} ({e}); the attach will check"
                );
                Ok(())
            }
        }
    }

    /// Attaches `container` (id or name) after Docker answered its start or restart with a
    /// 2xx other than 304, killing it when that fails; the caller is held for
    /// [`bounds::Bounds::hold`] at most. A container that stops or is removed meanwhile
    /// ends the wait at once: the client then learns its fate from Docker (the CLI's
    /// `wait` gives its exit status), as it would without us.
    ///
    /// Errors: the container needed its network and did not get it (it has been killed),
    /// or its attach did not finish within the hold (it goes on in its own task, with the
    /// same failure rule); the text names the container and the cause.
    pub async fn started(&self, container: &str) -> Result<(), NotNetworked> {
        let hold = bounds::get().hold;
        let attach = self.attacher.attach(container, OnFailure::KillContainer);
        match tokio::time::timeout(hold, attach).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(NotNetworked {
                message: format!("container {container} was not given its network: {e}"),
                held: e.held().is_some(),
            }),
            Err(_) => Err(NotNetworked {
                message: format!(
                    "container {container} was not given its network within {hold:?}: its \
                     attach goes on, the app starts once it is attached, and the container is \
                     killed if the attach fails"
                ),
                held: false,
            }),
        }
    }
}
